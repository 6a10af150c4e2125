import CGSL
import Foundation

/// Nonlinear least-squares curve fitting with GSL's trust-region solver.
public enum NonlinearLeastSquares {
    /// The outcome of a fit, whether or not it converged.
    public struct Result: Sendable {
        /// The fitted parameters p (always within the bounds, if any were given).
        public var parameters: [Double]
        /// Standard errors of `parameters`: √(covariance[j][j]) · √(χ²/(n − p)), i.e. scaled by
        /// the residual variance, where n counts points with a positive weight. NaN if n ≤ p;
        /// +∞ for a parameter the model does not depend on at the solution.
        public var standardErrors: [Double]
        /// (JᵀWJ)⁻¹ from `gsl_multifit_nlinear_covar`, J = ∂model/∂p at the fitted parameters
        /// and W = diag(weights): unscaled by the residual variance. For a parameter the model
        /// does not depend on, the diagonal entry is +∞ and the rest of its row and column NaN.
        public var covariance: [[Double]]
        /// 1 − SS_res/SS_tot, SS_tot = Σ wᵢ (yᵢ − ȳ_w)² about the weighted mean ȳ_w.
        /// NaN if SS_tot = 0 (constant data).
        public var rSquared: Double
        /// SS_res = Σ wᵢ (model(xᵢ, p) − yᵢ)² at the fitted parameters.
        public var chiSquared: Double
        /// Trust-region iterations performed, summed over restarts (0 if the initial point was
        /// already a solution).
        public var iterations: Int
        /// Whether GSL's driver reported convergence (`GSL_SUCCESS`), or the initial/final
        /// point passes GSL's gradient test; false when a bounded fit stalled near a bound.
        public var converged: Bool
        /// "small step" or "small gradient" on convergence; otherwise GSL's text for the failure
        /// (for example "exceeded max number of iterations (maxIterations = 1)" or "iteration is
        /// not making progress towards solution"), or "stalled near a bound: …".
        public var reason: String

        public init(parameters: [Double], standardErrors: [Double], covariance: [[Double]],
                    rSquared: Double, chiSquared: Double, iterations: Int, converged: Bool, reason: String) {
            self.parameters = parameters
            self.standardErrors = standardErrors
            self.covariance = covariance
            self.rSquared = rSquared
            self.chiSquared = chiSquared
            self.iterations = iterations
            self.converged = converged
            self.reason = reason
        }
    }

