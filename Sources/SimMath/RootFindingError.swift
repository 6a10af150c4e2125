/// Why `RootFinding.brent` could not return a root.
public enum RootFindingError: Error, Equatable, CustomStringConvertible {
    /// f(lower) and f(upper) have the same (non-zero) sign, so [lower, upper] is not
    /// known to contain a root.
    case notBracketed(lower: Double, upper: Double, fLower: Double, fUpper: Double)
    /// f returned NaN or ±infinity at `x`.
    case nonFiniteValue(x: Double, value: Double)
    /// The bracket did not shrink to the requested tolerance within `iterations` steps;
    /// [lower, upper] is the last bracket.
    case didNotConverge(iterations: Int, lower: Double, upper: Double)
    /// An argument is unusable (non-finite or empty interval, negative tolerance, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .notBracketed(lower, upper, fLower, fUpper):
            return "root not bracketed: f(\(lower)) = \(fLower) and f(\(upper)) = \(fUpper) have the same sign"
        case let .nonFiniteValue(x, value):
            return "function value is not finite: f(\(x)) = \(value)"
        case let .didNotConverge(iterations, lower, upper):
            return "root finding did not converge in \(iterations) iterations (last bracket [\(lower), \(upper)])"
        case let .invalidArgument(text):
            return "invalid argument: \(text)"
        }
    }
}
