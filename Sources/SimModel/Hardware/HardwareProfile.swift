import Foundation

/// Number formats a workload runs in.
public enum DType: String, CaseIterable, Sendable, Codable {
    case fp32, bf16, fp16, fp8

    /// Bytes per element.
    public var bytes: Double {
        switch self {
        case .fp32: return 4
        case .bf16, .fp16: return 2
        case .fp8: return 1
        }
    }
}

/// The classes of op the cost model keeps separate efficiency curves for.
public enum OpClass: String, CaseIterable, Sendable, Codable {
    /// Dense matrix multiplies (projections, MLPs, experts, FFF leaves).
    case gemm
    /// Attention scores and weighted sum (QK^T, softmax, PV).
    case attention
    /// The SSM selective scan.
    case scan
    /// Depthwise causal conv1d.
    case conv
    /// Norms, activations, residual adds, fusion arithmetic.
    case elementwise
    /// Routers: MoE gate, dynamic-depth router, FFF tree descent.
    case router
    /// Gathers and scatters of token rows (MoE dispatch on one device, dynamic-depth compaction).
    case gatherScatter = "gather_scatter"

    /// Whether the op runs on matrix units (tensor cores) at the dtype's peak, or on vector units.
    public var usesMatrixUnits: Bool { self == .gemm || self == .attention }
}

/// Kernels of an op class different enough to have a curve of their own in a profile (`efficiency.<name>`),
/// on every kind of device: a decode step of an SSM is not the chunked prefill scan, a one-row GEMM is a
/// matrix-vector kernel, not a tiled GEMM.
public enum CurveVariant: String, CaseIterable, Sendable, Codable {
    /// An SSM decode step: a selective scan or SSD op of one token per sequence with a state (Mamba's
    /// `selective_state_update`).
    case scanDecode = "scan_decode"
    /// A GEMM of one row per group (a matrix-vector product: sgemv on a CPU, a GEMV kernel on a GPU).
    case gemv

    /// The variant an op kind runs as, if any.
    @inline(__always)
    public static func of(_ kind: OpKind) -> CurveVariant? {
        switch kind {
        case let .selectiveScan(_, length, _, _, decodeState): return decodeState && length <= 1 ? .scanDecode : nil
        case let .ssd(_, length, _, _, _, _, _, decodeState): return decodeState && length <= 1 ? .scanDecode : nil
        case let .gemm(m, _, _, _): return m > 0 && !CostModel.isTiledGEMM(rows: m) ? .gemv : nil
        default: return nil
        }
    }
}

/// How efficiently an op class uses the hardware, as a function of its size.
///
/// compute efficiency(F) = `peak` * F / (F + `halfSizeFlops`), a saturating curve that reaches half
/// its peak at `halfSizeFlops`; memory efficiency(B) = `memory` * B / (B + `halfSizeBytes`).
public struct EfficiencyCurve: Sendable, Equatable, Codable {
    public var peak: Double
    public var halfSizeFlops: Double
    public var memory: Double
    public var halfSizeBytes: Double

    public init(peak: Double, halfSizeFlops: Double, memory: Double, halfSizeBytes: Double = 0) {
        self.peak = peak
        self.halfSizeFlops = halfSizeFlops
        self.memory = memory
        self.halfSizeBytes = halfSizeBytes
    }

    /// Fraction of peak FLOP/s an op of `flops` FLOPs reaches.
    @inline(__always)
    public func computeEfficiency(flops: Double) -> Double {
        flops <= 0 ? peak : peak * flops / (flops + halfSizeFlops)
    }

    /// Fraction of peak bandwidth an op moving `bytes` reaches.
    @inline(__always)
    public func memoryEfficiency(bytes: Double) -> Double {
        bytes <= 0 ? memory : memory * bytes / (bytes + halfSizeBytes)
    }
}

