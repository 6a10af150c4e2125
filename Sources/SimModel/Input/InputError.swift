import Foundation

/// A problem with something the user wrote: a scenario, a profile, a flag.
///
/// Its `description` is one paragraph naming the file, the line, the key path and what is
/// allowed. The CLI prints it and exits with status 2; nothing deeper ever traps on it.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the problem is in (or "<command line>", "<inline>").
    public var file: String
    /// 1-based line of the offending node, when known.
    public var line: Int?
    /// Dotted key path from the document root, e.g. `model.blocks.hyb.mixer.split`.
    public var keyPath: String
    /// What is wrong.
    public var problem: String
    /// What would be accepted instead.
    public var allowed: String?

    public init(file: String, line: Int? = nil, keyPath: String, problem: String, allowed: String? = nil) {
        self.file = file
        self.line = line
        self.keyPath = Self.capped(keyPath, 200)
        self.problem = Self.capped(problem, 400)
        self.allowed = allowed.map { Self.capped($0, 400) }
    }

    /// A message part at most `limit` characters (a value echoed from the input can be megabytes long), with
    /// control characters shown as U+XXXX (echoed raw they would act on the user's terminal).
    static func capped(_ text: String, _ limit: Int) -> String {
        var visible = text
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
            visible = ""
            for scalar in text.unicodeScalars {
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                    visible += String(format: "U+%04X", scalar.value)
                } else {
                    visible.unicodeScalars.append(scalar)
                }
            }
        }
        guard visible.count > limit else { return visible }
        return String(visible.prefix(limit)) + "… (\(visible.count) characters)"
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        var text = "\(where_): "
        if !keyPath.isEmpty { text += "at `\(keyPath)`: " }
        text += problem
        if let allowed, !allowed.isEmpty {
            if !text.hasSuffix(".") { text += "." }
            text += " Allowed: \(allowed)"
        }
        if !text.hasSuffix(".") { text += "." }
        return text
    }
}

/// Several input errors found in one pass (e.g. `hybridsim check` over many files).
public struct InputErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [InputError]
    public init(_ errors: [InputError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

public enum Spelling {
    /// Levenshtein distance, for did-you-mean suggestions.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                let deletion: Int = previous[j] + 1
                let insertion: Int = current[j - 1] + 1
                let substitution: Int = previous[j - 1] + cost
                current[j] = Swift.min(deletion, insertion, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The closest candidate within a small edit distance, if any.
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        // A truncated name (`nvidia-h100` for `nvidia-h100-sxm`) is the likeliest intent.
        let lower = word.lowercased()
        if lower.count >= 3, let prefixed = candidates.filter({ $0.lowercased().hasPrefix(lower) }).min(by: { $0.count < $1.count }) {
            return prefixed
        }
        var best: (word: String, distance: Int)? = nil
        for candidate in candidates {
            let d = distance(word, candidate)
            if let current = best, current.distance < d || (current.distance == d && current.word < candidate) { continue }
            best = (candidate, d)
        }
        guard let best else { return nil }
        let limit = Swift.max(2, word.count / 3)
        return best.distance <= limit ? best.word : nil
    }
}
