import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging

/// The HTTP side of the browser: a Hummingbird application whose one responder hands every
/// request's method, path and query to `BrowserSite.respond` and sends the page back as
/// `text/html` with a Content-Security-Policy that lets the page load nothing from anywhere
/// (inline style and script only).
public enum BrowserServer {
    /// The policy sent with every page.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'"

    /// Longest request head accepted by the HTTP parser (request line and header fields), in
    /// bytes: large enough that an over-long query (e.g. a 100,000-character prompt) reaches
    /// `BrowserRequest`, which answers with a page naming the limit, instead of the parser's bare 400.
    public static let maxHeadBytes = 1 << 20
    /// Longest POST body read (the demo-code form), in bytes.
    public static let maxBodyBytes = 64 * 1024

    /// The response for one request: a POST's form body is read (up to `maxBodyBytes`) and
    /// handed on with its Origin and Host for the same-origin check.
    static func response(to request: Request, site: BrowserSite) async -> Response {
        var form: String?
        var refusal: PageError?
        if request.method == .post {
            var request = request
            do { form = String(buffer: try await request.collectBody(upTo: maxBodyBytes)) } catch {
                refusal = PageError(status: 413, message: "the form is longer than \(maxBodyBytes) bytes; allowed: at most \(maxBodyBytes)")
            }
        }
        let page = refusal.map { site.errorPage($0) }
            ?? site.respond(method: request.method.rawValue, path: request.uri.path, query: request.uri.query, form: form,
                            origin: request.headers[HTTPField.Name("Origin")!], host: request.head.authority)
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[.cacheControl] = "no-store"
        return Response(status: HTTPResponse.Status(code: page.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: page.html)))
    }

    /// An application serving `site` on `host`:`port` (port 0: a free port chosen by the
    /// system); `onRunning` receives the bound port once the server listens.
    public static func application(site: BrowserSite, host: String = "127.0.0.1", port: Int = 0,
                                   logLevel: Logger.Level = .warning,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in await response(to: request, site: site) }
        var logger = Logger(label: "intervene-serve")
        logger.logLevel = logLevel
        let limits = HTTP1Channel.Configuration.DecoderConfiguration(maxHeaderFieldSize: maxHeadBytes, maxHeaderListSize: maxHeadBytes)
        return Application(responder: responder, server: .http1(configuration: .init(httpDecoderConfiguration: limits)), configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "intervene"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Checks a bind host and port: the port in 0 ... 65535 (0: any free port), the host a
    /// non-empty name or address without spaces or slashes.
    public static func validate(host: String, port: Int) throws {
        guard (0...65_535).contains(port) else { throw ServeError.invalidOption(field: "--port", value: "\(port)", allowed: "0...65535 (0: a free port)") }
        guard !host.isEmpty, host.count <= 255, !host.contains(where: { $0 == " " || $0 == "/" }) else {
            throw ServeError.invalidOption(field: "--host", value: "'\(host)'", allowed: "a host name or IP address, e.g. 127.0.0.1")
        }
    }
}
