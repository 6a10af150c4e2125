import Foundation

/// A Jupyter notebook (nbformat 4.5) that reloads a result folder with pandas and redraws its
/// figures with matplotlib.
///
/// The folder is what `hybridsim run` writes (summary.csv, layers.csv, report.json, and from the
/// event engine steps.csv and timeline.json) or what `hybridsim sweep` writes (sweep.csv); the
/// notebook loads whichever of them are there. Figures drawn by hybridsim itself (SVG) are embedded
/// as the outputs of the cells that redraw them, so the notebook reads without being run. The text
/// is deterministic: the same folder and arguments give the same bytes (cell ids are `cell-<index>`,
/// keys sorted), so an exported notebook diffs cleanly in version control.
public enum NotebookExport {
    /// A folder that cannot be turned into a notebook, and why.
    public struct ExportError: Error, CustomStringConvertible, Equatable {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Files `hybridsim run` writes, in the order the notebook loads them.
    public static let runFiles = ["summary.csv", "layers.csv", "report.json", "steps.csv", "timeline.json"]
    /// Files `hybridsim sweep` writes (invalid.csv only when some points were invalid).
    public static let sweepFiles = ["sweep.csv", "invalid.csv"]

    /// Columns each figure needs; a file that lacks one is refused rather than exported into a
    /// notebook that fails when run.
    static let requiredColumns: [String: [String]] = [
        "layers.csv": ["scenario", "engine", "layer", "lane", "busy_s", "idle_s"],
        "steps.csv": ["scenario", "latency_s"],
        "sweep.csv": ["point", "scenario", "latency_s"],
    ]

    /// Columns pandas must keep as text even when they look like numbers (a scenario named `2024`).
    static let textColumns: [String: [String]] = [
        "summary.csv": ["scenario", "engine", "hardware", "phase", "dtype", "split_ratios"],
        "layers.csv": ["scenario", "engine", "block", "lane"],
        "steps.csv": ["scenario", "engine"],
        "sweep.csv": ["scenario", "engine", "hardware", "phase", "dtype", "split_ratios"],
        "invalid.csv": ["error"],
    ]

