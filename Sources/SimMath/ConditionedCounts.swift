import Foundation

/// The expected maximum of counts that are independent apart from a fixed total.
///
/// Routed loads are not independent: the T·k assignments of a batch sum to T·k. Levin's
/// representation (B. Levin, "A representation for multinomial cumulative distribution functions",
/// Annals of Statistics 9(5), 1981) writes the joint law as independent counts Y_i conditioned on
/// their sum; for a multinomial the Y_i are Poisson, for a Dirichlet-multinomial negative binomial,
/// and both are then exact. With S = Σ Y_i and N the total,
///
///     P(max L <= x) = P(all Y_i <= x, S = N) / P(S = N)
///
/// and E[max L] = Σ_{x >= 0} (1 − P(max L <= x)). Both point probabilities of S are computed
/// exactly by convolution when that is cheap, otherwise by the saddlepoint approximation of a sum of
/// independent lattice variables with its second-order correction (Daniels 1954; Butler,
/// "Saddlepoint Approximations with Applications", 2007, §2.1):
///
///     P(S = N) ≈ exp(K(θ) − θN) / sqrt(2π K''(θ)) · (1 + κ4/8 − 5κ3²/24),   K'(θ) = N,
///
/// with K the cumulant generating function of S (of the truncated Y_i in the numerator). The
/// numerator and denominator use the same method, so most of the approximation error cancels.
public enum ConditionedCounts {
    /// `count` independent copies of one law.
    public struct Group: Sendable, Equatable {
        public var law: CountLaw
        public var count: Int
        public init(law: CountLaw, count: Int) {
            self.law = law
            self.count = count
        }
    }

    /// Work above which the exact convolution gives way to the saddlepoint approximation
    /// (items x total x support width per evaluated x).
    static let exactBudget = 20_000
    /// Work (items² x total x values of the maximum) below which identical items are computed exactly.
    static let iidExactBudget = 20_000_000
    /// Distinct items from which the sum's conditioning is left out (see `expectedMaximum`).
    static let independentItems = 32
    /// Work above which the whole computation is refused (the caller then uses a continuous approximation).
    static let workBudget = 6_000_000

    /// E[max_i L_i] where the L_i (Σ group counts of them) are the Y_i of `groups` conditioned on Σ Y_i = `total`.
    /// Returns nil when the laws' supports or the range of the maximum are too wide for the discrete
    /// computation to be cheap (loads of thousands per expert: the caller's normal approximation is good there).
    public static func expectedMaximum(_ groups: [Group], total: Int) -> Double? {
        let groups = groups.filter { $0.count > 0 }
        guard !groups.isEmpty, total >= 0 else { return nil }
        var tables: [CountTable] = []
        for g in groups {
            guard let t = g.law.table(maximumWidth: 50_000) else { return nil }
            tables.append(t)
        }
        let counts = groups.map(\.count)
        let items = counts.reduce(0, +)
        if items == 1 { return Double(total) }
        // Cumulative log masses for the independence product Π P(Y_i <= x).
        let cumulative = tables.map { t -> [Double] in
            var c = [Double](repeating: 0, count: t.logMass.count)
            var s = 0.0
            for (i, v) in t.logMass.enumerated() { s += exp(v); c[i] = s }
            let norm = max(s, 1e-300)
            return c.map { min(1, $0 / norm) }
        }
        let highest = tables.map(\.highest).max() ?? 0
        // Below ceil(N / items) the maximum cannot be; below the first x where the product is not
        // negligible the conditioned probability is negligible too (the conditioning factor is at most
        // 1 / P(S = N), a few hundred at most here).
        var xStart = max(0, (total + items - 1) / items)
        func logProduct(_ x: Int) -> Double {
            var s = 0.0
            for (g, t) in tables.enumerated() {
                if x < t.lowest { return -.infinity }
                if x >= t.highest { continue }
                s += Double(counts[g]) * log(cumulative[g][x - t.lowest])
            }
            return s
        }
        while xStart < highest && logProduct(xStart) < -90 { xStart += 1 }
        // Many distinct items: the fixed total correlates each pair by about −1/(items − 1), too little to
        // move the maximum; the product of the marginal CDFs is used directly (one pass per x).
        if tables.count > 1, items >= independentItems {
            guard (highest - xStart + 1) * tables.count <= workBudget else { return nil }
            var expectation = Double(xStart)
            var x = xStart
            while x < highest {
                let p = exp(logProduct(x))
                expectation += 1 - p
                if 1 - p < 1e-13 { break }
                x += 1
            }
            return expectation
        }
        let widthSum = zip(tables, counts).reduce(0) { $0 + $1.0.logMass.count * min($1.1, 1) }
        guard (highest - xStart + 1) * widthSum <= workBudget / 8 else { return nil }

        if tables.count == 1, items * items * max(1, total) * tables[0].logMass.count <= iidExactBudget,
           let exact = exactIdenticalMaximum(tables[0], count: items, total: total) {
            return exact
        }
        let exact = items * max(1, total) * (tables.map { $0.logMass.count }.max() ?? 1) <= exactBudget
        func logPointMass(truncatedAt x: Int) -> Double {
            exact ? exactLogPointMass(tables, counts, x: x, total: total)
                  : saddlepointLogPointMass(tables, counts, x: x, total: total)
        }
        let denominator = logPointMass(truncatedAt: highest)
        guard denominator.isFinite else { return nil }
        var expectation = Double(xStart)
        var previous = 0.0
        var x = xStart
        while x < highest {
            var p = exp(logPointMass(truncatedAt: x) - denominator)
            if !p.isFinite { p = 0 }
            p = min(1, max(p, previous))  // a CDF never decreases
            previous = p
            expectation += 1 - p
            if 1 - p < 1e-13 { break }
            x += 1
        }
        return expectation
    }

