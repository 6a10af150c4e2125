import Foundation

/// A CSV file read into memory: a header row and data rows of strings, every row as wide as the header.
///
/// The reader follows RFC 4180: fields separated by commas, records by LF or CRLF (or a lone CR);
/// a field in double quotes may hold commas, newlines and doubled quotes (`""`). A missing final
/// newline, a UTF-8 byte-order mark and blank lines are accepted. A row with the wrong number of
/// fields is an error naming the row.
public struct CSVData: Sendable, Equatable {
    /// The file name used in error messages.
    public var file: String
    public var header: [String]
    public var rows: [[String]]
    /// The physical (1-based) line each data row starts on, for error messages.
    var lines: [Int]

    /// A table built in memory. Every row must be as wide as the header.
    public init(header: [String], rows: [[String]], file: String = "data") throws {
        try Self.checkHeader(header, file: file)
        for (index, row) in rows.enumerated() where row.count != header.count {
            throw PlotError.raggedRow(file: file, row: index + 1, line: index + 2, fields: row.count, expected: header.count)
        }
        self.file = file
        self.header = header
        self.rows = rows
        self.lines = rows.indices.map { $0 + 2 }
    }

    /// Parses CSV text with a header row. `file` names the source in error messages.
    public static func parse(_ text: String, file: String) throws -> CSVData {
        let records = try parseRecords(text, file: file)
        guard let first = records.first else {
            throw PlotError.malformedCSV(file: file, line: 1, reason: "the file is empty; expected a header row naming the columns")
        }
        let header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        try checkHeader(header, file: file)
        var rows: [[String]] = []
        var lines: [Int] = []
        rows.reserveCapacity(records.count - 1)
        for record in records.dropFirst() {
            if record.fields == [""] { continue } // a blank line
            guard record.fields.count == header.count else {
                throw PlotError.raggedRow(file: file, row: rows.count + 1, line: record.line,
                                          fields: record.fields.count, expected: header.count)
            }
            rows.append(record.fields)
            lines.append(record.line)
        }
        var data = try CSVData(header: header, rows: [], file: file)
        data.rows = rows
        data.lines = lines
        return data
    }

    /// The cells of one column, top to bottom.
    public func column(_ name: String) throws -> [String] {
        let index = try columnIndex(name)
        return rows.map { $0[index] }
    }

    /// The cells of one column as numbers. Surrounding spaces are ignored; `nan`, `inf` and `-inf`
    /// are accepted (as written by the exporters); an empty or non-numeric cell is an error naming the row.
    public func numbers(_ name: String) throws -> [Double] {
        let index = try columnIndex(name)
        return try rows.indices.map { row in
            guard let value = Self.number(rows[row][index]) else {
                throw PlotError.notNumeric(file: file, column: name, row: row + 1, line: lines[row], value: rows[row][index])
            }
            return value
        }
    }

    // MARK: - Internal helpers for the plots

    public func columnIndex(_ name: String) throws -> Int {
        if let index = header.firstIndex(of: name) { return index }
        throw PlotError.unknownColumn(file: file, column: name, available: header)
    }

    /// A column as optional numbers: an empty, `nan` or infinite cell is nil (a missing value), a
    /// non-numeric cell is an error naming the row.
    func finiteNumbers(_ name: String) throws -> [Double?] {
        let index = try columnIndex(name)
        return try rows.indices.map { row in
            let cell = rows[row][index].trimmingCharacters(in: .whitespaces)
            if cell.isEmpty { return nil }
            guard let value = Self.number(cell) else {
                throw PlotError.notNumeric(file: file, column: name, row: row + 1, line: lines[row], value: rows[row][index])
            }
            return value.isFinite ? value : nil
        }
    }

    /// The line of data row `row` (0-based), for error messages.
    func line(ofRow row: Int) -> Int { lines.indices.contains(row) ? lines[row] : row + 2 }

    static func number(_ cell: String) -> Double? {
        let trimmed = cell.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        // Double("0x10") and Double("1_000") quirks: accept only plain decimal syntax and nan/inf.
        switch trimmed.lowercased() {
        case "nan", "+nan", "-nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: break
        }
        let allowed = trimmed.unicodeScalars.allSatisfy { scalar in
            ("0"..."9").contains(scalar) || scalar == "." || scalar == "-" || scalar == "+" || scalar == "e" || scalar == "E"
        }
        guard allowed, let value = Double(trimmed) else { return nil }
        return value
    }

    private static func checkHeader(_ header: [String], file: String) throws {
        if header.isEmpty || header == [""] {
            throw PlotError.malformedCSV(file: file, line: 1, reason: "the header row is empty; expected column names")
        }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted {
            throw PlotError.duplicateColumn(file: file, column: name)
        }
    }

    struct Record { var fields: [String]; var line: Int }

    /// Splits the text into records of fields, working on UTF-8 bytes (all delimiters are ASCII, and
    /// Swift's Characters would merge "\r\n" into one).
    static func parseRecords(_ text: String, file: String) throws -> [Record] {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var afterClosingQuote = false
        var line = 1
        var recordLine = 1
        var quoteLine = 1
        var pending = false // something has been read since the last record ended

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            afterClosingQuote = false
        }
        func endRecord() {
            endField()
            records.append(Record(fields: fields, line: recordLine))
            fields.removeAll(keepingCapacity: true)
            pending = false
        }

        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            if inQuotes {
                if c == quote {
                    if i + 1 < n, bytes[i + 1] == quote {
                        field.append(quote)
                        i += 2
                        continue
                    }
                    inQuotes = false
                    afterClosingQuote = true
                } else {
                    if c == lf || (c == cr && !(i + 1 < n && bytes[i + 1] == lf)) { line += 1 }
                    field.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case comma:
                endField()
                pending = true
            case cr, lf:
                endRecord()
                if c == cr, i + 1 < n, bytes[i + 1] == lf { i += 1 }
                line += 1
                recordLine = line
            case quote where field.isEmpty && !afterClosingQuote:
                inQuotes = true
                quoteLine = line
                pending = true
            default:
                if afterClosingQuote {
                    throw PlotError.malformedCSV(
                        file: file, line: line,
                        reason: "text after a closing quote; inside a quoted field write a quote as \"\"")
                }
                field.append(c) // a quote inside an unquoted field is kept literally
                pending = true
            }
            i += 1
        }
        if inQuotes {
            throw PlotError.malformedCSV(file: file, line: quoteLine,
                                         reason: "a quoted field starting here is never closed (missing \")")
        }
        if pending || !field.isEmpty || afterClosingQuote || !fields.isEmpty { endRecord() }
        return records
    }
}
