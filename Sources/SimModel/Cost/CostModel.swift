import Foundation

/// Turns (op, hardware profile, lane) into a duration. The one place that does.
///
///     time = overhead + max(compute, memory)      (compute + memory for a GEMM of 2 or more rows on a profile
///                                                  with `gemm_phases: sequential`)
///     compute = occupied matrix FLOPs / (matrix peak x dtype eff x share x eff_c(F')) + vector FLOPs / (vector peak x share x eff_c(F'))
///     (GEMMs: eff_c also times r / (r + gemm_half_rows) for r ≥ 2 rows, ``gemmRowsEfficiency(rows:halfRows:)``)
///     memory  = cold bytes / (bandwidth x share x eff_m(bytes)) + hot bytes / (cache bandwidth x share x eff_m(bytes))
///     overhead = launches x (launch overhead, or the graph launch overhead when the scenario launches
///                from captured graphs) + split overhead x (lanes the op holds - 1)
///
/// `eff_c` and `eff_m` are the op class's efficiency curves at the occupied FLOPs F' (vector + occupied matrix) and
/// the op's bytes (attention's `eff_c` also times its shape's terms, ``attentionShapeEfficiency(queries:keys:headDim:causal:window:)``); the occupied matrix FLOPs are the op's own, or, when the profile names a GEMM tile, a GEMM's
/// waves of tiles over the compute units (``occupiedMatrixFlops(_:share:)``); the
/// matrix peak is the dtype's, the vector peak the profile's non-matrix FP32 rate; `share` is the
/// fraction of the device's compute units (and bandwidth) the op's lanes hold. Transfers cost the
/// link's time for their pattern (``Link/seconds(bytes:peers:)``).
///
/// Hot and cold bytes (profiles with `memory.cache_bytes` and `memory.cache_bandwidth_bytes_per_s`; without
/// them every byte is cold): an op's persistent bytes (weights, KV cache, decode state:
/// ``Op/persistentBytes``) are hot when the model's whole persistent footprint per device fits in the cache
/// (the next step finds them there), cold otherwise; its other bytes (activations, just written by the op
/// before) are hot when they fit in the cache.
public struct CostModel: Sendable {
    public let profile: HardwareProfile
    public let dtype: DType
    /// Matrix peak of the dtype, FLOP/s (the datasheet's: what MFU divides by).
    public let matrixPeak: Double
    /// The matrix rate the efficiency curves apply to: the peak times the dtype's `matrix_efficiency`.
    public let matrixRate: Double
    /// Fixed cost of one launch: the graph launch overhead when `graphs` and the profile has one.
    public let launchSeconds: Double
    /// Whether the model's persistent data (weights, KV cache, states) stays in the cache from step to step.
    public let persistentResident: Bool
    private let curves: [EfficiencyCurve]
    private let variantCurves: [CurveVariant: EfficiencyCurve]

    /// `persistentFootprintBytes`: the model's weights, KV cache and states per device (what one step
    /// reads again the next; ``Lowering/persistentFootprint(_:)``).
    public init(profile: HardwareProfile, dtype: DType, graphs: Bool = false, persistentFootprintBytes: Double = .infinity) {
        self.profile = profile
        self.dtype = dtype
        self.persistentResident = profile.cacheBytes.map { persistentFootprintBytes <= $0 } ?? false
        self.matrixPeak = profile.peakFlops[dtype] ?? profile.vectorFlops
        self.matrixRate = matrixPeak * (profile.matrixEfficiency[dtype] ?? 1)
        self.launchSeconds = graphs ? (profile.graphLaunchOverheadSeconds ?? profile.launchOverheadSeconds) : profile.launchOverheadSeconds
        self.curves = OpClass.allCases.map { profile.curve($0) }
        self.variantCurves = profile.variantCurves
    }

    /// How an op's time was arrived at.
    public struct Breakdown: Sendable, Equatable {
        public var seconds: Double
        public var overheadSeconds: Double
        public var computeSeconds: Double
        public var memorySeconds: Double
        /// Of `computeSeconds`: the matrix units' part.
        public var matrixSeconds: Double
        /// The matrix FLOPs the units are occupied for (``CostModel/occupiedMatrixFlops(_:share:)``).
        public var occupiedMatrixFlops: Double
        public var peakFlopsPerSecond: Double
        /// The compute curve's efficiency at the occupied FLOPs.
        public var computeEfficiency: Double
        public var memoryEfficiency: Double
        public var bound: String
        /// Of the op's bytes, those read from the cache at its bandwidth.
        public var hotBytes: Double = 0
        /// Whether compute and memory add up (a tiled GEMM with sequential phases) rather than overlap.
        public var sequentialPhases: Bool = false
    }

