import Foundation
import Testing
@testable import SimEngines
import SimModel

/// Dynamic depth: per-layer skip / repeat, compaction, saved FLOPs.
@Suite("Dynamic depth")
struct DynamicDepthTests {
    static let skip = [0.1, 0.3, 0.0, 0.5]
    static let repeats = [0.2, 0.0, 0.1, 0.0]
    static let batch = 4, seqLen = 512, dModel = 256

    func depthScenario(block: String = Blocks.ssm, layers: String = "{pattern: [ssm], repeat: 4}", depth: String?,
                       batch: Int = DynamicDepthTests.batch, phase: String = "prefill") throws -> Scenario {
        try makeScenario(phase: phase, batch: batch, seqLen: Self.seqLen, dModel: Self.dModel, blocks: [block], layers: layers,
                         extras: depth.map { ["dynamic_depth: \($0)"] } ?? [])
    }

    static let listDepth = "{skip: [0.1, 0.3, 0.0, 0.5], repeat: [0.2, 0.0, 0.1, 0.0]}"

    @Test("executed_layer_fraction = mean(1 - skip + repeat), for both compactions and granularities",
          arguments: ["", ", compaction: full_batch", ", granularity: sequence", ", compaction: full_batch, granularity: sequence"])
    func executedLayerFraction(options: String) throws {
        let r = run(try depthScenario(depth: "{skip: [0.1, 0.3, 0.0, 0.5], repeat: [0.2, 0.0, 0.1, 0.0]\(options)}"))
        let perLayer = zip(Self.skip, Self.repeats).map { 1 - $0 + $1 }   // 1.1, 0.7, 1.1, 0.5
        let mean = perLayer.reduce(0, +) / 4                                // 0.85
        #expect(approx(r.executedLayerFraction, mean, rel: 1e-12), "\(options): \(r.executedLayerFraction) vs \(mean)")
        #expect(approx(r.expectedExecutedLayers, 3.4, rel: 1e-12), "\(options): \(r.expectedExecutedLayers)")
        let none = run(try depthScenario(depth: nil))
        #expect(none.executedLayerFraction == 1 && none.expectedExecutedLayers == 4 && none.savedFlops == 0)
    }

