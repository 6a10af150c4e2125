import Foundation
import Kernels
import SimMath
import SimModel

/// Measures this CPU and fits the cost model's parameters with GSL, then writes a hardware profile.
///
/// 1. Microbenchmarks: FMA peak on one core and on all cores at once, STREAM-triad bandwidth on one
///    core and on all cores at once; the timer's resolution.
/// 2. Each op class over a grid of shapes, on one lane (one pinned core: share 1/cores) and split over
///    all lanes (share 1), through the same ``OpRunner`` the real executor uses: warm-up, then
///    repetitions until the median is stable (or the shape's time budget runs out); outliers
///    (beyond 3 median absolute deviations) are counted and reported.
/// 3. The fixed per-op overhead from the smallest ops; then, per op class, GSL's nonlinear least
///    squares (trust-region Levenberg–Marquardt, weights 1/t²) fits
///    t = overhead + max((F + h)/(P·s·e), (B + h_b)/(W·s·m)) for e (peak efficiency), h (half-size
///    FLOPs), m (memory efficiency), h_b (half-size bytes), with P the measured all-core FMA peak,
///    W the measured all-core bandwidth and s the share. Every fourth shape is held out of the fit
///    and predicted afterwards: the held-out error says how well the fit generalises.
public struct Calibrator {
    public struct Options: Sendable {
        public var quick: Bool
        /// The smallest grid that exercises every step (for tests of the pipeline; its fit is not for use).
        public var smoke: Bool
        public var name: String
        public init(quick: Bool = false, smoke: Bool = false, name: String = "cpu-calibrated") {
            self.quick = quick || smoke
            self.smoke = smoke
            self.name = name
        }
    }

    /// One timed shape.
    public struct Sample: Sendable {
        public var opClass: OpClass
        public var shape: String
        public var flops: Double
        public var bytes: Double
        public var share: Double
        public var seconds: Double
        public var repetitions: Int
        public var outliers: Int
        public var heldOut: Bool
        /// Of `bytes`: the op's persistent data (``Op/persistentBytes``).
        /// A GEMM's rows per group (0 for other ops): what ``CostModel/gemmRowsEfficiency(rows:halfRows:)`` reads.
        public var rows: Double = 0
        public var persistentBytes: Double = 0
        /// Whether the persistent data was the same for every timed copy (hot in the cache) or each copy's
        /// own, rotating through a pool larger than the cache (cold).
        public var persistentHot: Bool = false
        /// The kernel variant the shape runs as (fitted on its own curve, `efficiency.<variant>`), if any.
        public var variant: CurveVariant? = nil
    }

    public struct ClassFit: Sendable {
        public var opClass: OpClass
        /// The curve's name in the profile: the class's, or `scan_decode` for the decode-step curve.
        public var label: String
        public var curve: EfficiencyCurve
        /// Standard errors of peak, half_size_flops, memory, half_size_bytes.
        public var standardErrors: [Double]
        public var rSquared: Double
        public var points: Int
        public var heldOutPoints: Int
        public var heldOutMedianError: Double
        public var heldOutP90Error: Double
        public var converged: Bool
        public var reason: String
        /// Parameters the fit could not pin down (at a bound, driven to zero, or with a standard error
        /// larger than the value), and physically odd values, each said in one line.
        public var warnings: [String] = []
        /// GEMM only: the fitted `gemm_half_rows` and its standard error.
        public var gemmHalfRows: Double? = nil
        public var gemmHalfRowsError: Double? = nil
        /// GEMM only: whether sequential phases (compute + memory) fitted better than overlapped ones.
        public var gemmSequentialPhases: Bool = false
    }

