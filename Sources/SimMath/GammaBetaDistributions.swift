import CGSL
import Foundation

/// Beta distribution quantiles (GSL's gsl_cdf_beta_Pinv / _Qinv), for integrals over a routing share's
/// marginal law (Dirichlet routing: each share is Beta(α, (E − 1)α)).
public enum GammaBetaDistributions {
    /// The u-quantile of Beta(a, b) (upper-tail inversion above the median, for accuracy near 1).
    public static func betaQuantile(_ u: Double, a: Double, b: Double) -> Double {
        guard u > 0 else { return 0 }
        guard u < 1 else { return 1 }
        GSL.ensureInitialised()
        let x = u < 0.5 ? gsl_cdf_beta_Pinv(u, a, b) : gsl_cdf_beta_Qinv(1 - u, a, b)
        return x.isFinite ? min(1, max(0, x)) : (u < 0.5 ? 0 : 1)
    }
}
