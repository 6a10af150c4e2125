import Foundation

/// A metric over two swept axes: one cell per pair of distinct values, coloured with viridis.
public enum Heatmap {
    public static let width = 800.0
    public static let height = 500.0
    /// Cell values are printed when the grid is at most this many cells each way.
    public static let maxLabelledCells = 12

    /// - Parameters:
    ///   - x, y: columns whose distinct values (sorted: numerically when they are numbers) give the
    ///     columns and rows of the grid; y grows upwards.
    ///   - value: the metric coloured in each cell. Several rows in one cell (a sweep with more axes)
    ///     are averaged, and a note says so; a cell with no finite value is drawn grey.
    public static func svg(_ data: CSVData, x: String, y: String, value: String, title: String? = nil) throws -> String {
        let file = data.file
        let xIndex = try data.columnIndex(x)
        let yIndex = try data.columnIndex(y)
        _ = try data.columnIndex(value)
        guard !data.rows.isEmpty else { throw PlotError.noData(file: file, reason: "the file has a header but no data rows") }
        let values = try data.finiteNumbers(value)
        let xUnit = Unit.forColumn(x), yUnit = Unit.forColumn(y), valueUnit = Unit.forColumn(value)

        let xCells = data.rows.map { $0[xIndex].trimmingCharacters(in: .whitespaces) }
        let yCells = data.rows.map { $0[yIndex].trimmingCharacters(in: .whitespaces) }
        let xs = Categories.sorted(xCells), ys = Categories.sorted(yCells)
        guard !xs.isEmpty, !ys.isEmpty else {
            throw PlotError.noData(file: file, reason: "columns \"\(x)\" and \"\(y)\" must both have non-empty values")
        }
        let xPosition = Dictionary(uniqueKeysWithValues: xs.enumerated().map { ($1, $0) })
        let yPosition = Dictionary(uniqueKeysWithValues: ys.enumerated().map { ($1, $0) })

        var sums = [Double](repeating: 0, count: xs.count * ys.count)
        var counts = [Int](repeating: 0, count: xs.count * ys.count)
        var skipped = 0
        for row in data.rows.indices {
            guard let cx = xPosition[xCells[row]], let cy = yPosition[yCells[row]], let v = values[row] else {
                skipped += 1
                continue
            }
            sums[cy * xs.count + cx] += v
            counts[cy * xs.count + cx] += 1
        }
        let means: [Double?] = zip(sums, counts).map { $1 > 0 ? $0 / Double($1) : nil }
        let present = means.compactMap { $0 }
        guard let low = present.min(), let high = present.max() else {
            throw PlotError.noData(file: file, reason: "no row has values of \"\(x)\" and \"\(y)\" and a finite \"\(value)\"")
        }
        func colourPosition(_ v: Double) -> Double { high == low ? 0.5 : (v - low) / (high - low) }

        // The value's display unit: one prefix for the colour bar and the cells.
        let exponent = valueUnit.exponent(for: max(abs(low), abs(high)))
        func scaled(_ v: Double) -> Double { valueUnit.scaled(v, exponent: exponent) }
        func cellText(_ v: Double) -> String {
            let s = scaled(v)
            let integerDigits = abs(s) >= 1 ? Int(floor(log10(abs(s)))) + 1 : 1
            return Fmt.significant(s, max(3, integerDigits))
        }
        let unitLabel: String
        if valueUnit.symbol.isEmpty {
            let words = [3: "thousands", 6: "millions", 9: "billions", 12: "trillions", 15: "quadrillions", 18: "quintillions"]
            unitLabel = exponent == 0 ? "" : "in " + (words[exponent] ?? "1e\(exponent)")
        } else {
            unitLabel = valueUnit.unitLabel(exponent: exponent)
        }
        let barTitle = unitLabel.isEmpty ? value : "\(value) (\(unitLabel))"

        // Colour bar ticks: 1-2-5 steps inside [low, high].
        let barAxis = Axis.linear(min: low, max: high, unit: valueUnit, target: 6)
        let step = barAxis.ticks.count > 1 ? barAxis.ticks[1] - barAxis.ticks[0] : 1
        let scaledStep = abs(scaled(step))
        let decimals = scaledStep > 0 && scaledStep.isFinite ? min(15, max(0, Int((-log10(scaledStep) - 1e-9).rounded(.up)))) : 0
        let tolerance = (high - low) * 1e-9
        let barTicks = high == low ? [low] : barAxis.ticks.filter { $0 >= low - tolerance && $0 <= high + tolerance }
        let barLabels = barTicks.map { high == low ? cellText($0) : Fmt.trimmed(scaled($0), decimals) }

        // Notes.
        var notes: [String] = []
        let averaged = counts.filter { $0 > 1 }.count
        if averaged > 0 {
            notes.append("\(averaged) cell\(averaged == 1 ? " holds" : "s hold") several rows (other swept columns); the colour is their mean")
        }
        let missing = means.filter { $0 == nil }.count
        if missing > 0 { notes.append("\(missing) grey cell\(missing == 1 ? "" : "s"): no finite value of \(value)") }
        if skipped > 0 { notes.append("\(skipped) row\(skipped == 1 ? "" : "s") without \(x), \(y) or a finite \(value) not drawn") }

        // Layout.
        let xLabels = xs.map { Categories.label($0, unit: xUnit) }
        let yLabels = ys.map { Categories.label($0, unit: yUnit) }
        let yLabelWidth = min(150, Chrome.tickLabelWidth(yLabels))
        let left = 16 + 16 + 8 + yLabelWidth + 8
        let barLabelWidth = Chrome.tickLabelWidth(barLabels)
        let barWidth = 16.0
        let right = width - 14 - 16 - 10 - barLabelWidth - 8 - barWidth - 24
        let top = 48.0
        let xLayout = Chrome.categoryLabels(xLabels, spacing: (right - left) / Double(xs.count))
        let bottom = height - 30 - xLayout.height - Chrome.notesHeight(notes)
        let area = PlotArea(left: left, top: top, right: right, bottom: bottom)
        let cellWidth = area.width / Double(xs.count), cellHeight = area.height / Double(ys.count)

        var svg = SVG(width: width, height: height)
        var gradient = "<linearGradient id=\"viridis\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
        for (index, stop) in Palette.viridisStops.enumerated() {
            gradient += "<stop offset=\"\(Fmt.coord(Double(index) / Double(Palette.viridisStops.count - 1)))\" stop-color=\"\(stop.hex)\"/>"
        }
        svg.addDef(gradient + "</linearGradient>")
        Chrome.title(&svg, title ?? defaultTitle(x: x, y: y, value: value), width: width)

        // Cells.
        let labelled = xs.count <= maxLabelledCells && ys.count <= maxLabelledCells
        var fontSize = 0.0
        if labelled {
            let widest = present.map { TextMetrics.width(cellText($0), size: 1) }.max() ?? 1
            fontSize = min(12, cellHeight * 0.42, (cellWidth - 6) / widest)
            if fontSize < 7 { fontSize = 0 }
        }
        let gap = min(1.5, cellWidth * 0.08, cellHeight * 0.08)
        svg.open("g", [("class", "cells")])
        for cy in ys.indices {
            for cx in xs.indices {
                let rx = area.left + Double(cx) * cellWidth
                let ry = area.bottom - Double(cy + 1) * cellHeight
                let place = "\(x) = \(xLabels[cx]), \(y) = \(yLabels[cy])"
                guard let mean = means[cy * xs.count + cx] else {
                    svg.rect(x: rx + gap / 2, y: ry + gap / 2, w: cellWidth - gap, h: cellHeight - gap, fill: "#eeeeee",
                             cls: "missing-cell", title: "\(place): no data")
                    continue
                }
                let colour = Palette.viridis(colourPosition(mean))
                let n = counts[cy * xs.count + cx]
                let tip = "\(place): \(value) = \(valueUnit.format(mean, digits: 4))" + (n > 1 ? " (mean of \(n) rows)" : "")
                svg.rect(x: rx + gap / 2, y: ry + gap / 2, w: cellWidth - gap, h: cellHeight - gap, fill: colour.hex,
                         cls: "cell", title: tip)
                if fontSize > 0 {
                    svg.text(cellText(mean), x: rx + cellWidth / 2, y: ry + cellHeight / 2 + fontSize * 0.35, size: fontSize,
                             anchor: .middle, fill: colour.luminance > 0.35 ? "#1a1a1a" : "#ffffff", cls: "cell-value")
                }
            }
        }
        svg.close("g")

        // Axes.
        let centersX = xs.indices.map { area.left + (Double($0) + 0.5) * cellWidth }
        Chrome.categoryXAxis(&svg, labels: xLabels, centers: centersX, layout: xLayout, area: area, title: xUnit.axisTitle(x))
        let yEvery = Chrome.every(spacing: cellHeight, needed: 14)
        for (index, label) in yLabels.enumerated() where index % yEvery == 0 {
            let cyPos = area.bottom - (Double(index) + 0.5) * cellHeight
            svg.line(x1: area.left - 4, y1: cyPos, x2: area.left, y2: cyPos, stroke: Chrome.axisColour)
            svg.text(TextMetrics.fit(label, maxWidth: 150, size: Chrome.tickSize), x: area.left - 7, y: cyPos + 4,
                     size: Chrome.tickSize, anchor: .end, cls: "tick")
        }
        svg.text(TextMetrics.fit(yUnit.axisTitle(y), maxWidth: area.height, size: Chrome.labelSize), x: 22,
                 y: (area.top + area.bottom) / 2, size: Chrome.labelSize, anchor: .middle, rotate: -90, cls: "axis-title")

        // Colour bar.
        let barX = area.right + 24
        svg.open("g", [("class", "colorbar")])
        svg.rect(x: barX, y: area.top, w: barWidth, h: area.height, fill: "url(#viridis)", stroke: "#888888", strokeWidth: 0.5)
        for (tick, label) in zip(barTicks, barLabels) {
            let ty = high == low ? (area.top + area.bottom) / 2 : area.bottom - (tick - low) / (high - low) * area.height
            svg.line(x1: barX + barWidth, y1: ty, x2: barX + barWidth + 4, y2: ty, stroke: Chrome.axisColour)
            svg.text(label, x: barX + barWidth + 7, y: ty + 4, size: Chrome.tickSize, cls: "tick")
        }
        let barTitleX = barX + barWidth + 7 + barLabelWidth + 16
        svg.text(TextMetrics.fit(barTitle, maxWidth: area.height, size: Chrome.labelSize), x: barTitleX,
                 y: (area.top + area.bottom) / 2, size: Chrome.labelSize, anchor: .middle, rotate: -90, cls: "colorbar-title")
        svg.close("g")
        Chrome.notes(&svg, notes, width: width, height: height)
        return svg.render()
    }

    static func defaultTitle(x: String, y: String, value: String) -> String {
        let leaf = { (name: String) in String(name.split(separator: ".").last ?? Substring(name)) }
        return "\(leaf(value)) over \(leaf(x)) × \(leaf(y))"
    }
}
