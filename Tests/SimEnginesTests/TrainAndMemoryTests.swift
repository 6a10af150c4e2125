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

    @Test("Train FLOPs = forward + backward: 3 x prefill, attention 3.5 x (FlashAttention's 2.5 x backward), then the Adam step")
    func trainIsForwardPlusBackward() throws {
        for model in Self.models {
            let train = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks,
                                             layers: model.layers), spans: true)
            let prefill = run(try makeScenario(phase: "prefill", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks,
                                               layers: model.layers), spans: true)
            func flops(_ r: Report, _ layers: ClosedRange<Int>, _ keep: (Report.Span) -> Bool = { _ in true }) -> Double {
                r.spans.filter { layers.contains($0.layer) && keep($0) }.reduce(0) { $0 + $1.flops }
            }
            let attention = flops(prefill, 0...1) { $0.opClass == "attention" }
            // Layers: identical shapes; backward 2x forward except attention's 2.5x.
            #expect(approx(flops(train, 0...1), 3 * flops(prefill, 0...1) + 0.5 * attention, rel: 1e-9),
                    "\(model.name): train layers \(flops(train, 0...1)) vs prefill \(flops(prefill, 0...1))")
            // The LM head and final norm: training needs logits at every position, inference prefill only at the
            // last one of each sequence, so the epilogue's rows differ by seq_len (both are linear in rows).
            let head = flops(train, 2...2) { !$0.op.hasPrefix("optimizer") }
            #expect(approx(head, 3 * Double(Self.seqLen) * flops(prefill, 2...2), rel: 1e-9), "\(model.name): epilogue")
            // Model FLOPs: everything but the optimizer step (12 FLOPs per parameter, not model work).
            let adam = flops(train, 2...2) { $0.op.hasPrefix("optimizer") }
            #expect(adam > 0)
            #expect(approx(train.modelFlops, flops(train, -1...2) - adam, rel: 1e-9), "\(model.name)")
            #expect(approx(prefill.modelFlops, flops(prefill, -1...2), rel: 1e-9), "\(model.name)")
            #expect(train.latencySeconds > prefill.latencySeconds)
        }
    }

    @Test("Full activation recomputation runs each layer's forward again: executed, not model, FLOPs; keeps layer inputs only")
    func recomputation() throws {
        for model in Self.models {
            let plain = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks, layers: model.layers))
            let again = run(try makeScenario(phase: "train", batch: Self.batch, seqLen: Self.seqLen, blocks: model.blocks, layers: model.layers,
                                             extraWorkload: "activation_recomputation: full"))
            #expect(approx(again.modelFlops, plain.modelFlops, rel: 1e-12), "\(model.name)")
            #expect(again.executedFlops > plain.executedFlops)
            #expect(again.latencySeconds > plain.latencySeconds)
            #expect(again.memory.activationBytes < plain.memory.activationBytes, "\(model.name)")
        }
    }

    @Test("Training activations include attention statistics, SSM inputs and conv inputs, not only GEMM inputs")
    func activationsCountWhatBackwardKeeps() throws {
        // One attention layer, d 256, 8 heads x 32, 4 KV heads, SwiGLU 1024, batch 2 x 1024 tokens, bf16, no embedding.
        // Kept per layer: GEMM inputs (qkv 2048x256, o 2048x256, gate_up 2048x256, down 2048x1024), attention Q, K, V
        // (2048 x (256 + 2 x 128)) and its fp32 log-sum-exp (2 x 8 x 1024 x 4 B), the two norms' inputs (2048 x 256 each)
        // with their fp32 1/rms (2048 x 4 B each), the SwiGLU's two inputs (2 x 2048 x 1024); residual adds keep nothing.
        let t = 2048.0, b = 2.0
        let gemm = t * (256 + 256 + 256 + 1024) * b
        let attention = t * (256 + 2 * 128) * b + 2 * 8 * 1024 * 4
        let norms = 2 * (t * 256 * b + t * 4)
        let swiglu = 2 * t * 1024 * b
        let perLayer = gemm + attention + norms + swiglu
        let r = run(try makeScenario(phase: "train", batch: 2, seqLen: 1024, includeEmbedding: false, blocks: [Blocks.attention], layers: "[attn]"))
        // The epilogue keeps the final norm's input and 1/rms (no LM head here).
        let epilogue = t * 256 * b + t * 4
        #expect(approx(r.memory.activationBytes, perLayer + epilogue, rel: 1e-9), "\(r.memory.activationBytes) vs \(perLayer + epilogue)")
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

    @Test("A split hybrid caches only its attention share of the context: prefill positions, decode sequences")
    func splitKV() throws {
        for phase in ["decode", "prefill"] {
            let split = run(try makeScenario(phase: phase, batch: 4, seqLen: 8192,
                                             blocks: [Blocks.hybrid(layout: "split", extra: "split: 0.25")], layers: "[hyb]"))
            let parallel = run(try makeScenario(phase: phase, batch: 4, seqLen: 8192,
                                                blocks: [Blocks.hybrid(layout: "parallel")], layers: "[hyb]"))
            #expect(approx(split.memory.kvCacheBytes, 0.25 * parallel.memory.kvCacheBytes, rel: 1e-12), "\(phase)")
            // Decode splits sequences: the other 3/4 of them keep the SSM state; prefill splits each sequence's tokens,
            // so every sequence keeps a state.
            let stateShare = phase == "decode" ? 0.75 : 1
            #expect(approx(split.memory.ssmStateBytes, stateShare * parallel.memory.ssmStateBytes, rel: 1e-12), "\(phase)")
        }
    }

    @Test("Decode with a token split: attention reads its sequences' whole cache, linear in the share, not quadratic")
    func splitDecodeIsLinear() throws {
        func sdpa(_ share: Double) throws -> Double {
            let r = run(try makeScenario(phase: "decode", batch: 16, seqLen: 8192,
                                         blocks: [Blocks.hybrid(layout: "split", extra: "split: \(share)")], layers: "[hyb]"), spans: true)
            return r.spans.filter { $0.op == "attention.sdpa" }.reduce(0) { $0 + $1.flops }
        }
        let quarter = try sdpa(0.25), half = try sdpa(0.5), full = try sdpa(1)
        #expect(approx(half, 2 * quarter, rel: 1e-12))
        #expect(approx(full, 4 * quarter, rel: 1e-12))
    }
}
