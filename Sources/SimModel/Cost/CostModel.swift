import Foundation

/// Turns (op, hardware profile, lane) into a duration. The one place that does.
///
/// time = overhead + max(FLOPs / (peak x share x efficiency(FLOPs)), bytes / (bandwidth x share x memory efficiency(bytes)))
///
/// overhead = launch overhead + split overhead x (lanes the op holds - 1).
/// `peak` is the dtype's matrix peak for GEMM and attention and the vector peak for everything
/// else; `share` is the fraction of the device's compute units (and bandwidth) the op's lanes hold.
/// Transfers cost latency x messages + bytes / link bandwidth.
public struct CostModel: Sendable {
    public let profile: HardwareProfile
    public let dtype: DType
    /// Matrix peak of the dtype, FLOP/s.
    public let matrixPeak: Double
    private let curves: [EfficiencyCurve]

    public init(profile: HardwareProfile, dtype: DType) {
        self.profile = profile
        self.dtype = dtype
        self.matrixPeak = profile.peakFlops[dtype] ?? profile.vectorFlops
        self.curves = OpClass.allCases.map { profile.curve($0) }
    }

    /// How an op's time was arrived at.
    public struct Breakdown: Sendable, Equatable {
        public var seconds: Double
        public var overheadSeconds: Double
        public var computeSeconds: Double
        public var memorySeconds: Double
        public var peakFlopsPerSecond: Double
        public var computeEfficiency: Double
        public var memoryEfficiency: Double
        public var bound: String
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
        if case let .transfer(bytes, messages) = op.kind {
            guard let link else {
                // Same device: a copy through memory.
                let t = bytes / profile.memoryBandwidthBytesPerSecond
                return Breakdown(seconds: t, overheadSeconds: 0, computeSeconds: 0, memorySeconds: t,
                                 peakFlopsPerSecond: 0, computeEfficiency: 0, memoryEfficiency: 1, bound: "memory")
            }
            let latency = link.latencySeconds * messages
            let wire = bytes / link.bandwidthBytesPerSecond
            return Breakdown(seconds: latency + wire, overheadSeconds: latency, computeSeconds: 0, memorySeconds: wire,
                             peakFlopsPerSecond: 0, computeEfficiency: 0, memoryEfficiency: 1, bound: "link")
        }
        let c = curve(op.opClass)
        let peak = (op.opClass.usesMatrixUnits ? matrixPeak : profile.vectorFlops) * share
        let computeEff = c.computeEfficiency(flops: op.flops)
        let memoryEff = c.memoryEfficiency(bytes: op.bytes)
        let compute = op.flops > 0 ? op.flops / (peak * computeEff) : 0
        let memory = op.bytes > 0 ? op.bytes / (profile.memoryBandwidthBytesPerSecond * share * memoryEff) : 0
        let extraLanes = Double(max(0, op.laneMask.nonzeroBitCount - 1))
        let overhead = (op.flops > 0 || op.bytes > 0) ? profile.launchOverheadSeconds + profile.splitOverheadSeconds * extraLanes : 0
        return Breakdown(seconds: overhead + max(compute, memory), overheadSeconds: overhead, computeSeconds: compute,
                         memorySeconds: memory, peakFlopsPerSecond: peak, computeEfficiency: computeEff,
                         memoryEfficiency: memoryEff, bound: compute >= memory ? "compute" : "memory")
    }
}
