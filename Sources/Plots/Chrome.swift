import Foundation

/// The rectangle data is drawn in.
struct PlotArea: Sendable {
    var left: Double, top: Double, right: Double, bottom: Double
    var width: Double { right - left }
    var height: Double { bottom - top }
}

struct LegendEntry: Sendable {
    enum Swatch: Sendable {
        /// A line with a marker (line plots).
        case line(RGB, shape: Int)
        /// A filled box; `fill` may be a colour or a `url(#pattern)`.
        case box(fill: String, stroke: String?)
    }
    var label: String
    var swatch: Swatch
}

/// Titles, axes, legends and notes shared by the figures.
enum Chrome {
    static let titleSize = 16.0
    static let labelSize = 12.0
    static let tickSize = 11.0
    static let noteSize = 10.0
    static let gridColour = "#e4e4e4"
    static let axisColour = "#555555"
    static let noteColour = "#666666"

    static func title(_ svg: inout SVG, _ text: String, width: Double) {
        let fitted = TextMetrics.fit(text, maxWidth: width - 40, size: titleSize, bold: true)
        svg.text(fitted, x: width / 2, y: 28, size: titleSize, anchor: .middle, bold: true, cls: "title")
    }

    /// Notes under the figure (skipped rows, averaged duplicates), bottom left, one per line.
    static func notes(_ svg: inout SVG, _ lines: [String], width: Double, height: Double) {
        for (index, line) in lines.enumerated() {
            let y = height - 8 - Double(lines.count - 1 - index) * 13
            svg.text(TextMetrics.fit(line, maxWidth: width - 24, size: noteSize), x: 12, y: y,
                     size: noteSize, fill: noteColour, cls: "note")
        }
    }

    static func notesHeight(_ lines: [String]) -> Double { lines.isEmpty ? 0 : Double(lines.count) * 13 + 2 }

    /// The widest tick label of a vertical axis.
    static func tickLabelWidth(_ labels: [String]) -> Double {
        labels.map { TextMetrics.width($0, size: tickSize) }.max() ?? 0
    }

    /// A numeric horizontal axis at the bottom of `area`, with grid lines, ticks, labels (thinned when
    /// they would overlap) and a title.
    static func xAxis(_ svg: inout SVG, axis: Axis, area: PlotArea, title: String, grid: Bool = true) {
        var lastRight = -Double.infinity
        for (tick, label) in zip(axis.ticks, axis.labels) {
            let x = area.left + axis.fraction(tick) * area.width
            if grid { svg.line(x1: x, y1: area.top, x2: x, y2: area.bottom, stroke: gridColour, cls: "grid") }
            svg.line(x1: x, y1: area.bottom, x2: x, y2: area.bottom + 5, stroke: axisColour)
            let w = TextMetrics.width(label, size: tickSize)
            if x - w / 2 >= lastRight + 8 {
                svg.text(label, x: x, y: area.bottom + 18, size: tickSize, anchor: .middle, cls: "tick")
                lastRight = x + w / 2
            }
        }
        svg.line(x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: axisColour, cls: "axis")
        svg.text(TextMetrics.fit(title, maxWidth: area.width, size: labelSize), x: (area.left + area.right) / 2,
                 y: area.bottom + 38, size: labelSize, anchor: .middle, cls: "axis-title")
    }

    /// A numeric vertical axis at the left of `area`; `titleX` is where the rotated title goes.
    static func yAxis(_ svg: inout SVG, axis: Axis, area: PlotArea, title: String, titleX: Double, grid: Bool = true) {
        var lastTop = Double.infinity
        for (tick, label) in zip(axis.ticks, axis.labels) {
            let y = area.bottom - axis.fraction(tick) * area.height
            if grid { svg.line(x1: area.left, y1: y, x2: area.right, y2: y, stroke: gridColour, cls: "grid") }
            svg.line(x1: area.left - 5, y1: y, x2: area.left, y2: y, stroke: axisColour)
            if y + 6 <= lastTop - 4 {
                svg.text(label, x: area.left - 8, y: y + 4, size: tickSize, anchor: .end, cls: "tick")
                lastTop = y - 6
            }
        }
        svg.line(x1: area.left, y1: area.top, x2: area.left, y2: area.bottom, stroke: axisColour, cls: "axis")
        let cy = (area.top + area.bottom) / 2
        svg.text(TextMetrics.fit(title, maxWidth: area.height, size: labelSize), x: titleX, y: cy,
                 size: labelSize, anchor: .middle, rotate: -90, cls: "axis-title")
    }

