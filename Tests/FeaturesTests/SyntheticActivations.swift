import Features
import Tensors

/// Activations with a known sparse dictionary: each row is Σ c_j u_j + offset over `active`
/// distinct atoms j of `atoms` random unit directions u_j (d = `width`), with c_j uniform in
/// [0.5, 1.5], handed out `chunk` rows at a time (up to `limit` rows). The first `shiftAfter`
/// rows use only the first half of the atoms, the rest only the second half.
final class SparseDictionarySource: ActivationSource {
    let width: Int
    let dictionary: Tensor
    let offset: Tensor
    private let atoms: Int, active: Int, chunk: Int, limit: Int
    private var generator: RandomGenerator
    private let shiftAfter: Int?
    private(set) var produced = 0

    init(width: Int = 64, atoms: Int = 128, active: Int = 4, chunk: Int = 1000, limit: Int = .max, shiftAfter: Int? = nil, seed: UInt64 = 1) {
        self.shiftAfter = shiftAfter
        self.width = width
        self.atoms = atoms
        self.active = active
        self.chunk = chunk
        self.limit = limit
        let raw = Tensor.randomNormal([atoms, width], seed: seed)
        dictionary = raw / raw.square().sum(axis: 1, keepDims: true).sqrt()
        offset = Tensor.randomNormal([width], std: 0.5, seed: seed + 1)
        generator = RandomGenerator(seed: seed + 2)
    }

    func nextRows() throws -> Tensor? {
        let n = Swift.min(chunk, limit - produced)
        guard n > 0 else { return nil }
        var coefficients = [Float](repeating: 0, count: n * atoms)
        for r in 0..<n {
            var chosen = Set<Int>()
            let (low, count) = shiftAfter.map { produced + r < $0 ? (0, atoms / 2) : (atoms / 2, atoms - atoms / 2) } ?? (0, atoms)
            while chosen.count < active { chosen.insert(low + generator.nextInt(below: count)) }
            for j in chosen.sorted() { coefficients[r * atoms + j] = 0.5 + generator.nextUniform() }
        }
        produced += n
        return Tensor(shape: [n, atoms], values: coefficients).matmul(dictionary) + offset
    }
}
