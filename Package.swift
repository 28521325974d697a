// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Intervene",
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Intervene", targets: ["Intervene"]),
        .library(name: "CausalAbstraction", targets: ["CausalAbstraction"]),
        .library(name: "Features", targets: ["Features"]),
        .executable(name: "intervene", targets: ["InterveneCLI"]),
        .executable(name: "intervene-bench", targets: ["InterveneBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // System-library shims: a module map and a one-line header each, nothing else.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", pkgConfig: "lapacke", providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        // Vectorised elementwise kernels, compiled once per CPU level (AVX-512, AVX2, baseline).
        // No unsafe flags here (they would bar the package from being a dependency): `make test`
        // optimises the C kernels of its debug build with `-Xcc -O2` instead.
        .target(name: "CKernels"),
        .target(name: "Tensors", dependencies: ["CBLAS", "CLAPACKE", "CJSONC", "CKernels"]),
        .target(name: "Models", dependencies: ["Tensors"]),
        .target(name: "Intervene", dependencies: ["Tensors", "Models"]),
        .target(name: "CausalAbstraction", dependencies: ["Intervene", "Models", "Tensors"]),
        .target(name: "Features", dependencies: ["Intervene", "Models", "Tensors"]),
        // The browser (`intervene serve`, `intervene export-html`): only the CLI depends on it.
        .target(name: "InterveneServer", dependencies: [
            "CausalAbstraction", "Features", "Intervene", "Models", "Tensors",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .executableTarget(name: "InterveneCLI", dependencies: [
            "CausalAbstraction", "Features", "Intervene", "InterveneServer", "Models", "Tensors",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "InterveneBench", dependencies: ["CausalAbstraction", "Features", "Intervene", "Models", "Tensors", "CBLAS"]),
        .executableTarget(name: "01-GettingStarted", dependencies: ["CausalAbstraction", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/01-GettingStarted", exclude: ["README.md"]),
        .executableTarget(name: "02-InterventionsDuringGeneration", dependencies: ["CausalAbstraction", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/02-InterventionsDuringGeneration", exclude: ["README.md"]),
        .executableTarget(name: "03-DistributedAlignmentSearch", dependencies: ["CausalAbstraction", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/03-DistributedAlignmentSearch", exclude: ["README.md"]),
        .executableTarget(name: "04-BoundlessDAS", dependencies: ["CausalAbstraction", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/04-BoundlessDAS", exclude: ["README.md"]),
        .executableTarget(name: "05-CausalAbstraction", dependencies: ["CausalAbstraction", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/05-CausalAbstraction", exclude: ["README.md"]),
        .executableTarget(name: "06-CausalTracing", dependencies: ["CausalAbstraction", "Models", "Tensors"],
                          path: "Tutorials/06-CausalTracing", exclude: ["README.md"]),
        .executableTarget(name: "07-CodebookFeatures", dependencies: ["CausalAbstraction", "Features", "Models", "Tensors"],
                          path: "Tutorials/07-CodebookFeatures", exclude: ["README.md"]),
        .executableTarget(name: "08-SparseAutoencoders", dependencies: ["CausalAbstraction", "Features", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/08-SparseAutoencoders", exclude: ["README.md"]),
        .executableTarget(name: "09-Attribution", dependencies: ["CausalAbstraction", "Features", "Intervene", "Models", "Tensors"],
                          path: "Tutorials/09-Attribution", exclude: ["README.md"]),
        // Shared by the test targets: the `intervene` binary run as a process, random quantized matrices.
        .target(name: "InterveneTestSupport", dependencies: ["Tensors"], path: "Tests/Support"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensors"]),
        .testTarget(name: "InterveneTests", dependencies: ["InterveneTestSupport", "Intervene", "Models", "Tensors"]),
        .testTarget(name: "CausalAbstractionTests", dependencies: ["CausalAbstraction", "Intervene", "Models", "Tensors"]),
        .testTarget(name: "FeaturesTests", dependencies: ["InterveneTestSupport", "Features", "Intervene", "Models", "Tensors"]),
        .testTarget(name: "GoldenTests", dependencies: ["Features", "Intervene", "Models", "Tensors"]),
        // The `intervene` command in-process (parse + run), on tiny model folders.
        .testTarget(name: "InterveneCLITests", dependencies: ["InterveneTestSupport", "InterveneCLI", "CausalAbstraction", "Features", "Intervene", "Models", "Tensors"]),
        .testTarget(name: "InterveneServerTests", dependencies: [
            "InterveneTestSupport", "InterveneServer", "CausalAbstraction", "Features", "Intervene", "Models", "Tensors",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // Uses the public API only (no @testable import): what a user outside the package can do.
        .testTarget(name: "PublicAPITests", dependencies: ["Intervene", "Models", "Tensors"]),
    ],
    swiftLanguageModes: [.v6]
)
