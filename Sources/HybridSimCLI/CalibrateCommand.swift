import ArgumentParser
import Calibration
import Exports
import Foundation
import SimModel

/// `hybridsim calibrate --out FILE [--quick]`: measure this CPU and write a fitted profile.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure this CPU (FMA peak, bandwidth, every kernel over a grid of shapes) and fit a hardware profile with GSL.",
        discussion: """
        Writes a hardware profile YAML in the schema `run` reads, with provenance (CPU, cores, libraries, date) and the \
        fit report (each parameter with its standard error, R^2, and the error on shapes held out of the fit). \
        On this project's 2-core machine --quick takes a few seconds and the full run about 30 s. Shapes with persistent \
        data (weights, KV caches, decode states) are timed cold and hot; the cache term, gemm_half_rows and gemm_phases \
        are measured and fitted too (see the README's cost model).
        """)

    @Option(help: "The profile file to write.")
    var out: String

    @Flag(help: "Fewer shapes and repetitions, one round (about 5 s here).")
    var quick = false

    @Flag(help: "A minimal grid that runs every step in seconds even in a debug build: checks the pipeline; its fit is not for predictions (said in the profile's provenance).")
    var smoke = false

    @Option(help: "Also write every timed shape, measured and predicted, as CSV.")
    var samples: String?

    @Option(help: "The profile's name.")
    var name: String = "cpu-calibrated"

    func validate() throws {
        guard !name.isEmpty, name.range(of: "^[A-Za-z0-9._-]+$", options: .regularExpression) != nil else {
            throw ValidationError("--name `\(name)` is not usable; allowed: letters, digits, '.', '_' and '-'.")
        }
    }

    func run() throws {
        let calibrator = Calibrator(options: .init(quick: quick, smoke: smoke, name: name))
        let interactive = isatty(STDERR_FILENO) != 0
        var lastPrinted = 0
        let result: Calibrator.Result
        do {
            result = try calibrator.run { done, total, label in
                // A progress bar on stderr: redrawn in place on a terminal, every 10% otherwise.
                let width = 30
                let filled = total > 0 ? done * width / total : width
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                if interactive {
                    FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(label)\u{1B}[K".utf8))
                    if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
                } else if done * 10 / max(1, total) > lastPrinted || done == total {
                    lastPrinted = done * 10 / max(1, total)
                    FileHandle.standardError.write(Data("[\(bar)] \(done)/\(total)\n".utf8))
                }
            }
        } catch let e as Calibrator.CalibrationError {
            throw CLIError("calibration failed: \(e.description)", exitCode: 1)
        }
        // The written profile must read back through the same loader `run` uses.
        do { _ = try HardwareProfileLoader.decode(text: result.yaml, file: out) } catch {
            throw CLIError("calibration produced a profile that does not load (\(error)); nothing written", exitCode: 1)
        }
        print(String(format: "FMA peak: %@ one core, %@ all cores; triad: %@ one core, %@ all cores; overhead %@",
                     TableFormat.si(result.fmaPeakOneCore, "FLOP/s"), TableFormat.si(result.fmaPeakAllCores, "FLOP/s"),
                     TableFormat.si(result.bandwidthOneCore, "B/s"), TableFormat.si(result.bandwidthAllCores, "B/s"),
                     TableFormat.si(result.overheadSeconds, "s")))
        print("op class        points  R^2      held-out median / p90 error   peak eff  half-size FLOPs  mem eff  half-size bytes")
        var warnings: [String] = []
        for f in result.fits {
            func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
            print(pad(f.label, 15) + String(format: " %4d    %.4f   %6.1f %% / %6.1f %%            %.3f     ", f.points, f.rSquared,
                                                       f.heldOutMedianError * 100, f.heldOutP90Error * 100, f.curve.peak)
                  + pad(TableFormat.si(f.curve.halfSizeFlops, ""), 15) + String(format: "  %.3f    ", f.curve.memory)
                  + TableFormat.si(f.curve.halfSizeBytes, ""))
            if !f.converged { warnings.append("the \(f.label) fit did not converge (\(f.reason)); the profile keeps a fallback curve for it") }
            warnings += f.warnings
        }
        if let rows = result.profile.gemmHalfRows {
            print(String(format: "gemm_half_rows %.3g (GEMMs of r >= 2 rows per group: compute efficiency x r / (r + %.3g)); gemm_phases %@",
                         rows, rows, result.profile.gemmSequentialPhases ? "sequential (compute + memory)" : "overlapped (the larger)"))
        }
        if let cache = result.cache {
            print("last-level cache " + TableFormat.si(cache.bytes, "B") + ", its bandwidth " + TableFormat.si(cache.bandwidth, "B/s") + " (all cores)")
        }
        for w in warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        do {
            try AtomicFile.write(result.yaml, to: out)
            if let samples { try AtomicFile.write(result.samplesCSV, to: samples) }
        } catch { throw CLIError("\(error)", exitCode: 1) }
        print(String(format: "wrote %@ (%.1f s)", out, result.seconds))
    }
}
