import Foundation
import SimModel

/// The analytic executor: closed form over the op graph.
///
/// Within a layer, ops are list-scheduled in dependency order on their lanes with expected
/// durations (weight x cost-model time); layers follow each other (each needs the previous one's
/// output). Each distinct layer template is scheduled once and reused, so a 48-layer model of one
/// block costs one block's work plus 48 additions. Expectations over random routing come from
/// ``RoutingStats`` (expected maximum expert load, expected drops).
public struct AnalyticEngine: Sendable {
    public struct Options: Sendable {
        /// Fill `Report.layers` (one row per layer and lane).
        public var layerRows: Bool
        /// Fill `Report.spans` (one per op per layer).
        public var spans: Bool
        public init(layerRows: Bool = true, spans: Bool = false) {
            self.layerRows = layerRows
            self.spans = spans
        }
    }

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Lowers and evaluates a scenario.
    public func run(_ scenario: Scenario) -> Report {
        let graph = Lowering.lower(scenario)
        return evaluate(graph, scenario: scenario)
    }

    /// A template's schedule, relative to the layer's start.
    struct Schedule {
        var latency: Double
        var busy: [Double]
        var flops: [Double]
        var bytes: [Double]
        var starts: [Double]
        var ends: [Double]
        var totalFlops: Double
        var totalModelFlops: Double
    }

    func schedule(_ block: BlockGraph, lanes: [Lane], cost: CostModel, link: Link?) -> Schedule {
        let laneCount = lanes.count
        var laneFree = [Double](repeating: 0, count: laneCount)
        var s = Schedule(latency: 0, busy: .init(repeating: 0, count: laneCount), flops: .init(repeating: 0, count: laneCount),
                         bytes: .init(repeating: 0, count: laneCount), starts: .init(repeating: 0, count: block.ops.count),
                         ends: .init(repeating: 0, count: block.ops.count), totalFlops: 0, totalModelFlops: 0)
        block.ops.withUnsafeBufferPointer { ops in
            for i in 0..<ops.count {
                var start = 0.0
                for dep in ops[i].dependencies where dep < i { start = max(start, s.ends[dep]) }
                let laneMask = ops[i].laneMask
                var mask = laneMask, lane = 0
                while mask != 0 {
                    if mask & 1 == 1, lane < laneCount { start = max(start, laneFree[lane]) }
                    mask >>= 1; lane += 1
                }
                let weight = ops[i].weight
                let duration = cost.seconds(ops[i], share: ops[i].share, link: link) * weight
                let end = start + duration
                s.starts[i] = start
                s.ends[i] = end
                let opFlops = ops[i].flops * weight, opBytes = ops[i].bytes * weight
                let held = Double(laneMask.nonzeroBitCount)
                mask = laneMask; lane = 0
                while mask != 0 {
                    if mask & 1 == 1, lane < laneCount {
                        laneFree[lane] = end
                        s.busy[lane] += duration
                        s.flops[lane] += opFlops / held
                        s.bytes[lane] += opBytes / held
                    }
                    mask >>= 1; lane += 1
                }
                s.latency = max(s.latency, end)
                s.totalFlops += opFlops
                s.totalModelFlops += ops[i].modelFlops * weight
            }
        }
        return s
    }

