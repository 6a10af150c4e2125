import Foundation
import Testing
import Exports
import SimEngines
import SimModel

// steps.csv and timeline.json (Chrome trace) from event engine results.

enum EventExportFixtures {
    /// Runs the event engine on fixture YAML.
    static func run(_ yaml: String, steps: Int = 3, traceSteps: Int = 1, file: String = "scenario.yaml") throws -> (Scenario, EventEngine.Result) {
        let scenario = try ScenarioLoader.decode(text: yaml, file: file)
        let result = try EventEngine(options: .init(steps: steps, traceSteps: traceSteps, report: .init(layerRows: true, spans: true))).run(scenario)
        return (scenario, result)
    }

    /// Parses a Chrome trace; nil when it is not a JSON object with a traceEvents array.
    static func events(_ json: String) throws -> [[String: Any]]? {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return object?["traceEvents"] as? [[String: Any]]
    }
}

@Suite("Event exports: timeline.json (Chrome trace)")
struct EventTimelineTests {
    @Test("parses as JSON, names every lane once per process, and every X event is well formed")
    func wellFormed() throws {
        // Split hybrid on two lanes (norms, residuals and the MLP hold both lanes) and a stochastic MoE.
        let (hybrid, h) = try EventExportFixtures.run(Fixtures.splitHybrid, steps: 2, traceSteps: 2)
        let (moe, m) = try EventExportFixtures.run(Fixtures.moe, steps: 2)
        let runs = [(scenario: hybrid.name, result: h), (scenario: moe.name, result: m)]
        let json = try EventExport.timelineJSON(runs)
        #expect(json.hasSuffix("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["displayTimeUnit"] as? String != nil)
        let events = try #require(object["traceEvents"] as? [[String: Any]])

        #expect(h.laneNames == ["gpu0.attention", "gpu0.ssm"], "\(h.laneNames)")
        for (pid, run) in runs.enumerated() {
            let processNames = events.filter { $0["name"] as? String == "process_name" && $0["pid"] as? Int == pid }
            #expect(processNames.count == 1)
            #expect((processNames.first?["args"] as? [String: Any])?["name"] as? String == run.scenario)
            let threads = events.filter { $0["name"] as? String == "thread_name" && $0["ph"] as? String == "M" && $0["pid"] as? Int == pid }
            #expect(threads.count == run.result.laneNames.count, "one thread_name per lane")
            let named = threads.sorted { ($0["tid"] as? Int ?? -1) < ($1["tid"] as? Int ?? -1) }
            #expect(named.map { $0["tid"] as? Int } == run.result.laneNames.indices.map { $0 })
            #expect(named.map { ($0["args"] as? [String: Any])?["name"] as? String } == run.result.laneNames)
        }

        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(slices.count == runs.reduce(0) { $0 + $1.result.trace.reduce(0) { $0 + $1.lanes.count } }, "one slice per op and lane held")
        for e in slices {
            let pid = try #require(e["pid"] as? Int)
            #expect(runs.indices.contains(pid))
            let tid = try #require(e["tid"] as? Int)
            #expect(runs[pid].result.laneNames.indices.contains(tid), "tid \(tid) is a lane")
            let ts = try #require(e["ts"] as? Double)
            let dur = try #require(e["dur"] as? Double)
            #expect(ts >= 0 && ts.isFinite)
            #expect(dur >= 0 && dur.isFinite)
            #expect((e["name"] as? String)?.isEmpty == false)
            #expect(e["cat"] as? String != nil)
            let args = try #require(e["args"] as? [String: Any])
            let flops = try #require(args["flops"] as? Double), bytes = try #require(args["bytes"] as? Double)
            #expect(flops >= 0 && bytes >= 0)
            #expect(args["step"] as? Int != nil && args["layer"] as? Int != nil && args["block"] as? String != nil)
        }
        // Two traced steps of the hybrid, one of the MoE.
        #expect(Set(slices.filter { $0["pid"] as? Int == 0 }.compactMap { ($0["args"] as? [String: Any])?["step"] as? Int }) == [0, 1])
        #expect(Set(slices.filter { $0["pid"] as? Int == 1 }.compactMap { ($0["args"] as? [String: Any])?["step"] as? Int }) == [0])
        // A block name that needs escaping survives the round trip.
        #expect(slices.contains { ($0["args"] as? [String: Any])?["block"] as? String == "attn, \"v2\"\nnext" })
    }

