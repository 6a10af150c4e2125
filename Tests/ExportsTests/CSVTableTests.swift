import Foundation
import Testing
@testable import Exports

@Suite("CSVTable quoting")
struct CSVTableQuotingTests {
    @Test("plain fields are written as they are, one line per row, each ending in a newline")
    func plainFields() {
        let table = CSVTable(header: ["a", "b", "c"], rows: [["1", "x y", ""], ["-2.5", "z", "q"]])
        #expect(table.text == "a,b,c\n1,x y,\n-2.5,z,q\n")
    }

    @Test("a header-only table is one line")
    func headerOnly() {
        #expect(CSVTable(header: ["scenario", "engine"]).text == "scenario,engine\n")
    }

    @Test("append adds rows in order")
    func appendRows() {
        var table = CSVTable(header: ["k"])
        table.append(["first"])
        table.append(["second"])
        #expect(table.rows == [["first"], ["second"]])
        #expect(table.text == "k\nfirst\nsecond\n")
    }

    @Test("fields with a comma are quoted", arguments: ["a,b", ",", "a,", ",b", "1,000,000"])
    func comma(_ field: String) {
        #expect(CSVTable.quote(field) == "\"\(field)\"")
    }

    @Test("quotes are doubled inside a quoted field")
    func quotes() {
        #expect(CSVTable.quote("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVTable.quote("\"") == "\"\"\"\"")
        #expect(CSVTable.quote("a\"b,c") == "\"a\"\"b,c\"")
    }

    @Test("line breaks (LF, CR) are quoted, kept inside the field")
    func lineBreaks() {
        #expect(CSVTable.quote("line1\nline2") == "\"line1\nline2\"")
        #expect(CSVTable.quote("a\rb") == "\"a\rb\"")
        #expect(CSVTable.quote("\n") == "\"\n\"")
    }

    /// Swift compares Characters (grapheme clusters): "\r\n" is ONE Character, equal to neither "\r"
    /// nor "\n", and a comma or quote followed by a combining mark is one Character too. A CSV reader
    /// sees the bytes, so each of these fields must still be quoted.
    @Test("a CRLF, or a comma/quote carrying a combining mark, is still quoted",
          arguments: ["a\r\nb", "\r\n", "a,\u{301}b", "say \"\u{301}hi"])
    func graphemeClusters(_ field: String) throws {
        #expect(CSVTable.quote(field).hasPrefix("\""), "\(field.debugDescription) is written unquoted")
        let text = CSVTable(header: ["h"], rows: [[field]]).text
        let records = parseCSV(text)
        #expect(records == [["h"], [field]], "\(text.debugDescription) does not read back as one field")
    }

    @Test("fields without special characters are not quoted",
          arguments: ["", "plain", "with space", "semi;colon", "eq=1", "tab\there", "µs", "flowhn=0.59;b=0.5"])
    func unquoted(_ field: String) {
        #expect(CSVTable.quote(field) == field)
    }

    @Test("every awkward field survives a round trip through an RFC 4180 reader")
    func roundTrip() throws {
        let awkward = ["plain", "a,b", "\"", "\"\"", "say \"hi\", then\nleave", "", " lead", "trail ", "x\ry", ",\n\",",
                       "unicode ✓, é", "=1+2"]
        var table = CSVTable(header: ["h,1", "h\"2", "h\n3"])
        for i in stride(from: 0, to: awkward.count, by: 3) {
            table.append(Array(awkward[i..<min(i + 3, awkward.count)]))
        }
        let records = try #require(parseCSV(table.text), "the table is not valid RFC 4180: \(table.text.debugDescription)")
        #expect(records.first == ["h,1", "h\"2", "h\n3"])
        #expect(Array(records.dropFirst()) == table.rows)
    }
}

@Suite("CSVTable.number")
struct CSVTableNumberTests {
    @Test("whole numbers print without a decimal point",
          arguments: [(0.0, "0"), (1, "1"), (-1, "-1"), (7, "7"), (1024, "1024"), (8192, "8192"),
                      (80e9, "80000000000"), (-123_456_789, "-123456789"), (999_999_999_999_999, "999999999999999")])
    func wholeNumbers(_ value: Double, _ expected: String) {
        #expect(CSVTable.number(value) == expected)
    }

    @Test("negative zero prints as 0")
    func negativeZero() {
        #expect(CSVTable.number(-0.0) == "0")
    }

    @Test("whole numbers below 1e15 never carry a decimal point or an exponent")
    func noPointForIntegers() {
        var value = 1.0
        while value < 1e15 {
            for candidate in [value, -value, value + 1, value * 3] where abs(candidate) < 1e15 {
                let text = CSVTable.number(candidate)
                #expect(!text.contains(".") && !text.contains("e"), "\(candidate) printed as \(text)")
                #expect(Double(text) == candidate)
            }
            value *= 7
        }
    }

    @Test("fractions print as the shortest decimal that reads back to the same Double",
          arguments: [(0.1, "0.1"), (0.5, "0.5"), (-2.5, "-2.5"), (0.59, "0.59"), (1.0 / 3.0, "0.3333333333333333"),
                      (4e-06, "4e-06"), (1e-300, "1e-300"), (123.456, "123.456")])
    func shortestFractions(_ value: Double, _ expected: String) {
        #expect(CSVTable.number(value) == expected)
    }

    @Test("large whole numbers (1e15 and up) print in Swift's shortest form and read back exactly",
          arguments: [1e15, 2.5e16, 1e20, 1.7976931348623157e308, -1e18])
    func largeNumbers(_ value: Double) throws {
        let text = CSVTable.number(value)
        #expect(Double(text) == value, "\(value) printed as \(text)")
        #expect(text == "\(value)")
    }

    @Test("every finite Double reads back exactly (round trip over many magnitudes)")
    func roundTrip() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<5_000 {
            let bits = generator.next()
            let value = Double(bitPattern: bits)
            guard value.isFinite else { continue }
            let text = CSVTable.number(value)
            #expect(Double(text) == value, "\(value) printed as \(text)")
        }
        for value in [Double.leastNonzeroMagnitude, Double.leastNormalMagnitude, Double.ulpOfOne, 0.1 + 0.2, 1 - Double.ulpOfOne,
                      568942526231.3473, 0.004135008644673201] {
            #expect(Double(CSVTable.number(value)) == value)
        }
    }

    @Test("shortest: the printed text has no more significant digits than needed")
    func shortest() {
        // 0.1 + 0.2 needs 17 digits; 0.3 needs one. Neither may be padded.
        #expect(CSVTable.number(0.1 + 0.2) == "0.30000000000000004")
        #expect(CSVTable.number(0.3) == "0.3")
        #expect(CSVTable.number(330024929.28) == "330024929.28")
    }

    @Test("nan and infinities are spelled nan, inf, -inf")
    func nonFinite() {
        #expect(CSVTable.number(.nan) == "nan")
        #expect(CSVTable.number(-.nan) == "nan")
        #expect(CSVTable.number(.infinity) == "inf")
        #expect(CSVTable.number(-.infinity) == "-inf")
    }

    @Test("numbers never need quoting in a CSV row")
    func numbersNeedNoQuoting() {
        for value in [0, 1, -1, 0.1, 1e300, -1e-300, .nan, .infinity, 12345.678] as [Double] {
            let text = CSVTable.number(value)
            #expect(CSVTable.quote(text) == text)
        }
    }
}

/// A small deterministic generator for the round-trip test (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
