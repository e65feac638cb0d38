import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An MIT KDC of the test's own (Debian `krb5-kdc`, `krb5-admin-server`, `krb5-user`): a random realm, a free
/// port on 127.0.0.1 (TCP only), its database, configuration and keytabs in a temporary directory. `krb5kdc`
/// runs under `ManagedProcess`, so it stops with `stop()`, `deinit` or the end of the test process.
///
/// `krb5.conf` is for the clients (our library through `KRB5_CONFIG`, Java through `-Djava.security.krb5.conf`).
public final class KerberosTestKDC: @unchecked Sendable {
    public let realm: String
    public let directory: String
    public let port: Int
    public let krb5Config: String
    private let kdcProfile: String
    private let process: ManagedProcess

    /// Runs `body` with the variables set (nil: unset), then restores what was there. The GSS-API library reads
    /// `KRB5_CONFIG` and `KRB5CCNAME` from the process environment, so one body runs at a time in the whole test
    /// process (suites run in parallel with each other).
    public static func withEnvironment<T>(
        _ variables: [String: String?], _ body: () async throws -> T
    ) async rethrows -> T {
        await environmentLock.acquire()
        var saved: [String: String?] = [:]
        for (name, value) in variables {
            saved[name] = ProcessInfo.processInfo.environment[name]
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        func restore() async {
            for (name, value) in saved {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
            await environmentLock.release()
        }
        do {
            let result = try await body()
            await restore()
            return result
        } catch {
            await restore()
            throw error
        }
    }

    private static let environmentLock = EnvironmentLock()

    /// The variables the MIT tools need to find this KDC's files.
    public var environment: [String: String] { ["KRB5_CONFIG": krb5Config, "KRB5_KDC_PROFILE": kdcProfile] }

    public init() throws {
        for tool in ["/usr/sbin/kdb5_util", "/usr/sbin/kadmin.local", "/usr/sbin/krb5kdc", "/usr/bin/kinit"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            throw HarnessError("\(tool) is missing: install krb5-kdc, krb5-admin-server and krb5-user")
        }
        var generator = SystemRandomNumberGenerator()
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        realm = "ZK" + String((0..<8).map { _ in letters.randomElement(using: &generator)! }) + ".TEST"
        directory = try TestEnvironment.temporaryDirectory("kdc")
        port = try TestEnvironment.freePort()
        krb5Config = directory + "/krb5.conf"
        kdcProfile = directory + "/kdc.conf"
        try """
        [libdefaults]
            default_realm = \(realm)
            dns_lookup_kdc = false
            dns_lookup_realm = false
            rdns = false
            udp_preference_limit = 1
            ticket_lifetime = 1h
        [realms]
            \(realm) = {
                kdc = 127.0.0.1:\(port)
            }
        [domain_realm]
            localhost = \(realm)

        """.write(toFile: krb5Config, atomically: true, encoding: .utf8)
        try """
        [kdcdefaults]
            kdc_ports = \(port)
            kdc_tcp_ports = \(port)
        [realms]
            \(realm) = {
                database_name = \(directory)/principal
                key_stash_file = \(directory)/stash
                acl_file = \(directory)/kadm5.acl
                kdc_listen = 127.0.0.1:\(port)
                kdc_tcp_listen = 127.0.0.1:\(port)
            }

        """.write(toFile: kdcProfile, atomically: true, encoding: .utf8)
        try "".write(toFile: directory + "/kadm5.acl", atomically: true, encoding: .utf8)
        let environment = ["KRB5_CONFIG": krb5Config, "KRB5_KDC_PROFILE": kdcProfile]
        try Self.run(
            "/usr/sbin/kdb5_util", ["create", "-s", "-r", realm, "-P", "master-\(UInt64.random(in: 0...UInt64.max))"],
            environment: environment)
        process = try ManagedProcess(
            executable: "/usr/sbin/krb5kdc", arguments: ["-n", "-r", realm], environment: environment,
            workingDirectory: directory, logFile: directory + "/kdc.log")
        guard TestEnvironment.waitUntil(timeout: 30, { Self.accepts(port: port) }) else {
            process.stop(signal: SIGKILL)
            let log = (try? String(contentsOfFile: directory + "/kdc.log", encoding: .utf8)) ?? ""
            throw HarnessError("krb5kdc did not listen on 127.0.0.1:\(port) within 30 s:\n\(log)")
        }
    }

    /// `name@REALM`.
    public func principal(_ name: String) -> String { "\(name)@\(realm)" }

    /// Adds `name@REALM` with a random key and writes its key to a new keytab; returns the keytab's path.
    @discardableResult
    public func addPrincipal(_ name: String) throws -> String {
        let keytab = directory + "/" + name.replacingOccurrences(of: "/", with: "_") + ".keytab"
        try kadmin("addprinc -randkey \(principal(name))")
        try kadmin("ktadd -k \(keytab) \(principal(name))")
        return keytab
    }

    public func kadmin(_ query: String) throws {
        try Self.run("/usr/sbin/kadmin.local", ["-r", realm, "-q", query], environment: environment)
    }

    /// Fills the ticket cache `cache` for `name` from its keytab, as `kinit -kt` does.
    public func kinit(_ name: String, keytab: String, cache: String, lifetime: String? = nil) throws {
        try Self.run(
            "/usr/bin/kinit",
            ["-c", cache, "-kt", keytab] + (lifetime.map { ["-l", $0] } ?? []) + [principal(name)],
            environment: environment)
    }

    public func stop() {
        process.stop()
    }

    deinit {
        process.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func run(_ tool: String, _ arguments: [String], environment: [String: String]) throws {
        let run = try Programs.run(tool, arguments, environment: environment, timeout: 60)
        guard run.exitCode == 0 else {
            throw HarnessError("\(tool) \(arguments.joined(separator: " ")) failed (\(run.exitCode)): \(run.error)")
        }
    }

    private static func accepts(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// Kerberos for an Apache server: a JAAS `Server` section logging in as `zookeeper/localhost@REALM` from its
/// keytab, the zoo.cfg line that enables the `sasl` scheme, and the JVM flags naming the JAAS file and the
/// KDC's krb5.conf. Clients must connect to `localhost:PORT`, the host part of the server principal.
public final class ApacheSASLKerberosSetup: Sendable {
    public let jaasFile: String
    public let serverPrincipal: String
    private let krb5Config: String

    public init(kdc: KerberosTestKDC) throws {
        let keytab = try kdc.addPrincipal("zookeeper/localhost")
        serverPrincipal = kdc.principal("zookeeper/localhost")
        krb5Config = kdc.krb5Config
        jaasFile = kdc.directory + "/server-jaas.conf"
        try """
        Server {
            com.sun.security.auth.module.Krb5LoginModule required
            useKeyTab=true
            keyTab="\(keytab)"
            storeKey=true
            useTicketCache=false
            principal="\(serverPrincipal)";
        };

        """.write(toFile: jaasFile, atomically: true, encoding: .utf8)
    }

    public var extraConfig: [String] {
        ["authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"]
    }

    public var systemProperties: [String] {
        ["-Djava.security.auth.login.config=\(jaasFile)", "-Djava.security.krb5.conf=\(krb5Config)"]
    }
}

/// One holder at a time; the others wait, in order, without blocking a thread.
private actor EnvironmentLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