    /// Fits yᵢ ≈ model(xᵢ, p) by GSL's trust-region Levenberg–Marquardt
    /// (`gsl_multifit_nlinear_trust` with GSL's default parameters: LM subproblem, Moré
    /// scaling, QR solver, forward-difference Jacobian), minimising Σ wᵢ (model(xᵢ, p) − yᵢ)²,
    /// i.e. with residuals rᵢ = √wᵢ (model(xᵢ, p) − yᵢ).
    ///
    /// **Bounds.** `lowerBounds`/`upperBounds` (either may be nil; entries may be −∞/+∞ for
    /// "no bound on that side") are enforced by fitting an unconstrained q instead of p:
    /// p = lo + (hi − lo)·sigmoid(q) with both bounds, p = lo + exp(q) with only a lower bound,
    /// p = hi − exp(q) with only an upper bound. The model is therefore never evaluated outside
    /// the bounds; a parameter whose unconstrained optimum lies beyond a bound converges
    /// towards that bound. An initial value exactly on a bound is moved inside first: to
    /// lo + 10⁻⁴·(hi − lo) (or hi − …) with both bounds, and 10⁻⁴·max(1, |bound|) from the
    /// bound with one. Because dp/dq vanishes at a bound, a parameter that starts near its bound
    /// but far from its optimum can stall there while GSL reports convergence; so after a
    /// converged bounded fit, a Gauss–Newton step in p is tried (see `improvedPoint`), and if it
    /// lowers χ² markedly the fit restarts from there (at most 3 times, within the same
    /// `maxIterations` budget); if it still would, the result has `converged == false` and a
    /// reason starting "stalled near a bound".
    ///
    /// **Uncertainties.** The covariance is computed from the Jacobian with respect to p
    /// itself (central differences where they stay within the bounds, one-sided otherwise),
    /// which equals the delta-method propagation D·Cov(q)·D, D = diag(dp/dq), wherever dp/dq ≠ 0,
    /// and stays meaningful for a parameter that sits on a bound. The columns are equilibrated
    /// before `gsl_multifit_nlinear_covar`, so parameters of very different magnitudes do not
    /// lose precision.
    ///
    /// **Convergence.** The driver stops on a small step, |δqᵢ| ≤ tolerance·(|qᵢ| + tolerance),
    /// or a small gradient, maxᵢ |gᵢ|·max(|qᵢ|, 1) ≤ tolerance·max(½‖f‖², 1). Internally the
    /// residuals are divided by √(Σ wᵢ(yᵢ − ȳ_w)²/n) (the spread of the weighted data; else
    /// its RMS, else 1), so that the gradient test does not stop at once on data with tiny
    /// values (timings in seconds, say); this does not change the minimiser. A NaN/±∞ model value at a trial point is replaced
    /// by a huge residual, so the step is rejected. Hitting `maxIterations` or failing to make
    /// progress returns `converged == false` with GSL's reason; it does not throw.
    ///
    /// - Parameters:
    ///   - x: The independent variables, one row per data point (rows are passed to `model`
    ///     unchanged and may have any length).
    ///   - y: The observations (finite), `y.count == x.count`.
    ///   - weights: Optional wᵢ ≥ 0 (finite), typically 1/σᵢ². Points with wᵢ = 0 are ignored.
    ///   - initial: Starting parameters (finite, within the bounds).
    ///   - lowerBounds: Optional per-parameter lower bounds (−∞ for none).
    ///   - upperBounds: Optional per-parameter upper bounds (+∞ for none).
    ///   - maxIterations: Maximum trust-region iterations (≥ 1).
    ///   - tolerance: The step and gradient tolerance (finite, > 0).
    ///   - model: model(xᵢ, p); it must be finite at `initial` for every data point.
    /// - Throws: `NonlinearLeastSquaresError` for unusable input (empty data, mismatched
    ///   lengths, fewer positive-weight points than parameters, non-finite x/y/initial/weights,
    ///   bad bounds, initial outside the bounds, a non-finite model at `initial`), and
    ///   `GSLError` if GSL cannot allocate or initialise its workspace.
    public static func fit(
        x: [[Double]],
        y: [Double],
        weights: [Double]? = nil,
        initial: [Double],
        lowerBounds: [Double]? = nil,
        upperBounds: [Double]? = nil,
        maxIterations: Int = 200,
        tolerance: Double = 1e-8,
        model: ([Double], [Double]) -> Double
    ) throws -> Result {
        let problem = try Problem(x: x, y: y, weights: weights, initial: initial,
                                  lowerBounds: lowerBounds, upperBounds: upperBounds,
                                  maxIterations: maxIterations, tolerance: tolerance, model: model)
        var start = problem.q0
        var iterations = 0
        var restarts = 0
        while true {
            let solution = try solve(problem, start: start, maxIterations: maxIterations - iterations,
                                     tolerance: tolerance, model: model)
            iterations += solution.iterations
            let parameters = (0..<problem.parameterCount).map { problem.transforms[$0].bounded(solution.q[$0]) }
            let evaluation = evaluate(problem, at: parameters, model: model)
            var result = makeResult(problem, evaluation, iterations: iterations,
                                    converged: solution.converged, reason: solution.reason)
            // A bounded parameter can stall near its bound, where dp/dq vanishes; check in p
            // itself whether a Gauss–Newton step still lowers χ² markedly, and restart there.
            guard solution.converged, problem.hasBounds,
                  let better = improvedPoint(problem, evaluation, tolerance: tolerance, model: model) else {
                return result
            }
            if restarts == maxRestarts || iterations >= maxIterations {
                result.converged = false
                result.reason = "stalled near a bound: a Gauss-Newton step in the bounded parameters "
                    + "still lowers chi-squared from \(evaluation.chiSquared) to \(better.chiSquared)"
                return result
            }
            restarts += 1
            start = (0..<problem.parameterCount).map { problem.transforms[$0].unconstrained(better.parameters[$0]) }
        }
    }

