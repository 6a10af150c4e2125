import Foundation
import Testing

// `hybridsim run --engine event|both` through the built binary.

/// Minimal RFC 4180 reader for the CLI's CSV files (quoted fields may hold commas, quotes, newlines).
private func csvRecords(_ text: String) -> [[String]] {
    var records: [[String]] = [], record: [String] = [], field = ""
    var inQuotes = false
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
        if inQuotes {
            if c == "\"" {
                if chars.first == "\"" { chars.removeFirst(); field.unicodeScalars.append("\"") } else { inQuotes = false }
            } else { field.unicodeScalars.append(c) }
        } else if c == "\"" { inQuotes = true
        } else if c == "," { record.append(field); field = ""
        } else if c == "\n" { record.append(field); field = ""; records.append(record); record = []
        } else { field.unicodeScalars.append(c) }
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

/// Rows of a CSV file as dictionaries keyed by the header.
private func csvRows(_ text: String) -> [[String: String]] {
    let records = csvRecords(text)
    guard let header = records.first else { return [] }
    return records.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0).map { ($0, $1) }) }
}

@Suite("hybridsim run --engine event|both, through the binary")
struct EventCLITests {
    @Test("--engine event --steps 5 --out DIR writes summary, layers, report, steps (5 rows) and timeline")
    func eventRun() throws {
        let ws = try Workspace("event")
        try ws.write("mixed.yaml", Scenarios.mixed)
        let result = try ws.run(["run", "mixed.yaml", "--engine", "event", "--steps", "5", "--out", "out"])
        #expect(result.exitedNormally)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)
        #expect(ws.listing() == ["mixed.yaml", "out", "out/layers.csv", "out/report.json", "out/steps.csv", "out/summary.csv", "out/timeline.json"])

        let summary = csvRows(try ws.text("out/summary.csv"))
        #expect(summary.count == 1)
        #expect(summary.first?["scenario"] == "mixed")
        #expect(summary.first?["engine"] == "event")
        #expect(summary.first?["steps"] == "5")
        let p50 = Double(summary.first?["latency_p50_s"] ?? ""), max = Double(summary.first?["latency_max_s"] ?? "")
        #expect(p50 != nil && max != nil && p50! <= max!)

        let layers = csvRows(try ws.text("out/layers.csv"))
        #expect(!layers.isEmpty && layers.allSatisfy { $0["engine"] == "event" && $0["scenario"] == "mixed" })

        let report = try #require(try JSONSerialization.jsonObject(with: try ws.data("out/report.json")) as? [String: Any])
        let reports = try #require(report["reports"] as? [[String: Any]])
        #expect(reports.count == 1)

        let stepsText = try ws.text("out/steps.csv")
        #expect(stepsText.hasPrefix("scenario,engine,step,context_tokens,latency_s,bubble_s,model_flops,moe_imbalance,dropped_token_fraction,executed_layers\n"))
        let steps = csvRows(stepsText)
        #expect(steps.count == 5)
        #expect(steps.map { $0["step"] } == ["0", "1", "2", "3", "4"])
        #expect(steps.allSatisfy { $0["scenario"] == "mixed" && $0["engine"] == "event" && $0["context_tokens"] == "256" })
        // The summary's latency is the mean of the steps.
        let mean = steps.compactMap { Double($0["latency_s"] ?? "") }.reduce(0, +) / 5
        let summaryLatency = try #require(Double(summary.first?["latency_s"] ?? ""))
        #expect(abs(mean - summaryLatency) <= 1e-12 * summaryLatency)

        let timeline = try #require(try JSONSerialization.jsonObject(with: try ws.data("out/timeline.json")) as? [String: Any])
        let events = try #require(timeline["traceEvents"] as? [[String: Any]])
        let lanes = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
        #expect(lanes == ["gpu0.attention", "gpu0.ssm"])
        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(!slices.isEmpty)
        #expect(slices.allSatisfy { ($0["args"] as? [String: Any])?["step"] as? Int == 0 }, "--trace-steps defaults to 1")
        #expect(result.stdout.contains("event"))
        #expect(result.stdout.contains("steps.csv") && result.stdout.contains("timeline.json"))
    }

    @Test("--engine both writes an analytic and an event summary row and prints them side by side")
    func both() throws {
        let ws = try Workspace("event")
        try ws.write("mixed.yaml", Scenarios.mixed)
        let result = try ws.run(["run", "mixed.yaml", "--engine", "both", "--steps", "3", "--out", "out"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let summary = csvRows(try ws.text("out/summary.csv"))
        #expect(summary.map { $0["engine"] } == ["analytic", "event"])
        #expect(summary.allSatisfy { $0["scenario"] == "mixed" && $0["steps"] == "3" })
        #expect(csvRows(try ws.text("out/steps.csv")).count == 3, "steps.csv holds the event engine's steps")
        #expect(ws.exists("out/timeline.json"))
        #expect(result.stdout.contains("analytic") && result.stdout.contains("event"))
        #expect(result.stdout.contains("analytic vs event"), "the side-by-side table: \(result.stdout)")
        #expect(result.stdout.contains("event - analytic"))
        let layerEngines = Set(csvRows(try ws.text("out/layers.csv")).compactMap { $0["engine"] })
        #expect(layerEngines == ["analytic", "event"])
    }

    @Test("bad --steps, --seed or --trace-steps: exit 2, one paragraph on stderr, nothing written",
          arguments: [["--steps", "0"], ["--steps", "-3"], ["--steps=-3"], ["--steps", "1000001"], ["--seed", "-1"], ["--seed=-1"],
                      ["--seed", "abc"], ["--seed", "18446744073709551616"], ["--trace-steps", "-1"], ["--trace-steps=-1"]])
    func badOptions(_ options: [String]) throws {
        let ws = try Workspace("event")
        try ws.write("mixed.yaml", Scenarios.mixed)
        let before = ws.listing()
        let result = try ws.run(["run", "mixed.yaml", "--engine", "event", "--out", "out"] + options)
        #expect(result.exitedNormally)
        #expect(result.status == 2, "\(options): status \(result.status); stderr: \(result.stderr)")
        #expect(isOneParagraph(result.stderr), "\(options): stderr \(result.stderr)")
        let option = String(options[0].split(separator: "=")[0])
        #expect(result.stderr.contains(option), "\(options): stderr names the option: \(result.stderr)")
        #expect(ws.listing() == before, "\(options): nothing written")
    }

    @Test("the same command twice writes byte-identical steps.csv, timeline.json and summary.csv")
    func sameBytes() throws {
        let ws = try Workspace("event")
        try ws.write("mixed.yaml", Scenarios.mixed)
        for out in ["first", "second"] {
            let result = try ws.run(["run", "mixed.yaml", "--engine", "event", "--steps", "4", "--trace-steps", "2", "--out", out])
            #expect(result.status == 0, "stderr: \(result.stderr)")
        }
        for name in ["steps.csv", "timeline.json", "summary.csv", "layers.csv", "report.json"] {
            #expect(try ws.data("first/\(name)") == ws.data("second/\(name)"), "\(name) differs")
        }
        // A different seed changes the draws.
        let reseeded = try ws.run(["run", "mixed.yaml", "--engine", "event", "--steps", "4", "--trace-steps", "2", "--seed", "12345", "--out", "third"])
        #expect(reseeded.status == 0, "stderr: \(reseeded.stderr)")
        #expect(try ws.data("first/steps.csv") != ws.data("third/steps.csv"))
    }
}
