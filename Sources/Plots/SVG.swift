import Foundation

/// A minimal SVG writer: elements are appended as text in call order, so the same calls always give
/// the same bytes. Attribute values and text are escaped.
struct SVG {
    let width: Double
    let height: Double
    private var defs: [String] = []
    private var body: [String] = []
    private var depth = 1

    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
        rect(x: 0, y: 0, w: width, h: height, fill: "#ffffff", cls: "background")
    }

    /// XML-escapes text for element content and attribute values; control characters XML 1.0
    /// cannot hold become U+FFFD, newlines and tabs become spaces.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\r", "\t": out += " "
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    typealias Attributes = KeyValuePairs<String, String>

    private static func attributeText(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    /// Appends `<name attrs>` with optional text content and an optional tooltip (`<title>`).
    mutating func element(_ name: String, _ attributes: [(String, String)], text: String? = nil, title: String? = nil) {
        let indent = String(repeating: "  ", count: depth)
        let open = "<\(name)\(Self.attributeText(attributes))"
        if text == nil, title == nil {
            body.append(indent + open + "/>")
            return
        }
        var inner = ""
        if let title { inner += "<title>\(Self.escape(title))</title>" }
        if let text { inner += Self.escape(text) }
        body.append(indent + open + ">" + inner + "</\(name)>")
    }

    mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        body.append(String(repeating: "  ", count: depth) + "<\(name)\(Self.attributeText(attributes))>")
        depth += 1
    }

    mutating func close(_ name: String) {
        depth -= 1
        body.append(String(repeating: "  ", count: depth) + "</\(name)>")
    }

    mutating func comment(_ text: String) {
        let safe = text.replacingOccurrences(of: "--", with: "- -")
        body.append(String(repeating: "  ", count: depth) + "<!-- \(safe) -->")
    }

    /// Raw markup for `<defs>` (patterns, gradients); the caller escapes what it interpolates.
    mutating func addDef(_ markup: String) { defs.append("    " + markup) }

    // MARK: Shapes

    mutating func rect(x: Double, y: Double, w: Double, h: Double, fill: String, stroke: String? = nil,
                       strokeWidth: Double? = nil, opacity: Double? = nil, cls: String? = nil, title: String? = nil) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += [("x", n(x)), ("y", n(y)), ("width", n(max(0, w))), ("height", n(max(0, h))), ("fill", fill)]
        if let stroke { a.append(("stroke", stroke)) }
        if let strokeWidth { a.append(("stroke-width", n(strokeWidth))) }
        if let opacity { a.append(("fill-opacity", n(opacity))) }
        element("rect", a, title: title)
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                       dash: String? = nil, cls: String? = nil) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += [("x1", n(x1)), ("y1", n(y1)), ("x2", n(x2)), ("y2", n(y2)), ("stroke", stroke), ("stroke-width", n(width))]
        if let dash { a.append(("stroke-dasharray", dash)) }
        element("line", a)
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double, cls: String? = nil, title: String? = nil) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += [("points", points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")),
              ("fill", "none"), ("stroke", stroke), ("stroke-width", n(width)),
              ("stroke-linejoin", "round"), ("stroke-linecap", "round")]
        element("polyline", a, title: title)
    }

    /// A data marker: shape 0 circle, 1 square, 2 triangle, 3 diamond.
    mutating func marker(shape: Int, x: Double, y: Double, r: Double, fill: String, cls: String, title: String?) {
        let stroke: [(String, String)] = [("fill", fill), ("stroke", "#ffffff"), ("stroke-width", "1")]
        switch shape % 4 {
        case 0:
            element("circle", [("class", cls), ("cx", n(x)), ("cy", n(y)), ("r", n(r))] + stroke, title: title)
        case 1:
            let s = r * 0.9
            element("rect", [("class", cls), ("x", n(x - s)), ("y", n(y - s)), ("width", n(2 * s)), ("height", n(2 * s))] + stroke, title: title)
        case 2:
            let s = r * 1.25
            let points = "\(n(x)),\(n(y - s)) \(n(x + s)),\(n(y + s * 0.8)) \(n(x - s)),\(n(y + s * 0.8))"
            element("polygon", [("class", cls), ("points", points)] + stroke, title: title)
        default:
            let s = r * 1.25
            let points = "\(n(x)),\(n(y - s)) \(n(x + s)),\(n(y)) \(n(x)),\(n(y + s)) \(n(x - s)),\(n(y))"
            element("polygon", [("class", cls), ("points", points)] + stroke, title: title)
        }
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                       bold: Bool = false, fill: String = "#222222", rotate: Double? = nil, cls: String? = nil) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += [("x", n(x)), ("y", n(y)), ("font-size", n(size))]
        if anchor != .start { a.append(("text-anchor", anchor.rawValue)) }
        if bold { a.append(("font-weight", "bold")) }
        if fill != "#222222" { a.append(("fill", fill)) }
        if let rotate { a.append(("transform", "rotate(\(n(rotate)) \(n(x)) \(n(y)))")) }
        element("text", a, text: string)
    }

    /// A coordinate; a non-finite one (which no figure should produce) is written as 0 so the SVG stays valid.
    func n(_ value: Double) -> String { value.isFinite ? Fmt.coord(value) : "0" }

    func render() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" "
        out += "viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"\(Self.escape(Self.fontFamily))\" fill=\"#222222\">\n"
        if !defs.isEmpty {
            out += "  <defs>\n" + defs.joined(separator: "\n") + "\n  </defs>\n"
        }
        out += body.joined(separator: "\n")
        out += "\n</svg>\n"
        return out
    }
}

