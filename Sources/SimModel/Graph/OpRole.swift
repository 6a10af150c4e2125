import Foundation

/// What an op does in the model: the one name the real executor's kernel choice, operator fusion,
/// the training backward factors and the saved-activation count switch on (never the op's name).
public enum OpRole: String, Sendable, CaseIterable, Codable {
    // Matrix multiplies.
    /// A linear projection: attention qkv/o, SSM in/x/dt/out, fusion and gate projections.
    case projection
    /// The first GEMM of an MLP, expert, FFF leaf or node layer (gate+up for SwiGLU).
    case mlpUp = "mlp_up"
    /// The second GEMM of an MLP, expert, FFF leaf or node layer.
    case mlpDown = "mlp_down"
    /// The vocabulary projection.
    case lmHead = "lm_head"
    // Mixers.
    case attention
    case selectiveScan = "selective_scan"
    case ssd
    case conv1d
    // Elementwise.
    /// RMSNorm (pre-mixer, pre-MLP, final, fusion).
    case rmsNorm = "norm"
    /// Mamba-2's gated RMSNorm of the SSD output.
    case gatedNorm = "gated_norm"
    /// A residual add.
    case residual
    /// SiLU(gate) x up.
    case swiglu
    case gelu
    /// Hymba-style elementwise mean of the two branches.
    case mean
    /// Sigmoid-gated mix of the two branches.
    case gateMix = "gate_mix"
    /// The MoE weighted sum of the k expert outputs (and the shared experts' add).
    case weightedSum = "weighted_sum"
    /// FFF master-leaf blend.
    case blend
    /// The Adam step over the parameters.
    case optimizer
    /// A dense FFF training mask (every neuron evaluated, the path's kept).
    case mask
    // Routing and data movement.
    case router
    case treeDescent = "tree_descent"
    /// Row gathers and scatters: MoE dispatch/combine on one device, compaction, concatenation, leaf gathers.
    case gather
    case embedding
    case transfer

    /// Elementwise roles a scenario's `execution.fuse` may name, by the name it uses.
    public static let fusible: [String: [OpRole]] = [
        "norm": [.rmsNorm],
        "residual": [.residual],
        "activation": [.swiglu, .gelu],
        "gated_norm": [.gatedNorm],
        "weighted_sum": [.weightedSum],
        "fusion": [.mean, .gateMix],
        "blend": [.blend],
    ]

    /// Backward work as a multiple of the forward's, for training (the forward itself not included).
    ///
    /// GEMMs: the input gradient and the weight gradient, one GEMM each (2x). Attention: 2.5x, the count
    /// FlashAttention's benchmarks use (github Dao-AILab/flash-attention, benchmarks/benchmark_flash_attention.py,
    /// `flops(..., mode="bwd")` = 2.5 x forward: five matmuls in backward against two in forward, arXiv
    /// 2307.08691 §4.1). Transfers: the gradient crosses the link once, as the activation did (1x). Other
    /// ops read their saved inputs and the output gradient and write input gradients (2x, PaLM's 3x for a
    /// step, arXiv 2204.02311 appendix B). The optimizer step runs once (no backward).
    public var backwardFactor: Double {
        switch self {
        case .attention: return 2.5
        case .transfer: return 1
        case .optimizer: return 0
        default: return 2
        }
    }
}
