import Foundation
import Testing
@testable import SimEngines
import SimModel

/// The same scenario on H100 SXM (3.35 TB/s) and H200 (4.8 TB/s): same FLOP/s, launch overhead and efficiency curves.
@Suite("Hardware sensitivity")
struct HardwareTests {
    static let bandwidthRatio = 4.8 / 3.35   // 1.4328...

    static let bigBlock = "big: {mixer: {type: attention, heads: 32, kv_heads: 8, head_dim: 128}, mlp: {type: dense, ffn_dim: 14336}}"

    func pair(phase: String, batch: Int, seqLen: Int, layers: Int, spans: Bool = false) throws -> (h100: Report, h200: Report) {
        func on(_ hw: String) throws -> Report {
            run(try makeScenario(name: hw, hardware: hw, phase: phase, batch: batch, seqLen: seqLen, dModel: 4096, vocab: 32000,
                                 blocks: [Self.bigBlock], layers: "{pattern: [big], repeat: \(layers)}"), spans: spans)
        }
        return (try on("nvidia-h100-sxm"), try on("nvidia-h200"))
    }

    @Test("Memory-bound decode is faster on H200, by at most the bandwidth ratio 4.8 / 3.35")
    func decodeFollowsBandwidth() throws {
        // Batch 1 decode of a 4096-wide model: each step reads ~0.45 GB of bf16 weights per layer at ~2 FLOPs per
        // byte, far below either GPU's ~295 (H100) or ~206 (H200) FLOPs per byte. Time per op is launch overhead
        // (the same on both) + max(compute, bytes / (bandwidth x efficiency)) with the same curves on both, so the
        // speed-up is at most 4.8 / 3.35 = 1.433 and falls short of it by the share of overheads and of tiny
        // ops that sit on the curves' compute floor (norms, residuals: ~3 us each, identical on both GPUs).
        // A third or more of the H100 step is such fixed time (10 ops x one launch each per layer against ~160 us
        // of weight reads), so the speed-up is ~1.2; 1.1 leaves room for curve recalibration.
        let (h100, h200) = try pair(phase: "decode", batch: 1, seqLen: 4096, layers: 8, spans: true)
        let h100Profile = try #require(try BuiltinProfiles.profile(named: "nvidia-h100-sxm"))
        let h200Profile = try #require(try BuiltinProfiles.profile(named: "nvidia-h200"))
        #expect(h100Profile.launchOverheadSeconds == h200Profile.launchOverheadSeconds)
        let speedup = h100.latencySeconds / h200.latencySeconds
        #expect(speedup > 1.1 && speedup <= Self.bandwidthRatio * (1 + 1e-12), "speed-up \(speedup)")
        #expect(h200.tokensPerSecond > h100.tokensPerSecond)
        // Op by op: memory-bound ops shrink their non-overhead time by exactly 3.35 / 4.8; compute-bound ones keep it.
        #expect(h100.spans.count == h200.spans.count)
        var predicted = 0.0
        for (x, y) in zip(h100.spans, h200.spans) {
            #expect(x.op == y.op)
            // Every op of this model is one launch.
            let overhead = (x.flops > 0 || x.bytes > 0) ? h100Profile.launchOverheadSeconds : 0
            switch (x.bound, y.bound) {
            case ("memory", "memory"):
                #expect(approx(y.duration - overhead, (x.duration - overhead) * 3.35 / 4.8, rel: 1e-6), "\(x.op) layer \(x.layer)")
            case ("compute", "compute"):
                #expect(approx(y.duration, x.duration, rel: 1e-9), "\(x.op) layer \(x.layer)")
            case ("memory", "compute"):
                #expect(y.duration <= x.duration && y.duration >= overhead + (x.duration - overhead) * 3.35 / 4.8 * (1 - 1e-9))
            default:
                Issue.record("\(x.op) layer \(x.layer): compute-bound on H100 but \(y.bound)-bound on H200")
            }
            predicted += x.bound == "memory" ? overhead + (x.duration - overhead) * 3.35 / 4.8 : x.duration
        }
        #expect(h200.latencySeconds >= predicted * (1 - 1e-9), "H200 \(h200.latencySeconds) vs bandwidth-scaled H100 \(predicted)")
        // The weight-reading GEMMs (235 MB, 117 MB and 50 MB per layer at 2 FLOPs per weight) are memory-bound on both:
        // even padded to one wave of 128 x 256 tiles (132 x 2 x 256 x 4096 FLOPs at batch 1) they compute in < 1 us.
        let weightReads = h200.spans.filter { ["mlp.gate_up", "mlp.down", "attention.qkv_proj"].contains($0.op) }
        #expect(weightReads.count == 3 * 8)
        for s in weightReads { #expect(s.bound == "memory", "\(s.op)") }
    }

    @Test("Compute-bound large prefill is about equally fast on both (same FLOP/s)")
    func prefillFollowsFlops() throws {
        // 8 x 4096 tokens through 4096-wide GEMMs: ~1e14-FLOP GEMMs at ~300+ FLOPs per byte are compute-bound on both;
        // only the memory-bound norms, residuals and activation ops (a few % of the time) gain from H200's bandwidth.
        // So H200 is never slower and at most 5% faster.
        let (h100, h200) = try pair(phase: "prefill", batch: 8, seqLen: 4096, layers: 2)
        let speedup = h100.latencySeconds / h200.latencySeconds
        #expect(speedup >= 1 && speedup < 1.05, "speed-up \(speedup)")
        #expect(approx(h100.modelFlops, h200.modelFlops, rel: 1e-12))
        #expect(h100.mfu > 0.4, "the prefill should be compute-bound: MFU \(h100.mfu)")
    }

    @Test("Decode gains more from the H200 than prefill does")
    func decodeGainsMore() throws {
        let decode = try pair(phase: "decode", batch: 1, seqLen: 4096, layers: 8)
        let prefill = try pair(phase: "prefill", batch: 8, seqLen: 4096, layers: 2)
        #expect(decode.h100.latencySeconds / decode.h200.latencySeconds > prefill.h100.latencySeconds / prefill.h200.latencySeconds + 0.2)
    }
}
