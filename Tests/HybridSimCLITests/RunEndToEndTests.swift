import Foundation
import Testing

@Suite("hybridsim run, end to end through the binary")
struct RunEndToEndTests {
    @Test("the hybridsim executable is found next to the tests")
    func binaryFound() throws {
        let url = try #require(HybridSimBinary.url)
        #expect(url.lastPathComponent == "hybridsim")
        let ws = try Workspace()
        let result = try ws.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("0.1.0"))
    }

    @Test("run FILE --out DIR exits 0 and writes summary.csv (one row), layers.csv and report.json")
    func runWithOut() throws {
        let ws = try Workspace()
        try ws.write("s.yaml", Scenarios.small())
        let result = try ws.run(["run", "s.yaml", "--out", "out"])
        #expect(result.exitedNormally)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)
        #expect(ws.listing() == ["out", "out/layers.csv", "out/report.json", "out/summary.csv", "s.yaml"])

        let summary = try ws.text("out/summary.csv")
        let lines = summary.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3, "header, one row, and the final newline: \(summary)")
        #expect(summary.hasPrefix(summaryHeaderPrefix))
        #expect(lines[1].hasPrefix("small,analytic,nvidia-h100-sxm,prefill,2,128,bf16,"))

        let layers = try ws.text("out/layers.csv").split(separator: "\n")
        #expect(layers.first == "scenario,engine,layer,block,lane,start_s,end_s,busy_s,idle_s,flops,bytes")
        #expect(layers.count == 3, "one row per layer on one lane")
        #expect(layers.dropFirst().allSatisfy { $0.hasPrefix("small,analytic,") })

        let json = try JSONSerialization.jsonObject(with: try ws.data("out/report.json")) as? [String: Any]
        let reports = try #require(json?["reports"] as? [[String: Any]])
        #expect(reports.count == 1)
        let hardware = try #require(reports[0]["hardware"] as? [String: Any])
        #expect((hardware["sources"] as? [String: Any])?.isEmpty == false)
        let ops = try #require(reports[0]["ops"] as? [[String: Any]])
        #expect(!ops.isEmpty && ops.allSatisfy { ($0["formula"] as? String)?.isEmpty == false && ($0["cost"] as? String)?.isEmpty == false })
        #expect(reports[0]["scenario_file"] as? String == "s.yaml")

        // The table goes to stdout with the folder it wrote to.
        #expect(result.stdout.contains("small  [analytic engine, nvidia-h100-sxm, prefill, batch 2, seq_len 128, bf16]"))
        #expect(result.stdout.contains("wrote layers.csv, report.json, summary.csv to out"))
    }

    @Test("with several files and --out, all scenarios go into one folder, one summary row each")
    func severalFilesOneFolder() throws {
        let ws = try Workspace()
        try ws.write("a.yaml", Scenarios.small(name: "a"))
        try ws.write("b.yaml", Scenarios.small(name: "b", hardware: "amd-mi300x"))
        let result = try ws.run(["run", "a.yaml", "b.yaml", "--out", "both"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let rows = try ws.text("both/summary.csv").split(separator: "\n").dropFirst()
        #expect(rows.map { $0.split(separator: ",").first.map(String.init) } == ["a", "b"])
        let layerScenarios = Set(try ws.text("both/layers.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] })
        #expect(layerScenarios == ["a", "b"])
    }

    @Test("without --out each scenario's files go to results/<name>/ under the working directory")
    func defaultResultsFolder() throws {
        let ws = try Workspace()
        try ws.write("scenarios/first.yaml", Scenarios.small(name: "first-run"))
        try ws.write("scenarios/unnamed.yaml", Scenarios.small(name: nil))
        let result = try ws.run(["run", "scenarios/first.yaml", "scenarios/unnamed.yaml"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        for name in ["first-run", "unnamed"] {
            for file in ["summary.csv", "layers.csv", "report.json"] {
                #expect(ws.exists("results/\(name)/\(file)"), "results/\(name)/\(file) missing; have \(ws.listing())")
            }
            let rows = try ws.text("results/\(name)/summary.csv").split(separator: "\n")
            #expect(rows.count == 2)
            #expect(rows.last?.hasPrefix("\(name),analytic,") == true)
        }
        // Nothing next to the scenario files.
        #expect(ws.listing().filter { $0.hasPrefix("scenarios/") } == ["scenarios/first.yaml", "scenarios/unnamed.yaml"])
        #expect(result.stdout.contains("results/first-run"))
        #expect(result.stdout.contains("results/unnamed"))
    }

    @Test("--format csv prints summary.csv's bytes; with --layers, layers.csv's too")
    func formatCSV() throws {
        let ws = try Workspace()
        try ws.write("s.yaml", Scenarios.mixed)
        let plain = try ws.run(["run", "s.yaml", "--out", "o", "--format", "csv"])
        #expect(plain.status == 0, "stderr: \(plain.stderr)")
        #expect(plain.stdout == (try ws.text("o/summary.csv")))
        #expect(plain.stdout.hasPrefix(summaryHeaderPrefix))
        let withLayers = try ws.run(["run", "s.yaml", "--out", "o2", "--format", "csv", "--layers"])
        #expect(withLayers.status == 0)
        #expect(withLayers.stdout == (try ws.text("o2/summary.csv")) + (try ws.text("o2/layers.csv")))
    }

    @Test("--format json prints report.json's bytes, valid JSON")
    func formatJSON() throws {
        let ws = try Workspace()
        try ws.write("s.yaml", Scenarios.mixed)
        let result = try ws.run(["run", "s.yaml", "--out", "o", "--format", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == (try ws.text("o/report.json")))
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let reports = try #require(object?["reports"] as? [[String: Any]])
        let summary = try #require(reports.first?["summary"] as? [String: Any])
        #expect(summary["scenario"] as? String == "mixed")
        #expect(summary["phase"] as? String == "train")
        #expect((summary["latency_s"] as? NSNumber)?.doubleValue ?? 0 > 0)
    }

    @Test("--no-write prints but writes nothing")
    func noWrite() throws {
        let ws = try Workspace()
        try ws.write("s.yaml", Scenarios.small())
        let result = try ws.run(["run", "s.yaml", "--no-write", "--format", "csv"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix(summaryHeaderPrefix))
        #expect(ws.listing() == ["s.yaml"])
    }

    @Test("--layers prints a per-layer, per-lane table")
    func layersTable() throws {
        let ws = try Workspace()
        try ws.write("s.yaml", Scenarios.mixed)
        let with = try ws.run(["run", "s.yaml", "--out", "o", "--layers"])
        let without = try ws.run(["run", "s.yaml", "--out", "o2"])
        #expect(with.status == 0 && without.status == 0)
        let lines = with.stdout.split(separator: "\n")
        let headerIndex = try #require(lines.firstIndex { $0.hasPrefix("  layer") && $0.contains("block") && $0.contains("lane")
                                                          && $0.contains("start") && $0.contains("busy") && $0.contains("idle") },
                                       "no layer table header in: \(with.stdout)")
        let layerRows = try ws.text("o/layers.csv").split(separator: "\n").dropFirst()
        let tableRows = lines[(headerIndex + 1)...].prefix { $0.hasPrefix("  ") && $0.dropFirst(2).first?.isNumber == true }
        #expect(tableRows.count == layerRows.count)
        for (row, csvRow) in zip(tableRows, layerRows) {
            let fields = row.split(separator: " ", omittingEmptySubsequences: true)
            let csvFields = csvRow.split(separator: ",")
            #expect(fields[0] == csvFields[2] && fields[1] == csvFields[3] && fields[2] == csvFields[4], "\(row) vs \(csvRow)")
        }
        #expect(!without.stdout.contains("  layer  block"))
        #expect(with.stdout.count > without.stdout.count)
    }

    @Test("the same scenario run twice gives byte-identical summary.csv, layers.csv and report.json")
    func deterministic() throws {
        let ws = try Workspace()
        try ws.write("mixed.yaml", Scenarios.mixed)
        try ws.write("small.yaml", Scenarios.small())
        let first = try ws.run(["run", "mixed.yaml", "small.yaml", "--out", "one"])
        let second = try ws.run(["run", "mixed.yaml", "small.yaml", "--out", "two"])
        #expect(first.status == 0 && second.status == 0, "stderr: \(first.stderr) \(second.stderr)")
        for file in ["summary.csv", "layers.csv", "report.json"] {
            let a = try ws.data("one/\(file)"), b = try ws.data("two/\(file)")
            #expect(!a.isEmpty)
            #expect(a == b, "\(file) differs between two runs")
        }
        // And a third run into the same folder replaces the files with the same bytes.
        let before = try ws.data("one/report.json")
        let third = try ws.run(["run", "mixed.yaml", "small.yaml", "--out", "one"])
        #expect(third.status == 0)
        #expect(try ws.data("one/report.json") == before)
        #expect(ws.listing().filter { $0.hasPrefix("one/") } == ["one/layers.csv", "one/report.json", "one/summary.csv"])
    }

    @Test("the shipped quickstart scenario runs")
    func quickstart() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let quickstart = repo.appendingPathComponent("scenarios/quickstart.yaml").path
        try #require(FileManager.default.fileExists(atPath: quickstart))
        let ws = try Workspace()
        let result = try ws.run(["run", quickstart, "--out", "q", "--format", "csv"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let row = try #require(result.stdout.split(separator: "\n").dropFirst().first)
        #expect(row.hasPrefix("quickstart,analytic,nvidia-h100-sxm,prefill,8,1024,bf16,8192,"))
        // The split ratio column, then the step columns (one step).
        let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(result.stdout.split(separator: "\n").first).split(separator: ",").map(String.init)
        #expect(fields[header.firstIndex(of: "split_ratios") ?? 0] == "flowhn=0.59")
        #expect(fields[header.firstIndex(of: "steps") ?? 0] == "1")
    }

    @Test("--out at a file: exit 2 before any work, a message naming the path, no crash")
    func unwritableOut() throws {
        let ws = try Workspace()
        try ws.write("s.yaml", Scenarios.small())
        try ws.write("blocker", "a file, not a folder\n")
        let result = try ws.run(["run", "s.yaml", "--out", "blocker"])
        #expect(result.exitedNormally)
        #expect(result.status == 2)
        #expect(result.stderr.contains("blocker is a file"))
        #expect(isOneParagraph(result.stderr))
        #expect(try ws.text("blocker") == "a file, not a folder\n")
    }
}