/// A link between devices (NVLink, Infinity Fabric, PCIe, a socket interconnect).
public struct Link: Sendable, Equatable, Codable {
    /// How the devices of a node are joined.
    public enum Topology: String, Sendable, Codable, CaseIterable {
        /// Through a switch (NVSwitch): any peer at the device's whole bandwidth.
        case switched = "switch"
        /// A direct link to each peer (AMD Infinity Fabric mesh): one peer at `perPeerBandwidth`; the
        /// device's bandwidth only when the bytes are spread over all peers.
        case fullyConnected = "fully_connected"
    }

    public var name: String
    /// Unidirectional bandwidth of one device's connections together, bytes/s.
    public var bandwidthBytesPerSecond: Double
    /// Per-message latency, seconds.
    public var latencySeconds: Double
    public var topology: Topology
    /// Unidirectional bandwidth of the link to one peer (fully connected), bytes/s.
    public var perPeerBandwidthBytesPerSecond: Double?

    public init(name: String, bandwidthBytesPerSecond: Double, latencySeconds: Double, topology: Topology = .switched,
                perPeerBandwidthBytesPerSecond: Double? = nil) {
        self.name = name
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.latencySeconds = latencySeconds
        self.topology = topology
        self.perPeerBandwidthBytesPerSecond = perPeerBandwidthBytesPerSecond
    }

    /// Seconds to move `bytes` out of a device: to one peer, or spread over `peers` peers at once.
    ///
    /// Switched: latency x peers + bytes / bandwidth. Fully connected: each peer's share goes over its
    /// own link, so bytes / (peers x per-peer bandwidth), never faster than the device's bandwidth.
    public func seconds(bytes: Double, peers: Int) -> Double {
        let p = Double(max(1, peers))
        let wire: Double
        switch topology {
        case .switched:
            wire = bytes / bandwidthBytesPerSecond
        case .fullyConnected:
            let perPeer = perPeerBandwidthBytesPerSecond ?? bandwidthBytesPerSecond
            wire = max(bytes / (p * perPeer), bytes / bandwidthBytesPerSecond)
        }
        return latencySeconds * p + wire
    }
}

/// A device and its cost-model parameters.
///
/// Built-in profiles carry datasheet figures with their sources; the calibrator writes profiles
/// of the same schema with fitted parameters. See ``HardwareProfileLoader`` for the YAML form.
public struct HardwareProfile: Sendable, Equatable {
    public static let schemaVersion = 1

    public enum Kind: String, Sendable, Codable { case gpu, cpu }

