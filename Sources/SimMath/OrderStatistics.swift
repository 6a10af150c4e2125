import Foundation

/// Expectations of maxima and excesses of independent normal random variables.
///
/// All functions are allocation-free and intended for hot loops. Invalid input (mismatched
/// or empty arrays, negative or non-finite standard deviations, non-finite means, count < 1)
/// yields NaN rather than trapping or throwing.
public enum OrderStatistics {
    /// Half-width, in standard deviations, of the window outside which a normal component
    /// is treated as a point of certainty: P(Z > 8) ≈ 6.2e−16.
    static let windowHalfWidth = 8.0
    /// Simpson panels per standard deviation of the narrowest component active on a
    /// segment (h = σ/4); with the 16σ window that is 64 panels per component window.
    static let panelsPerStandardDeviation = 4.0
    /// Simpson panels for the i.i.d. fast path (over a range trimmed to where the integrand
    /// is not within 1e−15 of 0 or 1).
    static let iidPanels = 64
    /// Probability mass deliberately neglected in each tail of the i.i.d. integral.
    static let iidTailMass = 1e-15

    /// E[max_i X_i] for independent X_i ~ N(μ_i, σ_i²).
    ///
    /// With F(x) = Π_i Φ((x − μ_i)/σ_i) the cdf of the maximum,
    ///
    ///     E[max] = lo + ∫_lo^hi (1 − F(x)) dx,
    ///
    /// where hi = max_i(μ_i + 8σ_i) and lo = max_i(μ_i − 8σ_i). (The brief's
    /// lo = min_i(μ_i − 8σ_i) is also valid; the max is a tighter but equally safe bound
    /// because max_j X_j ≥ X_i, so P(max < μ_i − 8σ_i) ≤ 6.2e−16 for every i. Errors of
    /// both truncations are O(1e−15·σ).)
    ///
    /// The integral is evaluated by composite Simpson on segments between consecutive
    /// window ends μ_i + 8σ_i; each segment uses panels of width ≤ σ_min/4 where σ_min is the
    /// smallest σ_i of the components still active on it (components past their window have
    /// Φ = 1 to within 6.2e−16 and are skipped). The error stays below about 2e−5 of
    /// max(|E[max]|, max_i σ_i) even when the σ_i differ by orders of magnitude (checked
    /// against fine-grid quadrature on random inputs); with comparable σ_i it costs about
    /// 64 panels plus 2 per component, each panel one `erfc` per active component.
    ///
    /// Components with σ_i = 0 are point masses at μ_i: with m = max of those μ_i and Y the
    /// maximum of the others, E[max(m, Y)] = m + ∫_m^∞ (1 − F_Y(x)) dx, so the integral
    /// simply starts at max(lo, m).
    ///
    /// - Returns: The expectation, or NaN if the arrays are empty or of different lengths,
    ///   or contain a non-finite value or a negative standard deviation.
    public static func expectedMaximum(means: [Double], standardDeviations: [Double]) -> Double {
        guard !means.isEmpty, means.count == standardDeviations.count else { return .nan }
        return means.withUnsafeBufferPointer { mu in
            standardDeviations.withUnsafeBufferPointer { sd in
                expectedMaximum(mu, sd)
            }
        }
    }

