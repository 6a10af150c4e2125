/// Why a `RandomSource` draw or initialisation was refused.
public enum RandomSourceError: Error, Equatable, CustomStringConvertible {
    /// `gsl_rng_alloc` returned NULL (out of memory).
    case allocationFailed
    /// A distribution parameter is outside its domain; `requirement` states the domain.
    case invalidParameter(name: String, value: Double, requirement: String)
    /// A trial count is negative or exceeds `UInt32.max` (4 294 967 295), the largest value
    /// GSL's `unsigned int` trial arguments (binomial, multinomial) can hold.
    case trialsOutOfRange(trials: Int)
    /// A weight / probability / concentration vector is unusable (empty, has a negative or
    /// non-finite entry, or sums to zero or infinity).
    case invalidWeights(name: String, reason: String)

    public var description: String {
        switch self {
        case .allocationFailed:
            return "gsl_rng_alloc failed (out of memory)"
        case let .invalidParameter(name, value, requirement):
            return "invalid \(name) = \(value): must be \(requirement)"
        case let .trialsOutOfRange(trials):
            return "trials = \(trials) out of range: must be in 0...\(UInt32.max)"
        case let .invalidWeights(name, reason):
            return "invalid \(name): \(reason)"
        }
    }
}
