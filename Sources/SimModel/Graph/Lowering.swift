import Foundation

/// Lowers a scenario to an ``OpGraph``: one ``BlockGraph`` per distinct layer, with every op's
/// FLOPs and bytes from ``OpFormulas``, its lane, and its dependencies.
///
/// Each layer is: [dynamic-depth router] -> RMSNorm -> mixer -> residual -> [RMSNorm -> MLP -> residual],
/// the mixer being attention, an SSM, or a hybrid of both (sequential, parallel or split, with fusion).
/// A split hybrid with `split: balanced` is solved here with the cost model (GSL Brent root of
/// attention-branch time minus SSM-branch time), so the graph every executor sees is concrete.
public struct Lowering {
    public let scenario: Scenario
    public let cost: CostModel
    let lanes: LaneLayout
    let elementBytes: Double
    let phaseMultiplier: Double
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
        self.cost = CostModel(profile: scenario.hardware, dtype: scenario.workload.dtype)
        self.elementBytes = scenario.workload.dtype.bytes
        self.phaseMultiplier = scenario.workload.phase == .train ? 3 : 1
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
        for (i, id) in scenario.model.layerBlockIDs.enumerated() {
            let skip = depth?.skip[i] ?? 0, repeats = depth?.repeatProbability[i] ?? 0
            // With a sampler, a layer with random routing or skipping gets its own draw and template.
            let random = sampler != nil && Lowering.isRandom(scenario.model.blocks[names[id]], skip: skip, repeats: repeats)
            if !random, let found = byBlock[id].first(where: { $0.skip == skip && $0.repeats == repeats }) {
                layers.append(LayerInstance(layer: i, blockName: names[id], template: found.template))
                continue
            }
            guard let block = scenario.model.blocks[names[id]] else { continue }
            let template = lowerLayer(name: names[id], block: block, layer: i)
            if !random { byBlock[id].append((skip, repeats, templates.count)) }
            layers.append(LayerInstance(layer: i, blockName: names[id], template: templates.count))
            templates.append(template)
        }
        // Model FLOPs had every layer run once on every token.
        var dense = 0.0
        for layer in layers { dense += templates[layer.template].denseModelFlops }
        let prologue = lowerPrologue(), epilogue = lowerEpilogue()
        dense += prologue.ops.reduce(0) { $0 + $1.modelFlops } + epilogue.ops.reduce(0) { $0 + $1.modelFlops }
        return OpGraph(lanes: lanes.lanes, templates: templates, layers: layers, prologue: prologue, epilogue: epilogue,
                       deviceMask: lanes.deviceMask, phaseMultiplier: phaseMultiplier,
                       tokensPerStep: Double(scenario.workload.tokensPerStep), denseModelFlops: dense)
    }

    /// Whether a layer's time or routing statistics depend on random draws.
    static func isRandom(_ block: BlockSpec?, skip: Double, repeats: Double) -> Bool {
        if skip > 0 || repeats > 0 { return true }
        switch block?.mlp {
        case .moe?, .fff?: return true
        default: return false
        }
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

        /// A FlowHN split: a fraction of each sequence's tokens (prefill/train) or of the batch's new tokens (decode).
        func split(_ f: Double) -> Tokens {
            if isDecode { return Tokens(batch: batch * f, queries: queries, keys: keys * f, isDecode: true) }
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
    let phaseMultiplier: Double
    var weight: Double = 1
    var pass: Int = 0
    /// Share of the executed work that is useful (full-batch dynamic depth runs tokens that wanted to skip).
    var usefulScale: Double = 1

    @discardableResult
    mutating func add(_ name: String, _ component: String, _ kind: OpKind, _ opClass: OpClass, lanes: UInt64, share: Double,
                      after deps: [Int], branch: Op.Branch = .none, usefulFraction: Double = 1) -> Int {
        let c = OpFormulas.cost(of: kind, elementBytes: elementBytes)
        let op = Op(index: ops.count, name: name, component: component, kind: kind, opClass: opClass, laneMask: lanes,
                    dependencies: deps, flops: c.flops * phaseMultiplier, bytes: c.bytes * phaseMultiplier,
                    modelFlops: c.flops * phaseMultiplier * usefulFraction * usefulScale, formula: c.formula, branch: branch,
                    share: share, weight: weight, pass: pass)
        ops.append(op)
        return op.index
    }
}
