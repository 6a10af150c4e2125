import CGSL

/// One-dimensional minimisation with GSL.
public enum Minimization {
    /// Number of interior grid points scanned when no valid guess is supplied.
    static let scanPoints = 16

    /// Finds a minimiser of f on [lower, upper] by Brent's method
    /// (`gsl_min_fminimizer_brent`: golden-section search accelerated by parabolic
    /// interpolation).
    ///
    /// GSL needs a bracketing triple a < g < b with f(g) < f(a) and f(g) < f(b). This
    /// function builds one instead of failing:
    /// 1. If `guess` lies strictly inside (lower, upper) and f(guess) < f(lower), f(upper),
    ///    the triple (lower, guess, upper) is used.
    /// 2. Otherwise f is evaluated on a grid of 16 equally spaced interior points, and the
    ///    smallest grid value x_i (endpoints included) with its neighbours becomes the triple
    ///    (x_{i−1}, x_i, x_{i+1}); a tie with a neighbour is resolved by probing the midpoint.
    /// 3. If the smallest value is at an endpoint, points are probed towards that endpoint
    ///    by repeated halving of the gap to its grid neighbour; if none is lower than the
    ///    endpoint before the gap falls below `absoluteTolerance`, the endpoint is returned:
    ///    the minimum over the closed interval is on the boundary.
    /// If the function is flat at grid resolution around its smallest grid value, that grid
    /// point is returned.
    ///
    /// With a multimodal f, step 2 selects the basin of the smallest grid value; a valid
    /// `guess` selects the basin containing the guess.
    ///
    /// Iteration stops when the bracket [a, b] satisfies
    /// b − a < absoluteTolerance + 2·√ε·|x|, ε = `Double.ulpOfOne`: near a smooth minimum
    /// f(x* + δ) − f(x*) ≈ f''δ²/2 drops below the rounding of f once |δ| ≲ √ε·|x*|, so no
    /// method working with f values alone can locate x* more precisely than that.
    ///
    /// - Parameters:
    ///   - lower: Left end of the interval (finite, `lower < upper`).
    ///   - upper: Right end of the interval (finite).
    ///   - guess: Optional starting point; ignored if it does not bracket a minimum.
    ///   - absoluteTolerance: Absolute tolerance on the location of the minimum (> 0).
    ///   - maxIterations: Maximum number of Brent iterations (≥ 1).
    ///   - f: The function to minimise.
    /// - Returns: The minimiser x and f(x).
    /// - Throws: `MinimizationError.nonFiniteValue` if f returns NaN/±∞,
    ///   `.didNotConverge` after `maxIterations`, `.invalidArgument` for unusable arguments,
    ///   and `GSLError` for any other GSL status.
    public static func brent(
        lower: Double,
        upper: Double,
        guess: Double?,
        absoluteTolerance: Double = 1e-10,
        maxIterations: Int = 200,
        _ f: (Double) -> Double
    ) throws -> (x: Double, value: Double) {
        guard lower.isFinite, upper.isFinite, lower < upper else {
            throw MinimizationError.invalidArgument("need finite lower < upper, got [\(lower), \(upper)]")
        }
        guard absoluteTolerance > 0, absoluteTolerance.isFinite else {
            throw MinimizationError.invalidArgument("absoluteTolerance must be finite and > 0, got \(absoluteTolerance)")
        }
        guard maxIterations >= 1 else {
            throw MinimizationError.invalidArgument("maxIterations must be ≥ 1, got \(maxIterations)")
        }

        func evaluate(_ x: Double) throws -> Double {
            let value = f(x)
            guard value.isFinite else { throw MinimizationError.nonFiniteValue(x: x, value: value) }
            return value
        }

        let fLower = try evaluate(lower)
        let fUpper = try evaluate(upper)

        let triple: Bracket
        if let guess, guess > lower, guess < upper, case let fGuess = try evaluate(guess),
           fGuess < fLower, fGuess < fUpper {
            triple = Bracket(a: lower, fa: fLower, x: guess, fx: fGuess, b: upper, fb: fUpper)
        } else {
            switch try scan(lower: lower, fLower: fLower, upper: upper, fUpper: fUpper,
                            absoluteTolerance: absoluteTolerance, evaluate) {
            case let .done(x, value):
                return (x, value)
            case let .bracket(found):
                triple = found
            }
        }
        return try refine(triple, absoluteTolerance: absoluteTolerance, maxIterations: maxIterations, f)
    }

    /// A triple a < x < b with f(x) < f(a) and f(x) < f(b).
    struct Bracket {
        var a: Double, fa: Double
        var x: Double, fx: Double
        var b: Double, fb: Double
    }

    enum ScanOutcome {
        case done(x: Double, value: Double)
        case bracket(Bracket)
    }

