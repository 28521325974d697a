import Tensors

extension DecoderConfig {
    /// Checks that the options fit together; throws `ModelError.invalidConfig` naming the field,
    /// its value and what is allowed (a `DecoderConfig` built in Swift is user input too).
    public func validate() throws {
        func fail(_ field: String, _ value: Any, _ expected: String) -> ModelError {
            .invalidConfig(path: "DecoderConfig(\(modelType))", field: field, value: "\(value)", expected: expected)
        }
        for (field, value) in [("vocabularySize", vocabularySize), ("width", width), ("layers", layers), ("heads", heads),
                               ("kvHeads", kvHeads), ("headDim", headDim), ("intermediate", intermediate),
                               ("contextLength", contextLength)] where value < 1 {
            throw fail(field, value, "an integer ≥ 1")
        }
        try checkSize(fail)
        guard heads % kvHeads == 0 else { throw fail("kvHeads", kvHeads, "a divisor of heads (\(heads))") }
        if projection == .fusedPerHead && kvHeads != heads {
            throw fail("kvHeads", kvHeads, "equal to heads (\(heads)) with the per-head fused projection")
        }
        guard norm.epsilon >= 0 && norm.epsilon.isFinite else { throw fail("norm.epsilon", norm.epsilon, "a finite number ≥ 0") }
        if case .rotary(let r) = positions {
            guard r.dimensions >= 0, r.dimensions <= headDim, r.dimensions % 2 == 0 else {
                throw fail("positions.rotary.dimensions", r.dimensions, "an even number in 0...\(headDim) (headDim)")
            }
            guard r.theta > 0 && r.theta.isFinite else { throw fail("positions.rotary.theta", r.theta, "a finite number > 0") }
            try validate(r.scaling, fail)
        }
        guard attention.windows.count <= layers else {
            throw fail("attention.windows", attention.windows.count, "at most one window per layer (\(layers))")
        }
        if let bad = attention.windows.compactMap({ $0 }).first(where: { $0 < 1 }) {
            throw fail("attention.windows", bad, "windows ≥ 1 or nil")
        }
        for (field, value) in [("attention.logitSoftCap", attention.logitSoftCap), ("attention.qkvClip", attention.qkvClip),
                               ("finalLogitSoftCap", finalLogitSoftCap), ("embeddingScale", embeddingScale)] {
            if let value, !(value > 0 && value.isFinite) { throw fail(field, value, "a finite number > 0 or nil") }
        }
        if case .inverseSquareRoot(let s) = attention.queryScale, !(s > 0 && s.isFinite) {
            throw fail("attention.queryScale", s, "a finite number > 0")
        }
    }

    /// Every weight matrix's element count, overflow-checked, and their sum below 2³⁶ (256 GiB of
    /// Float32): a config with absurd sizes is refused before anything is allocated.
    private func checkSize(_ fail: (String, Any, String) -> ModelError) throws {
        func product(_ a: Int, _ b: Int) -> Int? {
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? nil : p
        }
        let limit = 1 << 36
        guard let qw = product(heads, headDim), let kvw = product(kvHeads, headDim), qw < limit, kvw < limit else {
            throw fail("size", "\(heads) heads × \(headDim)", "fewer than 2^36 parameters")
        }
        let perLayer = [product(width, qw + 2 * kvw), product(qw, width), product(width, intermediate).flatMap { product($0, 3) }]
        let matrices = [product(vocabularySize, width), product(contextLength, width)] + perLayer.map { $0.flatMap { product($0, layers) } }
        var total = 0
        for m in matrices {
            guard let m, m < limit else { throw fail("size", "\(vocabularySize) × \(width) × \(layers) layers", "fewer than 2^36 parameters") }
            total += m
        }
        guard total < limit else { throw fail("size", "\(total) parameters", "fewer than 2^36 parameters") }
    }

    /// A lower bound on the weights every family with these sizes holds: the token embedding
    /// (vocabularySize × width) and, per layer, the query, key, value and output projections
    /// and two feed-forward matrices (width × intermediate each). Norms, biases, position
    /// embeddings and a third (gate) matrix are left out. nil when the count overflows. Loaders
    /// compare it with the elements a checkpoint stores, to refuse sizes its tensors cannot
    /// fill before anything is allocated.
    public var minimumWeightCount: Int? {
        func product(_ a: Int, _ b: Int) -> Int? {
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? nil : p
        }
        func sum(_ values: [Int?]) -> Int? {
            var total = 0
            for v in values {
                guard let v else { return nil }
                let (s, overflow) = total.addingReportingOverflow(v)
                if overflow { return nil }
                total = s
            }
            return total
        }
        let query = product(heads, headDim).flatMap { product($0, width) }, keyValue = product(kvHeads, headDim).flatMap { product($0, width) }
        let perLayer = sum([query.flatMap { product($0, 2) }, keyValue.flatMap { product($0, 2) }, product(width, intermediate).flatMap { product($0, 2) }])
        return sum([product(vocabularySize, width), perLayer.flatMap { product($0, layers) }])
    }

    private func validate(_ scaling: RopeScaling, _ fail: (String, Any, String) -> ModelError) throws {
        switch scaling {
        case .none: return
        case .frequencyFactors(let factors):
            guard case .rotary(let r) = positions, factors.count == r.dimensions / 2 else {
                throw fail("positions.rotary.scaling.frequencyFactors", factors.count, "one factor per rotated frequency")
            }
            guard factors.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw fail("positions.rotary.scaling.frequencyFactors", "\(factors)", "finite numbers > 0")
            }
            return
        case .linear(let factor), .dynamic(let factor, _), .llama3(let factor, _, _, _):
            guard factor >= 1 && factor.isFinite else { throw fail("positions.rotary.scaling.factor", factor, "a finite number ≥ 1") }
        }
        if case .dynamic(_, let original) = scaling, original < 1 {
            throw fail("positions.rotary.scaling.originalMaxPositions", original, "an integer ≥ 1")
        }
        if case .llama3(_, let low, let high, let original) = scaling {
            guard original >= 1 else { throw fail("positions.rotary.scaling.originalMaxPositions", original, "an integer ≥ 1") }
            guard low > 0, high > low else {
                throw fail("positions.rotary.scaling.highFrequencyFactor", high, "greater than lowFrequencyFactor (\(low)) > 0")
            }
        }
    }
}
