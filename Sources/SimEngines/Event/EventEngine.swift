import Foundation
import SimModel

/// The discrete-event executor: runs the op graph over its lanes in simulated time, one step after
/// another, drawing what is random (expert loads, drops, skip / execute / repeat, FFF leaf loads)
/// from one seeded generator.
///
/// Each step is lowered with a ``RoutingSampler`` (so a MoE layer gets its own drawn loads, a
/// dynamic-depth layer its own drawn token counts), every layer's ops are simulated by a
/// ``LaneSimulator`` (ops start when their inputs are done and their lanes are free), and layers
/// follow each other. Idle bubbles are read off the simulated timeline. Decode steps grow the context
/// by one token each.
public struct EventEngine {
    public struct Options: Sendable {
        public var steps: Int
        /// Overrides the scenario's seed.
        public var seed: UInt64?
        /// How many steps' op spans to keep for the timeline (Chrome trace).
        public var traceSteps: Int
        public var report: AnalyticEngine.Options

        public init(steps: Int = 1, seed: UInt64? = nil, traceSteps: Int = 1, report: AnalyticEngine.Options = .init()) {
            self.steps = steps
            self.seed = seed
            self.traceSteps = traceSteps
            self.report = report
        }
    }

    /// One simulated step.
    public struct StepRecord: Sendable, Equatable {
        public var step: Int
        public var contextTokens: Int
        public var latencySeconds: Double
        public var bubbleSeconds: Double
        public var modelFlops: Double
        public var moeImbalance: Double
        public var droppedTokenFraction: Double
        public var executedLayers: Double
    }

    /// One op's interval on the timeline.
    public struct TraceSpan: Sendable, Equatable {
        public var step: Int
        public var layer: Int
        public var block: String
        public var op: String
        public var opClass: String
        public var lanes: [Int32]
        public var startSeconds: Double
        public var endSeconds: Double
        public var flops: Double
        public var bytes: Double
    }

    public struct Result: Sendable {
        public var report: Report
        public var steps: [StepRecord]
        public var trace: [TraceSpan]
        public var laneNames: [String]
        /// Op-completion events the simulation processed.
        public var events: Int
    }

    /// A run the engine refuses, with the reason in the user's terms.
    public struct RunError: Error, CustomStringConvertible {
        public var description: String
    }

