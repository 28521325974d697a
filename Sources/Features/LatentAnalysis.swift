import Foundation
import Intervene
import Models
import Tensors

/// Settings of a latent analysis.
public struct LatentAnalysisOptions: Sendable, Equatable {
    /// Top activating contexts kept per latent (K).
    public var top: Int
    /// Tokens on each side of an activating token stored with it (c).
    public var contextRadius: Int
    /// Histogram bins (B, even).
    public var bins: Int
    /// Promoted and suppressed tokens per latent in the logit lens (n; 0 leaves the lens out).
    public var logitTokens: Int
    /// Windows per forward pass.
    public var batchSize: Int
    /// Leading positions of each window left out of the statistics (1 leaves out the first
    /// token, which most models use as an attention sink with outsized activations).
    public var skipPositions: Int

    public init(top: Int = 20, contextRadius: Int = 8, bins: Int = 32, logitTokens: Int = 10, batchSize: Int = 8, skipPositions: Int = 1) {
        self.top = top
        self.contextRadius = contextRadius
        self.bins = bins
        self.logitTokens = logitTokens
        self.batchSize = batchSize
        self.skipPositions = skipPositions
    }
}

/// Per-latent analysis of a sparse autoencoder at a site of a model over a corpus: the top
/// activating contexts, activation histograms and firing frequencies (`LatentStatistics`, by
/// streaming through `LatentAccumulator`), and the logit lens of each decoder direction
/// (`LatentLogitLens`). The corpus arrives as token windows, read one batch at a time; the
/// model runs without gradients and stops after the site's layer.
public enum LatentAnalysis {
    /// Runs the SAE on `site` activations of `model` over the windows `nextWindow` hands out (nil
    /// ends the corpus), `options.batchSize` windows per pass (equal lengths share a pass).
    /// `progress` gets (windows done, tokens counted) after every pass. Throws `SAEError` for a
    /// site whose width is not the SAE's, a site that is not one vector per token, bad options,
    /// or windows no longer than `skipPositions`; and the model's errors for ids it cannot take.
    public static func statistics(of sae: SparseAutoencoder, model: any HookableModel, site: Site, options: LatentAnalysisOptions,
                                  nextWindow: () throws -> [Int]?, progress: ((Int, Int) -> Void)? = nil) throws -> LatentStatistics {
        try check(options)
        let resolved = try model.siteTable.resolved(site)
        let spec = try model.siteTable.spec(for: resolved)
        let perToken: Bool
        switch spec.view {
        case .whole, .third: perToken = !spec.perTimeStep && !spec.isHeadMajor
        case .heads, .positionHeads, .positionMajor: perToken = false
        }
        guard spec.unitDimension == sae.width, perToken else {
            throw SAEError.invalid(field: "site", value: "\(resolved) (\(spec.shape), unit width \(spec.unitDimension))",
                                   allowed: "a site with one \(sae.width)-wide vector per token (the SAE's d_in)")
        }
        let accumulator = try LatentAccumulator(latents: sae.latents, topCount: options.top, contextRadius: options.contextRadius, bins: options.bins)
        var pending: [[Int]] = [], windowsDone = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            try Tensor.withoutGradients {
                let x = try activations(model: model, site: resolved, spec: spec, windows: pending)   // (B·S, d)
                let z = sae.encode(x).latents.contiguous()
                let s = pending[0].count, l = sae.latents, skip = options.skipPositions
                z.withUnsafeElements { all in
                    for (b, window) in pending.enumerated() {
                        let rows = UnsafeBufferPointer(rebasing: all[((b * s + skip) * l)..<((b + 1) * s * l)])
                        accumulator.add(latents: rows, window: windowsDone + b, windowTokens: window, positions: skip..<s)
                    }
                }
            }
            windowsDone += pending.count
            pending.removeAll(keepingCapacity: true)
            progress?(windowsDone, accumulator.tokensCounted)
        }
        while let window = try nextWindow() {
            guard window.count > options.skipPositions else {
                throw SAEError.invalid(field: "window", value: "\(window.count) tokens", allowed: "more than skipPositions = \(options.skipPositions) tokens")
            }
            if let first = pending.first, first.count != window.count { try flush() }
            pending.append(window)
            if pending.count == options.batchSize { try flush() }
        }
        try flush()
        return accumulator.finish()
    }

    /// Throws `SAEError` naming the first option out of range.
    public static func check(_ options: LatentAnalysisOptions) throws {
        func require(_ ok: Bool, _ field: String, _ value: Int, _ allowed: String) throws {
            guard ok else { throw SAEError.invalid(field: field, value: "\(value)", allowed: allowed) }
        }
        try require(options.top >= 1, "top", options.top, "an integer ≥ 1")
        try require(options.contextRadius >= 0, "context", options.contextRadius, "an integer ≥ 0")
        try require(options.bins >= 2 && options.bins % 2 == 0, "bins", options.bins, "an even integer ≥ 2")
        try require(options.logitTokens >= 0, "tokens", options.logitTokens, "an integer ≥ 0")
        try require(options.batchSize >= 1, "batch", options.batchSize, "an integer ≥ 1")
        try require(options.skipPositions >= 0, "skip-positions", options.skipPositions, "an integer ≥ 0")
    }

    /// The site's activations for a batch of equal-length windows, (B·S, d).
    static func activations(model: any HookableModel, site: Site, spec: SiteSpec, windows: [[Int]]) throws -> Tensor {
        let s = windows[0].count
        let capture = LatentSiteCapture(site: site, spec: spec)
        var options = ForwardOptions()
        options.hooks = capture
        _ = try model.forward(.tokens(IndexTensor(shape: [windows.count, s], values: Array(windows.joined()))), options: options)
        guard let x = capture.activation, x.count == windows.count * s * spec.unitDimension else {
            throw SAEError.invalid(field: "site", value: "\(site) (not reached, or not one vector per token)",
                                   allowed: "a site the model passes once per forward with one vector per token")
        }
        return x.reshaped([windows.count * s, spec.unitDimension])
    }
}

/// Records one site's activation and lets the model stop after the site's layer.
final class LatentSiteCapture: ActivationHooks {
    let site: Site, spec: SiteSpec
    private(set) var activation: Tensor?

    init(site: Site, spec: SiteSpec) {
        self.site = site
        self.spec = spec
    }

    func isActive(_ point: TapPoint) -> Bool { point.layer == site.layer && point.tap == spec.tap }

    func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        self.activation = SiteViews.view(activation, spec.view).contiguous()
    }

    func canStop(afterLayer layer: Int) -> Bool { layer >= site.layer }
}
