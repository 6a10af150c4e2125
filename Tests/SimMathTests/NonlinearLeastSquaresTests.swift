import Foundation
import Testing
import SimMath

@Suite struct NonlinearLeastSquaresTests {
    // MARK: - Models and data

    /// y = A exp(−λ t) + b, p = [A, λ, b].
    static func decay(_ x: [Double], _ p: [Double]) -> Double {
        p[0] * exp(-p[1] * x[0]) + p[2]
    }

    static let decayTruth = [5.0, 0.7, 1.2]

    /// n points t evenly spread over [0, 10].
    static func decayData(n: Int, sigma: Double = 0, rng: RandomSource? = nil) -> (x: [[Double]], y: [Double]) {
        let x = (0..<n).map { [10 * Double($0) / Double(n - 1)] }
        let y = x.map { decay($0, decayTruth) + (rng?.gaussian(sigma: sigma) ?? 0) }
        return (x, y)
    }

    /// The saturating-efficiency cost model t(F) = o + (F + h)/(P e), x = [F, P], p = [o, e, h].
    static func cost(_ x: [Double], _ p: [Double]) -> Double {
        p[0] + (x[0] + p[2]) / (x[1] * p[1])
    }

    /// t = o + max((F + h)/(P e), (B + hb)/(W m)), x = [F, B], p = [o, e, m]; P, W, h, hb known.
    static let peak = 1e11, bandwidth = 2e10, flopOverhead = 1e6, byteOverhead = 5e5
    static func roofline(_ x: [Double], _ p: [Double]) -> Double {
        p[0] + max((x[0] + flopOverhead) / (peak * p[1]), (x[1] + byteOverhead) / (bandwidth * p[2]))
    }

    // MARK: - Recovery

    @Test func exactRecoveryOfExponentialDecay() throws {
        let (x, y) = Self.decayData(n: 41)
        let result = try NonlinearLeastSquares.fit(x: x, y: y, initial: [3, 0.3, 0], model: Self.decay)
        #expect(result.converged, "\(result.reason)")
        #expect(result.reason == "small step" || result.reason == "small gradient")
        for j in 0..<3 {
            #expect(isClose(result.parameters[j], Self.decayTruth[j], relative: 1e-7), "parameter \(j)")
        }
        #expect(result.chiSquared < 1e-18)
        #expect(isClose(result.rSquared, 1, relative: 1e-12))
        #expect(result.iterations > 0 && result.iterations < 200)
        #expect(result.covariance.count == 3 && result.covariance.allSatisfy { $0.count == 3 })
    }

    @Test func startingAtTheSolutionConvergesWithoutIterating() throws {
        let (x, y) = Self.decayData(n: 21)
        let result = try NonlinearLeastSquares.fit(x: x, y: y, initial: Self.decayTruth, model: Self.decay)
        #expect(result.converged, "\(result.reason)")
        #expect(result.parameters == Self.decayTruth)
    }

    @Test func noisyDataWithinStandardErrorsAndErrorsShrinkWithN() throws {
        let sigma = 0.05
        let rng = try RandomSource(seed: 20_240_611)
        let small = Self.decayData(n: 50, sigma: sigma, rng: rng)
        let large = Self.decayData(n: 200, sigma: sigma, rng: rng)
        let fitSmall = try NonlinearLeastSquares.fit(x: small.x, y: small.y, initial: [3, 0.3, 0], model: Self.decay)
        let fitLarge = try NonlinearLeastSquares.fit(x: large.x, y: large.y, initial: [3, 0.3, 0], model: Self.decay)
        for (fit, n) in [(fitSmall, 50.0), (fitLarge, 200.0)] {
            #expect(fit.converged, "\(fit.reason)")
            for j in 0..<3 {
                let se = fit.standardErrors[j]
                #expect(se.isFinite && se > 0)
                #expect(abs(fit.parameters[j] - Self.decayTruth[j]) < 4 * se, "parameter \(j): \(fit.parameters[j]) ± \(se)")
            }
            // χ²/(n − p) estimates σ².
            #expect(isClose(fit.chiSquared / (n - 3), sigma * sigma, relative: 0.35))
            #expect(fit.rSquared > 0.99)
        }
        // Four times the data: standard errors about halve (the unscaled covariance exactly so,
        // up to the grid's end effects; the standard errors also carry the noise of χ²/(n − p)).
        for j in 0..<3 {
            let ratio = fitLarge.standardErrors[j] / fitSmall.standardErrors[j]
            #expect(ratio > 0.35 && ratio < 0.7, "parameter \(j): ratio \(ratio)")
            let covarianceRatio = (fitLarge.covariance[j][j] / fitSmall.covariance[j][j]).squareRoot()
            #expect(covarianceRatio > 0.45 && covarianceRatio < 0.55, "parameter \(j): ratio \(covarianceRatio)")
        }
        // Standard errors are √diag(cov)·√(χ²/(n − p)).
        let s2 = fitSmall.chiSquared / 47
        for j in 0..<3 {
            #expect(isClose(fitSmall.standardErrors[j], (fitSmall.covariance[j][j] * s2).squareRoot(), relative: 1e-12))
        }
    }

