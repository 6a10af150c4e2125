import Foundation
import SimModel

/// Turns layer schedules into a ``Report``: the one place the summary metrics (latency, bubbles,
/// FLOPs, MFU, memory, MoE and dynamic-depth statistics) are computed, for every engine.
public struct ReportAssembler: Sendable {
    public var options: AnalyticEngine.Options
    public init(options: AnalyticEngine.Options) { self.options = options }

    /// Builds the report from the schedules of the prologue, the epilogue and the layers:
    /// `schedules[k]` is template k's schedule (`perLayer` false: analytic, one per template) or
    /// layer k's own (`perLayer` true: the event engine's simulated layers).
    public func assemble(engine: String, graph: OpGraph, scenario: Scenario, cost: CostModel, prologue pro: LayerSchedule,
                         epilogue epi: LayerSchedule, schedules: [LayerSchedule], perLayer: Bool) -> Report {
        let link = scenario.hardware.interconnect
        let lanes = graph.lanes
        let computeLanes = lanes.filter { $0.kind == .compute }.map(\.index)

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
        let train = scenario.workload.phase == .train
        // Inference: the largest live tensor. Training: what backward keeps, every layer (with full
        // recomputation: each layer's input, plus one layer's saved set while its backward runs).
        var activation = train ? graph.epilogue.activationBytes : max(graph.prologue.activationBytes, graph.epilogue.activationBytes)
        var largestLayerActivation = 0.0
        var expectedLayers = 0.0
        var moeLayers = 0, imbalanceSum = 0.0, droppedSum = 0.0

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
                           activation: t.activationBytes, checkpoint: t.checkpointBytes, expected: t.expectedExecutions,
                           imbalance: t.routesExperts ? (t.routing?.imbalance ?? 1) : 0,
                           dropped: t.routesExperts ? (t.routing?.droppedFraction ?? 0) : 0, routesExperts: t.routesExperts)
        }
        let latencies = schedules.map(\.latency)
        let templateFlops = schedules.map(\.totalFlops), templateModelFlops = schedules.map(\.totalModelFlops)

        for (position, instance) in graph.layers.enumerated() {
            let k = perLayer ? position : instance.template
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
            if options.spans { appendSpans(&spans, graph.templates[instance.template], schedules[k], layer: instance.layer, offset: clock, lanes: lanes, cost: cost, link: link) }
            clock += latencyK
            flops += templateFlops[k]
            modelFlops += templateModelFlops[k]
            let t = totals[instance.template]
            weights += t.weightBytes
            parameters += t.parameters
            kv += t.kv
            state += t.state
            if !train {
                activation = max(activation, t.activation)
            } else if graph.recomputesActivations {
                activation += t.checkpoint
                largestLayerActivation = max(largestLayerActivation, t.activation)
            } else {
                activation += t.activation
            }
            expectedLayers += t.expected
            if t.routesExperts {
                moeLayers += 1
                imbalanceSum += t.imbalance
                droppedSum += t.dropped
            }
        }
        activation += largestLayerActivation
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
        var splits: [Report.SplitRatio] = []
        for t in graph.templates {
            if let r = t.splitRatio, !splits.contains(where: { $0.block == t.blockName }) {
                splits.append(Report.SplitRatio(block: t.blockName, ratio: r, balanced: t.splitSolutions?.balanced,
                                                optimal: t.splitSolutions?.optimal))
            }
        }
        let layerCount = Double(graph.layers.count)
        let w = scenario.workload
        return Report(
            scenario: scenario.name, engine: engine, hardware: scenario.hardware.name, phase: w.phase.rawValue,
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
            splitRatios: splits,
            lanes: laneSummaries, layers: rows, spans: spans, peakFlopsPerSecond: peak, computeLaneCount: computeLanes.count)
    }

    struct TemplateTotals {
        var weightBytes, parameters, kv, state, activation, checkpoint, expected, imbalance, dropped: Double
        var routesExperts: Bool
    }

    /// Idle time of a lane in a window, with summation round-off (below 1e-9 of the window) taken as zero.
    @inline(__always)
    func idle(_ window: Double, _ busy: Double) -> Double {
        let gap = window - busy
        return gap > 1e-9 * window ? gap : 0
    }

    func appendSpans(_ spans: inout [Report.Span], _ block: BlockGraph, _ s: LayerSchedule, layer: Int, offset: Double,
                     lanes: [Lane], cost: CostModel, link: Link?) {
        for (i, op) in block.ops.enumerated() {
            let b = cost.breakdown(op, share: op.share, link: link)
            var names: [String] = []
            for lane in lanes where op.laneMask & (UInt64(1) << UInt64(lane.index)) != 0 { names.append(lane.name) }
            let trace: String
            if case .transfer = op.kind {
                trace = String(format: "link latency %.3g s + %.4g B over the link = %.4g s x weight %.3f",
                               b.overheadSeconds, op.bytes, b.seconds, op.weight)
            } else {
                let waves = b.occupiedMatrixFlops > op.matrixFlops
                    ? String(format: " occupying %.4g FLOP in waves of tiles", b.occupiedMatrixFlops) : ""
                // The cache's part of the memory term, when the profile has one and some bytes are hot.
                let hot = b.hotBytes > 0
                    ? String(format: " (%.4g B of them hot, at %.4g B/s)", b.hotBytes, cost.profile.cacheBandwidthBytesPerSecond ?? 0) : ""
                trace = String(format: "overhead %.3g s (%.3g launches) + %@(compute %.4g s [matrix %.4g FLOP",
                               b.overheadSeconds, op.launches, b.sequentialPhases ? "sum" : "max", b.computeSeconds, op.matrixFlops)
                    + waves + String(format: " / (%.4g FLOP/s x dtype eff %.3f x share %.2f x eff %.3f) + vector %.4g FLOP / (%.4g FLOP/s x share %.2f x eff %.3f)], memory %.4g B",
                                     cost.matrixPeak, cost.matrixPeak > 0 ? cost.matrixRate / cost.matrixPeak : 1, op.share, b.computeEfficiency,
                                     op.flops - op.matrixFlops, cost.profile.vectorFlops, op.share, b.computeEfficiency, op.bytes)
                    + hot + String(format: " / (%.4g B/s x share %.2f x eff %.3f)) x weight %.3f",
                                   cost.profile.memoryBandwidthBytesPerSecond, op.share, b.memoryEfficiency, op.weight)
            }
            spans.append(Report.Span(layer: layer, block: block.blockName, op: op.displayName, opClass: op.opClass.rawValue, lanes: names,
                                     startSeconds: offset + s.starts[i], endSeconds: offset + s.ends[i], flops: op.flops * op.weight,
                                     bytes: op.bytes * op.weight, weight: op.weight, bound: b.bound, formula: op.formula,
                                     costTrace: trace))
        }
    }
}
