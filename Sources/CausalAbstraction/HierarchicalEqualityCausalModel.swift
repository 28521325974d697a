import Tensors

extension HierarchicalEqualityTask {
    /// The task's high-level model as a `CausalModel`: inputs W, X, Y, Z (object ids
    /// 0..<`objects`, positions 0–3), WX = (W = X) and YZ = (Y = Z) (booleans, closures) and the
    /// output O = (WX = YZ) (boolean). Interchanging WX matches `counterfactualLabel(.leftEquality)`
    /// (O true ⇔ label 1), YZ matches `.rightEquality`.
    public static func causalModel(objects: Int = vocabularySize) throws -> CausalModel {
        let ids = (0..<objects).map(CausalValue.int), booleans: [CausalValue] = [.bool(false), .bool(true)]
        let equal: @Sendable ([CausalValue]) -> CausalValue = { .bool($0[0] == $0[1]) }
        return try CausalModel([
            .input("W", domain: ids, position: 0), .input("X", domain: ids, position: 1),
            .input("Y", domain: ids, position: 2), .input("Z", domain: ids, position: 3),
            CausalVariable("WX", domain: booleans, parents: ["W", "X"], mechanism: .closure(equal), position: 1),
            CausalVariable("YZ", domain: booleans, parents: ["Y", "Z"], mechanism: .closure(equal), position: 2),
            CausalVariable("O", domain: booleans, parents: ["WX", "YZ"], mechanism: .closure(equal), position: 1),
        ])
    }

    /// The causal-model name of `variable` ("WX" or "YZ").
    public static func causalVariable(_ variable: Variable) -> String { variable == .leftEquality ? "WX" : "YZ" }

    /// Object ids [w, x, y, z] as causal-model inputs.
    public static func causalInputs(_ ids: [Int]) -> CausalSetting {
        ["W": .int(ids[0]), "X": .int(ids[1]), "Y": .int(ids[2]), "Z": .int(ids[3])]
    }

    /// Causal-model inputs back to object ids [w, x, y, z] (nil when one is not an integer).
    public static func objectIDs(_ inputs: CausalSetting) -> [Int]? {
        let ids = ["W", "X", "Y", "Z"].compactMap { inputs[$0]?.intValue }
        return ids.count == 4 ? ids : nil
    }

    /// The task's own input sampler (each equality forced with probability ½) for
    /// `CounterfactualDataset.sample(… draw:)`.
    public static func causalInputSampler() -> (inout RandomGenerator) -> CausalSetting {
        { g in causalInputs(sampleObjects(using: &g)) }
    }
}
