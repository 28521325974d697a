import Foundation
import HummingbirdTesting
import Testing
@testable import InterveneServer

/// The pages in a real headless Chromium: the inline script runs under the page's
/// Content-Security-Policy, the search, code, latent and error pages render, and a screenshot of
/// each is written to BROWSER_SCREENSHOTS (default: a temporary folder).
@Suite(.enabled(if: HeadlessChromium.path != nil, Comment(rawValue: HeadlessChromium.missing)))
struct ChromiumTests {
    @Test func pagesRenderInChromium() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let shots = ProcessInfo.processInfo.environment["BROWSER_SCREENSHOTS"] ?? temporaryPath("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let app = BrowserServer.application(site: BrowserSite(caches: f.caches))
        try await app.test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let search = try await HeadlessChromium.dom(base + "/cache/0/search?regex=at&codebook=cb")
            #expect(search.contains("data-scripted=\"yes\""))  // the inline script ran
            #expect(search.contains("<td>1</td><td>0.75</td><td>3</td><td>3</td>"))
            let latent = try await HeadlessChromium.dom(base + "/cache/1/latent/0")
            #expect(latent.contains("id=\"histogram\"") && latent.contains("class=\"ctx\""))
            let refused = try await HeadlessChromium.dom(base + "/cache/0/search?regex=%28")
            #expect(refused.contains("is not a valid regular expression"))
            for (name, path) in [("index", "/"), ("search", "/cache/0/search?regex=at"), ("code", "/cache/0/codebook/0/code/1"),
                                 ("latent", "/cache/1/latent/0"), ("refused", "/cache/0/search?regex=%28")] {
                let file = shots + "/\(name).png"
                try await HeadlessChromium.screenshot(base + path, to: file)
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                #expect(size > 1_000, "\(file)")
            }
        }
    }
}
