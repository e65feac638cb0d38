import Testing

@testable import ZooKeeperShell

struct CompletionTests {
    /// A fake tree: `/`, `/a`, `/w`, `/w3`, `/wt`, `/zookeeper/{config,quota}`.
    static let tree: [String: [String]] = [
        "/": ["zookeeper", "w", "wt", "w3", "a"],
        "/zookeeper": ["quota", "config"],
        "/a": [],
    ]

    let provider = CompletionProvider { parent in tree[parent] }

    @Test func commandNames() async {
        let get = await provider.complete("ge")
        #expect(get.insertion == "t")
        #expect(get.candidates == ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"])
        #expect(await provider.complete("cr").insertion == "eate ")
        #expect(await provider.complete("del").candidates == ["delete", "deleteall", "delquota"])
        #expect(await provider.complete("xyz").candidates.isEmpty)
        // Deprecated aliases are accepted but not offered.
        #expect(!(await provider.complete("l").candidates.contains("ls2")))
    }

    @Test func optionsOfTheCommand() async {
        let get = await provider.complete("get -")
        #expect(get.candidates == ["-s", "-w", "-b", "-x"])
        #expect(await provider.complete("ls -R").insertion == " ")
        #expect(await provider.complete("ls -s -").candidates == ["-w", "-R"])
        #expect(await provider.complete("create -t").insertion == " ")
    }

    @Test func livePaths() async {
        #expect(await provider.complete("ls /zoo").insertion == "keeper")
        let w = await provider.complete("ls /w")
        #expect(w.insertion == "")
        #expect(w.candidates == ["w", "w3", "wt"])
        #expect(await provider.complete("get -s /zookeeper/").candidates == ["config", "quota"])
        #expect(await provider.complete("ls /zookeeper/q").insertion == "uota")
        // Unknown parents and invalid paths complete to nothing.
        #expect(await provider.complete("ls /nope/x").candidates.isEmpty)
        #expect(await provider.complete("ls //x").candidates.isEmpty)
        #expect(await provider.complete("ls /a/").candidates.isEmpty)
    }

    @Test func fixedValues() async {
        #expect(await provider.complete("printwatches o").candidates == ["off", "on"])
        #expect(await provider.complete("addWatch -m PERSISTENT_").insertion == "RECURSIVE ")
        // The output formats of -o (which is accepted but not offered, so that zkCli's options stay alone).
        #expect(await provider.complete("get -o ").candidates == ["text", "json"])
        #expect(await provider.complete("ls --output j").insertion == "son ")
        #expect(await provider.complete("stat -").candidates == ["-w"])
    }

    @Test func nothingAfterAPositionalWord() async {
        #expect(await provider.complete("set /a da").candidates.isEmpty)
    }
}
