import CGSL

/// One-dimensional root finding with GSL.
public enum RootFinding {
    /// Finds x in [lower, upper] with f(x) = 0 by Brent's method (`gsl_root_fsolver_brent`),
    /// which combines bisection, the secant method and inverse quadratic interpolation and
    /// keeps a bracket [a, b] with f(a)·f(b) ≤ 0 throughout.
    ///
    /// Iteration stops when the bracket satisfies `gsl_root_test_interval`:
    /// |b − a| < absoluteTolerance + relativeTolerance · min(|a|, |b|)
    /// (when the bracket does not straddle zero), and the current best estimate is returned.
    /// If f(lower) or f(upper) is exactly zero, that endpoint is returned without iterating.
    ///
    /// - Parameters:
    ///   - lower: Left end of the bracket (finite, `lower < upper`).
    ///   - upper: Right end of the bracket (finite).
    ///   - absoluteTolerance: Absolute tolerance on the bracket width (≥ 0).
    ///   - relativeTolerance: Relative tolerance on the bracket width (≥ 0; not both zero).
    ///   - maxIterations: Maximum number of Brent iterations (≥ 1).
    ///   - f: The function; it must be continuous on [lower, upper].
    /// - Throws: `RootFindingError.notBracketed` if f(lower) and f(upper) have the same sign,
    ///   `.nonFiniteValue` if f returns NaN/±∞, `.didNotConverge` after `maxIterations`,
    ///   `.invalidArgument` for unusable arguments, and `GSLError` for any other GSL status.
    public static func brent(
        lower: Double,
        upper: Double,
        absoluteTolerance: Double = 1e-12,
        relativeTolerance: Double = 1e-10,
        maxIterations: Int = 200,
        _ f: (Double) -> Double
    ) throws -> Double {
        guard lower.isFinite, upper.isFinite, lower < upper else {
            throw RootFindingError.invalidArgument("need finite lower < upper, got [\(lower), \(upper)]")
        }
        guard absoluteTolerance >= 0, relativeTolerance >= 0,
              absoluteTolerance.isFinite, relativeTolerance.isFinite,
              absoluteTolerance > 0 || relativeTolerance > 0 else {
            throw RootFindingError.invalidArgument(
                "tolerances must be finite, non-negative and not both zero (abs \(absoluteTolerance), rel \(relativeTolerance))")
        }
        guard maxIterations >= 1 else {
            throw RootFindingError.invalidArgument("maxIterations must be ≥ 1, got \(maxIterations)")
        }

        // Check the bracket ourselves: gives a precise error instead of GSL's EINVAL.
        let fLower = f(lower)
        guard fLower.isFinite else { throw RootFindingError.nonFiniteValue(x: lower, value: fLower) }
        if fLower == 0 { return lower }
        let fUpper = f(upper)
        guard fUpper.isFinite else { throw RootFindingError.nonFiniteValue(x: upper, value: fUpper) }
        if fUpper == 0 { return upper }
        guard (fLower < 0) != (fUpper < 0) else {
            throw RootFindingError.notBracketed(lower: lower, upper: upper, fLower: fLower, fUpper: fUpper)
        }

        GSL.ensureInitialised()
        guard let solver = gsl_root_fsolver_alloc(hs_root_fsolver_brent()) else {
            throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_root_fsolver_alloc")
        }
        defer { gsl_root_fsolver_free(solver) }

        return try withGSLFunction(f) { function, box throws in
            try GSL.check(gsl_root_fsolver_set(solver, function, lower, upper), "gsl_root_fsolver_set")
            for _ in 0..<maxIterations {
                let status = gsl_root_fsolver_iterate(solver)
                if let bad = box.pointee.firstNonFinite {
                    throw RootFindingError.nonFiniteValue(x: bad.x, value: bad.value)
                }
                try GSL.check(status, "gsl_root_fsolver_iterate")
                let root = gsl_root_fsolver_root(solver)
                let a = gsl_root_fsolver_x_lower(solver)
                let b = gsl_root_fsolver_x_upper(solver)
                let test = gsl_root_test_interval(a, b, absoluteTolerance, relativeTolerance)
                if test == GSL.success { return root }
                if test != GSL.continue { throw GSLError(status: test, context: "gsl_root_test_interval") }
            }
            throw RootFindingError.didNotConverge(
                iterations: maxIterations,
                lower: gsl_root_fsolver_x_lower(solver),
                upper: gsl_root_fsolver_x_upper(solver))
        }
    }
}
