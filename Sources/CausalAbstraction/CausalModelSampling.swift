import Tensors

/// Seeded input samplers of a `CausalModel`.
extension CausalModel {
    /// One input setting, each input drawn uniformly from its domain.
    public func sampleInputs(using g: inout RandomGenerator) -> CausalSetting {
        var setting: CausalSetting = [:]
        for v in variables where v.isInput { setting[v.name] = v.domain[g.nextInt(below: v.domain.count)] }
        return setting
    }

    /// `count` uniform input settings drawn with `seed`.
    public func sampleInputs(_ count: Int, seed: UInt64) -> [CausalSetting] {
        var g = RandomGenerator(seed: seed)
        return (0..<count).map { _ in sampleInputs(using: &g) }
    }

    /// `count` uniform input settings whose full run satisfies `predicate`, drawn with `seed`;
    /// throws `samplerExhausted` after `maxAttempts` draws.
    public func sampleInputs(_ count: Int, seed: UInt64, maxAttempts: Int = 1_000_000,
                             where predicate: (CausalSetting) throws -> Bool) throws -> [CausalSetting] {
        var g = RandomGenerator(seed: seed), found: [CausalSetting] = [], attempts = 0
        while found.count < count {
            guard attempts < maxAttempts else {
                throw CausalModelError.samplerExhausted(reason: "found \(found.count) of \(count) settings satisfying the filter in \(maxAttempts) draws")
            }
            attempts += 1
            let inputs = sampleInputs(using: &g)
            if try predicate(try run(inputs: inputs)) { found.append(inputs) }
        }
        return found
    }

    /// `count` input settings balanced over the values of `output` (default: the sole output):
    /// each value of its domain gets `count / k` settings (the first `count % k` values one
    /// more), by rejection from `draw` (default uniform); returned in a seeded shuffled order.
    /// Throws `samplerExhausted` when a value is not reached within `maxAttempts` draws.
    public func sampleBalanced(_ count: Int, seed: UInt64, output: String? = nil, maxAttempts: Int = 1_000_000,
                               draw: ((inout RandomGenerator) -> CausalSetting)? = nil) throws -> [CausalSetting] {
        let out = try known(output ?? soleOutput(), "balanced output")
        let k = out.domain.count
        var quota = Dictionary(uniqueKeysWithValues: out.domain.enumerated().map { ($1, count / k + ($0 < count % k ? 1 : 0)) })
        var g = RandomGenerator(seed: seed), found: [CausalSetting] = [], attempts = 0
        while found.count < count {
            guard attempts < maxAttempts else {
                let missing = quota.filter { $0.value > 0 }.map(\.key.description).sorted()
                throw CausalModelError.samplerExhausted(reason: "\(out.name) values \(missing.joined(separator: ", ")) not reached enough in \(maxAttempts) draws")
            }
            attempts += 1
            let inputs = draw.map { $0(&g) } ?? sampleInputs(using: &g)
            let value = try run(inputs: inputs)[out.name]!
            if let left = quota[value], left > 0 { quota[value] = left - 1; found.append(inputs) }
        }
        found.shuffle(using: &g)
        return found
    }
}
