import CausalAbstraction
import Foundation
import Testing
@testable import InterveneServer

/// The pages of sweep, trace, attribution and bundle folders, and their refusals.
@Suite struct ExperimentPageTests {
    func get(_ site: BrowserSite, _ path: String, _ query: String? = nil) -> BrowserPage { site.respond(path: path, query: query) }

    @Test func foldersAreRecognisedByTheirFilesAndListedOnTheIndex() throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        #expect(f.caches.map(\.kindDescription) == ["sweep", "causal trace", "attribution", "bundle"])
        let index = get(BrowserSite(caches: f.caches), "/")
        #expect(index.status == 200)
        #expect(index.html.contains("<td>sweep</td><td>tiny &lt;sweep&gt;</td><td>3 of 4 cells</td><td>best cell 2: iia = 0.9375</td>"))
        #expect(index.html.contains("<td>causal trace</td>") && index.html.contains("clean = 0.9; corrupted = 0.2"))
        #expect(index.html.contains("<td>attribution</td>") && index.html.contains("3 nodes, 3 tokens"))
        #expect(index.html.contains("<td>bundle</td><td>mlp</td><td>1 tensors</td><td>iia = 0.75; steps = 10</td>"))
    }

    @Test func sweepPageShowsTheHeatmapWithHoverValuesAndLinksToEachCell() throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        let page = get(BrowserSite(caches: f.caches), "/cache/0")
        #expect(page.status == 200)
        #expect(page.html.contains("3 of 4 finished (waiting: 3)"))
        // Three finished cells in the SVG, each a link to its page with its IIA in the hover title.
        #expect(occurrences(of: "class=\"cell\"", in: page.html) == 3)
        #expect(page.html.contains("<a href=\"/cache/0/cell/1\"><g><title>cell 1: layer=0 low_rank_dimension=2; iia 0.7500</title>"))
        #expect(page.html.contains("<title>cell 2: layer=1 low_rank_dimension=1; iia 0.9375</title>"))
        #expect(page.html.contains("data-cell=\"0\"") && !page.html.contains("data-cell=\"3\""))
        #expect(page.html.contains("<a href=\"/cache/0/cell/2\" id=\"best\">cell 2</a>"))
        // The table holds every cell, the unfinished one too.
        #expect(page.html.contains("<tr><td><a href=\"/cache/0/cell/1\">1</a></td><td>0</td><td>2</td><td>0.75</td><td>10</td><td>0.25</td></tr>"))
        #expect(page.html.contains("<tr><td>3</td><td>1</td><td>2</td><td></td><td></td><td>not finished</td></tr>"))
        #expect(page.html.contains("tiny &lt;sweep&gt;") && !page.html.contains("tiny <sweep>"))
    }

    @Test func cellPagesShowSettingsMetricsAndTheBundle() throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let cell = get(site, "/cache/0/cell/1")
        #expect(cell.status == 200)
        #expect(cell.html.contains("<dt>layer</dt><dd>0</dd><dt>low_rank_dimension</dt><dd>2</dd>"))
        #expect(cell.html.contains("<tr><td>iia</td><td>0.75</td></tr>") && cell.html.contains("href=\"/cache/0/cell/1/bundle\""))
        #expect(cell.html.contains("href=\"/cache/0/cell/0\">← cell 0</a>") && cell.html.contains("href=\"/cache/0/cell/2\">cell 2 →</a>"))
        #expect(get(site, "/cache/0/cell/0").html.contains("No bundle was saved for this cell."))
        #expect(get(site, "/cache/0/cell/3").html.contains("id=\"unfinished\""))
        let bundle = get(site, "/cache/0/cell/1/bundle")
        #expect(bundle.status == 200)
        for html in [bundle.html, get(site, "/cache/3").html] {
            #expect(html.contains("<td><code>layer_0_comp_block_output#0.rotate_layer.weight</code></td><td>F32</td><td>[4, 2]</td><td>8</td>"))
            #expect(html.contains("<td>layer_0_comp_block_output#0</td><td>LowRankRotatedSpaceIntervention</td><td>embed_dim = 4, low_rank_dimension = 2</td><td>1</td>"))
            #expect(html.contains("<td>block_output</td><td>0</td><td>2</td><td>pos</td>"))  // the site
            #expect(html.contains("<tr><td>iia</td><td>0.75</td></tr>"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") && !html.contains("<script>alert"))
            #expect(html.contains("intervene-fp1:00000000000000bb") && html.contains("intervene sweep tiny.json --out sweep"))
        }
    }

    @Test func traceGridPagesShowTheHeatmapWithHoverValues() throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let overview = get(site, "/cache/1")
        #expect(overview.status == 200)
        #expect(overview.html.contains("<a href=\"/cache/1/grid/0\">block_output</a></td><td>2</td><td>0.4</td><td>layer 1, position 1 &quot; &lt;cat&gt;&quot;</td>"))
        #expect(overview.html.contains("ν = 0.5, 3 samples, seed 1"))
        let grid = get(site, "/cache/1/grid/0")
        #expect(grid.status == 200 && grid.html.contains("<svg") && occurrences(of: "class=\"cell\"", in: grid.html) == 6)
        #expect(grid.html.contains("<title>layer 1, position 1 \" &lt;cat&gt;\": p(\" sat\") = 0.6000, effect +0.4000</title>"))
        #expect(grid.html.contains("<tr><td>1</td><td><code> &lt;cat&gt;</code></td><td>1</td><td>0.4</td><td>0.6</td></tr>"))
    }

    @Test func attributionPageListsNodesByTheirSize() throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        let page = get(BrowserSite(caches: f.caches), "/cache/2")
        #expect(page.status == 200)
        let nodes = try #require(page.html.range(of: "id=\"nodes\"")).upperBound
        let table = page.html[nodes...]
        #expect(table.contains("<tr><td>1</td><td>head</td><td>0</td><td>1</td><td>1</td><td><code> &lt;cat&gt;</code></td><td>-0.5</td><td>0.5</td></tr>"
            + "<tr><td>2</td><td>neuron</td><td>1</td><td>7</td><td>2</td><td><code> sat</code></td><td>0.25</td><td>0.25</td></tr>"
            + "<tr><td>3</td><td>latent sae0</td>"))
        #expect(page.html.contains("<dd>atp</dd>") && page.html.contains("logit(&quot; on&quot;) − logit(&quot; in&quot;)"))
        #expect(page.html.contains("<td>mlp</td><td>1</td><td></td><td>0.75</td>"))  // direct logit attribution
    }

    /// Each bad input: a 4xx page naming the field, the value and what is allowed.
    @Test func badInputsAreRefused() throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let cases: [(String, String?, Int, String)] = [
            ("/cache/0/cell/4", nil, 404, "cell 4 is out of range; allowed: 0...3"),
            ("/cache/0/cell/x", nil, 400, "cell is &#39;x&#39;; allowed: an integer in 0...3"),
            ("/cache/0/cell/0/bundle", nil, 404, "cell 0 has no readable bundle"),
            ("/cache/0/cell/0/bundle", nil, 404, "allowed: cells 1"),
            ("/cache/0/cell/1/weights.safetensors", nil, 404, "no page at /cache/0/cell/1/weights.safetensors"),
            ("/cache/0/cell/1", "sort=iia", 400, "unknown query parameter &#39;sort&#39;; allowed: none"),
            ("/cache/0/heatmap.svg", nil, 404, "no page"),
            ("/cache/0/cell/%2e%2e/%2e%2e/sweep.json", nil, 400, "path segment &#39;..&#39; is refused"),
            ("/cache/1/grid/1", nil, 404, "grid 1 is out of range; allowed: 0...0"),
            ("/cache/1/grid/-1", nil, 400, "grid is &#39;-1&#39;"),
            ("/cache/1/cell/0", nil, 404, "no page at /cache/1/cell/0"),
            ("/cache/2/grid/0", nil, 404, "no page at /cache/2/grid/0"),
            ("/cache/3/cell/0", nil, 404, "no page"),
            ("/cache/4", nil, 404, "cache 4 is out of range; allowed: 0...3"),
        ]
        for (path, query, status, message) in cases {
            let page = get(site, path, query)
            #expect(page.status == status, "\(path)")
            #expect(page.html.contains("class=\"error\"") && page.html.contains(message), "\(path): \(page.html.prefix(1200))")
        }
    }

    /// A folder with only the merged results.json (sweep-merge --out elsewhere) is a sweep too,
    /// with the same heatmap cells as the sweep folder it was merged from.
    @Test func aMergedResultsFolderIsServedAsASweep() throws {
        let f = try ExperimentFixture()
        let merged = temporaryPath("merged")
        defer { f.cleanUp(); try? FileManager.default.removeItem(atPath: merged) }
        guard case .experiment(_, .sweep(let contents)) = f.caches[0] else { Issue.record("not a sweep"); return }
        try SweepResults(manifest: contents.manifest, results: contents.results.results).write(to: merged)
        let served = try ServedCache.load(merged)
        guard case .experiment(_, .sweep(let again)) = served else { Issue.record("\(served.kindDescription)"); return }
        #expect(again.manifest.rows == .layer && again.manifest.columns == .lowRankDimension 
                && again.results.results.map(\.cell) == contents.results.results.map(\.cell) && again.results.results.map(\.metrics) == contents.results.results.map(\.metrics))
        let page = get(BrowserSite(caches: [served]), "/cache/0")
        #expect(page.status == 200 && occurrences(of: "class=\"cell\"", in: page.html) == 3)
        #expect(page.html.contains("<a href=\"/cache/0/cell/1\"><g><title>cell 1: layer=0 low_rank_dimension=2; iia 0.7500</title>"))
        try #"{"experiment": "x", "experiment_hash": "h", "cells": [{"index": 0, "layer": "one"}]}"#.write(toFile: merged + "/results.json", atomically: true, encoding: .utf8)
        #expect(throws: ServeError.self) { try ServedCache.load(merged) }
    }

    @Test func damagedExperimentFoldersAreRefusedNamingTheFile() throws {
        let folder = temporaryPath("damaged")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A grid whose rows do not match the tokens.
        try #"{"format": "intervene-trace", "version": 1, "kind": "causal_tracing", "tokens": ["a", "b"], "metric": "p", "clean": 1, "corrupted": 0, "corrupted_positions": [0], "samples": 1, "seconds": 0, "grids": [{"component": "block_output", "window": 1, "values": [[0.5]], "effects": [[0.5]]}]}"#
            .write(toFile: folder + "/trace.json", atomically: true, encoding: .utf8)
        func refusal() -> String {
            do { _ = try ServedCache.load(folder); return "accepted" } catch { return "\(error)" }
        }
        #expect(refusal().contains("\(folder)/trace.json' cannot be read") && refusal().contains("one value per token (2)"), "\(refusal())")
        try "{\"format\": \"intervene-trace\"".write(toFile: folder + "/trace.json", atomically: true, encoding: .utf8)
        #expect(refusal().contains("\(folder)/trace.json' cannot be read"))
        try FileManager.default.removeItem(atPath: folder + "/trace.json")
        try #"{"format": "intervene-attribution", "version": 2, "kind": "attribution"}"#.write(toFile: folder + "/attribution.json", atomically: true, encoding: .utf8)
        #expect(refusal().contains("\(folder)/attribution.json' cannot be read"))
        try FileManager.default.removeItem(atPath: folder + "/attribution.json")
        try #"{"format": "something-else", "version": 1}"#.write(toFile: folder + "/bundle.json", atomically: true, encoding: .utf8)
        #expect(refusal().contains("\"intervene-bundle\" or \"intervene-codebook-bundle\""), "\(refusal())")
        try #"{"cells": []"#.write(toFile: folder + "/sweep.json", atomically: true, encoding: .utf8)
        #expect(refusal().contains("\(folder)/sweep.json' cannot be read"))
    }
}
