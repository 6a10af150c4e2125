import Foundation

/// Lowers a scenario to an ``OpGraph``: one ``BlockGraph`` per distinct layer, with every op's
/// FLOPs and bytes from ``OpFormulas``, its lane, and its dependencies.
///
/// Each layer is: [dynamic-depth router] -> RMSNorm -> mixer -> residual -> [RMSNorm -> MLP -> residual],
/// the mixer being attention, an SSM, or a hybrid of both (sequential, parallel or split, with fusion).
/// A split hybrid with `split: balanced` or `split: optimal` is solved here with the cost model (GSL
/// Brent root of the branches' time difference; GSL Brent minimum of the layer's scheduled latency), so
/// the graph every executor sees is concrete. Training ops carry forward + backward (+ recomputed
/// forward) work, and the epilogue ends with the optimizer step.
public struct Lowering {
    public let scenario: Scenario
    public let cost: CostModel
    let lanes: LaneLayout
    let elementBytes: Double
    /// Draws routing and skip decisions per layer (event engine); nil = closed-form expectations.
    let sampler: RoutingSampler?

    /// The lanes a scenario needs.
    struct LaneLayout {
        var lanes: [Lane]
        var attentionLane: Int
        var ssmLane: Int
        var secondDeviceLane: Int?
        var linkLane: Int?
        var deviceMask: UInt64
    }

    public init(scenario: Scenario, sampler: RoutingSampler? = nil) {
        self.scenario = scenario
        self.sampler = sampler
        self.cost = scenario.costModel
        self.elementBytes = scenario.workload.dtype.bytes
        self.lanes = Lowering.layout(scenario)
    }

    /// Lowers the whole scenario.
    public static func lower(_ scenario: Scenario) -> OpGraph {
        Lowering(scenario: scenario).lower()
    }

    static func layout(_ scenario: Scenario) -> LaneLayout {
        let prefix = scenario.hardware.kind == .cpu ? "cpu" : "gpu"
        var separateLanes = false, separateDevices = false, expertParallel = false
        for block in scenario.model.blocks.values {
            if case let .hybrid(h) = block.mixer {
                switch h.placement {
                case .sameLane: break
                case .separateLanes: separateLanes = true
                case .separateDevices: separateDevices = true
                }
            }
            if case let .moe(m) = block.mlp, m.devices > 1 { expertParallel = true }
        }
        var lanes: [Lane] = []
        if separateLanes {
            lanes.append(Lane(index: 0, name: "\(prefix)0.attention", kind: .compute, device: 0))
            lanes.append(Lane(index: 1, name: "\(prefix)0.ssm", kind: .compute, device: 0))
        } else {
            lanes.append(Lane(index: 0, name: "\(prefix)0", kind: .compute, device: 0))
        }
        let deviceMask: UInt64 = separateLanes ? 0b11 : 0b1
        var layout = LaneLayout(lanes: lanes, attentionLane: 0, ssmLane: separateLanes ? 1 : 0, secondDeviceLane: nil,
                                linkLane: nil, deviceMask: deviceMask)
        if separateDevices {
            layout.secondDeviceLane = layout.lanes.count
            layout.lanes.append(Lane(index: layout.lanes.count, name: "\(prefix)1", kind: .compute, device: 1))
        }
        if separateDevices || expertParallel {
            layout.linkLane = layout.lanes.count
            let linkName = scenario.hardware.interconnect?.name ?? "link"
            layout.lanes.append(Lane(index: layout.lanes.count, name: linkName, kind: .link, device: -1))
        }
        return layout
    }

