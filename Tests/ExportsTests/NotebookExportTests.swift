import Foundation
import Testing
@testable import Exports

// Jupyter notebooks (nbformat 4.5) for result folders written by hand, as `hybridsim run` and
// `hybridsim sweep` write them.

enum NotebookFixtures {
    static let summaryCSV = """
        scenario,engine,hardware,phase,batch,seq_len,dtype,tokens_per_step,latency_s,tokens_per_s,mfu,bubble_s,bubble_fraction,peak_memory_bytes
        tiny,event,nvidia-h100-sxm,prefill,2,128,bf16,256,0.0025,102400,0.21,0.0006,0.11,330041057

        """
    static let layersCSV = """
        scenario,engine,layer,block,lane,start_s,end_s,busy_s,idle_s,flops,bytes
        tiny,event,0,hyb,gpu0.attention,0,0.001,0.0007,0.0003,1e9,1e6
        tiny,event,0,hyb,gpu0.ssm,0,0.001,0.001,0,1e9,1e6
        tiny,event,1,"hyb, v2",gpu0.attention,0.001,0.002,0.0007,0.0003,1e9,1e6
        tiny,event,1,"hyb, v2",gpu0.ssm,0.001,0.002,0.001,0,1e9,1e6

        """
    static let stepsCSV = """
        scenario,engine,step,context_tokens,latency_s,bubble_s,model_flops,moe_imbalance,dropped_token_fraction,executed_layers
        tiny,event,0,128,0.0025,0.0006,4e9,1,0,2
        tiny,event,1,128,0.0026,0.0006,4e9,1,0,2
        tiny,event,2,128,0.0024,0.0006,4e9,1,0,2

        """
    static let reportJSON = """
        {"schema_version": 1, "reports": [{"scenario_file": "scenarios/tiny.yaml", "seed": 1,
          "summary": {"scenario": "tiny", "engine": "event"},
          "hardware": {"name": "nvidia-h100-sxm", "origin": "built-in", "description": "NVIDIA H100 SXM5 80 GB (Hopper)"}}]}

        """
    static let timelineJSON = """
        {"displayTimeUnit": "ns", "traceEvents": [
          {"name": "process_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "tiny"}},
          {"name": "thread_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "gpu0.attention"}},
          {"name": "thread_name", "ph": "M", "pid": 0, "tid": 1, "args": {"name": "gpu0.ssm"}},
          {"name": "attention", "cat": "attention", "ph": "X", "pid": 0, "tid": 0, "ts": 0, "dur": 700},
          {"name": "scan", "cat": "ssm_scan", "ph": "X", "pid": 0, "tid": 1, "ts": 0, "dur": 1000},
          {"name": "mlp", "cat": "gemm", "ph": "X", "pid": 0, "tid": 0, "ts": 1000, "dur": 400},
          {"name": "mlp", "cat": "gemm", "ph": "X", "pid": 0, "tid": 1, "ts": 1000, "dur": 400}]}

        """
    /// Two swept keys on a 3 x 2 grid, one point without a latency (a failed point).
    static let sweepTwoKeysCSV = """
        point,workload.batch,model.blocks.hyb.mixer.split,scenario,engine,latency_s,tokens_per_s
        0,1,0.5,tiny,analytic,0.001,1000
        1,1,balanced,tiny,analytic,0.0011,900
        2,2,0.5,tiny,analytic,0.002,1000
        3,2,balanced,tiny,analytic,,
        4,4,0.5,tiny,analytic,0.004,1000
        5,4,balanced,tiny,analytic,0.0041,990

        """
    static let invalidCSV = """
        point,workload.batch,model.blocks.hyb.mixer.split,error
        6,8,0.5,"scenario.yaml: workload.batch: 8 exceeds the memory, allowed: up to 4"

        """
    static let sweepOneKeyCSV = """
        point,workload.seq_len,scenario,engine,latency_s
        0,128,tiny,analytic,0.001
        1,1024,tiny,analytic,0.008
        2,16384,tiny,analytic,0.2

        """

    static let svgLayers = #"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>"#
    static let svgSteps = #"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="3"/></svg>"#
    static let svgHeatmap = #"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 0L5 5"/></svg>"#

