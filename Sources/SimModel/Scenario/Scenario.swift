import Foundation

/// A fully decoded and validated scenario: hardware, model, workload. Immutable once built.
public struct Scenario: Sendable {
    public static let schemaVersion = 1

    public var name: String
    public var description: String
    /// The file it came from ("<inline>" for text).
    public var file: String
    public var hardware: HardwareProfile
    public var model: ModelSpec
    public var workload: Workload
    /// Seed for everything random (Monte Carlo checks, the event engine).
    public var seed: UInt64
    /// How kernels are launched and which elementwise ops fuse into the op before them.
    public var execution: ExecutionSpec

    public init(name: String, description: String = "", file: String = "<inline>", hardware: HardwareProfile,
                model: ModelSpec, workload: Workload, seed: UInt64 = 1, execution: ExecutionSpec = ExecutionSpec()) {
        self.name = name
        self.description = description
        self.file = file
        self.hardware = hardware
        self.model = model
        self.workload = workload
        self.seed = seed
        self.execution = execution
    }
}

/// Launch and fusion choices of the inference or training stack being modelled.
public struct ExecutionSpec: Sendable, Equatable {
    /// Ops are launched from captured graphs (CUDA/HIP graphs): each pays the profile's
    /// `graph_launch_overhead_s` instead of `launch_overhead_s`.
    public var graphs: Bool
    /// Elementwise roles fused into the op that produces their input (``OpRole/fusible`` names them):
    /// the fused op pays no launch, and the intermediate tensor is neither written nor read back.
    public var fuse: Set<OpRole>

    public init(graphs: Bool = false, fuse: Set<OpRole> = []) {
        self.graphs = graphs
        self.fuse = fuse
    }
}

/// What is run: phase, batch, sequence length, dtype.
public struct Workload: Sendable, Equatable {
    public enum Phase: String, Sendable, CaseIterable {
        /// The whole prompt in one forward pass.
        case prefill
        /// One new token per sequence with `seqLen` tokens already in context.
        case decode
        /// Forward and backward over `seqLen` tokens and the optimizer step (backward: 2x forward for
        /// most ops, 2.5x for attention; see ``OpRole/backwardFactor``).
        case train
    }

    public var phase: Phase
    public var batch: Int
    /// Tokens per sequence (prefill, train) or context length already cached (decode).
    public var seqLen: Int
    public var dtype: DType
    /// Training: what the backward pass recomputes instead of keeping.
    public var recomputation: Recomputation

    public enum Recomputation: String, Sendable, CaseIterable {
        /// Every op keeps what its backward needs.
        case none
        /// Only each layer's input is kept; the layer's forward runs again in backward (Megatron-LM's full
        /// activation recomputation, arXiv 2205.05198 §4): one more forward of executed FLOPs.
        case full
    }

    public init(phase: Phase, batch: Int, seqLen: Int, dtype: DType, recomputation: Recomputation = .none) {
        self.phase = phase
        self.batch = batch
        self.seqLen = seqLen
        self.dtype = dtype
        self.recomputation = recomputation
    }

    /// Query tokens per sequence processed in one step.
    public var queryTokensPerSequence: Int { phase == .decode ? 1 : seqLen }
    /// Key/value positions each query attends over (before causal masking).
    public var contextTokens: Int { phase == .decode ? seqLen + 1 : seqLen }
    /// Tokens processed in one step across the batch.
    public var tokensPerStep: Int { batch * queryTokensPerSequence }
}

/// The network: width, vocabulary, blocks and their order.
public struct ModelSpec: Sendable {
    public var dModel: Int
    public var vocab: Int
    /// Named block definitions, in the order written.
    public var blocks: [String: BlockSpec]
    /// One block name per layer, first to last.
    public var layers: [String] {
        didSet { indexLayers() }
    }
    /// Whether to count the embedding and LM head (vocab projection).
    public var includeEmbedding: Bool
    public var dynamicDepth: DynamicDepthSpec?
    /// Distinct block names in the order layers first use them, and each layer's index into it.
    public private(set) var layerBlockNames: [String] = []
    public private(set) var layerBlockIDs: [Int] = []

    mutating func indexLayers() {
        var ids: [String: Int] = [:]
        layerBlockNames = []
        layerBlockIDs = layers.map { name in
            if let id = ids[name] { return id }
            ids[name] = layerBlockNames.count
            layerBlockNames.append(name)
            return layerBlockNames.count - 1
        }
    }