    // MARK: Point mass of the sum

    /// E[max] for `count` identical items, exactly: with f_x(z) = Σ_{y <= x} P(y) z^y, P(all <= x, S = N) is
    /// the z^N coefficient of f_x^count. The powers f_x^m (m = 0 ... count) are kept up to degree N and
    /// moved from x − 1 to x by the binomial theorem, f_x^m = Σ_j C(m, j) (P(x) z^x)^j f_{x−1}^(m−j): no
    /// subtraction, so no cancellation.
    static func exactIdenticalMaximum(_ t: CountTable, count: Int, total: Int) -> Double? {
        let n = total
        let mass = t.logMass.map { exp($0) }
        // powers[m][s]: coefficient of z^s in f^m.
        var powers = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: count + 1)
        powers[0][0] = 1
        var binomial = [[Double]](repeating: [], count: count + 1)
        for m in 0...count {
            var row = [Double](repeating: 1, count: m + 1)
            if m >= 2 { for j in 1..<m { row[j] = binomial[m - 1][j - 1] + binomial[m - 1][j] } }
            binomial[m] = row
        }
        var pointMass: [Double] = []  // P(all <= x, S = N) for x = lowest ... highest
        var next = powers
        for x in t.lowest...t.highest {
            let a = mass[x - t.lowest]
            if a > 0 {
                for m in 1...count {
                    var row = powers[m]
                    var term = 1.0
                    for j in 1...m {
                        term *= a
                        let shift = x * j
                        if shift > n { break }
                        let c = binomial[m][j] * term
                        let source = powers[m - j]
                        for s in 0...(n - shift) where source[s] != 0 { row[s + shift] += c * source[s] }
                    }
                    next[m] = row
                }
                swap(&powers, &next)
            }
            pointMass.append(powers[count][n])
        }
        guard let final = pointMass.last, final > 0, final.isFinite else { return nil }
        var expectation = 0.0
        for x in 0..<t.highest {
            let p = x < t.lowest ? 0 : min(1, pointMass[x - t.lowest] / final)
            expectation += 1 - p
        }
        return expectation
    }

    /// log P(all Y_i <= x, S = N), exactly, by convolution of the (truncated) tables.
    static func exactLogPointMass(_ tables: [CountTable], _ counts: [Int], x: Int, total: Int) -> Double {
        var dist = [Double](repeating: 0, count: total + 1)
        dist[0] = 1
        var logScale = 0.0
        for (g, t) in tables.enumerated() {
            let top = min(x, t.highest)
            if top < t.lowest { return -.infinity }
            let w = (t.lowest...top).map { exp(t.logMass[$0 - t.lowest]) }
            for _ in 0..<counts[g] {
                var next = [Double](repeating: 0, count: total + 1)
                for s in 0...total where dist[s] != 0 {
                    for (j, v) in w.enumerated() {
                        let y = t.lowest + j
                        if s + y > total { break }
                        next[s + y] += dist[s] * v
                    }
                }
                let m = next.max() ?? 0
                if m <= 0 { return -.infinity }
                logScale += log(m)
                dist = next.map { $0 / m }
            }
        }
        return dist[total] > 0 ? log(dist[total]) + logScale : -.infinity
    }

    /// log P(all Y_i <= x, S = N) by the second-order saddlepoint approximation.
    static func saddlepointLogPointMass(_ tables: [CountTable], _ counts: [Int], x: Int, total: Int) -> Double {
        // Support of the truncated sum.
        var minSum = 0, maxSum = 0
        for (g, t) in tables.enumerated() {
            let top = min(x, t.highest)
            if top < t.lowest { return -.infinity }
            minSum += counts[g] * t.lowest
            maxSum += counts[g] * top
        }
        if total < minSum || total > maxSum { return -.infinity }
        if total == minSum || total == maxSum {
            // Every item at its extreme: the product of those masses.
            var s = 0.0
            for (g, t) in tables.enumerated() {
                let y = total == minSum ? t.lowest : min(x, t.highest)
                s += Double(counts[g]) * t.logMass[y - t.lowest]
            }
            return s
        }
        // Masses relative to each table's largest, so that tilting needs no exp per value:
        // weight(y) = mass(y) · z^(y − lowest), z = e^θ, rescaled per table.
        let masses: [[Double]] = tables.map { t in
            let top = min(x, t.highest)
            let slice = t.logMass[0...(top - t.lowest)]
            let peak = slice.max() ?? 0
            return slice.map { exp($0 - peak) }
        }
        let peaks: [Double] = tables.map { t in t.logMass[0...(min(x, t.highest) - t.lowest)].max() ?? 0 }
        let logWeights: [[Double]] = tables.enumerated().map { g, t in t.logMass[0...(min(x, t.highest) - t.lowest)].map { $0 - peaks[g] } }
        /// K and its first four derivatives at θ.
        func cumulants(_ theta: Double) -> (k0: Double, k1: Double, k2: Double, k3: Double, k4: Double) {
            var k0 = 0.0, k1 = 0.0, k2 = 0.0, k3 = 0.0, k4 = 0.0
            for (g, t) in tables.enumerated() {
                let w = masses[g]
                let count = w.count
                // Shift by the largest tilted log weight: log w + θ·j is concave-ish; find its max.
                var shift = -Double.infinity
                let lw = logWeights[g]
                for j in 0..<count { shift = max(shift, lw[j] + theta * Double(j)) }
                // Raw moments about the table's lowest value.
                var m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0
                var power = exp(-shift)  // z^j e^-shift at j = 0
                let z = exp(theta)
                for j in 0..<count {
                    let e = w[j] * power
                    power *= z
                    if e == 0 { continue }
                    let y = Double(j)
                    let y2 = y * y
                    m0 += e; m1 += e * y; m2 += e * y2; m3 += e * y2 * y; m4 += e * y2 * y2
                    if !power.isFinite { break }
                }
                m1 /= m0; m2 /= m0; m3 /= m0; m4 /= m0
                let c2 = max(0, m2 - m1 * m1)
                let c3 = m3 - 3 * m1 * m2 + 2 * m1 * m1 * m1
                let c4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 * m1 * m1 * m1
                let n = Double(counts[g])
                let lowest = Double(t.lowest)
                // K_g(θ) = log Σ_y P(y) e^(θy) = log m0 + shift + peak + θ·lowest.
                k0 += n * (log(m0) + shift + peaks[g] + theta * lowest)
                k1 += n * (m1 + lowest)
                k2 += n * c2
                k3 += n * c3
                k4 += n * (c4 - 3 * c2 * c2)
            }
            return (k0, k1, k2, k3, k4)
        }
        // K' is increasing in θ: Newton, kept inside a bracket that bisection narrows.
        let target = Double(total)
        var lo = -60.0, hi = 60.0
        var theta = 0.0
        var c = cumulants(theta)
        for _ in 0..<100 {
            let f = c.k1 - target
            if abs(f) < 1e-10 * max(1, target) { break }
            if f > 0 { hi = theta } else { lo = theta }
            var next = c.k2 > 0 ? theta - f / c.k2 : (lo + hi) / 2
            if !(next > lo && next < hi) { next = (lo + hi) / 2 }
            theta = next
            c = cumulants(theta)
            if hi - lo < 1e-14 { break }
        }
        guard c.k2 > 0 else { return -.infinity }
        let kappa3 = c.k3 / pow(c.k2, 1.5), kappa4 = c.k4 / (c.k2 * c.k2)
        var correction = 1 + kappa4 / 8 - 5 * kappa3 * kappa3 / 24
        if !(correction > 0.5 && correction < 1.5) { correction = 1 }
        return c.k0 - theta * target - 0.5 * log(2 * Double.pi * c.k2) + log(correction)
    }
}
