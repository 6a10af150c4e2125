import CGSL

/// Information about the GNU Scientific Library this module is linked against.
public enum GSLInfo {
    /// The run-time GSL version string (GSL's `gsl_version` global, e.g. `"2.7.1"`).
    public static var version: String {
        guard let cString = hs_gsl_version() else { return "unknown" }
        return String(cString: cString)
    }
}
