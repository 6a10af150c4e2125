import ArgumentParser
import Exports
import Foundation
import Plots

/// `hybridsim plot KIND ...`: SVG figures straight from the CSVs and traces.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw SVG figures from sweep.csv, layers.csv or timeline.json (no Python needed).",
        discussion: """
        Kinds: `line` (a metric over one swept axis, one line per value of --series), `heatmap` (a metric over two axes), \
        `bars` (busy and idle time per lane and layer, from layers.csv), `gantt` (a timeline.json). Examples: \
        hybridsim plot line DIR/sweep.csv --x workload.seq_len --y latency_s --series model.blocks.hyb.mixer.placement --out fig.svg; \
        hybridsim plot bars results/quickstart/layers.csv --out bars.svg; hybridsim plot gantt results/quickstart/timeline.json --out gantt.svg
        """)

    enum Kind: String, ExpressibleByArgument, CaseIterable { case line, heatmap, bars, gantt }

    @Argument(help: "line, heatmap, bars or gantt.")
    var kind: Kind

    @Argument(help: "The input: a CSV (line, heatmap, bars) or a timeline.json (gantt).")
    var input: String

    @Option(help: "The SVG file to write (a name ending in .svg).")
    var out: String

    @Option(name: .customLong("where"), help: "Keep only rows where COLUMN=VALUE (repeatable; line, heatmap).")
    var filters: [String] = []

    @Flag(help: "Line: draw the mean of several rows at one x (otherwise they are refused, naming the columns that vary).")
    var average = false

    @Option(help: "Column for the x axis (line, heatmap).")
    var x: String?

    @Option(help: "Column for the y axis (line: the metric; heatmap: the second axis).")
    var y: String?

    @Option(help: "Column whose values give one line each (line).")
    var series: String?

    @Option(help: "The metric coloured in a heatmap.")
    var value: String?

    @Option(help: "Only this scenario's rows (bars).")
    var scenario: String?

    @Option(help: "A title.")
    var title: String?

    @Flag(help: "Logarithmic x axis (line).")
    var logX = false

    @Flag(help: "Logarithmic y axis (line).")
    var logY = false

    func validate() throws {
        guard out.lowercased().hasSuffix(".svg") else {
            throw ValidationError("--out \(out): plots are written as SVG; allowed: a file name ending in .svg (convert it with rsvg-convert or inkscape for PNG or PDF).")
        }
        for filter in filters where !filter.contains("=") {
            throw ValidationError("--where \(filter) is not COLUMN=VALUE.")
        }
    }

    /// The rows that pass every --where filter.
    func filtered(_ data: CSVData) throws -> CSVData {
        guard !filters.isEmpty else { return data }
        var keep = data.rows
        for filter in filters {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            let column = try data.columnIndex(parts[0])
            let value = parts.count > 1 ? parts[1] : ""
            keep = keep.filter { $0[column] == value || (Double($0[column]).flatMap { a in Double(value).map { a == $0 } } ?? false) }
        }
        guard !keep.isEmpty else { throw PlotError.noData(file: data.file, reason: "no row matches \(filters.joined(separator: " and "))") }
        return try CSVData(header: data.header, rows: keep, file: data.file)
    }

    /// Several rows at one x of one series are averaged only when asked: otherwise refused, naming what varies.
    func checkSinglePoints(_ data: CSVData, x: String, series: String?) throws -> String? {
        let xi = try data.columnIndex(x), si = try series.map { try data.columnIndex($0) }
        let seen = Set(data.rows.map { row in [row[xi], si.map { row[$0] } ?? ""] })
        guard seen.count < data.rows.count else { return nil }
        let sweepColumns = data.header.filter { $0.contains(".") && $0 != x && $0 != series }
        let varying = sweepColumns.filter { c in Set(data.rows.map { $0[data.header.firstIndex(of: c) ?? 0] }).count > 1 }
        let count = data.rows.count / max(1, seen.count)
        guard average else {
            throw CLIError("\(input): several rows share each \(x)\(series.map { " and \($0)" } ?? "") (about \(count) each)\(varying.isEmpty ? "" : "; these columns vary: \(varying.joined(separator: ", "))"). Choose with --where COLUMN=VALUE, or --series, or draw their mean with --average", exitCode: 2)
        }
        return " (mean of about \(count) rows per point)"
    }

    func run() throws {
        // An empty file is refused before it is read (Foundation leaks the buffer of an empty file's read).
        if let size = (try? FileManager.default.attributesOfItem(atPath: input))?[.size] as? NSNumber, size.intValue == 0 {
            throw CLIError("\(input): the file is empty", exitCode: 2)
        }
        guard let data = FileManager.default.contents(atPath: input), let text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(input): no such file, or not UTF-8 text", exitCode: 2)
        }
        func need(_ value: String?, _ flag: String) throws -> String {
            guard let value else { throw CLIError("plot \(kind.rawValue) needs \(flag) COLUMN", exitCode: 2) }
            return value
        }
        let svg: String
        do {
            switch kind {
            case .line:
                let data = try filtered(try CSVData.parse(text, file: input))
                let xColumn = try need(x, "--x"), yColumn = try need(y, "--y")
                let note = try checkSinglePoints(data, x: xColumn, series: series)
                let heading = note.map { (title ?? "\(yColumn) over \(xColumn)") + $0 } ?? title
                svg = try LinePlot.svg(data, x: xColumn, y: yColumn, series: series, title: heading, logX: logX, logY: logY)
            case .heatmap:
                svg = try Heatmap.svg(try filtered(try CSVData.parse(text, file: input)), x: need(x, "--x"), y: need(y, "--y"), value: need(value, "--value"),
                                      title: title)
            case .bars:
                svg = try StackedBars.svg(try CSVData.parse(text, file: input), scenario: scenario, title: title)
            case .gantt:
                svg = try Gantt.svg(timelineJSON: text, file: input, title: title)
            }
        } catch let e as PlotError {
            throw CLIError(e.description, exitCode: 2)
        }
        do { try AtomicFile.write(svg, to: out) } catch { throw CLIError("\(error)", exitCode: 1) }
        print("wrote \(out)")
    }
}