    /// The notebook for the results in `directory`, as nbformat 4.5 JSON text.
    ///
    /// - Parameters:
    ///   - directory: the result folder, as this process reaches it (read now, not by the notebook).
    ///   - dataRelativePath: the same folder as the notebook reaches it, relative to the folder the
    ///     notebook is written to (see `relativePath(from:to:)`); Jupyter runs a notebook in its own
    ///     folder, so the loading cell reads `Path(dataRelativePath) / "summary.csv"`.
    ///   - command: the command that produced the results, shown verbatim.
    ///   - scenarioFile: the scenario file; nil takes the `scenario_file` entries of report.json.
    ///   - profile: the hardware profile asked for, if any; the profiles report.json records
    ///     (name, origin, description) are listed too.
    ///   - svgs: figures hybridsim drew. Each is embedded as an output of the cell that redraws the
    ///     same figure, chosen by what its name contains: `heat` the sweep heatmap; `timeline`, `gantt`
    ///     or `trace` the timeline; `hist` or `step` the per-step latency histogram; `layer`, `lane`,
    ///     `busy` or `idle` the busy/idle bars; `sweep`, `latency` or `line` the sweep's latency plot.
    ///     Any other, or one whose figure the folder has no data for, goes into a cell of its own at
    ///     the end (showing the SVG file beside the data when there is one), so none is dropped.
    ///   - date: when the results were written; nil takes the newest modification time of the
    ///     result files, so the text depends on the folder alone.
    /// - Throws: `ExportError` when the folder holds no result file, or a file a figure reads is
    ///   malformed.
    public static func notebook(forResultsIn directory: String, dataRelativePath: String, command: String,
                                scenarioFile: String?, profile: String?, svgs: [(name: String, svg: String)] = [],
                                date: Date? = nil) throws -> String {
        let results = try ResultFolder(directory)
        var builder = NotebookBuilder()
        var pending = svgs.map { (name: $0.name, svg: $0.svg, figure: Figure.matching($0.name)) }
        /// The SVGs drawn for `figure`, taken from `pending`.
        func take(_ figure: Figure) -> [(name: String, svg: String)] {
            let taken = pending.filter { $0.figure == figure }.map { (name: $0.name, svg: $0.svg) }
            pending.removeAll { $0.figure == figure }
            return taken
        }

        builder.markdown(try header(results, dataRelativePath: dataRelativePath, command: command,
                                    scenarioFile: scenarioFile, profile: profile, date: date))
        builder.code(loadingCell(results, dataRelativePath: dataRelativePath))

        if results.has("layers.csv") {
            builder.markdown("""
                ## Busy and idle time per layer and lane

                From layers.csv: each bar is one layer on one lane; the lower part is the time the lane \
                computes, the upper part the time it waits for the other lanes before the next layer starts \
                (an idle bubble). One panel per scenario and engine.
                """)
            builder.code(busyIdleCell, svgs: take(.busyIdle))
        }
        if results.has("steps.csv") {
            builder.markdown("""
                ## Latency per step

                From steps.csv (the event engine): how the latency of a step varies from step to step \
                (routing draws, skipped layers, a growing context when decoding).
                """)
            builder.code(stepHistogramCell, svgs: take(.stepHistogram))
        }
        if results.has("timeline.json") {
            builder.markdown("""
                ## Timeline

                From timeline.json, a Chrome trace of the first steps: one row per lane, one bar per op, \
                coloured by op class. Open the file in Perfetto or chrome://tracing to zoom into every op.
                """)
            builder.code(timelineCell, svgs: take(.timeline))
        }
        if let swept = results.sweptColumns {
            builder.markdown("""
                ## Latency over the sweep

                From sweep.csv: latency against \(swept.first.map(markdownCode) ?? "the point number")\
                \(swept.count > 1 ? ", one line per value of \(markdownCode(swept[1]))" : "")\
                \(swept.count > 2 ? " (the mean over the other swept keys)" : "").
                """)
            builder.code(sweepLineCell, svgs: take(.sweepLine))
            if swept.count >= 2 {
                builder.markdown("""
                    ## Latency over two swept keys

                    From sweep.csv: latency over \(markdownCode(swept[0])) and \(markdownCode(swept[1]))\
                    \(swept.count > 2 ? " (the mean over the other swept keys)" : "").
                    """)
                builder.code(sweepHeatmapCell, svgs: take(.sweepHeatmap))
            }
        }
        if !pending.isEmpty {
            builder.markdown("""
                ## Other figures drawn by hybridsim

                Embedded as hybridsim drew them (SVG).
                """)
            for figure in pending {
                let file = figure.name.hasSuffix(".svg") ? figure.name : figure.name + ".svg"
                let comment = figure.name.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
                let source: String
                if results.has(file) {
                    source = """
                        # \(comment): drawn by hybridsim
                        from IPython.display import SVG
                        SVG(filename=str(DATA / \(pythonString(file))))
                        """
                } else {
                    source = "# \(comment): drawn by hybridsim (the SVG is embedded below; its file is not beside the data)"
                }
                builder.code(source, svgs: [(name: figure.name, svg: figure.svg)])
            }
        }
        return try builder.json(metadata: [
            "kernelspec": ["display_name": "Python 3", "language": "python", "name": "python3"],
            "language_info": ["name": "python"],
            "hybridsim": ["command": command, "results": dataRelativePath],
        ])
    }

