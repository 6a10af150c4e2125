import Foundation
import SimEngines

/// A CSV table with RFC 4180 quoting. Numbers print as Swift's shortest round-tripping decimal,
/// so the same values give the same bytes on every machine.
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public var text: String {
        var out = Self.line(header)
        for row in rows { out += Self.line(row) }
        return out
    }

    /// Parses RFC 4180 records (quoted fields may hold commas, quotes and line breaks; CRLF ends a record too): the
    /// reader of the CSV this module writes.
    public static func records(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var scalars = Array(text.unicodeScalars)[...]
        while let c = scalars.popFirst() {
            if inQuotes {
                if c == "\"" {
                    if scalars.first == "\"" { scalars.removeFirst(); field.append("\"") } else { inQuotes = false }
                } else {
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"": inQuotes = true
            case ",": record.append(String(field)); field = String.UnicodeScalarView()
            case "\r" where scalars.first == "\n": continue
            case "\n", "\r":
                record.append(String(field)); field = String.UnicodeScalarView()
                records.append(record); record = []
            default: field.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(String(field)); records.append(record) }
        return records
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(quote).joined(separator: ",") + "\n"
    }

    static func quote(_ field: String) -> String {
        // Scalars, not Characters: "\r\n" and a comma followed by a combining mark are single Characters.
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        var scalars = String.UnicodeScalarView()
        scalars.append("\"")
        for scalar in field.unicodeScalars {
            scalars.append(scalar)
            if scalar == "\"" { scalars.append("\"") }
        }
        scalars.append("\"")
        return String(scalars)
    }

    /// A number as CSV text.
    public static func number(_ value: Double) -> String { Metrics.format(value) }
}

/// Reads a file's lines one at a time (1 MiB at a time), for files too large to hold: a sweep's rows.
/// Lines end at "\n" (a final line without one is returned too, and ``endedWithNewline`` says so).
public final class LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    public private(set) var endedWithNewline = true
    public let path: String

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))") }
    }

    deinit { close(fd) }

    /// The next line without its "\n", or nil at the end.
    public func next() throws -> String? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[start..<newline], as: UTF8.self)
                start = newline + 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                endedWithNewline = false
                return line
            }
            buffer.removeFirst(start)
            start = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 1 << 20) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.WriteError(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))")
            }
            if n == 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }
}
