import Foundation
import Testing
@testable import Plots

@Suite("Robustness")
struct RobustnessTests {
    @Test("extreme numbers draw without trapping")
    func extremes() throws {
        let text = "x,y_s,z\n1e308,1e-300,-1e308\n-1e308,5e-324,1e308\n0,1e300,0\n1,1,1\n"
        let data = try CSVData.parse(text, file: "x.csv")
        for (x, y) in [("x", "y_s"), ("z", "x"), ("y_s", "z")] {
            for logY in [false, true] {
                if let svg = try? LinePlot.svg(data, x: x, y: y, series: nil, title: nil, logX: false, logY: logY) {
                    #expect(SVGDocument(svg).wellFormed)
                    #expect(!svg.contains("nan"))
                }
            }
            #expect(SVGDocument(try Heatmap.svg(data, x: x, y: y, value: "z", title: nil)).wellFormed)
        }
        let flat = try CSVData.parse("x,y\n1,0\n2,0\n", file: "f.csv")
        #expect(SVGDocument(try LinePlot.svg(flat, x: "x", y: "y", series: nil, title: nil, logX: false, logY: false)).wellFormed)
        #expect(SVGDocument(try Heatmap.svg(flat, x: "x", y: "y", value: "y", title: nil)).wellFormed)
    }

    @Test("random text either parses or is refused, and plots never trap")
    func fuzz() {
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let alphabet = Array("ab,\"\n\r 1.5e-3-0nan<&>\u{FEFF}µ")
        for _ in 0..<300 {
            let length = Int(next() % 60)
            let text = String((0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] })
            guard let data = try? CSVData.parse(text, file: "fuzz.csv"), !data.header.isEmpty else { continue }
            let columns = data.header
            let x = columns[Int(next() % UInt64(columns.count))], y = columns[Int(next() % UInt64(columns.count))]
            for svg in [try? LinePlot.svg(data, x: x, y: y, series: x, title: text, logX: next() % 2 == 0, logY: next() % 2 == 0),
                        try? Heatmap.svg(data, x: x, y: y, value: y, title: nil),
                        try? StackedBars.svg(data, scenario: nil, title: nil)] {
                if let svg { #expect(SVGDocument(svg).wellFormed, "\(text.debugDescription)") }
            }
            _ = try? Gantt.svg(timelineJSON: text, file: "fuzz.json", title: nil)
        }
    }
}
