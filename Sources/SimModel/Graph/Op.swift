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
    /// Mamba-2 SSD (chunked state-space dual) over `length` steps.
    case ssd(batch: Double, length: Double, heads: Int, headDim: Int, dState: Int, chunk: Int, decodeState: Bool)
    /// Depthwise causal conv1d of width `width` over `channels`.
    case conv1d(tokens: Double, channels: Int, width: Int)
    /// Elementwise work: `elements` outputs, `flopsPerElement` each, reading `reads` and writing `writes` tensors of that size.
    case elementwise(elements: Double, flopsPerElement: Double, reads: Double, writes: Double)
    /// A router: logits of `outputs` per token from a `dIn` input, then softmax / top-k / decision.
    case router(tokens: Double, dIn: Int, outputs: Int)
    /// FFF tree descent: `depth` levels of `nodeWidth`-wide node neurons per token.
    case treeDescent(tokens: Double, dIn: Int, depth: Int, nodeWidth: Int)
    /// Moving `rows` rows of `width` elements (gather, scatter, concat, token compaction).
    case gatherScatter(rows: Double, width: Int)
    /// Bytes over a link between devices (one message, or an all-to-all's share).
    case transfer(bytes: Double, messages: Double)
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
    /// Lanes (bit mask over the graph's lanes) the op occupies; a whole-device op holds every lane of its device.
    public var laneMask: UInt64
    /// Ops (indices in the same template) that must finish first.
    public var dependencies: [Int]
    /// FLOPs the hardware executes (padded expert buffers included).
    public var flops: Double
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
    /// Attention share of tokens in a split hybrid (solved when `balanced`), nil otherwise.
    public var splitRatio: Double?
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
    /// Largest activation tensor alive in the layer (bytes), for the activation-memory estimate.
    public var activationBytes: Double
    public var parameters: Double
    /// Model FLOPs of this layer had every token run it exactly once (dynamic depth's baseline).
    public var denseModelFlops: Double

    public init(blockName: String, ops: [Op], splitRatio: Double?, routing: RoutingStats?, routesExperts: Bool,
                expectedExecutions: Double, weightBytes: Double, kvCacheBytes: Double, ssmStateBytes: Double,
                activationBytes: Double, parameters: Double, denseModelFlops: Double) {
        self.blockName = blockName
        self.ops = ops
        self.splitRatio = splitRatio
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
    /// FLOPs multiplier of the phase (3 for train: forward + backward = 3x forward, PaLM appendix B).
    public var phaseMultiplier: Double
    public var tokensPerStep: Double
    /// Dense model FLOPs per step if every layer ran exactly once (for saved-FLOPs under dynamic depth).
    public var denseModelFlops: Double
}

extension Op {
    /// A single op outside any graph (for timing one kernel): FLOPs and bytes from ``OpFormulas``.
    public static func standalone(name: String, kind: OpKind, opClass: OpClass, elementBytes: Double, share: Double,
                                  laneMask: UInt64) -> Op {
        let c = OpFormulas.cost(of: kind, elementBytes: elementBytes)
        return Op(index: 0, name: name, component: "calibration", kind: kind, opClass: opClass, laneMask: laneMask,
                  dependencies: [], flops: c.flops, bytes: c.bytes, modelFlops: c.flops, formula: c.formula, branch: .none,
                  share: share, weight: 1, pass: 0)
    }
}