    /// Evaluates a lowered graph.
    public func evaluate(_ graph: OpGraph, scenario: Scenario) -> Report {
        let cost = CostModel(profile: scenario.hardware, dtype: scenario.workload.dtype)
        let link = scenario.hardware.interconnect
        let lanes = graph.lanes
        let computeLanes = lanes.filter { $0.kind == .compute }.map(\.index)
        let pro = schedule(graph.prologue, lanes: lanes, cost: cost, link: link)
        let epi = schedule(graph.epilogue, lanes: lanes, cost: cost, link: link)
        let schedules = graph.templates.map { schedule($0, lanes: lanes, cost: cost, link: link) }

        var clock = pro.latency
        var busy = pro.busy
        var flops = pro.totalFlops + epi.totalFlops
        var modelFlops = pro.totalModelFlops + epi.totalModelFlops
        var bubble = 0.0
        var rows: [Report.LayerRow] = []
        var spans: [Report.Span] = []
        if options.layerRows { rows.reserveCapacity(graph.layers.count * computeLanes.count) }
        if options.spans { appendSpans(&spans, graph.prologue, pro, layer: -1, offset: 0, lanes: lanes, cost: cost, link: link) }

        var weights = graph.prologue.weightBytes + graph.epilogue.weightBytes
        var parameters = graph.prologue.parameters + graph.epilogue.parameters
        var kv = 0.0, state = 0.0
        var activation = max(graph.prologue.activationBytes, graph.epilogue.activationBytes)
        var expectedLayers = 0.0
        var moeLayers = 0, imbalanceSum = 0.0, droppedSum = 0.0
        let train = scenario.workload.phase == .train

        // Per-template totals as plain numbers, so the per-layer loop touches no reference-counted storage.
        let laneCount = lanes.count
        var templateBusy = [Double](repeating: 0, count: schedules.count * laneCount)
        var templateIdle = [Double](repeating: 0, count: schedules.count)
        for (k, s) in schedules.enumerated() {
            for lane in 0..<laneCount { templateBusy[k * laneCount + lane] = s.busy[lane] }
            for lane in computeLanes { templateIdle[k] += idle(s.latency, s.busy[lane]) }
        }
        let totals = graph.templates.map { t in
            TemplateTotals(weightBytes: t.weightBytes, parameters: t.parameters, kv: t.kvCacheBytes, state: t.ssmStateBytes,
                           activation: t.activationBytes, expected: t.expectedExecutions,
                           imbalance: t.routesExperts ? (t.routing?.imbalance ?? 1) : 0,
                           dropped: t.routesExperts ? (t.routing?.droppedFraction ?? 0) : 0, routesExperts: t.routesExperts)
        }
        let latencies = schedules.map(\.latency)
        let templateFlops = schedules.map(\.totalFlops), templateModelFlops = schedules.map(\.totalModelFlops)

        for instance in graph.layers {
            let k = instance.template
            for lane in 0..<laneCount { busy[lane] += templateBusy[k * laneCount + lane] }
            bubble += templateIdle[k]
            let latencyK = latencies[k]
            if options.layerRows {
                let s = schedules[k]
                for lane in computeLanes {
                    rows.append(Report.LayerRow(layer: instance.layer, block: instance.blockName, lane: lanes[lane].name,
                                                startSeconds: clock, endSeconds: clock + latencyK, busySeconds: s.busy[lane],
                                                idleSeconds: idle(latencyK, s.busy[lane]), flops: s.flops[lane], bytes: s.bytes[lane]))
                }
            }
            if options.spans { appendSpans(&spans, graph.templates[k], schedules[k], layer: instance.layer, offset: clock, lanes: lanes, cost: cost, link: link) }
            clock += latencyK
            flops += templateFlops[k]
            modelFlops += templateModelFlops[k]
            let t = totals[k]
            weights += t.weightBytes
            parameters += t.parameters
            kv += t.kv
            state += t.state
            activation = train ? activation + t.activation : max(activation, t.activation)
            expectedLayers += t.expected
            if t.routesExperts {
                moeLayers += 1
                imbalanceSum += t.imbalance
                droppedSum += t.dropped
            }
        }
        if options.spans { appendSpans(&spans, graph.epilogue, epi, layer: graph.layers.count, offset: clock, lanes: lanes, cost: cost, link: link) }
        for lane in 0..<lanes.count { busy[lane] += epi.busy[lane] }
        clock += epi.latency

        let latency = clock
        let devices = Set(lanes.filter { $0.kind == .compute }.map(\.device)).count
        let peak = cost.matrixPeak * Double(devices)
        // Mixed-precision Adam: fp32 master weights and two moments = 12 bytes/param, plus gradients in
        // the working dtype (ZeRO, arXiv 1910.02054 sec. 3.1: 2 + 2 + 12 = 16 bytes/param for bf16).
        let optimizer = train ? parameters * (scenario.workload.dtype.bytes + (scenario.workload.dtype == .fp32 ? 8 : 12)) : 0
        let memory = Report.MemoryBreakdown(weightBytes: weights, optimizerBytes: optimizer, kvCacheBytes: kv,
                                            ssmStateBytes: state, activationBytes: activation,
                                            capacityBytes: scenario.hardware.memoryCapacityBytes * Double(devices))
        let laneSummaries = lanes.map { lane in
            Report.LaneSummary(name: lane.name, kind: lane.kind.rawValue, busySeconds: busy[lane.index],
                               idleSeconds: idle(latency, busy[lane.index]),
                               utilisation: latency > 0 ? busy[lane.index] / latency : 0)
        }
        // Templates are created in the order layers first use them.
        var splits: [(String, Double)] = []
        for t in graph.templates {
            if let r = t.splitRatio, !splits.contains(where: { $0.0 == t.blockName }) { splits.append((t.blockName, r)) }
        }
        let layerCount = Double(graph.layers.count)
        let w = scenario.workload
        return Report(
            scenario: scenario.name, engine: "analytic", hardware: scenario.hardware.name, phase: w.phase.rawValue,
            batch: w.batch, seqLen: w.seqLen, dtype: w.dtype.rawValue, tokensPerStep: graph.tokensPerStep,
            latencySeconds: latency, tokensPerSecond: latency > 0 ? graph.tokensPerStep / latency : 0,
            modelFlops: modelFlops, executedFlops: flops, mfu: latency > 0 && peak > 0 ? modelFlops / (latency * peak) : 0,
            bubbleSeconds: bubble,
            bubbleFraction: latency > 0 ? bubble / (latency * Double(computeLanes.count)) : 0,
            memory: memory, moeImbalance: moeLayers > 0 ? imbalanceSum / Double(moeLayers) : 1,
            droppedTokenFraction: moeLayers > 0 ? droppedSum / Double(moeLayers) : 0,
            executedLayerFraction: layerCount > 0 ? expectedLayers / layerCount : 1,
            expectedExecutedLayers: expectedLayers,
            savedFlops: max(0, graph.denseModelFlops - modelFlops),
            splitRatios: splits.map { (block: $0.0, ratio: $0.1) },
            lanes: laneSummaries, layers: rows, spans: spans)
    }

