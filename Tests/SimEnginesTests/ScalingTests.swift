import Foundation
import Testing
@testable import SimEngines
import SimModel

/// Latency against sequence length and context; throughput against latency.
@Suite("Scaling with sequence length")
struct ScalingTests {
    static let models: [(name: String, blocks: [String], layers: String)] = [
        ("attention", [Blocks.attention], "{pattern: [attn], repeat: 4}"),
        ("ssm", [Blocks.ssm], "{pattern: [ssm], repeat: 4}"),
        ("hybrid-parallel", [Blocks.hybrid(layout: "parallel", placement: "separate_lanes")], "{pattern: [hyb], repeat: 4}"),
        ("hybrid-interleaved", [Blocks.attention, Blocks.ssm], "[ssm, ssm, ssm, attn]"),
        ("hybrid-split", [Blocks.hybrid(layout: "split", extra: "split: 0.59")], "{pattern: [hyb], repeat: 4}"),
    ]
    static let lengths = [64, 256, 1024, 4096, 16384]

    func latencies(model: (name: String, blocks: [String], layers: String), phase: String, batch: Int) throws -> [Report] {
        try Self.lengths.map { n in
            run(try makeScenario(name: "\(model.name)-\(phase)-\(n)", phase: phase, batch: batch, seqLen: n,
                                 blocks: model.blocks, layers: model.layers))
        }
    }

    @Test("Prefill and train latency grow strictly with seq_len", arguments: ["prefill", "train"])
    func growsWithSeqLen(phase: String) throws {
        for model in Self.models {
            let reports = try latencies(model: model, phase: phase, batch: 2)
            for (a, b) in zip(reports, reports.dropFirst()) {
                #expect(b.latencySeconds > a.latencySeconds,
                        "\(model.name) \(phase): seq_len \(a.seqLen) -> \(b.seqLen) latency \(a.latencySeconds) -> \(b.latencySeconds)")
            }
        }
    }

    @Test("Decode latency grows strictly with context when attention is on the critical path")
    func decodeGrowsWithContext() throws {
        let models = Self.models.filter { $0.name != "ssm" && $0.name != "hybrid-parallel" }
            + [("hybrid-parallel-same-lane", [Blocks.hybrid(layout: "parallel")], "{pattern: [hyb], repeat: 4}")]
        for model in models {
            let reports = try latencies(model: model, phase: "decode", batch: 8)
            for (a, b) in zip(reports, reports.dropFirst()) {
                #expect(b.latencySeconds > a.latencySeconds,
                        "\(model.name) decode: context \(a.seqLen) -> \(b.seqLen) latency \(a.latencySeconds) -> \(b.latencySeconds)")
            }
        }
    }

    @Test("Decode on separate lanes: a longer context never makes the step faster, and attention stays hidden while shorter than the SSM branch")
    func decodeSeparateLanesMonotone() throws {
        // Parallel hybrid on two half-device lanes at batch 8: the SSM branch (six small ops, each at least a launch
        // overhead plus the efficiency-curve floor) outlasts the attention branch up to 16K context, so the step
        // time does not move; it must never fall.
        let reports = try latencies(model: Self.models[2], phase: "decode", batch: 8)
        for (a, b) in zip(reports, reports.dropFirst()) {
            #expect(b.latencySeconds >= a.latencySeconds, "context \(a.seqLen) -> \(b.seqLen): \(a.latencySeconds) -> \(b.latencySeconds)")
        }
        let withSpans = try Self.lengths.map { n in
            run(try makeScenario(phase: "decode", batch: 8, seqLen: n, blocks: Self.models[2].blocks, layers: Self.models[2].layers), spans: true)
        }
        for r in withSpans {
            let a = r.duration(layer: 0, prefix: "attention."), s = r.duration(layer: 0, prefix: "ssm.")
            if a < s { #expect(approx(r.latencySeconds, withSpans[0].latencySeconds, rel: 1e-12), "context \(r.seqLen)") }
        }
        // The attention branch itself does grow with the context.
        let first = withSpans.first!.duration(layer: 0, prefix: "attention."), last = withSpans.last!.duration(layer: 0, prefix: "attention.")
        #expect(last > first)
    }

    @Test("Pure-SSM decode does not depend on the context length (constant-size state)")
    func ssmDecodeIsContextFree() throws {
        // A Mamba step reads and writes a fixed (B, d_inner, N) state whatever the context: no op of an SSM-only
        // model depends on seq_len in decode, so the latency is the same at every context.
        let reports = try latencies(model: Self.models[1], phase: "decode", batch: 8)
        for r in reports.dropFirst() {
            #expect(approx(r.latencySeconds, reports[0].latencySeconds, rel: 1e-12),
                    "context \(r.seqLen): \(r.latencySeconds) vs \(reports[0].latencySeconds)")
        }
    }

    @Test("tokens/s = tokens_per_step / latency; tokens per step = batch x seq_len (prefill, train) or batch (decode)",
          arguments: ["prefill", "train", "decode"])
    func throughput(phase: String) throws {
        for model in Self.models {
            for (batch, n) in [(1, 128), (3, 1000), (16, 4096)] {
                let r = run(try makeScenario(phase: phase, batch: batch, seqLen: n, blocks: model.blocks, layers: model.layers))
                let tokens = Double(phase == "decode" ? batch : batch * n)
                #expect(r.tokensPerStep == tokens, "\(model.name) \(phase) batch \(batch) seq \(n): \(r.tokensPerStep)")
                #expect(r.latencySeconds > 0)
                #expect(approx(r.tokensPerSecond, tokens / r.latencySeconds, rel: 1e-12),
                        "\(model.name) \(phase): \(r.tokensPerSecond) vs \(tokens / r.latencySeconds)")
            }
        }
    }
}
