import Foundation

/// Locale-free, deterministic number formatting (the same value always gives the same bytes).
enum Fmt {
    /// `value` rounded to `decimals` places, e.g. fixed(2.5, 2) == "2.50".
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let places = max(0, min(decimals, 15))
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        var digits = String(Int64(scaled))
        if places > 0 {
            if digits.count <= places { digits = String(repeating: "0", count: places + 1 - digits.count) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -places))
        }
        return value < 0 && scaled != 0 ? "-" + digits : digits
    }

    /// `fixed` without trailing zeros (and without a trailing point).
    static func trimmed(_ value: Double, _ decimals: Int) -> String {
        var text = fixed(value, decimals)
        guard text.contains("."), value.isFinite, abs(value) < 9e15 else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    /// An SVG coordinate: two decimals at most.
    static func coord(_ value: Double) -> String { trimmed(value, 2) }

    /// `value` with at most `digits` significant digits, trailing zeros removed (0.30000000000000004 -> "0.3").
    static func significant(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return fixed(value, 0) }
        if value == 0 { return "0" }
        let magnitude = Int(floor(log10(abs(value))))
        if magnitude >= 15 || magnitude < -12 {
            return scientific(value, digits)
        }
        let decimals = digits - 1 - magnitude
        if decimals >= 0 { return trimmed(value, decimals) }
        let unit = pow(10, Double(-decimals))
        return trimmed((value / unit).rounded() * unit, 0)
    }

    static func scientific(_ value: Double, _ digits: Int) -> String {
        var exponent = Int(floor(log10(abs(value))))
        var mantissa = value / pow(10, Double(exponent))
        let rounded = Double(trimmed(mantissa, max(0, digits - 1))) ?? mantissa
        if abs(rounded) >= 10 { exponent += 1; mantissa = value / pow(10, Double(exponent)) }
        return trimmed(mantissa, max(0, digits - 1)) + "e" + String(exponent)
    }
}

