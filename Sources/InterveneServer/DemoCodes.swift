import Features
import Foundation
import Intervene

/// One code a user saved with a description (the codebook-features webapp's "demo codes").
struct DemoCode: Codable, Equatable, Sendable {
    /// The codebook's name, one of the cache's.
    var codebook: String
    /// The code, in 0 ..< C.
    var code: Int
    /// What the code does, 1 ... `DemoCodes.maxDescription` characters.
    var description: String
    /// ISO 8601 time of saving.
    var created: String
}

/// The demo codes of a codebook cache: `demo-codes.json` in the cache folder,
///
///     {"format": "intervene-demo-codes", "version": 1,
///      "codes": [{"codebook": "L1.mlp", "code": 12, "description": "…", "created": "2026-…Z"}]}
///
/// read (and validated: format, version, every codebook one of the cache's, every code in
/// range, every description 1 ... 500 characters) on each page that lists them, and written
/// atomically (a temporary file in the folder renamed over the old one) under one lock, so two
/// saves at once both land. Saving a code that is already listed replaces its description.
enum DemoCodes {
    static let file = "demo-codes.json", format = "intervene-demo-codes", version = 1
    /// Longest description, in characters, and most codes per cache.
    static let maxDescription = 500, maxCodes = 1_000
    private static let lock = NSLock()

    struct Document: Codable {
        var format: String
        var version: Int
        var codes: [DemoCode]
    }

    /// The saved codes of the cache at `folder` ([] when there is no file), or a 409 naming
    /// the file, the field and what is allowed.
    static func read(folder: String, codes: CollectedCodes) throws(PageError) -> [DemoCode] {
        let path = folder + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        func refuse(_ field: String, _ found: String, _ allowed: String) -> PageError {
            PageError(status: 409, message: "\(path): \(field) is \(found); allowed: \(allowed) (fix or remove the file)")
        }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw refuse("the file", "unreadable", "a readable JSON file") }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: bytes) } catch {
            throw refuse("the file", "not a demo-code list (\(DecodingProblem(error).description))", "{\"format\": \"\(format)\", \"version\": 1, \"codes\": […]}")
        }
        guard document.format == format else { throw refuse("format", "'\(document.format.prefix(80))'", "\"\(format)\"") }
        guard document.version == version else { throw refuse("version", "\(document.version)", "\(version)") }
        guard document.codes.count <= maxCodes else { throw refuse("codes", "\(document.codes.count) entries", "at most \(maxCodes)") }
        for (i, entry) in document.codes.enumerated() {
            guard let book = codes.codebooks.first(where: { $0.name == entry.codebook }) else {
                throw refuse("codes[\(i)].codebook", "'\(entry.codebook.prefix(80))'", codes.codebooks.map(\.name).joined(separator: ", "))
            }
            guard (0..<book.codeCount).contains(entry.code) else { throw refuse("codes[\(i)].code", "\(entry.code)", "0...\(book.codeCount - 1)") }
            guard (1...maxDescription).contains(entry.description.count) else {
                throw refuse("codes[\(i)].description", "\(entry.description.count) characters long", "1...\(maxDescription) characters")
            }
        }
        return document.codes
    }

    /// Adds (or re-describes) `entry` in the cache at `folder` and returns the new list. Refuses
    /// (403) a folder this process cannot write, (409) an unreadable existing file and a full list.
    static func save(_ entry: DemoCode, folder: String, codes: CollectedCodes) throws(PageError) -> [DemoCode] {
        lock.lock()
        defer { lock.unlock() }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw PageError(status: 403, message: "cache folder '\(folder)' is not writable, so demo codes cannot be saved there; allowed: a folder this server's user can write (e.g. chmod u+w)")
        }
        var list = try read(folder: folder, codes: codes)
        if let i = list.firstIndex(where: { $0.codebook == entry.codebook && $0.code == entry.code }) {
            list[i] = entry
        } else {
            guard list.count < maxCodes else { throw PageError(status: 409, message: "the cache already has \(list.count) demo codes; allowed: at most \(maxCodes)") }
            list.append(entry)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let temporary = folder + "/.\(file).\(UUID().uuidString).partial"
        do {
            try encoder.encode(Document(format: format, version: version, codes: list)).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, folder + "/" + file) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw PageError(status: 403, message: "demo codes cannot be written to '\(folder)/\(file)' (\(error)); allowed: a writable cache folder")
        }
        return list
    }
}