    /// `directory` as reached from `notebookDirectory`, both relative to the current folder or
    /// absolute: what to pass as `dataRelativePath` for a notebook written into `notebookDirectory`.
    /// Lexical (symbolic links are not resolved); "." when they are the same folder.
    public static func relativePath(from notebookDirectory: String, to directory: String) -> String {
        func components(_ path: String) -> [String] {
            let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            return URL(fileURLWithPath: absolute).standardizedFileURL.pathComponents.filter { $0 != "/" && !$0.isEmpty }
        }
        let from = components(notebookDirectory), to = components(directory)
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common] { common += 1 }
        let parts = Array(repeating: "..", count: from.count - common) + to[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    // MARK: - Figures

    /// The figures the notebook redraws, which SVGs attach to.
    enum Figure: Equatable {
        case busyIdle, stepHistogram, timeline, sweepLine, sweepHeatmap, other

        static func matching(_ name: String) -> Figure {
            let n = name.lowercased()
            if n.contains("heat") { return .sweepHeatmap }
            if ["timeline", "gantt", "trace"].contains(where: n.contains) { return .timeline }
            if n.contains("hist") || n.contains("step") { return .stepHistogram }
            if ["layer", "lane", "busy", "idle"].contains(where: n.contains) { return .busyIdle }
            if ["sweep", "latency", "line"].contains(where: n.contains) { return .sweepLine }
            return .other
        }
    }

    // MARK: - Cells

    /// What was run, where the data is, and a first look at the numbers.
    static func header(_ results: ResultFolder, dataRelativePath: String, command: String, scenarioFile: String?,
                       profile: String?, date: Date?) throws -> String {
        let report = try results.report()
        let summary = try results.table("summary.csv")
        let scenarioNames = unique(summary?.column("scenario") ?? [])
        let folderName = URL(fileURLWithPath: results.directory).standardizedFileURL.lastPathComponent
        var lines: [String] = []
        if results.sweptColumns != nil {
            lines.append("# HybridSim sweep: \(markdownText(folderName))")
        } else {
            lines.append("# HybridSim results: \(markdownText(scenarioNames.isEmpty ? folderName : scenarioNames.joined(separator: ", ")))")
        }
        lines.append("")
        lines.append("What was run, so that it can be run again:")
        lines.append("")
        let files = scenarioFile.map { [$0] } ?? unique(report?.reports.compactMap(\.scenarioFile) ?? [])
        lines.append("- **Scenario file:** " + (files.isEmpty ? "not recorded" : files.map(markdownCode).joined(separator: ", ")))
        lines.append("- **Command:**")
        lines.append("")
        lines.append(contentsOf: codeBlock(command, language: "sh").map { $0.isEmpty ? "" : "  " + $0 })
        lines.append("")
        if let profile { lines.append("- **Hardware profile asked for:** \(markdownCode(profile))") }
        var hardware = report?.reports.compactMap(\.hardware) ?? []
        if hardware.isEmpty, let sweep = try results.table("sweep.csv") {
            // A sweep records each point's profile name only.
            hardware = unique(sweep.column("hardware")).map { (name: $0, origin: "", description: "") }
        }
        var seen = Set<String>()
        let profiles = hardware.filter { seen.insert($0.name + "\u{0}" + $0.origin).inserted }
        if profiles.isEmpty {
            if profile == nil {
                lines.append("- **Hardware profile:** not recorded (" + (report == nil ? "no report.json here)" : "no hardware entry in report.json)"))
            }
        } else {
            for h in profiles {
                let description = h.description.isEmpty ? "" : " — " + markdownText(h.description)
                let origin = h.origin.isEmpty ? "(named in sweep.csv; origin not recorded)" : "(origin: \(markdownText(h.origin)))"
                lines.append("- **Hardware profile:** \(markdownCode(h.name)) \(origin)\(description)")
            }
        }
        lines.append("- **Results:** \(markdownCode(dataRelativePath)) (relative to this notebook): "
                     + results.present.joined(separator: ", "))
        if let written = date ?? results.newestModification {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.formatOptions = [.withInternetDateTime]
            lines.append("- **Date:** \(formatter.string(from: written))" + (date == nil ? " (when the result files were written)" : ""))
        }
        if let summary {
            lines.append("")
            lines.append(contentsOf: summaryTable(summary))
        }
        if let sweep = try results.table("sweep.csv"), let swept = results.sweptColumns {
            lines.append("")
            lines.append(contentsOf: sweepSummary(sweep, swept: swept, invalid: try results.table("invalid.csv")?.rows.count ?? 0))
        }
        return lines.joined(separator: "\n")
    }

    /// summary.csv's headline numbers as a Markdown table (at most 30 rows).
    static func summaryTable(_ summary: Table) -> [String] {
        let limit = 30
        var lines = ["| scenario | engine | latency | tokens/s | MFU | idle bubbles | peak memory |",
                     "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for row in summary.rows.prefix(limit) {
            func text(_ column: String) -> String { summary.value(column, in: row) ?? "" }
            func number(_ column: String, _ format: (Double) -> String) -> String {
                let raw = text(column)
                return Double(raw).map(format) ?? raw
            }
            let cells = [
                text("scenario"), text("engine"),
                number("latency_s") { TableFormat.si($0, "s") },
                number("tokens_per_s") { TableFormat.si($0, "tok/s") },
                number("mfu") { String(format: "%.2f %%", $0 * 100) },
                number("bubble_fraction") { String(format: "%.2f %% of lane time", $0 * 100) },
                number("peak_memory_bytes") { TableFormat.bytes($0) },
            ]
            lines.append("| " + cells.map(markdownCell).joined(separator: " | ") + " |")
        }
        if summary.rows.count > limit {
            lines.append("")
            lines.append("(\(summary.rows.count - limit) more rows in summary.csv.)")
        }
        return lines
    }

    /// How many points sweep.csv holds, over which keys, and its lowest and highest latency.
    static func sweepSummary(_ sweep: Table, swept: [String], invalid: Int) -> [String] {
        let latencies = sweep.rows.compactMap { sweep.value("latency_s", in: $0).flatMap(Double.init) }.filter(\.isFinite)
        var line = "\(sweep.rows.count) point\(sweep.rows.count == 1 ? "" : "s")"
        line += swept.isEmpty ? "" : " over " + swept.map(markdownCode).joined(separator: ", ")
        if let low = latencies.min(), let high = latencies.max() {
            line += "; latency from \(TableFormat.si(low, "s")) to \(TableFormat.si(high, "s"))"
        }
        if latencies.count < sweep.rows.count {
            line += "; \(sweep.rows.count - latencies.count) without a latency"
        }
        if invalid > 0 {
            line += "; \(invalid) invalid point\(invalid == 1 ? "" : "s") skipped (in invalid.csv, with the reason)"
        }
        return [line + "."]
    }

    /// Imports, and every result file present loaded from the notebook's own folder.
    static func loadingCell(_ results: ResultFolder, dataRelativePath: String) -> String {
        var lines = [
            "import pandas as pd, matplotlib.pyplot as plt, json",
            "from pathlib import Path",
            "",
            "# The result folder, relative to this notebook's folder (Jupyter runs a notebook in its own folder).",
            "DATA = Path(\(pythonString(dataRelativePath)))",
        ]
        var shown: String? = nil
        for file in runFiles + sweepFiles where results.has(file) {
            let name = String(file.prefix { $0 != "." })
            if file.hasSuffix(".csv") {
                let text = textColumns[file] ?? []
                let types = text.isEmpty ? "" : ", dtype={" + text.map { "\(pythonString($0)): str" }.joined(separator: ", ") + "}"
                lines.append("\(name) = pd.read_csv(DATA / \(pythonString(file))\(types))")
                if shown == nil { shown = name }
            } else {
                lines.append("\(name) = json.loads((DATA / \(pythonString(file))).read_text())")
            }
        }
        if results.sweptColumns != nil {
            lines += [
                "",
                "# The swept key paths: sweep.csv's columns between `point` and `scenario`.",
                "columns = list(sweep.columns)",
                "swept = columns[columns.index(\"point\") + 1 : columns.index(\"scenario\")]",
                "for key in swept:",
                "    if not pd.api.types.is_numeric_dtype(sweep[key]):",
                "        sweep[key] = sweep[key].astype(str)  # a key with text values (or text and numbers) sorts as text",
                "",
                "def label(value):",
                "    \"\"\"A swept value as axis or legend text.\"\"\"",
                "    return f\"{value:.4g}\" if isinstance(value, float) else str(value)",
                "",
                "def log_scale_suits(values):",
                "    \"\"\"True for positive numbers spanning two decades or more, which a log axis spreads evenly.\"\"\"",
                "    return pd.api.types.is_numeric_dtype(values) and bool((values > 0).all()) and values.max() >= 100 * values.min()",
            ]
        }
        if let shown {
            lines.append("")
            lines.append(shown == "sweep" ? "sweep.head(20)" : shown)
        }
        return lines.joined(separator: "\n")
    }

    static let busyIdleCell = """
        # Busy and idle time per layer and lane (layers.csv), one panel per scenario and engine.
        groups = list(layers.groupby(["scenario", "engine"], sort=False))
        if not groups:
            print("layers.csv has no rows")
        else:
            fig, axes = plt.subplots(len(groups), 1, figsize=(10, 3.8 * len(groups)), squeeze=False, layout="constrained")
            for ax, ((scenario, engine), rows) in zip(axes[:, 0], groups):
                x = list(range(len(rows)))
                busy_ms = rows["busy_s"].to_numpy() * 1e3
                idle_ms = rows["idle_s"].to_numpy() * 1e3
                ax.bar(x, busy_ms, label="busy")
                ax.bar(x, idle_ms, bottom=busy_ms, label="idle")
                ax.set_xticks(x, [f"{layer} {lane}" for layer, lane in zip(rows["layer"], rows["lane"])],
                              rotation=90, fontsize="small")
                ax.set_ylabel("time (ms)")
                ax.set_title(f"{scenario} ({engine} engine): busy and idle time per layer and lane")
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            plt.show()
        """

    static let stepHistogramCell = """
        # Latency per step (steps.csv), one panel per scenario.
        groups = list(steps.groupby("scenario", sort=False))
        if not groups:
            print("steps.csv has no rows")
        else:
            fig, axes = plt.subplots(len(groups), 1, figsize=(8, 3.2 * len(groups)), squeeze=False, layout="constrained")
            for ax, (scenario, rows) in zip(axes[:, 0], groups):
                ax.hist(rows["latency_s"].to_numpy() * 1e3, bins=30)
                ax.set_xlabel("latency per step (ms)")
                ax.set_ylabel("steps")
                ax.set_title(f"{scenario}: latency per step over {len(rows)} steps")
            plt.show()
        """

    static let timelineCell = """
        # The first steps on each lane (timeline.json): one panel per scenario, one row per lane, one bar
        # per op, coloured by op class.
        events = timeline["traceEvents"]
        processes = {e["pid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "process_name"}
        lanes = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "thread_name"}
        slices = [e for e in events if e.get("ph") == "X"]
        classes = sorted({e.get("cat", "") for e in slices})
        colours = {c: plt.get_cmap("tab10")(i % 10) for i, c in enumerate(classes)}
        pids = sorted({pid for pid, _ in lanes})
        if not pids:
            print("timeline.json names no lanes")
        else:
            heights = [sum(1 for p, _ in lanes if p == pid) for pid in pids]
            fig, axes = plt.subplots(len(pids), 1, figsize=(10, 1.2 * len(pids) + 0.5 * sum(heights)), squeeze=False,
                                     gridspec_kw={"height_ratios": heights}, layout="constrained")
            for ax, pid in zip(axes[:, 0], pids):
                tids = sorted(tid for p, tid in lanes if p == pid)
                for row, tid in enumerate(tids):
                    spans = [e for e in slices if e["pid"] == pid and e["tid"] == tid]
                    ax.broken_barh([(e["ts"] / 1e3, e["dur"] / 1e3) for e in spans], (row - 0.4, 0.8),
                                   facecolors=[colours[e.get("cat", "")] for e in spans])
                ax.set_yticks(range(len(tids)), [lanes[(pid, tid)] for tid in tids])
                ax.set_ylim(len(tids) - 0.5, -0.5)
                ax.set_xlabel("time (ms)")
                ax.set_title(f"Timeline: {processes.get(pid, pid)}")
            fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in classes], labels=classes,
                       fontsize="small", loc="outside right upper")
            plt.show()
        """

    static let sweepLineCell = """
        # Latency over the first swept key (the point number when nothing is swept), one line per value
        # of the second swept key; the mean over any further swept keys.
        x = swept[0] if swept else "point"
        hue = swept[1] if len(swept) > 1 else None
        data = sweep.dropna(subset=["latency_s"])
        if data.empty:
            print("no point in sweep.csv has a latency")
        else:
            fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
            if hue is None:
                line = data.groupby(x)["latency_s"].mean() * 1e3
                ax.plot(line.index, line.to_numpy(), marker="o")
            elif data[hue].nunique() <= 12:
                for value, rows in data.groupby(hue):
                    line = rows.groupby(x)["latency_s"].mean() * 1e3
                    ax.plot(line.index, line.to_numpy(), marker="o", label=f"{hue} = {label(value)}")
                ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
            else:
                # Too many values of the second key for a line each (a sampled sweep): colour the points by it.
                colour = data[hue] if pd.api.types.is_numeric_dtype(data[hue]) else pd.factorize(data[hue])[0]
                points = ax.scatter(data[x], data["latency_s"] * 1e3, c=colour, s=14)
                fig.colorbar(points, ax=ax, label=hue)
            if log_scale_suits(data[x]):
                ax.set_xscale("log")
            ax.set_xlabel(x)
            ax.set_ylabel("latency (ms)")
            ax.set_title(f"Latency over {x}")
            plt.show()
        """

    static let sweepHeatmapCell = """
        # Latency over the first two swept keys (the mean over any further ones).
        x, y = swept[0], swept[1]
        data = sweep.dropna(subset=["latency_s"])
        if data.empty:
            print("no point in sweep.csv has a latency")
        else:
            fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
            if data[x].nunique() <= 40 and data[y].nunique() <= 40:
                grid = data.pivot_table(index=y, columns=x, values="latency_s", aggfunc="mean") * 1e3
                image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
                ax.set_xticks(range(len(grid.columns)), [label(v) for v in grid.columns], rotation=90)
                ax.set_yticks(range(len(grid.index)), [label(v) for v in grid.index])
            else:
                # Too many distinct values for a grid (a sampled sweep): one dot per point, coloured by latency.
                image = ax.scatter(data[x], data[y], c=data["latency_s"] * 1e3, cmap="viridis", s=14)
                if log_scale_suits(data[x]):
                    ax.set_xscale("log")
                if log_scale_suits(data[y]):
                    ax.set_yscale("log")
            fig.colorbar(image, ax=ax, label="latency (ms)")
            ax.set_xlabel(x)
            ax.set_ylabel(y)
            ax.set_title(f"Latency over {x} and {y}")
            plt.show()
        """

    // MARK: - Text helpers

    /// `text` as a Python string literal (double quotes, escapes for backslash, quote and control characters).
    static func pythonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                    out += String(format: "\\x%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The longest run of backticks in `text`.
    static func longestBacktickRun(_ text: String) -> Int {
        var longest = 0, run = 0
        for scalar in text.unicodeScalars {
            if scalar == "`" { run += 1; longest = max(longest, run) } else { run = 0 }
        }
        return longest
    }

    /// `text` as Markdown inline code, on one line, whatever backticks it holds.
    static func markdownCode(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\r", with: " ")
        let fence = String(repeating: "`", count: longestBacktickRun(flat) + 1)
        let pad = flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
        return fence + pad + flat + pad + fence
    }

    /// `text` as Markdown on one line, its Markdown and HTML characters escaped.
    static func markdownText(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\n", "\r", "\r\n": out += " "
            case "\\", "`", "*", "_", "[", "]", "<", ">", "#", "|", "$": out += "\\" + String(character)
            default: out.append(character)
            }
        }
        return out
    }