    public init(dModel: Int, vocab: Int, blocks: [String: BlockSpec], layers: [String], includeEmbedding: Bool = true,
                dynamicDepth: DynamicDepthSpec? = nil) {
        self.dModel = dModel
        self.vocab = vocab
        self.blocks = blocks
        self.layers = layers
        self.includeEmbedding = includeEmbedding
        self.dynamicDepth = dynamicDepth
        indexLayers()
    }
}

/// One layer's definition: a token mixer and an optional MLP, with RMSNorm and residual around each.
public struct BlockSpec: Sendable, Equatable {
    public var mixer: MixerSpec
    public var mlp: MLPSpec?

    public init(mixer: MixerSpec, mlp: MLPSpec?) {
        self.mixer = mixer
        self.mlp = mlp
    }
}

public enum MixerSpec: Sendable, Equatable {
    case attention(AttentionSpec)
    case ssm(SSMSpec)
    case hybrid(HybridSpec)
    /// MLP-only layer.
    case none
}

/// Multi-head attention with grouped (GQA) or multi-query (MQA) key/value heads.
public struct AttentionSpec: Sendable, Equatable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var causal: Bool
    /// Sliding-window size in tokens, nil for full attention.
    public var window: Int?

    public init(heads: Int, kvHeads: Int, headDim: Int, causal: Bool = true, window: Int? = nil) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.causal = causal
        self.window = window
    }
}

/// A Mamba-1 or Mamba-2 style selective state-space mixer.
public struct SSMSpec: Sendable, Equatable {
    public enum Variant: String, Sendable, CaseIterable { case mamba1, mamba2 }
    public var variant: Variant
    public var dState: Int
    public var expand: Int
    public var dConv: Int
    /// Mamba-1 rank of the dt projection; nil means ceil(d_model / 16) (Mamba's "auto").
    public var dtRank: Int?
    /// Mamba-2 head dimension (d_inner / heads heads).
    public var headDim: Int
    /// Mamba-2 number of B/C groups.
    public var groups: Int

    public init(variant: Variant = .mamba1, dState: Int = 16, expand: Int = 2, dConv: Int = 4, dtRank: Int? = nil,
                headDim: Int = 64, groups: Int = 1) {
        self.variant = variant
        self.dState = dState
        self.expand = expand
        self.dConv = dConv
        self.dtRank = dtRank
        self.headDim = headDim
        self.groups = groups
    }

    public func dInner(dModel: Int) -> Int { expand * dModel }
    public func resolvedDtRank(dModel: Int) -> Int { dtRank ?? (dModel + 15) / 16 }
    public func heads(dModel: Int) -> Int { max(1, dInner(dModel: dModel) / headDim) }
}

/// Attention and SSM branches in one block.
public struct HybridSpec: Sendable, Equatable {
    public enum Layout: String, Sendable, CaseIterable {
        /// Attention, then SSM, on the same tokens (a sequential hybrid inside one block).
        case sequential
        /// Every token through both branches, outputs fused (Hymba-style).
        case parallel
        /// A share of the tokens to attention and the rest to the SSM (FlowHN).
        case split
    }

    public enum Split: Sendable, Equatable {
        /// Fraction of the sequence given to attention.
        case fixed(Double)
        /// Solved so that the branches' times are equal.
        case balanced
        /// Solved so that the layer's latency is least (GSL Brent minimiser over the ratio).
        case optimal
    }

    public enum Fusion: String, Sendable, CaseIterable {
        /// Concatenate branch outputs on the feature axis, then a 2d -> d linear (FlowHN no-split variant).
        case concatProjection = "concat_projection"
        /// Elementwise mean of the two branch outputs (Hymba).
        case mean
        /// A learned sigmoid gate mixing the two outputs: g = sigmoid(x W_g), out = g*a + (1-g)*s.
        case gate
        /// Concatenate along the sequence axis, then d x d linear + residual + RMSNorm + d x d linear + residual (FlowHN split code).
        case sequenceConcat = "sequence_concat"
    }

    public var layout: Layout
    public var split: Split
    public var fusion: Fusion
    public var placement: Placement
    public var attention: AttentionSpec
    public var ssm: SSMSpec

