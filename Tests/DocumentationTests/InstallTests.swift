import Foundation
import Testing
import ZooKeeperTestSupport

/// `make install` and `make uninstall` into temporary prefixes, with the binaries of this build (the default,
/// a release build, takes minutes).
@Suite(.serialized)
struct InstallTests {
    static let installed = [
        "bin/zkcli", "bin/zkserver", "bin/zkbench",
        "share/man/man1/zkcli.1", "share/man/man1/zkserver.1",
        "share/bash-completion/completions/zkcli", "share/bash-completion/completions/zkserver",
        "share/zsh/site-functions/_zkcli", "share/zsh/site-functions/_zkserver",
        "share/fish/vendor_completions.d/zkcli.fish", "share/fish/vendor_completions.d/zkserver.fish",
        "lib/systemd/system/zkserver.service", "share/doc/zkserver/zoo.cfg",
    ]

    func make(_ arguments: [String]) throws -> ProgramRun {
        let run = try Programs.run(
            try Tool.make, ["-C", Repository.root] + arguments + ["BINDIR_SRC=\(try Repository.binaries)"],
            timeout: 300)
        #expect(run.exitCode == 0, "make \(arguments): \(run.error)")
        return run
    }

    /// Every regular file under `directory`, relative to it.
    func files(under directory: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var files: [String] = []
        while let item = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + item, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files.append(item)
            }
        }
        return files.sorted()
    }

    @Test func installPutsEverythingInItsPlaceAndUninstallTakesItAway() throws {
        let prefix = try TestEnvironment.temporaryDirectory("install-prefix")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        _ = try make(["install", "PREFIX=\(prefix)"])
        #expect(files(under: prefix) == Self.installed.sorted())
        for program in ["zkcli", "zkserver", "zkbench"] {
            #expect(FileManager.default.isExecutableFile(atPath: "\(prefix)/bin/\(program)"))
        }
        for page in ["zkcli", "zkserver"] {
            let rendered = try Programs.run(
                try Tool.man, ["-l", "\(prefix)/share/man/man1/\(page).1"],
                environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"])
            #expect(rendered.exitCode == 0)
            #expect(rendered.error == "", "man -l \(page).1: \(rendered.error)")
            #expect(rendered.output.contains("NAME") && rendered.output.contains("SYNOPSIS"))
        }
        // The installed completion runs the installed zkcli.
        let bash = try Programs.run(
            try Tool.bash,
            [
                "--norc", "--noprofile", "-c",
                """
                source '\(prefix)/share/bash-completion/completions/zkcli'
                COMP_LINE='zkcli getAllC'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(zkcli getAllC); COMP_CWORD=1
                _zkcli; echo "${COMPREPLY[@]}"
                """,
            ], environment: ["PATH": "\(prefix)/bin:/usr/bin:/bin"])
        #expect(bash.output == "getAllChildrenNumber\n")

        let uninstall = try make(["uninstall", "PREFIX=\(prefix)"])
        #expect(files(under: prefix).isEmpty, "left behind: \(files(under: prefix))")
        #expect(!uninstall.output.contains("swift build"))
    }

    /// The systemd unit runs the installed zkserver (systemd checks every command it names), and the example
    /// zoo.cfg installed beside it passes zkserver's own check.
    @Test func theSystemdUnitAndTheExampleConfigurationWork() throws {
        let prefix = try TestEnvironment.temporaryDirectory("install-unit")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        _ = try make(["install", "PREFIX=\(prefix)"])
        let unit = "\(prefix)/lib/systemd/system/zkserver.service"
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("ExecStart=\(prefix)/bin/zkserver "))
        #expect(!text.contains("@BINDIR@"))
        let verify = try Programs.run(try Tool.systemdAnalyze, ["verify", "--man=no", unit])
        #expect(verify.exitCode == 0, "systemd-analyze verify: \(verify.error)")

        // The example as installed, with its data directory moved somewhere this test may write.
        let example = try String(contentsOfFile: "\(prefix)/share/doc/zkserver/zoo.cfg", encoding: .utf8)
        #expect(example.contains("dataDir=/var/lib/zkserver"), "the unit's StateDirectory is /var/lib/zkserver")
        let configuration = prefix + "/zoo.cfg"
        try example.replacingOccurrences(of: "dataDir=/var/lib/zkserver", with: "dataDir=\(prefix)/data")
            .write(toFile: configuration, atomically: true, encoding: .utf8)
        let check = try Programs.run("\(prefix)/bin/zkserver", ["--check-config", configuration])
        #expect(check.exitCode == 0, "\(check.error)")
        #expect(check.output == "\(configuration): OK (clientPort 2181, dataDir \(prefix)/data)\n")
        #expect(check.error == "")
    }

    @Test func destdirIsPrependedToThePrefix() throws {
        let stage = try TestEnvironment.temporaryDirectory("install-destdir")
        defer { try? FileManager.default.removeItem(atPath: stage) }
        _ = try make(["install", "DESTDIR=\(stage)", "PREFIX=/opt/zookeeper"])
        #expect(files(under: stage) == Self.installed.map { "opt/zookeeper/" + $0 }.sorted())
        _ = try make(["uninstall", "DESTDIR=\(stage)", "PREFIX=/opt/zookeeper"])
        #expect(files(under: stage).isEmpty)
    }

    /// Without BINDIR_SRC, install builds the release binaries first, with the Swift runtime linked in.
    @Test func installBuildsReleaseBinariesByDefault() throws {
        let plan = try Programs.run(try Tool.make, ["-C", Repository.root, "-n", "install", "PREFIX=/nowhere"])
        #expect(plan.exitCode == 0)
        #expect(plan.output.contains("build -c release --static-swift-stdlib"))
    }
}
