import Foundation
import Testing
import SimMath

@Suite struct OrderStatisticsTests {
    @Test("many components (over 1,024 active: pooled, bounded work) agree with the closed forms")
    func manyComponents() {
        // 50,000 identical normals: the i.i.d. closed form μ + σ·z_n.
        let n = 50_000
        let pooled = OrderStatistics.expectedMaximum(means: .init(repeating: 10, count: n), standardDeviations: .init(repeating: 2, count: n))
        let iid = OrderStatistics.expectedMaximumOfIID(count: n, mean: 10, standardDeviation: 2)
        #expect(abs(pooled - iid) <= 1e-3 * iid, "\(pooled) vs \(iid)")
        // 600 normals at 20 beside 20,000 at 0 (20 σ below): the maximum is the 600's.
        let means = [Double](repeating: 20, count: 600) + [Double](repeating: 0, count: 20_000)
        let mixed = OrderStatistics.expectedMaximum(means: means, standardDeviations: .init(repeating: 1, count: means.count))
        let top = OrderStatistics.expectedMaximumOfIID(count: 600, mean: 20, standardDeviation: 1)
        #expect(abs(mixed - top) <= 1e-3 * top, "\(mixed) vs \(top)")
    }

    @Test func expectedMaximumOfStandardNormals() {
        // Reference values from an independent 200 000-point trapezoid integration;
        // z_E(2) = 1/√π exactly, z_E(100) = 2.50759 is the classical table value.
        let reference: [(Int, Double)] = [
            (2, 1 / Double.pi.squareRoot()), (8, 1.4236), (64, 2.3437), (100, 2.5076), (128, 2.5946),
        ]
        for (n, expected) in reference {
            #expect(isClose(OrderStatistics.expectedMaximumStandardNormals(count: n), expected, relative: 2e-3), "n = \(n)")
        }
        #expect(OrderStatistics.expectedMaximumStandardNormals(count: 1) == 0)
        #expect(OrderStatistics.expectedMaximumStandardNormals(count: 0).isNaN)
        // Grows like √(2 ln n) and stays finite for huge n.
        let huge = OrderStatistics.expectedMaximumStandardNormals(count: 1 << 40)
        #expect(huge > 6.5 && huge < 7.5)
    }

    @Test func iidMatchesGeneralAndScales() {
        let iid = OrderStatistics.expectedMaximumOfIID(count: 8, mean: 3, standardDeviation: 2)
        let general = OrderStatistics.expectedMaximum(
            means: [Double](repeating: 3, count: 8), standardDeviations: [Double](repeating: 2, count: 8))
        #expect(isClose(iid, 3 + 2 * 1.4236003, relative: 1e-6))
        #expect(isClose(general, iid, relative: 1e-5))
        #expect(OrderStatistics.expectedMaximumOfIID(count: 5, mean: 4, standardDeviation: 0) == 4)
        #expect(OrderStatistics.expectedMaximumOfIID(count: 0, mean: 4, standardDeviation: 1).isNaN)
        #expect(OrderStatistics.expectedMaximumOfIID(count: 3, mean: 4, standardDeviation: -1).isNaN)
    }

    @Test func closedFormCases() {
        // Two independent normals: E[max] = μ1 Φ(d) + μ2 Φ(−d) + θ φ(d), θ² = σ1² + σ2², d = (μ1 − μ2)/θ.
        let (m1, s1, m2, s2) = (1.0, 0.5, 1.7, 2.0)
        let theta = (s1 * s1 + s2 * s2).squareRoot(), d = (m1 - m2) / theta
        let exact = m1 * NormalDistribution.cdf(d) + m2 * NormalDistribution.cdf(-d) + theta * NormalDistribution.pdf(d)
        #expect(isClose(OrderStatistics.expectedMaximum(means: [m1, m2], standardDeviations: [s1, s2]), exact, relative: 1e-4))
        // Point mass c with N(0, 1): E[max(c, X)] = c + E[(X − c)⁺].
        let withPoint = OrderStatistics.expectedMaximum(means: [0, 0.3], standardDeviations: [1, 0])
        #expect(isClose(withPoint, 0.3 + OrderStatistics.expectedExcess(mean: 0, standardDeviation: 1, threshold: 0.3), relative: 1e-4))
        #expect(OrderStatistics.expectedMaximum(means: [1, 2.5, -1], standardDeviations: [0, 0, 0]) == 2.5)
        #expect(OrderStatistics.expectedMaximum(means: [4], standardDeviations: [3]) == 4)
        #expect(OrderStatistics.expectedMaximum(means: [10_000, 0], standardDeviations: [1, 1_000]) == 10_000)
    }

    @Test func invalidInputGivesNaN() {
        #expect(OrderStatistics.expectedMaximum(means: [], standardDeviations: []).isNaN)
        #expect(OrderStatistics.expectedMaximum(means: [1, 2], standardDeviations: [1]).isNaN)
        #expect(OrderStatistics.expectedMaximum(means: [1, 2], standardDeviations: [1, -1]).isNaN)
        #expect(OrderStatistics.expectedMaximum(means: [1, .nan], standardDeviations: [1, 1]).isNaN)
    }

    @Test func expectedMaximumAgainstMonteCarlo() throws {
        let means = [0.0, 0.5, 3.0, -1.0, 2.0]
        let sds = [1.0, 2.0, 0.5, 3.0, 0.0]
        let rng = try RandomSource(seed: 2024)
        let samples = 200_000
        var sum = 0.0
        for _ in 0..<samples {
            var best = -Double.infinity
            for i in means.indices { best = max(best, means[i] + rng.gaussian(sigma: sds[i])) }
            sum += best
        }
        let estimate = sum / Double(samples)
        let analytic = OrderStatistics.expectedMaximum(means: means, standardDeviations: sds)
        #expect(isClose(analytic, estimate, relative: 0.01), "analytic \(analytic) vs Monte Carlo \(estimate)")
    }

    @Test func expectedExcessAgainstMonteCarlo() throws {
        let rng = try RandomSource(seed: 99)
        for (mean, sd, threshold) in [(1.0, 2.0, 1.5), (10.0, 3.0, 4.0), (0.0, 1.0, 1.0)] {
            let samples = 200_000
            var sum = 0.0
            for _ in 0..<samples { sum += max(0, mean + rng.gaussian(sigma: sd) - threshold) }
            let estimate = sum / Double(samples)
            let analytic = OrderStatistics.expectedExcess(mean: mean, standardDeviation: sd, threshold: threshold)
            #expect(isClose(analytic, estimate, relative: 0.015), "(\(mean), \(sd), \(threshold)): \(analytic) vs \(estimate)")
        }
    }

    @Test func expectedExcessEdgeCases() {
        #expect(OrderStatistics.expectedExcess(mean: 5, standardDeviation: 0, threshold: 3) == 2)
        #expect(OrderStatistics.expectedExcess(mean: 1, standardDeviation: 0, threshold: 3) == 0)
        #expect(isClose(OrderStatistics.expectedExcess(mean: 0, standardDeviation: 1, threshold: 0), 0.3989422804014327, relative: 1e-15))
        // Far below the mean the excess is μ − c.
        #expect(isClose(OrderStatistics.expectedExcess(mean: 100, standardDeviation: 1, threshold: 0), 100, relative: 1e-15))
        #expect(OrderStatistics.expectedExcess(mean: 0, standardDeviation: 1, threshold: .infinity) == 0)
        #expect(OrderStatistics.expectedExcess(mean: 0, standardDeviation: -1, threshold: 0).isNaN)
    }
}
