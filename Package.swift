// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gatehouse", targets: ["gatehouse"]),
        .library(name: "GatehouseCore", targets: ["GatehouseCore"]),
        .library(name: "GatehouseServer", targets: ["GatehouseServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.5.2"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            path: "Sources/CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .systemLibrary(
            name: "CArgon2",
            path: "Sources/CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        .systemLibrary(
            name: "CXCrypt",
            path: "Sources/CXCrypt",
            pkgConfig: "libxcrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        .target(
            name: "GatehouseCore",
            dependencies: [
                "CPCRE2",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "GatehouseStorage",
            dependencies: ["GatehouseCore"]
        ),
        .target(
            name: "GatehouseSQLite",
            dependencies: [
                "GatehouseCore",
                "GatehouseStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The PostgreSQL store (postgres-nio, pooled): the same repositories as GatehouseSQLite, for
        // several Gatehouse instances on one database.
        .target(
            name: "GatehousePostgres",
            dependencies: [
                "GatehouseCore",
                "GatehouseStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "GatehouseAuth",
            dependencies: [
                "GatehouseCore",
                "CArgon2",
                "CXCrypt",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "GatehouseHomeserver",
            dependencies: [
                "GatehouseCore",
                "GatehouseStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "GatehouseIdentity",
            dependencies: [
                "GatehouseCore", "GatehouseStorage", "GatehouseAuth", "GatehouseHomeserver",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "GatehouseServer",
            dependencies: [
                "GatehouseCore",
                "GatehouseStorage",
                "GatehouseAuth",
                "GatehouseHomeserver",
                "GatehouseIdentity",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Operator tooling behind `gatehouse doctor`, `synapse migrate-config`, `config generate
        // --synapse-config` and `import-synapse`: the checks, the YAML edits and the Synapse database
        // readers (SQLite through GRDB, PostgreSQL through postgres-nio), kept out of the CLI so they
        // are unit-tested.
        .target(
            name: "GatehouseOperator",
            dependencies: [
                "GatehouseCore",
                "GatehouseStorage",
                "GatehouseAuth",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .executableTarget(
            name: "gatehouse",
            dependencies: [
                "GatehouseCore",
                "GatehouseOperator",
                "GatehouseServer",
                "GatehouseStorage",
                "GatehouseSQLite",
                "GatehousePostgres",
                "GatehouseAuth",
                "GatehouseHomeserver",
                "GatehouseIdentity",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "GatehouseTesting",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // What the store and service tests share: the two backends (`StoreBackend`, `StoreFixture`),
        // the private PostgreSQL cluster they run against (`PostgresTestServer`) and the store
        // fixtures and assertions (`Fixture`, `expectStorageError`).
        .target(
            name: "GatehouseTestSupport",
            dependencies: [
                "GatehouseCore", "GatehouseStorage", "GatehouseSQLite", "GatehousePostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/GatehouseTestSupport"
        ),
        .testTarget(
            name: "GatehouseCoreTests",
            dependencies: [
                "GatehouseCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "GatehouseAuthTests",
            dependencies: ["GatehouseAuth", .product(name: "JWTKit", package: "jwt-kit"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "GatehouseIdentityTests",
            dependencies: [
                "GatehouseIdentity", "GatehouseTestSupport", "GatehouseTesting", .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "GatehouseOperatorTests",
            dependencies: [
                "GatehouseOperator", "GatehouseCore", "GatehouseStorage", "GatehouseSQLite", "GatehouseAuth",
                .product(name: "Yams", package: "Yams"), .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "GatehouseSQLiteTests",
            dependencies: ["GatehouseSQLite", "GatehouseStorage", "GatehouseTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // One suite, two backends: every repository test runs against SQLite and a real PostgreSQL
        // (a private cluster the fixture starts, or GATEHOUSE_TEST_POSTGRES_URL); so do the service
        // tests of GatehouseIdentityTests and the compat tests of GatehouseServerTests.
        .testTarget(
            name: "GatehouseStoreTests",
            dependencies: [
                "GatehouseSQLite", "GatehousePostgres", "GatehouseStorage", "GatehouseCore", "GatehouseTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "GatehouseHomeserverTests",
            dependencies: [
                "GatehouseHomeserver", "GatehouseStorage", "GatehouseTesting", .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "GatehouseServerTests",
            dependencies: [
                "GatehouseServer",
                "GatehouseTesting",
                "GatehouseTestSupport",
                "GatehouseSQLite",
                "GatehouseIdentity",
                "GatehouseAuth",
                "GatehouseHomeserver",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
