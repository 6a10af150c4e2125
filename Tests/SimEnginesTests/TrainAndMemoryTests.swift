import Foundation
import Testing
@testable import SimEngines
import SimModel

/// Train-phase FLOPs and memory; KV cache and SSM state.
@Suite("Train phase and memory")
struct TrainAndMemoryTests {
    static let models: [(name: String, blocks: [String], layers: String)] = [
        ("attention", [Blocks.attention], "{pattern: [attn], repeat: 2}"),
        ("ssm", [Blocks.ssm], "{pattern: [ssm], repeat: 2}"),
        ("hybrid-split", [Blocks.hybrid(layout: "split", placement: "separate_lanes", extra: "split: 0.59")], "{pattern: [hyb], repeat: 2}"),
        ("hybrid-parallel", [Blocks.hybrid(layout: "parallel", extra: "fusion: gate")], "{pattern: [hyb], repeat: 2}"),
        ("mamba2", ["m2: {mixer: {type: ssm, variant: mamba2, head_dim: 64}, mlp: {type: dense, activation: gelu, ffn_dim: 1024}}"], "[m2, m2]"),
    ]
    static let batch = 2, seqLen = 1024

    @Test("Train model FLOPs = 3 x prefill model FLOPs of the same shapes (PaLM: forward + backward = 3 x forward)")
    func trainIsThreeForwards() throws {
        for model in Self.models {
            let train = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks,
                                             layers: model.layers), spans: true)
            let prefill = run(try makeScenario(phase: "prefill", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks,
                                               layers: model.layers), spans: true)
            func flops(_ r: Report, _ layers: ClosedRange<Int>) -> Double {
                r.spans.filter { layers.contains($0.layer) }.reduce(0) { $0 + $1.flops }
            }
            // Layers: identical shapes, 3x the FLOPs.
            #expect(approx(flops(train, 0...1), 3 * flops(prefill, 0...1), rel: 1e-9),
                    "\(model.name): train layers \(flops(train, 0...1)) vs 3 x prefill \(flops(prefill, 0...1))")
            // The LM head and final norm: training needs logits at every position, inference prefill only at the
            // last one of each sequence, so the epilogue's rows differ by seq_len (both are linear in rows).
            #expect(approx(flops(train, 2...2), 3 * Double(Self.seqLen) * flops(prefill, 2...2), rel: 1e-9), "\(model.name): epilogue")
            // Dense models: model FLOPs are all the FLOPs.
            #expect(approx(train.modelFlops, flops(train, -1...2), rel: 1e-9), "\(model.name)")
            #expect(approx(prefill.modelFlops, flops(prefill, -1...2), rel: 1e-9), "\(model.name)")
            #expect(train.latencySeconds > prefill.latencySeconds)
        }
    }

    @Test("Train model FLOPs = 3 x the FLOPs of a prefill that computes logits at every position")
    func trainIsThreeForwardsWithoutHead() throws {
        // Without the embedding and LM head only the final norm differs (B x S rows against B rows): 4 FLOPs per element.
        for model in Self.models {
            let train = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, includeEmbedding: false,
                                             blocks: model.blocks, layers: model.layers))
            let prefill = run(try makeScenario(phase: "prefill", batch: Self.batch, seqLen: Self.seqLen, includeEmbedding: false,
                                               blocks: model.blocks, layers: model.layers))
            let d = 256.0, b = Double(Self.batch), s = Double(Self.seqLen)
            let expected = 3 * (prefill.modelFlops - 4 * b * d + 4 * b * s * d)
            #expect(approx(train.modelFlops, expected, rel: 1e-9), "\(model.name): train \(train.modelFlops) vs \(expected)")
        }
    }

    @Test("Train memory: optimizer = 14 bytes/param for bf16 (2 grad + 12 Adam), weights 2 bytes/param, no KV cache or SSM state")
    func trainMemory() throws {
        // Attention block at d = 256, 8 heads x 32, 4 KV heads, SwiGLU 1024, vocab 1000, 2 layers. Parameters:
        //   qkv 256 x (8 + 2 x 4) x 32 = 131072; o 256 x 256 = 65536; norm 256; MLP 3 x 256 x 1024 = 786432 + norm 256
        //   -> 983552 per layer; embedding 1000 x 256 = 256000; final norm 256 + LM head 256000.
        let params = 2 * 983_552.0 + 256_000 + 256 + 256_000
        let r = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, blocks: [Blocks.attention],
                                     layers: "{pattern: [attn], repeat: 2}"))
        #expect(r.memory.weightBytes == params * 2, "weights \(r.memory.weightBytes) vs \(params * 2)")
        #expect(r.memory.optimizerBytes == params * 14, "optimizer \(r.memory.optimizerBytes) vs \(params * 14)")
        #expect(r.memory.kvCacheBytes == 0)
        #expect(r.memory.ssmStateBytes == 0)
        #expect(r.memory.activationBytes > 0)
        for model in Self.models {
            let m = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks,
                                         layers: model.layers)).memory
            #expect(approx(m.optimizerBytes, 7 * m.weightBytes, rel: 1e-12), "\(model.name): optimizer \(m.optimizerBytes) vs 7 x weights")
            #expect(m.kvCacheBytes == 0 && m.ssmStateBytes == 0, "\(model.name)")
        }
        // Inference keeps no optimizer state.
        let prefill = run(try makeScenario(batch: Self.batch, seqLen: Self.seqLen, blocks: [Blocks.attention], layers: "{pattern: [attn], repeat: 2}"))
        #expect(prefill.memory.optimizerBytes == 0)
        #expect(prefill.memory.weightBytes == r.memory.weightBytes)
    }

    @Test("Train memory in fp32: 12 bytes/param of gradients and Adam moments on top of 4-byte weights")
    func trainMemoryFP32() throws {
        let r = run(try makeScenario(phase: "train", batch: 1, seqLen: 128, dtype: "fp32", blocks: [Blocks.ssm], layers: "[ssm]"))
        #expect(approx(r.memory.optimizerBytes, 3 * r.memory.weightBytes, rel: 1e-12))
    }

    // MARK: KV cache and SSM state

    @Test("KV cache comes only from attention: an SSM-only decode has 0 KV and > 0 SSM state")
    func kvOnlyFromAttention() throws {
        let b = 8, s = 4096
        let ssm = run(try makeScenario(phase: "decode", batch: b, seqLen: s, blocks: [Blocks.ssm], layers: "{pattern: [ssm], repeat: 4}"))
        #expect(ssm.memory.kvCacheBytes == 0)
        // Mamba-1 state per layer: fp32 (B, d_inner, N) + conv state (B, d_inner, d_conv - 1) in bf16; d_inner = 512.
        let state = 4 * (Double(b) * 512 * 16 * 4 + Double(b) * 512 * 3 * 2)
        #expect(approx(ssm.memory.ssmStateBytes, state, rel: 1e-12), "state \(ssm.memory.ssmStateBytes) vs \(state)")

        let attn = run(try makeScenario(phase: "decode", batch: b, seqLen: s, blocks: [Blocks.attention], layers: "{pattern: [attn], repeat: 4}"))
        #expect(attn.memory.ssmStateBytes == 0)
        // 2 (K and V) x B x (context + the new token) x KV heads x head_dim x 2 bytes, per layer.
        let kv = 4 * 2 * Double(b) * Double(s + 1) * 4 * 32 * 2
        #expect(approx(attn.memory.kvCacheBytes, kv, rel: 1e-12), "KV \(attn.memory.kvCacheBytes) vs \(kv)")
        // SSM state does not grow with context; the KV cache does.
        let longer = run(try makeScenario(phase: "decode", batch: b, seqLen: 4 * s, blocks: [Blocks.ssm, Blocks.attention],
                                          layers: "[ssm, attn]"))
        let shorter = run(try makeScenario(phase: "decode", batch: b, seqLen: s, blocks: [Blocks.ssm, Blocks.attention],
                                           layers: "[ssm, attn]"))
        #expect(longer.memory.ssmStateBytes == shorter.memory.ssmStateBytes)
        #expect(longer.memory.kvCacheBytes > 3.9 * shorter.memory.kvCacheBytes)
    }

    @Test("Jamba-like 1 attention : 7 SSM layers has 1/8 of the all-attention model's KV cache", arguments: ["decode", "prefill"])
    func jambaKV(phase: String) throws {
        let jamba = run(try makeScenario(phase: phase, batch: 4, seqLen: 8192, blocks: [Blocks.ssm, Blocks.attention],
                                         layers: "{pattern: [ssm, ssm, ssm, ssm, attn, ssm, ssm, ssm], repeat: 4}"))
        let dense = run(try makeScenario(phase: phase, batch: 4, seqLen: 8192, blocks: [Blocks.attention],
                                         layers: "{pattern: [attn], repeat: 32}"))
        #expect(jamba.memory.kvCacheBytes > 0)
        #expect(approx(jamba.memory.kvCacheBytes, dense.memory.kvCacheBytes / 8, rel: 1e-12),
                "\(phase): jamba KV \(jamba.memory.kvCacheBytes) vs all-attention / 8 \(dense.memory.kvCacheBytes / 8)")
        #expect(jamba.memory.ssmStateBytes > 0 && dense.memory.ssmStateBytes == 0)
    }

    @Test("A split hybrid caches only its attention share of the context")
    func splitKV() throws {
        let split = run(try makeScenario(phase: "decode", batch: 4, seqLen: 8192,
                                         blocks: [Blocks.hybrid(layout: "split", extra: "split: 0.25")], layers: "[hyb]"))
        let parallel = run(try makeScenario(phase: "decode", batch: 4, seqLen: 8192,
                                            blocks: [Blocks.hybrid(layout: "parallel")], layers: "[hyb]"))
        #expect(approx(split.memory.kvCacheBytes, 0.25 * parallel.memory.kvCacheBytes, rel: 1e-12))
        #expect(split.memory.ssmStateBytes == parallel.memory.ssmStateBytes)
    }
}
