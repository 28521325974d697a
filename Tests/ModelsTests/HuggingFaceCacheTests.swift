import Foundation
import Testing
import Models
import Tensors

/// The local Hugging Face cache layout, built in a temporary folder.
@Suite struct HuggingFaceCacheTests {
    /// `<root>/models--org--tiny/snapshots/<commit>/` holding a saved tiny GPT-2, with
    /// `refs/main` (and a tag) pointing at it.
    func cache() throws -> (root: String, commit: String) {
        let root = temporaryFolder("hf-cache")
        let commit = "0123456789abcdef0123456789abcdef01234567"
        let repo = root + "/models--org--tiny"
        let snapshot = repo + "/snapshots/" + commit
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo + "/refs", withIntermediateDirectories: true)
        write(commit, to: repo + "/refs/main")
        write(commit + "\n", to: repo + "/refs/v1.0")
        let model = tinyGPT2()
        write(#"{"model_type": "gpt2", "vocab_size": 40, "n_positions": 24, "n_embd": 16, "n_layer": 2, "n_head": 2}"#, to: snapshot + "/config.json")
        try model.save(to: snapshot + "/model.safetensors")
        return (root, commit)
    }

    @Test func repoIDsResolveThroughRefsOrCommits() throws {
        let (root, commit) = try cache()
        let env = ["HF_HUB_CACHE": root]
        let expected = root + "/models--org--tiny/snapshots/" + commit
        #expect(try HuggingFaceCache.snapshot("org/tiny", environment: env) == expected)
        #expect(try HuggingFaceCache.snapshot("org/tiny@v1.0", environment: env) == expected)
        #expect(try HuggingFaceCache.snapshot("org/tiny", revision: commit, environment: env) == expected)
        // HF_HOME/hub is searched too.
        let home = temporaryFolder("hf-home")
        try FileManager.default.moveItem(atPath: root, toPath: home + "/hub")
        #expect(try HuggingFaceCache.snapshot("org/tiny", environment: ["HF_HOME": home]) == home + "/hub/models--org--tiny/snapshots/" + commit)
    }

    @Test func aMissingRepoListsThePlacesSearched() throws {
        let (root, _) = try cache()
        let env = ["HF_HUB_CACHE": root, "HOME": "/nonexistent-home"]
        let error = try #require(throws: ModelError.self) { try HuggingFaceCache.snapshot("org/absent", environment: env) }
        #expect(error == .notFound(what: "org/absent at revision main in the Hugging Face cache",
                                   searched: [root + "/models--org--absent/refs/main", root + "/models--org--absent/snapshots/main",
                                              "/nonexistent-home/.cache/huggingface/hub/models--org--absent/refs/main",
                                              "/nonexistent-home/.cache/huggingface/hub/models--org--absent/snapshots/main"]))
        #expect("\(error)".hasPrefix("cannot find org/absent at revision main in the Hugging Face cache; searched: \(root)/models--org--absent/refs/main"))
        #expect(throws: ModelError.self) { try HuggingFaceCache.snapshot("not a repo", environment: env) }
        #expect(HuggingFaceCache.isRepoID("gpt2") && HuggingFaceCache.isRepoID("org/name@v1") && !HuggingFaceCache.isRepoID("a/b/c"))
    }

    @Test func locationsParseAndLoad() throws {
        let (root, commit) = try cache()
        let snapshot = root + "/models--org--tiny/snapshots/" + commit
        #expect(try ModelLocation(parsing: snapshot) == .folder(snapshot))
        #expect(try ModelLocation(parsing: "org/tiny@v1.0") == .huggingFace(repo: "org/tiny", revision: "v1.0"))
        #expect(throws: ModelError.self) { try ModelLocation(parsing: snapshot + "/config.json") }
        #expect(throws: ModelError.self) { try ModelLocation(parsing: "./nowhere/at/all") }
        #expect(try ModelLocation(parsing: "gpt2") == .huggingFace(repo: "gpt2", revision: nil))
        let loaded = try ModelLoader.load(.folder(snapshot))
        #expect(loaded.model.modelType == "gpt2" && loaded.tokenizer == nil && loaded.peakMemoryMiB > 0)
        let input = ModelInput.tokens(ids([[1, 2, 3]]))
        #expect(maxDifference(try loaded.model(input).logits, try tinyGPT2()(input).logits) == 0)
        #expect(throws: ModelError.self) { try loaded.requireTokenizer() }
    }
}
