import Foundation
import Testing
import SimMath
@testable import SimModel

/// RoutingStats' closed form against a Monte Carlo of the generative model it states (``TopKDesign``):
/// each token picks k distinct experts by the conditional Poisson design with the routing weights (for
/// Dirichlet routing the weights are drawn per batch). The draws use the design's exact sequential
/// sampler, as the event engine does. Every simulation has a fixed seed.
@Suite struct RoutingStatsTests {
    struct Simulation {
        var meanMax = 0.0, maxStandardError = 0.0
        var meanTouched = 0.0
        var meanDropped = 0.0, droppedStandardError = 0.0
        var meanMaxDevice = 0.0
    }

    /// Loads of `batches` batches of T tokens, with the statistics the closed form predicts.
    static func simulate(seed: UInt64, batches: Int, tokens t: Int, topK k: Int, experts e: Int, routing: RoutingDistribution,
                         capacity: Double? = nil, devices: Int = 1) throws -> Simulation {
        let rng = try RandomSource(seed: seed)
        let fixed = TopKDesign(shares: RoutingStats.probabilities(routing, count: e), topK: k)
        var sim = Simulation()
        var sumSquares = 0.0, dropSquares = 0.0
        for _ in 0..<batches {
            var design = fixed
            if case let .dirichlet(a) = routing { design = TopKDesign(shares: try rng.dirichlet(alpha: Array(repeating: a, count: e)), topK: k) }
            let loads = design.draw(tokens: t) { n, a in (try? rng.binomial(trials: n, probability: a)) ?? 0 }
            #expect(loads.reduce(0, +) == t * k)
            #expect(loads.allSatisfy { $0 <= t })
            let m = Double(loads.max() ?? 0)
            sim.meanMax += m
            sumSquares += m * m
            sim.meanTouched += Double(loads.filter { $0 > 0 }.count)
            if let c = capacity {
                let dropped = loads.reduce(0.0) { $0 + max(0, Double($1) - c) } / Double(t * k)
                sim.meanDropped += dropped
                dropSquares += dropped * dropped
            }
            let per = e / devices
            sim.meanMaxDevice += Double((0..<devices).map { d in loads[(d * per)..<((d + 1) * per)].reduce(0, +) }.max() ?? 0)
        }
        let n = Double(batches)
        sim.meanMax /= n
        sim.maxStandardError = (max(0, sumSquares / n - sim.meanMax * sim.meanMax) / n).squareRoot()
        sim.meanTouched /= n
        sim.meanDropped /= n
        sim.droppedStandardError = (max(0, dropSquares / n - sim.meanDropped * sim.meanDropped) / n).squareRoot()
        sim.meanMaxDevice /= n
        return sim
    }

    // MARK: The model

    @Test func topKPicksDistinctExperts() throws {
        // Every token takes exactly k distinct experts: loads sum to T*k and none exceeds T (checked in simulate),
        // also when one expert's weight would ask for more than every token (explicit [100, 1, 1, 1], top-2).
        _ = try Self.simulate(seed: 1, batches: 200, tokens: 50, topK: 2, experts: 4, routing: .explicit(loads: [100, 1, 1, 1]))
        let design = TopKDesign(shares: [100, 1, 1, 1], topK: 2)
        #expect(design.inclusion.allSatisfy { $0 <= 1 })
        #expect(approx(design.inclusion.reduce(0, +), 2, rel: 1e-12))
        // Fewer weighted experts than picks: those are certain, the rest spread evenly.
        let sparse = TopKDesign(shares: [1, 0, 0, 0], topK: 2)
        let third: Double = 1.0 / 3
        let expected: [Double] = [1, third, third, third]
        #expect(sparse.inclusion == expected)
    }