    /// Lowers every layer, reusing the template of identical layers.
    public func lower() -> OpGraph {
        var templates: [BlockGraph] = []
        // Templates per distinct block id, each with the (skip, repeat) it was lowered for.
        var byBlock = [[(skip: Double, repeats: Double, template: Int)]](repeating: [], count: scenario.model.layerBlockNames.count)
        var layers: [LayerInstance] = []
        layers.reserveCapacity(scenario.model.layers.count)
        let depth = scenario.model.dynamicDepth
        let names = scenario.model.layerBlockNames
        var parameters = 0.0
        for (i, id) in scenario.model.layerBlockIDs.enumerated() {
            let skip = depth?.skip[i] ?? 0, repeats = depth?.repeatProbability[i] ?? 0
            // With a sampler, a layer with random routing or skipping gets its own draw and template.
            let random = sampler != nil && Lowering.isRandom(scenario.model.blocks[names[id]], skip: skip, repeats: repeats)
            if !random, let found = byBlock[id].first(where: { $0.skip == skip && $0.repeats == repeats }) {
                layers.append(LayerInstance(layer: i, blockName: names[id], template: found.template))
                parameters += templates[found.template].parameters
                continue
            }
            guard let block = scenario.model.blocks[names[id]] else { continue }
            let template = lowerLayer(name: names[id], block: block, layer: i)
            if !random { byBlock[id].append((skip, repeats, templates.count)) }
            layers.append(LayerInstance(layer: i, blockName: names[id], template: templates.count))
            parameters += template.parameters
            templates.append(template)
        }
        // Model FLOPs had every layer run once on every token.
        var dense = 0.0
        for layer in layers { dense += templates[layer.template].denseModelFlops }
        let prologue = lowerPrologue()
        parameters += prologue.parameters
        let epilogue = lowerEpilogue(modelParameters: parameters)
        dense += prologue.ops.reduce(0) { $0 + $1.modelFlops } + epilogue.ops.reduce(0) { $0 + $1.modelFlops }
        return OpGraph(lanes: lanes.lanes, templates: templates, layers: layers, prologue: prologue, epilogue: epilogue,
                       deviceMask: lanes.deviceMask,
                       recomputesActivations: scenario.workload.phase == .train && scenario.workload.recomputation == .full,
                       tokensPerStep: Double(scenario.workload.tokensPerStep), denseModelFlops: dense)
    }

    /// Whether a layer's time or routing statistics depend on random draws.
    static func isRandom(_ block: BlockSpec?, skip: Double, repeats: Double) -> Bool {
        if skip > 0 || repeats > 0 { return true }
        switch block?.mlp {
        case .moe?: return true
        case let .fff(f)?: return f.variant == .fff
        default: return false
        }
    }

    /// A builder for one template's ops, with the scenario's phase and recomputation.
    func builder(recomputable: Bool = true) -> OpBuilder {
        let w = scenario.workload
        return OpBuilder(elementBytes: elementBytes, training: w.phase == .train,
                         recompute: recomputable && w.phase == .train && w.recomputation == .full,
                         rowWidth: Double(scenario.model.dModel))
    }

    // MARK: Tokens

    /// Tokens one pass of a layer processes: `batch` sequences of `queries` new tokens over `keys` context.
    struct Tokens {
        var batch: Double
        var queries: Double
        var keys: Double
        var total: Double { batch * queries }
        var isDecode: Bool

        func scaled(_ f: Double, granularity: DynamicDepthSpec.Granularity) -> Tokens {
            switch granularity {
            case .sequence: return Tokens(batch: batch * f, queries: queries, keys: keys, isDecode: isDecode)
            case .token:
                if isDecode { return Tokens(batch: batch * f, queries: queries, keys: keys * f, isDecode: isDecode) }
                return Tokens(batch: batch, queries: queries * f, keys: keys * f, isDecode: isDecode)
            }
        }

        /// A FlowHN split. Prefill and training: a fraction of each sequence's tokens (FlowHN's split of the
        /// sequence), attending over that share of the context. Decode: a fraction of the sequences, whose new
        /// token goes to that branch over the sequence's whole cache (attention reads its full KV cache: the
        /// split is over sequences, not over each sequence's context).
        func split(_ f: Double) -> Tokens {
            if isDecode { return Tokens(batch: batch * f, queries: queries, keys: keys, isDecode: true) }
            return Tokens(batch: batch, queries: queries * f, keys: keys * f, isDecode: false)
        }
    }

    var fullTokens: Tokens {
        let w = scenario.workload
        return Tokens(batch: Double(w.batch), queries: Double(w.queryTokensPerSequence), keys: Double(w.contextTokens),
                      isDecode: w.phase == .decode)
    }
}

/// Builds the ops of one template.
struct OpBuilder {
    var ops: [Op] = []
    let elementBytes: Double
    let training: Bool
    /// Training with full recomputation: every layer op runs its forward once more in backward.
    let recompute: Bool
    /// d_model: a norm's row width (for its saved 1/rms per row).
    let rowWidth: Double
    var weight: Double = 1
    var pass: Int = 0
    /// Share of the executed work that is useful (full-batch dynamic depth runs tokens that wanted to skip).
    var usefulScale: Double = 1

