import Foundation
import Testing
@testable import SimModel

@Suite struct LoweringTests {
    static let hybridSplit = "h: {mixer: {type: hybrid, layout: split, split: 0.59, attention: {heads: 4, kv_heads: 2, head_dim: 16}, ssm: {d_state: 16}}}"

    // MARK: Templates and parameters

    @Test func templatesAreReusedAcrossRepeatedLayers() throws {
        let (_, graph) = try lowered(scenarioYAML(blocks: [Blocks.attention, Blocks.ssm], layers: "{pattern: [attn, ssm, ssm], repeat: 8}"))
        #expect(graph.layers.count == 24)
        #expect(graph.templates.count == 2)                 // one per distinct block
        #expect(graph.templates.map(\.blockName) == ["attn", "ssm"])
        for layer in graph.layers {
            #expect(layer.template == (layer.layer % 3 == 0 ? 0 : 1))
            #expect(graph.templates[layer.template].blockName == layer.blockName)
        }
        // Layers with different dynamic-depth probabilities are distinct templates even for the same block.
        let (_, varied) = try lowered(scenarioYAML(blocks: [Blocks.attention], layers: "[attn, attn, attn]",
                                                   modelExtras: ["dynamic_depth: {skip: [0.1, 0.1, 0.3]}"]))
        #expect(varied.templates.count == 2)
        #expect(varied.layers.map(\.template) == [0, 0, 1])
    }

    @Test func llamaLayerParameters() throws {
        // Llama-3-8B layer: d = 4096, 32 heads, 8 KV heads, head_dim 128, SwiGLU 14336.
        // q,k,v: 4096*(32 + 2*8)*128 = 25,165,824; o: (32*128)*4096 = 16,777,216; MLP: 3*4096*14336 = 176,160,768;
        // two RMSNorms: 2*4096 = 8,192. Total 218,112,000 per layer.
        let block = "llama: {mixer: {type: attention, heads: 32, kv_heads: 8, head_dim: 128}, mlp: {type: dense, ffn_dim: 14336}}"
        let yaml = scenarioYAML(dModel: 4096, blocks: [block], layers: "{pattern: [llama], repeat: 32}")
            .replacingOccurrences(of: "vocab: 1000", with: "vocab: 128256")
        let (_, graph) = try lowered(yaml)
        let qkv: Double = 4096 * 48 * 128
        let out: Double = 4096 * 4096
        let mlp: Double = 3 * 4096 * 14336
        let norms: Double = 2 * 4096
        let perLayer = qkv + out + mlp + norms
        #expect(perLayer == 218_112_000)
        #expect(graph.templates.count == 1)
        #expect(approx(graph.templates[0].parameters, perLayer))
        #expect(approx(graph.templates[0].weightBytes, perLayer * 2))   // bf16
        // Whole model: 32 layers + untied embedding and LM head (2 * 128256 * 4096) + final norm (4096)
        // = 6,979,584,000 + 1,050,673,152 + 4,096 = 8,030,261,248, Llama-3-8B's published parameter count.
        let total = graph.layers.reduce(0.0) { $0 + graph.templates[$1.template].parameters }
            + graph.prologue.parameters + graph.epilogue.parameters
        #expect(approx(total, 8_030_261_248))
    }

    @Test func mamba1LayerParameters() throws {
        // mamba-130m layer (state-spaces/mamba mamba_simple.py, d_model 768, d_inner 1536, d_state 16, d_conv 4,
        // dt_rank = ceil(768/16) = 48):
        //   in_proj 768*3072 = 2,359,296; conv1d weight 1536*4 = 6,144 and bias 1,536 (conv_bias=True);
        //   x_proj 1536*(48 + 32) = 122,880; dt_proj weight 48*1536 = 73,728 and bias 1,536;
        //   A_log 1536*16 = 24,576; D 1,536; out_proj 1536*768 = 1,179,648; RMSNorm 768.
        //   Total 3,771,648 (x 24 layers + 50280*768 tied embedding + 768 final norm = 129,135,360, the released model's count).
        let block = "m: {mixer: {type: ssm, variant: mamba1, d_state: 16, expand: 2, d_conv: 4}}"
        let (_, graph) = try lowered(scenarioYAML(dModel: 768, blocks: [block], layers: "[m]"))
        let parts: [Double] = [2_359_296, 6_144, 1_536, 122_880, 73_728, 1_536, 24_576, 1_536, 1_179_648, 768]
        let expected = parts.reduce(0, +)
        #expect(expected == 3_771_648)
        #expect(approx(graph.templates[0].parameters, expected), "got \(graph.templates[0].parameters)")
    }

