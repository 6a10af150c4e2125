import Foundation

/// Decodes scenario YAML (schema version 1) strictly and validates it once.
///
/// Every key is documented in the README's "Scenario schema" section. Unknown keys, wrong
/// types and impossible values are ``InputError``s naming the file, line and key path.
public enum ScenarioLoader {
    /// `sweep` is read by the Sweeps module (`hybridsim sweep`); `run` evaluates the base scenario.
    static let topKeys = ["schema_version", "name", "description", "seed", "hardware", "model", "workload", "execution", "sweep"]
    static let executionKeys = ["graphs", "fuse"]
    static let modelKeys = ["d_model", "vocab", "include_embedding", "blocks", "layers", "dynamic_depth"]
    static let blockKeys = ["mixer", "mlp"]
    static let attentionKeys = ["type", "heads", "kv_heads", "head_dim", "causal", "window"]
    static let ssmKeys = ["type", "variant", "d_state", "expand", "d_conv", "dt_rank", "head_dim", "groups"]
    static let hybridKeys = ["type", "layout", "split", "fusion", "placement", "attention", "ssm"]
    static let denseKeys = ["type", "activation", "ffn_dim"]
    static let moeKeys = ["type", "experts", "top_k", "expert_ffn_dim", "activation", "shared_experts", "shared_ffn_dim",
                          "capacity_factor", "routing", "devices"]
    static let fffKeys = ["type", "variant", "depth", "leaf_width", "node_width", "activation", "master_leaf_width", "routing", "training"]
    static let routingKeys = ["type", "exponent", "concentration", "loads"]
    static let workloadKeys = ["phase", "batch", "seq_len", "dtype", "activation_recomputation"]
    static let depthKeys = ["skip", "repeat", "router_width", "compaction", "granularity"]

    /// Loads and validates a scenario file.
    public static func load(path: String) throws -> Scenario {
        let root = try YAMLNode.load(path: path)
        let directory = (path as NSString).deletingLastPathComponent
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try decode(root, defaultName: stem, directory: directory.isEmpty ? "." : directory)
    }

    /// Decodes and validates scenario YAML text.
    public static func decode(text: String, file: String = "<inline>", directory: String = ".") throws -> Scenario {
        let root = try YAMLNode.parse(text, file: file)
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        return try decode(root, defaultName: stem, directory: directory)
    }

    public static func decode(_ root: YAMLNode, defaultName: String, directory: String, hardware resolved: HardwareProfile? = nil) throws -> Scenario {
        let map = try root.mapping(allowed: topKeys)
        if let versionNode = map["schema_version"] {
            let version = try versionNode.int(allowed: "1")
            guard version == Scenario.schemaVersion else {
                throw versionNode.error(version > Scenario.schemaVersion
                    ? "this scenario is schema version \(version), written for a newer HybridSim; this build reads schema version 1"
                    : "schema version \(version) does not exist", allowed: "schema_version: 1")
            }
        }
        let name = try map["name"]?.string() ?? usableName(defaultName)
        guard !name.isEmpty, name.range(of: "^[A-Za-z0-9._-]+$", options: .regularExpression) != nil else {
            throw (map["name"] ?? root).error("the scenario name `\(name)` is not usable as a folder name", allowed: "letters, digits, '.', '_' and '-'")
        }
        let description = try map["description"]?.string() ?? ""
        let seed = try map["seed"].map { UInt64(try $0.int(in: 0...Int.max, allowed: "a whole number from 0 to \(Int.max)")) } ?? 1
        // A caller that evaluates many variants of one scenario resolves the profile once.
        let hardwareNode = try map.required("hardware", allowed: "a built-in profile name, a path to a profile YAML, or an inline mapping")
        let hardware = try resolved ?? HardwareProfileLoader.resolve(hardwareNode, relativeTo: directory)
        let workload = try decodeWorkload(map.required("workload"), hardware: hardware)
        let model = try decodeModel(map.required("model"), hardware: hardware)
        let execution = try map["execution"].map(decodeExecution) ?? ExecutionSpec()
        return Scenario(name: name, description: description, file: root.file, hardware: hardware, model: model,
                        workload: workload, seed: seed, execution: execution)
    }

