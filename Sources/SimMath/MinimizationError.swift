/// Why `Minimization.brent` could not return a minimum.
public enum MinimizationError: Error, Equatable, CustomStringConvertible {
    /// f returned NaN or ±infinity at `x`.
    case nonFiniteValue(x: Double, value: Double)
    /// The bracket did not shrink to the requested tolerance within `iterations` steps;
    /// [lower, upper] is the last bracket.
    case didNotConverge(iterations: Int, lower: Double, upper: Double)
    /// An argument is unusable (non-finite or empty interval, non-positive tolerance, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .nonFiniteValue(x, value):
            return "function value is not finite: f(\(x)) = \(value)"
        case let .didNotConverge(iterations, lower, upper):
            return "minimisation did not converge in \(iterations) iterations (last bracket [\(lower), \(upper)])"
        case let .invalidArgument(text):
            return "invalid argument: \(text)"
        }
    }
}
