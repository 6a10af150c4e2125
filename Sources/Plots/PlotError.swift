import Foundation

/// Why a figure could not be drawn. Every case names the file (and column, row or line where there is
/// one) and says what would have been accepted, so the message can be shown to the user as it is.
public enum PlotError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The CSV text is not valid RFC 4180 (an unterminated quote, text after a closing quote, no header).
    case malformedCSV(file: String, line: Int, reason: String)
    /// A data row has a different number of fields from the header. `row` counts data rows from 1
    /// (the header is not a row); `line` is the physical line the row starts on.
    case raggedRow(file: String, row: Int, line: Int, fields: Int, expected: Int)
    /// Two header fields have the same name.
    case duplicateColumn(file: String, column: String)
    /// A column that is not in the header.
    case unknownColumn(file: String, column: String, available: [String])
    /// A cell that should hold a number does not.
    case notNumeric(file: String, column: String, row: Int, line: Int, value: String)
    /// A zero or negative value on a logarithmic axis.
    case nonPositiveOnLogAxis(file: String, column: String, row: Int, line: Int, value: Double)
    /// A value (scenario, ...) that is not present in the column.
    case unknownValue(file: String, column: String, value: String, available: [String])
    /// The column holds several values and the caller must pick one.
    case ambiguousValue(file: String, column: String, available: [String])
    /// Nothing is left to draw (no rows, or every value empty / not finite).
    case noData(file: String, reason: String)
    /// The timeline is not the expected Chrome trace JSON.
    case malformedTimeline(file: String, reason: String)
    /// A parameter outside its allowed range.
    case invalidArgument(name: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case let .malformedCSV(file, line, reason):
            return "\(file): line \(line): \(reason)"
        case let .raggedRow(file, row, line, fields, expected):
            return "\(file): row \(row) (line \(line)) has \(fields) field\(fields == 1 ? "" : "s"), "
                + "but the header has \(expected); every row must have one field per header column "
                + "(quote fields that contain commas or newlines)"
        case let .duplicateColumn(file, column):
            return "\(file): the header names column \"\(column)\" more than once; column names must be unique"
        case let .unknownColumn(file, column, available):
            return "\(file): no column \"\(column)\"; available columns: \(available.joined(separator: ", "))"
        case let .notNumeric(file, column, row, line, value):
            return "\(file): row \(row) (line \(line)), column \"\(column)\": \"\(value)\" is not a number "
                + "(expected a decimal number such as 0.0025 or 1e-3, or nan/inf)"
        case let .nonPositiveOnLogAxis(file, column, row, line, value):
            return "\(file): row \(row) (line \(line)), column \"\(column)\": \(Fmt.significant(value, 6)) "
                + "cannot be drawn on a logarithmic axis (only values > 0 can); use a linear axis"
        case let .unknownValue(file, column, value, available):
            return "\(file): column \"\(column)\" has no value \"\(value)\"; available: \(available.joined(separator: ", "))"
        case let .ambiguousValue(file, column, available):
            return "\(file): column \"\(column)\" holds several values; choose one of: \(available.joined(separator: ", "))"
        case let .noData(file, reason):
            return "\(file): nothing to plot: \(reason)"
        case let .malformedTimeline(file, reason):
            return "\(file): not a Chrome trace timeline: \(reason)"
        case let .invalidArgument(name, value, allowed):
            return "\(name) = \(value) is not allowed; \(allowed)"
        }
    }
}