    /// How many times a fit that stalled near a bound is restarted from a better point.
    static let maxRestarts = 3

    // MARK: - Problem set-up and validation

    /// Validated inputs and the derived quantities the solver needs.
    struct Problem {
        let x: [[Double]]
        let y: [Double]
        /// nil when no weights were given.
        let weights: [Double]?
        let initial: [Double]
        let lower: [Double]
        let upper: [Double]
        let transforms: [ParameterTransform]
        /// Starting point in the unconstrained parameters q.
        let q0: [Double]
        /// Number of points with a positive weight.
        let effectiveCount: Int
        /// Residuals are divided by this before GSL sees them.
        let residualScale: Double

        var pointCount: Int { y.count }
        var parameterCount: Int { initial.count }
        var hasBounds: Bool { transforms.contains { $0 != .identity } }

        func weight(_ i: Int) -> Double { weights?[i] ?? 1 }

        init(x: [[Double]], y: [Double], weights: [Double]?, initial: [Double],
             lowerBounds: [Double]?, upperBounds: [Double]?, maxIterations: Int, tolerance: Double,
             model: ([Double], [Double]) -> Double) throws {
            typealias E = NonlinearLeastSquaresError
            guard !y.isEmpty else { throw E.emptyData }
            let n = y.count, p = initial.count
            guard x.count == n else { throw E.mismatchedLengths(what: "x", expected: n, actual: x.count) }
            guard p > 0 else { throw E.invalidArgument("initial is empty: there are no parameters to fit") }
            if let weights, weights.count != n {
                throw E.mismatchedLengths(what: "weights", expected: n, actual: weights.count)
            }
            if let lowerBounds, lowerBounds.count != p {
                throw E.mismatchedLengths(what: "lowerBounds", expected: p, actual: lowerBounds.count)
            }
            if let upperBounds, upperBounds.count != p {
                throw E.mismatchedLengths(what: "upperBounds", expected: p, actual: upperBounds.count)
            }
            guard maxIterations >= 1 else { throw E.invalidArgument("maxIterations must be ≥ 1, got \(maxIterations)") }
            guard tolerance.isFinite, tolerance > 0 else {
                throw E.invalidArgument("tolerance must be finite and > 0, got \(tolerance)")
            }
            for (i, v) in y.enumerated() where !v.isFinite { throw E.nonFiniteInput(what: "y[\(i)]", value: v) }
            for (i, row) in x.enumerated() {
                for (k, v) in row.enumerated() where !v.isFinite { throw E.nonFiniteInput(what: "x[\(i)][\(k)]", value: v) }
            }
            for (j, v) in initial.enumerated() where !v.isFinite {
                throw E.nonFiniteInput(what: "initial[\(j)]", value: v)
            }
            var effective = n
            if let weights {
                effective = 0
                for (i, w) in weights.enumerated() {
                    guard w.isFinite else { throw E.nonFiniteInput(what: "weights[\(i)]", value: w) }
                    guard w >= 0 else { throw E.invalidArgument("weights[\(i)] = \(w) is negative") }
                    if w > 0 { effective += 1 }
                }
            }
            guard effective >= p else { throw E.tooFewPoints(points: effective, parameters: p) }

            let lower = lowerBounds ?? [Double](repeating: -.infinity, count: p)
            let upper = upperBounds ?? [Double](repeating: .infinity, count: p)
            var transforms: [ParameterTransform] = []
            var q0: [Double] = []
            for j in 0..<p {
                let lo = lower[j], hi = upper[j]
                guard !lo.isNaN, !hi.isNaN, lo < .infinity, hi > -.infinity, lo < hi,
                      !(lo.isFinite && hi.isFinite) || (hi - lo).isFinite else {
                    throw E.invalidBounds(index: j, lower: lo, upper: hi)
                }
                guard initial[j] >= lo, initial[j] <= hi else {
                    throw E.initialOutsideBounds(index: j, value: initial[j], lower: lo, upper: hi)
                }
                let transform = ParameterTransform(lower: lo, upper: hi)
                transforms.append(transform)
                q0.append(transform.unconstrained(initial[j]))
            }

            // The model must be finite at the initial point (as given by the caller).
            for i in 0..<n {
                let value = model(x[i], initial)
                guard value.isFinite else { throw E.nonFiniteModel(point: i, value: value) }
            }

            // Residual scale, in the units of GSL's weighted residuals √wᵢ(model − yᵢ):
            // √(Σ wᵢ(yᵢ − ȳ_w)² / n), else √(Σ wᵢyᵢ² / n), else 1 (n = positive-weight points).
            var sumW = 0.0, sumWY = 0.0
            for i in 0..<n {
                let w = weights?[i] ?? 1
                sumW += w
                sumWY += w * y[i]
            }
            let mean = sumWY / sumW
            var ssTot = 0.0, ssRaw = 0.0
            for i in 0..<n {
                let w = weights?[i] ?? 1
                ssTot += w * (y[i] - mean) * (y[i] - mean)
                ssRaw += w * y[i] * y[i]
            }
            var scale = (ssTot / Double(effective)).squareRoot()
            if !(scale.isFinite && scale > 0) { scale = (ssRaw / Double(effective)).squareRoot() }
            if !(scale.isFinite && scale > 0) { scale = 1 }

            self.x = x
            self.y = y
            self.weights = weights
            self.initial = initial
            self.lower = lower
            self.upper = upper
            self.transforms = transforms
            self.q0 = q0
            self.effectiveCount = effective
            self.residualScale = scale
        }
    }

