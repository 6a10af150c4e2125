import Foundation
import Testing
@testable import Plots

@Suite("Line plot")
struct LinePlotTests {
    let data = try! CSVData.parse(Samples.sweep(), file: "sweep.csv")

    func plot(logX: Bool = false, logY: Bool = false) throws -> String {
        try LinePlot.svg(data, x: "model.blocks.hyb.mixer.split", y: "latency_s", series: "workload.seq_len",
                         title: nil, logX: logX, logY: logY)
    }

    @Test("well-formed SVG with axis titles, a legend entry per series and a marker per row")
    func structure() throws {
        let doc = SVGDocument(try plot())
        #expect(doc.wellFormed)
        let titles = doc.texts(class: "axis-title")
        #expect(titles.contains("model.blocks.hyb.mixer.split"))
        #expect(titles.contains("latency_s (seconds)"))
        #expect(doc.texts(class: "legend-entry") == ["1024", "2048", "4096"])
        #expect(doc.texts(class: "legend-title") == ["workload.seq_len"])
        #expect(doc.elements(class: "marker").count == 27)
        #expect(doc.elements(class: "series-line").count == 3)
        #expect(doc.elements.first?.attributes["width"] == "800" && doc.elements.first?.attributes["height"] == "500")
    }

    @Test("time ticks carry SI units")
    func siTicks() throws {
        let ticks = SVGDocument(try plot()).texts(class: "tick")
        #expect(ticks.contains("1 ms"))
        #expect(ticks.contains("0.5 ms"))
        #expect(ticks.contains("0") && ticks.contains("0.4"))
    }

    @Test("points are joined in x order whatever the row order")
    func sortedByX() throws {
        let csv = try CSVData.parse("x,y_s\n3,3\n1,1\n2,2\n", file: "u.csv")
        let doc = SVGDocument(try LinePlot.svg(csv, x: "x", y: "y_s", series: nil, title: "T", logX: false, logY: false))
        let points = doc.elements(class: "series-line").first?.attributes["points"] ?? ""
        let xs = points.split(separator: " ").compactMap { Double($0.split(separator: ",")[0]) }
        #expect(xs.count == 3 && xs == xs.sorted())
        #expect(doc.texts(class: "title") == ["T"])
    }

    @Test("log axes put ticks on decades")
    func logTicks() throws {
        var text = "x,latency_s\n"
        for (i, v) in [1e-6, 1e-5, 1e-4, 1e-3, 1e-2].enumerated() { text += "\(i + 1),\(v)\n" }
        let csv = try CSVData.parse(text, file: "log.csv")
        let ticks = SVGDocument(try LinePlot.svg(csv, x: "x", y: "latency_s", series: nil, title: nil, logX: false, logY: true))
            .texts(class: "tick")
        for label in ["1 µs", "10 µs", "100 µs", "1 ms", "10 ms"] { #expect(ticks.contains(label)) }
    }

    @Test("a log axis refuses zero and negative values, naming the row")
    func logRefusesNonPositive() throws {
        let csv = try CSVData.parse("x,latency_s\n1,0.5\n2,0\n", file: "z.csv")
        #expect(plotError { try LinePlot.svg(csv, x: "x", y: "latency_s", series: nil, title: nil, logX: false, logY: true) }
            == .nonPositiveOnLogAxis(file: "z.csv", column: "latency_s", row: 2, line: 3, value: 0))
        let negative = try CSVData.parse("x,y\n-1,1\n2,1\n", file: "n.csv")
        let error = plotError { try LinePlot.svg(negative, x: "x", y: "y", series: nil, title: nil, logX: true, logY: false) }
        #expect(error == .nonPositiveOnLogAxis(file: "n.csv", column: "x", row: 1, line: 2, value: -1))
        #expect(error?.description.contains("logarithmic") == true)
        // The same data on linear axes is fine.
        #expect(plotError { try LinePlot.svg(csv, x: "x", y: "latency_s", series: nil, title: nil, logX: false, logY: false) } == nil)
    }

