import Testing
import SimMath

@Suite struct RandomSourceTests {
    @Test func sameSeedSameSequence() throws {
        let a = try RandomSource(seed: 12345), b = try RandomSource(seed: 12345)
        for _ in 0..<100 {
            #expect(a.uniform() == b.uniform())
            #expect(a.gaussian(sigma: 2) == b.gaussian(sigma: 2))
            #expect(try a.gamma(shape: 0.7, scale: 3) == b.gamma(shape: 0.7, scale: 3))
            #expect(try a.binomial(trials: 50, probability: 0.3) == b.binomial(trials: 50, probability: 0.3))
            #expect(try a.multinomial(trials: 20, probabilities: [1, 2, 3]) == b.multinomial(trials: 20, probabilities: [1, 2, 3]))
            #expect(try a.dirichlet(alpha: [0.5, 1, 2]) == b.dirichlet(alpha: [0.5, 1, 2]))
            #expect(a.bernoulli(0.4) == b.bernoulli(0.4))
            #expect(try a.categorical([0.1, 0.0, 0.9]) == b.categorical([0.1, 0.0, 0.9]))
        }
        let c = try RandomSource(seed: 12346)
        let fresh = try RandomSource(seed: 12345)
        #expect((0..<10).map { _ in c.uniform() } != (0..<10).map { _ in fresh.uniform() })
    }

    @Test func seedZeroIsAllowedAndHighBitsMatter() throws {
        let zero = try RandomSource(seed: 0), gslDefault = try RandomSource(seed: 4357)
        #expect(zero.uniform() == gslDefault.uniform())  // documented: 0 means GSL's default
        let high = try RandomSource(seed: 1 << 40), low = try RandomSource(seed: 0)
        #expect(high.uniform() != low.uniform())
        #expect(RandomSource.gslSeed(42) == 42)
    }

    @Test func uniformRange() throws {
        let rng = try RandomSource(seed: 1)
        for _ in 0..<10_000 {
            let u = rng.uniform()
            #expect(u >= 0 && u < 1)
        }
    }

    @Test func multinomialSumsToTrials() throws {
        let rng = try RandomSource(seed: 3)
        for trials in [0, 1, 17, 1000] {
            let counts = try rng.multinomial(trials: trials, probabilities: [0.2, 5, 0, 1.3])
            #expect(counts.count == 4)
            #expect(counts.reduce(0, +) == trials)
            #expect(counts[2] == 0)
        }
    }

    @Test func dirichletSumsToOne() throws {
        let rng = try RandomSource(seed: 4)
        for alpha in [[1.0, 1, 1], [0.05, 0.1, 0.2, 10], [1000, 1]] {
            let theta = try rng.dirichlet(alpha: alpha)
            #expect(theta.count == alpha.count)
            #expect(theta.allSatisfy { $0 >= 0 })
            #expect(isClose(theta.reduce(0, +), 1, relative: 1e-12))
        }
    }

    @Test func momentsWithinTolerance() throws {
        let rng = try RandomSource(seed: 5)
        let draws = 20_000
        var binomialSum = 0, gammaSum = 0.0, bernoulliCount = 0, gaussianSquares = 0.0
        var categoryCounts = [0, 0, 0]
        for _ in 0..<draws {
            binomialSum += try rng.binomial(trials: 40, probability: 0.25)
            gammaSum += try rng.gamma(shape: 2, scale: 1.5)
            if rng.bernoulli(0.3) { bernoulliCount += 1 }
            let g = rng.gaussian(sigma: 2)
            gaussianSquares += g * g
            categoryCounts[try rng.categorical([1, 2, 7])] += 1
        }
        let n = Double(draws)
        #expect(isClose(Double(binomialSum) / n, 10, relative: 0.01))  // sd of mean ≈ 0.02
        #expect(isClose(gammaSum / n, 3, relative: 0.02))
        #expect(isClose(Double(bernoulliCount) / n, 0.3, relative: 0.03))
        #expect(isClose(gaussianSquares / n, 4, relative: 0.03))
        #expect(isClose(Double(categoryCounts[2]) / n, 0.7, relative: 0.02))
    }

    @Test func bernoulliAndCategoricalEdgeCases() throws {
        let rng = try RandomSource(seed: 6)
        for _ in 0..<1000 {
            #expect(rng.bernoulli(1))
            #expect(!rng.bernoulli(0))
            #expect(try rng.categorical([0, 0, 3, 0]) == 2)
        }
        #expect(try rng.binomial(trials: 10, probability: 1) == 10)
        #expect(try rng.binomial(trials: 0, probability: 0.5) == 0)
    }

    @Test func invalidParametersThrow() throws {
        let rng = try RandomSource(seed: 7)
        #expect(throws: RandomSourceError.trialsOutOfRange(trials: Int(UInt32.max) + 1)) {
            try rng.binomial(trials: Int(UInt32.max) + 1, probability: 0.5)
        }
        #expect(throws: RandomSourceError.trialsOutOfRange(trials: -1)) { try rng.binomial(trials: -1, probability: 0.5) }
        #expect(throws: RandomSourceError.self) { try rng.binomial(trials: 3, probability: 1.5) }
        #expect(throws: RandomSourceError.self) { try rng.multinomial(trials: 3, probabilities: []) }
        #expect(throws: RandomSourceError.self) { try rng.multinomial(trials: 3, probabilities: [0, 0]) }
        #expect(throws: RandomSourceError.self) { try rng.multinomial(trials: 3, probabilities: [1, -1]) }
        #expect(throws: RandomSourceError.self) { try rng.dirichlet(alpha: [1, 0]) }
        #expect(throws: RandomSourceError.self) { try rng.categorical([.nan]) }
        #expect(throws: RandomSourceError.self) { try rng.gamma(shape: 0, scale: 1) }
        #expect(throws: RandomSourceError.self) { try rng.gamma(shape: 1, scale: -1) }
    }

    @Test func derivedSeedsAreDeterministicAndDistinct() throws {
        let seeds = (0..<1000).map { RandomSource.derivedSeed(base: 42, stream: UInt64($0)) }
        #expect(Set(seeds).count == seeds.count)
        #expect(RandomSource.derivedSeed(base: 42, stream: 3) == seeds[3])
        #expect(RandomSource.derivedSeed(base: 43, stream: 3) != seeds[3])
        let a = try RandomSource(seed: seeds[0]), b = try RandomSource(seed: seeds[1])
        #expect((0..<8).map { _ in a.uniform() } != (0..<8).map { _ in b.uniform() })
    }
}
