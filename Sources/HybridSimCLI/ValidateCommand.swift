import ArgumentParser
import Calibration
import Exports
import Foundation
import SimModel

/// `hybridsim validate FILE... --profile FILE`: measured against predicted.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run scenarios for real and through the predicting engines; print and write the errors (validation.csv).",
        discussion: """
        Each scenario is measured in --passes independent passes (their spread, (slowest - fastest) / fastest, is what \
        the measurement can resolve, printed beside every error), then predicted by the analytic and event engines with \
        --profile and the same seeded draws. Errors are (predicted - measured) / measured, per scenario and per op class \
        (against the first pass); the summary scores every pass on its own: the median and p90 of the scenarios' \
        latency error, and of the bubble error as a share of the step.
        """)

    @Argument(help: "Scenario YAML files (run on this CPU).")
    var files: [String]

    @Option(help: "The hardware profile to predict with (e.g. one `hybridsim calibrate` wrote).")
    var profile: String

    @Option(help: "Output folder for validation.csv.")
    var out: String = "results/validation"

    @Option(parsing: .unconditional, help: "Independent measured passes per scenario (2 to 10).")
    var passes: Int = 3

    func validate() throws {
        try OutputFolder.check(out)
        guard (2...10).contains(passes) else { throw ValidationError("--passes must be 2 to 10 (got \(passes))") }
    }

    func run() throws {
        let scenarios = try ScenarioFiles.load(files, profile: profile)
        var rows: [Validation.Row] = []
        for s in scenarios {
            do { rows += try Validation().validate(s, passes: passes) } catch let e as RealExecutor.RefusedError {
                throw CLIError(e.description, exitCode: 2)
            }
        }
        print("scenario / op class              measured    repeat   analytic (error)      event (error)        bubble measured / predicted")
        for r in rows {
            let name = r.level == "scenario" ? r.scenario : "  \(r.level)"
            var line = name.padding(toLength: 32, withPad: " ", startingAt: 0)
            line += String(format: "%9.3f ms  %5.1f %%  %9.3f ms (%+6.1f %%)  %9.3f ms (%+6.1f %%)",
                           r.measuredSeconds * 1e3, r.repeatability * 100, r.analyticSeconds * 1e3, r.analyticError * 100,
                           r.eventSeconds * 1e3, r.eventError * 100)
            if r.level == "scenario" {
                line += String(format: "   %7.3f / %7.3f ms", r.measuredBubbleSeconds * 1e3, r.analyticBubbleSeconds * 1e3)
            }
            print(line)
        }
        let scenarioRows = rows.filter { $0.level == "scenario" }
        let analytic = Validation.medianAndP90(scenarioRows.map(\.analyticError))
        let event = Validation.medianAndP90(scenarioRows.map(\.eventError))
        let repeatability = Validation.medianAndP90(scenarioRows.map(\.repeatability))
        print(String(format: "over %d scenarios: latency |error| median %.1f %%, p90 %.1f %% (analytic); median %.1f %%, p90 %.1f %% (event); measurement repeatability median %.1f %%, p90 %.1f %%",
                     scenarioRows.count, analytic.median * 100, analytic.p90 * 100, event.median * 100, event.p90 * 100,
                     repeatability.median * 100, repeatability.p90 * 100))
        for pass in 0..<passes {
            let latency = Validation.medianAndP90(scenarioRows.map { pass < $0.analyticPassErrors.count ? $0.analyticPassErrors[pass] : 0 })
            let bubble = Validation.medianAndP90(scenarioRows.map { pass < $0.bubblePassErrors.count ? $0.bubblePassErrors[pass] : 0 })
            print(String(format: "pass %d: latency |error| median %.1f %%, p90 %.1f %% (analytic); bubble |error| median %.1f %%, p90 %.1f %% of the step",
                         pass + 1, latency.median * 100, latency.p90 * 100, bubble.median * 100, bubble.p90 * 100))
        }
        let path = (out as NSString).appendingPathComponent("validation.csv")
        do { try AtomicFile.write(Validation.csv(rows), to: path) } catch { throw CLIError("\(error)", exitCode: 1) }
        print("wrote \(path)")
    }
}
