import Testing

@testable import ZooKeeperShell

/// zkCli's line tokenizer (zk-reference §1.6).
struct TokenizerTests {
    @Test(arguments: [
        ("ls /", ["ls", "/"]),
        ("  ls   /a  ", ["ls", "/a"]),
        ("create /w \"hello world\"", ["create", "/w", "hello world"]),
        ("create /w 'hello world'", ["create", "/w", "hello world"]),
        ("create /w3 a\"b", ["create", "/w3", "a\"b"]),
        ("create /n \"\"", ["create", "/n", ""]),
        ("create /n ''", ["create", "/n", ""]),
        // An unterminated quote is skipped; the rest is read as words.
        ("create /a \"hello", ["create", "/a", "hello"]),
        ("create /a 'x\"", ["create", "/a", "x\""]),
        // Quotes are stripped only when a token starts and ends with the same one.
        ("set /a \"x'", ["set", "/a", "x'"]),
        ("set /a x\"y\"", ["set", "/a", "x\"y\""]),
        // No escapes.
        ("set /a a\\ b", ["set", "/a", "a\\", "b"]),
        ("get\t/tab", ["get", "/tab"]),
        // A line of spaces is the one-space command zkCli reports as not found.
        ("   ", [" "]),
        ("", []),
        ("ls /é", ["ls", "/é"]),
    ])
    func tokenizesAsZkCli(line: String, words: [String]) {
        #expect(CommandLineTokenizer.tokenize(line) == words)
    }
}