    static func decodeExecution(_ node: YAMLNode) throws -> ExecutionSpec {
        let map = try node.mapping(allowed: executionKeys)
        let graphs = try map["graphs"]?.bool() ?? false
        var fuse: Set<OpRole> = []
        if let list = map["fuse"] {
            let names = OpRole.fusible.keys.sorted()
            for item in try list.list() {
                let name = try item.choice(names)
                for role in OpRole.fusible[name] ?? [] { fuse.insert(role) }
            }
        }
        return ExecutionSpec(graphs: graphs, fuse: fuse)
    }

    /// A file stem made usable as a scenario name: other characters become '-'; nothing usable gives "scenario".
    static func usableName(_ stem: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let mapped = String(stem.map { allowed.contains($0) ? $0 : "-" })
        let trimmed = mapped.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return trimmed.isEmpty ? "scenario" : trimmed
    }

    // MARK: Workload

    static func decodeWorkload(_ node: YAMLNode, hardware: HardwareProfile) throws -> Workload {
        let map = try node.mapping(allowed: workloadKeys)
        let phases = Workload.Phase.allCases.map(\.rawValue)
        let phase = Workload.Phase(rawValue: try map.required("phase", allowed: phases.joined(separator: ", ")).choice(phases)) ?? .prefill
        let batch = try map.required("batch").int(in: 1...1_000_000, allowed: "a whole number from 1 to 1000000")
        let seqLen = try map.required("seq_len").int(in: 1...100_000_000, allowed: "a whole number from 1 to 100000000")
        let dtypeNode = try map.required("dtype", allowed: DType.allCases.map(\.rawValue).joined(separator: ", "))
        let dtype = DType(rawValue: try dtypeNode.choice(DType.allCases.map(\.rawValue))) ?? .bf16
        guard hardware.peakFlops[dtype] != nil else {
            let supported = DType.allCases.filter { hardware.peakFlops[$0] != nil }.map(\.rawValue)
            throw dtypeNode.error("the hardware profile `\(hardware.name)` has no \(dtype.rawValue) peak",
                                  allowed: "a dtype the profile supports: \(supported.joined(separator: ", "))")
        }
        var recomputation = Workload.Recomputation.none
        if let node = map["activation_recomputation"] {
            let choices = Workload.Recomputation.allCases.map(\.rawValue)
            recomputation = Workload.Recomputation(rawValue: try node.choice(choices)) ?? .none
            guard phase == .train || recomputation == .none else {
                throw node.error("activation recomputation applies to training only (this workload's phase is \(phase.rawValue))",
                                 allowed: "none, or phase: train")
            }
        }
        return Workload(phase: phase, batch: batch, seqLen: seqLen, dtype: dtype, recomputation: recomputation)
    }

    // MARK: Model

    static func decodeModel(_ node: YAMLNode, hardware: HardwareProfile) throws -> ModelSpec {
        let map = try node.mapping(allowed: modelKeys)
        let dModel = try map.required("d_model").int(in: 1...1_000_000, allowed: "a whole number from 1 to 1000000")
        let vocab = try map["vocab"]?.int(in: 1...100_000_000, allowed: "a whole number from 1 to 100000000") ?? 32000
        let includeEmbedding = try map["include_embedding"]?.bool() ?? true
        let blocksNode = try map.required("blocks", allowed: "a mapping from block name to {mixer, mlp}")
        let blocksMap = try blocksNode.openMapping()
        guard !blocksMap.entries.isEmpty else { throw blocksNode.error("no blocks are defined", allowed: "at least one named block") }
        var blocks: [String: BlockSpec] = [:]
        for (name, value) in blocksMap.entries {
            blocks[name] = try decodeBlock(value, dModel: dModel, hardware: hardware)
        }
        let names = blocksMap.keys
        let layers = try decodeLayers(map.required("layers", allowed: "a list of block names, or {pattern: [names], repeat: N}"), blockNames: names)
        let depth = try map["dynamic_depth"].map { try decodeDynamicDepth($0, layers: layers.count) }
        // The analytic engine's routing statistics are linear in the routed width of the distinct blocks used.
        let routed = Set(layers).reduce(0) { total, name in
            let w = blocks[name].map(Limits.routedWidth) ?? 0
            return total > Limits.routedWidth || w > Limits.routedWidth ? Limits.routedWidth + 1 : total + w
        }
        guard routed <= Limits.routedWidth else {
            throw blocksNode.error("the blocks the layers use route over more than \(Limits.routedWidth) experts or FFF leaves (x parallel trees) in all",
                                   allowed: "at most \(Limits.routedWidth) in all (Limits.routedWidth)")
        }
        let model = ModelSpec(dModel: dModel, vocab: vocab, blocks: blocks, layers: layers, includeEmbedding: includeEmbedding,
                              dynamicDepth: depth)
        // One step of the event engine (the costlier engine) must be within the engines' work limit, so a model
        // `check` accepts runs; more steps are checked against the same limit before a run starts.
        let work = Limits.work(model, steps: 1)
        guard work <= Limits.work else {
            throw blocksNode.error("one step of \(layers.count) layers is \(String(format: "%.3g", work)) layer-steps of engine work (a routed layer counts 1 + experts/256)",
                                   allowed: "at most \(String(format: "%.0f", Limits.work)) (Limits.work): fewer layers or experts")
        }
        return model
    }

