import Foundation

/// The shape of an op; its FLOPs and bytes follow from ``OpFormulas``.
///
/// Sizes are `Double` because the analytic engine lowers expectations (a layer that a token
/// skips with probability 0.2 runs on 0.8 x T tokens on average; an expert gets T x k x p_i rows).
public enum OpKind: Sendable, Equatable {
    /// `count` independent GEMMs of C[m,n] = A[m,k] B[k,n] (count > 1: grouped expert or leaf GEMMs).
    case gemm(m: Double, n: Double, k: Double, count: Double)
    /// Scaled dot-product attention, FlashAttention-style (scores never stored).
    case attention(batch: Double, heads: Int, kvHeads: Int, queries: Double, keys: Double, headDim: Int, causal: Bool, window: Int?)
    /// Mamba-1 selective scan over `length` steps (`decodeState`: one step reading and writing the state).
    case selectiveScan(batch: Double, length: Double, dInner: Int, dState: Int, decodeState: Bool)
    /// Mamba-2 SSD (chunked state-space dual) over `length` steps, B and C shared by `groups` groups of heads.
    case ssd(batch: Double, length: Double, heads: Int, headDim: Int, dState: Int, groups: Int, chunk: Int, decodeState: Bool)
    /// Depthwise causal conv1d of width `width` over `channels`.
    case conv1d(tokens: Double, channels: Int, width: Int)
    /// Elementwise work: `elements` outputs, `flopsPerElement` each, reading `reads` and writing `writes` tensors of that size.
    case elementwise(elements: Double, flopsPerElement: Double, reads: Double, writes: Double)
    /// A router: logits of `outputs` per token from a `dIn` input, then softmax / top-k / decision.
    case router(tokens: Double, dIn: Int, outputs: Int)
    /// FFF tree descent: `levels` levels of `nodeWidth`-wide node neurons per token; `outputWidth` > 0 when
    /// every node on the path also adds its activation times an output weight (UltraFastBERT).
    case treeDescent(tokens: Double, dIn: Int, levels: Int, nodeWidth: Int, outputWidth: Int)
    /// Moving `rows` rows of `width` elements (gather, scatter, concat, token compaction).
    case gatherScatter(rows: Double, width: Int)
    /// Bytes leaving a device over its links: to one peer, or spread evenly over the others (all-to-all).
    case transfer(bytes: Double, pattern: TransferPattern)
}

/// How a transfer's bytes are spread over a device's peers.
public enum TransferPattern: Sendable, Equatable {
    case pointToPoint
    /// Each of `devices` devices sends 1/devices of the bytes to each other one (latency per peer).
    case allToAll(devices: Int)

    /// Messages (per-message latencies paid) and the peers the bytes are spread over.
    public var peers: Int {
        switch self {
        case .pointToPoint: return 1
        case let .allToAll(devices): return max(1, devices - 1)
        }
    }
}

/// One node of the op graph.
public struct Op: Sendable, Equatable {
    /// Index within its block template.
    public var index: Int
    /// Dotted name, e.g. `attention.qkv_proj`, `mlp.experts`.
    public var name: String
    /// Which part of the block: attention, ssm, mlp, fusion, norm, router, io.
    public var component: String
    public var kind: OpKind
    public var opClass: OpClass
    /// What the op does (kernel choice, fusion, backward factor).
    public var role: OpRole
    /// Lanes (bit mask over the graph's lanes) the op occupies; a whole-device op holds every lane of its device.
    public var laneMask: UInt64
    /// Ops (indices in the same template) that must finish first.
    public var dependencies: [Int]
    /// FLOPs the hardware executes (padded expert buffers included).
    public var flops: Double
    /// The part of `flops` on matrix units (tensor cores) at the dtype's matrix peak; the rest runs on vector units.
    public var matrixFlops: Double
    /// Kernel launches the op pays for (0: fused into the op before it).
    public var launches: Double
    /// Bytes moved to and from memory (or over the link, for transfers).
    public var bytes: Double
    /// FLOPs that count as model FLOPs for MFU (useful work only: no padding, no repeated recompute).
    public var modelFlops: Double
    /// The formula that gave `flops` and `bytes`, for tracing a prediction to its source.
    public var formula: String
    /// Whether the op is in the attention branch, the SSM branch, or neither (for split balancing and bubbles).
    public var branch: Branch
    /// Fraction of the device's compute units and bandwidth the op's lanes hold.
    public var share: Double
    /// Expected number of times the op runs per step (dynamic depth: the probability a full-batch
    /// layer runs at all; 1 otherwise). The analytic engine charges weight x duration.
    public var weight: Double
    /// Which pass of the layer: 0 = the normal pass, 1 = the repeat pass of dynamic depth.
    public var pass: Int
    /// Activation bytes kept for the backward pass (training), per run of the op.
    public var savedBytes: Double = 0
    /// Of `bytes`: the traffic to data that persists from step to step (weights, KV cache, decode state;
    /// ``OpFormulas/persistentBytes(of:elementBytes:)``).
    public var persistentBytes: Double = 0

