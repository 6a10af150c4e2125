import Foundation
import Yams

/// A YAML node with the file and key path it came from, read strictly.
///
/// Every accessor throws an ``InputError`` naming the file, line and key path; mappings are
/// opened with the list of keys they allow, so a typo is reported with a did-you-mean.
public struct YAMLNode {
    public let node: Yams.Node
    public let file: String
    public let path: [String]

    public init(node: Yams.Node, file: String, path: [String] = []) {
        self.node = node
        self.file = file
        self.path = path
    }

    /// Parses YAML text into its root node.
    public static func parse(_ text: String, file: String) throws -> YAMLNode {
        do {
            guard let root = try Yams.compose(yaml: text) else {
                throw InputError(file: file, line: 1, keyPath: "", problem: "the document is empty", allowed: "a YAML mapping")
            }
            return YAMLNode(node: root, file: file)
        } catch let error as InputError {
            throw error
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw duplicateKeyError(text, keys: duplicates, first: context.mark, file: file)
        } catch let YamlError.reader(problem, offset, value, _) {
            // The reader's offset counts bytes of the UTF-8 text: its line and column, and the character by code.
            let bytes = Array(text.utf8.prefix(max(0, offset ?? 0)))
            let line = bytes.filter { $0 == 0x0A }.count + 1
            let column = bytes.count - (bytes.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            let character = value >= 0 ? String(format: "U+%04X", value) : "a character"
            throw InputError(file: file, line: line, keyPath: "", problem: "\(character) at column \(column) is not allowed in YAML (\(problem))",
                             allowed: "printable characters, tabs and line breaks")
        } catch let error as YamlError {
            throw InputError(file: file, line: Self.line(of: error), keyPath: "", problem: "malformed YAML: \(Self.summary(of: error))")
        } catch {
            throw InputError(file: file, keyPath: "", problem: "malformed YAML: \(error)")
        }
    }

    /// Reads and parses a YAML file.
    public static func load(path: String) throws -> YAMLNode {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(file: path, keyPath: "", problem: "no such file")
        }
        // An empty file is said so without reading it: Foundation's read of an empty file leaks its 4 KiB buffer
        // (LeakSanitizer, swift-corelibs-foundation readBytesFromFile, Swift 6.3.1).
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue == 0 {
            throw InputError(file: path, line: 1, keyPath: "", problem: "the document is empty", allowed: "a YAML mapping")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, keyPath: "", problem: "the file cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let (line, byte) = firstInvalidUTF8(data)
            throw InputError(file: path, line: line, keyPath: "", problem: "the file is not UTF-8 text: byte \(byte) (line \(line)) starts an invalid sequence",
                             allowed: "UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// The line and byte offset (0-based) of the first byte that is not valid UTF-8.
    static func firstInvalidUTF8(_ data: Data) -> (line: Int, byte: Int) {
        var line = 1, index = 0
        let bytes = [UInt8](data)
        while index < bytes.count {
            let b = bytes[index]
            let length = b < 0x80 ? 1 : (b >> 5 == 0b110 ? 2 : (b >> 4 == 0b1110 ? 3 : (b >> 3 == 0b11110 ? 4 : 0)))
            guard length > 0, index + length <= bytes.count,
                  (1..<length).allSatisfy({ bytes[index + $0] >> 6 == 0b10 }),
                  String(bytes: bytes[index..<(index + length)], encoding: .utf8) != nil else { return (line, index) }
            if b == 0x0A { line += 1 }
            index += length
        }
        return (line, index)
    }

    /// A duplicated key, located: Yams names the keys and the first one's position; the second is found in the text
    /// (the next line at the first's indentation before the mapping ends), with the key path of the mapping.
    static func duplicateKeyError(_ text: String, keys: [String], first: Mark, file: String) -> InputError {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let key = keys.first ?? "?"
        func indent(_ s: String) -> Int { s.prefix { $0 == " " }.count }
        func meaningful(_ s: String) -> Bool {
            let t = s.trimmingCharacters(in: .whitespaces)
            return !t.isEmpty && !t.hasPrefix("#")
        }
        let firstLine = first.line, column = max(0, first.column - 1)
        var duplicateLine: Int? = nil
        if firstLine >= 1, firstLine <= lines.count {
            var i = firstLine
            while i < lines.count {
                let l = lines[i]
                if meaningful(l) {
                    if indent(l) < column { break }
                    if indent(l) == column && l.dropFirst(column).hasPrefix(key + ":") { duplicateLine = i + 1; break }
                }
                i += 1
            }
        }
        // The enclosing keys: lines above the first with less indentation, each closer to the root.
        var path: [String] = []
        if firstLine >= 1, firstLine <= lines.count {
            var level = column
            var i = firstLine - 2
            while i >= 0 && level > 0 {
                let l = lines[i]
                if meaningful(l), indent(l) < level, let colon = l.firstIndex(of: ":") {
                    path.insert(l[l.startIndex..<colon].trimmingCharacters(in: .whitespaces), at: 0)
                    level = indent(l)
                }
                i -= 1
            }
        }
        let shown = keys.map { "`\($0.prefix(60))`" }.joined(separator: ", ")
        return InputError(file: file, line: duplicateLine ?? (firstLine > 0 ? firstLine : nil), keyPath: (path + [String(key.prefix(60))]).joined(separator: "."),
                          problem: "the key \(shown) appears twice in one mapping (first at line \(firstLine))", allowed: "each key once")
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { "\($0.text) " } ?? ""
            return "\(ctx)\(problem) (line \(mark.line), column \(mark.column))"
        default:
            return String(describing: error).split(separator: "\n").joined(separator: " ")
        }
    }

    public var keyPath: String { path.joined(separator: ".") }
    public var line: Int? { node.mark?.line }

    /// An error located at this node.
    public func error(_ problem: String, allowed: String? = nil) -> InputError {
        InputError(file: file, line: line, keyPath: keyPath, problem: problem, allowed: allowed)
    }

    func child(_ node: Yams.Node, key: String) -> YAMLNode {
        YAMLNode(node: node, file: file, path: path + [key])
    }

    public var isMapping: Bool { if case .mapping = node { return true } else { return false } }
    public var isSequence: Bool { if case .sequence = node { return true } else { return false } }
    public var isNull: Bool {
        if case let .scalar(s) = node { return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string) }
        return false
    }

    private var kindName: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case let .scalar(s): return "the value `\(s.string)`"
        case .alias: return "an alias"
        }
    }

    // MARK: Scalars

    public func string() throws -> String {
        guard case let .scalar(s) = node else { throw error("expected a string but found \(kindName)") }
        return s.string
    }

    /// A string that must be one of `choices`.
    public func choice(_ choices: [String]) throws -> String {
        let value = try string()
        guard choices.contains(value) else {
            var problem = "`\(value)` is not a known value"
            if let guess = Spelling.suggestion(for: value, among: choices) { problem += " (did you mean `\(guess)`?)" }
            throw error(problem, allowed: choices.joined(separator: ", "))
        }
        return value
    }

    public func bool() throws -> Bool {
        let value = try string()
        switch value {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default: throw error("expected true or false but found `\(value)`", allowed: "true, false")
        }
    }

    /// A finite number within `range` (inclusive unless noted by the caller's message).
    public func double(in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude,
                       allowed: String? = nil) throws -> Double {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let value = Double(text), value.isFinite else {
            throw error("expected a number but found `\(text)`", allowed: allowed ?? Self.describe(range))
        }
        guard range.contains(value) else {
            throw error("\(text) is out of range", allowed: allowed ?? Self.describe(range))
        }
        return value
    }

    /// A number strictly greater than zero.
    public func positiveDouble(allowed: String = "a number greater than 0") throws -> Double {
        let value = try double(allowed: allowed)
        guard value > 0 else { throw error("\(value) is not greater than 0", allowed: allowed) }
        return value
    }

    public func int(in range: ClosedRange<Int> = Int.min...Int.max, allowed: String? = nil) throws -> Int {
        let text = try string().replacingOccurrences(of: "_", with: "")
        let value: Int
        if let exact = Int(text) {
            value = exact
        } else if let real = Double(text), real.isFinite, real == real.rounded(), abs(real) < 9.0e15 {
            value = Int(real)
        } else {
            throw error("expected a whole number but found `\(text)`", allowed: allowed ?? Self.describe(range))
        }
        guard range.contains(value) else {
            throw error("\(value) is out of range", allowed: allowed ?? Self.describe(range))
        }
        return value
    }

    static func describe(_ range: ClosedRange<Double>) -> String {
        let big = 1e300
        switch (range.lowerBound > -big, range.upperBound < big) {
        case (true, true): return "a number from \(range.lowerBound) to \(range.upperBound)"
        case (true, false): return "a number of at least \(range.lowerBound)"
        case (false, true): return "a number of at most \(range.upperBound)"
        case (false, false): return "a finite number"
        }
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound > Int.min, range.upperBound < Int.max) {
        case (true, true): return "a whole number from \(range.lowerBound) to \(range.upperBound)"
        case (true, false): return "a whole number of at least \(range.lowerBound)"
        case (false, true): return "a whole number of at most \(range.upperBound)"
        case (false, false): return "a whole number"
        }
    }

    // MARK: Collections

    public func list() throws -> [YAMLNode] {
        guard case let .sequence(seq) = node else { throw error("expected a list but found \(kindName)") }
        return seq.enumerated().map { index, item in
            var p = path
            if let last = p.popLast() { p.append("\(last)[\(index)]") } else { p.append("[\(index)]") }
            return YAMLNode(node: item, file: file, path: p)
        }
    }

    /// Opens a mapping whose keys must all be among `allowed` (an unknown key is an error with a did-you-mean).
    public func mapping(allowed: [String]) throws -> YAMLMapping {
        guard case let .mapping(map) = node else { throw error("expected a mapping but found \(kindName)", allowed: "keys \(allowed.joined(separator: ", "))") }
        var entries: [(String, YAMLNode)] = []
        var seen = Set<String>()
        for (keyNode, valueNode) in map {
            guard case let .scalar(keyScalar) = keyNode else {
                throw error("a key is not a plain string", allowed: allowed.joined(separator: ", "))
            }
            let key = keyScalar.string
            let keyLine = keyNode.mark?.line
            if !allowed.isEmpty && !allowed.contains(key) {
                var problem = "unknown key `\(key)`"
                if let guess = Spelling.suggestion(for: key, among: allowed) { problem += " (did you mean `\(guess)`?)" }
                throw InputError(file: file, line: keyLine, keyPath: (path + [key]).joined(separator: "."), problem: problem,
                                 allowed: "keys \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else {
                throw InputError(file: file, line: keyLine, keyPath: (path + [key]).joined(separator: "."), problem: "the key `\(key)` appears twice")
            }
            entries.append((key, child(valueNode, key: key)))
        }
        return YAMLMapping(owner: self, entries: entries)
    }

    /// Opens a mapping with any string keys (e.g. the names of blocks), in document order.
    public func openMapping() throws -> YAMLMapping { try mapping(allowed: []) }
}

/// The entries of a mapping node, looked up by key.
public struct YAMLMapping {
    public let owner: YAMLNode
    public let entries: [(key: String, value: YAMLNode)]

    init(owner: YAMLNode, entries: [(String, YAMLNode)]) {
        self.owner = owner
        self.entries = entries.map { (key: $0.0, value: $0.1) }
    }

    public var keys: [String] { entries.map(\.key) }

    public subscript(key: String) -> YAMLNode? {
        entries.first { $0.key == key }.map(\.value).flatMap { $0.isNull ? nil : $0 }
    }

    public func contains(_ key: String) -> Bool { self[key] != nil }

    public func required(_ key: String, allowed: String? = nil) throws -> YAMLNode {
        guard let value = self[key] else {
            throw InputError(file: owner.file, line: owner.line, keyPath: (owner.path + [key]).joined(separator: "."),
                             problem: "the required key `\(key)` is missing", allowed: allowed)
        }
        return value
    }
}
