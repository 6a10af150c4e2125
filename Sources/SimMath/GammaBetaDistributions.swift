import CGSL
import Foundation

/// Gamma and Beta distribution functions (GSL's gsl_cdf_gamma_* and gsl_cdf_beta_*), and the
/// expected maximum of i.i.d. Gamma variables that Dirichlet routing needs.
public enum GammaBetaDistributions {
    /// P(X <= x) for X ~ Gamma(shape, scale 1).
    public static func gammaCDF(_ x: Double, shape: Double) -> Double {
        guard x > 0 else { return 0 }
        GSL.ensureInitialised()
        return gsl_cdf_gamma_P(x, shape, 1)
    }

    /// P(X > x) for X ~ Beta(a, b).
    public static func betaSurvival(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 1 }
        if x >= 1 { return 0 }
        GSL.ensureInitialised()
        return gsl_cdf_beta_Q(x, a, b)
    }

    /// E[max of `count` i.i.d. Gamma(shape, 1)] = ∫_0^∞ (1 − F(x)^count) dx, by composite Simpson
    /// on [0, x_hi] with x_hi the point where the maximum's upper tail is below 1e-13.
    ///
    /// Used for Dirichlet routing: if p ~ Dirichlet(a, ..., a) over E experts, p = G / ΣG with
    /// G_i ~ Gamma(a) i.i.d. and ΣG independent of p (Lukacs), so E[max p] = E[max G] / (E a).
    public static func expectedMaximumOfIIDGamma(count: Int, shape: Double) -> Double {
        guard count >= 1, shape > 0, shape.isFinite else { return .nan }
        GSL.ensureInitialised()
        let n = Double(count)
        let high = gsl_cdf_gamma_Qinv(1e-13 / n, shape, 1)
        guard high.isFinite, high > 0 else { return .nan }
        let panels = 400
        let h = high / Double(panels)
        func f(_ x: Double) -> Double { 1 - pow(gsl_cdf_gamma_P(x, shape, 1), n) }
        var sum = f(0) + f(high)
        for i in 1..<panels { sum += f(Double(i) * h) * (i % 2 == 1 ? 4 : 2) }
        return sum * h / 3
    }
}
