import Foundation
import Testing
import SimEngines
import SimModel
@testable import Exports

/// Columns the brief requires at the least.
let requiredSummaryColumns = [
    "scenario", "engine", "phase", "batch", "seq_len", "latency_s", "tokens_per_s", "model_flops", "mfu", "bubble_s",
    "bubble_fraction", "peak_memory_bytes", "moe_imbalance", "dropped_token_fraction", "executed_layer_fraction",
]
let requiredLayerColumns = ["scenario", "engine", "layer", "block", "lane", "start_s", "end_s", "busy_s", "idle_s", "flops", "bytes"]

/// A JSON number as Double (JSONSerialization gives NSNumber, Int or Double depending on the platform).
/// Compare with a relative tolerance: swift-corelibs-foundation's JSON reader is not correctly rounded
/// (it reads 0.0008505109869606743 as 0.000850510986960674), although the text written is exact.
func jsonNumber(_ any: Any?) -> Double? {
    if let n = any as? NSNumber { return n.doubleValue }
    if let d = any as? Double { return d }
    if let i = any as? Int { return Double(i) }
    return nil
}

func parseJSON(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "report.json's root is not an object")
}

@Suite("ReportExport: summary.csv")
struct SummaryCSVTests {
    @Test("summaryColumns holds every required column, once each")
    func columns() {
        let columns = ReportExport.summaryColumns
        for name in requiredSummaryColumns { #expect(columns.contains(name), "summary.csv lacks \(name)") }
        #expect(Set(columns).count == columns.count, "a column appears twice")
    }

    @Test("the header is exactly summaryColumns and each report gives one row as wide as the header",
          arguments: Fixtures.all.map(\.name))
    func headerAndRow(_ fixture: String) throws {
        let yaml = try #require(Fixtures.all.first { $0.name == fixture }?.yaml)
        let (_, report) = try runScenario(yaml)
        let text = ReportExport.summaryCSV([report])
        let csv = try #require(CSVFile(text), "summary.csv is not valid CSV")
        #expect(csv.header == ReportExport.summaryColumns)
        #expect(csv.rows.count == 1)
        #expect(csv.rows.first?.count == csv.header.count)
        #expect(text.hasPrefix(ReportExport.summaryColumns.joined(separator: ",") + "\n"))
    }

    @Test("the row carries the report's values (text exact, numbers reading back to the same Double)",
          arguments: Fixtures.all.map(\.name))
    func values(_ fixture: String) throws {
        let yaml = try #require(Fixtures.all.first { $0.name == fixture }?.yaml)
        let (scenario, r) = try runScenario(yaml)
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        #expect(csv.value("scenario", row: 0) == scenario.name)
        #expect(csv.value("engine", row: 0) == "analytic")
        #expect(csv.value("hardware", row: 0) == scenario.hardware.name)
        #expect(csv.value("phase", row: 0) == scenario.workload.phase.rawValue)
        #expect(csv.value("batch", row: 0) == String(scenario.workload.batch))
        #expect(csv.value("seq_len", row: 0) == String(scenario.workload.seqLen))
        #expect(csv.value("dtype", row: 0) == scenario.workload.dtype.rawValue)
        let exact: [(String, Double)] = [
            ("tokens_per_step", r.tokensPerStep), ("latency_s", r.latencySeconds), ("tokens_per_s", r.tokensPerSecond),
            ("model_flops", r.modelFlops), ("executed_flops", r.executedFlops), ("mfu", r.mfu), ("bubble_s", r.bubbleSeconds),
            ("bubble_fraction", r.bubbleFraction), ("peak_memory_bytes", r.memory.peakBytes),
            ("weight_bytes", r.memory.weightBytes), ("optimizer_bytes", r.memory.optimizerBytes),
            ("kv_cache_bytes", r.memory.kvCacheBytes), ("ssm_state_bytes", r.memory.ssmStateBytes),
            ("activation_bytes", r.memory.activationBytes), ("memory_capacity_bytes", r.memory.capacityBytes),
            ("moe_imbalance", r.moeImbalance), ("dropped_token_fraction", r.droppedTokenFraction),
            ("executed_layer_fraction", r.executedLayerFraction), ("expected_executed_layers", r.expectedExecutedLayers),
            ("saved_flops", r.savedFlops),
        ]
        for (column, value) in exact {
            #expect(csv.double(column, row: 0) == value, "\(column): \(csv.value(column, row: 0) ?? "missing") vs \(value)")
        }
        #expect(csv.value("memory_fits", row: 0) == (r.memory.fits ? "true" : "false"))
    }

    @Test("the numbers are consistent with each other", arguments: Fixtures.all.map(\.name))
    func consistency(_ fixture: String) throws {
        let yaml = try #require(Fixtures.all.first { $0.name == fixture }?.yaml)
        let (scenario, r) = try runScenario(yaml)
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        func d(_ c: String) throws -> Double { try #require(csv.double(c, row: 0), "\(c) is not a number") }
        let latency = try d("latency_s")
        #expect(latency > 0)
        #expect(approx(try d("tokens_per_s"), try d("tokens_per_step") / latency, rel: 1e-12))
        let peak = try #require(scenario.hardware.peakFlops[scenario.workload.dtype])
        #expect(approx(try d("mfu"), try d("model_flops") / (latency * peak), rel: 1e-9))
        #expect(try d("mfu") > 0 && d("mfu") <= 1)
        #expect(try d("bubble_s") >= 0)
        #expect(try d("bubble_fraction") >= 0 && d("bubble_fraction") <= 1)
        let parts = try ["weight_bytes", "optimizer_bytes", "kv_cache_bytes", "ssm_state_bytes", "activation_bytes"].map(d)
        #expect(approx(try d("peak_memory_bytes"), parts.reduce(0, +), rel: 1e-12))
        #expect(try d("executed_flops") >= d("model_flops") * (1 - 1e-12))
        #expect(try d("moe_imbalance") >= 1)
        #expect(try d("dropped_token_fraction") >= 0 && d("dropped_token_fraction") <= 1)
        #expect(approx(try d("executed_layer_fraction"), try d("expected_executed_layers") / Double(scenario.model.layers.count), rel: 1e-12))
        #expect(try d("tokens_per_step") == Double(scenario.workload.batch * (scenario.workload.phase == .decode ? 1 : scenario.workload.seqLen)))
    }

    @Test("a fixed split prints as block=ratio and shows idle bubbles on the faster lane")
    func splitHybrid() throws {
        let (_, r) = try runScenario(Fixtures.splitHybrid)
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        #expect(csv.value("split_ratios", row: 0) == "hyb=0.59")
        #expect(try #require(csv.double("bubble_s", row: 0)) > 0)
        #expect(try #require(csv.double("bubble_fraction", row: 0)) > 0)
        #expect(csv.value("moe_imbalance", row: 0) == "1")
        #expect(csv.value("dropped_token_fraction", row: 0) == "0")
        #expect(csv.value("executed_layer_fraction", row: 0) == "1")
    }

    @Test("a balanced split prints its solved ratio, strictly between 0 and 1")
    func balanced() throws {
        let (_, r) = try runScenario(Fixtures.balancedHybrid)
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        let field = try #require(csv.value("split_ratios", row: 0))
        #expect(field.hasPrefix("hyb="))
        let ratio = try #require(Double(field.dropFirst(4)))
        #expect(ratio > 0 && ratio < 1)
        #expect(ratio == r.splitRatios.first?.ratio)
    }

    @Test("skewed MoE routing under a capacity factor shows imbalance above 1 and dropped tokens")
    func moe() throws {
        let (_, r) = try runScenario(Fixtures.moe)
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        #expect(try #require(csv.double("moe_imbalance", row: 0)) > 1)
        #expect(try #require(csv.double("dropped_token_fraction", row: 0)) > 0)
        #expect(csv.value("split_ratios", row: 0) == "")
    }

    @Test("dynamic depth with skip 0.25 executes 3 of 4 layers and saves FLOPs")
    func dynamicDepth() throws {
        let (_, r) = try runScenario(Fixtures.dynamicDepth)
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        #expect(approx(try #require(csv.double("executed_layer_fraction", row: 0)), 0.75, rel: 1e-12))
        #expect(approx(try #require(csv.double("expected_executed_layers", row: 0)), 3, rel: 1e-12))
        #expect(try #require(csv.double("saved_flops", row: 0)) > 0)
        #expect(csv.value("phase", row: 0) == "decode")
    }

    @Test("training adds optimizer state; inference has none")
    func optimizer() throws {
        let (_, train) = try runScenario(Fixtures.train())
        let (_, prefill) = try runScenario(Fixtures.splitHybrid)
        let trainCSV = try #require(CSVFile(ReportExport.summaryCSV([train])))
        let prefillCSV = try #require(CSVFile(ReportExport.summaryCSV([prefill])))
        #expect(try #require(trainCSV.double("optimizer_bytes", row: 0)) > 0)
        #expect(prefillCSV.value("optimizer_bytes", row: 0) == "0")
    }

    @Test("several reports give one row each, in the order given")
    func severalReports() throws {
        let reports = try Fixtures.all.map { try runScenario($0.yaml).1 }
        let csv = try #require(CSVFile(ReportExport.summaryCSV(reports)))
        #expect(csv.rows.count == reports.count)
        #expect(csv.rows.map { $0[0] } == Fixtures.all.map(\.name))
        #expect(csv.rows.allSatisfy { $0.count == ReportExport.summaryColumns.count })
    }

    @Test("no reports give the header alone")
    func empty() {
        #expect(ReportExport.summaryCSV([]) == ReportExport.summaryColumns.joined(separator: ",") + "\n")
        #expect(ReportExport.layersCSV([]) == ReportExport.layerColumns.joined(separator: ",") + "\n")
    }

    @Test("the same scenario gives the same bytes every time")
    func deterministic() throws {
        for fixture in Fixtures.all {
            let (s1, r1) = try runScenario(fixture.yaml)
            let (s2, r2) = try runScenario(fixture.yaml)
            #expect(ReportExport.summaryCSV([r1]) == ReportExport.summaryCSV([r2]))
            #expect(ReportExport.layersCSV([r1]) == ReportExport.layersCSV([r2]))
            #expect(try ReportExport.json([r1], scenarios: [s1]) == ReportExport.json([r2], scenarios: [s2]))
        }
    }
}

@Suite("ReportExport: layers.csv")
struct LayersCSVTests {
    @Test("layerColumns holds every required column and is the header")
    func columns() throws {
        for name in requiredLayerColumns { #expect(ReportExport.layerColumns.contains(name), "layers.csv lacks \(name)") }
        let (_, r) = try runScenario(Fixtures.splitHybrid)
        let csv = try #require(CSVFile(ReportExport.layersCSV([r])))
        #expect(csv.header == ReportExport.layerColumns)
    }

    @Test("one row per layer and compute lane, awkward block names quoted and read back")
    func rows() throws {
        let (scenario, r) = try runScenario(Fixtures.splitHybrid)
        let csv = try #require(CSVFile(ReportExport.layersCSV([r])), "layers.csv is not valid CSV")
        // Two compute lanes (attention, ssm halves of gpu0) x 3 layers.
        #expect(csv.rows.count == r.layers.count)
        #expect(csv.rows.count == 6)
        #expect(csv.rows.allSatisfy { $0.count == ReportExport.layerColumns.count })
        let blocks = csv.rows.map { $0[csv.column("block")!] }
        #expect(blocks == ["hyb", "hyb", "hyb", "hyb", "attn, \"v2\"\nnext", "attn, \"v2\"\nnext"])
        #expect(Set(csv.rows.map { $0[csv.column("lane")!] }).count == 2)
        #expect(csv.rows.allSatisfy { $0[0] == scenario.name && $0[1] == "analytic" })
        #expect(csv.rows.map { $0[csv.column("layer")!] } == ["0", "0", "1", "1", "2", "2"])
    }

    @Test("per row, end − start = busy + idle; layers follow each other; all within the step",
          arguments: Fixtures.all.map(\.name))
    func timing(_ fixture: String) throws {
        let yaml = try #require(Fixtures.all.first { $0.name == fixture }?.yaml)
        let (scenario, r) = try runScenario(yaml)
        let csv = try #require(CSVFile(ReportExport.layersCSV([r])))
        #expect(csv.rows.count >= scenario.model.layers.count)
        var endOfLayer: [Int: Double] = [:], startOfLayer: [Int: Double] = [:]
        for i in csv.rows.indices {
            func d(_ c: String) throws -> Double { try #require(csv.double(c, row: i), "row \(i) \(c)") }
            let start = try d("start_s"), end = try d("end_s"), busy = try d("busy_s"), idle = try d("idle_s")
            #expect(end >= start)
            #expect(busy >= 0 && idle >= 0)
            #expect(approx(end - start, busy + idle, rel: 1e-9) || abs(end - start - busy - idle) <= 1e-9 * r.latencySeconds,
                    "row \(i): \(end - start) vs \(busy) + \(idle)")
            #expect(end <= r.latencySeconds * (1 + 1e-12))
            #expect(try d("flops") >= 0 && d("bytes") >= 0)
            let layer = try #require(Int(csv.value("layer", row: i) ?? ""))
            startOfLayer[layer] = start
            endOfLayer[layer] = end
        }
        #expect(startOfLayer.keys.sorted() == Array(0..<scenario.model.layers.count))
        for layer in 1..<scenario.model.layers.count {
            let previousEnd = try #require(endOfLayer[layer - 1]), start = try #require(startOfLayer[layer])
            #expect(approx(start, previousEnd, rel: 1e-12), "layer \(layer) starts at \(start), the one before ends at \(previousEnd)")
        }
    }

    @Test("a block name with a CRLF line break is quoted, so layers.csv keeps one record per row")
    func crlfBlockName() throws {
        // YAML "a\r\nb" is a legal block name; Swift sees "\r\n" as one Character.
        let yaml = """
        schema_version: 1
        name: crlf
        hardware: nvidia-h100-sxm
        workload: {phase: prefill, batch: 1, seq_len: 64, dtype: bf16}
        model:
          d_model: 64
          blocks:
            "a\\r\\nb": {mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 16}}
          layers: ["a\\r\\nb", "a\\r\\nb"]

        """
        let (_, r) = try runScenario(yaml)
        #expect(r.layers.first?.block == "a\r\nb")
        let text = ReportExport.layersCSV([r])
        let csv = try #require(CSVFile(text), "layers.csv is not valid RFC 4180: \(text.debugDescription)")
        #expect(csv.rows.count == 2)
        #expect(csv.rows.map { $0[3] } == ["a\r\nb", "a\r\nb"])
    }

    @Test("several reports: rows of each report together, in order")
    func severalReports() throws {
        let a = try runScenario(Fixtures.splitHybrid).1, b = try runScenario(Fixtures.moe).1
        let csv = try #require(CSVFile(ReportExport.layersCSV([a, b])))
        #expect(csv.rows.count == a.layers.count + b.layers.count)
        let names = csv.rows.map { $0[0] }
        #expect(names == Array(repeating: "split-hybrid", count: a.layers.count) + Array(repeating: "moe-zipf", count: b.layers.count))
    }
}

@Suite("ReportExport: report.json")
struct ReportJSONTests {
    @Test("report.json parses and has schema_version 1 and one report per scenario")
    func parses() throws {
        let runs = try Fixtures.all.map { try runScenario($0.yaml) }
        let text = try ReportExport.json(runs.map(\.1), scenarios: runs.map(\.0))
        #expect(text.hasSuffix("}\n"))
        let root = try parseJSON(text)
        #expect(jsonNumber(root["schema_version"]) == 1)
        let reports = try #require(root["reports"] as? [[String: Any]])
        #expect(reports.count == Fixtures.all.count)
    }

    @Test("summary has every summary column, with the same values as summary.csv", arguments: Fixtures.all.map(\.name))
    func summary(_ fixture: String) throws {
        let yaml = try #require(Fixtures.all.first { $0.name == fixture }?.yaml)
        let (scenario, r) = try runScenario(yaml)
        let root = try parseJSON(try ReportExport.json([r], scenarios: [scenario]))
        let report = try #require((root["reports"] as? [[String: Any]])?.first)
        let summary = try #require(report["summary"] as? [String: Any])
        #expect(Set(summary.keys) == Set(ReportExport.summaryColumns))
        let csv = try #require(CSVFile(ReportExport.summaryCSV([r])))
        for (i, column) in csv.header.enumerated() {
            let text = csv.rows[0][i]
            if let number = Double(text), number.isFinite, column != "scenario", column != "hardware", column != "split_ratios" {
                let value = try #require(jsonNumber(summary[column]), "\(column) is not a number in report.json")
                #expect(approx(value, number, rel: 1e-14), "\(column): \(value) vs \(text)")
            } else if column == "memory_fits" {
                #expect(summary[column] as? Bool == (text == "true"))
            } else {
                #expect(summary[column] as? String == text, "\(column): \(String(describing: summary[column])) vs \(text)")
            }
        }
    }

    @Test("lanes, split ratios, hardware with sources, scenario file and seed")
    func lanesAndHardware() throws {
        let (scenario, r) = try runScenario(Fixtures.splitHybrid, file: "dir/split.yaml")
        let root = try parseJSON(try ReportExport.json([r], scenarios: [scenario]))
        let report = try #require((root["reports"] as? [[String: Any]])?.first)

        let lanes = try #require(report["lanes"] as? [[String: Any]])
        #expect(lanes.count == r.lanes.count)
        #expect(lanes.count >= 2)
        for (lane, expected) in zip(lanes, r.lanes) {
            #expect(lane["name"] as? String == expected.name)
            #expect(lane["kind"] as? String == expected.kind)
            #expect(approx(try #require(jsonNumber(lane["busy_s"])), expected.busySeconds, rel: 1e-14))
            #expect(approx(try #require(jsonNumber(lane["idle_s"])), expected.idleSeconds, rel: 1e-14))
            let u = try #require(jsonNumber(lane["utilisation"]))
            #expect(u >= 0 && u <= 1 + 1e-12)
        }

        let splits = try #require(report["split_ratios"] as? [[String: Any]])
        #expect(splits.count == 1)
        #expect(splits.first?["block"] as? String == "hyb")
        #expect(approx(try #require(jsonNumber(splits.first?["attention_share"])), 0.59, rel: 1e-14))

        let hardware = try #require(report["hardware"] as? [String: Any])
        #expect(hardware["name"] as? String == "nvidia-h100-sxm")
        #expect(hardware["origin"] as? String == "built-in")
        let sources = try #require(hardware["sources"] as? [String: Any], "hardware.sources missing")
        #expect(!sources.isEmpty)
        #expect((sources["peak_flops.bf16"] as? String)?.contains("H100") == true)
        #expect(sources.values.allSatisfy { ($0 as? String)?.isEmpty == false })
        let peaks = try #require(hardware["peak_flops"] as? [String: Any])
        #expect(approx(try #require(jsonNumber(peaks["bf16"])), 989.4e12, rel: 1e-14))
        // Scalar keys by their profile-file paths (ProfileKeys), split_overhead_s among them.
        #expect(approx(try #require(jsonNumber(hardware["memory.bandwidth_bytes_per_s"])), 3.35e12, rel: 1e-14))
        #expect(approx(try #require(jsonNumber(hardware["memory.capacity_bytes"])), 81559 * 1_048_576, rel: 1e-14))
        #expect(jsonNumber(hardware["split_overhead_s"]) != nil)
        #expect(jsonNumber(hardware["graph_launch_overhead_s"]) != nil)
        let efficiency = try #require(hardware["efficiency"] as? [String: Any])
        #expect(Set(efficiency.keys) == Set(OpClass.allCases.map(\.rawValue)))

        #expect(report["scenario_file"] as? String == "dir/split.yaml")
        #expect(jsonNumber(report["seed"]) == 1)
    }

    @Test("every op has a formula and a cost trace; op FLOPs add up to executed_flops", arguments: Fixtures.all.map(\.name))
    func ops(_ fixture: String) throws {
        let yaml = try #require(Fixtures.all.first { $0.name == fixture }?.yaml)
        let (scenario, r) = try runScenario(yaml)
        let root = try parseJSON(try ReportExport.json([r], scenarios: [scenario]))
        let report = try #require((root["reports"] as? [[String: Any]])?.first)
        let ops = try #require(report["ops"] as? [[String: Any]])
        #expect(!ops.isEmpty)
        #expect(ops.count == r.spans.count)
        var flops = 0.0, lastEnd = 0.0
        for (i, op) in ops.enumerated() {
            let formula = op["formula"] as? String, cost = op["cost"] as? String
            #expect(formula?.isEmpty == false, "op \(i) (\(op["op"] ?? "?")) has no formula")
            #expect(cost?.isEmpty == false, "op \(i) (\(op["op"] ?? "?")) has no cost trace")
            #expect((op["op"] as? String)?.isEmpty == false)
            #expect(op["class"] is String)
            #expect((op["bound"] as? String)?.isEmpty == false)
            #expect((op["lanes"] as? [Any])?.isEmpty == false)
            let start = try #require(jsonNumber(op["start_s"])), end = try #require(jsonNumber(op["end_s"]))
            #expect(end >= start)
            #expect(start >= 0)
            flops += try #require(jsonNumber(op["flops"]))
            #expect(try #require(jsonNumber(op["bytes"])) >= 0)
            lastEnd = max(lastEnd, end)
        }
        #expect(approx(flops, r.executedFlops, rel: 1e-9), "op FLOPs \(flops) vs executed \(r.executedFlops)")
        #expect(approx(lastEnd, r.latencySeconds, rel: 1e-9), "last op ends at \(lastEnd), latency \(r.latencySeconds)")
    }

    @Test("summary text columns stay JSON strings even when they look like numbers",
          arguments: ["2024", "1e3", "0x10", "inf"])
    func textStaysText(_ name: String) throws {
        let yaml = Fixtures.train(name: "\"\(name)\"")
        let (scenario, r) = try runScenario(yaml)
        #expect(scenario.name == name)
        let root = try parseJSON(try ReportExport.json([r], scenarios: [scenario]))
        let summary = try #require((root["reports"] as? [[String: Any]])?.first?["summary"] as? [String: Any])
        // Each value is written with its metric's type (Metrics): a name that looks like a number stays text.
        #expect(summary["scenario"] as? String == name,
                "summary.scenario for a scenario named \(name) is \(String(describing: summary["scenario"])) (\(type(of: summary["scenario"] as Any)))")
    }

    @Test("without scenarios, reports still export summary, lanes and ops (no hardware block)")
    func withoutScenarios() throws {
        let (_, r) = try runScenario(Fixtures.moe)
        let root = try parseJSON(try ReportExport.json([r], scenarios: []))
        let report = try #require((root["reports"] as? [[String: Any]])?.first)
        #expect(report["summary"] is [String: Any])
        #expect(report["lanes"] is [Any])
        #expect(report["ops"] is [Any])
        #expect(report["hardware"] == nil)
    }

    @Test("keys are sorted, so the text is stable")
    func sortedKeys() throws {
        let (scenario, r) = try runScenario(Fixtures.dynamicDepth)
        let text = try ReportExport.json([r], scenarios: [scenario])
        let reportsAt = try #require(text.range(of: "\"reports\""))
        let versionAt = try #require(text.range(of: "\"schema_version\" : 1"))
        #expect(reportsAt.lowerBound < versionAt.lowerBound)
    }
}