    /// `text` as a Markdown table cell.
    static func markdownCell(_ text: String) -> String { markdownText(text) }

    /// A fenced code block holding `text` verbatim.
    static func codeBlock(_ text: String, language: String) -> [String] {
        let fence = String(repeating: "`", count: max(3, longestBacktickRun(text) + 1))
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return [fence + language] + body + [fence]
    }

    static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    // MARK: - Reading the result folder

    /// A CSV file's header and rows.
    struct Table {
        var header: [String]
        var rows: [[String]]

        func value(_ column: String, in row: [String]) -> String? {
            guard let index = header.firstIndex(of: column), index < row.count else { return nil }
            return row[index]
        }

        func column(_ name: String) -> [String] { rows.compactMap { value(name, in: $0) } }
    }

    /// report.json's fields the notebook's header shows.
    struct ReportFile {
        struct Entry {
            var scenarioFile: String?
            var hardware: (name: String, origin: String, description: String)?
        }
        var reports: [Entry]
    }

    /// The result files in one folder.
    struct ResultFolder {
        var directory: String
        /// The known result files present, in loading order.
        var present: [String]
        /// sweep.csv's swept key paths (columns between `point` and `scenario`); nil without sweep.csv.
        var sweptColumns: [String]?

        init(_ directory: String) throws {
            self.directory = directory
            var isDirectory: ObjCBool = false
            let expected = "expected the files of `hybridsim run` (\(NotebookExport.runFiles.joined(separator: ", "))) "
                + "or of `hybridsim sweep` (\(NotebookExport.sweepFiles.joined(separator: ", ")))"
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
                throw ExportError(path: directory, reason: "no such folder; \(expected)")
            }
            guard isDirectory.boolValue else { throw ExportError(path: directory, reason: "not a folder; \(expected)") }
            present = (NotebookExport.runFiles + NotebookExport.sweepFiles).filter {
                var isDir: ObjCBool = false
                return FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0), isDirectory: &isDir)
                    && !isDir.boolValue
            }
            guard !present.isEmpty else { throw ExportError(path: directory, reason: "no result files here; \(expected)") }
            for (file, columns) in NotebookExport.requiredColumns.sorted(by: { $0.key < $1.key }) {
                guard let table = try table(file) else { continue }
                let missing = columns.filter { !table.header.contains($0) }
                guard missing.isEmpty else {
                    throw ExportError(path: path(file), reason: "lacks the column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) (header: \(table.header.joined(separator: ",")))")
                }
            }
            if let sweep = try table("sweep.csv"), let point = sweep.header.firstIndex(of: "point"),
               let scenario = sweep.header.firstIndex(of: "scenario") {
                guard point < scenario else {
                    throw ExportError(path: path("sweep.csv"), reason: "the column `point` must come before `scenario` (the swept key paths stand between them)")
                }
                sweptColumns = Array(sweep.header[(point + 1)..<scenario])
            }
        }

        func has(_ file: String) -> Bool {
            if present.contains(file) { return true }
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: path(file), isDirectory: &isDir) && !isDir.boolValue
        }

        func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }

        func text(_ file: String) throws -> String? {
            guard present.contains(file) else { return nil }
            do {
                return String(decoding: try Data(contentsOf: URL(fileURLWithPath: path(file))), as: UTF8.self)
            } catch {
                throw ExportError(path: path(file), reason: "cannot read: \(error.localizedDescription)")
            }
        }

        func table(_ file: String) throws -> Table? {
            guard let text = try text(file) else { return nil }
            let records = NotebookExport.parseCSV(text)
            guard let header = records.first else { throw ExportError(path: path(file), reason: "is empty (no header line)") }
            return Table(header: header, rows: Array(records.dropFirst()))
        }

        func report() throws -> ReportFile? {
            guard let text = try text("report.json") else { return nil }
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(text.utf8)) } catch {
                throw ExportError(path: path("report.json"), reason: "is not valid JSON: \(error.localizedDescription)")
            }
            guard let root = object as? [String: Any] else {
                throw ExportError(path: path("report.json"), reason: "is not a JSON object")
            }
            let items = root["reports"] as? [[String: Any]] ?? []
            return ReportFile(reports: items.map { item in
                var entry = ReportFile.Entry(scenarioFile: item["scenario_file"] as? String)
                if let h = item["hardware"] as? [String: Any], let name = h["name"] as? String {
                    entry.hardware = (name, h["origin"] as? String ?? "unknown", h["description"] as? String ?? "")
                }
                return entry
            })
        }

        /// The newest modification time among the result files.
        var newestModification: Date? {
            present.compactMap { try? FileManager.default.attributesOfItem(atPath: path($0))[.modificationDate] as? Date }.max()
        }
    }

    /// RFC 4180 records (``CSVTable/records(_:)``).
    static func parseCSV(_ text: String) -> [[String]] { CSVTable.records(text) }
}