    /// The matrix FLOPs a GEMM occupies the compute units for, with wave quantization on a profile with a GEMM
    /// tile: T = ceil(m/rows) x ceil(n/columns) x count output tiles over U = compute units x share run in
    /// ceil(T/U) waves, and a wave lasts as long as its fullest tile, 2 x min(m, rows) x min(n, columns) x k
    /// FLOPs on one unit. So the GEMM occupies waves x U x that tile's FLOPs: its own FLOPs when the tiles fill
    /// whole waves, more when the last wave or a partial tile leaves units idle. The count never falls when m,
    /// n or k grow (a GEMM never gets cheaper by growing). Without a tile, or for other ops: the op's own
    /// matrix FLOPs.
    @inline(__always)
    func occupiedMatrixFlops(_ op: Op, share: Double) -> Double {
        guard op.opClass == .gemm, let rows = profile.gemmTileRows, let columns = profile.gemmTileColumns,
              case let .gemm(m, n, _, count) = op.kind, m > 0, n > 0, op.matrixFlops > 0 else { return op.matrixFlops }
        let units = max(1, (Double(profile.computeUnits) * share).rounded(.down))
        // count may be an expectation (touched experts): its tiles are counted in proportion, not rounded up.
        let batches = count > 0 ? count : 1
        let tiles = (m / Double(rows)).rounded(.up) * (n / Double(columns)).rounded(.up) * batches
        guard tiles.isFinite else { return op.matrixFlops }
        let waves = (tiles / units).rounded(.up)
        // FLOPs per output element (2k), from the op's own count so the dtype's and the phase's factors carry.
        let perElement = op.matrixFlops / (m * n * batches)
        let tileFlops = perElement * min(m, Double(rows)) * min(n, Double(columns))
        return max(op.matrixFlops, waves * units * tileFlops)
    }

    /// Attention's efficiency from its shape, beside the curve's: d / (d + attention_half_head_dim) for head dim
    /// d and K / (K + attention_half_keys) for K keys attended per query on average; 1 for a term the profile
    /// does not have.
    public func attentionShapeEfficiency(queries: Double, keys: Double, headDim: Int, causal: Bool, window: Int?) -> Double {
        var e = 1.0
        if let half = profile.attentionHalfHeadDim, half > 0 { e *= Double(headDim) / (Double(headDim) + half) }
        if let half = profile.attentionHalfKeys, half > 0, queries > 0 {
            let k = OpFormulas.attendedKeys(queries: queries, keys: keys, causal: causal, window: window) / queries
            e *= k / (k + half)
        }
        return e
    }

    /// Whether a GEMM of `rows` rows per group runs as a tiled GEMM (two or more whole rows) rather than a
    /// matrix-vector product (one row): the rule the row term, sequential phases and the `gemv` variant share.
    @inline(__always)
    public static func isTiledGEMM(rows: Double) -> Bool { rows.rounded(.up) > 1 }

    /// A GEMM's efficiency from its rows (per group), beside the curve's: r / (r + `gemm_half_rows`) for r ≥ 2
    /// rows (rounded up, as a kernel runs whole rows), 1 for a single row (a matrix-vector product) or without
    /// the profile key.
    @inline(__always)
    public static func gemmRowsEfficiency(rows m: Double, halfRows: Double?) -> Double {
        guard let h = halfRows, h > 0 else { return 1 }
        guard isTiledGEMM(rows: m) else { return 1 }
        let r = m.rounded(.up)
        return r / (r + h)
    }

    /// Seconds to move an op's bytes at `efficiency` of the bandwidth its `share` holds: cold bytes from
    /// memory, hot bytes (see the type's documentation) from the cache. The calibrator fits with this too.
    @inline(__always)
    public static func memorySeconds(bytes: Double, persistentBytes: Double, persistentResident: Bool, share: Double,
                                     efficiency: Double, bandwidth: Double, cacheBytes: Double?, cacheBandwidth: Double?) -> Double {
        guard bytes > 0 else { return 0 }
        let rate = bandwidth * share * efficiency
        guard cacheBytes != nil, let cacheBandwidth else { return bytes / rate }
        let hot = hotBytes(bytes: bytes, persistentBytes: persistentBytes, persistentResident: persistentResident, cacheBytes: cacheBytes)
        return (bytes - hot) / rate + hot / (cacheBandwidth * share * efficiency)
    }