    static func decodeLayers(_ node: YAMLNode, blockNames: [String]) throws -> [String] {
        func check(_ item: YAMLNode) throws -> String {
            let name = try item.string()
            guard blockNames.contains(name) else {
                var problem = "`\(name)` is not a block defined under model.blocks"
                if let guess = Spelling.suggestion(for: name, among: blockNames) { problem += " (did you mean `\(guess)`?)" }
                throw item.error(problem, allowed: blockNames.joined(separator: ", "))
            }
            return name
        }
        var layers: [String]
        if node.isSequence {
            layers = try node.list().map(check)
        } else {
            let map = try node.mapping(allowed: ["pattern", "repeat"])
            let pattern = try map.required("pattern", allowed: "a list of block names").list().map(check)
            let repeatNode = map["repeat"]
            let repeats = try repeatNode?.int(in: 1...Limits.layers, allowed: "a whole number from 1 to \(Limits.layers)") ?? 1
            guard pattern.count * repeats <= Limits.layers else {
                throw (repeatNode ?? node).error("\(pattern.count) x \(repeats) = \(pattern.count * repeats) layers is more than this tool models",
                                                 allowed: "at most \(Limits.layers) layers (Limits.layers)")
            }
            layers = []
            for _ in 0..<repeats { layers += pattern }
        }
        guard !layers.isEmpty else { throw node.error("the model has no layers", allowed: "at least one block name") }
        guard layers.count <= Limits.layers else {
            throw node.error("\(layers.count) layers is more than this tool models", allowed: "at most \(Limits.layers) layers (Limits.layers)")
        }
        return layers
    }

    static func decodeBlock(_ node: YAMLNode, dModel: Int, hardware: HardwareProfile) throws -> BlockSpec {
        let map = try node.mapping(allowed: blockKeys)
        let mixer = try decodeMixer(map.required("mixer", allowed: "{type: attention | ssm | hybrid | none, ...}"), dModel: dModel)
        let mlp = try map["mlp"].map(decodeMLP) ?? nil
        try checkDevices(map, mixer: mixer, mlp: mlp, hardware: hardware)
        if case .none = mixer, mlp == nil {
            throw node.error("the block has neither a mixer nor an MLP", allowed: "a mixer other than none, or an mlp")
        }
        return BlockSpec(mixer: mixer, mlp: mlp)
    }

    /// Placements and expert parallelism must fit the profile's devices and have a link between them.
    static func checkDevices(_ map: YAMLMapping, mixer: MixerSpec, mlp: MLPSpec?, hardware: HardwareProfile) throws {
        if case let .hybrid(h) = mixer, h.placement == .separateDevices {
            let at = map["mixer"] ?? map.owner
            guard hardware.devicesPerNode >= 2, hardware.interconnect != nil else {
                throw at.error("placement separate_devices needs two devices joined by a link, but the profile `\(hardware.name)` has \(hardware.devicesPerNode) device(s) and \(hardware.links.isEmpty ? "no links" : "links")",
                               allowed: "same_lane or separate_lanes on this profile, or a profile with devices_per_node >= 2 and links")
            }
        }
        if case let .moe(m) = mlp, m.devices > 1 {
            let at = map["mlp"] ?? map.owner
            guard m.devices <= hardware.devicesPerNode, hardware.interconnect != nil else {
                throw at.error("expert parallelism over \(m.devices) devices needs that many devices joined by a link; the profile `\(hardware.name)` has \(hardware.devicesPerNode) and \(hardware.links.count) link(s)",
                               allowed: "devices from 1 to \(hardware.devicesPerNode)\(hardware.interconnect == nil ? " (1: the profile has no links)" : "")")
            }
        }
    }