/// An sRGB colour.
struct RGB: Sendable, Equatable {
    var r: Double, g: Double, b: Double

    init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }

    init(hex: UInt32) {
        self.init(Double((hex >> 16) & 0xFF), Double((hex >> 8) & 0xFF), Double(hex & 0xFF))
    }

    var hex: String {
        let digits = Array("0123456789abcdef")
        var out = "#"
        for channel in [r, g, b] {
            let v = Int(min(255, max(0, channel.rounded())))
            out.append(digits[v / 16])
            out.append(digits[v % 16])
        }
        return out
    }

    /// `self` moved a fraction `t` towards `other`.
    func mix(_ other: RGB, _ t: Double) -> RGB {
        RGB(r + (other.r - r) * t, g + (other.g - g) * t, b + (other.b - b) * t)
    }

    /// Relative luminance (0 black, 1 white), to pick dark or light text on a fill.
    var luminance: Double {
        func linear(_ c: Double) -> Double {
            let s = c / 255
            return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    static let white = RGB(255, 255, 255)
}

enum Palette {
    /// Tableau 10: distinct hues for categories.
    static let categorical: [RGB] = [
        0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F, 0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F, 0xBAB0AC,
    ].map { RGB(hex: $0) }

    /// Viridis at 11 evenly spaced stops (matplotlib's table); interpolated linearly between them.
    static let viridisStops: [RGB] = [
        0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C, 0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725,
    ].map { RGB(hex: $0) }

    /// Viridis at `t` in [0, 1] (dark purple to yellow; perceptually uniform, colour-blind safe).
    static func viridis(_ t: Double) -> RGB {
        let clamped = t.isFinite ? min(1, max(0, t)) : 0
        let position = clamped * Double(viridisStops.count - 1)
        let index = min(viridisStops.count - 2, Int(position))
        return viridisStops[index].mix(viridisStops[index + 1], position - Double(index))
    }

    /// `count` colours for ordered series: viridis from purple to green (the yellow end is too pale for lines).
    static func sequential(_ count: Int) -> [RGB] {
        guard count > 1 else { return [viridis(0.35)] }
        return (0..<count).map { viridis(0.85 * Double($0) / Double(count - 1)) }
    }

    /// `count` colours for unordered categories.
    static func categories(_ count: Int) -> [RGB] {
        (0..<count).map { categorical[$0 % categorical.count] }
    }

    /// Fixed colours for the simulator's op classes, so a class has the same colour in every figure.
    static let opClasses: [String: RGB] = [
        "gemm": categorical[0], "attention": categorical[1], "router": categorical[2], "conv": categorical[6],
        "scan": categorical[4], "elementwise": categorical[9], "gather_scatter": categorical[8],
    ]
}
