import Foundation

/// A numeric axis: a domain, its tick positions and tick labels.
struct Axis: Sendable {
    var lo: Double
    var hi: Double
    var log: Bool
    var ticks: [Double]
    var labels: [String]

    /// Position of `value` as a fraction of the axis length (0 at `lo`, 1 at `hi`).
    func fraction(_ value: Double) -> Double {
        let result: Double
        if log {
            let a = log10(lo), b = log10(hi)
            result = b == a ? 0.5 : (log10(value) - a) / (b - a)
        } else if hi == lo {
            result = 0.5
        } else if (hi - lo).isFinite {
            result = (value - lo) / (hi - lo)
        } else {
            // A span beyond Double's range: halve everything first.
            result = (value / 2 - lo / 2) / (hi / 2 - lo / 2)
        }
        return result.isFinite ? result : 0.5
    }

    /// The 1-2-5 step nearest `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * power
    }

    /// Linear ticks on 1-2-5 steps covering [min, max]; the domain is widened to whole steps.
    /// Tick labels share one unit prefix ("0.5 ms", "1 ms", "1.5 ms").
    static func linear(min: Double, max: Double, unit: Unit, target: Int = 6, includeZero: Bool = false) -> Axis {
        var a = min, b = max
        if includeZero { a = Swift.min(a, 0); b = Swift.max(b, 0) }
        if a == b {
            let pad = a == 0 ? 1 : abs(a) * 0.1
            a -= includeZero && a == 0 ? 0 : pad
            b += pad
        }
        let step = niceStep((b - a) / Double(Swift.max(1, target - 1)))
        let first = (a / step + 1e-9).rounded(.down)
        let last = (b / step - 1e-9).rounded(.up)
        guard step > 0, step.isFinite, first.isFinite, last.isFinite, last >= first, last - first <= 200 else {
            // Extreme values (near the limits of Double): just the two ends.
            return Axis(lo: a, hi: b, log: false, ticks: [a, b], labels: [unit.format(a), unit.format(b)])
        }
        var ticks: [Double] = []
        var k = first
        while k <= last + 0.5 {
            let value = k * step
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            k += 1
        }
        let lo = first * step, hi = last * step
        let exponent = unit.exponent(for: Swift.max(abs(lo), abs(hi)))
        let scaledStep = unit.scaled(step, exponent: exponent)
        let decimals = scaledStep > 0 && scaledStep.isFinite ? Swift.min(15, Swift.max(0, Int((-log10(scaledStep) - 1e-9).rounded(.up)))) : 0
        let labels = ticks.map { value -> String in
            if value == 0 { return "0" }
            return Fmt.trimmed(unit.scaled(value, exponent: exponent), decimals) + unit.suffix(exponent: exponent)
        }
        return Axis(lo: lo, hi: hi, log: false, ticks: ticks, labels: labels)
    }

    /// Logarithmic ticks: decades (1 ms, 10 ms, 100 ms), with 2 and 5 between them when the range is
    /// short, every k-th decade when it is long. `min` must be > 0.
    static func logarithmic(min: Double, max: Double, unit: Unit, values: [Double] = []) -> Axis {
        if let binary = binaryLogarithmic(values: values, unit: unit) { return binary }
        var l0 = log10(min), l1 = log10(max)
        if l1 - l0 < 1e-9 {
            l0 -= 0.5; l1 += 0.5
        } else {
            let pad = (l1 - l0) * 0.04
            l0 -= pad; l1 += pad
        }
        l0 = Swift.max(l0, -307); l1 = Swift.min(l1, 308)
        let lo = pow(10, l0), hi = pow(10, l1)
        let span = l1 - l0
        let multipliers: [Double] = span <= 1.2 ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : span <= 3.5 ? [1, 2, 5] : [1]
        let decadeStep = span > 24 ? 6 : span > 12 ? 3 : span > 8 ? 2 : 1
        var ticks: [Double] = []
        var decade = Int(floor(l0))
        while decade <= Int(ceil(l1)) {
            if decade % decadeStep == 0 {
                for m in multipliers {
                    let value = m * pow(10, Double(decade))
                    if value >= lo * (1 - 1e-12), value <= hi * (1 + 1e-12) { ticks.append(value) }
                }
            }
            decade += 1
        }
        if ticks.count < 2 {
            // Less than a decade with no 1-2-5 values inside: linear steps, drawn on the log scale.
            let linear = Axis.linear(min: lo, max: hi, unit: unit, target: 4)
            let inside = zip(linear.ticks, linear.labels).filter { $0.0 >= lo && $0.0 <= hi && $0.0 > 0 }
            return Axis(lo: lo, hi: hi, log: true, ticks: inside.map(\.0), labels: inside.map(\.1))
        }
        let labels = ticks.map { unit.format($0, digits: 3) }
        return Axis(lo: lo, hi: hi, log: true, ticks: ticks, labels: labels)
    }

    /// When every value is a power of two (sequence lengths, batch sizes), ticks at powers of two
    /// (1024, 2048, 4096) read better than decades; every k-th power when there are many.
    static func binaryLogarithmic(values: [Double], unit: Unit) -> Axis? {
        guard unit.kind == .count, values.count >= 2, let low = values.min(), let high = values.max(), low > 0, high > low else { return nil }
        let isPowerOfTwo = { (v: Double) -> Bool in
            let e = log2(v)
            return abs(e - e.rounded()) < 1e-9 && abs(e) <= 60
        }
        guard values.allSatisfy(isPowerOfTwo) else { return nil }
        let e0 = Int(log2(low).rounded()), e1 = Int(log2(high).rounded())
        let stride = Swift.max(1, Int((Double(e1 - e0) / 8).rounded(.up)))
        let ticks = Swift.stride(from: e0, through: e1, by: stride).map { pow(2, Double($0)) }
        let pad = Double(e1 - e0) * 0.04
        let lo = pow(2, Double(e0) - pad), hi = pow(2, Double(e1) + pad)
        let labels = ticks.map { $0 < 1e6 ? Fmt.significant($0, 7) : unit.format($0, digits: 4) }
        return Axis(lo: lo, hi: hi, log: true, ticks: ticks, labels: labels)
    }
}