    @Test("Gather on a token-linear (SSM + MLP) model saves exactly sum(skip - repeat) layers' FLOPs minus the routers")
    func gatherSavesExactly() throws {
        let none = run(try depthScenario(depth: nil), spans: true)
        let gathered = run(try depthScenario(depth: Self.listDepth))
        #expect(gathered.savedFlops > 0, "skip > repeat in total, but nothing saved")
        // The dense baseline is the same model without dynamic depth.
        #expect(approx(gathered.savedFlops, none.modelFlops - gathered.modelFlops, rel: 1e-9))
        // Every SSM / MLP op is linear in the tokens, so a layer run on (1 - s) of them costs (1 - s) of its FLOPs.
        let epilogue = none.spans.filter { $0.layer == 4 }.reduce(0) { $0 + $1.flops }
        let layer = (none.modelFlops - epilogue) / 4
        let t = Double(Self.batch * Self.seqLen), d = Double(Self.dModel)
        let router = t * (2 * d * 3 + 5 * 3)            // OpFormulas router: T*(2*d*E + 5*E), E = 3 logits
        let executed = zip(Self.skip, Self.repeats).reduce(0) { $0 + 1 - $1.0 + $1.1 }
        #expect(approx(gathered.modelFlops, layer * executed + epilogue + 4 * router, rel: 1e-9),
                "model FLOPs \(gathered.modelFlops) vs \(layer * executed + epilogue + 4 * router)")
        let saved = layer * (Self.skip.reduce(0, +) - Self.repeats.reduce(0, +)) - 4 * router
        #expect(approx(gathered.savedFlops, saved, rel: 1e-9), "saved \(gathered.savedFlops) vs \(saved)")
    }

    @Test("Gather on attention saves roughly the skip fraction of the layers' FLOPs", arguments: [0.2, 0.5])
    func gatherSavesSkipFraction(skip: Double) throws {
        let none = run(try depthScenario(block: Blocks.attention, layers: "{pattern: [attn], repeat: 4}", depth: nil), spans: true)
        let r = run(try depthScenario(block: Blocks.attention, layers: "{pattern: [attn], repeat: 4}", depth: "{skip: \(skip)}"))
        let epilogue = none.spans.filter { $0.layer == 4 }.reduce(0) { $0 + $1.flops }
        let layers = none.modelFlops - epilogue
        let fraction = r.savedFlops / layers
        // Linear ops save exactly `skip`; causal attention over (1 - skip) of the queries and keys saves up to
        // 1 - (1 - skip)^2; the router costs < 1% here.
        #expect(fraction > skip - 0.01 && fraction < 1 - (1 - skip) * (1 - skip), "skip \(skip): saved fraction \(fraction)")
        // Gather really skips the work: executed FLOPs drop by the same amount (no padding here).
        #expect(approx(none.executedFlops - r.executedFlops, r.savedFlops, rel: 1e-9))
    }

    @Test("full_batch with per-token decisions and a big batch saves almost no executed work")
    func fullBatchTokenSavesNothing() throws {
        // 2048 decisions per layer: P(no token needs the layer) = 0.3^2048 ~ 0, so every layer always runs on the
        // whole batch: the executed FLOPs are the model's without dynamic depth plus the routers.
        let none = run(try depthScenario(depth: nil))
        let full = run(try depthScenario(depth: "{skip: 0.3, compaction: full_batch}"))
        let gather = run(try depthScenario(depth: "{skip: 0.3, compaction: gather}"))
        let t = Double(Self.batch * Self.seqLen), d = Double(Self.dModel)
        let routers = 4 * t * (2 * d * 3 + 5 * 3)
        #expect(approx(full.executedFlops, none.executedFlops + routers, rel: 1e-9),
                "full_batch executed \(full.executedFlops) vs \(none.executedFlops) + routers \(routers)")
        #expect(full.latencySeconds >= none.latencySeconds)
        #expect(approx(full.executedLayerFraction, 0.7, rel: 1e-12), "per-token expectation is still 1 - skip")
        // Only the 70% of tokens that asked for a layer count as model FLOPs (the rest is wasted work), so the
        // useful work and the saved_flops figure match gather's, while MFU drops.
        #expect(approx(full.modelFlops, gather.modelFlops, rel: 1e-9), "\(full.modelFlops) vs \(gather.modelFlops)")
        #expect(approx(full.savedFlops, gather.savedFlops, rel: 1e-9))
        #expect(full.mfu < none.mfu)
        // Gather executes about 30% less than full_batch.
        let cut = (full.executedFlops - gather.executedFlops) / (none.executedFlops)
        #expect(cut > 0.25 && cut < 0.3, "gather executes \(cut) less")
    }

    @Test("full_batch per sequence with a small batch skips a layer only when every sequence skips it")
    func fullBatchSequenceSaves() throws {
        // Batch 2, skip 0.5 per sequence: the layer is skipped with probability 0.5^2 = 0.25 (25% of the layer FLOPs
        // not executed); half the tokens asked for it, so model FLOPs are 50% of the layers.
        let none = run(try depthScenario(depth: nil, batch: 2), spans: true)
        let r = run(try depthScenario(depth: "{skip: 0.5, compaction: full_batch, granularity: sequence, router_width: 0}", batch: 2))
        let epilogue = none.spans.filter { $0.layer == 4 }.reduce(0) { $0 + $1.flops }
        let layers = none.modelFlops - epilogue
        #expect(approx(none.executedFlops - r.executedFlops, 0.25 * layers, rel: 1e-9),
                "executed saving \(none.executedFlops - r.executedFlops) vs 0.25 x \(layers)")
        #expect(approx(r.savedFlops, 0.5 * layers, rel: 1e-9), "saved \(r.savedFlops) vs 0.5 x \(layers)")
        // Expected layer time is 0.75 of a layer: the step is faster than without dynamic depth.
        #expect(r.latencySeconds < none.latencySeconds)
    }

    @Test("saved_flops > 0 exactly when skip outweighs repeat")
    func savedSign() throws {
        for (depth, saves) in [("{skip: 0.2, repeat: 0.1}", true), ("{skip: 0.4}", true), ("{skip: 0.1, repeat: 0.3}", false),
                               ("{skip: 0.0}", false), ("{repeat: 0.2}", false)] {
            let r = run(try depthScenario(depth: depth))
            #expect((r.savedFlops > 0) == saves, "\(depth): saved \(r.savedFlops)")
            #expect(r.savedFlops >= 0)
        }
    }
}
