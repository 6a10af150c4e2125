import Foundation
import Kernels
import SimEngines
import SimModel

/// The real executor: runs a scenario's op graph with real CPU kernels on real threads and reports
/// measured times in the same ``Report`` the predicting engines produce (engine `measured`).
///
/// One worker thread is pinned to each core; each compute lane owns a share of the cores (one
/// lane: all of them; two lanes on two cores: one each). Ops become ready when their dependencies
/// are done and start when their lanes are free, as in the event engine; an op is split into one
/// part per core its lanes own, run concurrently, and ends when its last part does. MoE loads and skip decisions come from the same seeded draws as the
/// event engine (``RandomRoutingSampler``). Times are monotonic-clock nanoseconds measured on the
/// workers; a layer starts when its first op is dispatched.
public final class RealExecutor {
    public struct Options: Sendable {
        public var steps: Int
        public var seed: UInt64?
        /// Runs of each step before the measured ones (warm caches, faulted pages, OpenBLAS buffers).
        public var warmupRuns: Int
        /// Measured runs of each step; the one with the median latency is reported (one slow run on a
        /// shared machine then cannot decide the result).
        public var repeats: Int
        /// Refuse scenarios the cost model predicts to take longer than this per step on this CPU.
        public var maximumPredictedSecondsPerStep: Double
        /// Refuse scenarios whose largest op needs more than this many bytes of buffers per lane.
        public var maximumBytesPerLane: Double

        public init(steps: Int = 1, seed: UInt64? = nil, warmupRuns: Int = 1, repeats: Int = 3, maximumPredictedSecondsPerStep: Double = 30,
                    maximumBytesPerLane: Double = 2e9) {
            self.steps = steps
            self.seed = seed
            self.warmupRuns = warmupRuns
            self.repeats = max(1, repeats)
            self.maximumPredictedSecondsPerStep = maximumPredictedSecondsPerStep
            self.maximumBytesPerLane = maximumBytesPerLane
        }
    }

    /// A scenario the real executor will not run, in the user's terms.
    public struct RefusedError: Error, CustomStringConvertible {
        public var description: String
    }

    public let options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Measures `scenario` on this CPU.
    public func measure(_ scenario: Scenario) throws -> Report {
        guard scenario.hardware.kind == .cpu else {
            throw RefusedError(description: "\(scenario.file): `hardware: \(scenario.hardware.name)` is a \(scenario.hardware.kind.rawValue) profile; `measure` runs on this machine's CPU, so the scenario needs a CPU profile (generic-cpu, or one written by `hybridsim calibrate`)")
        }
        let predicted = AnalyticEngine(options: .init(layerRows: false, spans: false)).run(scenario)
        guard predicted.latencySeconds <= options.maximumPredictedSecondsPerStep else {
            throw RefusedError(description: "\(scenario.file): predicted at \(String(format: "%.1f", predicted.latencySeconds)) s per step on \(scenario.hardware.name), more than the \(Int(options.maximumPredictedSecondsPerStep)) s `measure` allows; make workload.batch, workload.seq_len or the model smaller")
        }
        let sampler = try RandomRoutingSampler(seed: options.seed ?? scenario.seed)
        var reports: [Report] = []
        var workers: LaneWorkers? = nil
        var runner: OpRunner? = nil
        defer { workers?.shutdown() }
        for step in 0..<options.steps {
            let s = scenario.atStep(step)
            let graph = Lowering(scenario: s, sampler: s.hasRandomness ? sampler : nil).lower()
            let cores = max(1, ThreadPinning.coreCount)
            if workers == nil { workers = LaneWorkers(lanes: cores, cores: Array(0..<cores)) }
            let needed = OpRunner.requiredFloats(graph: graph, laneCount: graph.lanes.count)
            guard Double(needed.inputs + needed.outputs) * 4 <= options.maximumBytesPerLane else {
                throw RefusedError(description: "\(scenario.file): its largest op needs \(String(format: "%.2f", Double(needed.inputs + needed.outputs) * 4 / 1e9)) GB of buffers per lane, more than the \(String(format: "%.1f", options.maximumBytesPerLane / 1e9)) GB `measure` allows; make the workload smaller")
            }
            // Every op of every layer gets its own persistent data (weights, caches, states), up to half the
            // buffer limit; beyond it the regions wrap (the data is streamed from memory either way).
            let persistent = Self.persistentFloats(graph, limit: Int(options.maximumBytesPerLane / 8))
            if runner == nil || runner?.fits(needed, persistent: persistent) == false {
                runner = OpRunner(lanes: cores, inputs: needed.inputs, outputs: needed.outputs, dModel: s.model.dModel, persistent: persistent)
            }
            guard let workers, let runner else { break }
            let laneCores = Self.laneCores(graph, cores: cores)
            let prepared = Prepared(graph, runner: runner)
            for _ in 0..<options.warmupRuns { _ = try execute(prepared, workers: workers, runner: runner, laneCores: laneCores) }
            var runs: [Measured] = []
            for _ in 0..<options.repeats { runs.append(try execute(prepared, workers: workers, runner: runner, laneCores: laneCores)) }
            runs.sort { $0.latency < $1.latency }
            let chosen = runs[runs.count / 2]
            let cost = s.costModel
            let reportOptions = AnalyticEngine.Options(layerRows: step == 0, spans: step == 0)
            reports.append(ReportAssembler(options: reportOptions).assemble(
                engine: "measured", graph: graph, scenario: s, cost: cost, prologue: chosen.prologue,
                epilogue: chosen.epilogue, schedules: chosen.layers, perLayer: true))
        }
        guard let merged = Report.merging(steps: reports) else {
            throw RefusedError(description: "\(scenario.file): no step ran")
        }
        return merged
    }

