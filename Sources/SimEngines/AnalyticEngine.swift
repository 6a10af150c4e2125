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
        let s = ListSchedule(ops: block.ops, laneCount: lanes.count, cost: cost, link: link)
        return LayerSchedule(block: block, laneCount: lanes.count, latency: s.latency, busy: s.busy, starts: s.starts, ends: s.ends)
    }

    /// Evaluates a lowered graph.
    public func evaluate(_ graph: OpGraph, scenario: Scenario) -> Report {
        let cost = scenario.costModel
        let link = scenario.hardware.interconnect
        let pro = schedule(graph.prologue, lanes: graph.lanes, cost: cost, link: link)
        let epi = schedule(graph.epilogue, lanes: graph.lanes, cost: cost, link: link)
        let schedules = graph.templates.map { schedule($0, lanes: graph.lanes, cost: cost, link: link) }
        return ReportAssembler(options: options).assemble(engine: "analytic", graph: graph, scenario: scenario, cost: cost,
                                                          prologue: pro, epilogue: epi, schedules: schedules, perLayer: false)
    }
}
