import ArgumentParser
import Exports
import Foundation
import Plots
import SimEngines
import SimModel
import Sweeps

/// `hybridsim optimize FILE --minimize METRIC [--subject-to ...] [--pareto X,Y]`.
struct OptimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Search a scenario's sweep axes for the best point under constraints; print it and the Pareto front of two metrics.",
        discussion: """
        Discrete axes (value lists, zipped groups, integer ranges) are enumerated; continuous ranges (such as the split \
        ratio) are refined from the best grid point by GSL's Brent minimiser. A point whose peak memory is over the \
        device's capacity is infeasible unless --allow-memory-overflow. Writes DIR/optimum.csv; with --pareto, \
        DIR/pareto.csv (the non-dominated feasible points); with --per AXIS, DIR/per-AXIS.csv and DIR/per-AXIS.svg (the \
        best grid point for each value of that swept key). Every numeric summary metric can be an objective or a \
        constraint (<=, >=, ==). Example: --maximize tokens_per_s --subject-to 'latency_s<=0.05' \
        --per workload.seq_len --pareto tokens_per_s:max,peak_memory_bytes:min
        """)

    @Argument(help: "A scenario YAML file with a `sweep:` section.")
    var file: String

    @Option(help: ArgumentHelp("The metric to minimise (e.g. latency_s).", discussion: "Metrics: \(Optimizer.metricColumns.joined(separator: ", ")).", valueName: "metric"))
    var minimize: String?

    @Option(help: "The metric to maximise (e.g. tokens_per_s).")
    var maximize: String?

    @Option(name: .customLong("subject-to"), help: "A constraint METRIC<=VALUE, METRIC>=VALUE or METRIC==VALUE (repeatable).")
    var subjectTo: [String] = []

    @Option(help: "Also the best grid point for each value of this swept key (e.g. workload.seq_len): per-KEY.csv and .svg.")
    var per: String?

    @Flag(name: .customLong("allow-memory-overflow"), help: "Let points whose peak memory is over the capacity be chosen.")
    var allowMemoryOverflow = false

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
        guard let metric = parts.first, parts.count <= 2 else { throw CLIError("`\(text)` is not METRIC or METRIC:min|max", exitCode: 2) }
        do { try Optimizer.checkMetric(metric, in: "`\(text)`") } catch let e as Optimizer.OptimizeError { throw CLIError(e.description, exitCode: 2) }
        if parts.count == 2 {
            guard ["min", "max"].contains(parts[1]) else { throw CLIError("`\(text)`: the direction must be :min or :max", exitCode: 2) }
            return .init(metric: metric, maximize: parts[1] == "max")
        }
        return .init(metric: metric, maximize: ["tokens_per_s", "mfu"].contains(metric))
    }

    func run() throws {
        let runner = try SweepRunner(file: file, options: .init(jobs: 1))
        // An axis no value of which makes a valid scenario (a misspelt key) is refused before the search.
        let problems = runner.axisProblems()
        if !problems.isEmpty { throw InputErrors(problems) }
        let objective = try Self.objective(maximize.map { "\($0):max" } ?? "\(minimize ?? ""):min")
        let constraints: [Optimizer.Constraint]
        do { constraints = try subjectTo.map { try Optimizer.Constraint.parse($0) } } catch let e as Optimizer.OptimizeError {
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
        do {
            outcome = try Optimizer(runner: runner).run(objective: objective, constraints: constraints, pareto: paretoPair,
                                                        requireMemoryFit: !allowMemoryOverflow, per: per)
        } catch let e as Optimizer.OptimizeError {
            throw CLIError(e.description, exitCode: 2)
        }
        let dir = out ?? ((("results" as NSString).appendingPathComponent(runner.root.file.isEmpty ? "optimize" : ((runner.file as NSString).lastPathComponent as NSString).deletingPathExtension)) as NSString).appendingPathComponent("optimize")
        let header = runner.keyColumns + ReportExport.summaryColumns
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
        if let per {
            let name = "per-" + per.replacingOccurrences(of: "/", with: "_")
            print("best point for each \(per) (\(outcome.perValue.count) of its values have a feasible point):")
            for (value, best) in outcome.perValue {
                print("  \(per) = \(value): \(objective.metric) = \(best.metrics[objective.metric].map(Metrics.format) ?? "?") at " +
                      zip(runner.spec.keys, best.values).filter { $0.0 != per }.map { "\($0.0)=\($0.1)" }.joined(separator: ", "))
            }
            let table = CSVTable(header: header, rows: outcome.perValue.map { $0.best.values + $0.best.row })
            files.append(((dir as NSString).appendingPathComponent(name + ".csv"), table.text))
            let perColumn = runner.keyColumns[runner.spec.keys.firstIndex(of: per) ?? 0]
            if outcome.perValue.count >= 1, let data = try? CSVData(header: header, rows: outcome.perValue.map { $0.best.values + $0.best.row }, file: name + ".csv"),
               let svg = try? LinePlot.svg(data, x: perColumn, y: objective.metric, title: "best \(objective.metric) (\(objective.maximize ? "max" : "min")) for each \(per)") {
                files.append(((dir as NSString).appendingPathComponent(name + ".svg"), svg))
            }
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
