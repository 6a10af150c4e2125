import Foundation

/// Where a large output goes piece by piece: a file descriptor (buffered, 1 MiB at a time) or memory.
public final class TextSink {
    private let fd: Int32?
    private var buffer: [UInt8] = []
    private var memory: [UInt8] = []
    private let path: String

    /// A sink into memory (``text`` after writing).
    public init() {
        fd = nil
        path = "<memory>"
    }

    /// A sink into an open file descriptor (not closed here).
    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(1 << 20)
    }

    public func write(_ text: String) throws {
        if fd == nil { memory.append(contentsOf: text.utf8); return }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func flush() throws {
        guard let fd, !buffer.isEmpty else { return }
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in Foundation.write(fd, raw.baseAddress.map { $0 + offset }, buffer.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// What a memory sink holds.
    public var text: String { String(decoding: memory, as: UTF8.self) }
}

/// A JSON document whose large arrays are written one element at a time, so a report of a million op spans never
/// exists as one tree of Foundation objects (issue 10: a 65,536-layer report took 12.7 GB that way). The output is
/// byte-identical to `JSONSerialization` of the whole document with the same options: the skeleton is serialised
/// with a unique placeholder string where each array goes, and each element, serialised alone, is spliced in with
/// the placeholder line's indentation.
public struct StreamedJSON {
    public var root: [String: Any] = [:]
    private var arrays: [(placeholder: String, count: Int, element: (Int) -> [String: Any])] = []
    private let token = UUID().uuidString

    public init() {}

    /// A value for the skeleton that stands for an array of `count` elements made by `element` when written.
    public mutating func array(count: Int, element: @escaping (Int) -> [String: Any]) -> Any {
        guard count > 0 else { return [Any]() }
        let placeholder = "hybridsim-stream-\(token)-\(arrays.count)"
        arrays.append((placeholder, count, element))
        return placeholder
    }

    public func write(to sink: TextSink, pretty: Bool) throws {
        let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        let skeleton = String(decoding: try JSONSafe.data(root, options: options), as: UTF8.self)
        var rest = Substring(skeleton)
        for array in arrays {
            guard let range = rest.range(of: "\"\(array.placeholder)\"") else { continue }
            let before = rest[..<range.lowerBound]
            try sink.write(String(before))
            let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
            let indent = String(before[lineStart...].prefix { $0 == " " })
            if pretty {
                let inner = indent + "  "
                try sink.write("[\n")
                for i in 0..<array.count {
                    var text = inner
                    try FastJSON.append(array.element(i), pretty: true, indent: inner, to: &text)
                    try sink.write(text + (i + 1 < array.count ? ",\n" : "\n"))
                }
                try sink.write(indent + "]")
            } else {
                try sink.write("[")
                for i in 0..<array.count {
                    try sink.write(try FastJSON.encode(array.element(i), pretty: false) + (i + 1 < array.count ? "," : ""))
                }
                try sink.write("]")
            }
            rest = rest[range.upperBound...]
        }
        try sink.write(String(rest) + "\n")
    }

    /// The document as one tree of Foundation objects, each placeholder replaced by its array (what the streamed
    /// text must equal when `JSONSerialization` writes it; tests).
    func materialized() -> [String: Any] {
        let arrays = Dictionary(uniqueKeysWithValues: self.arrays.map { ($0.placeholder, $0) })
        func walk(_ value: Any) -> Any {
            switch value {
            case let s as String: return arrays[s].map { a in (0..<a.count).map { a.element($0) as Any } } ?? s
            case let map as [String: Any]: return map.mapValues(walk)
            case let list as [Any]: return list.map(walk)
            default: return value
            }
        }
        return root.mapValues(walk)
    }

    /// The whole document as text (small documents, tests).
    public func text(pretty: Bool) throws -> String {
        let sink = TextSink()
        try write(to: sink, pretty: pretty)
        return sink.text
    }
}

/// Writes JSON text exactly as Foundation's `JSONSerialization` does with `.sortedKeys` (and `.prettyPrinted` when
/// asked), about 20 times faster, for the values the exports put in a streamed array's elements: strings, integers,
/// doubles, booleans, null, arrays and dictionaries whose keys are lowercase ASCII (where Foundation's key order is
/// byte order). Anything else goes to `JSONSerialization` itself. Non-finite numbers are written as null (JSONSafe).
/// `ExportsTests` compares the two on every element of real reports and on edge values.
enum FastJSON {
    static func encode(_ value: Any, pretty: Bool) throws -> String {
        var out = ""
        try append(value, pretty: pretty, indent: "", to: &out)
        return out
    }

    static func append(_ value: Any, pretty: Bool, indent: String, to out: inout String) throws {
        switch value {
        case let s as String: appendString(s, to: &out)
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let i as Int32: out += String(i)
        case let i as Int64: out += String(i)
        case let i as UInt64: out += String(i)
        case let d as Double: out += number(d)
        case is NSNull: out += "null"
        case let list as [Any]:
            guard !list.isEmpty else { out += pretty ? "[\n\n\(indent)]" : "[]"; return }
            let inner = indent + "  "
            out += pretty ? "[\n" : "["
            for (i, item) in list.enumerated() {
                if pretty { out += inner }
                try append(item, pretty: pretty, indent: inner, to: &out)
                if i + 1 < list.count { out += pretty ? ",\n" : "," }
            }
            out += pretty ? "\n\(indent)]" : "]"
        case let map as [String: Any] where map.keys.allSatisfy(plainKey):
            guard !map.isEmpty else { out += pretty ? "{\n\n\(indent)}" : "{}"; return }
            let inner = indent + "  "
            out += pretty ? "{\n" : "{"
            let keys = map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if pretty { out += inner }
                appendString(key, to: &out)
                out += pretty ? " : " : ":"
                try append(map[key] ?? NSNull(), pretty: pretty, indent: inner, to: &out)
                if i + 1 < keys.count { out += pretty ? ",\n" : "," }
            }
            out += pretty ? "\n\(indent)}" : "}"
        default:
            // Foundation's own writer, re-indented to this depth.
            let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys, .fragmentsAllowed] : [.sortedKeys, .fragmentsAllowed]
            let text = String(decoding: try JSONSerialization.data(withJSONObject: JSONSafe.sanitized(value), options: options), as: UTF8.self)
            out += pretty ? text.replacingOccurrences(of: "\n", with: "\n" + indent) : text
        }
    }

    /// Keys whose order Foundation and byte order agree on: lowercase ASCII letters and underscores.
    static func plainKey(_ key: String) -> Bool {
        key.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    /// Foundation's form: Swift's shortest round-trip description without a trailing ".0"; null when not finite.
    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        var s = d.description
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    /// Foundation's escaping: quote, backslash and slash escaped, \b \f \n \r \t by name, other controls as \u00XX.
    static func appendString(_ s: String, to out: inout String) {
        out += "\""
        var plain = true
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C || b == 0x2F { plain = false; break }
        if plain { out += s; out += "\""; return }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += "\\/"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
