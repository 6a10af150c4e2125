import Foundation
import Testing
import SimMath
@testable import SimModel

/// RoutingStats' closed form against a Monte Carlo of the generative model its doc comment states:
/// the T*k assignments of a batch are Multinomial(T*k, p) (for Dirichlet routing p ~ Dirichlet(a) is
/// drawn anew per batch). Every simulation uses a fixed seed, so the numbers below are reproducible.
@Suite struct RoutingStatsTests {
    /// T = 4096 tokens, top-2: T*k = 8192 assignments.
    static let assignments = 8192

    /// Per-batch expert loads drawn from the documented model.
    static func simulate(seed: UInt64, batches: Int, assignments: Int, experts: Int,
                         routing: RoutingDistribution) throws -> [[Int]] {
        let rng = try RandomSource(seed: seed)
        let fixed = RoutingStats.probabilities(routing, count: experts)
        var result: [[Int]] = []
        result.reserveCapacity(batches)
        for _ in 0..<batches {
            var p = fixed
            if case let .dirichlet(a) = routing { p = try rng.dirichlet(alpha: Array(repeating: a, count: experts)) }
            result.append(try rng.multinomial(trials: assignments, probabilities: p))
        }
        return result
    }

    static func meanMax(_ batches: [[Int]]) -> Double {
        batches.reduce(0.0) { $0 + Double($1.max()!) } / Double(batches.count)
    }

    /// E[sum_i max(0, L_i - C)] / (T*k).
    static func meanDroppedFraction(_ batches: [[Int]], capacity: Double, assignments: Int) -> Double {
        let total = batches.reduce(0.0) { sum, loads in sum + loads.reduce(0.0) { $0 + max(0, Double($1) - capacity) } }
        return total / Double(batches.count) / Double(assignments)
    }

    /// Max over devices of the summed loads of each device's `experts / devices` consecutive experts.
    static func meanMaxDevice(_ batches: [[Int]], devices: Int) -> Double {
        batches.reduce(0.0) { sum, loads in
            let per = loads.count / devices
            let deviceLoads = (0..<devices).map { d in loads[(d * per)..<((d + 1) * per)].reduce(0, +) }
            return sum + Double(deviceLoads.max()!)
        } / Double(batches.count)
    }

    // MARK: Uniform

