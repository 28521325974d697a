import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Inputs the libFuzzer harnesses (Fuzz/) found, kept in Tests/Fixtures/fuzz: each must now
/// throw a typed error instead of exhausting memory or trapping.
@Suite struct InterveneFuzzRegressionTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return [UInt8](try Data(contentsOf: url.appendingPathComponent("Fixtures/fuzz/" + name)))
    }

    /// A bundle (bundle.json, NUL, weights.safetensors) whose subspace_partition holds
    /// [4, 4294967296]: validation expanded the range to a list first and tried to allocate 32 GB.
    @Test func hugePartitionRangeInABundleIsRefused() throws {
        let bytes = try Self.fixture("bundle-huge-partition.bundle")
        let nul = try #require(bytes.firstIndex(of: 0))
        let manifest = try InterventionBundle.manifest(json: try bytes[..<nul].withUnsafeBytes { try JSONValue.parse($0) }, path: "fuzz")
        let weights = Array(bytes[(nul + 1)...])
        let error = try #require(throws: BundleError.self) {
            try InterventionBundle.load(manifest: manifest, model: tinyGPT2()) {
                try weights.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "fuzz/weights.safetensors") }
            }
        }
        #expect("\(error)".contains("subspace_partition[1]") && "\(error)".contains("[4, 4294967296]"), "\(error)")
    }

    @Test func partitionsAndUnitCountsOutOfRangeAreNamed() throws {
        func error(_ r: RepresentationConfig) -> ConfigurationError? {
            do { _ = try IntervenableModel(config: IntervenableConfig(r, interventionType: .vanilla), model: tinyGPT2()) } catch let e as ConfigurationError {
                return e
            } catch { return nil }
            return nil
        }
        #expect(error(RepresentationConfig(layer: 0, component: .blockOutput, subspacePartition: [[0, 8], [8, 1 << 40]])) ==
                .invalidField(field: "representations[0].subspace_partition[1]", value: "[8, 1099511627776]",
                              allowed: "indices in 0..<16, or [start, end] with 0 ≤ start < end ≤ 16"))
        #expect(error(RepresentationConfig(layer: 0, component: .blockOutput, subspacePartition: [[0, 8], [8, 16]])) == nil)
        #expect(error(RepresentationConfig(layer: 0, component: .blockOutput, subspacePartition: [[3, 2, -1]]))?.description.contains("[3, 2, -1]") == true)
        #expect(error(RepresentationConfig(layer: 0, component: .blockOutput, maxNumberOfUnits: Int.max)) ==
                .invalidField(field: "representations[0].max_number_of_units", value: "\(Int.max)", allowed: "an integer in 1...1048576"))
    }
}
