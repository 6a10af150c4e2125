import Foundation

/// JSON has no infinities or NaN: Foundation's writer refuses them (an error, not a file). Every JSON the
/// exports write passes through here, which writes a non-finite number as null, so an extreme but legal
/// input gives a file that says what it could not compute rather than no file at all.
enum JSONSafe {
    static func data(_ object: [String: Any], options: JSONSerialization.WritingOptions) throws -> Data {
        try JSONSerialization.data(withJSONObject: sanitized(object), options: options)
    }

    static func sanitized(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let f as Float: return f.isFinite ? f : NSNull()
        case let map as [String: Any]: return map.mapValues(sanitized)
        case let list as [Any]: return list.map(sanitized)
        default: return value
        }
    }
}