/// `hybridsim export notebook DIR`: a Jupyter notebook for a run or sweep folder.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export results.", subcommands: [NotebookCommand.self])

    struct NotebookCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notebook",
            abstract: "Write a Jupyter notebook for a run or sweep folder into notebooks-export/.",
            discussion: """
            The notebook says what was run, loads the CSVs with pandas, redraws the figures with matplotlib, and carries \
            the SVG figures (drawn by `hybridsim plot`'s code) as outputs, so it reads without running.
            """)

        @Argument(help: "A folder written by `hybridsim run` or `hybridsim sweep`.")
        var directory: String

        @Option(help: "Folder for the notebook.")
        var out: String = "notebooks-export"

        @Option(help: "The command that produced the folder (shown in the notebook).")
        var command: String?

        @Option(help: "The scenario file (shown in the notebook).")
        var scenario: String?

        func run() throws {
            let svgs = Self.figures(directory)
            let name = ((directory as NSString).standardizingPath as NSString).lastPathComponent
            let relative = NotebookExport.relativePath(from: out, to: directory)
            let text: String
            do {
                text = try NotebookExport.notebook(forResultsIn: directory, dataRelativePath: relative,
                                                   command: command ?? "hybridsim (results in \(directory))", scenarioFile: scenario,
                                                   profile: nil, svgs: svgs)
            } catch let e as NotebookExport.ExportError {
                throw CLIError(e.description, exitCode: 2)
            }
            let path = (out as NSString).appendingPathComponent("\(name.isEmpty ? "results" : name).ipynb")
            do { try AtomicFile.write(text, to: path) } catch { throw CLIError("\(error)", exitCode: 1) }
            print("wrote \(path) (\(svgs.count) figure\(svgs.count == 1 ? "" : "s") embedded)")
        }

        /// The figures the folder's files allow, drawn with the Plots module; a figure that cannot be
        /// drawn from the data (e.g. a sweep with one axis has no heatmap) is left out.
        static func figures(_ directory: String) -> [(name: String, svg: String)] {
            func read(_ name: String) -> String? {
                FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)).flatMap { String(data: $0, encoding: .utf8) }
            }
            var out: [(String, String)] = []
            if let text = read("layers.csv"), let data = try? CSVData.parse(text, file: "layers.csv"),
               let svg = try? StackedBars.svg(data, title: "Busy and idle time per layer and lane") { out.append(("layers", svg)) }
            if let text = read("timeline.json"), let svg = try? Gantt.svg(timelineJSON: text, file: "timeline.json", title: "Timeline") {
                out.append(("timeline", svg))
            }
            if let text = read("sweep.csv"), let data = try? CSVData.parse(text, file: "sweep.csv") {
                let swept = Array(data.header.dropFirst().prefix { $0 != "scenario" })
                if let first = swept.first {
                    let series = swept.count > 1 ? swept[1] : nil
                    if let svg = try? LinePlot.svg(data, x: first, y: "latency_s", series: series, title: "Latency over \(first)", logX: false, logY: false) {
                        out.append(("sweep-latency", svg))
                    }
                    // The notebook's cell under this figure redraws latency over the two keys: the stored figure is the same
                    // metric (it used to be tokens/s under the latency heading).
                    if swept.count > 1, let svg = try? Heatmap.svg(data, x: first, y: swept[1], value: "latency_s", title: "Latency over \(first) and \(swept[1])") {
                        out.append(("sweep-heatmap", svg))
                    }
                }
            }
            return out
        }
    }
}
