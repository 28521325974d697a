import Foundation
@testable import Intervene
import Models
import Tensors

/// One randomly drawn intervention set-up: the representations, where each acts per example,
/// and optional subspaces. Built by `InterventionCaseGenerator` from a model's site table, so
/// every case is valid for that model.
struct InterventionCase: CustomStringConvertible {
    var representations: [RepresentationConfig]
    var mode: InterventionMode
    /// Per intervention, per example: the unit locations (source and base the same unless a
    /// property moves them).
    var locations: [[UnitLocation]]
    /// Per intervention (nil: whole units), per example: the dimensions.
    var subspaces: Subspaces?

    var config: IntervenableConfig { IntervenableConfig(representations: representations, mode: mode) }

    func unitLocations(source: [[UnitLocation]]? = nil) -> UnitLocations {
        UnitLocations(locations.indices.map { i in InterventionLocations(source: (source ?? locations)[i], base: locations[i]) })
    }

    /// The same case restricted to example `b` (its locations and subspaces only).
    func example(_ b: Int) -> InterventionCase {
        var one = self
        one.locations = locations.map { [$0[b]] }
        one.subspaces = subspaces.map { $0.map { s in s.map { [$0[b]] } } }
        return one
    }

    var description: String {
        let reps = representations.map { r in
            "L\(r.layer).\(r.component.rawValue)[\(r.unit.rawValue)×\(r.maxNumberOfUnits)] \(r.interventionType?.name ?? "-")"
        }
        let locs = locations.map { $0.map { "h\($0.heads ?? [])p\($0.positions ?? [])" }.joined(separator: ",") }
        return "\(mode.rawValue) \(reps) at \(locs) subspaces \(String(describing: subspaces))"
    }
}

/// Draws `InterventionCase`s for a model from a seeded generator: sites from the model's site
/// table (position sites with `pos` units, per-head sites with `h.pos` units), 1–3 units,
/// distinct positions per example, optional random subspaces of the per-unit dimension.
struct InterventionCaseGenerator {
    let table: SiteTable
    let batch: Int
    let length: Int
    var random: RandomGenerator

    init(model: any HookableModel, batch: Int, length: Int, seed: UInt64) {
        self.table = model.siteTable
        self.batch = batch
        self.length = length
        self.random = RandomGenerator(seed: seed)
    }

    /// Components of every layer seen position by position, (B, S, X).
    var positionComponents: [Component] {
        table.components.filter { c in
            guard let spec = table.specs[c], spec.layers == .all, !spec.perTimeStep else { return false }
            switch spec.view {
            case .whole, .third, .positionHeads: return c != .attentionScores && c != .attentionWeight && c != .headResult
            case .heads, .positionMajor: return false
            }
        }
    }

    /// Components split into heads, (B, H, S, d).
    var headComponents: [Component] {
        table.components.filter { c in
            guard let spec = table.specs[c], spec.layers == .all, case .heads = spec.view else { return false }
            return true
        }
    }

    mutating func pick<T>(_ items: [T]) -> T { items[random.nextInt(below: items.count)] }

    /// `count` distinct values from 0..<upper, sorted.
    mutating func distinct(_ count: Int, below upper: Int) -> [Int] {
        var pool = Array(0..<upper)
        var chosen: [Int] = []
        for _ in 0..<Swift.min(count, upper) { chosen.append(pool.remove(at: random.nextInt(below: pool.count))) }
        return chosen.sorted()
    }

    /// A case of 1–`maxInterventions` interventions of the given types (drawn per
    /// intervention); `subspaces` draws random dimension subsets for the types that take them.
    mutating func next(types: [InterventionType], maxInterventions: Int = 2, subspaces allowSubspaces: Bool = true,
                       modes: [InterventionMode] = [.parallel, .serial]) -> InterventionCase {
        let count = 1 + random.nextInt(below: maxInterventions)
        var representations: [RepresentationConfig] = []
        var locations: [[UnitLocation]] = []
        var dims: [[[Int]]?] = []
        var anySubspace = false
        for _ in 0..<count {
            let type = pick(types)
            // Rotated spaces are drawn at position sites only: at per-head sites their width
            // follows pyvene's head dimension, which grouped-query models do not share.
            let rotated = type == .rotatedSpace || type == .lowRankRotatedSpace
            let useHeads = !rotated && !headComponents.isEmpty && random.nextInt(below: 4) == 0
            let component = useHeads ? pick(headComponents) : pick(positionComponents)
            let spec = table.specs[component]!
            let layer = random.nextInt(below: table.layers)
            let units = 1 + random.nextInt(below: 3)
            var rep = RepresentationConfig(layer: layer, component: component, unit: useHeads ? .headPosition : .position,
                                           maxNumberOfUnits: units, interventionType: type)
            if type == .lowRankRotatedSpace { rep.lowRankDimension = 1 + random.nextInt(below: 3) }
            representations.append(rep)
            if case .heads(let heads) = spec.view {
                let head = random.nextInt(below: heads)
                locations.append((0..<batch).map { _ in .heads([head], positions: distinct(units, below: length)) })
            } else {
                locations.append((0..<batch).map { _ in .positions(distinct(units, below: length)) })
            }
            let takesSubspaces = allowSubspaces && [.vanilla, .addition, .subtraction, .zero].contains(type)
            if takesSubspaces && random.nextInt(below: 2) == 0 {
                anySubspace = true
                let width = spec.unitDimension
                dims.append((0..<batch).map { _ in distinct(1 + random.nextInt(below: width), below: width) })
            } else {
                dims.append(nil)
            }
        }
        return InterventionCase(representations: representations, mode: count > 1 ? pick(modes) : .parallel,
                                locations: locations, subspaces: anySubspace ? dims : nil)
    }

    /// Token ids (B, S) below `vocabulary`.
    mutating func tokens(vocabulary: Int) -> IndexTensor {
        IndexTensor(shape: [batch, length], values: (0..<(batch * length)).map { _ in random.nextInt(below: vocabulary) })
    }
}