    static func typeOf(_ node: YAMLNode, choices: [String]) throws -> String {
        let map = try node.mapping(allowed: [])
        return try map.required("type", allowed: choices.joined(separator: ", ")).choice(choices)
    }

    static func decodeMixer(_ node: YAMLNode, dModel: Int) throws -> MixerSpec {
        switch try typeOf(node, choices: ["attention", "ssm", "hybrid", "none"]) {
        case "attention": return .attention(try decodeAttention(node))
        case "ssm": return .ssm(try decodeSSM(node, dModel: dModel))
        case "hybrid": return .hybrid(try decodeHybrid(node, dModel: dModel))
        default:
            _ = try node.mapping(allowed: ["type"])
            return .none
        }
    }

    static func decodeAttention(_ node: YAMLNode, typed: Bool = true) throws -> AttentionSpec {
        let map = try node.mapping(allowed: typed ? attentionKeys : attentionKeys.filter { $0 != "type" })
        let heads = try map.required("heads").int(in: 1...65_536, allowed: "a whole number from 1 to 65536")
        let kvNode = map["kv_heads"]
        let kvHeads = try kvNode?.int(in: 1...65_536, allowed: "a whole number from 1 to 65536 that divides heads") ?? heads
        guard kvHeads <= heads, heads % kvHeads == 0 else {
            throw (kvNode ?? node).error("kv_heads \(kvHeads) does not divide heads \(heads)",
                                         allowed: "a divisor of heads (1 for MQA, heads for MHA, anything between for GQA)")
        }
        let headDim = try map.required("head_dim").int(in: 1...65_536, allowed: "a whole number from 1 to 65536")
        let causal = try map["causal"]?.bool() ?? true
        let window = try map["window"]?.int(in: 1...100_000_000, allowed: "a window of at least 1 token, or null for full attention")
        return AttentionSpec(heads: heads, kvHeads: kvHeads, headDim: headDim, causal: causal, window: window)
    }

    static func decodeSSM(_ node: YAMLNode, dModel: Int, typed: Bool = true) throws -> SSMSpec {
        let map = try node.mapping(allowed: typed ? ssmKeys : ssmKeys.filter { $0 != "type" })
        let variants = SSMSpec.Variant.allCases.map(\.rawValue)
        let variant = SSMSpec.Variant(rawValue: try map["variant"]?.choice(variants) ?? "mamba1") ?? .mamba1
        let dState = try map["d_state"]?.int(in: 1...4096, allowed: "a whole number from 1 to 4096") ?? (variant == .mamba1 ? 16 : 128)
        let expand = try map["expand"]?.int(in: 1...64, allowed: "a whole number from 1 to 64") ?? 2
        let dConv = try map["d_conv"]?.int(in: 1...64, allowed: "a whole number from 1 to 64") ?? 4
        var dtRank: Int? = nil
        if let rankNode = map["dt_rank"] {
            if (try? rankNode.string()) == "auto" { dtRank = nil } else {
                dtRank = try rankNode.int(in: 1...1_000_000, allowed: "auto, or a whole number of at least 1")
            }
        }
        let headDimNode = map["head_dim"]
        let headDim = try headDimNode?.int(in: 1...65_536, allowed: "a whole number from 1 to 65536") ?? 64
        let groups = try map["groups"]?.int(in: 1...65_536, allowed: "a whole number from 1 to 65536") ?? 1
        let spec = SSMSpec(variant: variant, dState: dState, expand: expand, dConv: dConv, dtRank: dtRank, headDim: headDim, groups: groups)
        if variant == .mamba2, spec.dInner(dModel: dModel) % headDim != 0 {
            throw (headDimNode ?? node).error("head_dim \(headDim) does not divide d_inner = expand x d_model = \(spec.dInner(dModel: dModel))",
                                              allowed: "a divisor of \(spec.dInner(dModel: dModel))")
        }
        if variant == .mamba2, spec.heads(dModel: dModel) % groups != 0 {
            let heads = spec.heads(dModel: dModel)
            throw (map["groups"] ?? node).error("groups \(groups) do not divide the \(heads) heads (d_inner / head_dim): each group's B and C serve heads / groups heads",
                                                allowed: "a divisor of \(heads)")
        }
        return spec
    }