    /// Buffer-pointer core of `expectedMaximum(means:standardDeviations:)`; equal counts.
    static func expectedMaximum(_ mu: UnsafeBufferPointer<Double>, _ sd: UnsafeBufferPointer<Double>) -> Double {
        let k = windowHalfWidth
        var pointMass = -Double.infinity
        var lo = -Double.infinity
        var hi = -Double.infinity
        var continuous = 0
        for i in 0..<mu.count {
            let m = mu[i], s = sd[i]
            guard m.isFinite, s.isFinite, s >= 0 else { return .nan }
            if s == 0 {
                pointMass = max(pointMass, m)
            } else {
                continuous += 1
                lo = max(lo, m - k * s)
                hi = max(hi, m + k * s)
            }
        }
        if continuous == 0 { return pointMass }
        if continuous == 1 && pointMass == -.infinity {
            // A single normal: E = μ (the only component with σ > 0).
            for i in 0..<mu.count where sd[i] > 0 { return mu[i] }
        }
        guard lo.isFinite, hi.isFinite else { return .nan }  // μ ± 8σ overflowed
        let start = max(lo, pointMass)
        if start >= hi { return start }
        // Only components whose window reaches past `start` take part: any other has z ≥ 8 on the whole range
        // [start, hi], where the integrand and the breakpoints already skip it, so leaving it out changes no bit
        // (and a million experts of which a few matter cost a pass, not a million per integrand evaluation).
        var active: [Int] = []
        for i in 0..<mu.count where sd[i] > 0 && mu[i] + k * sd[i] > start { active.append(i) }
        var activeMu = active.map { mu[$0] }, activeSd = active.map { sd[$0] }
        var multiplicity = [Double](repeating: 1, count: active.count)
        if active.count > exactComponents {
            // Many overlapping components (a million experts of near-zero load): the breakpoints and each integrand
            // evaluation are linear in them, the whole integral quadratic. The `exactComponents / 2` whose windows
            // reach furthest stay exact; the rest, in that order, are pooled into `exactComponents / 2` groups of
            // equal count, each a component of the group's mean μ and σ raised to the group's size. Bounded work;
            // no shipped scenario has more than `exactComponents` active components (their outputs are unchanged).
            let order = active.indices.sorted { (activeMu[$0] + k * activeSd[$0], $0) > (activeMu[$1] + k * activeSd[$1], $1) }
            let keep = exactComponents / 2
            var pooledMu = order.prefix(keep).map { activeMu[$0] }, pooledSd = order.prefix(keep).map { activeSd[$0] }
            var pooledCount = [Double](repeating: 1, count: pooledMu.count)
            let rest = Array(order.dropFirst(keep)), groups = exactComponents / 2
            for g in 0..<groups {
                let lo = g * rest.count / groups, hi = (g + 1) * rest.count / groups
                guard hi > lo else { continue }
                let members = rest[lo..<hi]
                pooledMu.append(members.reduce(0) { $0 + activeMu[$1] } / Double(members.count))
                pooledSd.append(members.reduce(0) { $0 + activeSd[$1] } / Double(members.count))
                pooledCount.append(Double(members.count))
            }
            (activeMu, activeSd, multiplicity) = (pooledMu, pooledSd, pooledCount)
        }
        return activeMu.withUnsafeBufferPointer { mu in
            activeSd.withUnsafeBufferPointer { sd in
                multiplicity.withUnsafeBufferPointer { m in integrate(mu, sd, m, from: start, to: hi) }
            }
        }
    }

    /// Above this many active components, all but the furthest-reaching half are pooled (see ``expectedMaximum(_:_:)``).
    static let exactComponents = 1024

    /// ∫ from `start` to `hi` of 1 − Π Φ((x − μ_i)/σ_i), plus `start` (every σ_i > 0).
    static func integrate(_ mu: UnsafeBufferPointer<Double>, _ sd: UnsafeBufferPointer<Double>, _ multiplicity: UnsafeBufferPointer<Double>,
                          from start: Double, to hi: Double) -> Double {
        let k = windowHalfWidth

        // 1 − F(x), skipping components whose window has ended (x ≥ μ + 8σ).
        @inline(__always)
        func survival(_ x: Double) -> Double {
            var product = 1.0
            for i in 0..<mu.count {
                let s = sd[i]
                if s > 0 {
                    let z = (x - mu[i]) / s
                    if z < k { product *= multiplicity[i] == 1 ? NormalDistribution.cdf(z) : pow(NormalDistribution.cdf(z), multiplicity[i]) }
                }
            }
            return 1 - product
        }

        var integral = 0.0
        var x = start
        var fx = survival(x)
        while x < hi {
            // Next breakpoint: the nearest window end beyond x; resolution: the narrowest
            // component still active on [x, next].
            var next = hi
            var narrowest = Double.infinity
            for i in 0..<mu.count {
                let s = sd[i]
                if s > 0 {
                    let end = mu[i] + k * s
                    if end > x {
                        next = min(next, end)
                        narrowest = min(narrowest, s)
                    }
                }
            }
            let length = next - x
            // length ≤ 16σ_min by construction, so this is at most ~64; the clamp only guards
            // the Int conversion against rounding pathologies.
            var panels = Int(min((length * panelsPerStandardDeviation / narrowest).rounded(.up), 4096))
            panels = max(2, panels + (panels & 1))
            let h = length / Double(panels)
            var odd = 0.0, even = 0.0
            for j in 1..<panels {
                let v = survival(x + Double(j) * h)
                if j & 1 == 1 { odd += v } else { even += v }
            }
            let fNext = survival(next)
            integral += h / 3 * (fx + 4 * odd + 2 * even + fNext)
            x = next
            fx = fNext
        }
        return start + integral
    }

