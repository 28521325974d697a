import HTTPTypes
import Hummingbird
import Logging

/// The HTTP side of the browser: a Hummingbird application whose one responder hands every
/// request's method, path and query to `BrowserSite.respond` and sends the page back as
/// `text/html` with a Content-Security-Policy that lets the page load nothing from anywhere
/// (inline style and script only).
public enum BrowserServer {
    /// The policy sent with every page.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'"

    /// The response for one request.
    static func response(to request: Request, site: BrowserSite) -> Response {
        let page = site.respond(method: request.method.rawValue, path: request.uri.path, query: request.uri.query)
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
        let responder = CallbackResponder<BasicRequestContext> { request, _ in response(to: request, site: site) }
        var logger = Logger(label: "intervene-serve")
        logger.logLevel = logLevel
        return Application(responder: responder, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "intervene"),
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
