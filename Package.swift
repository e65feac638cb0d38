// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "swift-zookeeper",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ZooKeeperProtocol", targets: ["ZooKeeperProtocol"]),
        .library(name: "ZooKeeper", targets: ["ZooKeeper"]),
        .library(name: "ZooKeeperTLS", targets: ["ZooKeeperTLS"]),
        .library(name: "LineEditor", targets: ["LineEditor"]),
        .library(name: "ZooKeeperShell", targets: ["ZooKeeperShell"]),
        .executable(name: "zkcli", targets: ["zkcli"]),
        .library(name: "ZooKeeperServer", targets: ["ZooKeeperServer"]),
        .executable(name: "zkserver", targets: ["zkserver"]),
        .executable(name: "zkbench", targets: ["zkbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // `swift package generate-documentation --target ZooKeeper` (DocC).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The wire protocol: jute encoding, records, opcodes, errors, framing. Shared by client and server.
        .target(
            name: "ZooKeeperProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // Certificate stores (PEM, PKCS12, JKS) and TLS settings, shared by client and server.
        .target(
            name: "ZooKeeperTLS",
            dependencies: [
                "ZooKeeperProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client library.
        .target(
            name: "ZooKeeper",
            dependencies: [
                "ZooKeeperProtocol",
                "ZooKeeperTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "GSSAPISupport",
            ],
            swiftSettings: swiftSettings
        ),
        // The GSS-API calls of a Kerberos login, found with dlopen/dlsym in libgssapi_krb5.so.2 on first use:
        // no Kerberos headers to build, no Kerberos library needed to run without Kerberos.
        .target(name: "CGSSAPIShim", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // The GSS-API helpers the Kerberos client and acceptor share (buffers, names, status words).
        .target(name: "GSSAPISupport", dependencies: ["CGSSAPIShim"], swiftSettings: swiftSettings),
        // Points Swift concurrency's global executor at a function of ours (zkcli's one-shots run their tasks on the
        // session's event loop thread instead of starting the runtime's thread pool).
        .target(name: "CConcurrencyHook"),
        // libedit's header (Debian: libedit-dev), and C wrappers for the calls Swift cannot make. The library itself
        // is loaded with dlopen when the interactive shell starts (a one-shot does not load it), so no pkg-config
        // and no link flag (BENCHMARKS.md, issue 17).
        .systemLibrary(name: "CLibEdit", providers: [.apt(["libedit-dev"])]),
        .target(
            name: "CLibEditShim", dependencies: ["CLibEdit"],
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        // A line editor over libedit: prompt, history file, completion, output above the prompt.
        .target(name: "LineEditor", dependencies: ["CLibEdit", "CLibEditShim"], swiftSettings: swiftSettings),
        // The zkCli.sh-compatible shell as a library: commands, parsing, formatting, completion, REPL.
        .target(
            name: "ZooKeeperShell",
            dependencies: [
                "ZooKeeper", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shell executable: argument parsing and wiring.
        .executableTarget(
            name: "zkcli",
            dependencies: [
                "ZooKeeperShell", "LineEditor", "ZooKeeperServer", "CConcurrencyHook",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings,
            // A one-shot `zkcli get` is mostly process start (BENCHMARKS.md, issue 17). A position-dependent
            // executable has no relative relocations to apply (77,700 in the PIE, each page of them copied on
            // write), and without the export of every Swift symbol the dynamic symbol table shrinks from 1.7 MB
            // (the runtime's dladdr at start-up scans it): together 30 % less CPU and 3.5 MB less peak RSS.
            // lld (the toolchain's) lays out first the code and data a one-shot touches, listed by
            // `make oneshot-order`: a few 64 kB windows of the binary to fault in instead of 170. libstdc++ is
            // linked statically when `make release` put its archive in .build/static-libstdc++ (else the shared
            // one, 2.2 MB more peak RSS).
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic", "-use-ld=lld",
                        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/scripts/zkcli-oneshot.order",
                        "-Xlinker", "--no-warn-symbol-ordering",
                        "-L", "\(Context.packageDirectory)/.build/static-libstdc++",
                    ],
                    .when(platforms: [.linux], configuration: .release))
            ]
        ),
        // The single-node server: a pure core (tree, sessions, watches, ACLs, transactions) and its NIO listener.
        .target(
            name: "ZooKeeperServer",
            dependencies: [
                "ZooKeeperProtocol",
                "ZooKeeperTLS",
                "GSSAPISupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // `zkserver`: argument parsing and wiring only.
        .executableTarget(
            name: "zkserver",
            dependencies: [
                "ZooKeeperServer",
                "ZooKeeperTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Load generator for any ZooKeeper server (benchmarks).
        .executableTarget(
            name: "zkbench",
            dependencies: [
                "ZooKeeper",
                "ZooKeeperProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Launches real Apache ZooKeeper servers (standalone and ensembles) for interop tests.
        .target(
            name: "ZooKeeperTestSupport",
            dependencies: ["ZooKeeperServer", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ZooKeeperTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ZooKeeperProtocolTests",
            dependencies: [
                "ZooKeeperProtocol",
                "ZooKeeperTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ZooKeeperTests",
            dependencies: [
                "ZooKeeper",
                "ZooKeeperTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ZooKeeperTLSTests",
            dependencies: ["ZooKeeperTLS", "ZooKeeperTestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LineEditorTests",
            dependencies: ["LineEditor"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ZooKeeperShellTests",
            dependencies: ["ZooKeeperShell", "ZooKeeperTestSupport"],
            swiftSettings: swiftSettings
        ),
        // The man pages, the completion scripts and `make install`, checked against the code and real shells.
        .testTarget(
            name: "DocumentationTests",
            dependencies: [
                "ZooKeeperShell", "ZooKeeperServer", "ZooKeeper", "ZooKeeperTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ZooKeeperServerTests",
            dependencies: [
                "ZooKeeperServer",
                "ZooKeeperTLS",
                "ZooKeeper",
                "ZooKeeperTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
