import CGSL
import Foundation

/// The standard normal distribution N(0, 1).
///
/// `cdf` and `pdf` are pure Swift (libm's `erfc`, `exp`) because they sit in hot loops;
/// `quantile` uses GSL's `gsl_cdf_ugaussian_Pinv`.
public enum NormalDistribution {
    /// 1/√2.
    @usableFromInline static let inverseSqrt2 = 0.707_106_781_186_547_524_400_844_362_104_849_039
    /// 1/√(2π).
    @usableFromInline static let inverseSqrt2Pi = 0.398_942_280_401_432_677_939_946_059_934_381_868

    /// Φ(z) = P(Z ≤ z) = ½·erfc(−z/√2).
    ///
    /// Written with `erfc` rather than ½(1 + erf(z/√2)) so that the lower tail keeps full
    /// relative accuracy (Φ(−30) ≈ 4.9e−198 instead of 0). Φ(±∞) = 1 or 0; Φ(NaN) = NaN.
    @inlinable
    public static func cdf(_ z: Double) -> Double {
        0.5 * erfc(-z * inverseSqrt2)
    }

    /// Upper tail Q(z) = 1 − Φ(z) = ½·erfc(z/√2), accurate for large positive z.
    @inlinable
    public static func survival(_ z: Double) -> Double {
        0.5 * erfc(z * inverseSqrt2)
    }

    /// φ(z) = exp(−z²/2) / √(2π).
    @inlinable
    public static func pdf(_ z: Double) -> Double {
        inverseSqrt2Pi * exp(-0.5 * z * z)
    }

    /// Φ⁻¹(p): the z with Φ(z) = p (`gsl_cdf_ugaussian_Pinv`).
    ///
    /// Returns −∞ for p = 0, +∞ for p = 1, and NaN for p outside [0, 1] or NaN.
    public static func quantile(_ p: Double) -> Double {
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        GSL.ensureInitialised()
        return gsl_cdf_ugaussian_Pinv(p)
    }

    /// Upper-tail quantile: the z with Q(z) = 1 − Φ(z) = q (`gsl_cdf_ugaussian_Qinv`),
    /// accurate for tiny q. Returns +∞ for q = 0, −∞ for q = 1, NaN outside [0, 1].
    public static func survivalQuantile(_ q: Double) -> Double {
        guard q >= 0, q <= 1 else { return .nan }
        if q == 0 { return .infinity }
        if q == 1 { return -.infinity }
        GSL.ensureInitialised()
        return gsl_cdf_ugaussian_Qinv(q)
    }
}
