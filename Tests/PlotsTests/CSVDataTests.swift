import Foundation
import Testing
@testable import Plots

@Suite("CSV reader")
struct CSVDataTests {
    @Test("header and rows of a plain file")
    func plain() throws {
        let data = try CSVData.parse("a,b,c\n1,2,3\n4,5,6\n", file: "t.csv")
        #expect(data.header == ["a", "b", "c"])
        #expect(data.rows == [["1", "2", "3"], ["4", "5", "6"]])
        #expect(try data.column("b") == ["2", "5"])
        #expect(try data.numbers("c") == [3, 6])
    }

    @Test("quoted fields hold commas, newlines and doubled quotes")
    func quoting() throws {
        let text = "name,note,v\n\"a,b\",\"line1\nline2\",1\n\"say \"\"hi\"\"\",\"\",2\n"
        let data = try CSVData.parse(text, file: "q.csv")
        #expect(data.rows == [["a,b", "line1\nline2", "1"], ["say \"hi\"", "", "2"]])
    }

    @Test("CRLF line endings, a CRLF inside quotes, and a lone CR")
    func lineEndings() throws {
        let data = try CSVData.parse("a,b\r\n1,\"x\r\ny\"\r\n2,z\r3,w\r\n", file: "crlf.csv")
        #expect(data.header == ["a", "b"])
        #expect(data.rows == [["1", "x\r\ny"], ["2", "z"], ["3", "w"]])
    }

    @Test("a missing final newline, a byte-order mark and blank lines are accepted")
    func tolerant() throws {
        let data = try CSVData.parse("\u{FEFF}a,b\n1,2\n\n3,4", file: "t.csv")
        #expect(data.header == ["a", "b"])
        #expect(data.rows == [["1", "2"], ["3", "4"]])
        let quotedLast = try CSVData.parse("a,b\n1,\"\"", file: "t.csv")
        #expect(quotedLast.rows == [["1", ""]])
        let trailingEmpty = try CSVData.parse("a,b\n1,", file: "t.csv")
        #expect(trailingEmpty.rows == [["1", ""]])
    }

    @Test("a ragged row is an error naming the row and its line")
    func ragged() {
        let error = plotError { try CSVData.parse("a,b,c\n1,2,3\n\"multi\nline\",2,3\n4,5\n", file: "r.csv") }
        #expect(error == .raggedRow(file: "r.csv", row: 3, line: 5, fields: 2, expected: 3))
        let text = error?.description ?? ""
        #expect(text.contains("r.csv") && text.contains("row 3") && text.contains("line 5") && text.contains("2 fields"))
        #expect(plotError { try CSVData.parse("a,b\n1,2,3\n", file: "r.csv") } == .raggedRow(file: "r.csv", row: 1, line: 2, fields: 3, expected: 2))
    }

    @Test("an unterminated quote and text after a closing quote are errors with a line")
    func malformed() {
        #expect(plotError { try CSVData.parse("a,b\n1,\"open\n2,3\n", file: "m.csv") } == .malformedCSV(
            file: "m.csv", line: 2, reason: "a quoted field starting here is never closed (missing \")"))
        guard case let .malformedCSV(file, line, _)? = plotError({ try CSVData.parse("a,b\n\"x\"y,2\n", file: "m.csv") }) else {
            Issue.record("expected malformedCSV")
            return
        }
        #expect(file == "m.csv" && line == 2)
    }

    @Test("an empty file, an empty header and duplicate columns are refused")
    func badHeaders() {
        #expect(plotError { try CSVData.parse("", file: "e.csv") } != nil)
        #expect(plotError { try CSVData.parse("\n1\n", file: "e.csv") } != nil)
        #expect(plotError { try CSVData.parse("a,b,a\n1,2,3\n", file: "d.csv") } == .duplicateColumn(file: "d.csv", column: "a"))
    }

    @Test("an unknown column lists the available ones")
    func unknownColumn() throws {
        let data = try CSVData.parse("point,latency_s\n0,1\n", file: "s.csv")
        let error = plotError { try data.column("latency") }
        #expect(error == .unknownColumn(file: "s.csv", column: "latency", available: ["point", "latency_s"]))
        #expect(error?.description.contains("available columns: point, latency_s") == true)
    }

    @Test("numbers: nan and inf are numbers, text and empty cells are errors naming the row")
    func numbers() throws {
        let data = try CSVData.parse("v,w\n1.5e-3,x\nnan,\n-inf, 2 \n", file: "n.csv")
        let values = try data.numbers("v")
        #expect(values[0] == 1.5e-3 && values[1].isNaN && values[2] == -.infinity)
        #expect(plotError { try data.numbers("w") } == .notNumeric(file: "n.csv", column: "w", row: 1, line: 2, value: "x"))
        let bad = try CSVData.parse("v\n1\n0x10\n", file: "n.csv")
        #expect(plotError { try bad.numbers("v") } == .notNumeric(file: "n.csv", column: "v", row: 2, line: 3, value: "0x10"))
        #expect(try data.finiteNumbers("v") == [1.5e-3, nil, nil])
    }

    @Test("a table built in memory is checked like a parsed one")
    func inMemory() throws {
        #expect(try CSVData(header: ["a"], rows: [["1"]]).rows == [["1"]])
        #expect(plotError { try CSVData(header: ["a", "b"], rows: [["1"]], file: "m") } != nil)
    }
}