    /// Of an op's bytes, those read from the cache (see the type's documentation); 0 without a cache.
    @inline(__always)
    public static func hotBytes(bytes: Double, persistentBytes: Double, persistentResident: Bool, cacheBytes: Double?) -> Double {
        guard let cache = cacheBytes, bytes > 0 else { return 0 }
        let persistent = min(bytes, max(0, persistentBytes)), transient = bytes - persistent
        return (persistentResident ? persistent : 0) + (transient <= cache ? transient : 0)
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
                return Breakdown(seconds: t, overheadSeconds: 0, computeSeconds: 0, memorySeconds: t, matrixSeconds: 0, occupiedMatrixFlops: 0,
                                 peakFlopsPerSecond: 0, computeEfficiency: 0, memoryEfficiency: 1, bound: "memory")
            }
            let total = link.seconds(bytes: op.bytes, peers: pattern.peers)
            let latency = link.latencySeconds * Double(pattern.peers)
            return Breakdown(seconds: total, overheadSeconds: latency, computeSeconds: 0, memorySeconds: total - latency,
                             matrixSeconds: 0, occupiedMatrixFlops: 0, peakFlopsPerSecond: 0, computeEfficiency: 0, memoryEfficiency: 1,
                             bound: "link")
        }
        var c = curve(op.opClass)
        if !variantCurves.isEmpty, let variant = CurveVariant.of(op.kind), let own = variantCurves[variant] { c = own }
        let vectorFlops = max(0, op.flops - op.matrixFlops)
        let matrixFlops = occupiedMatrixFlops(op, share: share)
        // The curve's half size is a fixed ramp per op: paid once, not once per wave.
        let occupied = vectorFlops + matrixFlops
        var curveEff = c.computeEfficiency(flops: occupied)
        if case let .attention(_, _, _, queries, keys, headDim, causal, window) = op.kind {
            curveEff *= attentionShapeEfficiency(queries: queries, keys: keys, headDim: headDim, causal: causal, window: window)
        } else if case let .gemm(m, _, _, _) = op.kind {
            curveEff *= Self.gemmRowsEfficiency(rows: m, halfRows: profile.gemmHalfRows)
        }
        let memoryEff = c.memoryEfficiency(bytes: op.bytes)
        let matrix = matrixFlops > 0 ? matrixFlops / (matrixRate * share * curveEff) : 0
        let vector = vectorFlops > 0 ? vectorFlops / (profile.vectorFlops * share * curveEff) : 0
        let compute = matrix + vector
        let memory = Self.memorySeconds(bytes: op.bytes, persistentBytes: op.persistentBytes, persistentResident: persistentResident,
                                        share: share, efficiency: memoryEff, bandwidth: profile.memoryBandwidthBytesPerSecond,
                                        cacheBytes: profile.cacheBytes, cacheBandwidth: profile.cacheBandwidthBytesPerSecond)
        let extraLanes = Double(max(0, op.laneMask.nonzeroBitCount - 1))
        let overhead = (op.flops > 0 || op.bytes > 0)
            ? launchSeconds * op.launches + profile.splitOverheadSeconds * extraLanes : 0
        // The peak an op's FLOPs meet on average (for the trace).
        let peak = compute > 0 ? occupied / (compute * curveEff) : (op.opClass.usesMatrixUnits ? matrixRate : profile.vectorFlops) * share
        // A tiled GEMM with sequential phases (profile `gemm_phases: sequential`) pays both; everything else the larger.
        var sequential = false
        if profile.gemmSequentialPhases, case let .gemm(m, _, _, _) = op.kind, Self.isTiledGEMM(rows: m) { sequential = true }
        let work = sequential ? compute + memory : max(compute, memory)
        return Breakdown(seconds: overhead + work, overheadSeconds: overhead, computeSeconds: compute,
                         memorySeconds: memory, matrixSeconds: matrix, occupiedMatrixFlops: matrixFlops, peakFlopsPerSecond: peak,
                         computeEfficiency: curveEff,
                         memoryEfficiency: memoryEff, bound: compute >= memory ? "compute" : "memory",
                         hotBytes: profile.cacheBandwidthBytesPerSecond == nil ? 0
                             : Self.hotBytes(bytes: op.bytes, persistentBytes: op.persistentBytes, persistentResident: persistentResident,
                                             cacheBytes: profile.cacheBytes),
                         sequentialPhases: sequential)
    }
}
