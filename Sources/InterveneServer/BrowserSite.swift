import Features
import Foundation

/// One rendered page: an HTTP status and the HTML document.
public struct BrowserPage: Sendable, Equatable {
    public var status: Int
    public var html: String
}

/// Where pages link to: server routes, or the flat file names of an exported static site.
public enum LinkStyle: Sendable {
    /// `/`, `/cache/I`, `/cache/I/search?…`, `/cache/I/codebook/B/code/C`, `/cache/I/latent/L`.
    case server
    /// `index.html`, `cache-I.html`, `cache-I-codebook-B-code-C.html`, `cache-I-latent-L.html`,
    /// `cache-I-document-D.html` (no search and no forms: a static site cannot run them).
    case staticSite

    func index() -> String { self == .server ? "/" : "index.html" }
    func cache(_ i: Int) -> String { self == .server ? "/cache/\(i)" : "cache-\(i).html" }
    func code(_ i: Int, codebook b: Int, code c: Int) -> String {
        self == .server ? "/cache/\(i)/codebook/\(b)/code/\(c)" : "cache-\(i)-codebook-\(b)-code-\(c).html"
    }
    func latent(_ i: Int, _ l: Int) -> String { self == .server ? "/cache/\(i)/latent/\(l)" : "cache-\(i)-latent-\(l).html" }
    /// A codebook cache's document page; `query` (the topic filter) only on a server, where a
    /// static site has the default filter's page alone.
    func document(_ i: Int, _ d: Int, query: String = "") -> String {
        self == .server ? "/cache/\(i)/document/\(d)" + (query.isEmpty ? "" : "?" + query) : "cache-\(i)-document-\(d).html"
    }
}

/// The browser: every page of the served caches, rendered from a request's path and query.
/// Pure but for the cache folders' demo-codes.json (read by the pages that list demo codes,
/// written by the form), so the HTTP server, the static export and the tests share it.
///
/// Routes (GET or HEAD; POST only for the demo-code form):
///
///     /                                         index of the caches with their metrics
///     /cache/I                                  one cache: manifest, metrics, codebooks or latents
///     /cache/I/search?regex=&min_precision=&sort=&limit=&codebook=     code search (codebook caches)
///     /cache/I/codebook/B/code/C?context=&limit=&max_slot=             a code's activations in context
///     /cache/I/document/D?fraction=&min_precision=&sort=&limit=&codebook=   a document and its topic codes
///     /cache/I/document?document=D              the same (the "open document" form)
///     /cache/I/demo-codes                       the saved demo codes (POST codebook=&code=&description=: save one)
///     /cache/I/latent?latent=L                  the "open latent" form
///     /cache/I/latent/L                         a latent: histogram, top contexts, promoted tokens
///     /cache/I?sort=&page=                      (latent caches) the latent table, 100 rows a page
///     /cache/I/latent/L?prompt=                 (with --model and the SAE) the latent on each token of a prompt
///     /live?prompt=&site=&action=&factor=&cache=&latent=&value=   (with --model) a live intervention
///     /cache/I                                  (experiment folders) sweep heatmap + cell table, trace summary,
///                                               bundle inspector, or attribution node table
///     /cache/I/cell/K                           (sweeps) cell K: settings, metrics, its bundle
///     /cache/I/cell/K/bundle                    (sweeps) cell K's bundle inspector
///     /cache/I/grid/G                           (traces) grid G: token × layer heatmap with hover values
///
/// Anything else is a 404 page; bad input a 400 page naming the field and what is allowed.
public struct BrowserSite: Sendable {
    public let caches: [ServedCache]
    public let links: LinkStyle
    /// In a static site: code pages per codebook and latent pages per cache that are written
    /// (the most frequent first) and listed on the cache's page.
    public let staticPageLimit: Int
    /// The model of `intervene serve --model` (nil: the live pages answer 404).
    public let live: LiveModel?

    public init(caches: [ServedCache], links: LinkStyle = .server, staticPageLimit: Int = 2_000, live: LiveModel? = nil) {
        self.caches = caches
        self.links = links
        self.staticPageLimit = staticPageLimit
        self.live = live
    }

    /// Bounds on a code search's regular expression (length, time, nested quantifiers).
    public var searchLimits = CodeSearchLimits.interactive

    /// The page for one request; never throws: refusals become 4xx pages. A POST (the
    /// demo-code form, `form` its urlencoded body) must come from this server's own pages: its
    /// Origin header must be http://`host` (the request's Host).
    public func respond(method: String = "GET", path: String, query: String?, form: String? = nil,
                        origin: String? = nil, host: String? = nil) -> BrowserPage {
        do throws(PageError) {
            if method == "POST" { return try post(path: path, form: form ?? "", origin: origin, host: host) }
            guard method == "GET" || method == "HEAD" else {
                throw PageError(status: 405, message: "method \(method.prefix(20)) is refused; allowed: GET, HEAD (POST for the demo-code form)")
            }
            let request = try BrowserRequest(path: path, query: query)
            return try route(request)
        } catch {
            return errorPage(error)
        }
    }