    public struct Result: Sendable {
        /// Every timed shape with the fitted model's prediction, as CSV.
        public var samplesCSV: String {
            var lines = ["op_class,shape,flops,bytes,persistent_bytes,persistent_hot,share,measured_s,predicted_s,relative_error,repetitions,outliers,held_out"]
            for s in samples {
                let curve = s.variant.flatMap { profile.variantCurves[$0] } ?? profile.efficiency[s.opClass] ?? profile.curve(s.opClass)
                let predicted = Calibrator.predict(s, overheads: isolatedOverheads, peak: fmaPeakAllCores, bandwidth: bandwidthAllCores,
                                                   cache: cache, sequentialPhases: profile.gemmSequentialPhases, [curve.peak, curve.halfSizeFlops, curve.memory, curve.halfSizeBytes]
                                                       + (s.opClass == .gemm ? profile.gemmHalfRows.map { [$0] } ?? [] : []))
                lines.append("\(s.variant?.rawValue ?? s.opClass.rawValue),\(s.shape),\(s.flops),\(s.bytes),\(s.persistentBytes),\(s.persistentHot),\(s.share),\(s.seconds),\(predicted),\((predicted - s.seconds) / s.seconds),\(s.repetitions),\(s.outliers),\(s.heldOut)")
            }
            return lines.joined(separator: "\n") + "\n"
        }
        public var profile: HardwareProfile
        public var yaml: String
        public var fits: [ClassFit]
        public var samples: [Sample]
        public var fmaPeakOneCore: Double
        public var fmaPeakAllCores: Double
        public var bandwidthOneCore: Double
        public var bandwidthAllCores: Double
        public var overheadSeconds: Double
        public var seconds: Double
        /// The fixed costs of an op timed alone (what the samples and the fit used).
        var isolatedOverheads: Overheads
        /// The last-level cache and its measured bandwidth (nil when the size could not be read).
        public var cache: Cache?
    }

    /// The last-level cache: its size (from the OS) and the bandwidth of data resident in it (measured).
    public struct Cache: Sendable {
        public var bytes: Double
        public var bandwidth: Double
    }

