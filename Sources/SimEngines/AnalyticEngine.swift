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

    /// Evaluates `steps` steps: decode steps each with one more token of context; other phases repeat
    /// the same step (the analytic engine takes expectations, so every batch is alike).
    public func run(_ scenario: Scenario, steps: Int) -> Report {
        guard steps > 1 else { return run(scenario) }
        var reports: [Report] = []
        reports.reserveCapacity(steps)
        let first = run(scenario)
        reports.append(first)
        var later = self
        later.options.layerRows = false
        later.options.spans = false
        for step in 1..<steps {
            reports.append(scenario.workload.phase == .decode ? later.run(scenario.atStep(step)) : first)
        }
        return Report.merging(steps: reports) ?? first
    }

    func schedule(_ block: BlockGraph, lanes: [Lane], cost: CostModel, link: Link?) -> LayerSchedule {
        let laneCount = lanes.count
        var laneFree = [Double](repeating: 0, count: laneCount)
        var busy = [Double](repeating: 0, count: laneCount)
        var starts = [Double](repeating: 0, count: block.ops.count), ends = starts
        var latency = 0.0
        block.ops.withUnsafeBufferPointer { ops in
            for i in 0..<ops.count {
                var start = 0.0
                for dep in ops[i].dependencies where dep < i { start = max(start, ends[dep]) }
                let laneMask = ops[i].laneMask
                var mask = laneMask, lane = 0
                while mask != 0 {
                    if mask & 1 == 1, lane < laneCount { start = max(start, laneFree[lane]) }
                    mask >>= 1; lane += 1
                }
                let duration = cost.seconds(ops[i], share: ops[i].share, link: link) * ops[i].weight
                let end = start + duration
                starts[i] = start
                ends[i] = end
                mask = laneMask; lane = 0
                while mask != 0 {
                    if mask & 1 == 1, lane < laneCount {
                        laneFree[lane] = end
                        busy[lane] += duration
                    }
                    mask >>= 1; lane += 1
                }
                latency = max(latency, end)
            }
        }
        return LayerSchedule(block: block, laneCount: laneCount, latency: latency, busy: busy, starts: starts, ends: ends)
    }

    /// Evaluates a lowered graph.
    public func evaluate(_ graph: OpGraph, scenario: Scenario) -> Report {
        let cost = CostModel(profile: scenario.hardware, dtype: scenario.workload.dtype)
        let link = scenario.hardware.interconnect
        let pro = schedule(graph.prologue, lanes: graph.lanes, cost: cost, link: link)
        let epi = schedule(graph.epilogue, lanes: graph.lanes, cost: cost, link: link)
        let schedules = graph.templates.map { schedule($0, lanes: graph.lanes, cost: cost, link: link) }
        return ReportAssembler(options: options).assemble(engine: "analytic", graph: graph, scenario: scenario, cost: cost,
                                                          prologue: pro, epilogue: epi, schedules: schedules, perLayer: false)
    }
}
