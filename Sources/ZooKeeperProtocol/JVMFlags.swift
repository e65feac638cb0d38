/// The `-Dkey=value` system properties of a JVM command line, as zkServer.sh and zkCli.sh users give them in
/// `SERVER_JVMFLAGS`, `CLIENT_JVMFLAGS` and `JVMFLAGS`.
public enum JVMFlags {
    /// The system properties of `flags`, split on blanks as the shell splits the unquoted variable (no quote
    /// handling); a later word wins, as on a java command line; `-Dkey` alone sets an empty value. Read scalar by
    /// scalar, as the shell reads bytes: a Character can join a blank to the combining mark after it, or CR to LF.
    public static func systemProperties(_ flags: String) -> [String: String] {
        var properties: [String: String] = [:]
        for word in flags.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        where word.starts(with: "-D".unicodeScalars) {
            let body = word.dropFirst(2)
            guard !body.isEmpty else { continue }
            if let equals = body.firstIndex(of: "=") {
                properties[String(body[..<equals])] = String(body[body.index(after: equals)...])
            } else {
                properties[String(body)] = ""
            }
        }
        return properties
    }

    /// The system properties of the `variables` set in `environment`, taken in order: a later variable's word wins,
    /// as it comes later on the java command line zkServer.sh and zkCli.sh build (`JVMFLAGS` after
    /// `SERVER_JVMFLAGS` or `CLIENT_JVMFLAGS`).
    public static func systemProperties(of variables: [String], in environment: [String: String]) -> [String: String] {
        var properties: [String: String] = [:]
        for variable in variables {
            guard let flags = environment[variable] else { continue }
            properties.merge(systemProperties(flags)) { $1 }
        }
        return properties
    }
}
