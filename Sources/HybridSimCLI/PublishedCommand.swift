import ArgumentParser
import Exports
import Foundation
import Published
import SimModel

/// `hybridsim published [DIR]`: the GPU profiles' predictions against published measurements.
struct PublishedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "published",
        abstract: "Predict published GPU measurements (scenarios/published) and print the errors, per profile and overall.",
        discussion: """
        Each case file names a published figure, its exact source, what HybridSim predicts for it (a GEMM, an attention \
        call, Mamba-2's SSD, or a generation: prefill and decode steps of a model) and the half it belongs to: `fit` cases are what \
        the GPU profiles' modelling defaults (efficiency curves, launch overhead) are fitted on, `held_out` cases are \
        the error bar. --fit refits those defaults with GSL on the fit half and prints them and the errors they give.
        """)

    @Argument(help: "Folder of case files.")
    var directory: String = "scenarios/published"

    @Flag(help: "Refit the GPU defaults on the fit half (GSL nonlinear least squares on log(predicted / published)).")
    var fit = false

    @Option(help: "Output folder for published.csv (default: results/published/).")
    var out: String = "results/published"

    func run() throws {
        let cases = try PublishedEvaluation.loadCases(directory: directory)
        var profiles: [String: HardwareProfile] = [:]
        if fit {
            let result = try PublishedFit.fit(cases)
            print("fit on \(cases.filter { $0.set == .fit }.count) cases: \(result.converged ? "converged" : "did not converge: " + result.reason) after \(result.iterations) iterations")
            for (p, (v, se)) in zip(PublishedFit.parameters, zip(result.values, result.standardErrors)) {
                print("  \(p.name.padding(toLength: 58, withPad: " ", startingAt: 0)) \(ProfileYAML.number(v))  (standard error \(String(format: "%.3g", se)))")
            }
            for c in cases where profiles[c.hardware.name] == nil { profiles[c.hardware.name] = PublishedFit.apply(result.values, to: c.hardware) }
            print("")
        }
        let rows = PublishedEvaluation.rows(cases, profiles: profiles)
        print("case                                       hardware               set       published          predicted          error")
        for r in rows {
            let line = r.name.padding(toLength: 42, withPad: " ", startingAt: 0) + " "
                + r.hardware.padding(toLength: 22, withPad: " ", startingAt: 0) + " "
                + r.set.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                + format(r.published, r.unit).padding(toLength: 18, withPad: " ", startingAt: 0) + " "
                + format(r.predicted, r.unit).padding(toLength: 18, withPad: " ", startingAt: 0) + " "
                + String(format: "%+6.1f %%", r.error * 100)
            print(line)
        }
        print("")
        let modelled = rows.filter { $0.set != .excluded }
        for hardware in Array(Set(modelled.map(\.hardware))).sorted() {
            let mine = modelled.filter { $0.hardware == hardware }
            let s = PublishedEvaluation.medianAndP90(mine.map(\.error))
            print(String(format: "%@: %d cases, |error| median %.1f %%, p90 %.1f %%", hardware, mine.count, s.median * 100, s.p90 * 100))
        }
        for set in PublishedCase.Set.allCases {
            let mine = rows.filter { $0.set == set }
            let s = PublishedEvaluation.medianAndP90(mine.map(\.error))
            print(String(format: "%@ (%d cases): |error| median %.1f %%, p90 %.1f %%%@", set.rawValue, mine.count, s.median * 100, s.p90 * 100,
                         set == .excluded ? " (outside the model; see each case's reason)" : ""))
        }
        let all = PublishedEvaluation.medianAndP90(modelled.map(\.error))
        print(String(format: "fit and held out, %d cases: |error| median %.1f %%, p90 %.1f %%", modelled.count, all.median * 100, all.p90 * 100))
        let path = (out as NSString).appendingPathComponent("published.csv")
        do { try AtomicFile.write(PublishedEvaluation.csv(rows), to: path) } catch { throw CLIError("\(error)", exitCode: 1) }
        print("wrote \(path)")
    }

    func format(_ v: Double, _ unit: String) -> String {
        switch unit {
        case "s": return v < 1 ? String(format: "%.3g ms", v * 1e3) : String(format: "%.3g s", v)
        default: return String(format: "%.4g %@", v, unit)
        }
    }
}