    public static let maximumSteps = 1_000_000

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    public func run(_ scenario: Scenario) throws -> Result {
        guard options.steps >= 1, options.steps <= Self.maximumSteps else {
            throw RunError(description: "--steps \(options.steps) is out of range; allowed: 1 to \(Self.maximumSteps)")
        }
        try Self.checkSampleable(scenario)
        if let problem = Limits.workProblem(scenario, steps: options.steps, event: true) {
            throw RunError(description: "\(scenario.file): \(problem)")
        }
        let seed = options.seed ?? scenario.seed
        let sampler = try RandomRoutingSampler(seed: seed)
        let random = scenario.hasRandomness
        let reusable = !random && scenario.workload.phase != .decode

        var simulator: LaneSimulator? = nil
        var stepReports: [Report] = []
        stepReports.reserveCapacity(options.steps)
        var records: [StepRecord] = []
        var trace: [TraceSpan] = []
        var laneNames: [String] = []
        var cached: (graph: OpGraph, pro: CompiledBlock, epi: CompiledBlock, templates: [CompiledBlock])? = nil
        var events = 0
        var clock = 0.0

        for step in 0..<options.steps {
            let s = scenario.atStep(step)
            let cost = s.costModel
            let link = s.hardware.interconnect
            let compiled: (graph: OpGraph, pro: CompiledBlock, epi: CompiledBlock, templates: [CompiledBlock])
            if reusable, let cached {
                compiled = cached
            } else {
                let graph = Lowering(scenario: s, sampler: random ? sampler : nil).lower()
                let n = graph.lanes.count
                compiled = (graph, try CompiledBlock(graph.prologue, cost: cost, link: link, laneCount: n),
                            try CompiledBlock(graph.epilogue, cost: cost, link: link, laneCount: n),
                            try graph.templates.map { try CompiledBlock($0, cost: cost, link: link, laneCount: n) })
                if reusable { cached = compiled }
            }
            let graph = compiled.graph
            if step == 0, options.traceSteps > 0 {
                // timeline.json's size is bounded before the simulation starts.
                let perStep = graph.prologue.ops.count + graph.epilogue.ops.count + graph.layers.reduce(0) { $0 + graph.templates[$1.template].ops.count }
                let traced = min(options.traceSteps, options.steps)
                if Double(traced) * Double(perStep) > Double(Limits.traceSpans) {
                    throw RunError(description: "\(scenario.file): tracing \(traced) steps of \(perStep) ops is more than \(Limits.traceSpans) spans for timeline.json (Limits.traceSpans); allowed: --trace-steps at most \(Limits.traceSpans / max(1, perStep))")
                }
            }
            if simulator == nil {
                simulator = LaneSimulator(laneCount: graph.lanes.count)
                laneNames = graph.lanes.map(\.name)
            }
            guard var sim = simulator else { break }
            simulator = nil  // `sim` now owns the buffers alone: no copy on write
            let keepTrace = step < options.traceSteps

            func simulate(_ block: CompiledBlock, _ ops: BlockGraph, layer: Int, start: Double) throws -> LayerSchedule {
                let end = try sim.run(block, start: start)
                if keepTrace {
                    for (i, op) in ops.ops.enumerated() {
                        let l0 = Int(block.laneStart[i]), l1 = Int(block.laneStart[i + 1])
                        trace.append(TraceSpan(step: step, layer: layer, block: ops.blockName, op: op.displayName, opClass: op.opClass.rawValue,
                                               lanes: Array(block.laneList[l0..<l1]), startSeconds: clock + sim.starts[i],
                                               endSeconds: clock + sim.ends[i], flops: op.flops * op.weight, bytes: op.bytes * op.weight))
                    }
                }
                return LayerSchedule(block: ops, laneCount: graph.lanes.count, latency: end - start, busy: sim.busy,
                                     starts: sim.starts.map { $0 - start }, ends: sim.ends.map { $0 - start })
            }

            // Layers follow each other; each starts at 0 on its own clock (the schedule is relative).
            let pro = try simulate(compiled.pro, graph.prologue, layer: -1, start: 0)
            var offset = pro.latency
            var schedules: [LayerSchedule] = []
            schedules.reserveCapacity(graph.layers.count)
            for instance in graph.layers {
                let layerSchedule = try simulate(compiled.templates[instance.template], graph.templates[instance.template],
                                                 layer: instance.layer, start: offset)
                schedules.append(layerSchedule)
                offset += layerSchedule.latency
            }
            let epi = try simulate(compiled.epi, graph.epilogue, layer: graph.layers.count, start: offset)
            events = sim.eventsProcessed
            simulator = sim

            var reportOptions = options.report
            if step > 0 { reportOptions.layerRows = false; reportOptions.spans = false }
            let report = ReportAssembler(options: reportOptions).assemble(
                engine: "event", graph: graph, scenario: s, cost: cost, prologue: pro, epilogue: epi, schedules: schedules, perLayer: true)
            stepReports.append(report)
            records.append(StepRecord(step: step, contextTokens: s.workload.contextTokens, latencySeconds: report.latencySeconds,
                                      bubbleSeconds: report.bubbleSeconds, modelFlops: report.modelFlops,
                                      moeImbalance: report.moeImbalance, droppedTokenFraction: report.droppedTokenFraction,
                                      executedLayers: report.expectedExecutedLayers))
            clock += report.latencySeconds
        }
        guard let merged = Report.merging(steps: stepReports) else {
            throw RunError(description: "no step ran")
        }
        return Result(report: merged, steps: records, trace: trace, laneNames: laneNames, events: events)
    }

    /// Sizes the generator can draw: GSL's multinomial takes at most 2^32 - 1 trials. Only what is
    /// drawn counts: routed assignments, FFF tokens, and skip decisions.
    static func checkSampleable(_ scenario: Scenario) throws {
        let tokens = Double(scenario.workload.tokensPerStep)
        var largest = 0.0
        if let depth = scenario.model.dynamicDepth,
           depth.skip.contains(where: { $0 > 0 }) || depth.repeatProbability.contains(where: { $0 > 0 }) {
            largest = tokens
        }
        for block in scenario.model.blocks.values {
            switch block.mlp {
            case let .moe(m)?: largest = max(largest, tokens * Double(m.topK * m.devices))
            case .fff?: largest = max(largest, tokens)
            default: break
            }
        }
        guard largest < Double(UInt32.max) else {
            throw RunError(description: "\(scenario.file): the event engine draws per-token decisions, and this workload routes \(Int(largest)) assignments per step; allowed: fewer than \(UInt32.max) (reduce workload.batch or workload.seq_len)")
        }
    }
}