    struct Measured {
        var prologue: LayerSchedule
        var epilogue: LayerSchedule
        var layers: [LayerSchedule]
        var latency: Double { layers.reduce(prologue.latency + epilogue.latency) { $0 + $1.latency } }
    }

    /// Floats of persistent data the graph's ops read, every layer its own (at most `limit`, at least the
    /// largest op's).
    static func persistentFloats(_ graph: OpGraph, limit: Int) -> Int {
        var total = 0, largest = 0
        func add(_ block: BlockGraph) {
            for op in block.ops {
                let f = OpRunner.persistentFloats(op.kind)
                total = min(Int.max / 2, total + f)
                largest = max(largest, f)
            }
        }
        add(graph.prologue)
        for instance in graph.layers { add(graph.templates[instance.template]) }
        add(graph.epilogue)
        return max(largest, min(total, limit))
    }

    /// Seconds per op of a chain of `count` near-empty ops on one lane owning `cores`: what an op
    /// costs beyond its own work here (waking the next worker, dispatching, the kernel call).
    func chainSecondsPerOp(count: Int, cores: [Int], workers: LaneWorkers, runner: OpRunner) throws -> Double {
        var ops: [Op] = []
        for i in 0..<count {
            var op = Op.standalone(name: "tiny.add", kind: .elementwise(elements: 8, flopsPerElement: 1, reads: 2, writes: 1),
                                   opClass: .elementwise, role: .residual, elementBytes: 4, share: 1, laneMask: 1)
            op.index = i
            op.dependencies = i == 0 ? [] : [i - 1]
            ops.append(op)
        }
        let block = BlockGraph(blockName: "chain", ops: ops, splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                               weightBytes: 0, kvCacheBytes: 0, ssmStateBytes: 0, activationBytes: 0, parameters: 0, denseModelFlops: 0)
        _ = try execute(block, laneCount: 1, workers: workers, runner: runner, laneCores: [cores])
        let measured = try execute(block, laneCount: 1, workers: workers, runner: runner, laneCores: [cores])
        return measured.latency / Double(count)
    }

    /// The cores each lane owns: a device's compute lanes share its cores out evenly (one lane: every
    /// core, since a lane holding the whole device has share 1; two lanes on two cores: one each);
    /// link lanes copy on core 0.
    static func laneCores(_ graph: OpGraph, cores: Int) -> [[Int]] {
        let compute = graph.lanes.filter { $0.kind == .compute }
        var result = [[Int]](repeating: [0], count: graph.lanes.count)
        for (i, lane) in compute.enumerated() {
            let per = max(1, cores / max(1, compute.count))
            let first = (i * per) % cores
            result[lane.index] = Array(first..<min(cores, first + per))
        }
        return result
    }

