import Foundation

/// A Chrome-trace timeline as a Gantt chart: one row per lane (thread), one rectangle per complete
/// ("ph": "X") event, coloured by its category (the op class).
public enum Gantt {
    public static let width = 800.0

    struct Lane {
        var pid: String, tid: String
        var pidNumber: Double, tidNumber: Double
        var name: String?
        var sortIndex: Double?
    }

    struct Event {
        var name: String
        var category: String
        var lane: Int
        var start: Double
        var duration: Double
        var index: Int
    }

    /// - Parameters:
    ///   - timelineJSON: `{"traceEvents": [...]}` (or a bare array of events). Lanes come from
    ///     `thread_name` metadata events (ordered by `thread_sort_index`, then tid) and from the events'
    ///     (pid, tid); `ts` and `dur` are microseconds.
    ///   - file: names the timeline in errors and the default title.
    ///   - maxEvents: at most this many events are drawn (the earliest); a note says how many were left out.
    /// The figure is 800 wide; its height grows with the number of lanes.
    public static func svg(timelineJSON: String, file: String, title: String? = nil, maxEvents: Int = 20000) throws -> String {
        guard maxEvents > 0 else {
            throw PlotError.invalidArgument(name: "maxEvents", value: "\(maxEvents)", allowed: "it must be at least 1")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(timelineJSON.utf8), options: [.fragmentsAllowed])
        } catch {
            // Foundation's message says nothing the user can act on; say what the file looks like instead.
            let start = timelineJSON.drop { $0.isWhitespace }.first
            let looks = start == "{" || start == "[" ? "JSON that does not parse (cut short, or edited?)" : "not JSON (a CSV?)"
            throw PlotError.malformedTimeline(file: file, reason: "\(looks); gantt reads the timeline.json that `run --engine event` or `measure` writes")
        }
        let rawEvents: [Any]
        if let dictionary = object as? [String: Any] {
            guard let list = dictionary["traceEvents"] as? [Any] else {
                throw PlotError.malformedTimeline(file: file, reason: "expected an object with a \"traceEvents\" array (or a bare array of events)")
            }
            rawEvents = list
        } else if let list = object as? [Any] {
            rawEvents = list
        } else {
            throw PlotError.malformedTimeline(file: file, reason: "expected an object with a \"traceEvents\" array (or a bare array of events)")
        }

        var lanes: [Lane] = []
        var laneIndex: [String: Int] = [:]
        var processNames: [String: String] = [:]
        func lane(_ pid: String, _ tid: String) -> Int {
            let key = pid + "\u{1F}" + tid
            if let index = laneIndex[key] { return index }
            lanes.append(Lane(pid: pid, tid: tid, pidNumber: Double(pid) ?? .infinity, tidNumber: Double(tid) ?? .infinity))
            laneIndex[key] = lanes.count - 1
            return lanes.count - 1
        }