    /// The smooth map from an unconstrained q to a bounded parameter p.
    enum ParameterTransform: Equatable {
        /// p = q.
        case identity
        /// p = lo + exp(q).
        case lower(Double)
        /// p = hi − exp(q).
        case upper(Double)
        /// p = lo + (hi − lo)·sigmoid(q).
        case interval(Double, Double)

        /// Fraction of the interval (or of max(1, |bound|)) by which an initial value on a
        /// bound is moved inside.
        static let boundaryOffset = 1e-4

        init(lower lo: Double, upper hi: Double) {
            switch (lo.isFinite, hi.isFinite) {
            case (false, false): self = .identity
            case (true, false): self = .lower(lo)
            case (false, true): self = .upper(hi)
            case (true, true): self = .interval(lo, hi)
            }
        }

        /// p(q), clamped to the bounds against rounding.
        func bounded(_ q: Double) -> Double {
            switch self {
            case .identity:
                return q
            case let .lower(lo):
                return Swift.max(lo + exp(q), lo)
            case let .upper(hi):
                return Swift.min(hi - exp(q), hi)
            case let .interval(lo, hi):
                let s: Double
                if q >= 0 {
                    s = 1 / (1 + exp(-q))
                } else {
                    let e = exp(q)
                    s = e / (1 + e)
                }
                return Swift.min(Swift.max(lo + (hi - lo) * s, lo), hi)
            }
        }

        /// q(p) for p within the bounds; p on a bound is first moved inside.
        func unconstrained(_ p: Double) -> Double {
            let offset = Self.boundaryOffset
            switch self {
            case .identity:
                return p
            case let .lower(lo):
                let gap = p - lo
                return log(gap > 0 ? gap : offset * Swift.max(1, abs(lo)))
            case let .upper(hi):
                let gap = hi - p
                return log(gap > 0 ? gap : offset * Swift.max(1, abs(hi)))
            case let .interval(lo, hi):
                var u = (p - lo) / (hi - lo)
                if !(u > 0) { u = offset }
                if !(u < 1) { u = 1 - offset }
                return log(u) - log1p(-u)
            }
        }
    }

    // MARK: - GSL