    /// How category labels along a horizontal axis are laid out.
    struct CategoryLabels {
        var every: Int
        var rotated: Bool
        /// Height the labels take below the axis line.
        var height: Double
        var maxLabelWidth: Double
    }

    static let rotation = 35.0

    static func categoryLabels(_ labels: [String], spacing: Double) -> CategoryLabels {
        let widest = labels.map { TextMetrics.width($0, size: tickSize) }.max() ?? 0
        if widest + 8 <= spacing { return CategoryLabels(every: 1, rotated: false, height: 22, maxLabelWidth: widest) }
        if widest <= 48 {
            return CategoryLabels(every: every(spacing: spacing, needed: widest + 8), rotated: false, height: 22, maxLabelWidth: widest)
        }
        let capped = min(widest, 130)
        let angle = rotation * Double.pi / 180
        return CategoryLabels(every: every(spacing: spacing, needed: 15), rotated: true,
                              height: 14 + capped * sin(angle), maxLabelWidth: capped)
    }

    /// The smallest 1-2-5 stride k with k × spacing >= needed.
    static func every(spacing: Double, needed: Double) -> Int {
        guard spacing > 0 else { return 1 }
        var k = 1
        let steps = [1, 2, 5]
        var magnitude = 1
        while true {
            for s in steps {
                k = s * magnitude
                if Double(k) * spacing >= needed { return k }
            }
            magnitude *= 10
            if magnitude > 1_000_000 { return k }
        }
    }

    /// Category tick labels under `area` at the given x centres.
    static func categoryXAxis(_ svg: inout SVG, labels: [String], centers: [Double], layout: CategoryLabels,
                              area: PlotArea, title: String, tickMarks: Bool = true) {
        for (index, (label, x)) in zip(labels, centers).enumerated() where index % layout.every == 0 {
            if tickMarks { svg.line(x1: x, y1: area.bottom, x2: x, y2: area.bottom + 4, stroke: axisColour) }
            if layout.rotated {
                let text = TextMetrics.fit(label, maxWidth: layout.maxLabelWidth, size: tickSize)
                svg.text(text, x: x + 3, y: area.bottom + 14, size: tickSize, anchor: .end, rotate: -rotation, cls: "tick")
            } else {
                svg.text(label, x: x, y: area.bottom + 17, size: tickSize, anchor: .middle, cls: "tick")
            }
        }
        svg.text(TextMetrics.fit(title, maxWidth: area.width, size: labelSize), x: (area.left + area.right) / 2,
                 y: area.bottom + layout.height + 16, size: labelSize, anchor: .middle, cls: "axis-title")
    }

    // MARK: Legends

    static let legendRow = 18.0
    static let legendMaxWidth = 230.0

    static func legendWidth(title: String?, entries: [LegendEntry]) -> Double {
        var widest = entries.map { 30 + TextMetrics.width($0.label, size: labelSize) }.max() ?? 0
        if let title { widest = max(widest, TextMetrics.width(title, size: labelSize, bold: true)) }
        return min(legendMaxWidth, widest + 16)
    }

    /// A vertical legend with its top-left corner at (x, y), at most `maxHeight` tall (the entries that
    /// do not fit are summarised as "… and N more").
    static func legend(_ svg: inout SVG, x: Double, y: Double, width: Double, maxHeight: Double,
                       title: String?, entries: [LegendEntry]) {
        let titleHeight = title == nil ? 0 : legendRow + 2
        let capacity = max(1, Int((maxHeight - titleHeight - 10) / legendRow))
        var shown = entries
        var hidden = 0
        if entries.count > capacity {
            shown = Array(entries.prefix(capacity - 1))
            hidden = entries.count - shown.count
        }
        let rows = Double(shown.count + (hidden > 0 ? 1 : 0))
        let height = titleHeight + rows * legendRow + 10
        svg.open("g", [("class", "legend")])
        svg.rect(x: x, y: y, w: width, h: height, fill: "#ffffff", stroke: "#cccccc", opacity: 0.92)
        var cy = y + 6
        if let title {
            svg.text(TextMetrics.fit(title, maxWidth: width - 12, size: labelSize, bold: true),
                     x: x + 8, y: cy + 12, size: labelSize, bold: true, cls: "legend-title")
            cy += titleHeight
        }
        for entry in shown {
            swatch(&svg, entry.swatch, x: x + 8, midY: cy + legendRow / 2)
            svg.text(TextMetrics.fit(entry.label, maxWidth: width - 40, size: labelSize), x: x + 32, y: cy + legendRow / 2 + 4,
                     size: labelSize, cls: "legend-entry")
            cy += legendRow
        }
        if hidden > 0 {
            svg.text("… and \(hidden) more", x: x + 32, y: cy + legendRow / 2 + 4, size: labelSize, fill: noteColour)
        }
        svg.close("g")
    }