    struct TemplateTotals {
        var weightBytes, parameters, kv, state, activation, expected, imbalance, dropped: Double
        var routesExperts: Bool
    }

    /// Idle time of a lane in a window, with summation round-off (below 1e-9 of the window) taken as zero.
    @inline(__always)
    func idle(_ window: Double, _ busy: Double) -> Double {
        let gap = window - busy
        return gap > 1e-9 * window ? gap : 0
    }

    func appendSpans(_ spans: inout [Report.Span], _ block: BlockGraph, _ s: Schedule, layer: Int, offset: Double,
                     lanes: [Lane], cost: CostModel, link: Link?) {
        for (i, op) in block.ops.enumerated() {
            let b = cost.breakdown(op, share: op.share, link: link)
            var names: [String] = []
            for lane in lanes where op.laneMask & (UInt64(1) << UInt64(lane.index)) != 0 { names.append(lane.name) }
            let trace = String(format: "overhead %.3g s + max(compute %.4g FLOP / (%.4g FLOP/s x eff %.3f), memory %.4g B / (%.4g B/s x share %.2f x eff %.3f)) x weight %.3f",
                               b.overheadSeconds, op.flops, b.peakFlopsPerSecond, b.computeEfficiency, op.bytes,
                               cost.profile.memoryBandwidthBytesPerSecond, op.share, b.memoryEfficiency, op.weight)
            spans.append(Report.Span(layer: layer, block: block.blockName, op: op.name, opClass: op.opClass.rawValue, lanes: names,
                                     startSeconds: offset + s.starts[i], endSeconds: offset + s.ends[i], flops: op.flops * op.weight,
                                     bytes: op.bytes * op.weight, weight: op.weight, bound: b.bound, formula: op.formula,
                                     costTrace: trace))
        }
    }
}
