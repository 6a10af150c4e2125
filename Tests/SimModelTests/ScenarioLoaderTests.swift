import Foundation
import Testing
@testable import SimModel

/// ScenarioLoader on inline YAML. Line numbers refer to the layout documented at `scenarioYAML`:
/// 1 schema_version, 2 name, 3 hardware, 4 workload, 5 model, 6 d_model, 7 vocab, 8 blocks, 9 first block.
@Suite struct ScenarioLoaderTests {
    // MARK: Valid scenarios

    @Test(arguments: [
        // (block line, what must come out)
        "b: {mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 16, causal: false, window: 64}, mlp: {type: dense, ffn_dim: 128}}",
        "b: {mixer: {type: ssm, variant: mamba1, d_state: 16, expand: 2, d_conv: 4, dt_rank: auto}}",
        "b: {mixer: {type: ssm, variant: mamba2, d_state: 64, head_dim: 32, groups: 2}, mlp: {type: dense, activation: gelu, ffn_dim: 128}}",
        "b: {mixer: {type: hybrid, layout: sequential, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}",
        "b: {mixer: {type: hybrid, layout: parallel, fusion: gate, placement: separate_lanes, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}",
        "b: {mixer: {type: hybrid, layout: split, split: 0.59, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}",
        "b: {mixer: {type: hybrid, layout: split, split: balanced, placement: {type: separate_lanes, attention_share: 0.7}, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}",
        "b: {mixer: {type: none}, mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 64, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}, devices: 2, shared_experts: 1}}",
        "b: {mixer: {type: none}, mlp: {type: moe, experts: 4, top_k: 1, expert_ffn_dim: 64, capacity_factor: dropless, routing: {type: explicit, loads: [1, 2, 3, 4]}}}",
        "b: {mixer: {type: none}, mlp: {type: moe, experts: 4, top_k: 2, expert_ffn_dim: 64, routing: {type: dirichlet, concentration: 0.5}}}",
        "b: {mixer: {type: attention, heads: 2, head_dim: 32}, mlp: {type: fff, depth: 3, leaf_width: 32, master_leaf_width: 8}}",
        "b: {mixer: {type: attention, heads: 2, head_dim: 32}, mlp: {type: none}}",
    ])
    func validBlockDecodes(block: String) throws {
        let s = try ScenarioLoader.decode(text: scenarioYAML(blocks: [block], layers: "[b, b]"), file: "t.yaml")
        #expect(s.model.layers == ["b", "b"])
        let spec = try #require(s.model.blocks["b"])
        #expect(s.name == "t")
        #expect(s.model.dModel == 64)
        #expect(s.workload == Workload(phase: .prefill, batch: 1, seqLen: 128, dtype: .bf16))
        #expect(s.hardware.name == "nvidia-h100-sxm")
        // Each line decodes to the kind it names.
        if block.contains("type: attention, heads: 4, kv_heads: 2") {
            #expect(spec.mixer == .attention(AttentionSpec(heads: 4, kvHeads: 2, headDim: 16, causal: false, window: 64)))
            #expect(spec.mlp == .dense(DenseMLPSpec(activation: .swiglu, ffnDim: 128)))
        } else if block.contains("variant: mamba1") {
            #expect(spec.mixer == .ssm(SSMSpec(variant: .mamba1, dState: 16, expand: 2, dConv: 4, dtRank: nil)))
            #expect(spec.mlp == nil)
        } else if block.contains("variant: mamba2") {
            #expect(spec.mixer == .ssm(SSMSpec(variant: .mamba2, dState: 64, headDim: 32, groups: 2)))
            #expect(spec.mlp == .dense(DenseMLPSpec(activation: .gelu, ffnDim: 128)))
        } else if block.contains("layout: sequential") {
            guard case let .hybrid(h) = spec.mixer else { Issue.record("not a hybrid"); return }
            #expect(h.layout == .sequential)
            #expect(h.placement == .sameLane)
            #expect(h.attention.kvHeads == 4)   // kv_heads defaults to heads (MHA)
        } else if block.contains("layout: parallel") {
            guard case let .hybrid(h) = spec.mixer else { Issue.record("not a hybrid"); return }
            #expect(h.fusion == .gate)
            #expect(h.placement == .separateLanes(attentionShare: 0.5))
        } else if block.contains("split: 0.59") {
            guard case let .hybrid(h) = spec.mixer else { Issue.record("not a hybrid"); return }
            #expect(h.split == .fixed(0.59))
            #expect(h.fusion == .sequenceConcat)   // the split layout's default (and only) fusion
        } else if block.contains("split: balanced") {
            guard case let .hybrid(h) = spec.mixer else { Issue.record("not a hybrid"); return }
            #expect(h.split == .balanced)
            #expect(h.placement == .separateLanes(attentionShare: 0.7))
        } else if block.contains("devices: 2") {
            #expect(spec.mixer == .none)
            #expect(spec.mlp == .moe(MoESpec(experts: 8, topK: 2, expertFFNDim: 64, sharedExperts: 1, capacity: .factor(1.25),
                                             routing: .zipf(exponent: 1.2), devices: 2)))
        } else if block.contains("type: explicit") {
            #expect(spec.mlp == .moe(MoESpec(experts: 4, topK: 1, expertFFNDim: 64, capacity: .dropless,
                                             routing: .explicit(loads: [1, 2, 3, 4]))))
        } else if block.contains("type: dirichlet") {
            #expect(spec.mlp == .moe(MoESpec(experts: 4, topK: 2, expertFFNDim: 64, routing: .dirichlet(concentration: 0.5))))
        } else if block.contains("type: fff") {
            #expect(spec.mlp == .fff(FFFSpec(depth: 3, leafWidth: 32, masterLeafWidth: 8)))
        } else {
            #expect(spec.mlp == nil)
        }
    }

    @Test func patternLayersAndDynamicDepth() throws {
        let yaml = scenarioYAML(blocks: [Blocks.attention, Blocks.ssm], layers: "{pattern: [attn, ssm, ssm], repeat: 8}",
                                modelExtras: ["dynamic_depth: {skip: 0.2, repeat: 0.1, compaction: full_batch, granularity: sequence}"])
        let s = try ScenarioLoader.decode(text: yaml, file: "t.yaml")
        #expect(s.model.layers.count == 24)
        #expect(s.model.layers.prefix(3) == ["attn", "ssm", "ssm"])
        let depth = try #require(s.model.dynamicDepth)
        #expect(depth.skip == Array(repeating: 0.2, count: 24))
        #expect(depth.repeatProbability == Array(repeating: 0.1, count: 24))
        #expect(depth.compaction == .fullBatch)
        #expect(depth.granularity == .sequence)
        #expect(depth.routerWidth == 3)
        #expect(approx(depth.executeProbability(layer: 5), 0.7))
    }

    @Test func scenarioWithoutNameDecodesInline() throws {
        // `name` is optional (it defaults to the file's stem). decode(text:) with its default file "<inline>" must
        // still accept a valid scenario that has no name, rather than reject a name the user never wrote.
        let yaml = scenarioYAML(name: nil, blocks: [Blocks.attention], layers: "[attn]")
        let s = try ScenarioLoader.decode(text: yaml)
        #expect(!s.name.isEmpty)
        // With a real file name, the stem is used.
        let named = try ScenarioLoader.decode(text: yaml, file: "dir/my-run.yaml")
        #expect(named.name == "my-run")
    }

    // MARK: Errors

    @Test func unknownKeySuggestsSpelling() throws {
        let yaml = scenarioYAML(blocks: [Blocks.attention], layers: "[attn]").replacingOccurrences(of: "d_model:", with: "d_modle:")
        let e = try #require(decodeError(yaml, file: "typo.yaml"))
        #expect(e.keyPath == "model.d_modle")
        #expect(e.line == 6)
        #expect(e.problem.contains("unknown key `d_modle`"))
        #expect(e.problem.contains("did you mean `d_model`?"))
        // The description names the file, the line and the key path.
        #expect(e.description.hasPrefix("typo.yaml:6: "))
        #expect(e.description.contains("`model.d_modle`"))
        #expect(e.file == "typo.yaml")
    }

    @Test func unknownTopLevelKey() throws {
        let yaml = scenarioYAML(blocks: [Blocks.attention], layers: "[attn]").replacingOccurrences(of: "workload:", with: "workloads:")
        let e = try #require(decodeError(yaml))
        #expect(e.keyPath == "workloads")
        #expect(e.line == 4)
        #expect(e.problem.contains("did you mean `workload`?"))
    }

    @Test func topKMoreThanExperts() throws {
        let block = "b: {mixer: {type: none}, mlp: {type: moe, experts: 4, top_k: 5, expert_ffn_dim: 64}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[b]")))
        #expect(e.keyPath == "model.blocks.b.mlp.top_k")
        #expect(e.line == 9)
        #expect(e.problem.contains("top_k 5"))
        #expect(e.description.contains("t.yaml:9"))
    }

    @Test func mamba2GroupsMustDivideHeads() throws {
        // d_model 256, expand 2, head_dim 32: 16 heads; 3 groups cannot share B and C evenly.
        let block = "b: {mixer: {type: ssm, variant: mamba2, d_state: 64, head_dim: 32, groups: 3}}"
        let e = try #require(decodeError(scenarioYAML(dModel: 256, blocks: [block], layers: "[b]")))
        #expect(e.keyPath == "model.blocks.b.mixer.groups")
        #expect(e.problem.contains("do not divide the 16 heads"))
        #expect(e.allowed == "a divisor of 16")
    }

    @Test(arguments: ["1.5", "-0.1"])
    func splitOutsideUnitInterval(value: String) throws {
        let block = "h: {mixer: {type: hybrid, layout: split, split: \(value), attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[h]")))
        #expect(e.keyPath == "model.blocks.h.mixer.split")
        #expect(e.line == 9)
        #expect(e.problem.contains("out of range"))
    }

    @Test func splitForNonSplitLayout() throws {
        let block = "h: {mixer: {type: hybrid, layout: parallel, split: 0.5, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[h]")))
        #expect(e.keyPath == "model.blocks.h.mixer.split")
        #expect(e.line == 9)
        #expect(e.problem.contains("only to layout: split"))
    }

    @Test func splitLayoutWithoutSplit() throws {
        let block = "h: {mixer: {type: hybrid, layout: split, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[h]")))
        #expect(e.keyPath == "model.blocks.h.mixer.split")
        #expect(e.problem.contains("missing"))
    }

    @Test func unknownProfileSuggestsTheIntendedOne() throws {
        // A user who types `nvidia-h100` means the H100 profile `nvidia-h100-sxm`.
        let e = try #require(decodeError(scenarioYAML(hardware: "nvidia-h100", blocks: [Blocks.attention], layers: "[attn]")))
        #expect(e.keyPath == "hardware")
        #expect(e.line == 3)
        #expect(e.problem.contains("is not a built-in profile"))
        #expect(e.problem.contains("did you mean `nvidia-h100-sxm`?"), "got: \(e.problem)")
    }

    @Test func nearMissProfileNameIsSuggested() throws {
        let e = try #require(decodeError(scenarioYAML(hardware: "nvidia-h100-sx", blocks: [Blocks.attention], layers: "[attn]")))
        #expect(e.keyPath == "hardware")
        #expect(e.problem.contains("did you mean `nvidia-h100-sxm`?"))
        #expect(e.allowed?.contains("generic-cpu") == true)
    }

    @Test func fp8OnA100() throws {
        let e = try #require(decodeError(scenarioYAML(hardware: "nvidia-a100-sxm-80gb", dtype: "fp8", blocks: [Blocks.attention],
                                                      layers: "[attn]")))
        #expect(e.keyPath == "workload.dtype")
        #expect(e.line == 4)
        #expect(e.problem.contains("no fp8 peak"))
        #expect(e.allowed?.contains("bf16") == true)
        // The same scenario in bf16 is fine.
        #expect(decodeError(scenarioYAML(hardware: "nvidia-a100-sxm-80gb", dtype: "bf16", blocks: [Blocks.attention],
                                         layers: "[attn]")) == nil)
    }

    @Test func kvHeadsMustDivideHeads() throws {
        let block = "b: {mixer: {type: attention, heads: 4, kv_heads: 3, head_dim: 16}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[b]")))
        #expect(e.keyPath == "model.blocks.b.mixer.kv_heads")
        #expect(e.line == 9)
        #expect(e.problem.contains("does not divide"))
        // Inside a hybrid's attention (whose keys have no `type`).
        let hybrid = "h: {mixer: {type: hybrid, layout: parallel, attention: {heads: 6, kv_heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"
        let h = try #require(decodeError(scenarioYAML(blocks: [hybrid], layers: "[h]")))
        #expect(h.keyPath == "model.blocks.h.mixer.attention.kv_heads")
    }

    @Test func devicesMustDivideExperts() throws {
        let block = "b: {mixer: {type: none}, mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 64, devices: 3}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[b]")))
        #expect(e.keyPath == "model.blocks.b.mlp.devices")
        #expect(e.line == 9)
        #expect(e.problem.contains("do not divide"))
    }

    @Test func explicitLoadsOfTheWrongCount() throws {
        let block = "b: {mixer: {type: none}, mlp: {type: moe, experts: 4, top_k: 1, expert_ffn_dim: 64, routing: {type: explicit, loads: [1, 2, 3]}}}"
        let e = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[b]")))
        #expect(e.keyPath == "model.blocks.b.mlp.routing.loads")
        #expect(e.line == 9)
        #expect(e.problem.contains("3 loads given for 4 experts"))
        // FFF leaves: depth 2 = 4 leaves.
        let fff = "b: {mixer: {type: none}, mlp: {type: fff, depth: 2, leaf_width: 8, routing: {type: explicit, loads: [1, 2]}}}"
        let f = try #require(decodeError(scenarioYAML(blocks: [fff], layers: "[b]")))
        #expect(f.problem.contains("2 loads given for 4 leaves"))
    }

    @Test func skipPlusRepeatAboveOne() throws {
        let yaml = scenarioYAML(blocks: [Blocks.attention], layers: "[attn, attn]",
                                modelExtras: ["dynamic_depth: {skip: [0.1, 0.6], repeat: 0.5}"])
        let e = try #require(decodeError(yaml))
        // Lines: 9 block, 10 layers, 11 dynamic_depth.
        #expect(e.keyPath == "model.dynamic_depth.skip")
        #expect(e.line == 11)
        #expect(e.problem.contains("layer 1"))
        #expect(e.problem.contains("more than 1"))
    }

    @Test func unknownBlockInLayers() throws {
        let e = try #require(decodeError(scenarioYAML(blocks: [Blocks.attention, Blocks.ssm], layers: "[attn, ssn]")))
        #expect(e.keyPath == "model.layers[1]")
        #expect(e.line == 11)   // 9 attn, 10 ssm, 11 layers
        #expect(e.problem.contains("`ssn` is not a block"))
        #expect(e.problem.contains("did you mean `ssm`?"))
        let pattern = try #require(decodeError(scenarioYAML(blocks: [Blocks.attention], layers: "{pattern: [attn, nope], repeat: 2}")))
        #expect(pattern.keyPath == "model.layers.pattern[1]")
    }

    @Test func malformedYAML() throws {
        let e = try #require(decodeError("model: [unclosed", file: "bad.yaml"))
        #expect(e.problem.hasPrefix("malformed YAML"))
        #expect(e.keyPath == "")
        #expect(e.file == "bad.yaml")
        let line = try #require(e.line)
        #expect(line >= 1 && line <= 2)
        #expect(e.description.hasPrefix("bad.yaml:\(line): malformed YAML"))
    }

    @Test func emptyDocument() throws {
        for text in ["", "# only a comment\n"] {
            let e = try #require(decodeError(text, file: "empty.yaml"))
            #expect(e.problem.contains("empty"))
            #expect(e.line == 1)
            #expect(e.description.hasPrefix("empty.yaml:1:"))
        }
    }

    @Test func newerSchemaVersion() throws {
        let yaml = scenarioYAML(blocks: [Blocks.attention], layers: "[attn]")
            .replacingOccurrences(of: "schema_version: 1", with: "schema_version: 2")
        let e = try #require(decodeError(yaml))
        #expect(e.keyPath == "schema_version")
        #expect(e.line == 1)
        #expect(e.problem.contains("newer"))
    }

    @Test func missingRequiredKey() throws {
        // Drop the workload line (line 4): the error is at the root mapping (line 1).
        let yaml = scenarioYAML(blocks: [Blocks.attention], layers: "[attn]")
            .split(separator: "\n").filter { !$0.hasPrefix("workload:") }.joined(separator: "\n")
        let e = try #require(decodeError(yaml, file: "nowork.yaml"))
        #expect(e.keyPath == "workload")
        #expect(e.line == 1)
        #expect(e.problem.contains("required key `workload` is missing"))
        #expect(e.description.contains("nowork.yaml"))
        #expect(e.description.contains("`workload`"))
        // A missing key inside a block names its full path.
        let block = "b: {mixer: {type: attention, heads: 4}}"
        let inner = try #require(decodeError(scenarioYAML(blocks: [block], layers: "[b]")))
        #expect(inner.keyPath == "model.blocks.b.mixer.head_dim")
    }

    @Test func wrongTypeIsAnInputError() throws {
        let yaml = scenarioYAML(blocks: [Blocks.attention], layers: "[attn]", modelExtras: [])
            .replacingOccurrences(of: "d_model: 64", with: "d_model: wide")
        let e = try #require(decodeError(yaml))
        #expect(e.keyPath == "model.d_model")
        #expect(e.line == 6)
        #expect(e.problem.contains("whole number"))
    }

    @Test func descriptionFormat() {
        let e = InputError(file: "a.yaml", line: 7, keyPath: "model.vocab", problem: "too big", allowed: "1 to 10")
        #expect(e.description == "a.yaml:7: at `model.vocab`: too big. Allowed: 1 to 10.")
        let bare = InputError(file: "<inline>", keyPath: "", problem: "the document is empty.")
        #expect(bare.description == "<inline>: the document is empty.")
    }
}