    /// A temporary project-like folder: `root/results/<name>/` holding `files`, and `root/notebooks-export/`.
    static func folder(_ name: String, _ files: [String: String]) throws -> (root: URL, results: URL) {
        let root = try makeTemporaryFolder("notebooks")
        let results = root.appendingPathComponent("results/\(name)", isDirectory: true)
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("notebooks-export"), withIntermediateDirectories: true)
        for (file, text) in files { try text.write(to: results.appendingPathComponent(file), atomically: true, encoding: .utf8) }
        return (root, results)
    }

    static func runFolder(steps: Bool = true) throws -> (root: URL, results: URL) {
        var files = ["summary.csv": summaryCSV, "layers.csv": layersCSV, "report.json": reportJSON]
        if steps {
            files["steps.csv"] = stepsCSV
            files["timeline.json"] = timelineJSON
        }
        return try folder("tiny", files)
    }

    static let date = Date(timeIntervalSince1970: 1_750_000_000)  // 2025-06-15T15:06:40Z

    static func export(_ results: URL, command: String = "hybridsim run scenarios/tiny.yaml --engine event --out results/tiny",
                       scenarioFile: String? = nil, profile: String? = nil,
                       svgs: [(name: String, svg: String)] = [], date: Date? = NotebookFixtures.date) throws -> String {
        try NotebookExport.notebook(forResultsIn: results.path, dataRelativePath: "../results/\(results.lastPathComponent)",
                                    command: command, scenarioFile: scenarioFile, profile: profile, svgs: svgs, date: date)
    }
}

/// A parsed notebook with accessors for its cells.
struct ParsedNotebook {
    var root: [String: Any]
    var cells: [[String: Any]]

    init(_ text: String) throws {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        root = try #require(object as? [String: Any], "the notebook's root is not a JSON object")
        cells = try #require(root["cells"] as? [[String: Any]], "no cells array")
    }

    /// A cell's source as one string (a string or a list of lines in nbformat).
    static func source(_ cell: [String: Any]) -> String {
        if let lines = cell["source"] as? [String] { return lines.joined() }
        return cell["source"] as? String ?? ""
    }

    var codeCells: [[String: Any]] { cells.filter { $0["cell_type"] as? String == "code" } }
    var markdownCells: [[String: Any]] { cells.filter { $0["cell_type"] as? String == "markdown" } }

    /// The first code cell whose source contains `text`.
    func codeCell(containing text: String) -> [String: Any]? { codeCells.first { Self.source($0).contains(text) } }

    /// The SVG outputs of a cell.
    static func svgOutputs(_ cell: [String: Any]) -> [String] {
        (cell["outputs"] as? [[String: Any]] ?? []).compactMap { ($0["data"] as? [String: Any])?["image/svg+xml"] as? String }
    }

    var allSource: String { cells.map(Self.source).joined(separator: "\n") }
}

func jsonInt(_ any: Any?) -> Int? {
    if let n = any as? NSNumber { return n.intValue }
    return any as? Int
}

@Suite("NotebookExport: nbformat 4.5 notebooks for result folders")
struct NotebookExportTests {
    @Test("a run folder gives an nbformat 4.5 notebook: metadata, and every cell well formed with a unique stable id")
    func structure() throws {
        let (_, results) = try NotebookFixtures.runFolder()
        let notebook = try ParsedNotebook(NotebookFixtures.export(results))
        #expect(jsonInt(notebook.root["nbformat"]) == 4)
        #expect(jsonInt(notebook.root["nbformat_minor"]) == 5)
        let metadata = try #require(notebook.root["metadata"] as? [String: Any])
        let kernelspec = try #require(metadata["kernelspec"] as? [String: Any])
        #expect(kernelspec["name"] as? String == "python3")
        #expect(kernelspec["language"] as? String == "python")
        #expect(kernelspec["display_name"] as? String != nil)
        #expect((metadata["language_info"] as? [String: Any])?["name"] as? String == "python")

        #expect(notebook.cells.count >= 4)
        var ids = Set<String>()
        for (index, cell) in notebook.cells.enumerated() {
            let id = try #require(cell["id"] as? String, "cell \(index) has no id")
            #expect(id == "cell-\(index)")
            // nbformat 4.5: 1 to 64 characters of [a-zA-Z0-9-_].
            #expect((1...64).contains(id.count) && id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" })
            #expect(ids.insert(id).inserted, "id \(id) twice")
            #expect(cell["metadata"] is [String: Any], "cell \(index) has no metadata object")
            #expect(cell["source"] is [String], "cell \(index)'s source is not a list of lines")
            let type = try #require(cell["cell_type"] as? String)
            switch type {
            case "code":
                #expect(cell["execution_count"] is NSNull, "an unexecuted code cell's execution_count is null")
                #expect(cell["outputs"] is [[String: Any]], "code cell \(index) has no outputs list")
            case "markdown":
                #expect(cell["outputs"] == nil && cell["execution_count"] == nil, "a markdown cell has code-cell keys")
            default:
                Issue.record("cell \(index) has type \(type)")
            }
            // Each source line but the last ends with a line break (Jupyter's multi-line form).
            let lines = cell["source"] as? [String] ?? []
            #expect(lines.dropLast().allSatisfy { $0.hasSuffix("\n") } && !(lines.last?.hasSuffix("\n") ?? false))
        }
        #expect(notebook.cells.first?["cell_type"] as? String == "markdown")
    }