    // MARK: Memory

    @Test func kvCacheOnlyOnAttentionLayers() throws {
        // Decode, batch 2, 100 tokens cached (+1 new = 101), bf16.
        let (_, graph) = try lowered(scenarioYAML(phase: "decode", batch: 2, seqLen: 100, blocks: [Blocks.attention, Blocks.ssm],
                                                  layers: "[attn, ssm]"))
        let attn = graph.templates[0], ssm = graph.templates[1]
        // KV: 2 (K and V) * B * context * Hkv * head_dim * b = 2 * 2 * 101 * 2 * 16 * 2 = 25,856 bytes.
        #expect(approx(attn.kvCacheBytes, 25_856))
        #expect(attn.ssmStateBytes == 0)
        // SSM: no KV; state = fp32 (B, d_inner, N) + conv state (B, d_inner, d_conv - 1) * b
        //    = 2*128*16*4 + 2*128*3*2 = 16,384 + 1,536 = 17,920 bytes (d_inner = 2 * 64).
        #expect(ssm.kvCacheBytes == 0)
        #expect(approx(ssm.ssmStateBytes, 17_920))
        // Decode reads the state: the selective scan op is a one-step decode scan.
        let scan = try #require(ssm.op("ssm.selective_scan"))
        #expect(scan.kind == .selectiveScan(batch: 2, length: 1, dInner: 128, dState: 16, decodeState: true))
    }

    @Test func ssmOnlyModelHasNoKVCache() throws {
        for phase in ["prefill", "decode", "train"] {
            let (_, graph) = try lowered(scenarioYAML(phase: phase, batch: 2, seqLen: 64, blocks: [Blocks.ssm], layers: "[ssm, ssm]"))
            #expect(graph.templates.allSatisfy { $0.kvCacheBytes == 0 })
            #expect(graph.prologue.kvCacheBytes == 0 && graph.epilogue.kvCacheBytes == 0)
            if phase == "train" {
                #expect(graph.templates[0].ssmStateBytes == 0)   // nothing is cached while training
            } else {
                #expect(approx(graph.templates[0].ssmStateBytes, 17_920))
            }
        }
    }

    // MARK: Phases and sequence length

    /// Training runs each op's forward and its backward: 2x the forward for GEMMs and most ops, 2.5x for
    /// attention (FlashAttention's count), then the Adam step; model FLOPs are forward + backward.
    @Test func trainIsForwardPlusBackward() throws {
        let blocks = [Blocks.attention, Blocks.ssm]
        let (_, prefill) = try lowered(scenarioYAML(phase: "prefill", seqLen: 256, blocks: blocks, layers: "[attn, ssm]"))
        let (_, train) = try lowered(scenarioYAML(phase: "train", seqLen: 256, blocks: blocks, layers: "[attn, ssm]"))
        #expect(!train.recomputesActivations)
        for (p, t) in zip(prefill.templates, train.templates) {
            #expect(p.ops.count == t.ops.count)
            for (a, b) in zip(p.ops, t.ops) {
                #expect(a.name == b.name)
                let factor = a.role == .attention ? 3.5 : 3
                #expect(approx(b.flops, factor * a.flops), "\(a.name)")
                #expect(approx(b.modelFlops, factor * a.modelFlops), "\(a.name)")
                #expect(approx(b.bytes, factor * a.bytes), "\(a.name)")
            }
        }
        // Training computes logits for every token (256 rows), inference for the last position only (1 row).
        #expect(train.epilogue.op("lm_head")?.kind.gemmRows == 256)
        #expect(prefill.epilogue.op("lm_head")?.kind.gemmRows == 1)
        // The optimizer step: one op over every parameter, 28 bytes each in bf16 (14 read, 14 written).
        let adam = try #require(train.epilogue.op("optimizer.adam"))
        let parameters = train.templates.reduce(0) { $0 + $1.parameters } + train.prologue.parameters + train.epilogue.parameters
        #expect(approx(adam.bytes, 28 * parameters))
        #expect(adam.modelFlops == 0)
        #expect(prefill.epilogue.op("optimizer.adam") == nil)
    }