    /// A graph laid out for runs, once per step (not per warm-up or repeat): its blocks in order (prologue,
    /// layers, epilogue), which plan each shares (a layer's template), and every op's persistent offset.
    struct Prepared {
        var graph: OpGraph
        var blocks: [BlockGraph]
        var planKeys: [Int]
        var offsets: [[Int?]]

        init(_ graph: OpGraph, runner: OpRunner) {
            self.graph = graph
            blocks = [graph.prologue] + graph.layers.map { graph.templates[$0.template] } + [graph.epilogue]
            planKeys = [-1] + graph.layers.map(\.template) + [-2]
            var cursor = 0
            offsets = blocks.map { OpRunner.persistentOffsets($0.ops.map(\.kind), poolCount: runner.poolCount, cursor: &cursor) }
        }
    }

    func execute(_ prepared: Prepared, workers: LaneWorkers, runner: OpRunner, laneCores: [[Int]]) throws -> Measured {
        let schedules = try execute(prepared.blocks, laneCount: prepared.graph.lanes.count, workers: workers, runner: runner,
                                    laneCores: laneCores, persistentOffsets: prepared.offsets, planKeys: prepared.planKeys)
        guard let pro = schedules.first, let epi = schedules.last, schedules.count >= 2 else {
            throw RefusedError(description: "the real executor lost a block of the graph")
        }
        return Measured(prologue: pro, epilogue: epi, layers: Array(schedules.dropFirst().dropLast()))
    }

    /// Runs one block's ops for real; returns its measured schedule (times relative to its first dispatch).
    func execute(_ block: BlockGraph, laneCount: Int, workers: LaneWorkers, runner: OpRunner, laneCores: [[Int]],
                 persistentOffsets: [Int?]? = nil) throws -> LayerSchedule {
        guard let schedule = try execute([block], laneCount: laneCount, workers: workers, runner: runner, laneCores: laneCores,
                                         persistentOffsets: persistentOffsets.map { [$0] }).first else {
            throw RefusedError(description: "the real executor lost block \(block.blockName)")
        }
        return schedule
    }

