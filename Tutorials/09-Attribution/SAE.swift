import Features
import Foundation
import Models
import Tensors

/// The sparse autoencoder the tutorial splices in, and where it came from.
struct TutorialSAE {
    /// The site it reads and writes.
    let site: Site
    let sae: SparseAutoencoder
    /// A line for the output: the folder it was read from, or how it was made.
    let origin: String
    /// Whether it was trained (false: random weights, mechanics only).
    let trained: Bool
    /// Seconds spent making or reading it.
    let seconds: Double

    /// The built-in SAE's site: the residual stream after block 23, whose attention head 4
    /// writes most of " Paris" (step 2).
    static let defaultSite = Site(layer: 23, component: .blockOutput)

    /// The SAE of `--sae SITE=FOLDER` (an SAELens folder: cfg.json + sae_weights.safetensors),
    /// read and checked against `model`'s site; nil without the option. A bad site or folder,
    /// or an SAE of another width, ends the process with status 2.
    static func given(_ options: TutorialOptions, model: any HookableModel) -> TutorialSAE? {
        guard let (siteText, folder) = options.sae else { return nil }
        let start = Date()
        do {
            let site = try model.siteTable.resolved(try Site(parsing: siteText))
            let spec = try model.siteTable.spec(for: site)
            let sae = try SAELensFormat.load(folder: folder)
            guard sae.width == spec.unitDimension else {
                TutorialOptions.refuse("--sae \(siteText)=\(folder): the SAE reads width \(sae.width), but \(site) has width \(spec.unitDimension)")
            }
            return TutorialSAE(site: site, sae: sae, origin: "read from \(folder)", trained: true, seconds: Date().timeIntervalSince(start))
        } catch {
            TutorialOptions.refuse("--sae \(siteText)=\(folder): \(error)")
        }
    }

    /// The built-in SAE at `defaultSite`, written to `--save-sae FOLDER` when given (so that
    /// `--sae` here or `intervene attribute --sae` can read it back): a TopK SAE (k = 16, 2d
    /// latents) trained for 400 steps of 256 rows on the activations at `defaultSite` over the
    /// built-in corpus (`TutorialCorpus`), read once by `SiteActivationSource` (which leaves out
    /// each window's first position, the attention sink). The corpus has a few thousand tokens,
    /// so every activation row is used many times (`rowUses`).
    static func builtIn(_ options: TutorialOptions, model: any HookableModel, tokenizer: any Tokenizer) throws -> TutorialSAE {
        let start = Date()
        let windows = TutorialCorpus.windows(tokenizer)
        let source = try SiteActivationSource(model: model, site: defaultSite, windows: ArrayTokenWindows(windows), windowsPerPass: 16)
        let rows = windows.count * (TutorialCorpus.windowLength - 1)
        var training = SAETrainingOptions(activation: .topK(16), latents: 2 * source.width, steps: 400)
        training.batchSize = 256
        training.bufferRows = rows
        training.rowUses = training.steps * training.batchSize / rows + 1
        training.initialisationSample = rows
        training.deadAfterTokens = 25_600
        training.seed = 9
        let (sae, metrics) = try SAETraining.train(source: source, options: training) { p in
            if p.step % 100 == 0 {
                say(String(format: "  SAE training step %d/%d: variance explained %.3f, mean L0 %.1f, dead latents %.2f", p.step, p.steps,
                           p.varianceExplained, p.meanL0, p.deadFraction))
            }
        }
        if let folder = options.saveSAE { try SAELensFormat.save(sae, to: folder) }
        let origin = String(format: "TopK k = 16, trained %d steps × %d rows on %d tokens of the built-in corpus in %.1f s "
                                   + "(%.1f s reading activations); variance explained %.3f", metrics.steps, training.batchSize,
                            metrics.rowsRead, metrics.seconds, metrics.activationSeconds, metrics.varianceExplained)
        return TutorialSAE(site: defaultSite, sae: sae, origin: origin, trained: true, seconds: Date().timeIntervalSince(start))
    }
}
