// swift-tools-version: 6.0
// libFuzzer harnesses for Intervene's file parsers, kept out of the main package so that a plain
// `swift build` never needs fuzzer flags. Build and run them with `make fuzz-smoke` / `make fuzz`
// (see README.md, "Fuzzing"): the build adds -sanitize=fuzzer,address and -parse-as-library.
import PackageDescription

let harnesses = ["safetensors", "gguf", "tokenizer", "pickle", "bundle", "experiment", "unit-locations"]

let package = Package(
    name: "InterveneFuzz",
    products: harnesses.map { .executable(name: "fuzz-\($0)", targets: ["fuzz-\($0)"]) },
    dependencies: [.package(name: "Intervene", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [
            .product(name: "Tensors", package: "Intervene"), .product(name: "Models", package: "Intervene"),
            .product(name: "Intervene", package: "Intervene"),
        ]),
    ] + harnesses.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: [
            "FuzzSupport",
            .product(name: "Tensors", package: "Intervene"), .product(name: "Models", package: "Intervene"),
            .product(name: "Intervene", package: "Intervene"), .product(name: "CausalAbstraction", package: "Intervene"),
        ])
    },
    swiftLanguageModes: [.v6]
)
