import Foundation

/// Turns (op, hardware profile, lane) into a duration. The one place that does.
///
///     time = overhead + max(compute, memory)
///     compute = matrix FLOPs / (matrix peak x dtype eff x share x eff_c(F) x waves) + vector FLOPs / (vector peak x share x eff_c(F))
///     memory  = bytes / (bandwidth x share x eff_m(bytes))
///     overhead = launches x (launch overhead, or the graph launch overhead when the scenario launches
///                from captured graphs) + split overhead x (lanes the op holds - 1)
///
/// `eff_c` and `eff_m` are the op class's efficiency curves at the op's total FLOPs and bytes; `waves` is a
/// GEMM's wave quantization over the compute units when the profile names a GEMM tile (``waveEfficiency(_:share:)``); the
/// matrix peak is the dtype's, the vector peak the profile's non-matrix FP32 rate; `share` is the
/// fraction of the device's compute units (and bandwidth) the op's lanes hold. Transfers cost the
/// link's time for their pattern (``Link/seconds(bytes:peers:)``).
public struct CostModel: Sendable {
    public let profile: HardwareProfile
    public let dtype: DType
    /// Matrix peak of the dtype, FLOP/s (the datasheet's: what MFU divides by).
    public let matrixPeak: Double
    /// The matrix rate the efficiency curves apply to: the peak times the dtype's `matrix_efficiency`.
    let matrixRate: Double
    /// Fixed cost of one launch: the graph launch overhead when `graphs` and the profile has one.
    public let launchSeconds: Double
    private let curves: [EfficiencyCurve]

    public init(profile: HardwareProfile, dtype: DType, graphs: Bool = false) {
        self.profile = profile
        self.dtype = dtype
        self.matrixPeak = profile.peakFlops[dtype] ?? profile.vectorFlops
        self.matrixRate = matrixPeak * (profile.matrixEfficiency[dtype] ?? 1)
        self.launchSeconds = graphs ? (profile.graphLaunchOverheadSeconds ?? profile.launchOverheadSeconds) : profile.launchOverheadSeconds
        self.curves = OpClass.allCases.map { profile.curve($0) }
    }

    /// How an op's time was arrived at.
    public struct Breakdown: Sendable, Equatable {
        public var seconds: Double
        public var overheadSeconds: Double
        public var computeSeconds: Double
        public var memorySeconds: Double
        /// Of `computeSeconds`: the matrix units' part.
        public var matrixSeconds: Double
        public var peakFlopsPerSecond: Double
        public var computeEfficiency: Double
        public var memoryEfficiency: Double
        public var bound: String
    }

    /// Wave quantization of a GEMM on a profile with a GEMM tile: T = ceil(m/rows) x ceil(n/columns) x count
    /// output tiles over U = compute units x share run in ceil(T/U) waves; the units are busy T/(waves x U)
    /// of the time. 1 for other ops and profiles without a tile.
    @inline(__always)
    func waveEfficiency(_ op: Op, share: Double) -> Double {
        guard op.opClass == .gemm, let rows = profile.gemmTileRows, let columns = profile.gemmTileColumns,
              case let .gemm(m, n, _, count) = op.kind else { return 1 }
        let units = max(1, (Double(profile.computeUnits) * share).rounded(.down))
        let tiles = (m / Double(rows)).rounded(.up) * (n / Double(columns)).rounded(.up) * max(1, count.rounded(.up))
        guard tiles > 0, tiles.isFinite else { return 1 }
        let waves = (tiles / units).rounded(.up)
        return tiles / (waves * units)
    }

    @inline(__always)
    func curve(_ opClass: OpClass) -> EfficiencyCurve {
        switch opClass {
        case .gemm: return curves[0]
        case .attention: return curves[1]
        case .scan: return curves[2]
        case .conv: return curves[3]
        case .elementwise: return curves[4]
        case .router: return curves[5]
        case .gatherScatter: return curves[6]
        }
    }

    /// Seconds an op takes on lanes holding `share` of the device.
    @inline(__always)
    public func seconds(_ op: Op, share: Double, link: Link?) -> Double {
        breakdownValues(op, share: share, link: link).seconds
    }

    /// The full trace of an op's time.
    public func breakdown(_ op: Op, share: Double, link: Link?) -> Breakdown {
        breakdownValues(op, share: share, link: link)
    }

    @inline(__always)
    private func breakdownValues(_ op: Op, share: Double, link: Link?) -> Breakdown {
        if case let .transfer(_, pattern) = op.kind {
            // op.bytes: the kind's bytes times the phase's passes (a training step sends the gradient back).
            guard let link else {
                // Same device: a copy through memory.
                let t = op.bytes / profile.memoryBandwidthBytesPerSecond
                return Breakdown(seconds: t, overheadSeconds: 0, computeSeconds: 0, memorySeconds: t, matrixSeconds: 0,
                                 peakFlopsPerSecond: 0, computeEfficiency: 0, memoryEfficiency: 1, bound: "memory")
            }
            let total = link.seconds(bytes: op.bytes, peers: pattern.peers)
            let latency = link.latencySeconds * Double(pattern.peers)
            return Breakdown(seconds: total, overheadSeconds: latency, computeSeconds: 0, memorySeconds: total - latency,
                             matrixSeconds: 0, peakFlopsPerSecond: 0, computeEfficiency: 0, memoryEfficiency: 1, bound: "link")
        }
        let c = curve(op.opClass)
        let computeEff = c.computeEfficiency(flops: op.flops)
        let memoryEff = c.memoryEfficiency(bytes: op.bytes)
        let vectorFlops = max(0, op.flops - op.matrixFlops)
        let matrix = op.matrixFlops > 0 ? op.matrixFlops / (matrixRate * share * computeEff * waveEfficiency(op, share: share)) : 0
        let vector = vectorFlops > 0 ? vectorFlops / (profile.vectorFlops * share * computeEff) : 0
        let compute = matrix + vector
        let memory = op.bytes > 0 ? op.bytes / (profile.memoryBandwidthBytesPerSecond * share * memoryEff) : 0
        let extraLanes = Double(max(0, op.laneMask.nonzeroBitCount - 1))
        let overhead = (op.flops > 0 || op.bytes > 0)
            ? launchSeconds * op.launches + profile.splitOverheadSeconds * extraLanes : 0
        // The peak an op's FLOPs meet on average (for the trace).
        let peak = compute > 0 ? op.flops / (compute * computeEff) : (op.opClass.usesMatrixUnits ? matrixRate : profile.vectorFlops) * share
        return Breakdown(seconds: overhead + max(compute, memory), overheadSeconds: overhead, computeSeconds: compute,
                         memorySeconds: memory, matrixSeconds: matrix, peakFlopsPerSecond: peak, computeEfficiency: computeEff,
                         memoryEfficiency: memoryEff, bound: compute >= memory ? "compute" : "memory")
    }
}
