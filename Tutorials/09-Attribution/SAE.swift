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
    /// `--sae` here or `intervene attribute --sae` can read it back).
    static func builtIn(_ options: TutorialOptions, model: any HookableModel) throws -> TutorialSAE {
        let made = try randomlyInitialised(model: model, start: Date())
        if let folder = options.saveSAE { try SAELensFormat.save(made.sae, to: folder) }
        return made
    }

    /// The fallback while SAE training is not in the library: a TopK SAE with random weights
    /// (seeded). Its latents are random directions, so its attributions mean nothing; it shows
    /// the mechanics — the splice keeps the logits, the latents get attributions and direct
    /// logit attributions — exactly as a trained one would.
    static func randomlyInitialised(model: any HookableModel, start: Date) throws -> TutorialSAE {
        let spec = try model.siteTable.spec(for: defaultSite)
        let sae = try SparseAutoencoder(width: spec.unitDimension, latents: 4 * spec.unitDimension, activation: .topK(32), seed: 9)
        return TutorialSAE(site: defaultSite, sae: sae, origin: "random weights, TopK k = 32: the mechanics only; pass --sae SITE=FOLDER for a trained one",
                           trained: false, seconds: Date().timeIntervalSince(start))
    }
}
