import Foundation

/// Per-layer busy and idle time of each lane, from layers.csv: a group of bars per layer, one bar per
/// lane, busy time solid and idle time hatched on top.
public enum StackedBars {
    public static let width = 800.0
    public static let height = 500.0

    /// - Parameters:
    ///   - scenario: the `scenario` value to draw; nil is fine when the file holds one scenario, and an
    ///     error listing the scenarios otherwise. When the scenario was run with several engines, each
    ///     engine's lanes get their own bars ("event gpu0.ssm").
    /// Columns used: `layer`, `lane`, `busy_s`, `idle_s` (required), `scenario`, `engine`, `block` (optional).
    public static func svg(_ data: CSVData, scenario: String? = nil, title: String? = nil) throws -> String {
        let file = data.file
        _ = try data.columnIndex("layer")
        let laneIndex = try data.columnIndex("lane")
        let busy = try data.finiteNumbers("busy_s")
        let idle = try data.finiteNumbers("idle_s")
        let layerNumbers = try data.finiteNumbers("layer")
        let scenarioIndex = data.header.firstIndex(of: "scenario")
        let engineIndex = data.header.firstIndex(of: "engine")
        let blockIndex = data.header.firstIndex(of: "block")

        // Pick the scenario.
        var selected = Array(data.rows.indices)
        var chosen: String? = nil
        if let scenarioIndex {
            let scenarios = Categories.firstAppearance(data.rows.map { $0[scenarioIndex] })
            if let scenario {
                guard scenarios.contains(scenario) else {
                    throw PlotError.unknownValue(file: file, column: "scenario", value: scenario, available: scenarios)
                }
                chosen = scenario
            } else if scenarios.count > 1 {
                throw PlotError.ambiguousValue(file: file, column: "scenario", available: scenarios)
            } else {
                chosen = scenarios.first
            }
            selected = selected.filter { data.rows[$0][scenarioIndex] == chosen }
        } else if scenario != nil {
            throw PlotError.unknownColumn(file: file, column: "scenario", available: data.header)
        }
        guard !selected.isEmpty else { throw PlotError.noData(file: file, reason: "the file has a header but no data rows") }

        let engines = engineIndex.map { index in Categories.firstAppearance(selected.map { data.rows[$0][index] }) } ?? []
        func laneKey(_ row: Int) -> String {
            let lane = data.rows[row][laneIndex]
            if engines.count > 1, let engineIndex { return "\(data.rows[row][engineIndex]) \(lane)" }
            return lane
        }

        // Sum busy and idle per (layer, lane).
        var lanes: [String] = []
        var laneNumber: [String: Int] = [:]
        var layers: [Double] = []
        var blocks: [Double: String] = [:]
        var totals: [Double: [Int: (busy: Double, idle: Double, rows: Int)]] = [:]
        var skipped = 0
        for row in selected {
            guard let layer = layerNumbers[row], let b = busy[row] else { skipped += 1; continue }
            let key = laneKey(row)
            if laneNumber[key] == nil { laneNumber[key] = lanes.count; lanes.append(key) }
            let lane = laneNumber[key]!
            if totals[layer] == nil { layers.append(layer) }
            var entry = totals[layer]?[lane] ?? (0, 0, 0)
            entry.busy += max(0, b)
            entry.idle += max(0, idle[row] ?? 0)
            entry.rows += 1
            totals[layer, default: [:]][lane] = entry
            if let blockIndex, blocks[layer] == nil { blocks[layer] = data.rows[row][blockIndex] }
        }
        guard !layers.isEmpty else {
            throw PlotError.noData(file: file, reason: "no row has a numeric layer and a finite busy_s")
        }
        layers.sort()
        let maxTotal = totals.values.flatMap { $0.values.map { $0.busy + $0.idle } }.max() ?? 0
        let yAxis = Axis.linear(min: 0, max: maxTotal > 0 ? maxTotal : 1e-6, unit: .seconds, includeZero: true)

        var notes: [String] = []
        let summed = totals.values.reduce(0) { $0 + $1.values.filter { $0.rows > 1 }.count }
        if summed > 0 { notes.append("\(summed) bar\(summed == 1 ? "" : "s") sum several rows of the same layer and lane") }
        if skipped > 0 { notes.append("\(skipped) row\(skipped == 1 ? "" : "s") without a numeric layer or a finite busy_s not drawn") }

        // Colours, hatching and the legend.
        let colours = Palette.categories(lanes.count)
        var svg = SVG(width: width, height: height)
        var entries: [LegendEntry] = []
        for (index, lane) in lanes.enumerated() {
            let colour = colours[index]
            let pale = colour.mix(.white, 0.72).hex
            svg.addDef("<pattern id=\"idle-\(index)\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
                + "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"\(pale)\"/>"
                + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"\(colour.hex)\" stroke-width=\"1.6\"/></pattern>")
            entries.append(LegendEntry(label: lane, swatch: .box(fill: colour.hex, stroke: nil)))
        }
        let grey = RGB(hex: 0x777777)
        svg.addDef("<pattern id=\"idle-key\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
            + "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"\(grey.mix(.white, 0.72).hex)\"/>"
            + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"\(grey.hex)\" stroke-width=\"1.6\"/></pattern>")
        entries.append(LegendEntry(label: "busy (solid)", swatch: .box(fill: grey.hex, stroke: nil)))
        entries.append(LegendEntry(label: "idle (hatched)", swatch: .box(fill: "url(#idle-key)", stroke: grey.hex)))

        // Layout.
        let legendWidth = Chrome.legendWidth(title: "lane", entries: entries)
        let right = width - 16 - legendWidth - 14
        let left = 16 + 16 + 6 + Chrome.tickLabelWidth(yAxis.labels) + 8
        let layerLabels = layers.map { Fmt.significant($0, 6) }
        let groupWidth = (right - left) / Double(layers.count)
        let xLayout = Chrome.categoryLabels(layerLabels, spacing: groupWidth)
        let bottom = height - 30 - xLayout.height - Chrome.notesHeight(notes)
        let area = PlotArea(left: left, top: 48, right: right, bottom: bottom)

        let heading = title ?? "Busy and idle time per layer" + (chosen.map { ": \($0)" } ?? "")
            + (engines.count == 1 ? " (\(engines[0]))" : "")
        Chrome.title(&svg, heading, width: width)
        Chrome.yAxis(&svg, axis: yAxis, area: area, title: Unit.seconds.axisTitle("time per layer"), titleX: 22)

        let fill = layers.count > 60 ? 0.92 : 0.8
        let barWidth = groupWidth * fill / Double(lanes.count)
        func py(_ v: Double) -> Double { area.bottom - yAxis.fraction(v) * area.height }
        svg.open("g", [("class", "bars")])
        for (layerPosition, layer) in layers.enumerated() {
            let groupLeft = area.left + Double(layerPosition) * groupWidth + groupWidth * (1 - fill) / 2
            let block = blocks[layer].map { $0.isEmpty ? "" : " (\($0))" } ?? ""
            for lane in lanes.indices {
                guard let entry = totals[layer]?[lane] else { continue }
                let bx = groupLeft + Double(lane) * barWidth
                let tip = "layer \(layerLabels[layerPosition])\(block), \(lanes[lane]): busy \(Unit.seconds.format(entry.busy, digits: 4)), "
                    + "idle \(Unit.seconds.format(entry.idle, digits: 4))"
                let yBusy = py(entry.busy), yTotal = py(entry.busy + entry.idle)
                svg.rect(x: bx, y: yBusy, w: barWidth, h: area.bottom - yBusy, fill: colours[lane].hex, cls: "busy", title: tip)
                // Hatching needs a few pixels; thinner bars show idle time in the pale tint alone.
                let idleFill = barWidth >= 4 ? "url(#idle-\(lane))" : colours[lane].mix(.white, 0.6).hex
                svg.rect(x: bx, y: yTotal, w: barWidth, h: yBusy - yTotal, fill: idleFill, cls: "idle", title: tip)
            }
        }
        svg.close("g")
        let centers = layers.indices.map { area.left + (Double($0) + 0.5) * groupWidth }
        svg.line(x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: Chrome.axisColour, cls: "axis")
        Chrome.categoryXAxis(&svg, labels: layerLabels, centers: centers, layout: xLayout, area: area, title: "layer")
        Chrome.legend(&svg, x: area.right + 14, y: area.top, width: legendWidth, maxHeight: area.height,
                      title: "lane", entries: entries)
        Chrome.notes(&svg, notes, width: width, height: height)
        return svg.render()
    }
}