    @Test("an unknown column lists the available ones")
    func unknownColumn() {
        let error = plotError { try LinePlot.svg(data, x: "split", y: "latency_s", series: nil, title: nil, logX: false, logY: false) }
        guard case let .unknownColumn(file, column, available)? = error else {
            Issue.record("expected unknownColumn, got \(String(describing: error))")
            return
        }
        #expect(file == "sweep.csv" && column == "split" && available == data.header)
        #expect(error!.description.contains("model.blocks.hyb.mixer.split"))
        #expect(plotError { try LinePlot.svg(data, x: "workload.seq_len", y: "latency_s", series: "nope", title: nil, logX: false, logY: false) } != nil)
    }

    @Test("a text value in the metric column is an error naming the row; empty and nan cells are skipped with a note")
    func missingAndBadValues() throws {
        let bad = try CSVData.parse("x,y\n1,2\n2,oops\n", file: "b.csv")
        #expect(plotError { try LinePlot.svg(bad, x: "x", y: "y", series: nil, title: nil, logX: false, logY: false) }
            == .notNumeric(file: "b.csv", column: "y", row: 2, line: 3, value: "oops"))
        let gaps = try CSVData.parse("x,y\n1,2\n2,\n3,nan\n4,5\n", file: "g.csv")
        let doc = SVGDocument(try LinePlot.svg(gaps, x: "x", y: "y", series: nil, title: nil, logX: false, logY: false))
        #expect(doc.elements(class: "marker").count == 2)
        #expect(doc.texts(class: "note").contains { $0.contains("2 rows") })
        let empty = try CSVData.parse("x,y\n1,\n", file: "e.csv")
        #expect(plotError { try LinePlot.svg(empty, x: "x", y: "y", series: nil, title: nil, logX: false, logY: false) } != nil)
    }

    @Test("a text x column becomes categories; a log axis on it is refused")
    func categoricalX() throws {
        let csv = try CSVData.parse("hardware,latency_s\nh100,1e-3\na100,2e-3\nmi300x,1.5e-3\n", file: "h.csv")
        let doc = SVGDocument(try LinePlot.svg(csv, x: "hardware", y: "latency_s", series: nil, title: nil, logX: false, logY: false))
        #expect(doc.wellFormed)
        #expect(doc.elements(class: "marker").count == 3)
        for name in ["h100", "a100", "mi300x"] { #expect(doc.texts(class: "tick").contains(name)) }
        #expect(plotError { try LinePlot.svg(csv, x: "hardware", y: "latency_s", series: nil, title: nil, logX: true, logY: false) } != nil)
    }

    @Test("rows sharing an x in one series all get markers and a note")
    func duplicates() throws {
        let csv = try CSVData.parse("x,y\n1,1\n1,3\n2,2\n", file: "d.csv")
        let doc = SVGDocument(try LinePlot.svg(csv, x: "x", y: "y", series: nil, title: nil, logX: false, logY: false))
        #expect(doc.elements(class: "marker").count == 3)
        #expect(doc.texts(class: "note").count == 1)
    }

    @Test("the same input gives byte-identical output")
    func deterministic() throws {
        let again = try CSVData.parse(Samples.sweep(), file: "sweep.csv")
        let first = try plot(logX: true, logY: true)
        let second = try LinePlot.svg(again, x: "model.blocks.hyb.mixer.split", y: "latency_s", series: "workload.seq_len",
                                      title: nil, logX: true, logY: true)
        #expect(first == second)
    }

    @Test("markup characters in titles, names and values are escaped")
    func escaping() throws {
        let data = try CSVData.parse("x,y,s\n1,2,\"<g onload=\"\"x\"\">&amp;'\"\n2,3,\"<g onload=\"\"x\"\">&amp;'\"\n", file: "e.csv")
        let svg = try LinePlot.svg(data, x: "x", y: "y", series: "s", title: "A & B < C", logX: false, logY: false)
        #expect(!svg.contains("<g onload"))
        #expect(svg.contains("&lt;g onload=&quot;x&quot;&gt;&amp;amp;&apos;"))
        let doc = SVGDocument(svg)
        #expect(doc.wellFormed)
        #expect(doc.texts(class: "legend-entry") == ["<g onload=\"x\">&amp;'"])
        #expect(doc.texts(class: "title") == ["A & B < C"])
    }
}

@Suite("Heatmap")
struct HeatmapTests {
    let data = try! CSVData.parse(Samples.sweep(), file: "sweep.csv")

