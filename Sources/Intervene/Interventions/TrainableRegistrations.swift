import Tensors

extension InterventionRegistry {
    /// Registers the rotated-space, mask and PCA intervention types.
    func registerTrainable() {
        register(.rotatedSpace, aliases: ["rotated_space", "das"], hyperparameters: ["interchange_dim"]) { c in
            RotatedSpaceIntervention(embedDimension: c.embedDimension,
                                     interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "RotatedSpaceIntervention"),
                                     seed: c.seed)
        }
        register(.lowRankRotatedSpace, aliases: ["low_rank_rotated_space"], hyperparameters: ["low_rank_dimension"]) { c in
            let declared = try intHyperparameter(c.hyperparameters, "low_rank_dimension", type: "LowRankRotatedSpaceIntervention")
            guard let rank = c.representation.lowRankDimension ?? declared, rank <= c.embedDimension else {
                throw InterventionError.invalidHyperparameter(type: "LowRankRotatedSpaceIntervention", field: "low_rank_dimension",
                                                              value: (c.representation.lowRankDimension ?? declared).map { "\($0)" } ?? "missing",
                                                              allowed: "an integer in 1...\(c.embedDimension)")
            }
            return LowRankRotatedSpaceIntervention(embedDimension: c.embedDimension, rank: rank, seed: c.seed)
        }
        register(.boundlessRotatedSpace, aliases: ["boundless_rotated_space", "boundless_das"],
                 hyperparameters: ["intervention_boundaries", "temperature"]) { c in
            let h = c.hyperparameters
            let boundary = try floatHyperparameter(h, "intervention_boundaries", type: "BoundlessRotatedSpaceIntervention") ?? 0.5
            let temperature = try floatHyperparameter(h, "temperature", type: "BoundlessRotatedSpaceIntervention") ?? 50
            return BoundlessRotatedSpaceIntervention(embedDimension: c.embedDimension, seed: c.seed, boundary: boundary, temperature: temperature)
        }
        register(.sigmoidMaskRotatedSpace, aliases: ["sigmoid_mask_rotated_space"], hyperparameters: ["temperature"]) { c in
            SigmoidMaskRotatedSpaceIntervention(embedDimension: c.embedDimension, seed: c.seed,
                                                temperature: try floatHyperparameter(c.hyperparameters, "temperature", type: "SigmoidMaskRotatedSpaceIntervention") ?? 50)
        }
        register(.sigmoidMask, aliases: ["sigmoid_mask"], hyperparameters: ["temperature"]) { c in
            SigmoidMaskIntervention(embedDimension: c.embedDimension,
                                    temperature: try floatHyperparameter(c.hyperparameters, "temperature", type: "SigmoidMaskIntervention") ?? 0.01)
        }
        register(.pcaRotatedSpace, aliases: ["pca_rotated_space", "pca"], hyperparameters: ["components", "interchange_dim"]) { c in
            let components = try intHyperparameter(c.hyperparameters, "components", type: "PCARotatedSpaceIntervention")
            if let k = components, k > c.embedDimension {
                throw InterventionError.invalidHyperparameter(type: "PCARotatedSpaceIntervention", field: "components", value: "\(k)",
                                                              allowed: "an integer in 1...\(c.embedDimension)")
            }
            return PCARotatedSpaceIntervention(embedDimension: c.embedDimension, components: components,
                                               interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "PCARotatedSpaceIntervention"))
        }
    }
}
