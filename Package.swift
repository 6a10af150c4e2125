// swift-tools-version: 6.1
import PackageDescription

// One op graph, three executors (see README "Architecture").
// Arrows point one way: hybridsim -> HybridSimCLI -> Exports/SimEngines -> SimModel -> SimMath -> CGSL.
let package = Package(
    name: "HybridSim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hybridsim", targets: ["hybridsim"]),
        .library(name: "SimModel", targets: ["SimModel"]),
        .library(name: "SimEngines", targets: ["SimEngines"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // GNU Scientific Library, from Debian's libgsl-dev (pkg-config gsl).
        .systemLibrary(
            name: "CGSL",
            pkgConfig: "gsl",
            providers: [.apt(["libgsl-dev"])]
        ),
        // OpenBLAS, from Debian's libopenblas-dev: linked so that GSL's CBLAS calls resolve to it.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "SimMath", dependencies: ["CGSL", "COpenBLAS"]),
        .target(name: "SimModel", dependencies: ["SimMath", .product(name: "Yams", package: "Yams")]),
        .target(name: "SimEngines", dependencies: ["SimModel", "SimMath"]),
        .target(name: "Exports", dependencies: ["SimModel", "SimEngines"]),
        // Design-space sweeps: the sweep spec, point generation, parallel evaluation, resume, shards, search.
        .target(name: "Sweeps", dependencies: ["SimModel", "SimEngines", "SimMath", "Exports", .product(name: "Yams", package: "Yams")]),
        // Published measurements: GPU predictions against them, and the fit of the GPU profiles' defaults.
        .target(name: "Published", dependencies: ["SimModel", "SimEngines", "SimMath"]),
        // SVG figures drawn straight from the CSVs (no Python needed).
        .target(name: "Plots"),
        // Real CPU kernels (OpenBLAS GEMM, attention, selective scan, conv, norms, MoE and FFF routing),
        // timing and thread pinning. Knows nothing of the op graph.
        // AVX2 + FMA code generation (-Xcc flags set the target features Swift's code generator uses;
        // the binary then needs an AVX2 machine), and no bounds/overflow checks in release.
        .target(
            name: "Kernels",
            dependencies: ["COpenBLAS"],
            swiftSettings: [
                .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"]),
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
            ]
        ),
        // The real executor (runs an op graph with Kernels on pinned threads), the calibrator (fits a
        // hardware profile with GSL) and validation (measured against predicted).
        .target(name: "Calibration", dependencies: ["Kernels", "SimModel", "SimEngines", "SimMath"]),
        .target(
            name: "HybridSimCLI",
            dependencies: [
                "SimModel", "SimEngines", "Exports", "Calibration", "Sweeps", "Plots", "Published",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "hybridsim", dependencies: ["HybridSimCLI"]),
        // The seeded mutation fuzzer over scenarios, sweeps, profiles and command lines (issue 10), and its driver.
        .target(name: "Fuzzing", dependencies: ["HybridSimCLI", "SimModel", "SimEngines", "Exports", "Sweeps"]),
        .executableTarget(name: "hybridsim-fuzz", dependencies: ["Fuzzing"]),
        .executableTarget(
            name: "AnalyticBenchmark",
            dependencies: ["SimModel", "SimEngines"],
            path: "Benchmarks/AnalyticBenchmark"
        ),
        .executableTarget(
            name: "EventBenchmark",
            dependencies: ["SimModel", "SimEngines"],
            path: "Benchmarks/EventBenchmark"
        ),
        .executableTarget(
            name: "KernelBenchmark",
            dependencies: ["Kernels"],
            path: "Benchmarks/KernelBenchmark"
        ),
        // Test helpers shared by the test targets (one `approx`, shared scenario texts).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SimMathTests", dependencies: ["SimMath"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "SweepsTests", dependencies: ["Sweeps", "SimModel", "SimEngines", "Exports", "TestSupport"]),
        .testTarget(name: "PlotsTests", dependencies: ["Plots"]),
        .testTarget(name: "PublishedTests", dependencies: ["Published", "SimModel"]),
        .testTarget(name: "CalibrationTests", dependencies: ["Calibration", "Kernels", "SimModel", "SimEngines", "SimMath", "TestSupport"]),
        .testTarget(name: "SimModelTests", dependencies: ["SimModel", "SimMath", "TestSupport"]),
        .testTarget(name: "SimEnginesTests", dependencies: ["SimEngines", "SimModel", "SimMath", "TestSupport"]),
        .testTarget(name: "ExportsTests", dependencies: ["Exports", "SimEngines", "SimModel", "TestSupport"]),
        .testTarget(name: "HybridSimCLITests", dependencies: ["HybridSimCLI", "SimModel", "TestSupport"]),
        .testTarget(name: "FuzzingTests", dependencies: ["Fuzzing"]),
    ]
)