    /// Runs blocks one after another for real, in one pass of the workers: the worker that finishes a
    /// block's last op starts the next block on the spot (no coordinator wakes between blocks or ops).
    /// Returns each block's measured schedule, its times relative to that block's first dispatch.
    /// `persistentOffsets[b][i]`: where op i of block b finds its persistent data in the runner's pool (nil: the arena).
    /// Blocks with the same `planKeys` entry (a layer template's instances) share one ``BlockPlan``, made once.
    func execute(_ blocks: [BlockGraph], laneCount: Int, workers: LaneWorkers, runner: OpRunner, laneCores: [[Int]],
                 persistentOffsets: [[Int?]]? = nil, planKeys: [Int]? = nil) throws -> [LayerSchedule] {
        var plans: [Int: BlockPlan] = [:]
        var schedules: [LayerSchedule] = []
        schedules.reserveCapacity(blocks.count)
        var current = 0
        // The running block's state (reset by `begin`).
        var block = blocks.first
        var n = 0
        var busy = [Double](repeating: 0, count: laneCount)
        var starts: [Double] = [], ends: [Double] = []
        var opLanes: [[Int]] = []
        var remaining: [Int] = []
        var children: [[Int]] = []
        var queues = [[Int]](repeating: [], count: laneCount)
        var laneBusy = [Bool](repeating: false, count: laneCount)
        var partsLeft: [Int] = []
        var finished = 0
        var origin: UInt64 = 0

        // Everything below runs with the workers' lock held: from this thread to start, then from
        // whichever worker finishes a part (it dispatches what that makes ready, on the spot).
        func enqueue(_ op: Int) { for lane in opLanes[op] { queues[lane].append(op) } }
        func dispatch(_ lane: Int) {
            guard let block else { return }
            while !laneBusy[lane], let op = queues[lane].first {
                for other in opLanes[op] where laneBusy[other] || queues[other].first != op { return }
                // The op runs split over every core its lanes own.
                var cores: [Int] = []
                for l in opLanes[op] {
                    laneBusy[l] = true
                    queues[l].removeFirst()
                    for c in laneCores[l] where !cores.contains(c) { cores.append(c) }
                }
                cores.sort()
                partsLeft[op] = cores.count
                let operation = block.ops[op]
                let offset: Int? = persistentOffsets.flatMap { current < $0.count && op < $0[current].count ? $0[current][op] : nil }
                for (part, core) in cores.enumerated() {
                    workers.submitLocked(lane: core, op: op, part: part) {
                        runner.run(operation, part: part, of: cores.count, lane: core, persistentOffset: offset)
                    }
                }
            }
        }
        /// Starts block `current` (and records empty blocks at once).
        func begin() {
            while current < blocks.count {
                let b = blocks[current]
                block = b
                n = b.ops.count
                busy = [Double](repeating: 0, count: laneCount)
                guard n > 0 else {
                    schedules.append(LayerSchedule(block: b, laneCount: laneCount, latency: 0, busy: busy, starts: [], ends: []))
                    current += 1
                    continue
                }
                starts = [Double](repeating: .infinity, count: n)
                ends = [Double](repeating: 0, count: n)
                let key = planKeys.map { current < $0.count ? $0[current] : current } ?? current
                let plan = plans[key] ?? BlockPlan(b, laneCount: laneCount)
                plans[key] = plan
                opLanes = plan.opLanes
                remaining = plan.dependencyCounts
                children = plan.children
                for l in 0..<laneCount { queues[l].removeAll(keepingCapacity: true); laneBusy[l] = false }
                partsLeft = [Int](repeating: 0, count: n)
                finished = 0
                origin = Timing.now()
                for op in 0..<n where remaining[op] == 0 { enqueue(op) }
                for lane in 0..<laneCount { dispatch(lane) }
                return
            }
            block = nil
        }
        func completed(_ c: LaneWorkers.Completion) {
            let start = Double(c.start &- min(c.start, origin)) / 1e9, end = Double(c.end &- min(c.end, origin)) / 1e9
            starts[c.op] = min(starts[c.op], start)
            ends[c.op] = max(ends[c.op], end)
            partsLeft[c.op] -= 1
            guard partsLeft[c.op] == 0 else { return }
            finished += 1
            for lane in opLanes[c.op] {
                // A lane is busy for the op's whole interval, first part's start to last part's end.
                busy[lane] += ends[c.op] - starts[c.op]
                laneBusy[lane] = false
            }
            if finished >= n, let b = block {
                // Relative to the block's start: its first dispatch (`origin`).
                schedules.append(LayerSchedule(block: b, laneCount: laneCount, latency: ends.max() ?? 0, busy: busy, starts: starts, ends: ends))
                current += 1
                begin()
                return
            }
            for child in children[c.op] {
                remaining[child] -= 1
                if remaining[child] == 0 { enqueue(child) }
            }
            for lane in 0..<laneCount { dispatch(lane) }
        }
        workers.run(handler: completed, start: begin, until: { current >= blocks.count })
        return schedules
    }

    /// What a block's run needs from its graph, the same for every instance of a layer template: the lanes each op
    /// holds (lane 0 when none), how many dependencies each waits for, and whom each op's end releases.
    struct BlockPlan {
        var opLanes: [[Int]]
        var dependencyCounts: [Int]
        var children: [[Int]]

        init(_ block: BlockGraph, laneCount: Int) {
            opLanes = block.ops.map { op in
                let lanes = (0..<laneCount).filter { op.laneMask & (UInt64(1) << UInt64($0)) != 0 }
                return lanes.isEmpty ? [0] : lanes
            }
            dependencyCounts = block.ops.map { op in op.dependencies.filter { $0 < op.index }.count }
            var children = [[Int]](repeating: [], count: block.ops.count)
            for op in block.ops { for d in op.dependencies where d < op.index { children[d].append(op.index) } }
            self.children = children
        }
    }
}
