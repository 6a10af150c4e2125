import Foundation
import SimEngines
import SimModel

/// Measured against predicted: each scenario run for real twice (two independent passes, to know
/// what the measurement itself can resolve) and predicted by the analytic and event engines with
/// the same profile and the same seeded draws.
public struct Validation {
    public struct Row: Sendable {
        public var scenario: String
        /// "scenario" for the whole step, or an op class.
        public var level: String
        public var measuredSeconds: Double
        public var repeatSeconds: Double
        public var analyticSeconds: Double
        public var eventSeconds: Double
        public var measuredBubbleSeconds: Double
        public var analyticBubbleSeconds: Double

        /// |second pass - first pass| / first pass.
        public var repeatability: Double { measuredSeconds > 0 ? abs(repeatSeconds - measuredSeconds) / measuredSeconds : 0 }
        public var analyticError: Double { measuredSeconds > 0 ? (analyticSeconds - measuredSeconds) / measuredSeconds : 0 }
        public var eventError: Double { measuredSeconds > 0 ? (eventSeconds - measuredSeconds) / measuredSeconds : 0 }
    }

    public var executor: RealExecutor
    public init(executor: RealExecutor = RealExecutor()) { self.executor = executor }

    public func validate(_ scenario: Scenario) throws -> [Row] {
        let first = try executor.measure(scenario)
        let second = try executor.measure(scenario)
        let analytic = AnalyticEngine(options: .init(layerRows: false, spans: true)).run(scenario)
        let event = try EventEngine(options: .init(steps: executor.options.steps, seed: executor.options.seed, traceSteps: 0,
                                                   report: .init(layerRows: false, spans: true))).run(scenario).report
        var rows = [Row(scenario: scenario.name, level: "scenario", measuredSeconds: first.latencySeconds,
                        repeatSeconds: second.latencySeconds, analyticSeconds: analytic.latencySeconds,
                        eventSeconds: event.latencySeconds, measuredBubbleSeconds: first.bubbleSeconds,
                        analyticBubbleSeconds: analytic.bubbleSeconds)]
        func byClass(_ r: Report) -> [String: Double] {
            var sums: [String: Double] = [:]
            for span in r.spans { sums[span.opClass, default: 0] += span.endSeconds - span.startSeconds }
            return sums
        }
        let m1 = byClass(first), m2 = byClass(second), a = byClass(analytic), e = byClass(event)
        for opClass in OpClass.allCases.map(\.rawValue) where (m1[opClass] ?? 0) > 0 {
            rows.append(Row(scenario: scenario.name, level: opClass, measuredSeconds: m1[opClass] ?? 0, repeatSeconds: m2[opClass] ?? 0,
                            analyticSeconds: a[opClass] ?? 0, eventSeconds: e[opClass] ?? 0, measuredBubbleSeconds: 0,
                            analyticBubbleSeconds: 0))
        }
        return rows
    }

    public static let columns = ["scenario", "level", "measured_s", "measured_repeat_s", "repeatability", "analytic_s",
                                 "analytic_error", "event_s", "event_error", "measured_bubble_s", "analytic_bubble_s"]

    public static func csv(_ rows: [Row]) -> String {
        var lines = [columns.joined(separator: ",")]
        for r in rows {
            lines.append([r.scenario, r.level, "\(r.measuredSeconds)", "\(r.repeatSeconds)", "\(r.repeatability)", "\(r.analyticSeconds)",
                          "\(r.analyticError)", "\(r.eventSeconds)", "\(r.eventError)", "\(r.measuredBubbleSeconds)",
                          "\(r.analyticBubbleSeconds)"].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Median and 90th percentile (nearest rank) of the absolute values.
    public static func medianAndP90(_ values: [Double]) -> (median: Double, p90: Double) {
        let d = Report.Distribution(values.map(abs))
        return (d.p50, d.p90)
    }
}
