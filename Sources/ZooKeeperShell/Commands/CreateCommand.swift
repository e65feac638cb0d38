import ZooKeeper

/// `create [-s] [-e] [-c] [-t ttl] path [data] [acl]`: a znode, of the mode the flags say.
enum CreateCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "create", syntax: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", summary: "Create a znode",
        options: [
            CommandOption("e", help: "Ephemeral: deleted when the session ends"),
            CommandOption("s", help: "Sequential: a counter is appended to the name"),
            CommandOption("c", help: "Container: deleted once its last child is"),
            CommandOption("t", value: true, help: "Time to live in milliseconds (TTL node)"),
        ],
        arguments: [.path, .text, .text])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let ephemeral = invocation.has("e")
        let sequential = invocation.has("s")
        let container = invocation.has("c")
        let hasTTL = invocation.has("t")
        if container && (ephemeral || sequential) {
            throw CommandFailure(
                "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
        }
        var ttl: Int64 = 0
        if hasTTL {
            guard let value = Shell.javaLong(invocation.value("t") ?? "") else {
                throw CommandFailure("-t argument must be a long value")
            }
            ttl = value
        }
        if hasTTL && ephemeral { throw CommandFailure("TTLs cannot be used with Ephemeral znodes") }
        if hasTTL && container { throw CommandFailure("TTLs cannot be used with Container znodes") }
        let mode: CreateMode =
            if ephemeral && sequential {
                .ephemeralSequential
            } else if ephemeral {
                .ephemeral
            } else if sequential {
                hasTTL ? .persistentSequentialWithTTL : .persistentSequential
            } else if container {
                .container
            } else {
                hasTTL ? .persistentWithTTL : .persistent
            }
        if hasTTL && (ttl <= 0 || ttl > ZooKeeperClient.maximumTTL) {
            throw CommandFailure("ttl must be positive and cannot be larger than: \(ZooKeeperClient.maximumTTL)")
        }
        let arguments = invocation.arguments
        let data = arguments.count > 2 ? Array(arguments[2].utf8) : nil
        var acl = ACL.openUnsafe
        if arguments.count > 3 {
            let parsed = AclParser.parse(arguments[3])
            for warning in parsed.warnings { shell.err(warning) }
            acl = parsed.acl
        }
        // The Java client checks the path, then refuses an empty ACL before sending anything.
        if let problem = ZooKeeperPath.problem(with: mode.isSequential ? path + "1" : path) {
            throw CommandFailure(problem, showsUsage: true)
        }
        if acl.isEmpty {
            let error = ZooKeeperError(.invalidACL)
            shell.err(error.description)
            throw CommandFailure(error)
        }
        do {
            let created = try await shell.client.create(
                path, data: data, acl: acl, mode: mode, ttl: hasTTL ? ttl : nil)
            shell.err("Created \(created)")
        } catch {
            switch error.code {
            case .ephemeralOnLocalSession: shell.err("Unable to create ephemeral node on a local session")
            case .invalidACL: shell.err(error.description)
            default: break
            }
            throw CommandFailure(error)
        }
    }
}
