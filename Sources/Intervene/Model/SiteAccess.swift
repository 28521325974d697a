import Models
import Tensors

/// Reads and writes the block of units an intervention acts on, inside a tapped activation.
///
/// Layouts: a sequence tap is (B, S, d); a head view is the tap (B, S, H·d) seen as
/// (B, H, S, d); attention weights are natively (B, H, S_query, S_key). Blocks:
/// unit "pos" → (B, n, d); "h" → (B, n_heads, S, d); "h.pos" → (B, n_heads, n_positions, d);
/// whole → the activation as is (head views in their (B, H, S, d) form).
struct SiteAccess {
    let representationIndex: Int
    let spec: SiteSpec
    let unit: RepresentationUnit

    /// The error for a location outside its axis.
    func outOfRange(_ what: String, _ value: Int, _ size: Int, example: Int) -> ConfigurationError {
        .invalidField(field: "unit_locations[\(representationIndex)] \(what) of example \(example)", value: "\(value)",
                      allowed: "0..<\(size) for \(spec.component.rawValue)")
    }

    /// The activation in head form (B, H, S, X) for head views and attention weights.
    func headForm(_ tap: Tensor) -> Tensor? {
        if case .heads(let h) = spec.view {
            let s = tap.shape
            return tap.reshaped([s[0], s[1], h, s[2] / h]).permuted([0, 2, 1, 3])
        }
        return tap.rank == 4 ? tap : nil
    }

    /// Selects the component's part of the tap (a third of the last dimension, or all).
    func component(_ tap: Tensor) -> Tensor {
        if case .third = spec.view { return SiteViews.view(tap, spec.view) }
        return tap
    }

    /// Writes `part` back as the component's part of `tap`.
    func replacingComponent(_ tap: Tensor, with part: Tensor) -> Tensor {
        if case .third = spec.view { return SiteViews.replacing(in: tap, spec.view, with: part) }
        return part
    }

    /// Checks every example selects the same number of units (blocks are rectangular).
    func rectangular(_ rows: [[Int]], _ what: String) throws -> [[Int]] {
        guard let n = rows.first?.count, rows.allSatisfy({ $0.count == n }), n > 0 else {
            throw ConfigurationError.invalidField(field: "unit_locations[\(representationIndex)] \(what)", value: "\(rows.map(\.count)) per example",
                                                  allowed: "the same, non-zero number of units in every example")
        }
        return rows
    }

    func positions(_ locations: [UnitLocation], size: Int) throws -> [[Int]] {
        let rows = try rectangular(locations.map { $0.positions ?? Array(0..<size) }, "positions")
        for (b, row) in rows.enumerated() { for p in row where p < 0 || p >= size { throw outOfRange("position", p, size, example: b) } }
        return rows
    }

    func heads(_ locations: [UnitLocation], size: Int) throws -> [[Int]] {
        let rows = try rectangular(locations.map { $0.heads ?? Array(0..<size) }, "heads")
        for (b, row) in rows.enumerated() { for h in row where h < 0 || h >= size { throw outOfRange("head", h, size, example: b) } }
        return rows
    }

    /// The block at `locations` (nil: the whole activation).
    func gather(_ tap: Tensor, _ locations: [UnitLocation]?) throws -> Tensor {
        let x = component(tap)
        guard let locations else { return headForm(x) ?? x }
        guard locations.count == x.shape[0] else {
            throw ConfigurationError.invalidField(field: "unit_locations[\(representationIndex)]", value: "\(locations.count) examples",
                                                  allowed: "one location per example (batch size \(x.shape[0]))")
        }
        switch unit {
        case .position:
            guard headForm(x) == nil else { throw headUnitRequired() }
            return x.gatherPerExample(axis: 1, indices: try positions(locations, size: x.shape[1]))
        case .head:
            guard let h = headForm(x) else { throw headViewRequired() }
            return h.gatherPerExample(axis: 1, indices: try heads(locations, size: h.shape[1]))
        case .headPosition:
            guard let h = headForm(x) else { throw headViewRequired() }
            let byHead = h.gatherPerExample(axis: 1, indices: try heads(locations, size: h.shape[1]))
            return byHead.gatherPerExample(axis: 2, indices: try positions(locations, size: h.shape[2]))
        case .whole, .timeStep:
            return headForm(x) ?? x
        }
    }

    /// `tap` with the block at `locations` replaced by `block`.
    func scatter(_ tap: Tensor, _ locations: [UnitLocation]?, _ block: Tensor) throws -> Tensor {
        let x = component(tap)
        let replaced: Tensor
        if let locations {
            switch unit {
            case .position:
                replaced = x.scatteringPerExample(axis: 1, indices: try positions(locations, size: x.shape[1]), values: block)
            case .head, .headPosition:
                let h = headForm(x)!
                let headRows = try heads(locations, size: h.shape[1])
                var updatedHeads = block
                if unit == .headPosition {
                    let current = h.gatherPerExample(axis: 1, indices: headRows)
                    updatedHeads = current.scatteringPerExample(axis: 2, indices: try positions(locations, size: h.shape[2]), values: block)
                }
                replaced = fromHeadForm(h.scatteringPerExample(axis: 1, indices: headRows, values: updatedHeads), like: x)
            case .whole, .timeStep:
                replaced = headForm(x) != nil ? fromHeadForm(block, like: x) : block
            }
        } else {
            replaced = headForm(x) != nil ? fromHeadForm(block, like: x) : block
        }
        return replacingComponent(tap, with: replaced)
    }

    /// Inverse of `headForm`.
    func fromHeadForm(_ h: Tensor, like x: Tensor) -> Tensor {
        if case .heads = spec.view { return h.permuted([0, 2, 1, 3]).reshaped(x.shape) }
        return h
    }

    func headUnitRequired() -> ConfigurationError {
        .invalidField(field: "representations[\(representationIndex)].unit", value: "\"pos\"",
                      allowed: "h.pos or h for \(spec.component.rawValue) (its activation is split into heads; pyvene would silently index heads with \"pos\")")
    }

    func headViewRequired() -> ConfigurationError {
        .invalidField(field: "representations[\(representationIndex)].unit", value: "\"\(unit.rawValue)\"",
                      allowed: "pos for \(spec.component.rawValue) (heads need a head_* component or attention_weight)")
    }

    /// The block flattened for distributed interventions: (B, n, d) → (B, n·d);
    /// (B, H, P, d) → (B, P, H·d); 2-D blocks unchanged.
    static func flatten(_ block: Tensor) -> Tensor {
        switch block.rank {
        case 3: return block.reshaped([block.shape[0], block.shape[1] * block.shape[2]])
        case 4: return block.permuted([0, 2, 1, 3]).reshaped([block.shape[0], block.shape[2], block.shape[1] * block.shape[3]])
        default: return block
        }
    }

    /// Inverse of `flatten` for a block of shape `shape`.
    static func unflatten(_ flat: Tensor, to shape: [Int]) -> Tensor {
        switch shape.count {
        case 3: return flat.reshaped(shape)
        case 4: return flat.reshaped([shape[0], shape[2], shape[1], shape[3]]).permuted([0, 2, 1, 3])
        default: return flat
        }
    }
}