    @Test func flopsGrowWithSequenceLength() throws {
        func attentionGraph(_ phase: String, _ seqLen: Int) throws -> OpGraph {
            try lowered(scenarioYAML(phase: phase, seqLen: seqLen, blocks: [Blocks.attention], layers: "[attn]")).graph
        }
        let short = try attentionGraph("prefill", 256), long = try attentionGraph("prefill", 512)
        // Causal SDPA: attended keys L(L+1)/2, so the ratio is 512*513 / (256*257) = 3.99222.
        let sdpaRatio = try #require(long.templates[0].op("attention.sdpa")).flops / (try #require(short.templates[0].op("attention.sdpa")).flops)
        #expect(approx(sdpaRatio, 512.0 * 513 / (256 * 257)))
        // Everything else is linear in tokens, so the layer more than doubles.
        #expect(long.layerFlops > 2 * short.layerFlops)
        // Decode: each new token attends over the whole context: 1001 vs 101 keys.
        let d100 = try attentionGraph("decode", 100), d1000 = try attentionGraph("decode", 1000)
        let decodeRatio = try #require(d1000.templates[0].op("attention.sdpa")).flops / (try #require(d100.templates[0].op("attention.sdpa")).flops)
        #expect(approx(decodeRatio, 1001.0 / 101))
        #expect(d1000.layerFlops > d100.layerFlops)
    }

    // MARK: Split hybrids