    @Test("one cell per pair, values printed on a small grid, a colour bar with the unit")
    func structure() throws {
        let doc = SVGDocument(try Heatmap.svg(data, x: "model.blocks.hyb.mixer.split", y: "workload.seq_len", value: "latency_s", title: nil))
        #expect(doc.wellFormed)
        #expect(doc.elements(class: "cell").count == 27)
        #expect(doc.texts(class: "cell-value").count == 27)
        #expect(doc.texts(class: "colorbar-title") == ["latency_s (ms)"])
        let titles = doc.texts(class: "axis-title")
        #expect(titles.contains("model.blocks.hyb.mixer.split") && titles.contains("workload.seq_len"))
        let ticks = doc.texts(class: "tick")
        for label in ["0.1", "0.9", "1024", "4096"] { #expect(ticks.contains(label)) }
        #expect(doc.elements.contains { $0.name == "linearGradient" })
    }

    @Test("cell values are left out on a big grid; missing cells are grey")
    func bigGrid() throws {
        var text = "a,b,v\n"
        for a in 0..<13 { for b in 0..<2 where !(a == 0 && b == 1) { text += "\(a),\(b),\(a * b)\n" } }
        let doc = SVGDocument(try Heatmap.svg(try CSVData.parse(text, file: "g.csv"), x: "a", y: "b", value: "v", title: "grid"))
        #expect(doc.elements(class: "cell").count == 25)
        #expect(doc.elements(class: "missing-cell").count == 1)
        #expect(doc.texts(class: "cell-value").isEmpty)
    }

    @Test("unknown columns, text values and empty data are refused")
    func errors() throws {
        #expect(plotError { try Heatmap.svg(data, x: "split", y: "workload.seq_len", value: "latency_s", title: nil) } != nil)
        let bad = try CSVData.parse("a,b,v\n1,2,x\n", file: "b.csv")
        #expect(plotError { try Heatmap.svg(bad, x: "a", y: "b", value: "v", title: nil) }
            == .notNumeric(file: "b.csv", column: "v", row: 1, line: 2, value: "x"))
        let empty = try CSVData.parse("a,b,v\n", file: "e.csv")
        #expect(plotError { try Heatmap.svg(empty, x: "a", y: "b", value: "v", title: nil) } != nil)
    }

    @Test("the same input gives byte-identical output")
    func deterministic() throws {
        let a = try Heatmap.svg(data, x: "model.blocks.hyb.mixer.split", y: "workload.seq_len", value: "tokens_per_s", title: nil)
        let b = try Heatmap.svg(try CSVData.parse(Samples.sweep(), file: "sweep.csv"), x: "model.blocks.hyb.mixer.split",
                                y: "workload.seq_len", value: "tokens_per_s", title: nil)
        #expect(a == b)
    }
}

@Suite("Stacked bars")
struct StackedBarsTests {
    @Test("a busy and an idle bar per layer and lane, the lanes in the legend")
    func structure() throws {
        let data = try CSVData.parse(Samples.layers(), file: "layers.csv")
        let doc = SVGDocument(try StackedBars.svg(data, scenario: nil, title: nil))
        #expect(doc.wellFormed)
        #expect(doc.elements(class: "busy").count == 48)
        #expect(doc.elements(class: "idle").count == 48)
        let legend = doc.texts(class: "legend-entry")
        #expect(legend.contains("gpu0.attention") && legend.contains("gpu0.ssm"))
        #expect(doc.texts(class: "axis-title").contains("layer"))
        #expect(doc.texts(class: "axis-title").contains("time per layer (seconds)"))
        #expect(doc.texts(class: "tick").contains { $0.hasSuffix(" µs") })
    }

    @Test("many layers stay readable: labels on every k-th layer")
    func manyLayers() throws {
        let lanes = ["gpu0.attention", "gpu0.ssm", "gpu1.attention", "gpu1.ssm"]
        let doc = SVGDocument(try StackedBars.svg(try CSVData.parse(Samples.layers(layers: 120, lanes: lanes), file: "l.csv"),
                                                  scenario: "demo", title: nil))
        #expect(doc.elements(class: "busy").count == 480)
        let layerLabels = doc.texts(class: "tick").filter { Int($0) != nil }
        #expect(layerLabels.count < 40 && layerLabels.contains("0"))
    }

