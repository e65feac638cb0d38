import Testing
import ZooKeeperProtocol

@Suite struct PathValidationTests {
    @Test(arguments: [
        ("", "Path length must be > 0"),
        ("a", "Path must start with / character"),
        ("/a/", "Path must not end with / character"),
        ("/a//b", "Invalid path string \"/a//b\" caused by empty node name specified @3"),
        ("/a/../b", "Invalid path string \"/a/../b\" caused by relative paths not allowed @4"),
        ("/a/.", "Invalid path string \"/a/.\" caused by relative paths not allowed @3"),
        ("/a\u{0}b", "Invalid path string \"/a\u{0}b\" caused by null character not allowed @2"),
        ("/a\u{1}", "Invalid path string \"/a\u{1}\" caused by invalid character @2"),
        ("/\u{7f}", "Invalid path string \"/\u{7f}\" caused by invalid character @1"),
        ("/\u{FFF5}", "Invalid path string \"/\u{FFF5}\" caused by invalid character @1"),
        ("/😀", "Invalid path string \"/😀\" caused by invalid character @1"),
    ])
    func invalidPathsGetApacheMessages(path: String, message: String) {
        #expect(ZooKeeperPath.problem(with: path) == message)
        #expect { try ZooKeeperPath.validate(path) } throws: {
            let error = $0 as? ZooKeeperError
            return error?.code == .invalidPath && error?.description == message
        }
    }

    @Test(arguments: ["/", "/a", "/a/b.c", "/..a", "/a..", "/.a", "/zookeeper/quota", "/ü/ß"])
    func validPaths(path: String) throws {
        #expect(ZooKeeperPath.problem(with: path) == nil)
        try ZooKeeperPath.validate(path)
    }

    @Test func sequentialPathsAreCheckedWithASuffix() throws {
        try ZooKeeperPath.validate("/a/", isSequential: true)
        #expect(throws: ZooKeeperError.self) { try ZooKeeperPath.validate("/a/", isSequential: false) }
    }

    @Test func parentNameAndJoin() {
        #expect(ZooKeeperPath.parent(of: "/a/b") == "/a")
        #expect(ZooKeeperPath.parent(of: "/a") == "/")
        #expect(ZooKeeperPath.parent(of: "/") == "/")
        #expect(ZooKeeperPath.name(of: "/a/b") == "b")
        #expect(ZooKeeperPath.name(of: "/") == "")
        #expect(ZooKeeperPath.join("/", "a") == "/a")
        #expect(ZooKeeperPath.join("/a", "b") == "/a/b")
    }
}
