import Foundation

/// A metric over one swept axis: one line with markers per distinct value of a series column.
public enum LinePlot {
    public static let width = 800.0
    public static let height = 500.0

    struct Point { var x: Double; var y: Double; var row: Int }

    /// - Parameters:
    ///   - x: the swept column for the horizontal axis. Numbers are placed to scale (sorted); a column
    ///     of text (hardware names, engines) becomes evenly spaced categories in sorted order.
    ///   - y: the metric column; empty, `nan` and infinite cells are skipped (and counted in a note).
    ///   - series: optional column whose distinct values each get a line and a legend entry.
    ///   - logX, logY: logarithmic axes (decades); every plotted value must then be > 0.
    /// Several rows with the same x in one series (a sweep with more axes than the figure shows) all
    /// get markers; the line goes through their mean, and a note says so.
    public static func svg(_ data: CSVData, x: String, y: String, series: String? = nil, title: String? = nil,
                           logX: Bool = false, logY: Bool = false) throws -> String {
        let file = data.file
        let xIndex = try data.columnIndex(x)
        _ = try data.columnIndex(y)
        let seriesIndex = try series.map { try data.columnIndex($0) }
        guard !data.rows.isEmpty else { throw PlotError.noData(file: file, reason: "the file has a header but no data rows") }
        let xUnit = Unit.forColumn(x), yUnit = Unit.forColumn(y)
        let seriesUnit = series.map(Unit.forColumn) ?? .none

        // The x column: numbers, or (when no cell is a number) text categories.
        let xCells = data.rows.map { $0[xIndex].trimmingCharacters(in: .whitespaces) }
        let filled = xCells.indices.filter { !xCells[$0].isEmpty }
        let numericRows = filled.filter { CSVData.number(xCells[$0]) != nil }
        let categorical = numericRows.isEmpty && !filled.isEmpty
        if !categorical, let bad = filled.first(where: { CSVData.number(xCells[$0]) == nil }) {
            throw PlotError.notNumeric(file: file, column: x, row: bad + 1, line: data.line(ofRow: bad), value: data.rows[bad][xIndex])
        }
        if categorical, logX {
            throw PlotError.invalidArgument(
                name: "logX", value: "true",
                allowed: "a logarithmic x axis needs numbers, but column \"\(x)\" in \(file) holds text such as \"\(xCells[filled[0]])\"")
        }
        let categories = categorical ? Categories.sorted(xCells) : []
        let categoryIndex = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, Double($0)) })

        let ys = try data.finiteNumbers(y)
        let seriesCells = seriesIndex.map { index in data.rows.map { $0[index] } } ?? Array(repeating: "", count: data.rows.count)
        var seriesKeys = Categories.sorted(seriesCells)
        if seriesCells.contains("") { seriesKeys.append("") }
        var points: [String: [Point]] = [:]
        var skipped = 0
        for row in data.rows.indices {
            let px: Double?
            if categorical {
                px = categoryIndex[xCells[row]]
            } else {
                px = CSVData.number(xCells[row]).flatMap { $0.isFinite ? $0 : nil }
            }
            guard let px, let py = ys[row] else { skipped += 1; continue }
            if logX, px <= 0 {
                throw PlotError.nonPositiveOnLogAxis(file: file, column: x, row: row + 1, line: data.line(ofRow: row), value: px)
            }
            if logY, py <= 0 {
                throw PlotError.nonPositiveOnLogAxis(file: file, column: y, row: row + 1, line: data.line(ofRow: row), value: py)
            }
            points[seriesCells[row], default: []].append(Point(x: px, y: py, row: row))
        }
        seriesKeys = seriesKeys.filter { points[$0] != nil }
        let all = points.values.flatMap { $0 }
        guard !all.isEmpty else {
            throw PlotError.noData(file: file, reason: "no row has both a value of \"\(x)\" and a finite value of \"\(y)\"")
        }

        // Axes.
        let xs = all.map(\.x), yValues = all.map(\.y)
        let xAxis: Axis? = categorical ? nil
            : logX ? Axis.logarithmic(min: xs.min()!, max: xs.max()!, unit: xUnit, values: xs)
            : Axis.linear(min: xs.min()!, max: xs.max()!, unit: xUnit)
        let yAxis = logY ? Axis.logarithmic(min: yValues.min()!, max: yValues.max()!, unit: yUnit)
            : Axis.linear(min: yValues.min()!, max: yValues.max()!, unit: yUnit)

        // Series styles and the legend.
        let numericSeries = Categories.numeric(seriesKeys)
        let colours = numericSeries && seriesKeys.count > 2 ? Palette.sequential(seriesKeys.count) : Palette.categories(seriesKeys.count)
        let entries = seriesKeys.enumerated().map { index, key in
            LegendEntry(label: Categories.label(key, unit: seriesUnit), swatch: .line(colours[index], shape: index % 4))
        }

        // Notes.
        var notes: [String] = []
        if skipped > 0 {
            notes.append("\(skipped) row\(skipped == 1 ? "" : "s") without a value of \(x) or a finite \(y) not drawn")
        }
        var sharedX = 0
        var lines: [String: [(Double, Double)]] = [:]
        for key in seriesKeys {
            let sorted = points[key]!.sorted { $0.x != $1.x ? $0.x < $1.x : $0.row < $1.row }
            var means: [(Double, Double)] = []
            var start = 0
            while start < sorted.count {
                var end = start
                var sum = 0.0
                while end < sorted.count, sorted[end].x == sorted[start].x { sum += sorted[end].y; end += 1 }
                if end - start > 1 { sharedX += 1 }
                means.append((sorted[start].x, sum / Double(end - start)))
                start = end
            }
            lines[key] = means
        }
        if sharedX > 0 {
            notes.append("several rows share an x value in \(sharedX) place\(sharedX == 1 ? "" : "s") (other swept columns); "
                + "markers show every row, lines their mean")
        }

        // Layout.
        let top = 48.0
        let legendWidth = series == nil ? 0 : Chrome.legendWidth(title: series, entries: entries)
        let right = width - 16 - (series == nil ? 0 : legendWidth + 14)
        let yLabelWidth = Chrome.tickLabelWidth(yAxis.labels)
        let left = 16 + 16 + 6 + yLabelWidth + 8
        var bottom = height - 50 - Chrome.notesHeight(notes)
        var categoryLayout: Chrome.CategoryLabels?
        let categoryLabels = categories.map { Categories.label($0, unit: xUnit) }
        if categorical {
            let layout = Chrome.categoryLabels(categoryLabels, spacing: (right - left) / Double(categories.count))
            bottom = height - 30 - layout.height - Chrome.notesHeight(notes)
            categoryLayout = layout
        }
        let area = PlotArea(left: left, top: top, right: right, bottom: bottom)
        func px(_ value: Double) -> Double {
            if let xAxis { return area.left + xAxis.fraction(value) * area.width }
            return area.left + (value + 0.5) / Double(categories.count) * area.width
        }
        func py(_ value: Double) -> Double { area.bottom - yAxis.fraction(value) * area.height }

        var svg = SVG(width: width, height: height)
        Chrome.title(&svg, title ?? defaultTitle(x: x, y: y, series: series), width: width)
        Chrome.yAxis(&svg, axis: yAxis, area: area, title: yUnit.axisTitle(y), titleX: 22)
        if let xAxis {
            Chrome.xAxis(&svg, axis: xAxis, area: area, title: xUnit.axisTitle(x))
        } else if let categoryLayout {
            let centers = categories.indices.map { px(Double($0)) }
            for center in centers {
                svg.line(x1: center, y1: area.top, x2: center, y2: area.bottom, stroke: Chrome.gridColour, cls: "grid")
            }
            svg.line(x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: Chrome.axisColour, cls: "axis")
            Chrome.categoryXAxis(&svg, labels: categoryLabels, centers: centers, layout: categoryLayout,
                                 area: area, title: xUnit.axisTitle(x))
        }

        let radius = all.count > 400 ? 2.0 : all.count > 120 ? 2.8 : 3.6
        for (index, key) in seriesKeys.enumerated() {
            let colour = colours[index].hex
            let label = series.map { "\($0) = \(Categories.label(key, unit: seriesUnit))" }
            svg.open("g", [("class", "series"), ("data-series", key)])
            let line = lines[key]!
            if line.count > 1 {
                svg.polyline(line.map { (px($0.0), py($0.1)) }, stroke: colour, width: 2, cls: "series-line", title: label)
            }
            for point in points[key]!.sorted(by: { $0.x != $1.x ? $0.x < $1.x : $0.row < $1.row }) {
                let xText = categorical ? categoryLabels[Int(point.x)] : xUnit.format(point.x, digits: 4)
                var tip = "\(x) = \(xText): \(y) = \(yUnit.format(point.y, digits: 4)) (row \(point.row + 1))"
                if let label { tip = label + ", " + tip }
                svg.marker(shape: index % 4, x: px(point.x), y: py(point.y), r: radius, fill: colour, cls: "marker", title: tip)
            }
            svg.close("g")
        }
        if let series {
            Chrome.legend(&svg, x: area.right + 14, y: area.top, width: legendWidth, maxHeight: area.height,
                          title: series, entries: entries)
        }
        Chrome.notes(&svg, notes, width: width, height: height)
        return svg.render()
    }

    static func defaultTitle(x: String, y: String, series: String?) -> String {
        let leaf = { (name: String) in String(name.split(separator: ".").last ?? Substring(name)) }
        var text = "\(leaf(y)) vs \(leaf(x))"
        if let series { text += " by \(leaf(series))" }
        return text
    }
}
