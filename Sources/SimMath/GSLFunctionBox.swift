import CGSL

/// Carries a Swift closure through GSL's `void *params` pointer.
///
/// C function pointers cannot capture context, so the `gsl_function` built here uses a
/// capture-free trampoline that reads the closure back out of `params`. GSL drivers call
/// the function synchronously, so a pointer to a stack-allocated box is valid for as long
/// as the caller stays inside `withGSLFunction`.
struct GSLFunctionBox {
    let body: (Double) -> Double
    /// The first argument at which `body` returned NaN or ±infinity, with that value.
    var firstNonFinite: (x: Double, value: Double)?
    /// Number of evaluations made through the trampoline.
    var evaluations = 0

    init(_ body: @escaping (Double) -> Double) {
        self.body = body
    }

    /// Evaluates the closure and records the first non-finite value.
    @inline(__always)
    mutating func evaluate(_ x: Double) -> Double {
        evaluations += 1
        let value = body(x)
        if !value.isFinite, firstNonFinite == nil {
            firstNonFinite = (x, value)
        }
        return value
    }
}

/// Runs `work` with a `gsl_function` that forwards to `f` (via a `GSLFunctionBox`), and
/// with direct access to the box for evaluations made from Swift.
func withGSLFunction<R, E: Error>(
    _ f: (Double) -> Double,
    _ work: (UnsafeMutablePointer<gsl_function>, UnsafeMutablePointer<GSLFunctionBox>) throws(E) -> R
) throws(E) -> R {
    let trampoline: @convention(c) (Double, UnsafeMutableRawPointer?) -> Double = { x, params in
        guard let params else { return .nan }
        return params.assumingMemoryBound(to: GSLFunctionBox.self).pointee.evaluate(x)
    }
    // withoutActuallyEscaping: the box never outlives this call.
    let result: Result<R, E> = withoutActuallyEscaping(f) { escapable in
        var box = GSLFunctionBox(escapable)
        return withUnsafeMutablePointer(to: &box) { boxPointer in
            var function = gsl_function(function: trampoline, params: UnsafeMutableRawPointer(boxPointer))
            return withUnsafeMutablePointer(to: &function) { functionPointer in
                do throws(E) {
                    return .success(try work(functionPointer, boxPointer))
                } catch {
                    return .failure(error)
                }
            }
        }
    }
    return try result.get()
}
