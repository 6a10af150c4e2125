import Foundation
import SimEngines
import SimModel

/// Measured against predicted: each scenario run for real in several independent passes (three by
/// default: the spread is what the measurement itself can resolve, and each pass is scored on its own)
/// and predicted by the analytic and event engines with the same profile and the same seeded draws.
public struct Validation {
    public struct Row: Sendable {
        public var scenario: String
        /// "scenario" for the whole step, or an op class.
        public var level: String
        /// The first pass.
        public var measuredSeconds: Double
        /// The second pass.
        public var repeatSeconds: Double
        /// Every pass, first to last.
        public var passSeconds: [Double] = []
        /// Every pass's idle bubble (scenario rows).
        public var passBubbleSeconds: [Double] = []
        public var analyticSeconds: Double
        public var eventSeconds: Double
        public var measuredBubbleSeconds: Double
        public var analyticBubbleSeconds: Double

        /// The passes' spread: (slowest - fastest) / fastest.
        public var repeatability: Double {
            let all = passSeconds.isEmpty ? [measuredSeconds, repeatSeconds] : passSeconds
            guard let low = all.min(), let high = all.max(), low > 0 else { return 0 }
            return (high - low) / low
        }
        /// (analytic - pass) / pass for each pass.
        public var analyticPassErrors: [Double] { passSeconds.map { $0 > 0 ? (analyticSeconds - $0) / $0 : 0 } }
        /// (predicted bubble - pass's bubble) / pass's step, for each pass.
        public var bubblePassErrors: [Double] {
            zip(passSeconds, passBubbleSeconds).map { $0 > 0 ? (analyticBubbleSeconds - $1) / $0 : 0 }
        }
        public var analyticError: Double { measuredSeconds > 0 ? (analyticSeconds - measuredSeconds) / measuredSeconds : 0 }
        public var eventError: Double { measuredSeconds > 0 ? (eventSeconds - measuredSeconds) / measuredSeconds : 0 }
    }

    public var executor: RealExecutor
    public init(executor: RealExecutor = RealExecutor()) { self.executor = executor }

    public func validate(_ scenario: Scenario, passes: Int = 3) throws -> [Row] {
        var measured: [Report] = []
        for _ in 0..<max(2, passes) { measured.append(try executor.measure(scenario)) }
        let first = measured[0], second = measured[1]
        let analytic = AnalyticEngine(options: .init(layerRows: false, spans: true)).run(scenario)
        let event = try EventEngine(options: .init(steps: executor.options.steps, seed: executor.options.seed, traceSteps: 0,
                                                   report: .init(layerRows: false, spans: true))).run(scenario).report
        var rows = [Row(scenario: scenario.name, level: "scenario", measuredSeconds: first.latencySeconds,
                        repeatSeconds: second.latencySeconds, passSeconds: measured.map(\.latencySeconds),
                        passBubbleSeconds: measured.map(\.bubbleSeconds), analyticSeconds: analytic.latencySeconds,
                        eventSeconds: event.latencySeconds, measuredBubbleSeconds: first.bubbleSeconds,
                        analyticBubbleSeconds: analytic.bubbleSeconds)]
        func byClass(_ r: Report) -> [String: Double] {
            var sums: [String: Double] = [:]
            for span in r.spans { sums[span.opClass, default: 0] += span.endSeconds - span.startSeconds }
            return sums
        }
        let m = measured.map(byClass), a = byClass(analytic), e = byClass(event)
        for opClass in OpClass.allCases.map(\.rawValue) where (m[0][opClass] ?? 0) > 0 {
            rows.append(Row(scenario: scenario.name, level: opClass, measuredSeconds: m[0][opClass] ?? 0, repeatSeconds: m[1][opClass] ?? 0,
                            passSeconds: m.map { $0[opClass] ?? 0 }, analyticSeconds: a[opClass] ?? 0, eventSeconds: e[opClass] ?? 0,
                            measuredBubbleSeconds: 0, analyticBubbleSeconds: 0))
        }
        return rows
    }

    public static let columns = ["scenario", "level", "measured_s", "measured_repeat_s", "repeatability", "analytic_s",
                                 "analytic_error", "event_s", "event_error", "measured_bubble_s", "analytic_bubble_s", "measured_passes_s"]

    public static func csv(_ rows: [Row]) -> String {
        var lines = [columns.joined(separator: ",")]
        for r in rows {
            lines.append([r.scenario, r.level, "\(r.measuredSeconds)", "\(r.repeatSeconds)", "\(r.repeatability)", "\(r.analyticSeconds)",
                          "\(r.analyticError)", "\(r.eventSeconds)", "\(r.eventError)", "\(r.measuredBubbleSeconds)",
                          "\(r.analyticBubbleSeconds)", r.passSeconds.map { "\($0)" }.joined(separator: ";")].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Median and 90th percentile (nearest rank) of the absolute values.
    public static func medianAndP90(_ values: [Double]) -> (median: Double, p90: Double) {
        let d = Report.Distribution(values.map(abs))
        return (d.p50, d.p90)
    }
}
