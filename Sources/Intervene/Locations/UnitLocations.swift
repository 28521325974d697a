import Tensors

/// The units one intervention touches in one example: positions (or time steps) and heads.
/// nil means "all".
public struct UnitLocation: Equatable, Sendable, Hashable {
    /// Token positions, or time steps for unit "t".
    public var positions: [Int]?
    /// Attention heads (units "h" and "h.pos").
    public var heads: [Int]?

    public init(positions: [Int]? = nil, heads: [Int]? = nil) {
        self.positions = positions
        self.heads = heads
    }

    /// Positions only.
    public static func positions(_ p: [Int]) -> UnitLocation { UnitLocation(positions: p) }
    /// Heads at given positions.
    public static func heads(_ h: [Int], positions p: [Int]) -> UnitLocation { UnitLocation(positions: p, heads: h) }
}

/// Where one intervention reads its source and writes its base, per example.
public struct InterventionLocations: Equatable, Sendable {
    /// Per example: where to read in the source (nil: the intervention takes no source, or the
    /// same locations as the base).
    public var source: [UnitLocation]?
    /// Per example: where to write in the base (nil: the whole activation).
    public var base: [UnitLocation]?

    public init(source: [UnitLocation]?, base: [UnitLocation]?) {
        self.source = source
        self.base = base
    }
}

/// Locations of every intervention (in representation order), per example. Every example keeps
/// its own locations.
public struct UnitLocations: Equatable, Sendable {
    public var interventions: [InterventionLocations]

    public init(_ interventions: [InterventionLocations]) {
        self.interventions = interventions
    }

    /// The same source and base positions for every intervention: `source[b]` and `base[b]` are
    /// example b's positions.
    public static func positions(source: [[Int]]?, base: [[Int]], interventions: Int = 1) -> UnitLocations {
        UnitLocations(Array(repeating: InterventionLocations(source: source?.map { .positions($0) }, base: base.map { .positions($0) }),
                            count: interventions))
    }

    /// One position for source and base in every example of every intervention.
    public static func position(_ p: Int, batchSize: Int, interventions: Int = 1) -> UnitLocations {
        positions(source: Array(repeating: [p], count: batchSize), base: Array(repeating: [p], count: batchSize), interventions: interventions)
    }

    /// Base-only positions (for source-less interventions such as collect and zero).
    public static func base(_ base: [[Int]], interventions: Int = 1) -> UnitLocations {
        positions(source: nil, base: base, interventions: interventions)
    }
}

/// Per intervention, per example: indices of the dimensions an intervention touches (or
/// partition ids when the representation has a `subspace_partition`). nil: all dimensions.
public typealias Subspaces = [[[Int]]?]
