import ArgumentParser
import Features
import Foundation

/// `intervene codebook codes --cache DIR --code N`.
struct CodebookCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codes",
        abstract: "One code of a cache: how often it fires, its top contexts and its most similar codes."
    )

    @OptionGroup var cacheOptions: CodebookCacheOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The codebook (may be left out when the cache holds one).")
    var codebook: String?

    @Option(parsing: .unconditional, help: "The code index.")
    var code: Int

    @Option(parsing: .unconditional, help: "How many contexts to show.")
    var contexts: Int = 10

    @Option(parsing: .unconditional, help: "Tokens of text on each side of an activation.")
    var window: Int = 8

    @Option(parsing: .unconditional, help: "How many similar codes (by cosine of code vectors) to show.")
    var similar: Int = 5

    func run() throws {
        do {
            try requireAtLeast(0, contexts, flag: "--contexts")
            try requireAtLeast(0, window, flag: "--window")
            try requireAtLeast(0, similar, flag: "--similar")
            let (manifest, codes) = try cacheOptions.read()
            guard let name = codebook ?? (manifest.codebooks.count == 1 ? manifest.codebooks[0].name : nil) else {
                throw CodeAnalysisError.invalidOption(field: "--codebook", value: "missing",
                                                      allowed: manifest.codebooks.map(\.name).joined(separator: ", "))
            }
            let count = try codes.activations(codebook: name, code: code).count
            let top = try codes.topContexts(codebook: name, code: code, limit: contexts, window: window)
            let cb = try codes.codebook(named: name)
            let neighbours = cb.vectors == nil ? [] : try codes.similarCodes(codebook: name, code: code, limit: similar)
            if output.json {
                try printJSON(["codebook": name, "code": code, "activations": count, "tokens": codes.tokenCount,
                               "contexts": top.map { ["document": $0.token.document, "position": $0.token.position, "slot": $0.slot,
                                                      "before": $0.before, "token": $0.piece, "after": $0.after] as [String: Any] },
                               "similar": neighbours.map { ["code": $0.code, "cosine": Double($0.cosine)] as [String: Any] }])
            } else {
                print("\(name) code \(code): fires on \(count) of \(codes.tokenCount) tokens")
                print(table(["doc", "pos", "slot", "context"], top.map {
                    ["\($0.token.document)", "\($0.token.position)", "\($0.slot)", "\($0.before)[[\($0.piece)]]\($0.after)".replacingOccurrences(of: "\n", with: "⏎")]
                }))
                if !neighbours.isEmpty { print("similar: " + neighbours.map { "\($0.code) (\(fraction(Double($0.cosine))))" }.joined(separator: ", ")) }
            }
        } catch {
            throw fail(error)
        }
    }
}