    /// Carries the model and data through GSL's `void *params` to the residual callback.
    struct ResidualContext {
        let model: ([Double], [Double]) -> Double
        let x: [[Double]]
        let y: [Double]
        let transforms: [ParameterTransform]
        let inverseScale: Double
        /// Scratch buffer for the bounded parameters p(q).
        var parameters: [Double]

        /// Residual substituted for a NaN/±∞ model value: far above any sensible residual
        /// (residuals are scaled to the spread of y), yet finite so that GSL's norms work
        /// and the trial step is simply rejected.
        static let penalty = 1e100

        mutating func evaluate(_ q: UnsafePointer<gsl_vector>, into f: UnsafeMutablePointer<gsl_vector>) {
            let qStride = q.pointee.stride, qData = q.pointee.data!
            for j in 0..<parameters.count {
                parameters[j] = transforms[j].bounded(qData[j * qStride])
            }
            let fStride = f.pointee.stride, fData = f.pointee.data!
            for i in 0..<y.count {
                let r = (model(x[i], parameters) - y[i]) * inverseScale
                fData[i * fStride] = r.isFinite ? r : Self.penalty
            }
        }
    }

    /// What the driver produced, in the unconstrained parameters.
    struct Solution {
        var q: [Double]
        var iterations: Int
        var converged: Bool
        var reason: String
    }

    /// Runs GSL's driver from `start` (in the unconstrained parameters q).
    private static func solve(
        _ problem: Problem, start: [Double], maxIterations: Int, tolerance: Double,
        model: ([Double], [Double]) -> Double
    ) throws -> Solution {
        let n = problem.pointCount, p = problem.parameterCount
        GSL.ensureInitialised()
        var parameters = gsl_multifit_nlinear_default_parameters()
        guard let workspace = gsl_multifit_nlinear_alloc(hs_multifit_nlinear_trust(), &parameters, n, p) else {
            throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_multifit_nlinear_alloc")
        }
        defer { gsl_multifit_nlinear_free(workspace) }
        guard let q0 = gsl_vector_alloc(p) else {
            throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_vector_alloc")
        }
        defer { gsl_vector_free(q0) }
        for j in 0..<p { q0.pointee.data[j * q0.pointee.stride] = start[j] }
        var weightVector: UnsafeMutablePointer<gsl_vector>?
        if let weights = problem.weights {
            guard let vector = gsl_vector_alloc(n) else {
                throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_vector_alloc")
            }
            for i in 0..<n { vector.pointee.data[i * vector.pointee.stride] = weights[i] }
            weightVector = vector
        }
        defer { if let weightVector { gsl_vector_free(weightVector) } }

        let residualFunction: @convention(c) (
            UnsafePointer<gsl_vector>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<gsl_vector>?
        ) -> Int32 = { q, params, f in
            guard let q, let params, let f else { return Int32(GSL_EFAULT) }
            params.assumingMemoryBound(to: ResidualContext.self).pointee.evaluate(q, into: f)
            return Int32(GSL_SUCCESS)
        }

        // withoutActuallyEscaping: the context never outlives this call (GSL calls back
        // synchronously inside winit and the driver).
        return try withoutActuallyEscaping(model) { escapableModel in
            var context = ResidualContext(
                model: escapableModel, x: problem.x, y: problem.y, transforms: problem.transforms,
                inverseScale: 1 / problem.residualScale, parameters: problem.initial)
            return try withUnsafeMutablePointer(to: &context) { contextPointer in
                var fdf = gsl_multifit_nlinear_fdf()
                fdf.f = residualFunction
                fdf.df = nil  // finite-difference Jacobian
                fdf.fvv = nil
                fdf.n = n
                fdf.p = p
                fdf.params = UnsafeMutableRawPointer(contextPointer)
                return try withUnsafeMutablePointer(to: &fdf) { fdfPointer in
                    try GSL.check(gsl_multifit_nlinear_winit(q0, weightVector, fdfPointer, workspace),
                                  "gsl_multifit_nlinear_winit")
                    // Already a solution (e.g. noiseless data and exact initial values): GSL's
                    // trust region would find no downhill step and report no progress.
                    if gradientIsSmall(workspace, gtol: tolerance) {
                        return Solution(q: vectorToArray(workspace.pointee.x), iterations: 0,
                                        converged: true, reason: "small gradient")
                    }
                    var info: Int32 = 0
                    let status = gsl_multifit_nlinear_driver(
                        maxIterations, tolerance, tolerance, 0, nil, nil, &info, workspace)
                    let iterations = Int(gsl_multifit_nlinear_niter(workspace))
                    let q = vectorToArray(workspace.pointee.x)
                    if status == GSL.success {
                        return Solution(q: q, iterations: iterations, converged: true,
                                        reason: convergenceReason(info))
                    }
                    if gradientIsSmall(workspace, gtol: tolerance) {
                        return Solution(q: q, iterations: iterations, converged: true, reason: "small gradient")
                    }
                    var reason = GSLError(status: status).message
                    if status == Int32(GSL_EMAXITER) {
                        if info == Int32(GSL_ENOPROG) {
                            reason = GSLError(status: info).message
                        } else {
                            reason += " (maxIterations = \(maxIterations))"
                        }
                    }
                    return Solution(q: q, iterations: iterations, converged: false, reason: reason)
                }
            }
        }
    }

