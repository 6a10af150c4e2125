import CGSL

/// An error reported by the GNU Scientific Library.
///
/// GSL functions return an integer status code (`GSL_SUCCESS` = 0 on success); every
/// non-zero status that reaches Swift is turned into a `GSLError` carrying that code and
/// the text of `gsl_strerror(status)`.
public struct GSLError: Error, CustomStringConvertible, Equatable {
    /// The GSL status code (for example `GSL_EINVAL` = 4, `GSL_EMAXITER` = 11).
    public let status: Int32
    /// The human-readable message, `gsl_strerror(status)`, optionally prefixed with context.
    public let message: String

    /// Creates an error from a status code and an explicit message.
    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }

    /// Creates an error from a status code, using `gsl_strerror` for the message and
    /// prefixing it with `context` (for example the name of the failing GSL call) if given.
    public init(status: Int32, context: String? = nil) {
        let text: String
        if let cText = gsl_strerror(status) {
            text = String(cString: cText)
        } else {
            text = "unknown GSL error"
        }
        self.status = status
        if let context {
            self.message = "\(context): \(text)"
        } else {
            self.message = text
        }
    }

    public var description: String {
        "GSL error \(status): \(message)"
    }
}

/// Internal helpers shared by every GSL wrapper in this module.
enum GSL {
    /// Swift runs a `static let` initialiser exactly once, atomically, on first access,
    /// so this is a thread-safe one-time switch.
    private static let errorHandlerDisabled: Bool = {
        // GSL's default handler calls abort(); with it off, functions return status codes.
        _ = gsl_set_error_handler_off()
        return true
    }()

    /// Turns GSL's abort-on-error handler off (once per process). Call before any GSL call.
    @inline(__always)
    static func ensureInitialised() {
        _ = errorHandlerDisabled
    }

    /// `GSL_SUCCESS` as the `Int32` that GSL functions return.
    static let success = Int32(GSL_SUCCESS)
    /// `GSL_CONTINUE` as the `Int32` that GSL iterate/test functions return.
    static let `continue` = Int32(GSL_CONTINUE)
    /// `GSL_EBADFUNC`: the user function returned a non-finite value.
    static let badFunction = Int32(GSL_EBADFUNC)

    /// Throws a `GSLError` unless `status` is `GSL_SUCCESS`.
    @inline(__always)
    static func check(_ status: Int32, _ context: @autoclosure () -> String) throws(GSLError) {
        if status != success {
            throw GSLError(status: status, context: context())
        }
    }
}