    @Test("an op holding two lanes appears on both tracks, with the same times; times are the trace's in microseconds")
    func twoLaneOps() throws {
        let (scenario, r) = try EventExportFixtures.run(Fixtures.splitHybrid, steps: 1)
        let events = try #require(try EventExportFixtures.events(try EventExport.timelineJSON([(scenario: scenario.name, result: r)])))
        let slices = events.filter { $0["ph"] as? String == "X" }
        let twoLane = r.trace.filter { $0.lanes.count == 2 }
        let oneLane = r.trace.filter { $0.lanes.count == 1 }
        #expect(!twoLane.isEmpty && !oneLane.isEmpty, "the split hybrid has both kinds of op")
        func key(_ name: String, _ layer: Int, _ ts: Double) -> String { "\(name)|\(layer)|\(Int((ts * 1000).rounded()))" }
        var tracks: [String: Set<Int>] = [:]
        var durations: [String: Set<Int>] = [:]
        for e in slices {
            let args = e["args"] as? [String: Any]
            let k = key(e["name"] as? String ?? "", args?["layer"] as? Int ?? -99, e["ts"] as? Double ?? -1)
            tracks[k, default: []].insert(e["tid"] as? Int ?? -1)
            durations[k, default: []].insert(Int(((e["dur"] as? Double ?? -1) * 1000).rounded()))
        }
        for span in r.trace {
            let k = key(span.op, span.layer, span.startSeconds * 1e6)
            #expect(tracks[k] == Set(span.lanes.map(Int.init)), "\(span.op) layer \(span.layer): tracks \(tracks[k] ?? [])")
            #expect(durations[k] == [Int(((span.endSeconds - span.startSeconds) * 1e9).rounded())], "\(span.op): one duration on every track")
        }
        #expect(twoLane.allSatisfy { Set($0.lanes) == [0, 1] })
    }

    @Test("an empty trace (trace_steps 0) still names the lanes")
    func emptyTrace() throws {
        let scenario = try ScenarioLoader.decode(text: Fixtures.moe, file: "moe.yaml")
        let r = try EventEngine(options: .init(steps: 2, traceSteps: 0)).run(scenario)
        let events = try #require(try EventExportFixtures.events(try EventExport.timelineJSON([(scenario: scenario.name, result: r)])))
        #expect(events.filter { $0["ph"] as? String == "X" }.isEmpty)
        #expect(events.filter { $0["name"] as? String == "thread_name" }.count == r.laneNames.count)
    }
}

@Suite("Event exports: steps.csv")
struct EventStepsCSVTests {
    @Test("one row per step with the stepColumns, values round-trip exactly")
    func rows() throws {
        let (moe, m) = try EventExportFixtures.run(Fixtures.moe, steps: 7)
        let (dyn, d) = try EventExportFixtures.run(Fixtures.dynamicDepth, steps: 4)
        // A scenario label that needs quoting.
        let label = "moe, \"zipf\""
        let text = EventExport.stepsCSV([(scenario: label, result: m), (scenario: dyn.name, result: d)])
        let table = try #require(CSVFile(text), "steps.csv is not valid RFC 4180")
        #expect(table.header == EventExport.stepColumns)
        #expect(EventExport.stepColumns == ["scenario", "engine", "step", "context_tokens", "latency_s", "bubble_s", "model_flops",
                                            "moe_imbalance", "dropped_token_fraction", "executed_layers"])
        #expect(table.rows.count == 7 + 4, "one row per step")
        #expect(table.rows.allSatisfy { $0.count == EventExport.stepColumns.count })
        let records = m.steps + d.steps
        for (i, r) in records.enumerated() {
            #expect(table.value("scenario", row: i) == (i < 7 ? label : dyn.name))
            #expect(table.value("engine", row: i) == "event")
            #expect(table.value("step", row: i) == String(r.step))
            #expect(table.value("context_tokens", row: i) == String(r.contextTokens))
            #expect(table.double("latency_s", row: i) == r.latencySeconds)
            #expect(table.double("bubble_s", row: i) == r.bubbleSeconds)
            #expect(table.double("model_flops", row: i) == r.modelFlops)
            #expect(table.double("moe_imbalance", row: i) == r.moeImbalance)
            #expect(table.double("dropped_token_fraction", row: i) == r.droppedTokenFraction)
            #expect(table.double("executed_layers", row: i) == r.executedLayers)
        }
        // Steps restart per scenario; decode context grows a token a step.
        #expect((0..<7).map { table.value("step", row: $0) } == (0..<7).map(String.init))
        #expect((7..<11).map { table.double("context_tokens", row: $0) } == (0..<4).map { Double(dyn.workload.seqLen + 1 + $0) })
        #expect(moe.workload.phase == .prefill && (0..<7).allSatisfy { table.value("context_tokens", row: $0) == String(moe.workload.seqLen) })
        // The draws vary from step to step.
        #expect(Set(m.steps.map(\.moeImbalance)).count > 1)
    }

    @Test("no runs: the header alone")
    func headerOnly() {
        #expect(EventExport.stepsCSV([]) == EventExport.stepColumns.joined(separator: ",") + "\n")
    }
}
