import ArgumentParser
import Calibration
import Exports
import Foundation
import SimEngines
import SimModel

/// `hybridsim measure FILE... --out DIR`: run scenarios for real on this CPU.
struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Run scenarios' op graphs for real on this CPU and report measured times (engine=measured).",
        discussion: """
        Each compute lane is a thread pinned to its own core; ops on separate lanes really overlap and idle \
        bubbles are really measured. MoE loads and skip decisions use the same seeded draws as the event engine. \
        Writes the same summary.csv, layers.csv, report.json and timeline.json (the first step) as `run`. Scenarios must use a CPU profile and be \
        small enough to run in seconds.
        """)

    @Argument(help: "Scenario YAML files (with a CPU hardware profile).")
    var files: [String]

    @Option(help: "Output folder (default: results/<scenario>/measured/).")
    var out: String?

    @Option(help: "A hardware profile file to use instead of each scenario's own (e.g. one `calibrate` wrote).")
    var profile: String?

    @Option(parsing: .unconditional, help: "Steps to run (decode steps or batches).")
    var steps: Int = 1

    @Option(parsing: .unconditional, help: "Seed for the draws (default: the scenario's).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Unmeasured runs of each step first.")
    var warmup: Int = 1

    @Option(parsing: .unconditional, help: "Measured runs of each step; the median run is reported.")
    var repeats: Int = 3

    func validate() throws {
        try OutputFolder.check(out)
        guard (1...10_000).contains(steps) else { throw ValidationError("--steps \(steps) is out of range; allowed: 1 to 10000.") }
        guard (0...100).contains(warmup) else { throw ValidationError("--warmup \(warmup) is out of range; allowed: 0 to 100.") }
        guard (1...101).contains(repeats) else { throw ValidationError("--repeats \(repeats) is out of range; allowed: 1 to 101.") }
    }

    func run() throws {
        let scenarios = try ScenarioFiles.load(files, profile: profile)
        let executor = RealExecutor(options: .init(steps: steps, seed: seed, warmupRuns: warmup, repeats: repeats))
        var reports: [Report] = []
        for scenario in scenarios {
            do { reports.append(try executor.measure(scenario)) } catch let e as RealExecutor.RefusedError {
                throw CLIError(e.description, exitCode: 2)
            }
        }
        var files: [OutputFile] = []
        func timeline(_ dir: String, _ pairs: [(Scenario, Report)]) throws -> OutputFile {
            OutputFile(path: (dir as NSString).appendingPathComponent("timeline.json"),
                       text: try EventExport.timelineJSON(reports: pairs.map { (scenario: $0.0.name, report: $0.1) }))
        }
        if let out {
            files += ReportExport.files(in: out, reports: reports, scenarios: scenarios)
            files.append(try timeline(out, Array(zip(scenarios, reports))))
        } else {
            for (s, r) in zip(scenarios, reports) {
                let dir = ((("results" as NSString).appendingPathComponent(s.name)) as NSString).appendingPathComponent("measured")
                files += ReportExport.files(in: dir, reports: [r], scenarios: [s])
                files.append(try timeline(dir, [(s, r)]))
            }
        }
        for r in reports { print(TableFormat.summary(r)) }
        do { try AtomicFile.writeAll(files) } catch { throw CLIError("\(error)", exitCode: 1) }
    }
}

/// Loading scenario files for the commands, with an optional profile that replaces their hardware.
enum ScenarioFiles {
    static func load(_ files: [String], profile: String?) throws -> [Scenario] {
        let replacement = try profile.map { try HardwareProfileLoader.load(path: $0) }
        var scenarios: [Scenario] = []
        var errors: [InputError] = []
        for file in files {
            do {
                var s = try ScenarioLoader.load(path: file)
                if let replacement {
                    s.hardware = replacement
                    guard replacement.peakFlops[s.workload.dtype] != nil else {
                        throw InputError(file: file, keyPath: "workload.dtype", problem: "the profile `\(replacement.name)` given with --profile has no \(s.workload.dtype.rawValue) peak",
                                         allowed: DType.allCases.filter { replacement.peakFlops[$0] != nil }.map(\.rawValue).joined(separator: ", "))
                    }
                }
                scenarios.append(s)
            } catch let e as InputError {
                errors.append(e)
            }
        }
        if !errors.isEmpty { throw InputErrors(errors) }
        return scenarios
    }
}