    func route(_ request: BrowserRequest) throws(PageError) -> BrowserPage {
        let s = request.segments
        if s.isEmpty {
            try request.allowOnly([])
            return BrowserPage(status: 200, html: indexPage())
        }
        if s == ["live"] {
            guard let live, links == .server else {
                throw .notFound("the server was started without a model, so there are no live pages; allowed: `intervene serve CACHE… --model M`")
            }
            return BrowserPage(status: 200, html: try LivePages(site: self, live: live).page(request))
        }
        guard s[0] == "cache", s.count >= 2 else { throw notFound(request) }
        let i = try BrowserRequest.index(s[1], field: "cache", in: 0..<caches.count)
        switch (caches[i], s.count) {
        case (.codebook(_, let manifest, let codes, let counts), _):
            let pages = CodebookPages(site: self, cache: i, manifest: manifest, codes: codes, counts: counts)
            if s.count == 2 { try request.allowOnly([]); return BrowserPage(status: 200, html: pages.overview()) }
            if s.count == 3 && s[2] == "search" { return BrowserPage(status: 200, html: try pages.search(request)) }
            if s[2] == "document" && (links == .server || s.count == 4) { return BrowserPage(status: 200, html: try pages.document(s, request)) }
            if s.count == 3 && s[2] == "demo-codes" { try request.allowOnly([]); return BrowserPage(status: 200, html: pages.demoCodesPage()) }
            if s.count == 6 && s[2] == "codebook" && s[4] == "code" {
                let b = try BrowserRequest.index(s[3], field: "codebook", in: 0..<codes.codebooks.count)
                let c = try BrowserRequest.index(s[5], field: "code", in: 0..<codes.codebooks[b].codeCount)
                return BrowserPage(status: 200, html: try pages.code(codebook: b, code: c, request))
            }
        case (.latents(_, let contents), _):
            let pages = LatentPages(site: self, cache: i, contents: contents)
            if s.count == 2 { return BrowserPage(status: 200, html: try pages.overview(request)) }
            if s.count == 3 && s[2] == "latent" {  // the "open latent" form
                try request.allowOnly(["latent"])
                let l = try BrowserRequest.index(request.query["latent"] ?? "", field: "latent", in: 0..<contents.manifest.sae.dSae)
                return BrowserPage(status: 200, html: pages.latent(l))
            }
            if s.count == 4 && s[2] == "latent" {
                let l = try BrowserRequest.index(s[3], field: "latent", in: 0..<contents.manifest.sae.dSae)
                guard let live, links == .server, live.autoencoders[i] != nil else {
                    try request.allowOnly([])
                    return BrowserPage(status: 200, html: pages.latent(l))
                }
                try request.allowOnly(["prompt"])
                let box = try LivePages(site: self, live: live).latentBox(cache: i, latent: l, siteText: contents.manifest.site,
                                                                           maximum: contents.statistics.maximum[l], request)
                return BrowserPage(status: 200, html: pages.latent(l, live: box))
            }
        case (.experiment(_, let folder), _):
            return BrowserPage(status: 200, html: try ExperimentPages(site: self, cache: i, folder: folder).page(request))
        }
        throw notFound(request)
    }

    func notFound(_ request: BrowserRequest) -> PageError {
        .notFound("no page at /\(request.segments.joined(separator: "/").prefix(200)); allowed: /, /cache/I and the pages it links to")
    }

    /// A 4xx page showing the refusal's message.
    func errorPage(_ error: PageError) -> BrowserPage {
        let title = error.status == 404 ? "Not found" : "Refused"
        let body = "<p class=\"error\" id=\"error\">\(HTML.escape(error.message))</p><p><a href=\"\(links.index())\">Back to the index</a></p>"
        return BrowserPage(status: error.status, html: HTML.document(title: title, breadcrumbs: [("index", links.index())], body: body))
    }

    /// The index: one row per cache with its kind, size and headline metrics.
    func indexPage() -> String {
        var rows: [[String]] = []
        for (i, cache) in caches.enumerated() {
            let link = "<a href=\"\(links.cache(i))\">\(HTML.escape(cache.name))</a>"
            switch cache {
            case .codebook(_, let m, _, let counts):
                let used = zip(m.codebooks, counts).map { "\($0.name): \($1.filter { $0 > 0 }.count)/\($0.codes) codes used" }
                let metrics = m.metrics.keys.sorted().map { "\($0) = \(HTML.number(m.metrics[$0]!))" }
                rows.append([link, "codebook cache", HTML.escape(m.model.type), "\(m.documents) documents, \(m.tokens) tokens",
                             HTML.escape((used + metrics).joined(separator: "; "))])
            case .latents(_, let c):
                let m = c.manifest
                let metrics = m.metrics.keys.sorted().map { "\($0) = \(HTML.number(m.metrics[$0]!))" }
                rows.append([link, "latent cache", HTML.escape(m.model.type + " " + m.site), "\(m.sae.dSae) latents, \(m.corpus.tokens) tokens",
                             HTML.escape(metrics.joined(separator: "; "))])
            case .experiment(_, let folder):
                rows.append(ExperimentPages(site: self, cache: i, folder: folder).indexRow(link: link))
            }
        }
        var body = HTML.table([("cache", false), ("kind", false), ("model", false), ("size", false), ("metrics", false)], rows: rows, id: "caches")
        if let live, links == .server { body += "<p><a href=\"/live\" id=\"live-link\">Live interventions</a> on \(HTML.escape(live.model.modelType)) from \(HTML.escape(live.source))</p>" }
        return HTML.document(title: "Caches", breadcrumbs: [("index", links.index())], body: body)
    }
}