    public struct CalibrationError: Error, CustomStringConvertible {
        public var description: String
    }

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Runs the calibration; `progress(done, total, label)` is called as shapes finish.
    public func run(progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Result {
        let began = Timing.now()
        let resolution = Timing.resolutionNanoseconds()
        guard resolution <= 1_000 else {
            throw CalibrationError(description: "the monotonic clock ticks every \(Int(resolution)) ns; calibration needs 1 us or finer to time small kernels")
        }
        let cores = max(1, ThreadPinning.coreCount)
        let workers = LaneWorkers(lanes: cores, cores: Array(0..<cores))
        defer { workers.shutdown() }

        // 1. Microbenchmarks, on pinned workers (one per core, all at once for the all-core figures).
        let microSeconds = options.smoke ? 0.02 : (options.quick ? 0.15 : 0.4)
        let fmaOne = measureOnLanes(workers, lanes: [0]) { Microbenchmarks.fmaPeakFlopsPerSecond(seconds: microSeconds) }.reduce(0, +)
        // All cores at once: on a shared machine another tenant can take a core for the whole measurement, and a
        // peak read low caps every fitted efficiency at 1 below what the kernels reach. So: the best of up to five
        // tries, stopping once it reaches 90 % of the cores times the one-core peak.
        var fmaAll = 0.0
        for _ in 0..<(options.smoke ? 1 : 5) {
            fmaAll = max(fmaAll, measureOnLanes(workers, lanes: Array(0..<cores)) { Microbenchmarks.fmaPeakFlopsPerSecond(seconds: microSeconds) }.reduce(0, +))
            if fmaAll >= 0.9 * Double(cores) * fmaOne { break }
        }
        let triadMB = options.smoke ? 8 : (options.quick ? 64 : 128)
        let bwOne = measureOnLanes(workers, lanes: [0]) { Microbenchmarks.triadBytesPerSecond(megabytes: triadMB, seconds: microSeconds) }.reduce(0, +)
        // The best of three (the same reason).
        var bwAll = 0.0
        for _ in 0..<(options.smoke ? 1 : 3) {
            bwAll = max(bwAll, measureOnLanes(workers, lanes: Array(0..<cores)) { Microbenchmarks.triadBytesPerSecond(megabytes: triadMB / cores, seconds: microSeconds) }.reduce(0, +))
        }
        guard fmaAll > 0, bwAll > 0 else { throw CalibrationError(description: "the FMA or bandwidth microbenchmark measured nothing") }
        // The last-level cache's bandwidth: the same triad on every core with its three arrays in a quarter of the cache.
        var cache: Cache? = nil
        if let llc = CalibrationHost.lastLevelCacheBytes {
            let perArrayMiB = max(1, Int(llc / Double(12 * cores) / Double(1 << 20)))
            let cacheBandwidth = measureOnLanes(workers, lanes: Array(0..<cores)) {
                Microbenchmarks.triadBytesPerSecond(megabytes: perArrayMiB, seconds: microSeconds)
            }.reduce(0, +)
            if cacheBandwidth > 0 { cache = Cache(bytes: llc, bandwidth: cacheBandwidth) }
        }

        // 2. The grid.
        let grid = CalibrationGrid.shapes(quick: options.quick, smoke: options.smoke)
        let needed = grid.reduce((inputs: 0, outputs: 0)) { acc, shape in
            let r = OpRunner.requirement(shape.kind)
            return (max(acc.inputs, r.inputs), max(acc.outputs, r.outputs))
        }
        // The pool cold copies rotate through: four times the cache, and two of the largest op's data.
        let largestPersistent = grid.map { OpRunner.persistentFloats($0.kind) }.max() ?? 0
        let poolFloats = max(2 * largestPersistent, options.smoke ? 1 << 20 : Int((cache?.bytes ?? 32e6) / 4 * 4))
        let runner = OpRunner(lanes: cores, inputs: needed.inputs, outputs: needed.outputs, dModel: CalibrationGrid.dModel,
                              persistent: poolFloats)
        var samples: [Sample] = []
        let shares = cores > 1 ? [1.0 / Double(cores), 1.0] : [1.0]
        // Two rounds over the whole grid, far apart in time; each sample keeps the faster of its two medians. On a
        // shared machine another tenant only ever slows a measurement, and a burst that spoils one round's timing
        // of a shape rarely spoils the other's.
        let rounds = options.quick ? 1 : 2
        let total = grid.count * shares.count * rounds
        var done = 0
        for round in 0..<rounds {
            var next = 0
            for (index, shape) in grid.enumerated() {
                for share in shares {
                    let lanes = share >= 1 ? Array(0..<cores) : [0]
                    var mask: UInt64 = 0
                    for l in lanes { mask |= UInt64(1) << UInt64(l) }
                    let op = Op.standalone(name: shape.name, kind: shape.kind, opClass: shape.opClass, role: shape.role, elementBytes: 4,
                                           share: share, laneMask: mask)
                    // Ops with persistent data: timed cold (each copy its own data) and hot (all copies the same data).
                    for hot in OpRunner.persistentFloats(shape.kind) > 0 ? [false, true] : [false] {
                        let timing = time(op, lanes: lanes, workers: workers, runner: runner, persistentHot: hot)
                        if round == 0 {
                            samples.append(Sample(opClass: shape.opClass, shape: shape.label, flops: op.flops, bytes: op.bytes, share: share,
                                                  seconds: timing.median, repetitions: timing.repetitions, outliers: timing.outliers,
                                                  heldOut: index % 4 == 3, rows: Self.rows(shape.kind), persistentBytes: op.persistentBytes,
                                                  persistentHot: hot, variant: CurveVariant.of(shape.kind)))
                        } else if next < samples.count {
                            samples[next].seconds = min(samples[next].seconds, timing.median)
                            samples[next].repetitions += timing.repetitions
                            samples[next].outliers += timing.outliers
                        }
                        next += 1
                    }
                    done += 1
                    progress(done, total, "\(shape.opClass.rawValue) \(shape.label)")
                }
            }
        }

        // 3. Overheads. For the fit: the near-empty op timed alone, on one lane and split over every
        //    lane (the samples are timed the same way). For the profile: what an op costs in a real run
        //    beyond its work, from a chain of near-empty ops through the real executor's dispatch (the
        //    next worker waking, the split parts joining): this is what predictions must charge per op.
        let tinyOne = samples.first { $0.shape.hasPrefix("tiny") && $0.share < 1 }?.seconds
        let tinyAll = samples.first { $0.shape.hasPrefix("tiny") && $0.share >= 1 }?.seconds ?? 0
        let overhead = tinyOne ?? tinyAll
        let splitOverhead = cores > 1 ? max(0, tinyAll - overhead) / Double(cores - 1) : 0
        let overheads = Overheads(launch: overhead, split: splitOverhead, cores: cores)
        let executor = RealExecutor()
        let chain = options.smoke ? 20 : 200
        let chainOne = try executor.chainSecondsPerOp(count: chain, cores: [0], workers: workers, runner: runner)
        let chainAll = try executor.chainSecondsPerOp(count: chain, cores: Array(0..<cores), workers: workers, runner: runner)
        let runOverhead = max(overhead, chainOne)
        let runSplitOverhead = cores > 1 ? max(0, chainAll - runOverhead) / Double(cores - 1) : 0

        var fits: [ClassFit] = []
        for opClass in OpClass.allCases {
            // Kernel variants (the SSM decode step, the one-row GEMM) are fitted on curves of their own, apart from
            // the class, when the grid has enough of them (else they stay in the class's fit).
            var separate: Set<CurveVariant> = []
            for variant in CurveVariant.allCases {
                let mine = samples.filter { $0.opClass == opClass && $0.variant == variant }
                guard mine.filter({ !$0.heldOut }).count >= (options.smoke ? 4 : 5) else { continue }
                separate.insert(variant)
                fits.append(try fit(opClass, mine, overheads: overheads, peak: fmaAll, bandwidth: bwAll, cache: cache, label: variant.rawValue))
            }
            let mine = samples.filter { s in
                s.opClass == opClass && !s.shape.hasPrefix("tiny") && !(s.variant.map { separate.contains($0) } ?? false)
            }
            if !mine.isEmpty { fits.append(try fit(opClass, mine, overheads: overheads, peak: fmaAll, bandwidth: bwAll, cache: cache)) }
        }
        var profile = makeProfile(fits: fits, overhead: runOverhead, peak: fmaAll, bandwidth: bwAll, cores: cores)
        profile.splitOverheadSeconds = runSplitOverhead
        for variant in CurveVariant.allCases {
            profile.variantCurves[variant] = fits.first { $0.label == variant.rawValue && $0.converged }?.curve
        }
        let gemmFit = fits.first { $0.opClass == .gemm && $0.label == OpClass.gemm.rawValue && $0.converged }
        profile.gemmHalfRows = gemmFit?.gemmHalfRows
        profile.gemmSequentialPhases = gemmFit?.gemmSequentialPhases ?? false
        profile.cacheBytes = cache?.bytes
        profile.cacheBandwidthBytesPerSecond = cache?.bandwidth
        let seconds = Timing.seconds(since: began)
        let yaml = ProfileWriter.yaml(profile, fits: fits, samples: samples, fmaOne: fmaOne, fmaAll: fmaAll, bwOne: bwOne, bwAll: bwAll,
                                      overhead: overhead, quick: options.quick, seconds: seconds, smoke: options.smoke)
        return Result(profile: profile, yaml: yaml, fits: fits, samples: samples, fmaPeakOneCore: fmaOne, fmaPeakAllCores: fmaAll,
                      bandwidthOneCore: bwOne, bandwidthAllCores: bwAll, overheadSeconds: runOverhead, seconds: seconds,
                      isolatedOverheads: overheads, cache: cache)
    }

    /// Runs `body` once on each lane at the same time; returns each lane's result.
    func measureOnLanes(_ workers: LaneWorkers, lanes: [Int], _ body: @escaping @Sendable () -> Double) -> [Double] {
        let results = ResultBox(count: lanes.count)
        for (i, lane) in lanes.enumerated() {
            workers.submit(lane: lane, op: i, part: 0) { results.set(i, body()) }
        }
        var finished = 0
        while finished < lanes.count { finished += workers.waitForCompletions().count }
        return results.values
    }

    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [Double]
        init(count: Int) { storage = Array(repeating: 0, count: count) }
        func set(_ i: Int, _ v: Double) { lock.lock(); storage[i] = v; lock.unlock() }
        var values: [Double] { lock.lock(); defer { lock.unlock() }; return storage }
    }