    private static func convergenceReason(_ info: Int32) -> String {
        switch info {
        case 1: return "small step"
        case 2: return "small gradient"
        case 3: return "small change in residuals"
        case Int32(GSL_ETOLX): return "small step (at machine precision)"
        case Int32(GSL_ETOLG): return "small gradient (at machine precision)"
        case Int32(GSL_ETOLF): return "small change in residuals (at machine precision)"
        default: return "converged (GSL info \(info))"
        }
    }

    /// GSL's gradient test (`gsl_multifit_nlinear_test` criterion 2) on the workspace state:
    /// maxᵢ |gᵢ|·max(|xᵢ|, 1) ≤ gtol·max(½‖f‖², 1).
    private static func gradientIsSmall(_ w: UnsafeMutablePointer<gsl_multifit_nlinear_workspace>, gtol: Double) -> Bool {
        let x = vectorToArray(w.pointee.x), g = vectorToArray(w.pointee.g), f = vectorToArray(w.pointee.f)
        var gnorm = 0.0
        for j in 0..<x.count {
            let term = abs(g[j]) * max(abs(x[j]), 1)
            guard term.isFinite else { return false }
            gnorm = max(gnorm, term)
        }
        var phi = 0.0
        for r in f { phi += r * r }
        phi *= 0.5
        guard phi.isFinite else { return false }
        return gnorm <= gtol * max(phi, 1)
    }

    private static func vectorToArray(_ v: UnsafeMutablePointer<gsl_vector>?) -> [Double] {
        guard let v, let data = v.pointee.data else { return [] }
        let stride = v.pointee.stride
        return (0..<v.pointee.size).map { data[$0 * stride] }
    }

    // MARK: - Statistics at the solution

    /// χ², the Jacobian and the covariance at a point, in the bounded parameters p.
    struct Evaluation {
        var parameters: [Double]
        /// √wᵢ (model(xᵢ, p) − yᵢ).
        var residuals: [Double]
        var chiSquared: Double
        var totalSumOfSquares: Double
        /// √wᵢ ∂model(xᵢ, p)/∂p_j, row-major n × p.
        var jacobian: [Double]
        /// (JᵀWJ)⁻¹, or all NaN if it could not be computed.
        var covariance: [[Double]]
    }

    static func evaluate(_ problem: Problem, at parameters: [Double], model: ([Double], [Double]) -> Double) -> Evaluation {
        let n = problem.pointCount
        let (residuals, ssRes) = weightedResiduals(problem, at: parameters, model: model)
        var sumW = 0.0, sumWY = 0.0
        for i in 0..<n {
            sumW += problem.weight(i)
            sumWY += problem.weight(i) * problem.y[i]
        }
        let mean = sumWY / sumW
        var ssTot = 0.0
        for i in 0..<n { ssTot += problem.weight(i) * (problem.y[i] - mean) * (problem.y[i] - mean) }
        let jacobian = parameterJacobian(problem, at: parameters, model: model)
        return Evaluation(parameters: parameters, residuals: residuals, chiSquared: ssRes, totalSumOfSquares: ssTot,
                          jacobian: jacobian, covariance: covariance(problem, jacobian: jacobian))
    }

