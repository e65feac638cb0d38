import Testing
import ZooKeeper

@Suite struct ConnectStringTests {
    @Test func hostsPortsAndChroot() throws {
        let parsed = try ConnectString("a:2181,b:2182,c/app/x")
        #expect(
            parsed.hosts == [
                HostAndPort(host: "a", port: 2181), HostAndPort(host: "b", port: 2182),
                HostAndPort(host: "c", port: 2181),
            ])
        #expect(parsed.chroot == "/app/x")
        #expect(parsed.description == "a:2181,b:2182,c:2181/app/x")
    }

    @Test func defaultPortAndNoChroot() throws {
        let parsed = try ConnectString("localhost")
        #expect(parsed.hosts == [HostAndPort(host: "localhost", port: 2181)])
        #expect(parsed.chroot == nil)
        #expect(try ConnectString("h:1/").chroot == nil)
    }

    @Test func ipv6InBrackets() throws {
        let parsed = try ConnectString("[::1]:2181,[fe80::1],127.0.0.1:3000")
        #expect(parsed.hosts[0] == HostAndPort(host: "::1", port: 2181))
        #expect(parsed.hosts[1] == HostAndPort(host: "fe80::1", port: 2181))
        #expect(parsed.hosts[2] == HostAndPort(host: "127.0.0.1", port: 3000))
        #expect(parsed.hosts[0].description == "[::1]:2181")
    }

    @Test(arguments: ["", ",", "h:abc", "h:0", "h:70000", ":2181", "[::1", "[::1]x", "::1:2181", "h:1/a//b", "h/a/"])
    func malformedStringsGetAClearError(_ string: String) {
        #expect {
            try ConnectString(string)
        } throws: { error in
            let error = error as? ZooKeeperError
            return error?.code == .invalidConnectString
                && error?.description.hasPrefix("Invalid connect string") == true
        }
    }
}