    @Test("several scenarios need a choice; an unknown one lists them")
    func scenarios() throws {
        let text = Samples.layers(layers: 2, scenario: "a") + Samples.layers(layers: 3, scenario: "b").split(separator: "\n").dropFirst()
            .joined(separator: "\n") + "\n"
        let data = try CSVData.parse(text, file: "layers.csv")
        #expect(plotError { try StackedBars.svg(data, scenario: nil, title: nil) }
            == .ambiguousValue(file: "layers.csv", column: "scenario", available: ["a", "b"]))
        #expect(plotError { try StackedBars.svg(data, scenario: "c", title: nil) }
            == .unknownValue(file: "layers.csv", column: "scenario", value: "c", available: ["a", "b"]))
        let doc = SVGDocument(try StackedBars.svg(data, scenario: "b", title: nil))
        #expect(doc.elements(class: "busy").count == 6)
    }

    @Test("a file without busy_s is refused with the available columns")
    func missingColumn() throws {
        let data = try CSVData.parse("layer,lane,idle_s\n0,a,1\n", file: "x.csv")
        #expect(plotError { try StackedBars.svg(data, scenario: nil, title: nil) }
            == .unknownColumn(file: "x.csv", column: "busy_s", available: ["layer", "lane", "idle_s"]))
    }

    @Test("the same input gives byte-identical output")
    func deterministic() throws {
        let a = try StackedBars.svg(try CSVData.parse(Samples.layers(), file: "l.csv"), scenario: nil, title: nil)
        let b = try StackedBars.svg(try CSVData.parse(Samples.layers(), file: "l.csv"), scenario: nil, title: nil)
        #expect(a == b)
    }
}

@Suite("Gantt")
struct GanttTests {
    @Test("a rectangle per event, a row per lane, a legend entry per op class")
    func structure() throws {
        let doc = SVGDocument(try Gantt.svg(timelineJSON: Samples.timeline(), file: "timeline.json", title: nil))
        #expect(doc.wellFormed)
        #expect(doc.elements(class: "event").count == 50)
        #expect(doc.texts(class: "lane-label") == ["gpu0.attention", "gpu0.ssm"])
        #expect(doc.texts(class: "legend-entry") == Samples.categories.sorted())
        #expect(doc.texts(class: "axis-title") == ["time (from the first event)"])
        #expect(doc.texts(class: "tick").contains { $0.hasSuffix(" ms") || $0.hasSuffix(" µs") })
        let fills = Set(doc.elements(class: "event").compactMap { $0.attributes["fill"] })
        #expect(fills.count == 4)
    }

    @Test("maxEvents keeps the earliest events and says so")
    func truncation() throws {
        let doc = SVGDocument(try Gantt.svg(timelineJSON: Samples.timeline(), file: "t.json", title: nil, maxEvents: 10))
        #expect(doc.elements(class: "event").count == 10)
        #expect(doc.texts(class: "note").contains { $0.contains("10 of 50") })
        #expect(plotError { try Gantt.svg(timelineJSON: Samples.timeline(), file: "t.json", title: nil, maxEvents: 0) } != nil)
    }

    @Test("a bare event array and lanes without names are accepted")
    func bareArray() throws {
        let json = #"[{"name":"a","cat":"gemm","ph":"X","pid":1,"tid":7,"ts":0,"dur":3},{"name":"b","ph":"X","pid":1,"tid":"io","ts":1,"dur":0}]"#
        let doc = SVGDocument(try Gantt.svg(timelineJSON: json, file: "bare.json", title: "Bare"))
        #expect(doc.elements(class: "event").count == 2)
        #expect(doc.texts(class: "lane-label") == ["tid 7", "tid io"])
    }

    @Test("malformed timelines are refused with the file name")
    func errors() {
        for json in ["{", #"{"events":[]}"#, #"{"traceEvents":[{"name":"x","ph":"X","ts":"soon","dur":1}]}"#,
                     #"{"traceEvents":[{"name":"x","ph":"X","ts":1,"dur":-1}]}"#, #"{"traceEvents":[]}"#, "42"] {
            let error = plotError { try Gantt.svg(timelineJSON: json, file: "bad.json", title: nil) }
            #expect(error != nil, "\(json)")
            #expect(error?.description.hasPrefix("bad.json") == true, "\(json)")
        }
    }

    @Test("the same input gives byte-identical output")
    func deterministic() throws {
        let a = try Gantt.svg(timelineJSON: Samples.timeline(), file: "t.json", title: nil)
        let b = try Gantt.svg(timelineJSON: Samples.timeline(), file: "t.json", title: nil)
        #expect(a == b)
    }
}

