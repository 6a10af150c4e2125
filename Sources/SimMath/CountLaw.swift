import Foundation

/// The law of a count (a whole number of routed tokens, say): Poisson, binomial, negative binomial
/// or beta-binomial, by its log probability mass function.
///
/// Used by ``ConditionedCounts`` both as the marginal law of one expert's load and as the
/// independent "representation" laws whose sum-conditioned joint law approximates (or, for the
/// multinomial and the Dirichlet-multinomial, equals) the joint law of all loads.
public struct CountLaw: Sendable, Equatable, Hashable {
    public enum Family: Sendable, Equatable, Hashable {
        /// P(y) = e^-μ μ^y / y!.
        case poisson(mean: Double)
        /// P(y) = C(n, y) p^y (1 - p)^(n - y).
        case binomial(trials: Int, probability: Double)
        /// P(y) = Γ(r + y) / (Γ(r) y!) (r / (r + m))^r (m / (r + m))^y: shape r, mean m.
        case negativeBinomial(shape: Double, mean: Double)
        /// P(y) = C(n, y) B(y + a, n - y + b) / B(a, b).
        case betaBinomial(trials: Int, alpha: Double, beta: Double)
        /// The binomial with a real number of trials n >= `cap` (Γ in place of factorials): mean n·p,
        /// variance n·p·(1 − p), any variance-to-mean ratio below 1.
        case realBinomial(trials: Double, probability: Double)
        /// Given masses: log P(y) for y = lowest ..< lowest + count.
        case tabulated(CountTable)
    }

    public var family: Family
    /// Values above `cap` are left out (the mass is not renormalised): a load never exceeds the token count.
    public var cap: Int?
    public init(_ family: Family, cap: Int? = nil) {
        self.family = family
        self.cap = cap
    }

    /// Largest value with positive mass (nil: unbounded).
    public var upperSupport: Int? {
        var natural: Int?
        switch family {
        case .poisson, .negativeBinomial: natural = nil
        case let .binomial(n, _): natural = n
        case let .betaBinomial(n, _, _): natural = n
        case let .realBinomial(n, _): natural = n.isFinite && n < 1e15 ? Int(n.rounded(.down)) : nil
        case let .tabulated(t): natural = t.highest
        }
        guard let cap else { return natural }
        return min(cap, natural ?? cap)
    }

    public var mean: Double {
        switch family {
        case let .poisson(m): return m
        case let .binomial(n, p): return Double(n) * p
        case let .negativeBinomial(_, m): return m
        case let .betaBinomial(n, a, b): return Double(n) * a / (a + b)
        case let .realBinomial(n, p): return n * p
        case let .tabulated(t): return t.moments.mean
        }
    }

    public var variance: Double {
        switch family {
        case let .poisson(m): return m
        case let .binomial(n, p): return Double(n) * p * (1 - p)
        case let .negativeBinomial(r, m): return m + m * m / r
        case let .betaBinomial(n, a, b):
            let nn = Double(n), s = a + b
            return nn * a * b * (s + nn) / (s * s * (s + 1))
        case let .realBinomial(n, p): return n * p * (1 - p)
        case let .tabulated(t): return t.moments.variance
        }
    }

    /// log P(Y = y); -infinity outside the support.
    public func logPMF(_ y: Int) -> Double {
        guard y >= 0, y <= (cap ?? Int.max) else { return -.infinity }
        let yy = Double(y)
        switch family {
        case let .poisson(m):
            if m <= 0 { return y == 0 ? 0 : -.infinity }
            return yy * log(m) - m - lgamma(yy + 1)
        case let .binomial(n, p):
            guard y <= n else { return -.infinity }
            if p <= 0 { return y == 0 ? 0 : -.infinity }
            if p >= 1 { return y == n ? 0 : -.infinity }
            return Self.logChoose(n, y) + yy * log(p) + Double(n - y) * log1p(-p)
        case let .negativeBinomial(r, m):
            if m <= 0 { return y == 0 ? 0 : -.infinity }
            return lgamma(r + yy) - lgamma(r) - lgamma(yy + 1) + r * log(r / (r + m)) + yy * log(m / (r + m))
        case let .betaBinomial(n, a, b):
            guard y <= n else { return -.infinity }
            return Self.logChoose(n, y) + Self.logBeta(yy + a, Double(n - y) + b) - Self.logBeta(a, b)
        case let .realBinomial(n, p):
            guard yy <= n else { return -.infinity }
            if p <= 0 { return y == 0 ? 0 : -.infinity }
            if p >= 1 { return yy == n ? 0 : -.infinity }
            return lgamma(n + 1) - lgamma(yy + 1) - lgamma(n - yy + 1) + yy * log(p) + (n - yy) * log1p(-p)
        case let .tabulated(t):
            guard y >= t.lowest, y <= t.highest else { return -.infinity }
            return t.logMass[y - t.lowest]
        }
    }