    public init(layout: Layout, split: Split = .fixed(0.5), fusion: Fusion, placement: Placement,
                attention: AttentionSpec, ssm: SSMSpec) {
        self.layout = layout
        self.split = split
        self.fusion = fusion
        self.placement = placement
        self.attention = attention
        self.ssm = ssm
    }
}

/// Where a hybrid block's two branches run.
public enum Placement: Sendable, Equatable {
    /// Both branches on one lane, one after the other (FlowHN's own code, one GPU stream).
    case sameLane
    /// Each branch on its own share of one device's compute units (and memory bandwidth);
    /// `attentionShare` of the units go to attention, the rest to the SSM.
    case separateLanes(attentionShare: Double)
    /// Each branch on its own device; the SSM output crosses the interconnect for fusion.
    case separateDevices
}

/// The block's channel mixer.
public enum MLPSpec: Sendable, Equatable {
    case dense(DenseMLPSpec)
    case moe(MoESpec)
    case fff(FFFSpec)
}

public enum Activation: String, Sendable, CaseIterable {
    /// Gated: three d x ffn matrices (gate, up, down).
    case swiglu
    /// Ungated: two matrices (up, down).
    case gelu

    public var matrices: Int { self == .swiglu ? 3 : 2 }
}

public struct DenseMLPSpec: Sendable, Equatable {
    public var activation: Activation
    public var ffnDim: Int
    public init(activation: Activation, ffnDim: Int) {
        self.activation = activation
        self.ffnDim = ffnDim
    }
}

/// Top-k mixture of experts.
public struct MoESpec: Sendable, Equatable {
    public enum Capacity: Sendable, Equatable {
        /// Each expert processes a padded buffer of ceil(factor * T * k / E) rows; tokens beyond it are dropped.
        case factor(Double)
        /// Every routed token is processed (grouped GEMM over the actual loads, MegaBlocks-style).
        case dropless
    }

    public var experts: Int
    public var topK: Int
    public var expertFFNDim: Int
    public var activation: Activation
    public var sharedExperts: Int
    public var sharedFFNDim: Int
    public var capacity: Capacity
    public var routing: RoutingDistribution
    /// Devices the experts are spread over (expert parallelism); 1 = all on the block's device.
    public var devices: Int

    public init(experts: Int, topK: Int, expertFFNDim: Int, activation: Activation = .swiglu, sharedExperts: Int = 0,
                sharedFFNDim: Int? = nil, capacity: Capacity = .dropless, routing: RoutingDistribution = .uniform,
                devices: Int = 1) {
        self.experts = experts
        self.topK = topK
        self.expertFFNDim = expertFFNDim
        self.activation = activation
        self.sharedExperts = sharedExperts
        self.sharedFFNDim = sharedFFNDim ?? expertFFNDim
        self.capacity = capacity
        self.routing = routing
        self.devices = devices
    }
}

/// How tokens spread over experts (or FFF leaves).
public enum RoutingDistribution: Sendable, Hashable {
    case uniform
    /// p_i proportional to 1 / i^exponent (expert 1 the most loaded).
    case zipf(exponent: Double)
    /// p ~ Dirichlet(concentration, ..., concentration), drawn anew per batch.
    case dirichlet(concentration: Double)
    /// p_i proportional to the given loads.
    case explicit(loads: [Double])
}

/// A fast-feedforward tree: `depth` levels of node neurons route each token to one of 2^depth leaves.
public struct FFFSpec: Sendable, Equatable {
    public enum Variant: String, Sendable, CaseIterable {
        /// The original FFF (github pbelcak/fastfeedforward, fastfeedforward/fff.py): nodes only route (an
        /// input weight per neuron); each of the 2^depth leaves is a small feedforward of `leaf_width`.
        case fff
        /// UltraFastBERT (github pbelcak/UltraFastBERT, training/cramming/architectures/fff.py): every one of
        /// the 2^(depth+1) − 1 nodes is a neuron with an input and an output weight; a token evaluates the
        /// depth + 1 nodes on its path, each adding GELU(x·w_in + b)·w_out (`node_width` parallel trees).
        case ultrafastbert
    }

    /// How training evaluates the tree.
    public enum Training: String, Sendable, CaseIterable {
        /// Every neuron, the path's kept by a mask (UltraFastBERT's fff.py) or every leaf mixed by the soft
        /// node decisions (fastfeedforward's training_forward): dense work.
        case masked
        /// Only the path (a hard-routed training kernel).
        case hard
    }

