import Foundation
import Testing
import SimEngines
import SimModel
@testable import Exports

/// A seeded mutation check of the promise "no value that passes `check` can make `run` fail" (issue 10): every
/// shipped scenario, one number at a time replaced by an extreme value. A mutant the loader accepts must evaluate
/// to finite figures in both engines and export to JSON and CSV; one it refuses must be refused with an
/// InputError (never a trap: a trap ends this test process).
@Suite("Mutated scenarios: what check accepts, run completes")
struct MutationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let extremes = ["0", "-1", "1e-320", "1e308", "1e-9", "0.5", "3", "65537", "1000000", "2.5e9", "-0.0", "7.7"]

    /// xorshift64*: the same mutants on every machine.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % max(1, bound)
        }
    }

    @Test func acceptedMutantsRunAndExport() throws {
        let folders = ["scenarios", "scenarios/validation", "scenarios/validation-hard"]
        var files: [URL] = []
        for folder in folders {
            let dir = Self.repository.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".yaml") {
                files.append(dir.appendingPathComponent(name))
            }
        }
        #expect(files.count >= 50)
        let number = try NSRegularExpression(pattern: #"(?<=[:\[,] )-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?(?=[,\]}\s])"#)
        // A longer campaign: HYBRIDSIM_MUTATIONS=rounds[:seed] (the default, 360 rounds of seed 1, runs in the tests).
        let setting = (ProcessInfo.processInfo.environment["HYBRIDSIM_MUTATIONS"] ?? "360:1").split(separator: ":")
        let rounds = setting.first.flatMap { Int($0) } ?? 360
        let seed = setting.dropFirst().first.flatMap { UInt64($0) } ?? 1
        var random = Random(state: 0x9E37_79B9_7F4A_7C15 &* seed)
        var accepted = 0, refused = 0
        for round in 0..<rounds {
            let file = files[round % files.count]
            let text = try String(contentsOf: file, encoding: .utf8)
            let matches = number.matches(in: text, range: NSRange(text.startIndex..., in: text))
            guard !matches.isEmpty, let range = Range(matches[random.next(matches.count)].range, in: text) else { continue }
            let value = Self.extremes[random.next(Self.extremes.count)]
            let mutant = text.replacingCharacters(in: range, with: value)
            let label = "\(file.lastPathComponent) #\(round): \(text[range]) -> \(value)"
            let scenario: Scenario
            do {
                scenario = try ScenarioLoader.decode(text: mutant, file: file.lastPathComponent, directory: file.deletingLastPathComponent().path)
            } catch is InputError {
                refused += 1
                continue
            } catch is InputErrors {
                refused += 1
                continue
            }
            accepted += 1
            let analytic = AnalyticEngine().run(scenario)
            #expect(analytic.latencySeconds.isFinite && analytic.latencySeconds >= 0, "\(label): analytic latency \(analytic.latencySeconds)")
            #expect(analytic.modelFlops.isFinite, "\(label)")
            var reports = [analytic]
            if scenario.model.layers.count <= 512 {
                do {
                    let event = try EventEngine(options: .init(steps: 1)).run(scenario).report
                    #expect(event.latencySeconds.isFinite && event.latencySeconds >= 0, "\(label): event latency \(event.latencySeconds)")
                    reports.append(event)
                } catch let e as EventEngine.RunError {
                    Issue.record("\(label): accepted by the loader, refused by the event engine: \(e)")
                }
            }
            #expect(throws: Never.self, "\(label)") { _ = try ReportExport.json(reports, scenarios: reports.map { _ in scenario }) }
            _ = ReportExport.summaryCSV(reports)
        }
        // Both sides exercised.
        #expect(accepted > rounds / 7 && refused > rounds / 7, "accepted \(accepted), refused \(refused)")
        print("mutations: \(rounds) rounds (seed \(seed)): \(accepted) accepted and run, \(refused) refused")
    }
}
