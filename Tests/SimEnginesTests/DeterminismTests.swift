import Foundation
import Testing
@testable import SimEngines
import SimModel

/// The analytic engine is a pure function of the scenario.
@Suite("Determinism")
struct DeterminismTests {
    static func scenarios() throws -> [Scenario] {
        [
            try makeScenario(name: "mixed", phase: "train", batch: 2, seqLen: 1024,
                             blocks: [Blocks.hybrid("bal", layout: "split", placement: "separate_lanes", extra: "split: balanced"),
                                      Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 256, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.1}"),
                                      "f: {mixer: {type: ssm, variant: mamba2, head_dim: 64}, mlp: {type: fff, depth: 3, leaf_width: 64}}"],
                             layers: "[bal, moe, f, bal, moe, f]",
                             extras: ["dynamic_depth: {skip: [0.1, 0.2, 0.0, 0.3, 0.1, 0.0], repeat: 0.05}"]),
            try makeScenario(name: "devices", phase: "decode", batch: 16, seqLen: 4096,
                             blocks: [Blocks.hybrid(layout: "parallel", placement: "separate_devices"),
                                      Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 256, routing: {type: dirichlet, concentration: 0.3}, devices: 8")],
                             layers: "[hyb, moe]"),
        ]
    }

    func expectIdentical(_ a: Report, _ b: Report, _ name: String) {
        let numbers: [(String, Double, Double)] = [
            ("latency", a.latencySeconds, b.latencySeconds), ("tokens/s", a.tokensPerSecond, b.tokensPerSecond),
            ("tokens/step", a.tokensPerStep, b.tokensPerStep), ("model FLOPs", a.modelFlops, b.modelFlops),
            ("executed FLOPs", a.executedFlops, b.executedFlops), ("MFU", a.mfu, b.mfu), ("bubble", a.bubbleSeconds, b.bubbleSeconds),
            ("bubble fraction", a.bubbleFraction, b.bubbleFraction), ("imbalance", a.moeImbalance, b.moeImbalance),
            ("dropped", a.droppedTokenFraction, b.droppedTokenFraction), ("executed layers", a.executedLayerFraction, b.executedLayerFraction),
            ("expected layers", a.expectedExecutedLayers, b.expectedExecutedLayers), ("saved", a.savedFlops, b.savedFlops),
        ]
        for (what, x, y) in numbers { #expect(x == y, "\(name): \(what) \(x) vs \(y)") }
        #expect(a.memory == b.memory, "\(name): memory")
        #expect(a.splitRatios.map(\.block) == b.splitRatios.map(\.block), "\(name)")
        #expect(a.splitRatios.map(\.ratio) == b.splitRatios.map(\.ratio), "\(name)")
        #expect(a.lanes == b.lanes, "\(name): lanes")
        #expect(a.layers == b.layers, "\(name): layer rows")
        #expect(a.spans == b.spans, "\(name): spans")
        #expect(a.scenario == b.scenario && a.engine == b.engine && a.hardware == b.hardware && a.phase == b.phase)
    }

    @Test("Running the same scenario twice gives identical reports")
    func sameScenarioTwice() throws {
        for scenario in try Self.scenarios() {
            let engine = AnalyticEngine(options: .init(layerRows: true, spans: true))
            let first = engine.run(scenario), second = engine.run(scenario)
            #expect(!first.layers.isEmpty && !first.spans.isEmpty)
            expectIdentical(first, second, scenario.name)
        }
    }

    @Test("Decoding the YAML again and using a new engine gives the same report")
    func freshDecodeAndEngine() throws {
        let a = try Self.scenarios(), b = try Self.scenarios()
        for (x, y) in zip(a, b) {
            expectIdentical(AnalyticEngine(options: .init(layerRows: true, spans: true)).run(x),
                            AnalyticEngine(options: .init(layerRows: true, spans: true)).run(y), x.name)
        }
    }

    @Test("Layer rows and spans are outputs only: turning them off changes no summary number")
    func optionsDoNotChangeSummary() throws {
        for scenario in try Self.scenarios() {
            let full = AnalyticEngine(options: .init(layerRows: true, spans: true)).run(scenario)
            var bare = AnalyticEngine(options: .init(layerRows: false, spans: false)).run(scenario)
            #expect(bare.layers.isEmpty && bare.spans.isEmpty)
            bare.layers = full.layers
            bare.spans = full.spans
            expectIdentical(full, bare, scenario.name)
        }
    }
}
