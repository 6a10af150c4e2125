import ArgumentParser
import Exports
import Foundation
import SimModel
import Sweeps

/// `hybridsim optimize FILE --minimize METRIC [--subject-to ...] [--pareto X,Y]`.
struct OptimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Search a scenario's sweep axes for the best point under constraints; print it and the Pareto front of two metrics.",
        discussion: """
        Discrete axes (value lists, zipped groups, integer ranges) are enumerated; continuous ranges (such as the split \
        ratio) are refined from the best grid point by GSL's Brent minimiser. Writes DIR/optimum.csv and, with --pareto, \
        DIR/pareto.csv (the non-dominated feasible points). Example: --minimize latency_s \
        --subject-to 'peak_memory_bytes<=8e10' --pareto tokens_per_s:max,peak_memory_bytes:min
        """)

    @Argument(help: "A scenario YAML file with a `sweep:` section.")
    var file: String

    @Option(help: "The metric to minimise (e.g. latency_s).")
    var minimize: String?

    @Option(help: "The metric to maximise (e.g. tokens_per_s).")
    var maximize: String?

    @Option(name: .customLong("subject-to"), help: "A constraint METRIC<=VALUE or METRIC>=VALUE (repeatable).")
    var subjectTo: [String] = []

    @Option(help: "Two metrics for the Pareto front, each with :min or :max (default: tokens_per_s and mfu maximised, the rest minimised).")
    var pareto: String?

    @Option(help: "Output folder (default: results/<scenario>/optimize/).")
    var out: String?

    func validate() throws {
        try OutputFolder.check(out)
        guard (minimize == nil) != (maximize == nil) else { throw ValidationError("give exactly one of --minimize METRIC and --maximize METRIC.") }
    }

    static func objective(_ text: String) throws -> Optimizer.Objective {
        let parts = text.split(separator: ":").map(String.init)
        guard let metric = parts.first, parts.count <= 2, Optimizer.metricColumns.contains(metric) else {
            throw CLIError("`\(text)` is not a metric; allowed: \(Optimizer.metricColumns.joined(separator: ", "))", exitCode: 2)
        }
        if parts.count == 2 {
            guard ["min", "max"].contains(parts[1]) else { throw CLIError("`\(text)`: the direction must be :min or :max", exitCode: 2) }
            return .init(metric: metric, maximize: parts[1] == "max")
        }
        return .init(metric: metric, maximize: ["tokens_per_s", "mfu"].contains(metric))
    }

    func run() throws {
        let runner = try SweepRunner(file: file, options: .init(jobs: 1))
        let objective = try Self.objective(maximize.map { "\($0):max" } ?? "\(minimize ?? ""):min")
        let constraints: [Optimizer.Constraint]
        do { constraints = try subjectTo.map { try Optimizer.Constraint.parse($0, columns: Optimizer.metricColumns) } } catch let e as Optimizer.OptimizeError {
            throw CLIError(e.description, exitCode: 2)
        }
        let paretoPair: (Optimizer.Objective, Optimizer.Objective)?
        if let pareto {
            let parts = pareto.split(separator: ",").map(String.init)
            guard parts.count == 2 else { throw CLIError("--pareto `\(pareto)` is not two metrics X,Y", exitCode: 2) }
            paretoPair = (try Self.objective(parts[0]), try Self.objective(parts[1]))
        } else {
            paretoPair = nil
        }
        let outcome: Optimizer.Outcome
        do { outcome = try Optimizer(runner: runner).run(objective: objective, constraints: constraints, pareto: paretoPair) } catch let e as Optimizer.OptimizeError {
            throw CLIError(e.description, exitCode: 2)
        }
        let dir = out ?? ((("results" as NSString).appendingPathComponent(runner.root.file.isEmpty ? "optimize" : ((runner.file as NSString).lastPathComponent as NSString).deletingPathExtension)) as NSString).appendingPathComponent("optimize")
        let header = runner.spec.keys + ReportExport.summaryColumns
        var files: [(String, String)] = []
        if let best = outcome.best {
            print("best point (\(objective.maximize ? "maximising" : "minimising") \(objective.metric), \(outcome.evaluations) points evaluated\(outcome.invalid > 0 ? ", \(outcome.invalid) invalid" : "")):")
            for (k, v) in zip(runner.spec.keys, best.values) { print("  \(k) = \(v)") }
            for metric in [objective.metric] + constraints.map(\.metric) where best.metrics[metric] != nil {
                print("  \(metric) = \(best.metrics[metric] ?? 0)")
            }
            files.append(((dir as NSString).appendingPathComponent("optimum.csv"), CSVTable(header: header, rows: [best.values + best.row]).text))
        } else {
            print("no evaluated point satisfies the constraints (\(outcome.evaluations) points evaluated)")
            // (said again on stderr by the error below, with the file)
        }
        if let (x, y) = paretoPair {
            let front = outcome.front
            print("Pareto front of \(x.metric) (\(x.maximize ? "max" : "min")) and \(y.metric) (\(y.maximize ? "max" : "min")): \(front.count) points")
            files.append(((dir as NSString).appendingPathComponent("pareto.csv"), CSVTable(header: header, rows: front.map { $0.values + $0.row }).text))
        }
        do { for (path, text) in files { try AtomicFile.write(text, to: path) } } catch { throw CLIError("\(error)", exitCode: 1) }
        if !files.isEmpty { print("wrote \(files.map { ($0.0 as NSString).lastPathComponent }.joined(separator: ", ")) to \(dir)") }
        if outcome.best == nil {
            throw CLIError("\(file): no evaluated point satisfies the constraints (\(outcome.evaluations) points evaluated); loosen --subject-to", exitCode: 1)
        }
    }
}