    @Test("the first cell says what was run: scenario file, command, hardware profile with origin, date; and the summary")
    func header() throws {
        let (_, results) = try NotebookFixtures.runFolder()
        let command = "hybridsim run scenarios/tiny.yaml --engine event --out results/tiny"
        let notebook = try ParsedNotebook(NotebookFixtures.export(results, command: command, profile: "my-gpu"))
        let text = ParsedNotebook.source(try #require(notebook.cells.first))
        #expect(text.contains("scenarios/tiny.yaml"), "the scenario file comes from report.json when not given")
        #expect(text.contains("```sh\n  \(command)\n  ```"), "the exact command, in a code block")
        #expect(text.contains("`nvidia-h100-sxm` (origin: built-in)"))
        #expect(text.contains("NVIDIA H100 SXM5 80 GB (Hopper)"))
        #expect(text.contains("`my-gpu`"), "the profile asked for")
        #expect(text.contains("2025-06-15T15:06:40Z"))
        #expect(text.contains("2.5 ms"), "the summary table's latency")

        // An explicit scenario file wins over report.json's.
        let given = try ParsedNotebook(NotebookFixtures.export(results, scenarioFile: "elsewhere/x.yaml"))
        let givenText = ParsedNotebook.source(try #require(given.cells.first))
        #expect(givenText.contains("`elsewhere/x.yaml`") && !givenText.contains("scenarios/tiny.yaml`"))
    }

    @Test("without a date the header takes the result files' modification time, so the text depends on the folder alone")
    func dateFromFiles() throws {
        let (_, results) = try NotebookFixtures.runFolder()
        let written = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14T22:13:20Z
        for file in ["summary.csv", "layers.csv", "report.json", "steps.csv", "timeline.json"] {
            try FileManager.default.setAttributes([.modificationDate: written], ofItemAtPath: results.appendingPathComponent(file).path)
        }
        let text = try NotebookFixtures.export(results, date: nil)
        #expect(text.contains("2023-11-14T22:13:20Z"))
        #expect(try NotebookFixtures.export(results, date: nil) == text)
    }

    @Test("the loading cell imports pandas, matplotlib and json and reads every file present, by relative path")
    func loading() throws {
        let (root, results) = try NotebookFixtures.runFolder()
        let text = try NotebookFixtures.export(results)
        let notebook = try ParsedNotebook(text)
        let load = try #require(notebook.codeCells.first)
        let source = ParsedNotebook.source(load)
        #expect(source.hasPrefix("import pandas as pd, matplotlib.pyplot as plt, json\n"))
        #expect(source.contains(#"DATA = Path("../results/tiny")"#))
        for file in ["summary.csv", "layers.csv", "steps.csv"] {
            #expect(source.contains(#"pd.read_csv(DATA / "\#(file)""#), "\(file) not loaded")
        }
        #expect(source.contains(#"json.loads((DATA / "report.json").read_text())"#))
        #expect(source.contains(#"json.loads((DATA / "timeline.json").read_text())"#))
        // Nothing refers to where the folder is on this machine.
        #expect(!text.contains(root.path) && !text.contains(results.path))
        #expect(!notebook.allSource.contains("sweep"))
    }

    @Test("the figure cells redraw busy/idle bars and the step histogram, each with its SVG embedded as display_data")
    func runFigures() throws {
        let (_, results) = try NotebookFixtures.runFolder()
        let notebook = try ParsedNotebook(NotebookFixtures.export(results, svgs: [
            (name: "layers", svg: NotebookFixtures.svgLayers), (name: "step-latency-histogram", svg: NotebookFixtures.svgSteps),
            (name: "timeline", svg: NotebookFixtures.svgHeatmap),
        ]))
        let bars = try #require(notebook.codeCell(containing: "ax.bar("))
        #expect(ParsedNotebook.source(bars).contains("bottom=busy_ms"), "idle stacks on busy")
        #expect(ParsedNotebook.svgOutputs(bars) == [NotebookFixtures.svgLayers])
        let histogram = try #require(notebook.codeCell(containing: "ax.hist("))
        #expect(ParsedNotebook.svgOutputs(histogram) == [NotebookFixtures.svgSteps])
        let timeline = try #require(notebook.codeCell(containing: "broken_barh"))
        #expect(ParsedNotebook.svgOutputs(timeline) == [NotebookFixtures.svgHeatmap], "the timeline SVG goes to the timeline cell")

        let output = try #require((bars["outputs"] as? [[String: Any]])?.first)
        #expect(output["output_type"] as? String == "display_data")
        #expect(output["metadata"] is [String: Any])
        let data = try #require(output["data"] as? [String: Any])
        #expect(data["text/plain"] as? [String] == ["<Figure>"])
        #expect(Set(data.keys) == ["image/svg+xml", "text/plain"])
        // The cell that loads data has no output until it runs.
        #expect((notebook.codeCells.first?["outputs"] as? [Any])?.isEmpty == true)
    }

    @Test("without steps.csv there is no histogram, and an SVG that fits no figure still appears, in a cell of its own")
    func noSteps() throws {
        let (_, results) = try NotebookFixtures.runFolder(steps: false)
        let notebook = try ParsedNotebook(NotebookFixtures.export(results, svgs: [
            (name: "step-latency", svg: NotebookFixtures.svgSteps), (name: "roofline", svg: NotebookFixtures.svgHeatmap),
        ]))
        #expect(notebook.codeCell(containing: "ax.hist(") == nil)
        #expect(!ParsedNotebook.source(try #require(notebook.codeCells.first)).contains("steps.csv"))
        let embedded = notebook.codeCells.flatMap(ParsedNotebook.svgOutputs)
        #expect(embedded == [NotebookFixtures.svgSteps, NotebookFixtures.svgHeatmap], "no SVG is dropped")
    }

    @Test("a sweep with two swept keys: latency lines over the first, one per value of the second, and a heatmap")
    func sweepTwoKeys() throws {
        let (_, results) = try NotebookFixtures.folder("grid", ["sweep.csv": NotebookFixtures.sweepTwoKeysCSV,
                                                                 "invalid.csv": NotebookFixtures.invalidCSV])
        let notebook = try ParsedNotebook(NotebookFixtures.export(results, command: "hybridsim sweep scenarios/grid.yaml",
                                                                    profile: "nvidia-h100-sxm",
                                                                    svgs: [(name: "sweep-heatmap", svg: NotebookFixtures.svgHeatmap)]))
        let load = ParsedNotebook.source(try #require(notebook.codeCells.first))
        #expect(load.contains(#"sweep = pd.read_csv(DATA / "sweep.csv""#))
        #expect(load.contains(#"swept = columns[columns.index("point") + 1 : columns.index("scenario")]"#))
        #expect(!load.contains("summary.csv") && !load.contains("layers.csv"))
        let line = try #require(notebook.codeCell(containing: "ax.plot("))
        #expect(ParsedNotebook.source(line).contains("for value, rows in data.groupby(hue)"))
        let heatmap = try #require(notebook.codeCell(containing: "pivot_table"))
        #expect(ParsedNotebook.svgOutputs(heatmap) == [NotebookFixtures.svgHeatmap])
        #expect(ParsedNotebook.svgOutputs(line).isEmpty)
        let header = ParsedNotebook.source(try #require(notebook.cells.first))
        #expect(header.contains("6 points over `workload.batch`, `model.blocks.hyb.mixer.split`"))
        #expect(header.contains("1 without a latency"))
        #expect(header.contains("1 invalid point skipped"))
        #expect(load.contains(#"invalid = pd.read_csv(DATA / "invalid.csv""#))
        #expect(header.contains("`nvidia-h100-sxm`"))
        #expect(notebook.allSource.contains("`workload.batch`"))
    }

    @Test("a sweep with one swept key has the line plot and no heatmap; its hardware comes from sweep.csv")
    func sweepOneKey() throws {
        let csv = NotebookFixtures.sweepOneKeyCSV.replacingOccurrences(of: "scenario,engine,", with: "scenario,engine,hardware,")
            .replacingOccurrences(of: "tiny,analytic,", with: "tiny,analytic,amd-mi300x,")
        let (_, results) = try NotebookFixtures.folder("seq", ["sweep.csv": csv])
        let notebook = try ParsedNotebook(NotebookFixtures.export(results, command: "hybridsim sweep scenarios/seq.yaml"))
        #expect(notebook.codeCell(containing: "ax.plot(") != nil)
        #expect(notebook.codeCell(containing: "pivot_table") == nil)
        let header = ParsedNotebook.source(try #require(notebook.cells.first))
        #expect(header.contains("`amd-mi300x` (named in sweep.csv; origin not recorded)"))
        #expect(header.contains("3 points over `workload.seq_len`; latency from 1 ms to 200 ms."))
    }

    @Test("the same inputs give byte-identical text")
    func deterministic() throws {
        let (_, results) = try NotebookFixtures.runFolder()
        let svgs = [(name: "layers", svg: NotebookFixtures.svgLayers)]
        let first = try NotebookFixtures.export(results, svgs: svgs)
        let second = try NotebookFixtures.export(results, svgs: svgs)
        #expect(first == second)
        #expect(first.hasSuffix("\n"))
        // The same files in another folder (same name) give the same notebook too.
        let (_, copy) = try NotebookFixtures.runFolder()
        #expect(try NotebookFixtures.export(copy, svgs: svgs) == first)
    }

    @Test("text from the command line and the files is quoted: Python literals and Markdown stay intact")
    func quoting() throws {
        let (_, results) = try NotebookFixtures.runFolder(steps: false)
        let odd = #"we"ird\path"#
        let text = try NotebookExport.notebook(forResultsIn: results.path, dataRelativePath: odd,
                                               command: "hybridsim run `x`.yaml", scenarioFile: nil, profile: nil, date: NotebookFixtures.date)
        let notebook = try ParsedNotebook(text)
        #expect(ParsedNotebook.source(try #require(notebook.codeCells.first)).contains(#"DATA = Path("we\"ird\\path")"#))
        #expect(ParsedNotebook.source(try #require(notebook.cells.first)).contains("hybridsim run `x`.yaml"))
        #expect(NotebookExport.markdownCode("a`b") == "``a`b``")
        #expect(NotebookExport.pythonString("a\nb\u{1}") == #""a\nb\x01""#)
    }

    @Test("a folder without any result file is refused, naming the folder and the files expected")
    func emptyFolder() throws {
        let root = try makeTemporaryFolder("notebooks-empty")
        try "x".write(to: root.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let error = try #require(throws: NotebookExport.ExportError.self) {
            try NotebookExport.notebook(forResultsIn: root.path, dataRelativePath: ".", command: "c", scenarioFile: nil, profile: nil)
        }
        #expect(error.path == root.path)
        #expect(error.description.hasPrefix(root.path + ": "))
        for file in NotebookExport.runFiles + NotebookExport.sweepFiles {
            #expect(error.description.contains(file), "the message does not name \(file)")
        }

        let missing = root.appendingPathComponent("nowhere").path
        let noFolder = try #require(throws: NotebookExport.ExportError.self) {
            try NotebookExport.notebook(forResultsIn: missing, dataRelativePath: ".", command: "c", scenarioFile: nil, profile: nil)
        }
        #expect(noFolder.description.contains(missing) && noFolder.description.contains("summary.csv"))
    }

    @Test("a file a figure reads without the columns it needs is refused, naming the file and the columns")
    func missingColumns() throws {
        let (_, results) = try NotebookFixtures.folder("bad", ["layers.csv": "scenario,engine,layer\ntiny,event,0\n"])
        let error = try #require(throws: NotebookExport.ExportError.self) { try NotebookFixtures.export(results) }
        #expect(error.path.hasSuffix("layers.csv"))
        #expect(error.reason.contains("lane") && error.reason.contains("busy_s") && error.reason.contains("idle_s"))
    }

    @Test("relativePath(from:to:) is the path from the notebook's folder to the results")
    func relativePaths() {
        #expect(NotebookExport.relativePath(from: "/p/notebooks-export", to: "/p/results/run") == "../results/run")
        #expect(NotebookExport.relativePath(from: "/p/results/run", to: "/p/results/run/") == ".")
        #expect(NotebookExport.relativePath(from: "/p/a/b", to: "/p") == "../..")
        #expect(NotebookExport.relativePath(from: "notebooks-export", to: "results/x") == "../results/x")
        #expect(NotebookExport.relativePath(from: "/p/x/../notebooks-export", to: "/p/./results") == "../results")
    }

    /// With HYBRIDSIM_PYTHON (a Python with nbformat), every kind of exported notebook is checked by
    /// scripts/validate_notebooks.py, and run too when that Python also has nbconvert, ipykernel,
    /// pandas and matplotlib. Without it, this check is not made here (scripts/notebooks.sh
    /// validates and runs a real export), and the test says so on standard output.
    @Test("with HYBRIDSIM_PYTHON set, scripts/validate_notebooks.py accepts the exported notebooks (and runs them)")
    func validatedByNbformat() throws {
        guard let python = ProcessInfo.processInfo.environment["HYBRIDSIM_PYTHON"], !python.isEmpty else {
            print("NotebookExportTests: HYBRIDSIM_PYTHON is not set; nbformat validation of exported notebooks not run here (scripts/notebooks.sh does it)")
            return
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/validate_notebooks.py").path
        let (root, run) = try NotebookFixtures.runFolder()
        let grid = root.appendingPathComponent("results/grid")
        try FileManager.default.createDirectory(at: grid, withIntermediateDirectories: true)
        try NotebookFixtures.sweepTwoKeysCSV.write(to: grid.appendingPathComponent("sweep.csv"), atomically: true, encoding: .utf8)
        let seq = root.appendingPathComponent("results/seq")
        try FileManager.default.createDirectory(at: seq, withIntermediateDirectories: true)
        try NotebookFixtures.sweepOneKeyCSV.write(to: seq.appendingPathComponent("sweep.csv"), atomically: true, encoding: .utf8)

        var notebooks: [String] = []
        let svgs = [(name: "layers", svg: NotebookFixtures.svgLayers), (name: "steps", svg: NotebookFixtures.svgSteps),
                    (name: "heatmap", svg: NotebookFixtures.svgHeatmap), (name: "other", svg: NotebookFixtures.svgHeatmap)]
        for results in [run, grid, seq] {
            let path = root.appendingPathComponent("notebooks-export/\(results.lastPathComponent).ipynb").path
            try NotebookFixtures.export(results, svgs: svgs).write(toFile: path, atomically: true, encoding: .utf8)
            notebooks.append(path)
        }

        func runPython(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
        let validation = try runPython([script] + notebooks)
        #expect(validation.status == 0, "validate_notebooks.py: \(validation.output)")

        // A broken notebook is refused, so the check above means something.
        let broken = root.appendingPathComponent("notebooks-export/broken.ipynb").path
        try #"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": []}]}"#
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let refused = try runPython([script, broken])
        #expect(refused.status != 0 && refused.output.contains("broken.ipynb"), "\(refused.output)")

        let canRun = try runPython(["-c", "import nbconvert, nbclient, ipykernel, pandas, matplotlib"]).status == 0
        guard canRun else {
            print("NotebookExportTests: \(python) lacks nbconvert, nbclient, ipykernel, pandas or matplotlib; exported notebooks validated, not run")
            return
        }
        for notebook in notebooks {
            let execution = try runPython([script, "--execute", notebook])
            #expect(execution.status == 0, "\(notebook) does not run: \(execution.output)")
        }
    }
}
