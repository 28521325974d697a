import Foundation
import Models
import Tensors

/// A model's activations at one site over a stream of token windows, as rows for SAE training:
/// `windowsPerPass` windows of equal length run as one batch, the pass stops after the site's
/// layer, and the activations (B, S, d) at the positions `positions` keeps (from `skip` on,
/// attention sinks left out) become rows (n, d).
public final class SiteActivationSource: ActivationSource {
    public let width: Int
    public let site: Site
    /// Tokens whose activations were handed out.
    public private(set) var tokens = 0
    /// Positions left out as attention sinks (beyond the skipped ones).
    public private(set) var sinks = 0
    private let model: any HookableModel
    private let spec: SiteSpec
    private let windows: any TokenWindowStream
    private let windowsPerPass: Int
    private let positions: PositionSelection
    private var waiting: [Int]?

    /// Throws `SiteError` for a site the model does not have and `SAEError` for one whose
    /// activation is not (B, S, d), or counts out of range.
    public init(model: any HookableModel, site: Site, windows: any TokenWindowStream, windowsPerPass: Int = 8,
                positions: PositionSelection = PositionSelection()) throws {
        (self.site, spec) = try SiteActivationSource.resolve(site, in: model)
        guard windowsPerPass >= 1 else { throw SAEError.invalid(field: "windowsPerPass", value: "\(windowsPerPass)", allowed: "an integer ≥ 1") }
        try positions.validate()
        self.model = model
        self.width = spec.unitDimension
        self.windows = windows
        self.windowsPerPass = windowsPerPass
        self.positions = positions
    }

    /// The site with a negative layer resolved, and its spec; refuses sites whose activation is
    /// not one row of `unitDimension` per position (head-major views, per-time-step cells).
    static func resolve(_ site: Site, in model: any HookableModel) throws -> (Site, SiteSpec) {
        let resolved = try model.siteTable.resolved(site)
        let spec = try model.siteTable.spec(for: resolved)
        var rowwise = !spec.perTimeStep && !spec.isHeadMajor
        if case .positionHeads = spec.view { rowwise = false }
        guard rowwise else {
            throw SAEError.invalid(field: "site", value: "\(resolved) (\(spec.shape))",
                                   allowed: "a site with one activation row per position, e.g. block_output, mlp_output or attention_output")
        }
        return (resolved, spec)
    }

    /// The next batch of equal-length windows (up to `windowsPerPass`), or nil at the end.
    func nextBatch() throws -> [[Int]]? {
        var batch: [[Int]] = []
        while batch.count < windowsPerPass {
            guard let window = try waiting ?? windows.next() else { break }
            waiting = nil
            if let first = batch.first, first.count != window.count {
                waiting = window
                break
            }
            batch.append(window)
        }
        return batch.isEmpty ? nil : batch
    }

    public func nextRows() throws -> Tensor? {
        while let batch = try nextBatch() {
            let length = batch[0].count
            guard length > positions.skip else { continue }
            let capture = SiteCapture(site: site, spec: spec, stops: true)
            var options = ForwardOptions(hooks: capture)
            options.logitsForLastPositionOnly = true
            let input = ModelInput.tokens(IndexTensor(shape: [batch.count, length], values: Array(batch.joined())))
            _ = try Tensor.withoutGradients { try model.forward(input, options: options) }
            guard let activation = capture.activation else { throw SAEError.invalid(field: "site", value: "\(site)", allowed: "a site the model's forward pass reaches") }
            let keep = positions.kept(activation)
            let rows = PositionSelection.rows(activation, keep: keep)
            tokens += rows.shape[0]
            sinks += batch.count * (length - positions.skip) - rows.shape[0]
            guard rows.shape[0] > 0 else { continue }
            return rows
        }
        return nil
    }
}

/// Reads one site's activation (its view) during a forward pass; with `stops` the pass may end
/// after the site's layer.
final class SiteCapture: ActivationHooks {
    let point: TapPoint, view: SiteView, stops: Bool
    private(set) var activation: Tensor?

    init(site: Site, spec: SiteSpec, stops: Bool) {
        point = TapPoint(layer: site.layer, tap: spec.tap)
        view = spec.view
        self.stops = stops
    }

    func isActive(_ p: TapPoint) -> Bool { p == point }

    func visit(_ p: TapPoint, step: Int?, _ a: inout Tensor) throws {
        activation = SiteViews.view(a, view).detached()
    }

    func canStop(afterLayer layer: Int) -> Bool { stops && layer >= point.layer }
}
