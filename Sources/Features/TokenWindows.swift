import Foundation
import Models

/// A stream of token windows (sequences of ids) to run a model on.
public protocol TokenWindowStream: AnyObject {
    /// The next window, or nil when the stream has ended.
    func next() throws -> [Int]?
}

/// Windows given up front (tests, prompts).
public final class ArrayTokenWindows: TokenWindowStream {
    private let windows: [[Int]]
    private var position = 0

    public init(_ windows: [[Int]]) { self.windows = windows }

    public func next() throws -> [Int]? {
        guard position < windows.count else { return nil }
        position += 1
        return windows[position - 1]
    }
}

/// Windows of `context` tokens cut from the token stream of a text file, which is read and
/// tokenized a block at a time (blocks end at a line break, or at a space when a block has no
/// line break), so that the corpus is never held whole. Documents run on across windows; with
/// `prependsBOS` each window starts with the tokenizer's beginning-of-sequence id and holds
/// `context − 1` corpus tokens. With `repeats` the file is read again from the start when it
/// ends (`passes` counts completed readings).
public final class CorpusTokenWindows: TokenWindowStream {
    public let path: String, context: Int, repeats: Bool
    /// Completed passes over the file.
    public private(set) var passes = 0
    /// Windows handed out.
    public private(set) var windowsRead = 0
    private let tokenizer: any Tokenizer
    private let bos: Int?
    private let blockBytes: Int
    private var handle: FileHandle
    private var carry = Data()
    /// Tokenized but not yet handed out: tokens[consumed...].
    private var tokens: [Int] = []
    private var consumed = 0
    private var windowsThisPass = 0

    /// Opens `path`. Throws `SAEError` for a file that cannot be read, a context below 2 or a
    /// BOS the tokenizer does not have.
    public init(path: String, tokenizer: any Tokenizer, context: Int, repeats: Bool = false, prependsBOS: Bool = false,
                blockBytes: Int = 1 << 18) throws {
        guard context >= 2 else { throw SAEError.invalid(field: "context", value: "\(context)", allowed: "an integer ≥ 2 (tokens per window)") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: path) else {
            throw SAEError.invalid(field: "corpus", value: "'\(path)' (\(isDirectory.boolValue ? "a folder" : "not a readable file"))", allowed: "a readable text file")
        }
        if prependsBOS && tokenizer.beginningOfSequenceId == nil {
            throw SAEError.invalid(field: "prependsBOS", value: "true", allowed: "false (the tokenizer names no beginning-of-sequence token)")
        }
        self.path = path
        self.context = context
        self.repeats = repeats
        self.tokenizer = tokenizer
        self.bos = prependsBOS ? tokenizer.beginningOfSequenceId : nil
        self.blockBytes = Swift.max(blockBytes, 1024)
        self.handle = handle
    }

    /// Corpus tokens per window.
    private var span: Int { bos == nil ? context : context - 1 }

    public func next() throws -> [Int]? {
        while tokens.count - consumed < span {
            guard try readBlock() else { return nil }
        }
        let window = (bos.map { [$0] } ?? []) + tokens[consumed..<(consumed + span)]
        consumed += span
        windowsRead += 1
        windowsThisPass += 1
        return window
    }

    /// Tokenizes the next block into `tokens`; false when the corpus has ended for good.
    private func readBlock() throws -> Bool {
        let data = try handle.read(upToCount: blockBytes) ?? Data()
        if data.isEmpty {
            if !carry.isEmpty {
                tokenize(carry)
                carry = Data()
                return true
            }
            passes += 1
            guard repeats else { return false }
            guard windowsThisPass > 0 || tokens.count - consumed >= span else {
                throw SAEError.invalid(field: "corpus", value: "'\(path)' (\(tokens.count - consumed) tokens)", allowed: "a text file of at least \(span) tokens")
            }
            windowsThisPass = 0
            try handle.seek(toOffset: 0)
            return true
        }
        var block = carry + data
        // Cut after the last line break (or space); the rest waits for the next block.
        let cut = block.lastIndex(of: 0x0A) ?? block.lastIndex(of: 0x20)
        if let cut, cut + 1 < block.endIndex {
            carry = block.subdata(in: (cut + 1)..<block.endIndex)
            block = block.subdata(in: block.startIndex..<(cut + 1))
        } else {
            carry = Data()
        }
        tokenize(block)
        return true
    }

    private func tokenize(_ bytes: Data) {
        tokens.removeFirst(consumed)
        consumed = 0
        tokens += tokenizer.encode(String(decoding: bytes, as: UTF8.self), addSpecialTokens: false).ids
    }
}