    @Test func touchedExpertsUniformIsExact() {
        // Uniform top-k: each expert is missed by a token with probability 1 - k/E, so E[touched] = E(1 - (1 - k/E)^T).
        for (t, k, e) in [(1, 2, 8), (3, 2, 8), (16, 2, 64), (1000, 8, 256)] {
            let stats = RoutingStats.compute(tokens: Double(t), topK: k, experts: e, routing: .uniform, capacityFactor: nil, devices: 1)
            let exact = Double(e) * (1 - pow(1 - Double(k) / Double(e), Double(t)))
            #expect(approx(stats.touchedExpertsAllDevices, exact, rel: 1e-12), "T=\(t) k=\(k) E=\(e)")
        }
        // Mixtral-shaped decode, batch 1: exactly 2 of 8 experts are read.
        let one = RoutingStats.compute(tokens: 1, topK: 2, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        #expect(approx(one.touchedExperts, 2))
        #expect(one.expectedMaxLoad == 1)
    }

    @Test func touchedExpertsSkewedIsSumOfMarginals() {
        // Skewed routing: sum_i 1 - (1 - pi_i)^T with the design's inclusion probabilities.
        let design = TopKDesign(shares: RoutingStats.probabilities(.zipf(exponent: 1.2), count: 16), topK: 2)
        let stats = RoutingStats.compute(tokens: 5, topK: 2, experts: 16, routing: .zipf(exponent: 1.2), capacityFactor: nil, devices: 1)
        let exact = design.inclusion.reduce(0.0) { $0 + 1 - pow(1 - $1, 5) }
        #expect(approx(stats.touchedExpertsAllDevices, exact, rel: 1e-12))
    }

    /// The expected maximum load within 2% of Monte Carlo (plus twice the simulation's standard error) from
    /// 0.25 to 64 assignments per expert, for uniform, zipf and Dirichlet routing, one and two picks; touched
    /// experts within 2%, drops within 3% (plus twice the standard error).
    @Test(arguments: [RoutingDistribution.uniform, .zipf(exponent: 1.2), .dirichlet(concentration: 0.3), .dirichlet(concentration: 5)])
    func expectedMaximumMatchesMonteCarlo(routing: RoutingDistribution) throws {
        var seed: UInt64 = 100
        for e in [4, 8, 16, 64] {
            for k in [1, 2] {
                for perExpert in [0.25, 1, 4, 16, 64] {
                    let t = Int((perExpert * Double(e) / Double(k)).rounded())
                    guard t >= 1 else { continue }
                    seed += 1
                    let stats = RoutingStats.compute(tokens: Double(t), topK: k, experts: e, routing: routing, capacityFactor: 1.25, devices: 1)
                    let sim = try Self.simulate(seed: seed, batches: 2000, tokens: t, topK: k, experts: e, routing: routing,
                                                capacity: stats.capacityRows)
                    let tolerance = 0.02 + 2 * sim.maxStandardError / sim.meanMax
                    #expect(relativeDifference(stats.expectedMaxLoad, sim.meanMax) < tolerance,
                            "E=\(e) k=\(k) T=\(t): closed \(stats.expectedMaxLoad) vs MC \(sim.meanMax) ± \(sim.maxStandardError)")
                    #expect(relativeDifference(stats.touchedExpertsAllDevices, sim.meanTouched) < 0.02,
                            "touched E=\(e) k=\(k) T=\(t): closed \(stats.touchedExpertsAllDevices) vs MC \(sim.meanTouched)")
                    if sim.meanDropped > 0.01 {
                        #expect(relativeDifference(stats.droppedFraction, sim.meanDropped) < 0.03 + 2 * sim.droppedStandardError / sim.meanDropped,
                                "drops E=\(e) k=\(k) T=\(t): closed \(stats.droppedFraction) vs MC \(sim.meanDropped)")
                    }
                }
            }
        }
    }

    @Test func uniformLargeLoadMatchesPapersFigure() throws {
        // papers.md (Mixture-of-experts load): T = 4096, E = 8, top-2: 1068 simulated. Loads of 1024 per expert
        // take the continuous form: mean + sigma sqrt(E/(E-1)) z_8.
        let stats = RoutingStats.compute(tokens: 4096, topK: 2, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        #expect(relativeDifference(stats.expectedMaxLoad, 1068) < 0.01, "\(stats.expectedMaxLoad)")
        let sim = try Self.simulate(seed: 11, batches: 1000, tokens: 4096, topK: 2, experts: 8, routing: .uniform)
        #expect(relativeDifference(stats.expectedMaxLoad, sim.meanMax) < 0.01, "closed \(stats.expectedMaxLoad) vs MC \(sim.meanMax)")
    }

    @Test func zipfProbabilities() {
        // p_i = i^-1.2 / H with H = sum_{i=1}^{16} i^-1.2; most loaded first.
        let h = (1...16).reduce(0.0) { $0 + pow(Double($1), -1.2) }
        let p = RoutingStats.probabilities(.zipf(exponent: 1.2), count: 16)
        #expect(p.count == 16)
        #expect(approx(p.reduce(0, +), 1, rel: 1e-12))
        #expect(approx(p[0], 1 / h))
        #expect(approx(p[1] / p[0], pow(2.0, -1.2)))
        #expect(zip(p, p.dropFirst()).allSatisfy { $0 > $1 })
        #expect(RoutingStats.probabilities(.explicit(loads: [1, 3]), count: 2) == [0.25, 0.75])
        #expect(RoutingStats.probabilities(.dirichlet(concentration: 0.5), count: 4) == [0.25, 0.25, 0.25, 0.25])
    }

    // MARK: Dropped tokens

    @Test func droppedFractionIsTheBinomialExcess() {
        // Uniform top-2 of 8, T = 4096: each load is Binomial(4096, 1/4) exactly; capacity 1.0 -> 1024 rows.
        let stats = RoutingStats.compute(tokens: 4096, topK: 2, experts: 8, routing: .uniform, capacityFactor: 1.0, devices: 1)
        #expect(stats.capacityRows == 1024)
        var excess = 0.0
        for y in 1025...4096 {
            excess += (Double(y) - 1024) * exp(CountLaw(.binomial(trials: 4096, probability: 0.25)).logPMF(y))
        }
        #expect(approx(stats.droppedFraction, 8 * excess / 8192, rel: 1e-6))
        let roomy = RoutingStats.compute(tokens: 4096, topK: 2, experts: 8, routing: .uniform, capacityFactor: 1.25, devices: 1)
        #expect(roomy.droppedFraction < 1e-9)
    }

    // MARK: Expert parallelism

    @Test(arguments: [RoutingDistribution.uniform, .zipf(exponent: 1.2), .dirichlet(concentration: 0.5)])
    func deviceMaximumMatchesMonteCarlo(routing: RoutingDistribution) throws {
        for (t, k, e, devices) in [(512, 2, 8, 4), (64, 2, 16, 4), (2048, 1, 16, 8)] {
            let stats = RoutingStats.compute(tokens: Double(t), topK: k, experts: e, routing: routing, capacityFactor: nil, devices: devices)
            let sim = try Self.simulate(seed: 200 + UInt64(t), batches: 2000, tokens: t, topK: k, experts: e, routing: routing, devices: devices)
            #expect(relativeDifference(stats.expectedMaxDeviceLoad, sim.meanMaxDevice) < 0.02,
                    "T=\(t) k=\(k) E=\(e) D=\(devices): closed \(stats.expectedMaxDeviceLoad) vs MC \(sim.meanMaxDevice)")
        }
        // With a capacity factor a device processes at most capacity x experts per device.
        let capped = RoutingStats.compute(tokens: 4096, topK: 2, experts: 16, routing: .zipf(exponent: 1.2), capacityFactor: 1.0, devices: 4)
        #expect(approx(capped.expectedMaxDeviceLoad, 512 * 4))
    }

    @Test func singleExpertTakesEverything() {
        let stats = RoutingStats.compute(tokens: 100, topK: 1, experts: 1, routing: .uniform, capacityFactor: nil, devices: 1)
        #expect(stats.expectedMaxLoad == 100)
        #expect(approx(stats.imbalance, 1))
    }

    @Test func fractionalTokensInterpolate() {
        let low = RoutingStats.compute(tokens: 4, topK: 2, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        let high = RoutingStats.compute(tokens: 5, topK: 2, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        let mid = RoutingStats.compute(tokens: 4.25, topK: 2, experts: 8, routing: .uniform, capacityFactor: nil, devices: 1)
        #expect(approx(mid.expectedMaxLoad, low.expectedMaxLoad + 0.25 * (high.expectedMaxLoad - low.expectedMaxLoad)))
        #expect(approx(mid.touchedExperts, low.touchedExperts + 0.25 * (high.touchedExperts - low.touchedExperts)))
    }
}
