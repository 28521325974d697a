import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

/// The `mlp_das_epoch` and `boundless_step` workloads of ../shared/bench/WORKLOADS.md.
enum TrainingBenchmarks {
    /// pyvene's MLP classifier on hierarchical equality; one epoch of DAS (157 steps of 64).
    static func mlpDASEpoch(reps: Int) throws -> [String: Any] {
        let task = HierarchicalEqualityTask(seed: 0)
        let pairs = task.sample(10_000, seed: 1)
        // Quick (untimed) task training, as the reference script does: 5 epochs, lr 1e-2.
        let (model, accuracy) = try task.trainClassifier(examples: 10_000, epochs: 5, seed: 0)
        let representation = RepresentationConfig(layer: 0, component: .blockOutput, subspacePartition: [[0, 8], [8, 16]],
                                                  interventionType: .rotatedSpace)
        let intervenable = try IntervenableModel(config: IntervenableConfig(representation), model: model, seed: 0)
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = 64
        options.learningRate = 1e-3
        options.shuffle = false
        options.progress = .silent
        let trainer = InterventionTrainer(model: intervenable, collator: task.collator(variable: .leftEquality, subspaces: [0]), options: options)
        // Batches are collated once, outside the timing, as the reference script prepares tensors up front.
        let collate = task.collator(variable: .leftEquality, subspaces: [0])
        let batches = try stride(from: 0, to: pairs.count, by: 64).map { try collate(Array(pairs[$0..<min($0 + 64, pairs.count)])) }
        let prepared = InterventionTrainer(model: intervenable, collator: { (i: [Int]) in batches[i[0]] }, options: options)
        var check = prepared.options
        check.batchSize = 1
        prepared.options = check
        let epochMs = try Timing.medianMillisecondsThrowing(warmup: 1, reps: reps) { try prepared.train(Array(0..<batches.count)) }
        let iia = try trainer.evaluate(pairs)["iia"]!
        guard iia.isFinite, iia > 0.5 else { throw BenchmarkFailure(description: "DAS did not learn (IIA \(iia))") }
        return ["workload": "mlp_das_epoch", "threads": BLAS.threads, "steps_per_epoch": batches.count,
                "epoch_s": rounded(epochMs / 1000, 4), "steps_per_s": rounded(Double(batches.count) / (epochMs / 1000), 1),
                "iia": rounded(iia, 4), "mlp_task_accuracy": rounded(accuracy, 4), "peak_rss_mib": rounded(Timing.peakRSSMiB(), 1)]
    }

    /// GPT-2 (n_embd 256, 4 layers, 8 heads, vocabulary 50257), frozen; Boundless DAS at layer 2
    /// block_output position 15; batch 16 × 16; forward + cross-entropy + backward + Adam.
    static func boundlessStep(reps: Int) throws -> [String: Any] {
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 50257, positions: 1024, width: 256, layers: 4, heads: 8))
        model.initializeRandomly(seed: 0)
        model.freeze()
        let config = IntervenableConfig(RepresentationConfig(layer: 2, component: .blockOutput), interventionType: .boundlessRotatedSpace)
        let intervenable = try IntervenableModel(config: config, model: model, seed: 0)
        let boundless = intervenable.interventions[0] as! BoundlessRotatedSpaceIntervention
        let optimizer = Adam(groups: [ParameterGroup([boundless.rotation.generator], learningRate: 1e-3),
                                      ParameterGroup([boundless.boundaries], learningRate: 1e-2)])
        var g = RandomGenerator(seed: 1)
        let batch = 16, length = 16
        func tokens() -> IndexTensor { IndexTensor(shape: [batch, length], values: (0..<(batch * length)).map { _ in g.nextInt(below: 50257) }) }
        let base = tokens(), source = tokens()
        let labels = (0..<batch).map { _ in g.nextInt(below: 50257) }
        let locations = UnitLocations.position(length - 1, batchSize: batch)
        var losses: [Float] = []
        func step() throws {
            optimizer.zeroGrad()
            let out = try intervenable.forward(base: .tokens(base), sources: [.tokens(source)], unitLocations: locations)
            let logits = out.intervened.logits.narrowed(1, start: length - 1, length: 1).reshaped([batch, 50257])
            let loss = Tensor.crossEntropy(logits: logits, targets: labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item)
        }
        try step()
        guard losses[0].isFinite else { throw BenchmarkFailure(description: "loss not finite") }
        guard boundless.rotation.generator.grad != nil, boundless.boundaries.grad != nil else {
            throw BenchmarkFailure(description: "the intervention's parameters received no gradient")
        }
        guard model.namedParameters.allSatisfy({ $0.parameter.grad == nil }) else {
            throw BenchmarkFailure(description: "frozen model weights received gradients")
        }
        let stepMs = try Timing.medianMillisecondsThrowing(warmup: 2, reps: reps) { try step() }
        guard losses.allSatisfy(\.isFinite) else { throw BenchmarkFailure(description: "loss became non-finite") }
        return ["workload": "boundless_step", "threads": BLAS.threads, "batch": batch, "seq_len": length,
                "step_ms": rounded(stepMs, 2), "steps_per_s": rounded(1000 / stepMs, 2),
                "trainable_params": boundless.rotation.generator.value.count + 1,
                "peak_rss_mib": rounded(Timing.peakRSSMiB(), 1)]
    }

    /// Wall time of `intervene --help` in fresh processes (the first, cold run discarded).
    static func importTime(reps: Int) throws -> [String: Any] {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("intervene").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchmarkFailure(description: "build the intervene binary first (swift build -c release --product intervene)")
        }
        var samples: [Double] = []
        for i in 0...reps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--help"]
            process.standardOutput = FileHandle.nullDevice
            let t0 = Timing.now()
            try process.run()
            process.waitUntilExit()
            if i > 0 { samples.append((Timing.now() - t0) * 1000) }
            guard process.terminationStatus == 0 else { throw BenchmarkFailure(description: "intervene --help exited \(process.terminationStatus)") }
        }
        samples.sort()
        return ["workload": "import", "threads": BLAS.threads, "intervene_help_ms": rounded(samples[samples.count / 2], 2), "n": reps,
                "note": "wall time of a fresh `intervene --help` process; first (cold) run discarded"]
    }
}

extension Timing {
    /// Median milliseconds of a throwing body.
    static func medianMillisecondsThrowing(warmup: Int, reps: Int, _ body: () throws -> Void) throws -> Double {
        var failure: Error?
        let ms = medianMilliseconds(warmup: warmup, reps: reps) { do { try body() } catch { failure = error } }
        if let failure { throw failure }
        return ms
    }
}
