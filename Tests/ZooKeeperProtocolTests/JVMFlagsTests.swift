import Testing
import ZooKeeperProtocol

/// The one reader of `-Dkey=value` JVM flags, shared by zkcli (`CLIENT_JVMFLAGS`, `JVMFLAGS`) and zkserver
/// (`SERVER_JVMFLAGS`, `JVMFLAGS`).
@Suite struct JVMFlagsTests {
    @Test func onlyDashDWordsSplitOnBlanksAreProperties() {
        let flags = "-Xmx64m -Dzookeeper.client.secure=true\t-Dflag -Da=b=c -D\n-Dpath=/t.jks -verbose"
        #expect(
            JVMFlags.systemProperties(flags) == [
                "zookeeper.client.secure": "true", "flag": "", "a": "b=c", "path": "/t.jks",
            ])
    }

    @Test func aLaterWordWins() {
        #expect(JVMFlags.systemProperties("-Dx=1 -Dx=2") == ["x": "2"])
    }

    @Test func aLaterVariableWinsAndUnsetVariablesAreSkipped() {
        let environment = ["SERVER_JVMFLAGS": "-Dx=server -Dy=server", "JVMFLAGS": "-Dx=jvm"]
        #expect(
            JVMFlags.systemProperties(of: ["SERVER_JVMFLAGS", "JVMFLAGS"], in: environment) == [
                "x": "jvm", "y": "server",
            ])
        #expect(JVMFlags.systemProperties(of: ["CLIENT_JVMFLAGS"], in: environment).isEmpty)
    }

    /// Found by the client-properties fuzz target: the words were split Character by Character, and a blank with a
    /// combining mark after it is one Character that is not a blank: two words became one, where the shell splits.
    @Test func splitsAtEveryBlankAsTheShellDoes() {
        #expect(
            JVMFlags.systemProperties("-Da=1 \u{301}-Db=2 -Dc=3\r\n-Dd=4") == ["a": "1", "c": "3\r", "d": "4"])
    }
}