    /// The name shown in spans and timelines: the repeat pass is marked.
    public var displayName: String { pass > 0 ? name + " (repeat)" : name }

    public enum Branch: String, Sendable { case none, attention, ssm }
}

/// A resource ops run on: a share of a device's compute units, a whole device, or a link.
public struct Lane: Sendable, Equatable {
    public enum Kind: String, Sendable { case compute, link }
    public var index: Int
    public var name: String
    public var kind: Kind
    /// Device index in the node (-1 for a link). What share of the device a lane holds is the
    /// business of the ops on it (`Op.share`): blocks may split a device differently.
    public var device: Int
}

/// The ops of one layer, built once per distinct layer and reused for every layer like it.
public struct BlockGraph: Sendable {
    public var blockName: String
    public var ops: [Op]
    /// Attention share of tokens in a split hybrid (solved when `balanced` or `optimal`), nil otherwise.
    public var splitRatio: Double?
    /// For a solved split: the ratio that balances the branches and the one that minimises the layer's latency.
    public var splitSolutions: SplitSolutions?
    /// MoE / FFF routing statistics, when the block routes.
    public var routing: RoutingStats?
    /// Whether `routing` describes MoE experts (true) or FFF leaves (false).
    public var routesExperts: Bool
    /// Expected executions of this layer per token (1 without dynamic depth; 1 - skip + repeat with it).
    public var expectedExecutions: Double
    /// Memory the layer keeps: weights, KV cache, SSM state (bytes).
    public var weightBytes: Double
    public var kvCacheBytes: Double
    public var ssmStateBytes: Double
    /// Activation memory of the layer: inference, its largest live tensor; training, what its ops keep for
    /// backward (``OpFormulas/savedBytes(of:role:elementBytes:rowWidth:)``), bytes.
    public var activationBytes: Double
    /// Training with full recomputation: the layer's input, the only activation it keeps (bytes).
    public var checkpointBytes: Double = 0
    public var parameters: Double
    /// Model FLOPs of this layer had every token run it exactly once (dynamic depth's baseline).
    public var denseModelFlops: Double

    public init(blockName: String, ops: [Op], splitRatio: Double?, routing: RoutingStats?, routesExperts: Bool,
                expectedExecutions: Double, weightBytes: Double, kvCacheBytes: Double, ssmStateBytes: Double,
                activationBytes: Double, parameters: Double, denseModelFlops: Double) {
        self.blockName = blockName
        self.ops = ops
        self.splitRatio = splitRatio
        self.splitSolutions = nil
        self.routing = routing
        self.routesExperts = routesExperts
        self.expectedExecutions = expectedExecutions
        self.weightBytes = weightBytes
        self.kvCacheBytes = kvCacheBytes
        self.ssmStateBytes = ssmStateBytes
        self.activationBytes = activationBytes
        self.parameters = parameters
        self.denseModelFlops = denseModelFlops
    }
}

/// The two solved ratios of a split hybrid block.
public struct SplitSolutions: Sendable, Equatable {
    /// Attention share at which both branches take equal time.
    public var balanced: Double
    /// Attention share that minimises the layer's latency.
    public var optimal: Double
    public init(balanced: Double, optimal: Double) {
        self.balanced = balanced
        self.optimal = optimal
    }
}

/// One layer of the model: which template it uses.
public struct LayerInstance: Sendable, Equatable {
    public var layer: Int
    public var blockName: String
    public var template: Int
}

/// A scenario lowered to ops: distinct block templates, the layer sequence, and prologue/epilogue ops.
public struct OpGraph: Sendable {
    public var lanes: [Lane]
    public var templates: [BlockGraph]
    public var layers: [LayerInstance]
    /// Embedding lookup (before the first layer) and final norm + LM head (after the last).
    public var prologue: BlockGraph
    public var epilogue: BlockGraph
    /// Mask of every compute lane (what whole-model ops occupy).
    public var deviceMask: UInt64
    /// Training: whether each layer keeps only its input and recomputes its forward in backward.
    public var recomputesActivations: Bool
    public var tokensPerStep: Double
    /// Dense model FLOPs per step if every layer ran exactly once (for saved-FLOPs under dynamic depth).
    public var denseModelFlops: Double
}

extension Op {
    /// A single op outside any graph (for timing one kernel): FLOPs and bytes from ``OpFormulas``.
    public static func standalone(name: String, kind: OpKind, opClass: OpClass, role: OpRole, elementBytes: Double, share: Double,
                                  laneMask: UInt64) -> Op {
        let c = OpFormulas.cost(of: kind, elementBytes: elementBytes)
        var op = Op(index: 0, name: name, component: "calibration", kind: kind, opClass: opClass, role: role, laneMask: laneMask,
                    dependencies: [], flops: c.flops, matrixFlops: c.matrixFlops, launches: c.launches, bytes: c.bytes,
                    modelFlops: c.flops, formula: c.formula, branch: .none, share: share, weight: 1, pass: 0)
        op.persistentBytes = c.persistentBytes
        return op
    }
}