    @Test func fixedSplitGivesAttentionItsShare() throws {
        let (_, graph) = try lowered(scenarioYAML(seqLen: 1000, blocks: [Self.hybridSplit], layers: "[h]"))
        let t = graph.templates[0]
        #expect(t.splitRatio == 0.59)
        // 0.59 * 1000 = 590 tokens to attention, 410 to the SSM; the fusion sees all 1000.
        #expect(approx(try #require(t.op("attention.qkv_proj")?.kind.gemmRows), 590))
        #expect(approx(try #require(t.op("ssm.in_proj")?.kind.gemmRows), 410))
        #expect(approx(try #require(t.op("fusion.proj1")?.kind.gemmRows), 1000))
        guard case let .attention(_, _, _, queries, keys, _, _, _) = try #require(t.op("attention.sdpa")).kind else {
            Issue.record("sdpa is not an attention op"); return
        }
        #expect(approx(queries, 590) && approx(keys, 590))
        #expect(t.op("attention.qkv_proj")?.branch == .attention)
        #expect(t.op("ssm.in_proj")?.branch == .ssm)
        // Only the attention share of the context is cached: 2 * 1 * 590 * 2 * 16 * 2 = 75,520 bytes.
        #expect(approx(t.kvCacheBytes, 75_520))
    }

    @Test func balancedSplitEqualisesBranchTimes() throws {
        let block = "h: {mixer: {type: hybrid, layout: split, split: balanced, attention: {heads: 4, head_dim: 64}, ssm: {d_state: 16}}}"
        let scenario = try ScenarioLoader.decode(text: scenarioYAML(batch: 4, seqLen: 4096, dModel: 256, blocks: [block], layers: "[h]"),
                                                 file: "t.yaml")
        let lowering = Lowering(scenario: scenario)
        let graph = lowering.lower()
        let r = try #require(graph.templates[0].splitRatio)
        #expect(r > 0 && r < 1)
        guard case let .hybrid(h) = try #require(scenario.model.blocks["h"]).mixer else { Issue.record("not a hybrid"); return }
        let attention = lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: r, branch: .attention)
        let ssm = lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: r, branch: .ssm)
        // GEMM wave quantization makes each branch's time a step function of its tokens: the balance point is
        // where the difference changes sign, at a root or at a step.
        func difference(_ x: Double) -> Double {
            lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: x, branch: .attention)
                - lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: x, branch: .ssm)
        }
        #expect(approx(attention, ssm, rel: 1e-6) || (difference(r - 1e-6) < 0 && difference(r + 1e-6) > 0),
                "attention \(attention) s vs ssm \(ssm) s at r = \(r)")
        // The graph uses that ratio: attention gets r of each sequence's 4096 tokens, for 4 sequences.
        #expect(approx(try #require(graph.templates[0].op("attention.qkv_proj")?.kind.gemmRows), 4 * 4096 * r))
        // And it is a real balance point: moving 1% of the tokens either way unbalances it in the expected direction.
        #expect(lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: r + 0.01, branch: .attention)
                > lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: r + 0.01, branch: .ssm))
        #expect(lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: r - 0.01, branch: .attention)
                < lowering.branchSeconds(h, tokens: lowering.fullTokens, attentionShare: r - 0.01, branch: .ssm))
    }

    // MARK: Dynamic depth

    @Test func dynamicDepthExpectedExecutionsAndModelFlops() throws {
        // MLP-only layers are linear in tokens, so with gather compaction and a free router (width 0) the model
        // FLOPs are exactly (1 - skip + repeat) x the dense layer: (1 - 0.25 + 0.1) = 0.85.
        let (_, plain) = try lowered(scenarioYAML(seqLen: 256, blocks: [Blocks.mlpOnly], layers: "[m, m]"))
        let (_, depth) = try lowered(scenarioYAML(seqLen: 256, blocks: [Blocks.mlpOnly], layers: "[m, m]",
                                                  modelExtras: ["dynamic_depth: {skip: 0.25, repeat: 0.1, router_width: 0}"]))
        let t = depth.templates[0]
        #expect(approx(t.expectedExecutions, 0.85))
        #expect(plain.templates[0].expectedExecutions == 1)
        #expect(approx(t.denseModelFlops, plain.templates[0].totalModelFlops))
        #expect(approx(t.totalModelFlops, 0.85 * t.denseModelFlops))
        #expect(approx(depth.denseModelFlops, plain.denseModelFlops))
        // The executing pass gathers 0.75 * 256 = 192 rows; the repeat pass 0.1 * 256 = 25.6.
        let gathers = t.ops.filter { $0.name == "depth.gather" }.map { $0.kind }
        #expect(gathers == [.gatherScatter(rows: 192, width: 64), .gatherScatter(rows: 25.6, width: 64)])

        // Skipping alone shrinks the model FLOPs, attention layers included.
        let (_, attnPlain) = try lowered(scenarioYAML(seqLen: 256, blocks: [Blocks.attention], layers: "[attn]"))
        let (_, attnSkip) = try lowered(scenarioYAML(seqLen: 256, blocks: [Blocks.attention], layers: "[attn]",
                                                     modelExtras: ["dynamic_depth: {skip: 0.25}"]))
        #expect(approx(attnSkip.templates[0].expectedExecutions, 0.75))
        #expect(attnSkip.layerModelFlops < attnPlain.layerModelFlops)
        #expect(approx(attnSkip.templates[0].denseModelFlops, attnPlain.templates[0].totalModelFlops))
        // The router (default width 3) is charged: T * (2*d*3 + 5*3) = 256 * 399 = 102,144 FLOPs.
        #expect(approx(try #require(attnSkip.templates[0].op("depth.router")).flops, 102_144))
    }

    // MARK: Routed MLPs

    static func moeBlock(capacity: String) -> String {
        "moe: {mixer: {type: none}, mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 128, capacity_factor: \(capacity)}}"
    }

    @Test func capacityPaddingIsNotModelFlops() throws {
        // T = 512 tokens, top-2: 1024 assignments; capacity = ceil(1.25 * 1024/8) = 160 rows per expert, 8 experts
        // pad to 1280 rows. gate_up: 8 GEMMs of 160 x 256 x 64 = 2 * 1280 * 256 * 64 = 41,943,040 FLOPs, of which the
        // useful fraction is 1024 * (1 - dropped) / 1280 ≈ 0.8.
        let (_, graph) = try lowered(scenarioYAML(seqLen: 512, blocks: [Self.moeBlock(capacity: "1.25")], layers: "[moe]"))
        let t = graph.templates[0]
        let stats = try #require(t.routing)
        #expect(stats.capacityRows == 160)
        let gateUp = try #require(t.op("mlp.experts.gate_up"))
        #expect(gateUp.kind == .gemm(m: 160, n: 256, k: 64, count: 8))
        #expect(approx(gateUp.flops, 41_943_040))
        #expect(gateUp.modelFlops < gateUp.flops)
        #expect(approx(gateUp.modelFlops / gateUp.flops, 1024 * (1 - stats.droppedFraction) / 1280))
        #expect(approx(gateUp.modelFlops / gateUp.flops, 0.8, rel: 1e-3))
        #expect(t.totalModelFlops < t.totalFlops)
    }

    @Test func droplessSingleDeviceHasNoPadding() throws {
        let (_, graph) = try lowered(scenarioYAML(seqLen: 512, blocks: [Self.moeBlock(capacity: "dropless")], layers: "[moe]"))
        let t = graph.templates[0]
        for op in t.ops { #expect(op.modelFlops == op.flops, "\(op.name)") }
        #expect(t.routing?.capacityRows == nil)
    }

    @Test func droplessSingleDeviceProcessesEveryAssignment() throws {
        // Dropless = grouped GEMM over the actual loads (MegaBlocks): on one device, all 8 experts together process
        // every one of the T*k = 512*2 = 1024 assignments, whatever the imbalance. gate_up (SwiGLU, 2*128 wide):
        // 2 * 1024 * 256 * 64 = 33,554,432 FLOPs; down: 2 * 1024 * 64 * 128 = 16,777,216.
        let (_, graph) = try lowered(scenarioYAML(seqLen: 512, blocks: [Self.moeBlock(capacity: "dropless")], layers: "[moe]"))
        let t = graph.templates[0]
        let gateUp = try #require(t.op("mlp.experts.gate_up")), down = try #require(t.op("mlp.experts.down"))
        #expect(approx(gateUp.flops, 33_554_432), "gate_up \(gateUp.kind)")
        #expect(approx(down.flops, 16_777_216), "down \(down.kind)")
    }

    @Test func fffLeavesProcessEveryToken() throws {
        // FFF depth 3 (8 leaves of width 32, GELU), T = 128: the touched leaves process 128 rows in total, so
        // the up GEMMs cost 2 * 128 * 32 * 64 = 524,288 FLOPs; tree descent: 128 * 3 * (2*64*1 + 2) = 49,920.
        let block = "f: {mixer: {type: none}, mlp: {type: fff, depth: 3, leaf_width: 32}}"
        let (_, graph) = try lowered(scenarioYAML(seqLen: 128, blocks: [block], layers: "[f]"))
        let t = graph.templates[0]
        #expect(approx(try #require(t.op("mlp.leaves.up")).flops, 524_288))
        #expect(approx(try #require(t.op("mlp.tree_descent")).flops, 49_920))
        #expect(t.routing?.experts == 8)
        // Parameters: 7 nodes * (64 + 1 bias) + 8 leaves * (2 * 64 * 32 + 32 + 64 biases) + norm 64
        // = 455 + 33,536 + 64 = 34,055 (fastfeedforward fff.py: node_biases, b1s, b2s).
        #expect(approx(t.parameters, 34_055))
    }
}
