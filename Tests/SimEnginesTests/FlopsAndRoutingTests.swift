import Foundation
import Testing
@testable import SimEngines
import SimModel

/// MFU, model against executed FLOPs, MoE drops and imbalance.
@Suite("MFU, FLOPs and MoE routing")
struct FlopsAndRoutingTests {
    static let tokens = (batch: 4, seqLen: 512)

    func moeReport(_ keys: String, phase: String = "prefill", spans: Bool = false) throws -> Report {
        run(try makeScenario(name: "moe", phase: phase, batch: Self.tokens.batch, seqLen: Self.tokens.seqLen,
                             blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, \(keys)")],
                             layers: "{pattern: [moe], repeat: 2}"), spans: spans)
    }

    static func variedScenarios() throws -> [Scenario] {
        [
            try makeScenario(name: "attn-prefill", batch: 4, seqLen: 2048, blocks: [Blocks.attention], layers: "{pattern: [attn], repeat: 4}"),
            try makeScenario(name: "ssm-train", phase: "train", batch: 4, seqLen: 1024, blocks: [Blocks.ssm], layers: "{pattern: [ssm], repeat: 4}"),
            try makeScenario(name: "attn-decode", phase: "decode", batch: 16, seqLen: 4096, blocks: [Blocks.attention],
                             layers: "{pattern: [attn], repeat: 4}"),
            try makeScenario(name: "split-lanes", phase: "train", batch: 2, seqLen: 2048,
                             blocks: [Blocks.hybrid(layout: "split", placement: "separate_lanes", extra: "split: balanced")],
                             layers: "{pattern: [hyb], repeat: 4}"),
            try makeScenario(name: "split-devices", batch: 2, seqLen: 2048,
                             blocks: [Blocks.hybrid(layout: "split", placement: "separate_devices", extra: "split: 0.5")],
                             layers: "{pattern: [hyb], repeat: 2}"),
            try makeScenario(name: "moe-cf", batch: 4, seqLen: 1024,
                             blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.0}")],
                             layers: "{pattern: [moe], repeat: 2}"),
            try makeScenario(name: "moe-ep", batch: 4, seqLen: 1024,
                             blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 2.0, devices: 4")],
                             layers: "{pattern: [moe], repeat: 2}"),
            try makeScenario(name: "fff", batch: 4, seqLen: 1024,
                             blocks: ["f: {mixer: {type: attention, heads: 8, kv_heads: 8, head_dim: 32}, mlp: {type: fff, depth: 4, leaf_width: 64, master_leaf_width: 128}}"],
                             layers: "{pattern: [f], repeat: 2}"),
            try makeScenario(name: "big-prefill", batch: 8, seqLen: 4096, dModel: 4096, vocab: 32000,
                             blocks: ["big: {mixer: {type: attention, heads: 32, kv_heads: 8, head_dim: 128}, mlp: {type: dense, ffn_dim: 14336}}"],
                             layers: "{pattern: [big], repeat: 2}"),
        ]
    }

    @Test("MFU is in (0, 1] and model FLOPs <= executed FLOPs")
    func mfuBounds() throws {
        for scenario in try Self.variedScenarios() {
            let r = run(scenario)
            #expect(r.mfu > 0 && r.mfu <= 1, "\(scenario.name): MFU \(r.mfu)")
            #expect(r.modelFlops > 0)
            #expect(r.modelFlops <= r.executedFlops * (1 + 1e-12), "\(scenario.name): model \(r.modelFlops) > executed \(r.executedFlops)")
            // MFU = model FLOPs / (latency x matrix peak of the devices used).
            let devices = Double(Set(Lowering.lower(scenario).lanes.filter { $0.kind == .compute }.map(\.device)).count)
            let peak = try #require(scenario.hardware.peakFlops[scenario.workload.dtype])
            #expect(approx(r.mfu, r.modelFlops / (r.latencySeconds * peak * devices), rel: 1e-12), "\(scenario.name)")
        }
    }

    @Test("A large dense prefill reaches a high MFU but not above the GEMM efficiency ceiling (0.75)")
    func largePrefillMFU() throws {
        let r = run(try Self.variedScenarios().last!)
        // GEMMs of ~1e14 FLOPs run at 0.75 x (F / (F + 1e10)) of peak; other ops are slower, so MFU < 0.75.
        #expect(r.mfu > 0.4 && r.mfu < 0.75, "MFU \(r.mfu)")
    }

    @Test("Dense models: model FLOPs = executed FLOPs (training: all but the optimizer step's)")
    func denseModelFlopsEqualExecuted() throws {
        for scenario in try Self.variedScenarios().prefix(4) {
            let r = run(scenario, spans: true)
            let optimizer = r.spans.filter { $0.op.hasPrefix("optimizer") }.reduce(0) { $0 + $1.flops }
            #expect(approx(r.modelFlops, r.executedFlops - optimizer, rel: 1e-12), "\(scenario.name): \(r.modelFlops) vs \(r.executedFlops)")
            #expect((optimizer > 0) == (scenario.workload.phase == .train))
        }
    }

    @Test("Capacity factor pads expert buffers: model FLOPs < executed FLOPs", arguments: ["1.0", "1.25", "2.0"])
    func capacityPadding(factor: String) throws {
        let r = try moeReport("capacity_factor: \(factor)", spans: true)
        #expect(r.modelFlops < r.executedFlops, "cf \(factor): model \(r.modelFlops) vs executed \(r.executedFlops)")
        // Switch capacity: ceil(cf x T x k / E) rows per expert, every expert's buffer run in full:
        // gate_up executes 2 x (capacity x E) x (2 x 512) x 256 FLOPs.
        let cf = try #require(Double(factor))
        let assignments = Double(Self.tokens.batch * Self.tokens.seqLen * 2)
        let capacity = (cf * assignments / 8).rounded(.up)
        let gateUp = try #require(r.spans.first { $0.layer == 0 && $0.op == "mlp.experts.gate_up" })
        #expect(approx(gateUp.flops, 2 * capacity * 8 * 1024 * 256, rel: 1e-9),
                "cf \(factor): gate_up \(gateUp.flops) vs \(2 * capacity * 8 * 1024 * 256)")
    }

    @Test("Capacity 2.0 executes more than capacity 1.25 which executes more than 1.0")
    func capacityOrdering() throws {
        let flops = try ["1.0", "1.25", "2.0"].map { try moeReport("capacity_factor: \($0)").executedFlops }
        #expect(flops[0] < flops[1] && flops[1] < flops[2], "\(flops)")
    }

    @Test("Dropless MoE processes every routed row: expert GEMM FLOPs are those of T x top_k rows")
    func droplessExpertFlops() throws {
        // T = 4 x 512 = 2048 tokens, top-2: 4096 routed rows through SwiGLU experts of width 512 at d_model 256.
        // gate_up: 2 x rows x (2 x 512) x 256; down: 2 x rows x 256 x 512 (OpFormulas gemm: 2mnk per GEMM).
        let r = try moeReport("capacity_factor: dropless", spans: true)
        let rows = Double(Self.tokens.batch * Self.tokens.seqLen * 2)
        let gateUp = try #require(r.spans.first { $0.layer == 0 && $0.op == "mlp.experts.gate_up" })
        let down = try #require(r.spans.first { $0.layer == 0 && $0.op == "mlp.experts.down" })
        #expect(gateUp.flops >= 2 * rows * 1024 * 256 * (1 - 1e-9),
                "gate_up executes \(gateUp.flops) FLOPs, fewer than the \(2 * rows * 1024 * 256) of \(rows) routed rows")
        #expect(down.flops >= 2 * rows * 256 * 512 * (1 - 1e-9),
                "down executes \(down.flops) FLOPs, fewer than the \(2 * rows * 256 * 512) of \(rows) routed rows")
        // Same for the model FLOPs against a dense MLP of width top_k x expert_ffn_dim (identical useful work).
        let dense = run(try makeScenario(name: "dense", batch: Self.tokens.batch, seqLen: Self.tokens.seqLen,
                                         blocks: ["moe: {mixer: {type: attention, heads: 8, kv_heads: 4, head_dim: 32}, mlp: {type: dense, ffn_dim: 1024}}"],
                                         layers: "{pattern: [moe], repeat: 2}"))
        #expect(r.modelFlops >= dense.modelFlops * (1 - 1e-9),
                "dropless MoE model FLOPs \(r.modelFlops) < dense top-k-equivalent \(dense.modelFlops) (ratio \(r.modelFlops / dense.modelFlops))")
    }

    @Test("Dropped token fraction: 0 when dropless, in (0, 1) for zipf skew at capacity factor 1.0")
    func droppedTokens() throws {
        for routing in ["{type: uniform}", "{type: zipf, exponent: 1.2}", "{type: dirichlet, concentration: 0.3}"] {
            let r = try moeReport("capacity_factor: dropless, routing: \(routing)")
            #expect(r.droppedTokenFraction == 0, "\(routing): \(r.droppedTokenFraction)")
        }
        let skewed = try moeReport("capacity_factor: 1.0, routing: {type: zipf, exponent: 1.2}")
        #expect(skewed.droppedTokenFraction > 0 && skewed.droppedTokenFraction < 1, "\(skewed.droppedTokenFraction)")
        // Zipf(1.2) over 8 experts, top-2: expert 1 is in pi_1 of the tokens' sets (TopKDesign), against a capacity of
        // 1/8 of the T*k assignments: at least (pi_1 - 2/8) / 2 of all assignments overflow expert 1 alone (Jensen).
        let pi1 = TopKDesign(shares: (1...8).map { pow(Double($0), -1.2) }, topK: 2).inclusion[0]
        #expect(skewed.droppedTokenFraction >= (pi1 - 0.25) / 2 - 1e-3, "\(skewed.droppedTokenFraction)")
        // More capacity, fewer drops.
        let roomier = try moeReport("capacity_factor: 2.0, routing: {type: zipf, exponent: 1.2}")
        #expect(roomier.droppedTokenFraction < skewed.droppedTokenFraction)
    }

    @Test("MoE imbalance: > 1 for zipf skew, rising with the exponent; 1 without MoE")
    func imbalance() throws {
        let values = try [0.5, 1.0, 1.5, 2.0].map { s in
            try moeReport("capacity_factor: dropless, routing: {type: zipf, exponent: \(s)}").moeImbalance
        }
        #expect(values.allSatisfy { $0 > 1 }, "\(values)")
        for (a, b) in zip(values, values.dropFirst()) { #expect(b > a, "\(values)") }
        let uniform = try moeReport("capacity_factor: dropless").moeImbalance
        #expect(uniform >= 1 && uniform < values[0], "uniform \(uniform) vs zipf 0.5 \(values[0])")
        // Zipf(2) over 8 experts, top-2: the top expert's weight 0.65 of the total saturates below 1 (a token takes it
        // at most once): the conditional Poisson design includes it in ~0.98 of the tokens, 3.9x the mean load k/E.
        let design = TopKDesign(shares: (1...8).map { pow(Double($0), -2.0) }, topK: 2)
        #expect(approx(values[3], design.inclusion[0] * 8 / 2, rel: 0.02), "zipf 2 imbalance \(values[3])")
        #expect(values[3] < 4, "no expert takes more than every token: imbalance at most E/k = 4")
        let none = run(try makeScenario(blocks: [Blocks.attention], layers: "[attn]"))
        #expect(none.moeImbalance == 1 && none.droppedTokenFraction == 0)
    }
}
