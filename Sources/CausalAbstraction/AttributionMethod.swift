/// How attribution patching estimates, for every node (layer l, position p) of a component, the
/// effect of patching that node from the source run into the base run,
/// `e(l, p) = m(base with a(l, p) ← a_src(l, p)) − m(base)`.
///
/// With Δ(l, p) = a_src(l, p) − a_base(l, p) and g the gradient of the metric m:
///
///     linear (AtP)      ⟨g(l, p) at the base, Δ(l, p)⟩                         1 backward
///     IG, path input    ⟨(1/n) Σ_k g(l, p) at x(α_k), Δ(l, p)⟩                 n backwards (one batch)
///                        x(α) = e_base + α (e_src − e_base) the token embeddings
///     IG, path layer    the same, with a(l, ·) itself interpolated at layer l  n backwards per layer
///     IG, path node     the same, with only a(l, p) interpolated               n backwards per node
///
/// with α_k = (k + ½) / n (the midpoint rule). Along the node path the integral of the gradient
/// is exactly e(l, p) (the fundamental theorem of calculus), so `node` converges to real
/// activation patching as n grows — at about 3n times its cost. The layer path is exact for
/// patching a whole layer (the row sums), and for single nodes where only one position of the
/// layer differs between base and source; the input path (EAP-IG's) shares one batch of
/// backward passes among every layer and is the cheap default.
public enum AttributionMethod: Sendable, Equatable, CustomStringConvertible {
    /// Attribution patching: the gradient at the base, one backward pass.
    case linear
    /// Integrated gradients with `steps` points along `path`.
    case integratedGradients(steps: Int, path: IntegrationPath)

    /// The default of the command line: integrated gradients along the input path, 8 steps.
    public static let standard = AttributionMethod.integratedGradients(steps: 8, path: .input)

    public var description: String {
        switch self {
        case .linear: return "atp"
        case .integratedGradients(let n, let path): return "ig-\(path.rawValue)(\(n))"
        }
    }

    /// The interpolation points α_k = (k + ½) / n.
    static func points(_ n: Int) -> [Float] { (0..<n).map { (Float($0) + 0.5) / Float(n) } }
}

/// What integrated gradients interpolates between base and source.
public enum IntegrationPath: String, Sendable, CaseIterable {
    /// The token embeddings (every site's gradient from one batch of passes).
    case input
    /// The patched component at one layer, every position at once.
    case layer
    /// The patched component at one layer and one position (exact in the limit).
    case node
}
