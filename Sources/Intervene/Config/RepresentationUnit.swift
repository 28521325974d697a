/// What one "unit" of a representation is: the granularity at which locations select.
public enum RepresentationUnit: String, Codable, Sendable, CaseIterable {
    /// Token positions: locations pick positions; the block is (B, n, d).
    case position = "pos"
    /// Attention heads: locations pick heads at every position; the block is (B, n, S, d).
    case head = "h"
    /// Heads and positions: locations pick heads and positions; the block is
    /// (B, heads, positions, d).
    case headPosition = "h.pos"
    /// Time steps of a recurrent cell: the block at a selected step is (B, d).
    case timeStep = "t"
    /// The whole activation, no locations.
    case whole = "*"

    /// Parses pyvene's unit strings ("pos", "h", "h.pos", "t"); nil or "" is the whole tensor.
    public init(pyvene text: String?) throws {
        guard let text, !text.isEmpty else { self = .whole; return }
        guard let unit = RepresentationUnit(rawValue: text) else {
            throw ConfigurationError.invalidField(field: "unit", value: "\"\(text)\"", allowed: "pos, h, h.pos, t")
        }
        self = unit
    }
}
