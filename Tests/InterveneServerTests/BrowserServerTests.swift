import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import InterveneServer

/// The browser over real HTTP on a free loopback port: Hummingbird's live test client and,
/// for one page, Foundation's URLSession as an independent client.
@Suite struct BrowserServerTests {
    func body(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test func pagesAndRefusalsOverHTTP() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let app = BrowserServer.application(site: BrowserSite(caches: f.caches))
        try await app.test(.live) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.hasPrefix("default-src 'none'") == true)
                #expect(self.body(response).contains("href=\"/cache/0\""))
            }
            try await client.execute(uri: "/cache/0/search?regex=at&codebook=cb&sort=precision", method: .get) { response in
                #expect(response.status == .ok)
                #expect(self.body(response).contains("<td>1</td><td>0.75</td><td>3</td><td>3</td>"))
            }
            try await client.execute(uri: "/cache/1/latent/0", method: .get) { response in
                #expect(response.status == .ok && self.body(response).contains("id=\"histogram\""))
            }
            let refused: [(String, HTTPRequest.Method, Int, String)] = [
                ("/cache/0/search?regex=%28", .get, 400, "is not a valid regular expression"),
                ("/cache/0/codebook/0/code/4", .get, 404, "code 4 is out of range"),
                ("/cache/1/latent/3", .get, 404, "latent 3 is out of range"),
                ("/cache/7", .get, 404, "cache 7 is out of range"),
                ("/cache/../../etc/passwd", .get, 400, "is refused"),
                ("/cache/0/%2e%2e/manifest.json", .get, 400, "is refused"),
                ("/etc/passwd", .get, 404, "no page at /etc/passwd"),
                ("/", .post, 405, "allowed: GET, HEAD"),
                ("/cache/0/search?regex=" + String(repeating: "a", count: 50_000), .get, 414, "the query is 50006 characters long"),
            ]
            for (uri, method, status, message) in refused {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status.code == status, "\(uri.prefix(60))")
                    #expect(self.body(response).contains(message), "\(uri.prefix(60)): \(self.body(response).prefix(800))")
                }
            }
            // The server still answers after every refusal.
            try await client.execute(uri: "/cache/1", method: .get) { response in #expect(response.status == .ok) }
            // A 100k-character prompt or regex gets through the HTTP parser (head limit 1 MiB) to a
            // page that names the parameter and the limits.
            let port = try #require(client.port)
            for (path, name) in [("/cache/0/search?regex=", "regex"), ("/live?prompt=", "prompt")] {
                let huge = try #require(URL(string: "http://127.0.0.1:\(port)" + path + String(repeating: "a", count: 100_000)))
                let (hugeData, hugeResponse) = try await URLSession.shared.data(from: huge)
                let text = String(decoding: hugeData, as: UTF8.self)
                #expect((hugeResponse as? HTTPURLResponse)?.statusCode == 414, "\(path)")
                #expect(text.contains("id=\"error\"") && text.contains("its parameter &#39;\(name)&#39; alone \(100_001 + name.count)")
                        && text.contains("1000 per value, so a prompt or a regular expression has at most 1000 characters"), "\(text.suffix(600))")
            }
            // An independent client on the same port.
            let url = try #require(URL(string: "http://127.0.0.1:\(port)/cache/0/codebook/0/code/1?context=1"))
            let (data, urlResponse) = try await URLSession.shared.data(from: url)
            #expect((urlResponse as? HTTPURLResponse)?.statusCode == 200)
            #expect(occurrences(of: "tok hit", in: String(decoding: data, as: UTF8.self)) == 3)
        }
    }

    @Test func theDemoCodeFormPostsOnlyFromTheSameOrigin() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let app = BrowserServer.application(site: BrowserSite(caches: f.caches))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let form = ByteBuffer(string: "codebook=cb&code=2&description=sat+and+ran")
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/cache/0/demo-codes", method: .post, headers: headers, body: form) { response in
                #expect(response.status.code == 403 && self.body(response).contains("a POST from origin &#39;none&#39; is refused"), "\(self.body(response))")
            }
            headers[HTTPField.Name("Origin")!] = "http://evil.example"
            try await client.execute(uri: "/cache/0/demo-codes", method: .post, headers: headers, body: form) { response in
                #expect(response.status.code == 403)
            }
            // Foundation's client on the same port, with the page's own origin.
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/cache/0/demo-codes")))
            request.httpMethod = "POST"
            request.httpBody = Data("codebook=cb&code=2&description=sat+and+ran".utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.setValue("http://127.0.0.1:\(port)", forHTTPHeaderField: "Origin")
            let (data, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200 && String(decoding: data, as: UTF8.self).contains("id=\"saved\""),
                    "\(String(decoding: data, as: UTF8.self).suffix(600))")
            try await client.execute(uri: "/cache/0", method: .get) { response in
                #expect(self.body(response).contains("<td>sat and ran</td>"))
            }
        }
    }

    @Test func concurrentSearchesAllSucceed() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let app = BrowserServer.application(site: BrowserSite(caches: f.caches))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<16 {
                    group.addTask {
                        let url = URL(string: "http://127.0.0.1:\(port)/cache/0/search?regex=\(i % 2 == 0 ? "at" : "%28")")!
                        let (_, response) = try await URLSession.shared.data(from: url)
                        return (response as? HTTPURLResponse)?.statusCode ?? 0
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 8 && statuses.filter { $0 == 400 }.count == 8)
        }
    }
}
