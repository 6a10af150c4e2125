import Foundation
import SimEngines
import SimModel

/// Turns reports into the files `hybridsim run` writes: summary.csv, layers.csv, report.json.
public enum ReportExport {
    /// Columns of summary.csv, units in the names: the metric table's names (SimEngines/Metrics.swift).
    public static let summaryColumns = Metrics.names

    public static let layerColumns = [
        "scenario", "engine", "layer", "block", "lane", "start_s", "end_s", "busy_s", "idle_s", "flops", "bytes",
    ]

    static func n(_ v: Double) -> String { CSVTable.number(v) }

    /// One summary.csv row: each metric of the table, read from the report.
    public static func summaryRow(_ r: Report) -> [String] { Metrics.summary.map { Metrics.text($0.read(r)) } }

    /// summary.csv, layers.csv and report.json for `reports`, in folder `dir` (contents only; nothing written).
    /// report.json is streamed when written (its op spans one at a time).
    public static func files(in dir: String, reports: [Report], scenarios: [Scenario]) -> [OutputFile] {
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        let document = jsonDocument(reports, scenarios: scenarios)
        return [OutputFile(path: path("summary.csv"), text: summaryCSV(reports)), OutputFile(path: path("layers.csv"), text: layersCSV(reports)),
                OutputFile(path: path("report.json")) { try document.write(to: $0, pretty: true) }]
    }

    public static func summaryCSV(_ reports: [Report]) -> String {
        CSVTable(header: summaryColumns, rows: reports.map(summaryRow)).text
    }

    public static func layersCSV(_ reports: [Report]) -> String {
        var table = CSVTable(header: layerColumns)
        for r in reports {
            for row in r.layers {
                table.append([r.scenario, r.engine, String(row.layer), row.block, row.lane, n(row.startSeconds), n(row.endSeconds),
                              n(row.busySeconds), n(row.idleSeconds), n(row.flops), n(row.bytes)])
            }
        }
        return table.text
    }

    /// report.json: every summary metric, lanes, split ratios, the hardware parameters and their sources,
    /// and per-op spans with the formula and cost trace behind each duration.
    public static func json(_ reports: [Report], scenarios: [Scenario]) throws -> String {
        try jsonDocument(reports, scenarios: scenarios).text(pretty: true)
    }

    /// report.json as a streamed document (see ``json(_:scenarios:)``).
    public static func jsonDocument(_ reports: [Report], scenarios: [Scenario]) -> StreamedJSON {
        var document = StreamedJSON()
        var items: [[String: Any]] = []
        for (index, r) in reports.enumerated() {
            var summary: [String: Any] = [:]
            for metric in Metrics.summary {
                switch metric.read(r) {
                case let .text(t): summary[metric.name] = t
                case let .integer(i): summary[metric.name] = i
                case let .number(d): summary[metric.name] = d
                case let .flag(b): summary[metric.name] = b
                }
            }
            var item: [String: Any] = ["summary": summary]
            item["lanes"] = r.lanes.map { ["name": $0.name, "kind": $0.kind, "busy_s": $0.busySeconds, "idle_s": $0.idleSeconds,
                                           "utilisation": $0.utilisation] as [String: Any] }
            item["split_ratios"] = r.splitRatios.map { split -> [String: Any] in
                var entry: [String: Any] = ["block": split.block, "attention_share": split.ratio]
                if let b = split.balanced { entry["balanced"] = b }
                if let o = split.optimal { entry["optimal"] = o }
                return entry
            }
            if index < scenarios.count {
                let s = scenarios[index]
                let h = s.hardware
                var peaks: [String: Any] = [:]
                for (dtype, value) in h.peakFlops { peaks[dtype.rawValue] = value }
                var curves: [String: Any] = [:]
                for (opClass, c) in h.efficiency {
                    curves[opClass.rawValue] = ["peak": c.peak, "half_size_flops": c.halfSizeFlops, "memory": c.memory,
                                                "half_size_bytes": c.halfSizeBytes]
                }
                item["scenario_file"] = s.file
                item["seed"] = s.seed
                // Every scalar profile key (ProfileKeys), then the structured ones.
                var hardware = ProfileYAML.jsonScalars(h)
                hardware["origin"] = h.origin
                hardware["peak_flops"] = peaks
                var fractions: [String: Any] = [:]
                for (dtype, value) in h.matrixEfficiency { fractions[dtype.rawValue] = value }
                hardware["matrix_efficiency"] = fractions
                hardware["efficiency"] = curves
                hardware["links"] = h.links.map { l -> [String: Any] in
                    var link: [String: Any] = ["name": l.name, "bandwidth_bytes_per_s": l.bandwidthBytesPerSecond,
                                               "latency_s": l.latencySeconds, "topology": l.topology.rawValue]
                    if let p = l.perPeerBandwidthBytesPerSecond { link["per_peer_bandwidth_bytes_per_s"] = p }
                    return link
                }
                hardware["sources"] = h.sources
                item["hardware"] = hardware
                item["execution"] = ["graphs": s.execution.graphs, "fuse": s.execution.fuse.map(\.rawValue).sorted()] as [String: Any]
            }
            let spans = r.spans
            item["ops"] = document.array(count: spans.count) { i -> [String: Any] in
                let span = spans[i]
                return ["layer": span.layer, "block": span.block, "op": span.op, "class": span.opClass, "lanes": span.lanes,
                 "start_s": span.startSeconds, "end_s": span.endSeconds, "flops": span.flops, "bytes": span.bytes,
                 "weight": span.weight, "bound": span.bound, "formula": span.formula, "cost": span.costTrace]
            }
            items.append(item)
        }
        document.root = ["schema_version": 1, "reports": items]
        return document
    }

}
