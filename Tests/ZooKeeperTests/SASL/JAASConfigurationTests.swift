import Testing
import ZooKeeper

@Suite struct JAASConfigurationTests {
    static let typical = """
        /* The file a Kafka or HBase operator already has. */
        Server {
               org.apache.zookeeper.server.auth.DigestLoginModule required
               user_super="adminsecret"
               user_bob="secret";
        };
        // what zkCli.sh reads
        Client {
               org.apache.zookeeper.server.auth.DigestLoginModule required
               username="bob"
               password="se\\"cret";
        };
        KerberosClient {
          com.sun.security.auth.module.Krb5LoginModule required
          useKeyTab=true
          keyTab="/etc/security/keytabs/alice.keytab"
          storeKey=true
          useTicketCache=false
          principal="alice@EXAMPLE.COM";
        };
        """

    @Test func digestClientSectionGivesCredentials() throws {
        let jaas = try JAASConfiguration(parsing: Self.typical, source: "jaas.conf")
        #expect(jaas.sections.map(\.name) == ["Server", "Client", "KerberosClient"])
        #expect(try jaas.clientLogin() == .digest(username: "bob", password: #"se"cret"#))
        #expect(try SASLCredentials(jaas: jaas) == .digestMD5(username: "bob", password: #"se"cret"#))
        let server = try #require(jaas.section("Server")?.first)
        #expect(server.flag == .required)
        #expect(server[option: "user_bob"] == "secret")
    }

    @Test func kerberosOptionsAreParsedAndKept() throws {
        let jaas = try JAASConfiguration(parsing: Self.typical, source: "jaas.conf")
        let login = try jaas.clientLogin(section: "KerberosClient")
        #expect(
            login
                == .kerberos(
                    .init(
                        useKeyTab: true, keyTab: "/etc/security/keytabs/alice.keytab",
                        principal: "alice@EXAMPLE.COM", useTicketCache: false, ticketCache: nil, storeKey: true,
                        doNotPrompt: false)))
        #expect(
            try SASLCredentials(jaas: jaas, section: "KerberosClient")
                == .kerberos(.keytab("/etc/security/keytabs/alice.keytab", principal: "alice@EXAMPLE.COM")))
    }

    @Test(arguments: [
        (
            "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username=\"bob\"\n};",
            "jaas.conf:4: expected an option name or ';' after the options of org.apache.zookeeper.server.auth.DigestLoginModule, found '}'"
        ),
        (
            "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule mandatory username=\"bob\";\n};",
            "jaas.conf:2: expected a control flag (required, requisite, sufficient, optional) after org.apache.zookeeper.server.auth.DigestLoginModule, found 'mandatory'"
        ),
        ("Client {\n  X required username=\"bob;\n};", "jaas.conf:2: unterminated quoted string"),
        ("Client {\n  X required a=\"1\";\n}", "jaas.conf:3: expected ';' after the '}' of section Client"),
        ("Client \n  X required;\n};", "jaas.conf:2: expected '{' after section Client"),
        ("Client {\n  X required username \"bob\";\n};", "jaas.conf:2: expected '=' after option username"),
        ("/* never closed\nClient {};", "jaas.conf:1: unterminated /* comment"),
        ("Client {\n};", "jaas.conf:2: section Client has no login module"),
        ("A {\n X required;\n};\nA {\n X required;\n};", "jaas.conf:6: section A is given twice"),
        // Found by the JAAS fuzz target: a quoted string spanning lines, quoted in the message, made it two lines.
        ("\"a\nb\" {", "jaas.conf:1: expected a section name, found \"a\\nb\""),
    ])
    func malformedFilesNameTheCauseInOneLine(text: String, message: String) {
        do {
            _ = try JAASConfiguration(parsing: text, source: "jaas.conf")
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.description == message)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test(arguments: [
        (
            "Server {\n X required;\n};", "Client",
            "jaas.conf: no section 'Client' (it has: Server)"
        ),
        (
            "Client {\n org.apache.zookeeper.server.auth.DigestLoginModule required username=\"bob\";\n};", "Client",
            "jaas.conf: section 'Client': DigestLoginModule needs both username and password"
        ),
        (
            "Client {\n some.other.Module required;\n};", "Client",
            "jaas.conf: section 'Client' has neither a DigestLoginModule nor a Krb5LoginModule"
        ),
        (
            "Client {\n com.sun.security.auth.module.Krb5LoginModule required useKeyTab=yes;\n};", "Client",
            "jaas.conf: section 'Client': useKeyTab must be true or false, not 'yes'"
        ),
        (
            "Client {\n com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;\n};", "Client",
            "jaas.conf: section 'Client': useKeyTab=true needs keyTab"
        ),
    ])
    func unusableSectionsNameTheCause(text: String, section: String, message: String) throws {
        let jaas = try JAASConfiguration(parsing: text, source: "jaas.conf")
        do {
            _ = try jaas.clientLogin(section: section)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.kind == .unusable)
            #expect(error.description == message)
        }
    }

    @Test func anUnreadableFileSaysWhy() {
        do {
            _ = try JAASConfiguration(contentsOf: "/nonexistent/jaas.conf")
            Issue.record("read a file that does not exist")
        } catch {
            #expect(error.kind == .unreadable)
            #expect(error.description == "/nonexistent/jaas.conf: cannot read the JAAS file: No such file or directory")
        }
    }

    /// Found by the JAAS fuzz target: with CRLF line ends (a file edited on Windows), a `//` comment ran to the end
    /// of the file, because Swift reads "\r\n" as one Character, not as "\n", and line numbers did not count.
    @Test func crlfLineEndsReadAsLFOnes() throws {
        let lf = Self.typical
        let crlf = lf.replacing("\n", with: "\r\n")
        let windows = try JAASConfiguration(parsing: crlf, source: "jaas.conf")
        #expect(windows == (try JAASConfiguration(parsing: lf, source: "jaas.conf")))
        #expect(windows.sections.map(\.name) == ["Server", "Client", "KerberosClient"])
        do {
            _ = try JAASConfiguration(parsing: "// one\r\n/* two\r\n */\r\nClient {\r\n};\r\n", source: "jaas.conf")
            Issue.record("parsed a section without a module")
        } catch {
            #expect(error.description == "jaas.conf:5: section Client has no login module")
        }
    }

    /// Found by a FuzzJAAS campaign: an option name starting with a combining mark, on an indented line, did not
    /// parse (the blank and the mark are one Character); the reader goes scalar by scalar, as Java's by UTF-16 units.
    @Test func aNameStartingWithACombiningMarkAfterABlank() throws {
        let jaas = try JAASConfiguration(
            parsing: "Client {\n  pa required\n    \u{61A}=\"b\";\n};\n", source: "jaas.conf")
        #expect(jaas.section("Client")?.first?.options.map(\.name) == ["\u{61A}"])
        #expect(jaas.section("Client")?.first?.options.map(\.value) == ["b"])
    }
}