/// Cells in order, each with a stable id (`cell-<index>`), and the nbformat 4.5 JSON around them.
struct NotebookBuilder {
    private(set) var cells: [[String: Any]] = []

    mutating func markdown(_ text: String) {
        cells.append(["id": "cell-\(cells.count)", "cell_type": "markdown", "metadata": [String: Any](),
                      "source": Self.sourceLines(text)])
    }

    /// A code cell, not run (execution_count null), whose outputs are `svgs` as display_data.
    mutating func code(_ text: String, svgs: [(name: String, svg: String)] = []) {
        let outputs: [[String: Any]] = svgs.map { figure in
            ["output_type": "display_data",
             "data": ["image/svg+xml": figure.svg, "text/plain": ["<Figure>"]],
             "metadata": ["hybridsim": ["figure": figure.name]]]
        }
        cells.append(["id": "cell-\(cells.count)", "cell_type": "code", "metadata": [String: Any](),
                      "execution_count": NSNull(), "outputs": outputs, "source": Self.sourceLines(text)])
    }

    func json(metadata: [String: Any]) throws -> String {
        let notebook: [String: Any] = ["nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells]
        let data = try JSONSerialization.data(withJSONObject: notebook, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Jupyter's multi-line string form: one string per line, each but the last ending in "\n".
    static func sourceLines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) + "\n" }
        if let last = lines.popLast() { lines.append(String(last.dropLast())) }
        return lines.last == "" ? Array(lines.dropLast()) : lines
    }
}