/// The physical unit of a column, guessed from its name's suffix (`latency_s`, `peak_memory_bytes`,
/// `tokens_per_s`, `model_flops`, ...), and how values in that unit are printed.
struct Unit: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// SI prefixes from n to E (seconds, bytes, FLOP, rates).
        case si
        /// A plain count: printed as is below 10 000, then with k, M, G ...
        case count
        /// A fraction, ratio or percentage: plain decimals, never prefixed.
        case plain
    }

    /// Printed after the number: "s", "B", "FLOP", "tokens/s", "%", or "".
    var symbol: String
    /// Shown in axis titles: "seconds", "bytes", ...; empty for none.
    var name: String
    var kind: Kind
    /// Whether the prefix joins the symbol ("3 ms", "2 GB") or the number ("3M tokens/s").
    var prefixJoinsSymbol: Bool = true
    /// Column value × multiplier = value in `symbol` (a `_ms` column holds thousandths of seconds).
    var multiplier: Double = 1
    /// Smallest and largest allowed prefix exponents.
    var minExponent: Int = -9
    var maxExponent: Int = 18

    static let none = Unit(symbol: "", name: "", kind: .count, minExponent: 0)
    static let seconds = Unit(symbol: "s", name: "seconds", kind: .si, maxExponent: 0)

    static func forColumn(_ column: String) -> Unit {
        let lower = column.lowercased()
        let leaf = String(lower.split(separator: ".").last ?? Substring(lower))
        func ends(_ suffixes: String...) -> Bool { suffixes.contains { leaf == $0.dropFirst() || leaf.hasSuffix($0) } }

        for rate in ["_per_s", "_per_sec", "_per_second", "_per_seconds"] where leaf.hasSuffix(rate) {
            let stem = String(leaf.dropLast(rate.count))
            let word = String(stem.split(separator: "_").last ?? Substring(stem))
            if word.hasSuffix("flops") || word == "flop" {
                return Unit(symbol: "FLOP/s", name: "FLOP/s", kind: .si, minExponent: 0)
            }
            if word.hasSuffix("bytes") || word == "byte" {
                return Unit(symbol: "B/s", name: "bytes/s", kind: .si, minExponent: 0)
            }
            return Unit(symbol: "\(word)/s", name: "\(word)/s", kind: .si, prefixJoinsSymbol: false, minExponent: 0)
        }
        if ends("_s", "_sec", "_secs", "_seconds") { return .seconds }
        if ends("_ms") { var unit = Unit.seconds; unit.multiplier = 1e-3; return unit }
        if ends("_us") { var unit = Unit.seconds; unit.multiplier = 1e-6; return unit }
        if ends("_ns") { var unit = Unit.seconds; unit.multiplier = 1e-9; return unit }
        if ends("_bytes", "_byte") { return Unit(symbol: "B", name: "bytes", kind: .si, minExponent: 0) }
        if ends("_flops", "_flop") { return Unit(symbol: "FLOP", name: "FLOP", kind: .si, minExponent: 0) }
        if ends("_percent", "_pct") { return Unit(symbol: "%", name: "%", kind: .plain) }
        if ends("_fraction", "_ratio", "_mfu", "_utilization", "_efficiency", "_share", "_split") {
            return Unit(symbol: "", name: "", kind: .plain)
        }
        return .none
    }

    /// "latency_s (seconds)".
    func axisTitle(_ column: String) -> String { name.isEmpty ? column : "\(column) (\(name))" }

    static let prefixes: [Int: String] = [
        -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E",
    ]

    /// The prefix exponent (a multiple of 3) for values up to `magnitude` (in column units).
    func exponent(for magnitude: Double) -> Int {
        let base = abs(magnitude * multiplier)
        guard kind != .plain, base.isFinite, base > 0 else { return 0 }
        if kind == .count, base < 1e4 { return 0 }
        var exponent = Int(floor(log10(base) / 3)) * 3
        // 999.99 rounds to 1000: stay in the lower prefix, it prints as "1000 ms" at worst.
        exponent = min(max(exponent, minExponent), maxExponent)
        return exponent
    }

    /// The suffix printed after a number scaled by `exponent`: " ms", "k", "M tokens/s", " GB".
    func suffix(exponent: Int) -> String {
        let prefix = Self.prefixes[exponent] ?? "e\(exponent)"
        if symbol.isEmpty { return prefix }
        if symbol == "%" { return "%" }
        return prefixJoinsSymbol ? " " + prefix + symbol : prefix + " " + symbol
    }

    /// The prefix and symbol alone, for titles: "ms", "GB", "M tokens/s"; empty for a bare number.
    func unitLabel(exponent: Int) -> String {
        suffix(exponent: exponent).trimmingCharacters(in: .whitespaces)
    }

    /// `value` (column units) scaled to `exponent`.
    func scaled(_ value: Double, exponent: Int) -> Double {
        value * multiplier / pow(10, Double(exponent))
    }

    /// A number with its unit: "2.73 ms", "330 MB", "1.5M tokens/s", "0.59", "4096".
    func format(_ value: Double, digits: Int = 3) -> String {
        guard value.isFinite else { return Fmt.fixed(value, 0) }
        if value == 0 { return "0" + (symbol.isEmpty || kind == .si ? "" : suffix(exponent: 0)) }
        let exponent = self.exponent(for: value)
        if kind == .count && exponent == 0 {
            return Fmt.significant(value, max(digits, 6))
        }
        return Fmt.significant(scaled(value, exponent: exponent), digits) + suffix(exponent: exponent)
    }
}

/// Rough text extents for layout (DejaVu Sans / Helvetica metrics, averaged).
enum TextMetrics {
    static func width(_ text: String, size: Double, bold: Bool = false) -> Double {
        var total = 0.0
        for scalar in text.unicodeScalars {
            let w: Double
            switch scalar {
            case "i", "j", "l", ".", ",", ":", ";", "'", "|", "!", "I", "(", ")", "[", "]", " ": w = 0.34
            case "m", "w", "M", "W", "@": w = 0.9
            case "A"..."Z": w = 0.7
            case "0"..."9": w = 0.64
            default: w = 0.6
            }
            total += w
        }
        return total * size * (bold ? 1.08 : 1)
    }

    /// `text` shortened with an ellipsis to fit `maxWidth`.
    static func fit(_ text: String, maxWidth: Double, size: Double, bold: Bool = false) -> String {
        if width(text, size: size, bold: bold) <= maxWidth { return text }
        var scalars = Array(text.unicodeScalars)
        while !scalars.isEmpty {
            scalars.removeLast()
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            let candidate = String(view) + "…"
            if width(candidate, size: size, bold: bold) <= maxWidth { return candidate }
        }
        return "…"
    }
}