    static func decodeHybrid(_ node: YAMLNode, dModel: Int) throws -> HybridSpec {
        let map = try node.mapping(allowed: hybridKeys)
        let layouts = HybridSpec.Layout.allCases.map(\.rawValue)
        let layout = HybridSpec.Layout(rawValue: try map.required("layout", allowed: layouts.joined(separator: ", ")).choice(layouts)) ?? .parallel
        var split = HybridSpec.Split.fixed(1)
        if let splitNode = map["split"] {
            guard layout == .split else {
                throw splitNode.error("`split` applies only to layout: split (this block's layout is \(layout.rawValue))",
                                      allowed: "remove split, or set layout: split")
            }
            let word = try? splitNode.string()
            if word == "balanced" {
                split = .balanced
            } else if word == "optimal" {
                split = .optimal
            } else {
                split = .fixed(try splitNode.double(in: 0...1, allowed: "a fraction of tokens for attention from 0 to 1, `balanced` or `optimal`"))
            }
        } else if layout == .split {
            throw InputError(file: node.file, line: node.line, keyPath: node.keyPath + ".split",
                             problem: "the required key `split` is missing (layout: split needs it)",
                             allowed: "a fraction of tokens for attention from 0 to 1 (FlowHN uses 0.59), `balanced` or `optimal`")
        }
        let fusions = HybridSpec.Fusion.allCases.map(\.rawValue)
        let defaultFusion: HybridSpec.Fusion = layout == .split ? .sequenceConcat : (layout == .parallel ? .concatProjection : .mean)
        var fusion = HybridSpec.Fusion(rawValue: try map["fusion"]?.choice(fusions) ?? defaultFusion.rawValue) ?? defaultFusion
        if layout == .sequential {
            if let f = map["fusion"] { throw f.error("a sequential hybrid has no fusion step", allowed: "remove fusion, or use layout: parallel or split") }
            fusion = .mean
        }
        let placement = try map["placement"].map(decodePlacement) ?? .sameLane
        if layout == .split, fusion != .sequenceConcat, let f = map["fusion"] {
            throw f.error("a split hybrid gives each branch different tokens, so its outputs can only be joined along the sequence",
                          allowed: "sequence_concat (FlowHN's split fusion)")
        }
        let attention = try decodeAttention(map.required("attention"), typed: false)
        let ssm = try decodeSSM(map.required("ssm"), dModel: dModel, typed: false)
        return HybridSpec(layout: layout, split: split, fusion: fusion, placement: placement, attention: attention, ssm: ssm)
    }

    static func decodePlacement(_ node: YAMLNode) throws -> Placement {
        let allowed = "same_lane, separate_lanes, separate_devices, or {type: separate_lanes, attention_share: 0.5}"
        if !node.isMapping {
            switch try node.choice(["same_lane", "separate_lanes", "separate_devices"]) {
            case "same_lane": return .sameLane
            case "separate_lanes": return .separateLanes(attentionShare: 0.5)
            default: return .separateDevices
            }
        }
        let map = try node.mapping(allowed: ["type", "attention_share"])
        switch try map.required("type", allowed: allowed).choice(["same_lane", "separate_lanes", "separate_devices"]) {
        case "separate_lanes":
            let share = try map["attention_share"]?.double(in: 0...1, allowed: "a fraction from 0.001 to 0.999") ?? 0.5
            guard share >= 0.001, share <= 0.999 else {
                // 0 or 1 leaves a branch no compute units; a share under 0.1 % makes its branch's times overflow.
                throw try map.required("attention_share").error("\(share) leaves a branch (almost) no compute units", allowed: "a fraction from 0.001 to 0.999")
            }
            return .separateLanes(attentionShare: share)
        case "same_lane":
            if let s = map["attention_share"] { throw s.error("attention_share applies only to separate_lanes") }
            return .sameLane
        default:
            if let s = map["attention_share"] { throw s.error("attention_share applies only to separate_lanes") }
            return .separateDevices
        }
    }