    @inline(__always)
    static func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n) + 1) - lgamma(Double(k) + 1) - lgamma(Double(n - k) + 1)
    }

    @inline(__always)
    static func logBeta(_ a: Double, _ b: Double) -> Double { lgamma(a) + lgamma(b) - lgamma(a + b) }

    /// A table of log P(y) over the values that hold all but about e^-40 of the mass (relative to
    /// the mode), or nil when that range is wider than `maximumWidth`.
    public func table(maximumWidth: Int = 1 << 20) -> CountTable? {
        if case let .tabulated(t) = family, cap == nil || cap! >= t.highest { return t.logMass.count <= maximumWidth + 1 ? t : nil }
        let m = mean, sd = variance.squareRoot()
        guard m.isFinite, sd.isFinite else { return nil }
        let upper = upperSupport ?? Int.max
        // Start at the mean (clamped to the support) and walk out to where the mass is negligible.
        let start = max(0, min(upper, Int(min(m, Double(Int32.max)).rounded(.down))))
        var peak = logPMF(start)
        guard peak.isFinite else { return nil }
        // Walk in steps: near the mode the pmf is flat; the tables stay exact (every value is kept).
        let cutoff = 40.0
        var hi = start
        while hi < upper {
            let v = logPMF(hi + 1)
            peak = max(peak, v)
            if v < peak - cutoff && Double(hi + 1) > m { break }
            hi += 1
            if hi - start > maximumWidth { return nil }
        }
        var lo = start
        while lo > 0 {
            let v = logPMF(lo - 1)
            peak = max(peak, v)
            if v < peak - cutoff && Double(lo - 1) < m { break }
            lo -= 1
            if hi - lo > maximumWidth { return nil }
        }
        var values = [Double](repeating: 0, count: hi - lo + 1)
        for y in lo...hi { values[y - lo] = logPMF(y) }
        return CountTable(lowest: lo, logMass: values)
    }
}

/// log P(Y = y) for y = `lowest` ..< `lowest + logMass.count`; the mass outside is negligible.
public struct CountTable: Sendable, Equatable, Hashable {
    public var lowest: Int
    public var logMass: [Double]
    public var highest: Int { lowest + logMass.count - 1 }

    public init(lowest: Int, logMass: [Double]) {
        self.lowest = lowest
        self.logMass = logMass
    }

    /// Mean and variance of the (normalised) masses.
    public var moments: (mean: Double, variance: Double) {
        var m0 = 0.0, m1 = 0.0, m2 = 0.0
        for (i, v) in logMass.enumerated() {
            let p = exp(v), y = Double(lowest + i)
            m0 += p; m1 += p * y; m2 += p * y * y
        }
        guard m0 > 0 else { return (0, 0) }
        let mean = m1 / m0
        return (mean, max(0, m2 / m0 - mean * mean))
    }

    /// P(Y <= x).
    public func cdf(_ x: Int) -> Double {
        if x < lowest { return 0 }
        if x >= highest { return 1 }
        var s = 0.0
        for y in lowest...x { s += exp(logMass[y - lowest]) }
        return min(1, s)
    }

    /// E[max(0, Y - c)].
    public func expectedExcess(over c: Double) -> Double {
        var s = 0.0
        let from = max(lowest, Int(c.rounded(.down)) + 1)
        if from > highest { return 0 }
        for y in from...highest { s += (Double(y) - c) * exp(logMass[y - lowest]) }
        return s
    }

    /// P(Y = 0).
    public var probabilityOfZero: Double { lowest == 0 ? exp(logMass[0]) : 0 }
}