    /// Steps 2 and 3 of `brent`: grid scan, then tie or endpoint resolution.
    private static func scan(
        lower: Double, fLower: Double, upper: Double, fUpper: Double,
        absoluteTolerance: Double,
        _ evaluate: (Double) throws -> Double
    ) throws -> ScanOutcome {
        let count = scanPoints + 2  // grid points including both endpoints
        let step = (upper - lower) / Double(count - 1)
        func gridX(_ i: Int) -> Double {
            i == 0 ? lower : (i == count - 1 ? upper : lower + Double(i) * step)
        }
        return try withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { values in
            values[0] = fLower
            values[count - 1] = fUpper
            for i in 1..<(count - 1) { values[i] = try evaluate(gridX(i)) }
            var best = 0
            for i in 1..<count where values[i] < values[best] { best = i }

            if best == 0 {
                return try probeEndpoint(endpoint: lower, fEndpoint: fLower, neighbour: gridX(1),
                                         fNeighbour: values[1], absoluteTolerance: absoluteTolerance, evaluate)
            }
            if best == count - 1 {
                return try probeEndpoint(endpoint: upper, fEndpoint: fUpper, neighbour: gridX(count - 2),
                                         fNeighbour: values[count - 2], absoluteTolerance: absoluteTolerance, evaluate)
            }
            let x = gridX(best), fx = values[best]
            var left = (x: gridX(best - 1), f: values[best - 1])
            var right = (x: gridX(best + 1), f: values[best + 1])
            // Ties with a neighbour (e.g. a symmetric minimum exactly between two grid points):
            // the midpoint, if lower, becomes the centre of the triple.
            if fx == left.f {
                let m = 0.5 * (left.x + x), fm = try evaluate(m)
                if fm < fx { return .bracket(Bracket(a: left.x, fa: left.f, x: m, fx: fm, b: x, fb: fx)) }
                left = (m, fm)
            }
            if fx == right.f {
                let m = 0.5 * (x + right.x), fm = try evaluate(m)
                if fm < fx { return .bracket(Bracket(a: x, fa: fx, x: m, fx: fm, b: right.x, fb: right.f)) }
                right = (m, fm)
            }
            if fx < left.f, fx < right.f {
                return .bracket(Bracket(a: left.x, fa: left.f, x: x, fx: fx, b: right.x, fb: right.f))
            }
            return .done(x: x, value: fx)  // flat at grid resolution
        }
    }

    /// Looks for a point between `endpoint` and its grid neighbour that is lower than the
    /// endpoint, halving the gap each time; returns the endpoint if there is none.
    private static func probeEndpoint(
        endpoint: Double, fEndpoint: Double, neighbour: Double, fNeighbour: Double,
        absoluteTolerance: Double,
        _ evaluate: (Double) throws -> Double
    ) throws -> ScanOutcome {
        var outer = (x: neighbour, f: fNeighbour)  // f(outer) ≥ f(endpoint)
        while abs(outer.x - endpoint) > absoluteTolerance {
            let m = 0.5 * (endpoint + outer.x)
            if m == endpoint || m == outer.x { break }
            let fm = try evaluate(m)
            if fm < fEndpoint {
                // f(m) < f(endpoint) ≤ f(outer): a valid triple.
                return endpoint < outer.x
                    ? .bracket(Bracket(a: endpoint, fa: fEndpoint, x: m, fx: fm, b: outer.x, fb: outer.f))
                    : .bracket(Bracket(a: outer.x, fa: outer.f, x: m, fx: fm, b: endpoint, fb: fEndpoint))
            }
            outer = (m, fm)
        }
        return .done(x: endpoint, value: fEndpoint)
    }

    /// Step 4 of `brent`: GSL's Brent iteration on a valid triple.
    private static func refine(
        _ triple: Bracket, absoluteTolerance: Double, maxIterations: Int, _ f: (Double) -> Double
    ) throws -> (x: Double, value: Double) {
        GSL.ensureInitialised()
        guard let minimizer = gsl_min_fminimizer_alloc(hs_min_fminimizer_brent()) else {
            throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_min_fminimizer_alloc")
        }
        defer { gsl_min_fminimizer_free(minimizer) }
        let rootEpsilon = 2 * Double.ulpOfOne.squareRoot()

        return try withGSLFunction(f) { function, box throws in
            try GSL.check(
                gsl_min_fminimizer_set_with_values(
                    minimizer, function, triple.x, triple.fx, triple.a, triple.fa, triple.b, triple.fb),
                "gsl_min_fminimizer_set_with_values")
            for _ in 0..<maxIterations {
                let status = gsl_min_fminimizer_iterate(minimizer)
                if let bad = box.pointee.firstNonFinite {
                    throw MinimizationError.nonFiniteValue(x: bad.x, value: bad.value)
                }
                try GSL.check(status, "gsl_min_fminimizer_iterate")
                let a = gsl_min_fminimizer_x_lower(minimizer)
                let b = gsl_min_fminimizer_x_upper(minimizer)
                let x = gsl_min_fminimizer_x_minimum(minimizer)
                if b - a < absoluteTolerance + rootEpsilon * abs(x) {
                    return (x, gsl_min_fminimizer_f_minimum(minimizer))
                }
            }
            throw MinimizationError.didNotConverge(
                iterations: maxIterations,
                lower: gsl_min_fminimizer_x_lower(minimizer),
                upper: gsl_min_fminimizer_x_upper(minimizer))
        }
    }
}