    @Test func saturatingEfficiencyCostModel() throws {
        // o = 5 µs, e = 0.7, h = 2 MFLOP; one and two cores of a 50 GFLOP/s core, 2% noise.
        let truth = [5e-6, 0.7, 2e6]
        let rng = try RandomSource(seed: 7)
        var x: [[Double]] = [], y: [Double] = []
        for cores in [1.0, 2.0] {
            for k in 0..<25 {
                let flops = pow(10, 4 + 6 * Double(k) / 24)  // 1e4 ... 1e10
                let point = [flops, cores * 5e10]
                x.append(point)
                y.append(Self.cost(point, truth) * (1 + rng.gaussian(sigma: 0.02)))
            }
        }
        // Relative noise: weight by 1/t².
        let weights = y.map { 1 / ($0 * $0) }
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, weights: weights, initial: [1e-5, 0.5, 1e5],
            lowerBounds: [0, 0, 0], upperBounds: [.infinity, 1, .infinity], model: Self.cost)
        #expect(result.converged, "\(result.reason)")
        #expect(isClose(result.parameters[0], truth[0], relative: 0.15), "o = \(result.parameters[0])")
        #expect(isClose(result.parameters[1], truth[1], relative: 0.03), "e = \(result.parameters[1])")
        #expect(isClose(result.parameters[2], truth[2], relative: 0.1), "h = \(result.parameters[2])")
        for j in 0..<3 {
            #expect(abs(result.parameters[j] - truth[j]) < 4 * result.standardErrors[j], "parameter \(j)")
        }
        #expect(result.rSquared > 0.99)
    }

    @Test func overheadAndHiddenFlopsAreNotSeparableAtOnePeak() throws {
        // With a single P, t = (o + h/(P e)) + F/(P e): only the intercept and slope are
        // determined. The fit still converges and recovers both; the covariance shows o and h
        // perfectly (anti-)correlated.
        let truth = [5e-6, 0.7, 2e6], peak = 5e10
        let x = (0..<25).map { [pow(10, 4 + 6 * Double($0) / 24), peak] }
        let y = x.map { Self.cost($0, truth) }
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, initial: [1e-5, 0.5, 1e5], lowerBounds: [0, 0, 0], upperBounds: [.infinity, 1, .infinity],
            model: Self.cost)
        #expect(result.converged, "\(result.reason)")
        let p = result.parameters, c = result.covariance
        #expect(isClose(p[1], truth[1], relative: 1e-5))
        #expect(isClose(p[0] + p[2] / (peak * p[1]), truth[0] + truth[2] / (peak * truth[1]), relative: 1e-5))
        let correlation = c[0][2] / (c[0][0] * c[2][2]).squareRoot()
        #expect(correlation < -0.99999, "corr(o, h) = \(correlation)")
    }

    @Test func costModelStartingOnTheBoundsDoesNotStall() throws {
        // h starts at its bound 0, eight orders of magnitude below its value: in q = log(h − 0)
        // the gradient vanishes there, so the fit restarts from a Gauss–Newton step in p.
        let truth = [5e-6, 0.7, 2e6]
        var x: [[Double]] = []
        for cores in [1.0, 2.0] {
            for k in 0..<13 { x.append([pow(10, 4 + 6 * Double(k) / 12), cores * 5e10]) }
        }
        let y = x.map { Self.cost($0, truth) }
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, weights: y.map { 1 / ($0 * $0) }, initial: [0, 0.5, 0],
            lowerBounds: [0, 0, 0], upperBounds: [.infinity, 1, .infinity], model: Self.cost)
        #expect(result.converged, "\(result.reason)")
        for j in 0..<3 {
            #expect(isClose(result.parameters[j], truth[j], relative: 1e-5), "parameter \(j): \(result.parameters[j])")
        }
    }

    @Test func lowerBoundHoldsWhenTheUnconstrainedOptimumIsNegative() throws {
        // y = a + b x with decreasing data: the unconstrained slope is about −0.5.
        let x = (0..<20).map { [Double($0)] }
        let y = x.map { 10 - 0.5 * $0[0] }
        var smallestSlopeSeen = Double.infinity
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, initial: [1, 1], lowerBounds: [-.infinity, 0]) { xi, p in
                smallestSlopeSeen = min(smallestSlopeSeen, p[1])
                return p[0] + p[1] * xi[0]
            }
        #expect(smallestSlopeSeen >= 0)
        #expect(result.parameters[1] >= 0)
        #expect(result.parameters[1] < 1e-3)
        #expect(isClose(result.parameters[0], 10 - 0.5 * 9.5, relative: 1e-3))  // the mean of y
    }

    @Test func twoSidedBoundsAndInitialOnABound() throws {
        // Efficiency in [0, 1], true value 1.3 is out of reach: it ends near 1. Initial on a bound.
        let x = (1...10).map { [Double($0)] }
        let y = x.map { $0[0] / 1.3 }
        var outside = false
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, initial: [1], lowerBounds: [0], upperBounds: [1]) { xi, p in
                if p[0] < 0 || p[0] > 1 { outside = true }
                return xi[0] / p[0]
            }
        #expect(!outside)
        #expect(result.parameters[0] <= 1 && result.parameters[0] > 0.99)
        // Interior optimum with two-sided bounds.
        let inside = try NonlinearLeastSquares.fit(
            x: x, y: x.map { $0[0] / 0.4 }, initial: [0.9], lowerBounds: [0], upperBounds: [1]) { xi, p in
                xi[0] / p[0]
            }
        #expect(inside.converged, "\(inside.reason)")
        #expect(isClose(inside.parameters[0], 0.4, relative: 1e-7))
    }

    @Test func rooflineMaxModelRecoversBothEfficiencies() throws {
        let truth = [3e-6, 0.8, 0.6]
        let rng = try RandomSource(seed: 99)
        var x: [[Double]] = [], y: [Double] = []
        var computeBound = 0, memoryBound = 0
        for k in 0..<40 {
            let flops = pow(10, 6 + 4 * Double(k) / 39)
            // Arithmetic intensity spread over both sides of the ridge.
            let ratio = pow(10, -1 + 2 * rng.uniform())
            let bytes = ratio * (flops + Self.flopOverhead) / (Self.peak * truth[1]) * Self.bandwidth * truth[2]
                - Self.byteOverhead
            let point = [flops, max(bytes, 0)]
            let compute = (point[0] + Self.flopOverhead) / (Self.peak * truth[1])
            let memory = (point[1] + Self.byteOverhead) / (Self.bandwidth * truth[2])
            if compute > memory { computeBound += 1 } else { memoryBound += 1 }
            x.append(point)
            y.append(Self.roofline(point, truth) * (1 + rng.gaussian(sigma: 0.02)))
        }
        #expect(computeBound >= 10 && memoryBound >= 10)
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, weights: y.map { 1 / ($0 * $0) }, initial: [1e-6, 0.5, 0.5],
            lowerBounds: [0, 0, 0], upperBounds: [.infinity, 1, 1], model: Self.roofline)
        #expect(result.converged, "\(result.reason)")
        #expect(isClose(result.parameters[1], truth[1], relative: 0.03), "e = \(result.parameters[1])")
        #expect(isClose(result.parameters[2], truth[2], relative: 0.03), "m = \(result.parameters[2])")
        #expect(result.rSquared > 0.99)
    }

    // MARK: - Goodness of fit, weights, failure modes

    @Test func rSquaredSeparatesGoodAndWrongModels() throws {
        let rng = try RandomSource(seed: 3)
        let (x, y) = Self.decayData(n: 60, sigma: 0.02, rng: rng)
        let good = try NonlinearLeastSquares.fit(x: x, y: y, initial: [3, 0.3, 0], model: Self.decay)
        let line = try NonlinearLeastSquares.fit(x: x, y: y, initial: [1, 0]) { xi, p in p[0] + p[1] * xi[0] }
        #expect(good.rSquared > 0.999)
        #expect(line.rSquared < 0.75)
        #expect(line.chiSquared > 100 * good.chiSquared)
    }

    @Test func integerWeightsEqualRepeatedPoints() throws {
        let rng = try RandomSource(seed: 11)
        let (x, y) = Self.decayData(n: 15, sigma: 0.1, rng: rng)
        let weights = (0..<15).map { Double($0 % 3 + 1) }
        var xRepeated: [[Double]] = [], yRepeated: [Double] = []
        for i in 0..<15 {
            for _ in 0..<Int(weights[i]) {
                xRepeated.append(x[i])
                yRepeated.append(y[i])
            }
        }
        let weighted = try NonlinearLeastSquares.fit(x: x, y: y, weights: weights, initial: [3, 0.3, 0], model: Self.decay)
        let repeated = try NonlinearLeastSquares.fit(x: xRepeated, y: yRepeated, initial: [3, 0.3, 0], model: Self.decay)
        for j in 0..<3 {
            #expect(isClose(weighted.parameters[j], repeated.parameters[j], relative: 1e-6))
            #expect(isClose(weighted.covariance[j][j], repeated.covariance[j][j], relative: 1e-4))
        }
        #expect(isClose(weighted.chiSquared, repeated.chiSquared, relative: 1e-8))
    }

    @Test func nonFiniteTrialPointsAreRejectedNotFatal() throws {
        // log(a) is NaN for a < 0; a large step from a = 1 towards a ≈ 0.01 can overshoot.
        let x = (1...10).map { [Double($0)] }
        let y = x.map { log(0.01) + 0.3 * $0[0] }
        let result = try NonlinearLeastSquares.fit(x: x, y: y, initial: [1, 0]) { xi, p in log(p[0]) + p[1] * xi[0] }
        #expect(result.converged, "\(result.reason)")
        #expect(isClose(result.parameters[0], 0.01, relative: 1e-6))
    }

    @Test func hittingMaxIterationsReportsNonConvergence() throws {
        let (x, y) = Self.decayData(n: 30)
        let result = try NonlinearLeastSquares.fit(x: x, y: y, initial: [1, 5, -3], maxIterations: 1, model: Self.decay)
        #expect(!result.converged)
        #expect(result.iterations <= 1)
        #expect(!result.reason.isEmpty)
        #expect(result.parameters.allSatisfy { $0.isFinite })
    }

    @Test func unidentifiableParameterHasInfiniteStandardError() throws {
        let x = (0..<10).map { [Double($0)] }
        // A line with alternating ±0.05 noise; the model ignores p[2].
        let y: [Double] = (0..<10).map { i -> Double in
            let noise: Double = i % 2 == 0 ? 0.05 : -0.05
            return 2 + 3 * Double(i) + noise
        }
        let result = try NonlinearLeastSquares.fit(x: x, y: y, initial: [1, 1, 7]) { xi, p in p[0] + p[1] * xi[0] }
        #expect(result.standardErrors[2] == .infinity)
        #expect(result.standardErrors[0].isFinite && result.standardErrors[1].isFinite)
        #expect(result.parameters[2] == 7)
    }

    @Test func standardErrorsAreNaNWithoutDegreesOfFreedom() throws {
        let result = try NonlinearLeastSquares.fit(x: [[0], [1]], y: [1, 3], initial: [0, 0]) { xi, p in p[0] + p[1] * xi[0] }
        #expect(isClose(result.parameters[0], 1, relative: 1e-8))
        #expect(isClose(result.parameters[1], 2, relative: 1e-8))
        #expect(result.standardErrors.allSatisfy { $0.isNaN })
    }

    @Test func badInputsThrow() {
        typealias E = NonlinearLeastSquaresError
        let line: ([Double], [Double]) -> Double = { xi, p in p[0] + p[1] * xi[0] }
        let x: [[Double]] = [[0], [1], [2]], y: [Double] = [1, 2, 3]
        #expect(throws: E.emptyData) { try NonlinearLeastSquares.fit(x: [], y: [], initial: [0, 0], model: line) }
        #expect(throws: E.mismatchedLengths(what: "x", expected: 3, actual: 2)) {
            try NonlinearLeastSquares.fit(x: [[0], [1]], y: y, initial: [0, 0], model: line)
        }
        #expect(throws: E.mismatchedLengths(what: "weights", expected: 3, actual: 1)) {
            try NonlinearLeastSquares.fit(x: x, y: y, weights: [1], initial: [0, 0], model: line)
        }
        #expect(throws: E.mismatchedLengths(what: "lowerBounds", expected: 2, actual: 1)) {
            try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, 0], lowerBounds: [0], model: line)
        }
        #expect(throws: E.tooFewPoints(points: 3, parameters: 4)) {
            try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, 0, 0, 0], model: line)
        }
        #expect(throws: E.tooFewPoints(points: 1, parameters: 2)) {
            try NonlinearLeastSquares.fit(x: x, y: y, weights: [0, 1, 0], initial: [0, 0], model: line)
        }
        #expect(throws: E.nonFiniteInput(what: "y[1]", value: .infinity)) {
            try NonlinearLeastSquares.fit(x: x, y: [1, .infinity, 3], initial: [0, 0], model: line)
        }
        #expect(throws: E.self) { try NonlinearLeastSquares.fit(x: x, y: [1, .nan, 3], initial: [0, 0], model: line) }
        #expect(throws: E.nonFiniteInput(what: "x[2][0]", value: -.infinity)) {
            try NonlinearLeastSquares.fit(x: [[0], [1], [-.infinity]], y: y, initial: [0, 0], model: line)
        }
        #expect(throws: E.self) { try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, .nan], model: line) }
        #expect(throws: E.initialOutsideBounds(index: 1, value: -1, lower: 0, upper: .infinity)) {
            try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, -1], lowerBounds: [-.infinity, 0], model: line)
        }
        #expect(throws: E.initialOutsideBounds(index: 0, value: 2, lower: -.infinity, upper: 1)) {
            try NonlinearLeastSquares.fit(x: x, y: y, initial: [2, 0], upperBounds: [1, 1], model: line)
        }
        #expect(throws: E.invalidBounds(index: 0, lower: 1, upper: 1)) {
            try NonlinearLeastSquares.fit(x: x, y: y, initial: [1, 0], lowerBounds: [1, 0], upperBounds: [1, 1], model: line)
        }
        #expect(throws: E.nonFiniteModel(point: 0, value: -.infinity)) {
            try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, 1]) { xi, p in log(p[0] + p[1] * xi[0]) }
        }
        #expect(throws: E.self) { try NonlinearLeastSquares.fit(x: x, y: y, weights: [1, -1, 1], initial: [0, 0], model: line) }
        #expect(throws: E.self) { try NonlinearLeastSquares.fit(x: x, y: y, initial: [], model: line) }
        #expect(throws: E.self) { try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, 0], maxIterations: 0, model: line) }
        #expect(throws: E.self) { try NonlinearLeastSquares.fit(x: x, y: y, initial: [0, 0], tolerance: 0, model: line) }
    }
}
