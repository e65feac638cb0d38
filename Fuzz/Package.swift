// swift-tools-version:6.1
import PackageDescription

// Coverage-guided fuzz targets (libFuzzer) for swift-zookeeper; see docs/fuzzing.md and `make fuzz`.
//
// A package of its own, depending on the main one by path: every module a target reaches must be built with
// `-sanitize=fuzzer,address` and linked with libFuzzer, so these targets cannot sit in the main package without
// changing its plain `swift build`. Each target's `main` hands its test function to libFuzzer's driver. They are
// built in release mode with testability, to reach the server's internal parsers through `@testable import`:
//
//     swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
//         -Xswiftc -enable-testing -Xswiftc -Xllvm -Xswiftc -sil-disable-pass=function-signature-opts
//
// (scripts/fuzz, run by `make fuzz`, does this; the last flag works around a crash of Swift 6.3's optimizer.)
let fuzzTarget: (String, [Target.Dependency]) -> Target = { name, dependencies in
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, path: "Sources/\(name)")
}

let package = Package(
    name: "swift-zookeeper-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-zookeeper", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Reading structured values out of the fuzzer's bytes.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "CLibFuzzer"),
        fuzzTarget("FuzzProtocolDecoders", [.product(name: "ZooKeeperProtocol", package: "swift-zookeeper")]),
        fuzzTarget(
            "FuzzServerCore",
            [
                .product(name: "ZooKeeperServer", package: "swift-zookeeper"),
                .product(name: "ZooKeeperProtocol", package: "swift-zookeeper"),
            ]),
        fuzzTarget("FuzzZooCfg", [.product(name: "ZooKeeperServer", package: "swift-zookeeper")]),
        fuzzTarget(
            "FuzzPersistence",
            [
                .product(name: "ZooKeeperServer", package: "swift-zookeeper"),
                .product(name: "ZooKeeperProtocol", package: "swift-zookeeper"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        fuzzTarget("FuzzShellTokenizer", [.product(name: "ZooKeeperShell", package: "swift-zookeeper")]),
        fuzzTarget(
            "FuzzClientSession",
            [
                .product(name: "ZooKeeper", package: "swift-zookeeper"),
                .product(name: "ZooKeeperProtocol", package: "swift-zookeeper"),
            ]),
        fuzzTarget(
            "FuzzJAAS",
            [
                .product(name: "ZooKeeper", package: "swift-zookeeper"),
                .product(name: "ZooKeeperProtocol", package: "swift-zookeeper"),
                .product(name: "ZooKeeperServer", package: "swift-zookeeper"),
            ]),
        fuzzTarget(
            "FuzzClientProperties",
            [
                .product(name: "ZooKeeper", package: "swift-zookeeper"),
                .product(name: "ZooKeeperProtocol", package: "swift-zookeeper"),
                .product(name: "ZooKeeperTLS", package: "swift-zookeeper"),
            ]),
        fuzzTarget(
            "FuzzKeyStores",
            [
                .product(name: "ZooKeeperTLS", package: "swift-zookeeper"),
                .product(name: "ZooKeeperProtocol", package: "swift-zookeeper"),
            ]),
        fuzzTarget("FuzzDigestMD5", [.product(name: "ZooKeeperProtocol", package: "swift-zookeeper")]),
    ]
)