    private static func weightedResiduals(
        _ problem: Problem, at parameters: [Double], model: ([Double], [Double]) -> Double
    ) -> (residuals: [Double], chiSquared: Double) {
        var residuals = [Double](repeating: 0, count: problem.pointCount)
        var sum = 0.0
        for i in 0..<problem.pointCount {
            let sqrtW = problem.weight(i).squareRoot()
            guard sqrtW > 0 else { continue }
            let r = sqrtW * (model(problem.x[i], parameters) - problem.y[i])
            residuals[i] = r
            sum += r * r
        }
        return (residuals, sum)
    }

    private static func makeResult(
        _ problem: Problem, _ evaluation: Evaluation, iterations: Int, converged: Bool, reason: String
    ) -> Result {
        let p = problem.parameterCount
        let ssRes = evaluation.chiSquared, ssTot = evaluation.totalSumOfSquares
        let rSquared = ssTot > 0 ? 1 - ssRes / ssTot : .nan
        let dof = problem.effectiveCount - p
        let residualVariance = dof > 0 ? ssRes / Double(dof) : .nan
        let standardErrors = (0..<p).map { j -> Double in
            let c = evaluation.covariance[j][j]
            if c == .infinity, residualVariance.isFinite { return .infinity }
            return (c * residualVariance).squareRoot()
        }
        return Result(parameters: evaluation.parameters, standardErrors: standardErrors,
                      covariance: evaluation.covariance, rSquared: rSquared, chiSquared: ssRes,
                      iterations: iterations, converged: converged, reason: reason)
    }

    /// √W·∂model/∂p at `parameters` by finite differences that stay within the bounds.
    private static func parameterJacobian(
        _ problem: Problem, at parameters: [Double], model: ([Double], [Double]) -> Double
    ) -> [Double] {
        let n = problem.pointCount, p = problem.parameterCount
        var jacobian = [Double](repeating: 0, count: n * p)  // row-major n × p
        var probe = parameters
        for j in 0..<p {
            let steps = differenceSteps(parameters[j], initial: problem.initial[j],
                                        lower: problem.lower[j], upper: problem.upper[j])
            for i in 0..<n {
                let sqrtW = problem.weight(i).squareRoot()
                guard sqrtW > 0 else { continue }
                probe[j] = parameters[j] + steps.plus
                let fPlus = model(problem.x[i], probe)
                probe[j] = parameters[j] - steps.minus
                let fMinus = model(problem.x[i], probe)
                jacobian[i * p + j] = sqrtW * (fPlus - fMinus) / (steps.plus + steps.minus)
            }
            probe[j] = parameters[j]
        }
        return jacobian
    }