@Suite("Shared pieces")
struct SharedTests {
    @Test("text escaping covers &, <, >, quotes and control characters")
    func escape() {
        #expect(SVG.escape(#"a&b<c>d"e'f"#) == "a&amp;b&lt;c&gt;d&quot;e&apos;f")
        #expect(SVG.escape("x\u{1}y\nz") == "x\u{FFFD}y z")
        #expect(SVG.escape("µs ×") == "µs ×")
    }

    @Test("linear ticks use 1-2-5 steps and cover the data")
    func linearTicks() {
        let axis = Axis.linear(min: 0.1, max: 0.9, unit: .none)
        #expect(axis.ticks.count == 6 && axis.lo == 0 && axis.hi == 1)
        #expect(axis.labels == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        let time = Axis.linear(min: 1.7e-4, max: 3.47e-3, unit: .seconds)
        #expect(time.labels.contains("0.5 ms") && time.labels.contains("3.5 ms"))
        let micro = Axis.linear(min: 0, max: 4.5e-4, unit: .seconds, includeZero: true)
        #expect(micro.labels.first == "0" && micro.labels.contains("100 µs"))
        for raw in [0.013, 0.3, 7.0, 45.0, 1e6] {
            let step = Axis.niceStep(raw)
            let mantissa = step / pow(10, floor(log10(step)))
            #expect([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 })
        }
        let flat = Axis.linear(min: 5, max: 5, unit: .none)
        #expect(flat.lo < 5 && flat.hi > 5)
    }

    @Test("log ticks: decades, 1-2-5 on short ranges, powers of two for counts that are powers of two")
    func logTicks() {
        let decades = Axis.logarithmic(min: 1e-6, max: 1e-1, unit: .seconds)
        #expect(decades.labels == ["1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms"])
        let short = Axis.logarithmic(min: 1e3, max: 4e3, unit: Unit(symbol: "B", name: "bytes", kind: .si, minExponent: 0))
        #expect(short.labels.contains("1 kB") && short.labels.contains("2 kB"))
        let binary = Axis.logarithmic(min: 1024, max: 4096, unit: .none, values: [1024, 2048, 4096])
        #expect(binary.labels == ["1024", "2048", "4096"])
    }

    @Test("units follow column-name suffixes")
    func units() {
        #expect(Unit.forColumn("latency_s").format(2.734e-3) == "2.73 ms")
        #expect(Unit.forColumn("bubble_p99_s").symbol == "s")
        #expect(Unit.forColumn("peak_memory_bytes").format(330041057.28) == "330 MB")
        #expect(Unit.forColumn("tokens_per_s").format(3005244.9) == "3.01M tokens/s")
        #expect(Unit.forColumn("model_flops").format(5.689e11) == "569 GFLOP")
        #expect(Unit.forColumn("bubble_fraction").format(0.10987) == "0.11")
        #expect(Unit.forColumn("mfu").kind == .plain)
        #expect(Unit.forColumn("workload.seq_len").format(4096) == "4096")
        #expect(Unit.forColumn("kernel_us").format(250) == "250 µs")
        #expect(Unit.forColumn("hardware.bandwidth_bytes_per_s").format(3.35e12) == "3.35 TB/s")
    }

    @Test("numbers print without locale or float noise")
    func formatting() {
        #expect(Fmt.fixed(2.5, 2) == "2.50")
        #expect(Fmt.fixed(-0.001, 2) == "0.00")
        #expect(Fmt.coord(12.3456) == "12.35")
        #expect(Fmt.coord(-0.0001) == "0")
        #expect(Fmt.significant(0.30000000000000004, 4) == "0.3")
        #expect(Fmt.significant(1234567, 3) == "1230000")
        #expect(Fmt.significant(9.9996, 4) == "10")
        #expect(Fmt.significant(1e-14, 2) == "1e-14")
    }

    @Test("natural order for text categories")
    func naturalOrder() {
        #expect(Categories.sorted(["run 10", "run 2", "run 1", "b", "a"]) == ["a", "b", "run 1", "run 2", "run 10"])
        #expect(Categories.sorted(["4096", "1024", "2048", "1024"]) == ["1024", "2048", "4096"])
    }
}
