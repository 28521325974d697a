import Models
import Tensors

/// Batched runs of one base input in which, row by row, one of several sites is moved toward a
/// source activation, position by position:
///
///     a ← a + C ⊙ (a_src − a)        a (B, S, …) the site's view, C (B, S, 1, …)
///
/// where C is a row's coefficients at the site the row moves and 0 at every other site (adding
/// 0 ⊙ (a_src − a) leaves an activation bit for bit). C = 1 at one position is activation patching
/// of that node; C = α is a point of an integrated-gradients path. Rows are independent examples,
/// so one pass serves many nodes of many layers.
struct InterpolatedPasses {
    /// A site rows may move, with its view and the source activation (1, S, …) they move toward.
    struct Target {
        let site: Site
        let spec: SiteSpec
        let source: Tensor
    }

    /// One row: the target it moves and the source's weight at each position.
    struct Row {
        let target: Int
        let coefficients: [Float]
    }

    let model: any HookableModel
    let base: [Int]
    let metric: AttributionMetric
    let targets: [Target]
    /// Rows per pass (bounds memory; results do not depend on it beyond rounding).
    let maxRows: Int

    /// The base input repeated `rows` times (B, S).
    func input(rows: Int) -> ModelInput {
        .tokens(IndexTensor(shape: [rows, base.count], values: Array((0..<rows).map { _ in base }.joined())))
    }

    /// Hooks that move each target by the rows that name it.
    func hooks(rows: [Row]) -> HookRegistry {
        let hooks = HookRegistry()
        let length = base.count
        for (t, target) in targets.enumerated() where rows.contains(where: { $0.target == t }) {
            let shape = [rows.count, length] + [Int](repeating: 1, count: target.source.rank - 2)
            let zeros = [Float](repeating: 0, count: length)
            let coefficients = Tensor(shape: shape, values: Array(rows.map { $0.target == t ? $0.coefficients : zeros }.joined()))
            let (spec, source) = (target.spec, target.source)
            hooks.add(layer: target.site.layer, tap: spec.tap) { tapped, _ in
                let viewed = SiteViews.view(tapped, spec.view)
                tapped = SiteViews.replacing(in: tapped, spec.view, with: viewed + coefficients * (source - viewed))
            }
        }
        return hooks
    }

    func options(rows: [Row]) -> ForwardOptions {
        var options = ForwardOptions()
        options.hooks = hooks(rows: rows)
        options.logitsForLastPositionOnly = true
        return options
    }

    /// The metric of each row (no gradients), in chunks of `maxRows`.
    func metrics(rows: [Row], progress: () -> Void) throws -> [Float] {
        var out: [Float] = []
        for chunk in chunks(rows) {
            let logits = try Tensor.withoutGradients { try model.forward(input(rows: chunk.count), options: options(rows: chunk)).logits }
            out += metric.values(logits).scalars
            progress()
        }
        return out
    }

    /// Per row, the metric's gradient at each of `sites` in its view, (rows, S, …), with the rows'
    /// moves applied.
    func gradients(at sites: [Site], rows: [Row], progress: () -> Void) throws -> [Site: Tensor] {
        var parts: [Site: [Tensor]] = [:]
        for chunk in chunks(rows) {
            let result = try model.gradients(input(rows: chunk.count), at: sites, options: options(rows: chunk)) { metric.objective($0.logits) }
            for (s, g) in result.gradients { parts[s, default: []].append(g) }
            progress()
        }
        return parts.mapValues { $0.count == 1 ? $0[0] : Tensor.concatenate($0, axis: 0) }
    }

    /// `rows` in runs of at most `maxRows`.
    func chunks(_ rows: [Row]) -> [[Row]] {
        stride(from: 0, to: rows.count, by: maxRows).map { Array(rows[$0..<Swift.min($0 + maxRows, rows.count)]) }
    }

    /// The number of passes `rows` rows take.
    func passes(_ rows: Int) -> Int { (rows + maxRows - 1) / maxRows }
}

extension Tensor {
    /// ⟨self, other⟩ per row and position: (B, S, …) ⊙ (1 or B, S, …) summed over the trailing
    /// axes → (B, S).
    func positionDot(_ other: Tensor) -> Tensor {
        let product = self * other
        return product.reshaped([product.shape[0], product.shape[1], -1]).sum(axis: 2)
    }
}
