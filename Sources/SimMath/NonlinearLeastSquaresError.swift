/// Why `NonlinearLeastSquares.fit` refused to start a fit.
///
/// Only unusable input is reported this way: a fit that starts but does not converge returns
/// a `NonlinearLeastSquares.Result` with `converged == false` and the reason instead.
public enum NonlinearLeastSquaresError: Error, Equatable, CustomStringConvertible {
    /// There are no data points (`y` is empty).
    case emptyData
    /// Two inputs that must have the same length do not (for example `x` and `y`, or
    /// `lowerBounds` and `initial`).
    case mismatchedLengths(what: String, expected: Int, actual: Int)
    /// Fewer usable data points (points with a positive weight) than parameters.
    case tooFewPoints(points: Int, parameters: Int)
    /// An input value is NaN or ±infinity (`what` names it, e.g. "y[3]" or "x[2][0]").
    case nonFiniteInput(what: String, value: Double)
    /// `initial[index]` lies outside [lower, upper].
    case initialOutsideBounds(index: Int, value: Double, lower: Double, upper: Double)
    /// The bounds of parameter `index` are unusable (NaN, lower ≥ upper, lower = +∞, ...).
    case invalidBounds(index: Int, lower: Double, upper: Double)
    /// The model returned NaN or ±infinity at the initial parameters, for data point `point`.
    case nonFiniteModel(point: Int, value: Double)
    /// Another argument is unusable (no parameters, negative weight, maxIterations < 1, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .emptyData:
            return "no data points"
        case let .mismatchedLengths(what, expected, actual):
            return "\(what) has \(actual) entries, expected \(expected)"
        case let .tooFewPoints(points, parameters):
            return "\(points) data points (with positive weight) cannot determine \(parameters) parameters"
        case let .nonFiniteInput(what, value):
            return "\(what) is not finite (\(value))"
        case let .initialOutsideBounds(index, value, lower, upper):
            return "initial[\(index)] = \(value) lies outside its bounds [\(lower), \(upper)]"
        case let .invalidBounds(index, lower, upper):
            return "bounds of parameter \(index) are unusable: [\(lower), \(upper)]"
        case let .nonFiniteModel(point, value):
            return "the model is not finite at the initial parameters (data point \(point): \(value))"
        case let .invalidArgument(text):
            return "invalid argument: \(text)"
        }
    }
}
