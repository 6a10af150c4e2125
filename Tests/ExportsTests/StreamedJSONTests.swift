import Foundation
import Testing
@testable import Exports
import SimEngines
import SimModel

@Suite("StreamedJSON and FastJSON: the same bytes as Foundation's JSONSerialization")
struct StreamedJSONTests {
    func foundation(_ value: Any, pretty: Bool) throws -> String {
        let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys, .fragmentsAllowed] : [.sortedKeys, .fragmentsAllowed]
        return String(decoding: try JSONSerialization.data(withJSONObject: JSONSafe.sanitized(value), options: options), as: UTF8.self)
    }

    @Test("edge values: numbers of every magnitude, escapes, empty containers, nesting, a mixed-case key (Foundation's path)")
    func edges() throws {
        var numbers: [Double] = [0, -0.0, 1, -1, 0.1, 1e15, 1e16, 1e-5, 1e-4, 7.375e-06, 123456789012345680, 1.5e300, 5e-324,
                                 .greatestFiniteMagnitude, 3350000000000, .infinity, .nan]
        var state: UInt64 = 42
        for _ in 0..<2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let mantissa = Double(state >> 11) * 0x1.0p-53
            numbers.append((mantissa - 0.5) * pow(10, Double(Int(state % 61)) - 30))
        }
        let strings = ["", "plain", "a\"b\\c/d\ne\tf\u{1}g\u{7f}hé😀\r\u{8}\u{c}\u{1f}", "scenarios/published", "x y,z"]
        let values: [Any] = [
            numbers, strings, [String: Any](), [Any](), ["nested": ["a": [1, 2, ["b": true]], "e": [Any](), "m": [String: Any]()]],
            ["MixedCase": 1, "lower": 2], ["lanes": ["gpu0.attn", "gpu0.ssm"], "n": NSNull(), "i": Int32(-3), "u": UInt64.max],
        ]
        for value in values {
            for pretty in [false, true] {
                #expect(try FastJSON.encode(value, pretty: pretty) == foundation(value, pretty: pretty))
            }
        }
    }

    @Test("a streamed report.json and timeline.json equal Foundation's one-tree output, byte for byte")
    func documents() throws {
        let scenario = try ScenarioLoader.decode(text: TestScenario.splitHybridMoE(
            name: "streamed", batch: 2, seqLen: 256, repeat: 3, placement: "{type: separate_lanes, attention_share: 0.5}",
            routing: "{type: zipf, exponent: 1.2}"))
        let report = AnalyticEngine(options: .init(layerRows: true, spans: true)).run(scenario)
        #expect(report.spans.count > 20)
        let document = ReportExport.jsonDocument([report], scenarios: [scenario])
        #expect(try document.text(pretty: true) == foundation(document.materialized(), pretty: true) + "\n")
        let event = try EventEngine(options: .init(steps: 2, traceSteps: 2)).run(scenario)
        let timeline = EventExport.timelineDocument([(scenario: "streamed", result: event)])
        #expect(try timeline.text(pretty: false) == foundation(timeline.materialized(), pretty: false) + "\n")
        #expect(((timeline.materialized()["traceEvents"] as? [Any])?.count ?? 0) > event.trace.count)
    }
}
