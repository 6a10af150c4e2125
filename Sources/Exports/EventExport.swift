import Foundation
import SimEngines

/// The event engine's extra files: steps.csv and timeline.json (Chrome trace format).
public enum EventExport {
    public static let stepColumns = ["scenario", "engine", "step", "context_tokens", "latency_s", "bubble_s", "model_flops",
                                     "moe_imbalance", "dropped_token_fraction", "executed_layers"]

    public static func stepsCSV(_ runs: [(scenario: String, result: EventEngine.Result)]) -> String {
        var table = CSVTable(header: stepColumns)
        for run in runs {
            for s in run.result.steps {
                table.append([run.scenario, "event", String(s.step), String(s.contextTokens), CSVTable.number(s.latencySeconds),
                              CSVTable.number(s.bubbleSeconds), CSVTable.number(s.modelFlops), CSVTable.number(s.moeImbalance),
                              CSVTable.number(s.droppedTokenFraction), CSVTable.number(s.executedLayers)])
            }
        }
        return table.text
    }

    /// The same Chrome trace from reports' spans (the real executor's measured times, its first step).
    public static func timelineJSON(reports: [(scenario: String, report: Report)]) throws -> String {
        try timelineDocument(reports: reports).text(pretty: false)
    }

    public static func timelineDocument(reports: [(scenario: String, report: Report)]) -> StreamedJSON {
        var events: [[String: Any]] = []
        for (pid, run) in reports.enumerated() {
            events.append(["name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": ["name": "\(run.scenario) (\(run.report.engine))"]])
            let laneNames = run.report.lanes.map(\.name)
            for (tid, lane) in laneNames.enumerated() {
                events.append(["name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": ["name": lane]])
                events.append(["name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": ["sort_index": tid]])
            }
            for span in run.report.spans {
                for lane in span.lanes {
                    guard let tid = laneNames.firstIndex(of: lane) else { continue }
                    events.append([
                        "name": span.op, "cat": span.opClass, "ph": "X", "pid": pid, "tid": tid,
                        "ts": span.startSeconds * 1e6, "dur": (span.endSeconds - span.startSeconds) * 1e6,
                        "args": ["layer": span.layer, "block": span.block, "flops": span.flops, "bytes": span.bytes],
                    ])
                }
            }
        }
        // A measured run is small (one step of a model the real executor runs): held in memory.
        var document = StreamedJSON()
        document.root = ["traceEvents": events, "displayTimeUnit": "ns"]
        return document
    }

    /// Chrome trace (opens in Perfetto or chrome://tracing): one process per scenario, one track
    /// (thread) per lane, one complete ("X") slice per op and lane it holds, times in microseconds,
    /// FLOPs and bytes in the slice's args.
    public static func timelineJSON(_ runs: [(scenario: String, result: EventEngine.Result)]) throws -> String {
        try timelineDocument(runs).text(pretty: false)
    }

    /// The Chrome trace as a streamed document: the metadata events in memory, the op slices one at a time.
    public static func timelineDocument(_ runs: [(scenario: String, result: EventEngine.Result)]) -> StreamedJSON {
        var document = StreamedJSON()
        // Metadata first, then each run's slices (one per span and lane), in the order one tree would hold them.
        var parts: [(count: Int, element: (Int) -> [String: Any])] = []
        var events: [[String: Any]] = []
        for (pid, run) in runs.enumerated() {
            events.append(["name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": ["name": run.scenario]])
            for (tid, lane) in run.result.laneNames.enumerated() {
                events.append(["name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": ["name": lane]])
                events.append(["name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": ["sort_index": tid]])
            }
            // One slice per (span, lane): an index of pairs, never the slices themselves.
            let trace = run.result.trace
            var pairs: [(span: Int32, lane: Int32)] = []
            for (i, span) in trace.enumerated() { for lane in span.lanes { pairs.append((Int32(truncatingIfNeeded: i), lane)) } }
            let metadata = events
            events = []
            parts.append((metadata.count, { metadata[$0] }))
            parts.append((pairs.count, { k in
                let (i, lane) = pairs[k]
                let span = trace[Int(i)]
                return ["name": span.op, "cat": span.opClass, "ph": "X", "pid": pid, "tid": Int(lane),
                        "ts": span.startSeconds * 1e6, "dur": (span.endSeconds - span.startSeconds) * 1e6,
                        "args": ["step": span.step, "layer": span.layer, "block": span.block, "flops": span.flops, "bytes": span.bytes]]
            }))
        }
        let offsets = parts.reduce(into: [0]) { $0.append($0[$0.count - 1] + $1.count) }
        let all = parts
        let slices = document.array(count: offsets[offsets.count - 1]) { k in
            var p = 0
            while k >= offsets[p + 1] { p += 1 }
            return all[p].element(k - offsets[p])
        }
        document.root = ["traceEvents": slices, "displayTimeUnit": "ns"]
        return document
    }
}