    @Test func uniformExpectedMaxClosedForm() {
        // Each load ~ Binomial(8192, 1/8) ≈ N(1024, 8192 * 1/8 * 7/8 = 896); E[max of 8] = 1024 + z_8 * sqrt(896)
        // with z_8 = 1.42360: 1024 + 1.42360 * 29.9333 = 1066.61.
        let stats = RoutingStats.compute(assignments: 8192, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        let z8 = OrderStatistics.expectedMaximumStandardNormals(count: 8)
        #expect(approx(z8, 1.42360, rel: 1e-5))
        #expect(approx(stats.expectedMaxLoad, 1024 + z8 * 896.0.squareRoot()))
        #expect(approx(stats.expectedMaxLoad, 1066.61, rel: 1e-5))
        #expect(stats.meanLoads.allSatisfy { approx($0, 1024) })
        #expect(approx(stats.imbalance, 1066.61 / 1024, rel: 1e-5))
        #expect(stats.capacityRows == nil)
        #expect(stats.droppedFraction == 0)
        // papers.md (Mixture-of-experts load): "T=4096, E=8, k=2: 1068 simulated vs 1058 predicted". The closed form
        // is within 0.2% of the simulated 1068. (papers.md's own formula T*k/E + z_E*sqrt(T*k/E*(1-k/E)) gives
        // 1024 + 1.4236*27.71 = 1063.4, not 1058; 1066.6 is within 1% of either.)
        #expect(relativeDifference(stats.expectedMaxLoad, 1068) < 0.01)
        #expect(relativeDifference(stats.expectedMaxLoad, 1058) < 0.01)
    }

    @Test func uniformExpectedMaxMatchesMonteCarlo() throws {
        // The closed form treats loads as independent; the multinomial's are negatively correlated (they sum to
        // T*k), which raises E[max] by a factor ~sqrt(E/(E-1)) on the z term: 1024 + 42.6 * 1.069 ≈ 1069.5, 0.3% above.
        // Monte Carlo standard error with 4000 batches: ~13 / sqrt(4000) ≈ 0.2, i.e. 0.02%. Tolerance 2%.
        let stats = RoutingStats.compute(assignments: 8192, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        let mc = Self.meanMax(try Self.simulate(seed: 11, batches: 4000, assignments: 8192, experts: 8, routing: .uniform))
        #expect(relativeDifference(stats.expectedMaxLoad, mc) < 0.02, "closed \(stats.expectedMaxLoad) vs MC \(mc)")
        // And the simulation reproduces papers.md's 1068 (Monte Carlo, same setting) to 0.5%.
        #expect(relativeDifference(mc, 1068) < 0.005, "MC \(mc)")
    }

    // MARK: Zipf

    @Test func zipfProbabilities() {
        // p_i = i^-1.2 / H with H = sum_{i=1}^{16} i^-1.2; most loaded first.
        let h = (1...16).reduce(0.0) { $0 + pow(Double($1), -1.2) }
        let p = RoutingStats.probabilities(.zipf(exponent: 1.2), count: 16)
        #expect(p.count == 16)
        #expect(approx(p.reduce(0, +), 1, rel: 1e-12))
        #expect(approx(p[0], 1 / h))
        #expect(approx(p[1] / p[0], pow(2.0, -1.2)))
        #expect(zip(p, p.dropFirst()).allSatisfy { $0 > $1 })
        // Explicit loads are normalised; Dirichlet's mean is uniform.
        #expect(RoutingStats.probabilities(.explicit(loads: [1, 3]), count: 2) == [0.25, 0.75])
        #expect(RoutingStats.probabilities(.dirichlet(concentration: 0.5), count: 4) == [0.25, 0.25, 0.25, 0.25])
    }

    @Test func zipfExpectedMaxMatchesMonteCarlo() throws {
        // p_1 = 0.3653, so the top expert's mean 8192 * 0.3653 = 2992.4 dominates the maximum; the closed form
        // integrates the max of 16 non-identical normals. Tolerance 2% (MC standard error ~0.03%).
        let routing = RoutingDistribution.zipf(exponent: 1.2)
        let stats = RoutingStats.compute(assignments: 8192, experts: 16, routing: routing, capacityFactor: nil, devices: 1)
        let p1 = RoutingStats.probabilities(routing, count: 16)[0]
        #expect(approx(stats.meanLoads[0], 8192 * p1))
        #expect(stats.expectedMaxLoad >= stats.meanLoads[0])
        let mc = Self.meanMax(try Self.simulate(seed: 12, batches: 4000, assignments: 8192, experts: 16, routing: routing))
        #expect(relativeDifference(stats.expectedMaxLoad, mc) < 0.02, "closed \(stats.expectedMaxLoad) vs MC \(mc)")
    }

    // MARK: Dirichlet

    @Test func dirichletExpectedMaxMatchesMonteCarlo() throws {
        // p ~ Dirichlet(0.5 x 8) per batch, then Multinomial(8192, p). The expected maximum is dominated by
        // max_i p_i (the binomial noise, sd ~30, is small next to T*k*sd(p_i) = 8192*0.148 = 1212), and p_i ~ Beta(0.5, 3.5)
        // is strongly right-skewed. Same 2-3% bar as the other routings (MC standard error ~0.5% with 4000 batches).
        let routing = RoutingDistribution.dirichlet(concentration: 0.5)
        let stats = RoutingStats.compute(assignments: 8192, experts: 8, routing: routing, capacityFactor: nil, devices: 1)
        let mc = Self.meanMax(try Self.simulate(seed: 13, batches: 4000, assignments: 8192, experts: 8, routing: routing))
        #expect(relativeDifference(stats.expectedMaxLoad, mc) < 0.03, "closed \(stats.expectedMaxLoad) vs MC \(mc)")
    }

    @Test func dirichletDroppedFractionMatchesMonteCarlo() throws {
        // Dropped fraction is linear in the per-expert marginals, so only their shape matters (not independence).
        // The closed form matches the Beta-Binomial marginal's mean and variance exactly but replaces its skewed
        // shape by a normal: the measured gap is ~5% at factor 1.0 and ~3.5% at 1.25 (Python check with 20000
        // batches). Tolerance 8% = that shape error plus MC noise (~1%).
        let routing = RoutingDistribution.dirichlet(concentration: 0.5)
        let batches = try Self.simulate(seed: 14, batches: 4000, assignments: 8192, experts: 8, routing: routing)
        for factor in [1.0, 1.25] {
            let stats = RoutingStats.compute(assignments: 8192, experts: 8, routing: routing, capacityFactor: factor, devices: 1)
            let c = try #require(stats.capacityRows)
            let mc = Self.meanDroppedFraction(batches, capacity: c, assignments: 8192)
            #expect(relativeDifference(stats.droppedFraction, mc) < 0.08, "factor \(factor): closed \(stats.droppedFraction) vs MC \(mc)")
        }
    }

    // MARK: Dropped tokens

    @Test func uniformDroppedFraction() throws {
        // Factor 1.0: C = ceil(1.0 * 8192/8) = 1024 = the mean; E[(L - C)+] = sd * phi(0) = 29.9333 * 0.398942 = 11.9417
        // per expert; dropped fraction = 8 * 11.9417 / 8192 = 0.0116618.
        let one = RoutingStats.compute(assignments: 8192, experts: 8, routing: .uniform, capacityFactor: 1.0, devices: 1)
        #expect(one.capacityRows == 1024)
        #expect(approx(one.droppedFraction, 8 * 896.0.squareRoot() / (2 * Double.pi).squareRoot() / 8192, rel: 1e-9))
        #expect(approx(one.droppedFraction, 0.0116618, rel: 1e-5))
        // Factor 1.25: C = 1280 is (1280 - 1024) / 29.93 = 8.55 sd above the mean: nothing is dropped.
        let more = RoutingStats.compute(assignments: 8192, experts: 8, routing: .uniform, capacityFactor: 1.25, devices: 1)
        #expect(more.capacityRows == 1280)
        #expect(more.droppedFraction < 1e-12)

        // Monte Carlo: the marginal is exactly Binomial(8192, 1/8), whose mean excess over its mean differs from the
        // normal's by O(1/n) (skewness 0.026): well under 1%. MC standard error with 4000 batches ~0.5%. Tolerance 3%.
        let batches = try Self.simulate(seed: 15, batches: 4000, assignments: 8192, experts: 8, routing: .uniform)
        let mcOne = Self.meanDroppedFraction(batches, capacity: 1024, assignments: 8192)
        #expect(relativeDifference(one.droppedFraction, mcOne) < 0.03, "closed \(one.droppedFraction) vs MC \(mcOne)")
        let mcMore = Self.meanDroppedFraction(batches, capacity: 1280, assignments: 8192)
        #expect(mcMore < 1e-6)
    }

    @Test func zipfDroppedFraction() throws {
        // Zipf 1.2 over 16 experts: capacity 512 (factor 1.0) or 640 (1.25) rows; the top experts' means
        // (2992, 1303, 801, ...) are far above capacity, so the drop is mostly deterministic excess and the closed
        // form should match the simulation closely. Tolerance 2% (MC standard error ~0.05%).
        let routing = RoutingDistribution.zipf(exponent: 1.2)
        let batches = try Self.simulate(seed: 16, batches: 4000, assignments: 8192, experts: 16, routing: routing)
        for (factor, capacity) in [(1.0, 512.0), (1.25, 640.0)] {
            let stats = RoutingStats.compute(assignments: 8192, experts: 16, routing: routing, capacityFactor: factor, devices: 1)
            #expect(stats.capacityRows == capacity)
            let mc = Self.meanDroppedFraction(batches, capacity: capacity, assignments: 8192)
            #expect(relativeDifference(stats.droppedFraction, mc) < 0.02, "factor \(factor): closed \(stats.droppedFraction) vs MC \(mc)")
            // Lower bound: the deterministic excess sum_i max(0, mean_i - C) / (T*k) (Jensen: E[(L-C)+] >= (E L - C)+).
            let deterministic = stats.meanLoads.reduce(0.0) { $0 + max(0, $1 - capacity) } / 8192
            #expect(stats.droppedFraction >= deterministic)
        }
    }

    // MARK: Expert parallelism

    @Test func uniformDeviceMaxMatchesMonteCarlo() throws {
        // 8 experts on 4 devices, 2 consecutive experts each: device load ~ Binomial(8192, 1/4) ≈ N(2048, 1536);
        // E[max of 4] = 2048 + z_4 * sqrt(1536) = 2048 + 1.029375 * 39.1918 = 2088.34. MC ≈ 2094.6 (negative
        // correlation again, 0.3%). Tolerance 2%.
        let stats = RoutingStats.compute(assignments: 8192, experts: 8, routing: .uniform, capacityFactor: nil, devices: 4)
        #expect(stats.devices == 4)
        let z4 = OrderStatistics.expectedMaximumStandardNormals(count: 4)
        #expect(approx(stats.expectedMaxDeviceLoad, 2048 + z4 * 1536.0.squareRoot(), rel: 1e-5))
        let mc = Self.meanMaxDevice(try Self.simulate(seed: 17, batches: 4000, assignments: 8192, experts: 8, routing: .uniform),
                                    devices: 4)
        #expect(relativeDifference(stats.expectedMaxDeviceLoad, mc) < 0.02, "closed \(stats.expectedMaxDeviceLoad) vs MC \(mc)")
    }

    @Test func zipfDeviceMaxMatchesMonteCarlo() throws {
        // 16 zipf experts on 4 devices (4 each): device 0 holds the 4 most popular (mean ≈ 5662). Tolerance 2%.
        let routing = RoutingDistribution.zipf(exponent: 1.2)
        let stats = RoutingStats.compute(assignments: 8192, experts: 16, routing: routing, capacityFactor: nil, devices: 4)
        let mc = Self.meanMaxDevice(try Self.simulate(seed: 18, batches: 4000, assignments: 8192, experts: 16, routing: routing),
                                    devices: 4)
        #expect(relativeDifference(stats.expectedMaxDeviceLoad, mc) < 0.02, "closed \(stats.expectedMaxDeviceLoad) vs MC \(mc)")
        // With capacity factor 1.0 a device can process at most capacity * experts per device = 512 * 4 = 2048 rows.
        let capped = RoutingStats.compute(assignments: 8192, experts: 16, routing: routing, capacityFactor: 1.0, devices: 4)
        #expect(approx(capped.expectedMaxDeviceLoad, 2048))
    }

    @Test func oneExpertPerDeviceIsTheExpertMax() {
        // devices == experts: a device's load is its one expert's load, so the device max is the expert max
        // (the general integrator vs the i.i.d. fast path: agree to its documented 2e-5 accuracy).
        let stats = RoutingStats.compute(assignments: 8192, experts: 8, routing: .uniform, capacityFactor: nil, devices: 8)
        #expect(approx(stats.expectedMaxDeviceLoad, stats.expectedMaxLoad, rel: 1e-4))
    }

    @Test func singleExpertTakesEverything() {
        let stats = RoutingStats.compute(assignments: 100, experts: 1, routing: .uniform, capacityFactor: nil, devices: 1)
        #expect(stats.expectedMaxLoad == 100)
        #expect(approx(stats.imbalance, 1))
    }
}
