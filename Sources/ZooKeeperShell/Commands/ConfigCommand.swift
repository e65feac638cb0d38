import ZooKeeper

/// `config [-c] [-w] [-s]`: the ensemble's dynamic configuration.
enum ConfigCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "config", syntax: "[-c] [-w] [-s]", summary: "Print the ensemble's configuration",
        options: [
            CommandOption("s", help: "Print the stat too"),
            CommandOption("w", help: "Watch for changes"),
            CommandOption("c", help: "Print only the version and the client addresses"),
        ],
        printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let watch = invocation.has("w")
        let client = shell.client
        let (data, stat) = try await shell.zk { () async throws(ZooKeeperError) in
            try await client.getConfig(watch: watch)
        }
        shell.emit(.config(data: data, clientOnly: invocation.has("c"), stat: invocation.has("s") ? stat : nil))
    }

    /// `ConfigUtils.getClientConfigStr`: the config version, a space, and the servers' client addresses.
    static func clientConfigString(_ config: String) -> String {
        var version = ""
        var addresses: [String] = []
        for rawLine in config.split(separator: "\n") {
            guard let equals = rawLine.firstIndex(of: "=") else { continue }
            let key = rawLine[..<equals].trimmingWhitespace()
            let value = rawLine[rawLine.index(after: equals)...].trimmingWhitespace()
            if key == "version" { version = String(value) }
            guard key.hasPrefix("server.") else { continue }
            // server.N=host:quorum:election[:role][;[clientHost:]clientPort]
            guard let semicolon = value.firstIndex(of: ";") else {
                addresses.append("")
                continue
            }
            // `host:port`, or a bare port that Apache reads as 0.0.0.0:port.
            let client = value[value.index(after: semicolon)...]
            addresses.append(client.contains(":") ? String(client) : "0.0.0.0:\(client)")
        }
        return version + " " + addresses.joined(separator: ",")
    }
}
