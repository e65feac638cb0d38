import LineEditor
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What can be checked without a terminal; the editing itself is tested in a real terminal (tmux) by
/// ZooKeeperShellTests.InteractiveTests.
struct LineEditorTests {
    @Test func candidatesAreLaidOutInColumnsDownThenAcross() {
        let items = ["config", "quota", "a", "bb", "ccc"]
        // Cells of 8 (the longest, 6, plus 2): three per row in a width of 24, so two rows.
        #expect(LineEditor.columns(items, width: 24) == "config  a       ccc\nquota   bb\n")
        #expect(LineEditor.columns(["w", "w3", "wt"], width: 80) == "w   w3  wt\n")
        #expect(LineEditor.columns(["one", "two"], width: 1) == "one\ntwo\n")
        #expect(LineEditor.columns([], width: 80) == "")
    }

    @Test func needsATerminal() {
        // Under `swift test` stdin is not a terminal; the shell then reads plain lines instead.
        if isatty(0) == 0 || isatty(1) == 0 {
            #expect(LineEditor(program: "test", historyFile: nil) == nil)
        }
    }
}