    static func decodeMLP(_ node: YAMLNode) throws -> MLPSpec? {
        let kind = try typeOf(node, choices: ["dense", "moe", "fff", "none"])
        let activations = Activation.allCases.map(\.rawValue)
        switch kind {
        case "dense":
            let map = try node.mapping(allowed: denseKeys)
            return .dense(DenseMLPSpec(activation: Activation(rawValue: try map["activation"]?.choice(activations) ?? "swiglu") ?? .swiglu,
                                       ffnDim: try map.required("ffn_dim").int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000")))
        case "moe":
            let map = try node.mapping(allowed: moeKeys)
            let experts = try map.required("experts").int(in: 1...1_000_000, allowed: "a whole number from 1 to 1000000")
            let topKNode = try map.required("top_k")
            let topK = try topKNode.int(in: 1...1_000_000, allowed: "a whole number from 1 to experts")
            guard topK <= experts else { throw topKNode.error("top_k \(topK) is more than the \(experts) experts", allowed: "a whole number from 1 to \(experts)") }
            let ffn = try map.required("expert_ffn_dim").int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000")
            let activation = Activation(rawValue: try map["activation"]?.choice(activations) ?? "swiglu") ?? .swiglu
            let shared = try map["shared_experts"]?.int(in: 0...1024, allowed: "a whole number from 0 to 1024") ?? 0
            let sharedFFN = try map["shared_ffn_dim"]?.int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000") ?? ffn
            var capacity = MoESpec.Capacity.dropless
            if let c = map["capacity_factor"] {
                if (try? c.string()) == "dropless" { capacity = .dropless } else {
                    let factor = try c.double(in: 0...1e6, allowed: "a factor greater than 0 (Switch uses 1.0 to 2.0), or `dropless`")
                    guard factor > 0 else { throw c.error("a capacity factor of 0 drops every token", allowed: "a factor greater than 0, or `dropless`") }
                    capacity = .factor(factor)
                }
            }
            let routing = try map["routing"].map { try decodeRouting($0, count: experts, what: "experts") } ?? .uniform
            if experts * topK > TopKDesign.maximumChainEntries {
                throw topKNode.error("top-\(topK) routing over \(experts) experts is \(experts * topK) expert-pick pairs, more than this tool draws per layer",
                                     allowed: "experts x top_k up to \(TopKDesign.maximumChainEntries)")
            }
            let devicesNode = map["devices"]
            let devices = try devicesNode?.int(in: 1...4096, allowed: "a whole number from 1 to 4096 that divides experts") ?? 1
            guard experts % devices == 0 else {
                throw (devicesNode ?? node).error("\(devices) devices do not divide \(experts) experts evenly", allowed: "a divisor of \(experts)")
            }
            return .moe(MoESpec(experts: experts, topK: topK, expertFFNDim: ffn, activation: activation, sharedExperts: shared,
                                sharedFFNDim: sharedFFN, capacity: capacity, routing: routing, devices: devices))
        case "fff":
            let map = try node.mapping(allowed: fffKeys)
            let variants = FFFSpec.Variant.allCases.map(\.rawValue)
            let variant = FFFSpec.Variant(rawValue: try map["variant"]?.choice(variants) ?? "fff") ?? .fff
            let depth = try map.required("depth").int(in: 0...24, allowed: "a whole number from 0 to 24")
            var leaf = 1
            if variant == .fff {
                leaf = try map.required("leaf_width").int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000")
            } else if let l = map["leaf_width"] {
                throw l.error("an UltraFastBERT tree has no leaf layer: its leaves are single neurons like its nodes",
                              allowed: "remove leaf_width (node_width sets the parallel trees), or variant: fff")
            }
            let nodeWidth = try map["node_width"]?.int(in: 1...65_536, allowed: "a whole number from 1 to 65536") ?? 1
            let activation = Activation(rawValue: try map["activation"]?.choice(activations) ?? "gelu") ?? .gelu
            let master = try map["master_leaf_width"]?.int(in: 0...10_000_000, allowed: "0 (no master leaf) or a width") ?? 0
            let routing = try map["routing"].map { try decodeRouting($0, count: 1 << depth, what: "leaves") } ?? .uniform
            let trainings = FFFSpec.Training.allCases.map(\.rawValue)
            let training = FFFSpec.Training(rawValue: try map["training"]?.choice(trainings) ?? "masked") ?? .masked
            if variant == .ultrafastbert, routing != .uniform, let r = map["routing"] {
                throw r.error("UltraFastBERT trees are costed with tokens spread uniformly over each level's nodes",
                              allowed: "routing: {type: uniform}, or variant: fff")
            }
            return .fff(FFFSpec(variant: variant, depth: depth, leafWidth: leaf, nodeWidth: nodeWidth, activation: activation,
                                masterLeafWidth: master, routing: routing, training: training))
        default:
            _ = try node.mapping(allowed: ["type"])
            return nil
        }
    }

    static func decodeRouting(_ node: YAMLNode, count: Int, what: String) throws -> RoutingDistribution {
        let kinds = ["uniform", "zipf", "dirichlet", "explicit"]
        let map = try node.mapping(allowed: routingKeys)
        let kind = try map.required("type", allowed: kinds.joined(separator: ", ")).choice(kinds)
        func forbid(_ keys: [String]) throws {
            for key in keys { if let n = map[key] { throw n.error("`\(key)` does not apply to routing type \(kind)") } }
        }
        switch kind {
        case "uniform":
            try forbid(["exponent", "concentration", "loads"])
            return .uniform
        case "zipf":
            try forbid(["concentration", "loads"])
            let s = try map.required("exponent").double(in: 0...100, allowed: "an exponent from 0 (uniform) to 100")
            return .zipf(exponent: s)
        case "dirichlet":
            try forbid(["exponent", "loads"])
            return .dirichlet(concentration: try map.required("concentration").positiveDouble(allowed: "a concentration greater than 0 (large = near uniform)"))
        default:
            try forbid(["exponent", "concentration"])
            let loadsNode = try map.required("loads", allowed: "a list of \(count) non-negative numbers")
            let loads = try loadsNode.list().map { try $0.double(in: 0...1e300, allowed: "a non-negative number") }
            guard loads.count == count else {
                throw loadsNode.error("\(loads.count) loads given for \(count) \(what)", allowed: "exactly \(count) non-negative numbers")
            }
            guard loads.reduce(0, +) > 0 else { throw loadsNode.error("every load is zero", allowed: "at least one positive load") }
            return .explicit(loads: loads)
        }
    }

    static func decodeDynamicDepth(_ node: YAMLNode, layers: Int) throws -> DynamicDepthSpec {
        let map = try node.mapping(allowed: depthKeys)
        func perLayer(_ key: String) throws -> [Double] {
            guard let n = map[key] else { return Array(repeating: 0, count: layers) }
            if n.isSequence {
                let values = try n.list().map { try $0.double(in: 0...1, allowed: "a probability from 0 to 1") }
                guard values.count == layers else {
                    throw n.error("\(values.count) probabilities given for \(layers) layers", allowed: "one probability, or a list of exactly \(layers)")
                }
                return values
            }
            return Array(repeating: try n.double(in: 0...1, allowed: "a probability from 0 to 1"), count: layers)
        }
        let skip = try perLayer("skip")
        let repeats = try perLayer("repeat")
        for i in 0..<layers where skip[i] + repeats[i] > 1 + 1e-12 {
            throw (map["skip"] ?? node).error("layer \(i): skip \(skip[i]) + repeat \(repeats[i]) is more than 1",
                                              allowed: "probabilities whose sum is at most 1 (execute = 1 - skip - repeat)")
        }
        let routerWidth = try map["router_width"]?.int(in: 0...65_536, allowed: "a whole number from 0 (free router) to 65536") ?? 3
        let compactions = DynamicDepthSpec.Compaction.allCases.map(\.rawValue)
        let compaction = DynamicDepthSpec.Compaction(rawValue: try map["compaction"]?.choice(compactions) ?? "gather") ?? .gather
        let granularity: DynamicDepthSpec.Granularity = try map["granularity"]?.choice(["token", "sequence"]) == "sequence" ? .sequence : .token
        return DynamicDepthSpec(skip: skip, repeatProbability: repeats, routerWidth: routerWidth, compaction: compaction,
                                granularity: granularity)
    }
}
