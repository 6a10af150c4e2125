import Testing
import SimMath

@Suite struct NormalDistributionTests {
    @Test func knownValues() {
        #expect(NormalDistribution.cdf(0) == 0.5)
        #expect(isClose(NormalDistribution.cdf(1.959963984540054), 0.975, relative: 1e-12))
        #expect(isClose(NormalDistribution.cdf(-3), 0.0013498980316300946, relative: 1e-12))
        #expect(isClose(NormalDistribution.cdf(-30), 4.906713927148187e-198, relative: 1e-10))
        #expect(isClose(NormalDistribution.pdf(0), 0.3989422804014327, relative: 1e-15))
        #expect(isClose(NormalDistribution.pdf(2), 0.05399096651318806, relative: 1e-14))
        #expect(NormalDistribution.cdf(.infinity) == 1)
        #expect(NormalDistribution.cdf(-.infinity) == 0)
    }

    @Test func cdfQuantileRoundTrip() {
        for p in [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-9] {
            let z = NormalDistribution.quantile(p)
            #expect(isClose(NormalDistribution.cdf(z), p, relative: 1e-9), "p = \(p)")
        }
        for z in [-8.0, -2.5, -0.1, 0.0, 0.4, 1.5, 3.0] {
            #expect(isClose(NormalDistribution.quantile(NormalDistribution.cdf(z)), z, relative: 1e-9, floor: 1e-12), "z = \(z)")
        }
        for q in [1e-20, 1e-8, 0.2] {
            #expect(isClose(NormalDistribution.survival(NormalDistribution.survivalQuantile(q)), q, relative: 1e-9))
        }
    }

    @Test func quantileEdgeCases() {
        #expect(NormalDistribution.quantile(0) == -.infinity)
        #expect(NormalDistribution.quantile(1) == .infinity)
        #expect(NormalDistribution.quantile(-0.1).isNaN)
        #expect(NormalDistribution.quantile(1.1).isNaN)
        #expect(NormalDistribution.quantile(.nan).isNaN)
    }
}