extension CodebookPages {
    /// POST /cache/I/demo-codes with a form of `codebook`, `code` and `description`: saves the
    /// code and answers the list. The caller has checked the method and the origin.
    func saveDemoCode(form: String) throws(PageError) -> String {
        let fields = try BrowserRequest(path: "/", query: form)
        try fields.allowOnly(["codebook", "code", "description"])
        let name = fields.query["codebook"] ?? ""
        guard let b = codes.codebooks.firstIndex(where: { $0.name == name }) else {
            throw .badRequest("codebook is '\(name.prefix(80))'; allowed: \(codes.codebooks.map(\.name).joined(separator: ", "))")
        }
        let code = try BrowserRequest.index(fields.query["code"] ?? "", field: "code", in: 0..<codes.codebooks[b].codeCount, missingIs404: false)
        let description = (fields.query["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...DemoCodes.maxDescription).contains(description.count) else {
            throw .badRequest("description is \(description.count) characters long; allowed: 1...\(DemoCodes.maxDescription) characters")
        }
        let entry = DemoCode(codebook: name, code: code, description: description, created: ISO8601DateFormatter().string(from: Date()))
        let list = try DemoCodes.save(entry, folder: site.caches[cache].path, codes: codes)
        let body = "<p id=\"saved\">Saved code <a href=\"\(links.code(cache, codebook: b, code: code))\">\(code) of \(HTML.escape(name))</a> as a demo code.</p>"
            + demoCodeTable(list)
        return HTML.document(title: "Demo codes of \(cacheName)", breadcrumbs: crumbs, body: body)
    }

    /// GET /cache/I/demo-codes: the list alone.
    func demoCodesPage() -> String {
        HTML.document(title: "Demo codes of \(cacheName)", breadcrumbs: crumbs, body: demoCodesSection())
    }

    /// The saved demo codes as a section of the overview (or the file's problem).
    func demoCodesSection() -> String {
        do {
            let list = try DemoCodes.read(folder: site.caches[cache].path, codes: codes)
            if list.isEmpty { return "<h2>Demo codes</h2><p class=\"meta\" id=\"demo-codes\">None saved yet: describe a code on its page to list it here.</p>" }
            return "<h2>Demo codes</h2>" + demoCodeTable(list)
        } catch {
            return "<h2>Demo codes</h2><p class=\"error\" id=\"demo-codes\">\(HTML.escape(error.message))</p>"
        }
    }

    func demoCodeTable(_ list: [DemoCode]) -> String {
        HTML.table([("codebook", false), ("code", true), ("description", false), ("saved", false)], rows: list.map { entry in
            let b = codes.codebooks.firstIndex { $0.name == entry.codebook } ?? 0
            return [HTML.escape(entry.codebook), "<a href=\"\(links.code(cache, codebook: b, code: entry.code))\">\(entry.code)</a>",
                    HTML.escape(entry.description), HTML.escape(entry.created)]
        }, id: "demo-codes")
    }

    /// The save form of a code page (server only), with the code's current description if saved.
    func demoCodeForm(codebook b: Int, code c: Int) -> String {
        let name = codes.codebooks[b].name
        let saved = (try? DemoCodes.read(folder: site.caches[cache].path, codes: codes))?.first { $0.codebook == name && $0.code == c }
        return """
        <h2>Demo code</h2>\(saved.map { "<p id=\"demo-description\">Saved as: \(HTML.escape($0.description))</p>" } ?? "")
        <form method="post" action="/cache/\(cache)/demo-codes" id="demo-form"><input type="hidden" name="codebook" value="\(HTML.escape(name))">
        <input type="hidden" name="code" value="\(c)"><label>description <input type="text" name="description" required maxlength="\(DemoCodes.maxDescription)" value="\(HTML.escape(saved?.description ?? ""))"></label>
        <button>Save as demo code</button></form>
        """
    }
}

extension BrowserSite {
    /// A POST: only the demo-code form at /cache/I/demo-codes of a server (else 405), only from
    /// this server's own pages — Origin equal to http://`host` (else 403).
    func post(path: String, form: String, origin: String?, host: String?) throws(PageError) -> BrowserPage {
        let s = try BrowserRequest(path: path, query: nil).segments
        guard links == .server, s.count == 3, s[0] == "cache", s[2] == "demo-codes" else {
            throw PageError(status: 405, message: "method POST is refused at \(path.prefix(80)); allowed: GET, HEAD (POST only at /cache/I/demo-codes)")
        }
        guard let host, let origin, origin == "http://" + host else {
            throw PageError(status: 403, message: "a POST from origin '\((origin ?? "none").prefix(80))' is refused; allowed: the form on this server's own pages (Origin: http://\((host ?? "HOST").prefix(80)))")
        }
        let i = try BrowserRequest.index(s[1], field: "cache", in: 0..<caches.count)
        guard case .codebook(_, let manifest, let codes, let counts) = caches[i] else {
            throw .notFound("cache \(i) is a \(caches[i].kindDescription); allowed: demo codes of a codebook cache")
        }
        let pages = CodebookPages(site: self, cache: i, manifest: manifest, codes: codes, counts: counts)
        return BrowserPage(status: 200, html: try pages.saveDemoCode(form: form))
    }
}