        var events: [Event] = []
        for (index, raw) in rawEvents.enumerated() {
            guard let event = raw as? [String: Any] else {
                throw PlotError.malformedTimeline(file: file, reason: "traceEvents[\(index)] is not an object")
            }
            let phase = event["ph"] as? String ?? ""
            let name = event["name"] as? String ?? ""
            let pid = identifier(event["pid"]), tid = identifier(event["tid"])
            let args = event["args"] as? [String: Any] ?? [:]
            switch phase {
            case "M":
                switch name {
                case "thread_name":
                    if let laneName = args["name"] as? String {
                        let index = lane(pid, tid)
                        lanes[index].name = laneName
                    }
                case "thread_sort_index":
                    if let sort = number(args["sort_index"]), sort.isFinite {
                        let index = lane(pid, tid)
                        lanes[index].sortIndex = sort
                    }
                case "process_name":
                    if let processName = args["name"] as? String { processNames[pid] = processName }
                default: break
                }
            case "X":
                let describe = name.isEmpty ? "traceEvents[\(index)]" : "traceEvents[\(index)] (\"\(name)\")"
                guard let ts = number(event["ts"]), ts.isFinite else {
                    throw PlotError.malformedTimeline(file: file, reason: "\(describe) has no numeric \"ts\" (start, microseconds)")
                }
                guard let dur = number(event["dur"]), dur.isFinite, dur >= 0 else {
                    throw PlotError.malformedTimeline(file: file, reason: "\(describe) needs a \"dur\" >= 0 (microseconds)")
                }
                let category = (event["cat"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "(none)"
                events.append(Event(name: name, category: category, lane: lane(pid, tid), start: ts, duration: dur, index: index))
            default:
                break
            }
        }
        guard !events.isEmpty else {
            throw PlotError.noData(file: file, reason: "the trace has no complete events (\"ph\": \"X\")")
        }

        // Keep the earliest maxEvents.
        events.sort { a, b in
            if a.start != b.start { return a.start < b.start }
            if a.lane != b.lane { return a.lane < b.lane }
            return a.index < b.index
        }
        let total = events.count
        if events.count > maxEvents { events = Array(events.prefix(maxEvents)) }

        // Lane order: pid, then thread_sort_index, then tid.
        let order = lanes.indices.sorted { a, b in
            let la = lanes[a], lb = lanes[b]
            if la.pidNumber != lb.pidNumber { return la.pidNumber < lb.pidNumber }
            if la.pid != lb.pid { return la.pid < lb.pid }
            let sa = la.sortIndex ?? la.tidNumber, sb = lb.sortIndex ?? lb.tidNumber
            if sa != sb { return sa < sb }
            if la.tidNumber != lb.tidNumber { return la.tidNumber < lb.tidNumber }
            return la.tid < lb.tid
        }
        var row = [Int](repeating: 0, count: lanes.count)
        for (position, index) in order.enumerated() { row[index] = position }
        let manyProcesses = Set(lanes.map(\.pid)).count > 1
        let laneLabels: [String] = order.map { index in
            let lane = lanes[index]
            let label = lane.name ?? "tid \(lane.tid)"
            return manyProcesses ? "\(processNames[lane.pid] ?? "pid \(lane.pid)"): \(label)" : label
        }

        // Categories and colours: the simulator's op classes keep fixed colours.
        let categories = Set(events.map(\.category)).sorted()
        var colours: [String: RGB] = [:]
        let spare = [3, 5, 7, 2, 0, 1, 4, 6, 8, 9].map { Palette.categorical[$0] }
        var nextSpare = 0
        for category in categories {
            if let fixed = Palette.opClasses[category] {
                colours[category] = fixed
            } else {
                colours[category] = spare[nextSpare % spare.count]
                nextSpare += 1
            }
        }
        let entries = categories.map { LegendEntry(label: $0, swatch: .box(fill: colours[$0]!.hex, stroke: nil)) }

        // Time axis, from the first event.
        let t0 = events.map(\.start).min()!
        let t1 = events.map { $0.start + $0.duration }.max()!
        let span = (t1 - t0) * 1e-6
        guard span.isFinite else {
            throw PlotError.malformedTimeline(file: file, reason: "the events span more time than can be drawn (ts + dur beyond 1e308 µs)")
        }
        let axis = Axis.linear(min: 0, max: span > 0 ? span : 1e-6, unit: .seconds, includeZero: true)

        var notes: [String] = []
        if total > events.count {
            notes.append("showing the first \(events.count) of \(total) events (maxEvents = \(maxEvents))")
        }
        if t0 != 0 { notes.append("time measured from the first event (ts = \(Fmt.significant(t0, 9)) µs)") }

        // Layout: rows as tall as fits a 500-high figure, within 14...90 px; the figure grows past 500 when needed.
        let labelWidth = min(200, Chrome.tickLabelWidth(laneLabels))
        let left = 16 + labelWidth + 10
        let right = width - 20
        let top = 48.0
        let legendHeight = Chrome.flowLegendHeight(entries, width: right - left)
        let below = 44 + 10 + legendHeight + 8 + Chrome.notesHeight(notes)
        let rowHeight = min(90, max(14, (500 - top - below) / Double(lanes.count)))
        let height = (top + rowHeight * Double(lanes.count) + below).rounded(.up)
        let area = PlotArea(left: left, top: top, right: right, bottom: top + rowHeight * Double(lanes.count))

        var svg = SVG(width: width, height: height)
        Chrome.title(&svg, title ?? "Timeline: \(file)", width: width)
        for position in laneLabels.indices {
            let y = area.top + Double(position) * rowHeight
            if position % 2 == 1 { svg.rect(x: area.left, y: y, w: area.width, h: rowHeight, fill: "#f5f5f5", cls: "lane-band") }
            svg.text(TextMetrics.fit(laneLabels[position], maxWidth: 200, size: Chrome.tickSize), x: area.left - 8,
                     y: y + rowHeight / 2 + 4, size: Chrome.tickSize, anchor: .end, cls: "lane-label")
        }
        Chrome.xAxis(&svg, axis: axis, area: area, title: "time (from the first event)")

        let inset = min(4, rowHeight * 0.12)
        let scale = area.width / (axis.hi - axis.lo)
        svg.open("g", [("class", "events")])
        for event in events {
            let x = area.left + ((event.start - t0) * 1e-6 - axis.lo) * scale
            let w = max(0.6, event.duration * 1e-6 * scale)
            let y = area.top + Double(row[event.lane]) * rowHeight + inset
            let h = rowHeight - 2 * inset
            let colour = colours[event.category]!
            let tip = "\(event.name) [\(event.category)] on \(laneLabels[row[event.lane]]): start "
                + "\(Unit.seconds.format((event.start - t0) * 1e-6, digits: 4)), duration \(Unit.seconds.format(event.duration * 1e-6, digits: 4))"
            svg.rect(x: x, y: y, w: w, h: h, fill: colour.hex, stroke: w >= 4 ? "#ffffff" : nil,
                     strokeWidth: w >= 4 ? 0.6 : nil, cls: "event", title: tip)
            let labelSize = 10.0
            if h >= 14, !event.name.isEmpty, TextMetrics.width(event.name, size: labelSize) + 8 <= w {
                svg.text(event.name, x: x + w / 2, y: y + h / 2 + 3.5, size: labelSize, anchor: .middle,
                         fill: colour.luminance > 0.35 ? "#1a1a1a" : "#ffffff", cls: "event-label")
            }
        }
        svg.close("g")
        Chrome.flowLegend(&svg, entries: entries, x: area.left, y: area.bottom + 54, width: area.width)
        Chrome.notes(&svg, notes, width: width, height: height)
        return svg.render()
    }

    /// A pid or tid as text (numbers without a fractional part print as integers).
    static func identifier(_ value: Any?) -> String {
        if let text = value as? String { return text }
        if let v = number(value) {
            return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : Fmt.significant(v, 15)
        }
        return "0"
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let v as Double: return v
        case let v as Int: return Double(v)
        case let v as NSNumber: return v.doubleValue
        case let v as String: return CSVData.number(v)
        default: return nil
        }
    }
}