    /// (JᵀJ)⁻¹ via `gsl_multifit_nlinear_covar` on the column-equilibrated J.
    private static func covariance(_ problem: Problem, jacobian: [Double]) -> [[Double]] {
        let n = problem.pointCount, p = problem.parameterCount
        let nanMatrix = [[Double]](repeating: [Double](repeating: .nan, count: p), count: p)
        guard jacobian.allSatisfy(\.isFinite) else { return nanMatrix }

        // Equilibrate the columns; a zero column means the model ignores that parameter.
        var columnScale = [Double](repeating: 1, count: p)
        var unidentifiable = [Bool](repeating: false, count: p)
        for j in 0..<p {
            var sum = 0.0
            for i in 0..<n { sum += jacobian[i * p + j] * jacobian[i * p + j] }
            let norm = sum.squareRoot()
            if norm > 0, norm.isFinite { columnScale[j] = norm } else { unidentifiable[j] = true }
        }
        guard let jMatrix = gsl_matrix_alloc(n, p) else { return nanMatrix }
        defer { gsl_matrix_free(jMatrix) }
        guard let covMatrix = gsl_matrix_alloc(p, p) else { return nanMatrix }
        defer { gsl_matrix_free(covMatrix) }
        let jTda = jMatrix.pointee.tda, jData = jMatrix.pointee.data!
        for i in 0..<n {
            for j in 0..<p { jData[i * jTda + j] = unidentifiable[j] ? 0 : jacobian[i * p + j] / columnScale[j] }
        }
        guard gsl_multifit_nlinear_covar(jMatrix, 0, covMatrix) == GSL.success else { return nanMatrix }
        let cTda = covMatrix.pointee.tda, cData = covMatrix.pointee.data!
        var covariance = nanMatrix
        for a in 0..<p {
            for b in 0..<p {
                if unidentifiable[a] || unidentifiable[b] {
                    covariance[a][b] = a == b ? .infinity : .nan
                } else {
                    covariance[a][b] = cData[a * cTda + b] / (columnScale[a] * columnScale[b])
                }
            }
        }
        return covariance
    }

    /// A point with markedly lower χ² than `evaluation`, if a Gauss–Newton step in p finds one:
    /// Δ = −(JᵀJ)⁻¹Jᵀr, tried at full, half, quarter and eighth length; a coordinate that would
    /// cross a bound stops halfway to it. "Markedly": χ² falls by more than
    /// 10⁻⁴·χ² + tolerance²·SS_tot, far above what a converged fit leaves to gain.
    private static func improvedPoint(
        _ problem: Problem, _ evaluation: Evaluation, tolerance: Double, model: ([Double], [Double]) -> Double
    ) -> (parameters: [Double], chiSquared: Double)? {
        let n = problem.pointCount, p = problem.parameterCount
        let cov = evaluation.covariance, jacobian = evaluation.jacobian, r = evaluation.residuals
        var gradient = [Double](repeating: 0, count: p)  // Jᵀr
        for i in 0..<n {
            for j in 0..<p { gradient[j] += jacobian[i * p + j] * r[i] }
        }
        var step = [Double](repeating: 0, count: p)
        for a in 0..<p {
            for b in 0..<p { step[a] -= cov[a][b] * gradient[b] }
        }
        guard step.allSatisfy(\.isFinite) else { return nil }
        let threshold = 1e-4 * evaluation.chiSquared + tolerance * tolerance * evaluation.totalSumOfSquares
        var fraction = 1.0
        for _ in 0..<4 {
            var candidate = evaluation.parameters
            for j in 0..<p {
                let current = evaluation.parameters[j], lo = problem.lower[j], hi = problem.upper[j]
                var next = current + fraction * step[j]
                if next <= lo { next = current + 0.5 * (lo - current) }
                if next >= hi { next = current + 0.5 * (hi - current) }
                candidate[j] = min(max(next, lo), hi)
            }
            let chiSquared = weightedResiduals(problem, at: candidate, model: model).chiSquared
            if chiSquared.isFinite, evaluation.chiSquared - chiSquared > threshold {
                return (candidate, chiSquared)
            }
            fraction *= 0.5
        }
        return nil
    }

    /// Steps for the difference quotient (f(p + plus) − f(p − minus)) / (plus + minus):
    /// central with h = ε^(1/3)·scale where p ± h stays within the bounds, otherwise one-sided
    /// (inwards) with h = ε^(1/2)·scale; scale = max(|p|, |initial|), or 1 if both are 0.
    static func differenceSteps(_ p: Double, initial: Double, lower: Double, upper: Double)
        -> (plus: Double, minus: Double) {
        var scale = max(abs(p), abs(initial))
        if !(scale > 0) { scale = 1 }
        let central = cbrt(Double.ulpOfOne) * scale
        if p - central >= lower, p + central <= upper { return (central, central) }
        var h = Double.ulpOfOne.squareRoot() * scale
        if upper - lower < 4 * h { h = (upper - lower) / 4 }
        if p + h <= upper { return (h, 0) }
        return (0, h)
    }
}