    /// E[max of `count` independent N(μ, σ²)] = μ + σ·z_E(count); see
    /// `expectedMaximumStandardNormals(count:)`.
    ///
    /// - Returns: μ if count = 1 or σ = 0; NaN if count < 1, σ < 0 or an input is not finite.
    public static func expectedMaximumOfIID(count: Int, mean: Double, standardDeviation: Double) -> Double {
        guard count >= 1, mean.isFinite, standardDeviation.isFinite, standardDeviation >= 0 else { return .nan }
        if count == 1 || standardDeviation == 0 { return mean }
        return mean + standardDeviation * expectedMaximumStandardNormals(count: count)
    }

    /// z_E(n) = E[max of n independent N(0, 1)] = z_lo + ∫_{z_lo}^{z_hi} (1 − Φ(z)ⁿ) dz.
    ///
    /// The range is trimmed to where neither tail carries more than 1e−15:
    /// Φ(z_lo)ⁿ = 1e−15 and n·(1 − Φ(z_hi)) = 1e−15, which narrows it as n grows (for n = 64,
    /// [0.21, 8.44]) so that a fixed 64 Simpson panels resolve the integrand, whose width
    /// shrinks like 1/√(2 ln n). 1 − Φⁿ is computed as −expm1(n·log1p(−Q(z))) to stay
    /// accurate where Φ is close to 1. Relative error: < 1e−9 for n ≤ 128, < 1e−6 up to
    /// n = 10⁶.
    ///
    /// Reference values: z_E(2) = 1/√π ≈ 0.56419, z_E(8) ≈ 1.42360, z_E(64) ≈ 2.34373,
    /// z_E(100) ≈ 2.50759, z_E(128) ≈ 2.59460.
    ///
    /// - Returns: 0 for n = 1; NaN for n < 1.
    public static func expectedMaximumStandardNormals(count: Int) -> Double {
        guard count >= 1 else { return .nan }
        if count == 1 { return 0 }
        let n = Double(count)
        let logTail = log(iidTailMass)
        // Φ(z_lo) = τ^(1/n); for large n use the upper-tail quantile for accuracy.
        let pLo = exp(logTail / n)
        let zLo = pLo < 0.5
            ? NormalDistribution.quantile(pLo)
            : NormalDistribution.survivalQuantile(-expm1(logTail / n))
        let zHi = NormalDistribution.survivalQuantile(iidTailMass / n)
        guard zLo.isFinite, zHi.isFinite, zHi > zLo else { return .nan }

        @inline(__always)
        func survival(_ z: Double) -> Double {
            -expm1(n * log1p(-NormalDistribution.survival(z)))
        }
        let panels = iidPanels
        let h = (zHi - zLo) / Double(panels)
        var odd = 0.0, even = 0.0
        for j in 1..<panels {
            let v = survival(zLo + Double(j) * h)
            if j & 1 == 1 { odd += v } else { even += v }
        }
        return zLo + h / 3 * (survival(zLo) + 4 * odd + 2 * even + survival(zHi))
    }

    /// E[max(0, X − c)] for X ~ N(μ, σ²) (the expected excess over a threshold c):
    ///
    ///     E[(X − c)⁺] = σ·φ(z) + (μ − c)·(1 − Φ(z)),   z = (c − μ)/σ,
    ///
    /// and max(0, μ − c) when σ = 0. c = +∞ gives 0 and c = −∞ gives +∞.
    ///
    /// - Returns: The expectation, or NaN for σ < 0, a non-finite μ or σ, or NaN c.
    @inlinable
    public static func expectedExcess(mean: Double, standardDeviation: Double, threshold: Double) -> Double {
        guard mean.isFinite, standardDeviation.isFinite, standardDeviation >= 0, !threshold.isNaN else { return .nan }
        if threshold == .infinity { return 0 }
        if threshold == -.infinity { return .infinity }
        if standardDeviation == 0 { return max(0, mean - threshold) }
        let z = (threshold - mean) / standardDeviation
        return standardDeviation * NormalDistribution.pdf(z) + (mean - threshold) * NormalDistribution.survival(z)
    }
}