    /// Adds an op; its FLOPs, bytes and launches are the forward's times the passes a step runs:
    /// forward, backward (``OpRole/backwardFactor``) and, with recomputation, the forward again (not model FLOPs).
    @discardableResult
    mutating func add(_ name: String, _ component: String, _ kind: OpKind, _ opClass: OpClass, _ role: OpRole,
                      lanes: UInt64, share: Double, after deps: [Int], branch: Op.Branch = .none, usefulFraction: Double = 1) -> Int {
        let c = OpFormulas.cost(of: kind, elementBytes: elementBytes)
        let backward = training ? role.backwardFactor : 0
        let again = recompute && role != .optimizer ? 1.0 : 0
        let executed = 1 + backward + again
        var op = Op(index: ops.count, name: name, component: component, kind: kind, opClass: opClass, role: role, laneMask: lanes,
                    dependencies: deps, flops: c.flops * executed, matrixFlops: c.matrixFlops * executed,
                    launches: c.launches * executed, bytes: c.bytes * executed,
                    modelFlops: c.flops * (1 + backward) * usefulFraction * usefulScale, formula: c.formula, branch: branch,
                    share: share, weight: weight, pass: pass)
        op.persistentBytes = c.persistentBytes * executed
        if training {
            op.savedBytes = OpFormulas.savedBytes(of: kind, role: role, elementBytes: elementBytes, rowWidth: rowWidth)
        }
        ops.append(op)
        return op.index
    }

    /// Folds the elementwise ops whose roles are in `roles` into the op that produces their input (operator
    /// fusion): the producer gains their FLOPs; the intermediate tensor is neither written by the producer
    /// nor read by the fused op (2 x the bytes of the inputs it took from the producer: SwiGLU's two halves,
    /// one for the others); their dependents wait for the producer. An op whose producer is in the previous
    /// layer (the first norm of a layer) is fused into it the same way: it stays, with no launch, and without
    /// reading its input back.
    mutating func fuse(_ roles: Set<OpRole>) {
        guard !roles.isEmpty else { return }
        var removed = [Bool](repeating: false, count: ops.count)
        var redirect = Array(0..<ops.count)
        for i in 0..<ops.count where roles.contains(ops[i].role) {
            guard case let .elementwise(_, _, reads, writes) = ops[i].kind, reads + writes > 0 else { continue }
            let fromProducer = ops[i].role == .swiglu ? 2.0 : 1.0
            let saving = ops[i].bytes * 2 * fromProducer / (reads + writes)
            let deps = ops[i].dependencies.map { redirect[$0] }
            if deps.isEmpty {
                ops[i].launches = 0
                ops[i].bytes = max(0, ops[i].bytes - ops[i].bytes / (reads + writes))
                continue
            }
            guard let producer = deps.max(), ops[producer].laneMask == ops[i].laneMask, ops[producer].weight == ops[i].weight,
                  ops[producer].role != .transfer else { continue }
            ops[producer].flops += ops[i].flops
            ops[producer].modelFlops += ops[i].modelFlops
            ops[producer].bytes = max(0, ops[producer].bytes + ops[i].bytes - saving)
            ops[producer].savedBytes += ops[i].savedBytes
            ops[producer].name += "+" + (ops[i].name.split(separator: ".").last.map(String.init) ?? ops[i].name)
            removed[i] = true
            redirect[i] = producer
        }
        guard removed.contains(true) else { return }
        var newIndex = [Int](repeating: -1, count: ops.count)
        var kept: [Op] = []
        for i in 0..<ops.count where !removed[i] {
            newIndex[i] = kept.count
            kept.append(ops[i])
        }
        func resolve(_ j: Int) -> Int {
            var k = j
            while removed[k] { k = redirect[k] }
            return newIndex[k]
        }
        for i in kept.indices {
            kept[i].index = i
            var deps: [Int] = []
            for d in kept[i].dependencies {
                let r = resolve(d)
                if r != i, r >= 0, !deps.contains(r) { deps.append(r) }
            }
            kept[i].dependencies = deps
        }
        ops = kept
    }
}