    public var name: String
    public var description: String
    public var kind: Kind
    /// SMs (NVIDIA), CUs (AMD) or cores (CPU): the unit a lane's share is counted in.
    public var computeUnits: Int
    /// Devices of this kind available in one node (for separate-device placement and expert parallelism).
    public var devicesPerNode: Int
    /// Dense peak FLOP/s per dtype on matrix units (tensor cores / AMX / FMA for CPUs).
    public var peakFlops: [DType: Double]
    /// Peak FLOP/s of the vector units (non-tensor fp32), used by scan, conv, elementwise, router ops.
    public var vectorFlops: Double
    public var memoryCapacityBytes: Double
    public var memoryBandwidthBytesPerSecond: Double
    /// Fixed cost of one op (kernel launch, dispatch), seconds.
    public var launchOverheadSeconds: Double
    /// Extra fixed cost per additional lane an op is split across (a CPU op split over several
    /// worker threads waits for the last one to wake); 0 for GPUs, where a lane is a share of SMs.
    public var splitOverheadSeconds: Double = 0
    /// Fixed cost of one op launched from a captured graph (CUDA/HIP graphs); nil: no graphs (the
    /// launch overhead applies).
    public var graphLaunchOverheadSeconds: Double? = nil
    /// Fraction of the dtype's matrix peak its kernels reach relative to the efficiency curves' (fp8 kernels
    /// saturate the tensor cores less than bf16 ones); missing dtypes: 1.
    public var matrixEfficiency: [DType: Double] = [:]
    /// Output tile of a GEMM kernel (rows x columns one compute unit produces at a time); nil: no wave
    /// quantization. A GEMM of T tiles on U units runs ceil(T/U) waves, the last one partly idle.
    /// Rows at which a GEMM kernel reaches half of its curve's efficiency: a GEMM of r ≥ 2 rows (per group)
    /// has its compute efficiency multiplied by r / (r + this) (a tiled kernel whose register tile the rows
    /// do not fill); a single row runs as a matrix-vector product, without the term. nil: no row term.
    public var gemmHalfRows: Double? = nil
    /// Whether a GEMM of 2 or more rows moves its operands and then computes, one phase after the other
    /// (a CPU BLAS packs panels of its operands into a buffer before its microkernel runs over them), so its
    /// time is compute + memory rather than the larger of the two. A single row (matrix-vector) overlaps.
    public var gemmSequentialPhases: Bool = false
    public var gemmTileRows: Int? = nil
    public var gemmTileColumns: Int? = nil
    /// Head dimension at which the attention kernel reaches half of its curve's efficiency: attention's compute
    /// efficiency is multiplied by d / (d + this) for head dim d (small heads load a K/V tile for little
    /// matrix work); nil: no head-dim term.
    public var attentionHalfHeadDim: Double? = nil
    /// Keys per query at which the attention kernel reaches half of its curve's efficiency: attention's compute
    /// efficiency is multiplied by K / (K + this) for K keys attended per query on average (each query tile
    /// pays a fixed prologue and epilogue, loading Q and writing O, amortised over the keys it visits); nil: none.
    public var attentionHalfKeys: Double? = nil
    /// Last-level cache, bytes (a CPU's L3, a GPU's L2); nil: no cache term. With it and
    /// `cacheBandwidthBytesPerSecond`, bytes that stay in the cache from one op to the next are read at the
    /// cache's bandwidth (``CostModel``).
    public var cacheBytes: Double? = nil
    /// Bandwidth of data resident in the last-level cache, every unit at once, bytes/s.
    public var cacheBandwidthBytesPerSecond: Double? = nil
    public var efficiency: [OpClass: EfficiencyCurve]
    /// Curves of kernel variants (``CurveVariant``: the SSM decode step, the one-row GEMM), profile keys
    /// `efficiency.scan_decode` and `efficiency.gemv`; a variant without one uses its class's curve.
    public var variantCurves: [CurveVariant: EfficiencyCurve] = [:]
    public var links: [Link]
    /// Where each number comes from: key path -> citation.
    public var sources: [String: String]
    /// Free-form provenance (written by the calibrator: CPU model, library versions, date).
    public var provenance: [String: String]
    /// Where the profile was loaded from ("built-in" or a path).
    public var origin: String

    public init(name: String, description: String, kind: Kind, computeUnits: Int, devicesPerNode: Int,
                peakFlops: [DType: Double], vectorFlops: Double, memoryCapacityBytes: Double,
                memoryBandwidthBytesPerSecond: Double, launchOverheadSeconds: Double,
                efficiency: [OpClass: EfficiencyCurve], links: [Link], sources: [String: String] = [:],
                provenance: [String: String] = [:], origin: String = "inline") {
        self.name = name
        self.description = description
        self.kind = kind
        self.computeUnits = computeUnits
        self.devicesPerNode = devicesPerNode
        self.peakFlops = peakFlops
        self.vectorFlops = vectorFlops
        self.memoryCapacityBytes = memoryCapacityBytes
        self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
        self.launchOverheadSeconds = launchOverheadSeconds
        self.efficiency = efficiency
        self.links = links
        self.sources = sources
        self.provenance = provenance
        self.origin = origin
    }

    /// The efficiency curve of an op class (every class is present after loading).
    public func curve(_ opClass: OpClass) -> EfficiencyCurve {
        efficiency[opClass] ?? EfficiencyCurve(peak: 1, halfSizeFlops: 0, memory: 1)
    }

    /// The fastest link, used between devices of this kind.
    public var interconnect: Link? { links.max { $0.bandwidthBytesPerSecond < $1.bandwidthBytesPerSecond } }
}