    static func swatch(_ svg: inout SVG, _ swatch: LegendEntry.Swatch, x: Double, midY: Double) {
        switch swatch {
        case let .line(colour, shape):
            svg.line(x1: x, y1: midY, x2: x + 18, y2: midY, stroke: colour.hex, width: 2)
            svg.marker(shape: shape, x: x + 9, y: midY, r: 3.5, fill: colour.hex, cls: "legend-marker", title: nil)
        case let .box(fill, stroke):
            svg.rect(x: x + 1, y: midY - 6, w: 16, h: 12, fill: fill, stroke: stroke, strokeWidth: stroke == nil ? nil : 1)
        }
    }

    /// A horizontal legend that wraps onto several rows within `width`; returns the rows' item origins.
    static func flowLayout(_ entries: [LegendEntry], width: Double) -> [(x: Double, row: Int)] {
        var positions: [(x: Double, row: Int)] = []
        var x = 0.0, row = 0
        for entry in entries {
            let w = 30 + TextMetrics.width(entry.label, size: labelSize) + 18
            if x > 0, x + w > width { x = 0; row += 1 }
            positions.append((x, row))
            x += w
        }
        return positions
    }

    static func flowLegend(_ svg: inout SVG, entries: [LegendEntry], x: Double, y: Double, width: Double) {
        svg.open("g", [("class", "legend")])
        for (entry, position) in zip(entries, flowLayout(entries, width: width)) {
            let ex = x + position.x, ey = y + Double(position.row) * legendRow
            swatch(&svg, entry.swatch, x: ex, midY: ey + legendRow / 2)
            svg.text(entry.label, x: ex + 24, y: ey + legendRow / 2 + 4, size: labelSize, cls: "legend-entry")
        }
        svg.close("g")
    }

    static func flowLegendHeight(_ entries: [LegendEntry], width: Double) -> Double {
        guard let last = flowLayout(entries, width: width).last else { return 0 }
        return Double(last.row + 1) * legendRow
    }
}

/// Distinct values of a text column, in a stable order.
enum Categories {
    /// Distinct non-empty values: numerically sorted when they are all numbers, else sorted as text.
    static func sorted(_ values: [String]) -> [String] {
        var seen = Set<String>()
        var distinct: [String] = []
        for value in values where !value.isEmpty && seen.insert(value).inserted { distinct.append(value) }
        let numbers = distinct.map { CSVData.number($0) ?? .nan }
        if numbers.allSatisfy(\.isFinite) {
            return zip(distinct, numbers).sorted { a, b in
                a.1 != b.1 ? a.1 < b.1 : a.0 < b.0
            }.map(\.0)
        }
        return distinct.sorted(by: naturalLess)
    }

    /// Text order with digit runs compared as numbers ("run 2" before "run 10"); ties broken bytewise.
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var i = 0, j = 0
        func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 48 && s.value <= 57 }
        while i < x.count, j < y.count {
            if isDigit(x[i]), isDigit(y[j]) {
                var i2 = i, j2 = j
                while i2 < x.count, isDigit(x[i2]) { i2 += 1 }
                while j2 < y.count, isDigit(y[j2]) { j2 += 1 }
                // Compare the runs without leading zeros: longer is larger, then digit by digit.
                var p = i, q = j
                while p < i2 - 1, x[p] == "0" { p += 1 }
                while q < j2 - 1, y[q] == "0" { q += 1 }
                if i2 - p != j2 - q { return i2 - p < j2 - q }
                while p < i2 {
                    if x[p] != y[q] { return x[p].value < y[q].value }
                    p += 1; q += 1
                }
                i = i2; j = j2
            } else {
                if x[i] != y[j] { return x[i].value < y[j].value }
                i += 1; j += 1
            }
        }
        if x.count - i != y.count - j { return x.count - i < y.count - j }
        return a < b
    }

    /// Distinct values in the order they first appear.
    static func firstAppearance(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    /// Whether every value is a number.
    static func numeric(_ values: [String]) -> Bool {
        !values.isEmpty && values.allSatisfy { CSVData.number($0) != nil }
    }

    /// How a category value is printed: numbers tidied and given the column's unit ("0.3", "2 TB/s").
    static func label(_ value: String, unit: Unit) -> String {
        if value.isEmpty { return "(empty)" }
        guard let number = CSVData.number(value), number.isFinite else { return value }
        if unit.kind == .count, number == number.rounded(), abs(number) < 1e7 { return String(Int64(number)) }
        return unit.format(number, digits: 4)
    }
}
