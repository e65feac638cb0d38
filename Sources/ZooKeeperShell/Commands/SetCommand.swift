import ZooKeeper
import ZooKeeperProtocol

/// `set path data [-s] [-v version] [-b]`: a znode's data (base64 with `-b`), only at a version with `-v`.
enum SetCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "set", syntax: "path data [-s] [-v version] [-b]", summary: "Set a znode's data",
        options: [
            CommandOption("s", help: "Print the new stat"),
            CommandOption("v", value: true, help: "Set only if the data version matches"),
            CommandOption("b", help: "The data is base64"),
        ],
        optionTable: """
             -b         Supply data in base64 format
             -s         Print znode stats additionally
             -v <arg>   Set with an expected version

            """,
        arguments: [.path, .text], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        _ = try invocation.argument(2)
        let path = invocation.arguments[1]
        var data = Array(invocation.arguments[2].utf8)
        if invocation.has("b") {
            guard let decoded = Base64.decode(invocation.arguments[2]) else {
                throw CommandFailure("-b: the data is not valid base64\n" + spec.usage)
            }
            data = decoded
        }
        let version = try shell.version(invocation)
        let client = shell.client
        let stat = try await shell.zk { () async throws(ZooKeeperError) in
            try await client.setData(path, data: data, version: version)
        }
        if invocation.has("s") { shell.emit(.stat(path: path, stat: stat)) }
    }
}