    struct Timed {
        var median: Double
        var repetitions: Int
        var outliers: Int
    }

    /// Times an op the way a real run does: a chain of copies of it through the real executor's dispatch
    /// (``RealExecutor/execute(_:laneCount:workers:runner:laneCores:)``), each copy's span from its first
    /// part's start to its last part's end. A short chain warms up and sizes the measured chain to the
    /// shape's time budget.
    func time(_ op: Op, lanes: [Int], workers: LaneWorkers, runner: OpRunner, persistentHot: Bool = false) -> Timed {
        let executor = RealExecutor()
        let cores = max(1, ThreadPinning.coreCount)
        let laneCores = (0..<cores).map { [$0] }
        // Cold: the copies' persistent data rotate through the pool (larger than the cache); hot: all share one region.
        var cursor = 0
        func spans(_ count: Int) -> [Double] {
            var ops: [Op] = []
            ops.reserveCapacity(count)
            for i in 0..<count {
                var copy = op
                copy.index = i
                copy.dependencies = i == 0 ? [] : [i - 1]
                ops.append(copy)
            }
            if persistentHot { cursor = 0 }
            let offsets: [Int?] = persistentHot
                ? ops.map { OpRunner.persistentFloats($0.kind) > 0 ? 0 : nil }
                : OpRunner.persistentOffsets(ops.map(\.kind), poolCount: runner.poolCount, cursor: &cursor)
            let block = BlockGraph(blockName: "calibration", ops: ops, splitRatio: nil, routing: nil, routesExperts: false,
                                   expectedExecutions: 1, weightBytes: 0, kvCacheBytes: 0, ssmStateBytes: 0, activationBytes: 0,
                                   parameters: 0, denseModelFlops: 0)
            guard let s = try? executor.execute(block, laneCount: cores, workers: workers, runner: runner, laneCores: laneCores,
                                                persistentOffsets: offsets) else { return [] }
            return (0..<count).map { s.ends[$0] - s.starts[$0] }
        }
        // The near-empty op measures fixed costs, whose rare slow wake-ups would dominate a short
        // series: it gets many repetitions and its 25th percentile (low percentiles are the steadier
        // statistic on a shared machine).
        let fixedCost = op.name.hasPrefix("tiny")
        let budget = options.smoke ? 0.005 : (fixedCost ? 0.05 : (options.quick ? 0.05 : 0.25))
        let maxRepetitions = options.smoke ? 5 : (fixedCost ? 201 : (options.quick ? 9 : 31))
        let probe = spans(3).sorted()
        let estimate = probe.isEmpty ? budget : probe[probe.count / 2]
        let count = min(maxRepetitions, max(5, Int(min(1e6, budget / max(estimate, 1e-7)))))
        var times = spans(count)
        if times.isEmpty { times = probe.isEmpty ? [0] : probe }
        let m = fixedCost ? times.sorted()[times.count / 4] : Self.median(times)
        let mad = Self.median(times.map { abs($0 - m) })
        let outliers = times.filter { mad > 0 && abs($0 - m) > 3 * 1.4826 * mad }.count
        return Timed(median: m, repetitions: times.count, outliers: outliers)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Fixed costs of an op: launch, plus the split overhead for each extra lane (CostModel's rule).
    struct Overheads {
        var launch: Double
        var split: Double
        var cores: Int
        func seconds(share: Double) -> Double { launch + (share >= 1 && cores > 1 ? split * Double(cores - 1) : 0) }
    }

    /// The cost model's prediction for one op with given curve parameters [e, h, m, hb]: the memory term is
    /// ``CostModel/memorySeconds(bytes:persistentBytes:persistentResident:share:efficiency:bandwidth:cacheBytes:cacheBandwidth:)``
    /// with the half-size bytes added, its persistent bytes hot when the sample's were.
    /// With a fifth parameter (GEMMs), the compute efficiency is also times
    /// ``CostModel/gemmRowsEfficiency(rows:halfRows:)`` of the sample's rows.
    static func predict(flops: Double, bytes: Double, share: Double, overheads: Overheads, peak: Double, bandwidth: Double,
                        persistentBytes: Double = 0, persistentHot: Bool = false, cache: Cache? = nil, rows: Double = 0,
                        sequentialPhases: Bool = false, _ p: [Double]) -> Double {
        let rowsEfficiency = p.count > 4 ? CostModel.gemmRowsEfficiency(rows: rows, halfRows: p[4]) : 1
        let compute = flops > 0 ? (flops + p[1]) / (peak * share * p[0] * rowsEfficiency) : 0
        let memory = bytes > 0
            ? CostModel.memorySeconds(bytes: bytes, persistentBytes: persistentBytes, persistentResident: persistentHot, share: share,
                                      efficiency: p[2], bandwidth: bandwidth, cacheBytes: cache?.bytes, cacheBandwidth: cache?.bandwidth)
                + p[3] / (bandwidth * share * p[2])
            : 0
        let sequential = sequentialPhases && CostModel.isTiledGEMM(rows: rows)
        return overheads.seconds(share: share) + (sequential ? compute + memory : max(compute, memory))
    }

    static func predict(_ s: Sample, overheads: Overheads, peak: Double, bandwidth: Double, cache: Cache?, sequentialPhases: Bool = false,
                        _ p: [Double]) -> Double {
        predict(flops: s.flops, bytes: s.bytes, share: s.share, overheads: overheads, peak: peak, bandwidth: bandwidth,
                persistentBytes: s.persistentBytes, persistentHot: s.persistentHot, cache: cache, rows: s.rows,
                sequentialPhases: sequentialPhases, p)
    }

    /// A GEMM kind's rows per group; 0 for other kinds.
    static func rows(_ kind: OpKind) -> Double {
        if case let .gemm(m, _, _, _) = kind { return m }
        return 0
    }

    /// The fitted parameters, in order, and their bounds (the fifth only for GEMMs with shapes of 2 to 63 rows).
    static let parameterNames = ["peak", "half_size_flops", "memory", "half_size_bytes", "gemm_half_rows"]
    static let lowerBounds = [1e-4, 0, 1e-3, 0, 1e-3]
    static let upperBounds = [1, 1e13, 50, 1e10, 1e4]

    func fit(_ opClass: OpClass, _ samples: [Sample], overheads: Overheads, peak: Double, bandwidth: Double, cache: Cache? = nil,
             label: String? = nil) throws -> ClassFit {
        let label = label ?? opClass.rawValue
        let train = samples.filter { !$0.heldOut }
        let test = samples.filter(\.heldOut)
        guard train.count >= (options.smoke ? 4 : 5) else {
            throw CalibrationError(description: "only \(train.count) shapes of \(label) to fit 4 parameters")
        }
        // x = [flops, bytes, share, persistent bytes, hot]; parameters [e, h, m, hb]; weights 1/t^2 (relative errors).
        let x = train.map { [$0.flops, $0.bytes, $0.share, $0.persistentBytes, $0.persistentHot ? 1 : 0, $0.rows] }
        // GEMMs fit a fifth parameter, gemm_half_rows, when some of their shapes have 2 to 63 rows.
        let fitsRows = opClass == .gemm && train.contains { $0.rows >= 2 && $0.rows < 64 }
        let y = train.map(\.seconds)
        let weights = y.map { 1 / ($0 * $0) }
        // The max() has a kink, so start from several points (compute- or memory-bound, small or large
        // half-sizes) and keep the best converged fit.
        // GEMMs with such shapes also try both ways of combining a tiled GEMM's compute and memory times
        // (overlapped, or sequential: operands packed, then computed); the better training fit is kept
        // (same parameter count: the held-out shapes play no part in the choice).
        var best: NonlinearLeastSquares.Result? = nil
        var bestSequential = false
        // Starting points: compute- or memory-bound, small or large half sizes (the fifth parameter, when fitted, from 8).
        let starts = [0.2, 0.7].flatMap { e in [0.5, 3.0].flatMap { m in [1e4, 1e7].flatMap { h in [1e3, 1e6].map { hb in [e, h, m, hb] } } } }
        let count = fitsRows ? 5 : 4
        for sequential in fitsRows ? [false, true] : [false] {
            for start in starts {
                guard let r = try? NonlinearLeastSquares.fit(
                    x: x, y: y, weights: weights, initial: start + (fitsRows ? [8] : []),
                    lowerBounds: Array(Self.lowerBounds.prefix(count)), upperBounds: Array(Self.upperBounds.prefix(count)),
                    maxIterations: 300,
                    model: { x, p in
                        Self.predict(flops: x[0], bytes: x[1], share: x[2], overheads: overheads, peak: peak, bandwidth: bandwidth,
                                     persistentBytes: x[3], persistentHot: x[4] > 0, cache: cache, rows: x[5],
                                     sequentialPhases: sequential, p)
                    }
                ) else { continue }
                if best == nil || (r.converged && !(best?.converged ?? false)) || (r.converged == best?.converged && r.chiSquared < (best?.chiSquared ?? .infinity)) {
                    best = r
                    bestSequential = sequential
                }
            }
        }
        guard let result = best else {
            throw CalibrationError(description: "the \(label) fit could not start from any initial point")
        }
        var p = result.parameters
        let names = Self.parameterNames, lower = Self.lowerBounds, upper = Self.upperBounds
        var warnings: [String] = []
        for i in p.indices {
            let se = i < result.standardErrors.count ? result.standardErrors[i] : .nan
            if (i == 1 || i == 3) && p[i] < 1 {
                // A half size under one FLOP or byte is zero: the shapes do not resolve a ramp. Say so, store 0.
                if p[i] != 0 { warnings.append("\(label).\(names[i]) fitted to \(p[i]), not identified by these shapes: stored as 0 (no ramp)") }
                p[i] = 0
            } else if p[i] <= lower[i] * 1.001 || p[i] >= upper[i] * 0.999 {
                warnings.append("\(label).\(names[i]) = \(p[i]) sits at its bound [\(lower[i]), \(upper[i])]: not identified by these shapes")
            } else if se.isFinite && se > p[i] {
                warnings.append("\(label).\(names[i]) = \(p[i]) has a standard error of \(se), larger than the value: not identified by these shapes")
            }
        }
        if p[2] > 1 {
            warnings.append("\(label).memory = \(p[2]) > 1: its memory-bound shapes run from cache, faster than the all-core triad bandwidth")
        }
        let errors = test.map {
            abs(Self.predict($0, overheads: overheads, peak: peak, bandwidth: bandwidth, cache: cache, sequentialPhases: bestSequential, p)
                - $0.seconds) / $0.seconds
        }.sorted()
        func percentile(_ q: Double) -> Double {
            errors.isEmpty ? .nan : errors[min(errors.count - 1, Int((q * Double(errors.count)).rounded(.up)) - 1)]
        }
        return ClassFit(opClass: opClass, label: label, curve: EfficiencyCurve(peak: p[0], halfSizeFlops: p[1], memory: p[2], halfSizeBytes: p[3]),
                        standardErrors: result.standardErrors, rSquared: result.rSquared, points: train.count,
                        heldOutPoints: test.count, heldOutMedianError: percentile(0.5), heldOutP90Error: percentile(0.9),
                        converged: result.converged, reason: result.reason, warnings: warnings,
                        gemmHalfRows: p.count > 4 ? p[4] : nil,
                        gemmHalfRowsError: p.count > 4 && result.standardErrors.count > 4 ? result.standardErrors[4] : nil,
                        gemmSequentialPhases: bestSequential)
    }

    func makeProfile(fits: [ClassFit], overhead: Double, peak: Double, bandwidth: Double, cores: Int) -> HardwareProfile {
        var curves: [OpClass: EfficiencyCurve] = [:]
        for f in fits where f.converged && f.label == f.opClass.rawValue { curves[f.opClass] = f.curve }
        // Classes without a converged fit keep the gemm-free default of elementwise, or a neutral curve.
        let fallback = curves[.elementwise] ?? EfficiencyCurve(peak: 0.5, halfSizeFlops: 1e5, memory: 0.8, halfSizeBytes: 6.4e4)
        for c in OpClass.allCases where curves[c] == nil { curves[c] = fallback }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        return HardwareProfile(
            name: options.name, description: "This machine's CPU (\(CalibrationHost.cpuModel)), \(cores) cores, fp32 arithmetic for every dtype, calibrated by hybridsim",
            kind: .cpu, computeUnits: cores, devicesPerNode: 1, peakFlops: [.fp32: peak, .bf16: peak, .fp16: peak], vectorFlops: peak,
            memoryCapacityBytes: memory, memoryBandwidthBytesPerSecond: bandwidth, launchOverheadSeconds: overhead,
            efficiency: curves, links: [], sources: [:], provenance: [:], origin: "calibrated")
    }
}
