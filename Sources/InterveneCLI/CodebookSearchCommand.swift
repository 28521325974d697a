import ArgumentParser
import Features
import Foundation

/// `intervene codebook search --cache DIR --regex R`.
struct CodebookSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the codes that fire on the tokens a regular expression matches, with precision and recall.",
        discussion: """
        The regex runs over each prompt's decoded text; a match picks the token holding its first character (with a
        capture group, group 1's). precision = matching tokens a code fires on / all tokens it fires on;
        recall = matching tokens it fires on / all matching tokens.
        """
    )

    @OptionGroup var cacheOptions: CodebookCacheOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "An ICU regular expression.")
    var regex: String

    @Option(parsing: .unconditional, help: "Keep codes with precision ≥ this (0…1).")
    var minPrecision: Double = 0

    @Option(parsing: .unconditional, help: "Keep codes with recall ≥ this (0…1).")
    var minRecall: Double = 0

    @Option(help: "Order: precision, recall or count (matching activations).")
    var sort: String = "precision"

    @Option(parsing: .unconditional, help: "At most this many codes.")
    var limit: Int = 20

    @Option(help: "Search only this codebook (repeatable).")
    var codebook: [String] = []

    @Flag(help: "Add the best single neuron's precision at each code's recall (the cache needs --neurons).")
    var baseline = false

    func run() throws {
        do {
            guard let order = CodeSearchOptions.Sort(rawValue: sort) else {
                throw CodeAnalysisError.invalidOption(field: "--sort", value: "'\(sort)'",
                                                      allowed: CodeSearchOptions.Sort.allCases.map(\.rawValue).joined(separator: ", "))
            }
            try requireFraction(minPrecision, flag: "--min-precision")
            try requireFraction(minRecall, flag: "--min-recall")
            try requireAtLeast(0, limit, flag: "--limit")
            let options = CodeSearchOptions(minPrecision: minPrecision, minRecall: minRecall, sort: order, limit: limit,
                                            codebooks: codebook.isEmpty ? nil : codebook)
            try options.validate()
            let (_, codes) = try cacheOptions.read()
            if baseline && codes.neurons.isEmpty {
                throw CodeAnalysisError.invalidOption(field: "--baseline", value: "set", allowed: "a cache written with --neurons")
            }
            let result = try CodeSearch.search(codes, pattern: regex, options: options)
            let matched = baseline ? try CodeSearch.matchingTokens(regex, in: codes.documents) : []
            var byRecall: [Double: NeuronBaseline?] = [:]
            let neurons = try result.matches.map { m -> NeuronBaseline? in
                guard baseline else { return nil }
                if let known = byRecall[m.recall] { return known }
                let best = try CodeSearch.bestNeuron(codes, matched: matched, recall: m.recall)
                byRecall[m.recall] = .some(best)
                return best
            }
            if output.json {
                let rows: [[String: Any]] = zip(result.matches, neurons).map { m, n in
                    var row: [String: Any] = ["codebook": m.codebook, "code": m.code, "precision": m.precision, "recall": m.recall,
                                              "activations": m.activations, "matched_activations": m.matchedActivations]
                    if let n { row["neuron"] = ["table": n.table, "neuron": n.neuron, "threshold": Double(n.threshold), "precision": n.precision] }
                    return row
                }
                try printJSON(["regex": regex, "matched_tokens": result.matchedTokens, "codes": rows])
            } else {
                print("\(result.matchedTokens) tokens match /\(regex)/")
                var header = ["codebook", "code", "precision", "recall", "matched", "activations"]
                if baseline { header.append("best neuron precision") }
                let rows = zip(result.matches, neurons).map { m, n in
                    [m.codebook, "\(m.code)", fraction(m.precision), fraction(m.recall), "\(m.matchedActivations)", "\(m.activations)"]
                        + (baseline ? [n.map { "\(fraction($0.precision)) (\($0.table)[\($0.neuron)])" } ?? "-"] : [])
                }
                print(table(header, rows))
            }
        } catch {
            throw fail(error)
        }
    }
}