    public var variant: Variant
    public var depth: Int
    public var leafWidth: Int
    /// Width of each node (1 in the original FFF: one neuron deciding left/right; UltraFastBERT: parallel trees).
    public var nodeWidth: Int
    public var activation: Activation
    /// An always-on leaf blended with the routed one (arXiv 2405.16836); width 0 = off.
    public var masterLeafWidth: Int
    public var routing: RoutingDistribution
    public var training: Training

    public init(variant: Variant = .fff, depth: Int, leafWidth: Int, nodeWidth: Int = 1, activation: Activation = .gelu,
                masterLeafWidth: Int = 0, routing: RoutingDistribution = .uniform, training: Training = .masked) {
        self.variant = variant
        self.depth = depth
        self.leafWidth = leafWidth
        self.nodeWidth = nodeWidth
        self.activation = activation
        self.masterLeafWidth = masterLeafWidth
        self.routing = routing
        self.training = training
    }

    public var leaves: Int { 1 << depth }
    /// Routing nodes (FFF) or neurons per tree (UltraFastBERT: every node, leaves included).
    public var nodes: Int { variant == .ultrafastbert ? (1 << (depth + 1)) - 1 : (1 << depth) - 1 }
    /// Node levels a token visits: depth (FFF, then a leaf), depth + 1 (UltraFastBERT).
    public var levelsVisited: Int { variant == .ultrafastbert ? depth + 1 : depth }
}

/// Per-layer skip / execute / repeat (Radial networks, Dr.LLM).
public struct DynamicDepthSpec: Sendable, Equatable {
    public enum Compaction: String, Sendable, CaseIterable {
        /// Only the tokens that run a layer are gathered into a dense batch and scattered back.
        case gather
        /// The layer runs on the whole batch whenever any token needs it (no gather/scatter).
        case fullBatch = "full_batch"
    }

    /// Probability each token skips layer i (one entry per layer).
    public var skip: [Double]
    /// Probability each token runs layer i twice.
    public var repeatProbability: [Double]
    /// Router cost: a d_model x `routerWidth` projection per token per layer (3 = skip/execute/repeat logits).
    public var routerWidth: Int
    public var compaction: Compaction
    /// Tokens per routing decision: 1 = per token; seq_len = per sequence (Dr.LLM routes per example).
    public var granularity: Granularity

    public enum Granularity: Sendable, Equatable {
        case token
        case sequence
    }

    public init(skip: [Double], repeatProbability: [Double], routerWidth: Int = 3, compaction: Compaction = .gather,
                granularity: Granularity = .token) {
        self.skip = skip
        self.repeatProbability = repeatProbability
        self.routerWidth = routerWidth
        self.compaction = compaction
        self.granularity = granularity
    }

    public func executeProbability(layer: Int) -> Double { 1 - skip[layer] - repeatProbability[layer] }
}

extension Scenario {
    /// The scenario as it stands at step `step` of a multi-step run: decode steps grow the context
    /// (and so the KV cache) by one token each; prefill and train steps are fresh batches of the same shape.
    public func atStep(_ step: Int) -> Scenario {
        guard step > 0, workload.phase == .decode else { return self }
        var s = self
        s.workload.seqLen += step
        return s
    }

    /// Whether anything in a step is drawn at random (routing, skipping).
    /// (UltraFastBERT trees are costed by their expected distinct nodes; only their leaves' routing would be
    /// drawn, and they have none.)
    public var hasRandomness: Bool {
        if let depth = model.dynamicDepth,
           depth.skip.contains(where: { $0 > 0 }) || depth.repeatProbability.contains(where: { $0 > 0 }) { return true }
        return model.blocks.values.contains { block in
            switch block.mlp {
            case .moe?, .fff?: return true
            default: return false
            }
        }
    }
}

extension Scenario {
    /// The cost model of this scenario's hardware, dtype and launch mode: what every executor times ops with.
    public var costModel: CostModel {
        // The footprint only matters to a profile with a cache term.
        CostModel(profile: hardware, dtype: workload.dtype, graphs: execution.graphs,
                  persistentFootprintBytes: hardware.cacheBytes == nil ? .infinity : Lowering.persistentFootprint(self))
    }
}
