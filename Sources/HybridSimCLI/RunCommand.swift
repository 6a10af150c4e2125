import ArgumentParser
import Exports
import Foundation
import SimEngines
import SimModel
import Sweeps

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json
}

enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case analytic, event, both

    var runsAnalytic: Bool { self != .event }
    var runsEvent: Bool { self != .analytic }
}

/// `hybridsim run FILE...`: evaluate scenarios and write summary.csv, layers.csv and report.json.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenario files and report where the time goes.",
        discussion: """
        Prints a summary per scenario and writes summary.csv (one row per scenario and engine), layers.csv \
        (one row per layer and lane) and report.json (every metric, the hardware parameters with their sources, \
        and every op with the formula and cost trace behind its time). The event engine also writes steps.csv \
        (one row per simulated step) and timeline.json (Chrome trace: open it in Perfetto or chrome://tracing). \
        Without --out, each scenario's files go to results/<scenario>/; with --out DIR, all scenarios go together into DIR.
        """)

    @Argument(help: "Scenario YAML files.")
    var files: [String]

    @Option(help: "Engine: \(EngineChoice.allCases.map(\.rawValue).joined(separator: ", ")).")
    var engine: EngineChoice = .analytic

    @Option(help: "Output folder (default: results/<scenario>/ per scenario).")
    var out: String?

    @Option(help: "What to print: table, csv or json.")
    var format: OutputFormat = .table

    @Flag(help: "Print the per-layer, per-lane breakdown too.")
    var layers = false

    @Flag(help: "Write nothing; print only.")
    var noWrite = false

    @Option(parsing: .unconditional, help: "Steps to run: decode steps (the context grows one token a step) or batches (1 to \(EventEngine.maximumSteps)).")
    var steps: Int = 1

    @Option(parsing: .unconditional, help: "Seed for the event engine's draws (default: the scenario's `seed`).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "How many of the event engine's steps go into timeline.json.")
    var traceSteps: Int = 1

    func validate() throws {
        try OutputFolder.check(out)
        guard (1...EventEngine.maximumSteps).contains(steps) else {
            throw ValidationError("--steps \(steps) is out of range; allowed: 1 to \(EventEngine.maximumSteps).")
        }
        guard traceSteps >= 0 else { throw ValidationError("--trace-steps \(traceSteps) is negative; allowed: 0 to --steps.") }
    }

    func run() throws {
        // Decode and validate every file before evaluating or writing anything.
        var scenarios: [Scenario] = []
        var errors: [InputError] = []
        for file in files {
            do { scenarios.append(try ScenarioLoader.load(path: file)) } catch let e as InputError { errors.append(e) }
        }
        if !errors.isEmpty { throw InputErrors(errors) }
        // The work of each evaluation is bounded before any starts (Limits.work).
        let refusals = scenarios.flatMap { s in
            [engine.runsAnalytic ? Limits.workProblem(s, steps: steps, event: false) : nil,
             engine.runsEvent ? Limits.workProblem(s, steps: steps, event: true) : nil].compactMap { $0.map { "\(s.file): \($0)" } }
        }
        if let first = refusals.first { throw CLIError(first, exitCode: 2) }
        let names = scenarios.map(\.name)
        // Two scenarios of one name would write over each other (one folder with --out, results/NAME/ without).
        var firstFile: [String: String] = [:]
        for s in scenarios {
            if let other = firstFile[s.name], !noWrite {
                throw CLIError("\(other) and \(s.file) share the name `\(s.name)`: their files would overwrite each other; give each a distinct `name:` (or --no-write)", exitCode: 2)
            }
            firstFile[s.name] = s.file
        }

        // Per-layer rows and per-op spans only when something shows or writes them: with --no-write and the summary
        // table, a 65,536-layer scenario built millions of spans for files that were then discarded (issue 10, item 5).
        let reportOptions = AnalyticEngine.Options(layerRows: !noWrite || layers || format == .json, spans: !noWrite || format == .json)
        let analytic = AnalyticEngine(options: reportOptions)
        let event = EventEngine(options: .init(steps: steps, seed: seed, traceSteps: min(traceSteps, steps), report: reportOptions))
        var runs: [(scenario: Scenario, analytic: Report?, event: EventEngine.Result?)] = []
        for scenario in scenarios {
            let a = engine.runsAnalytic ? analytic.run(scenario, steps: steps) : nil
            var e: EventEngine.Result? = nil
            if engine.runsEvent {
                do { e = try event.run(scenario) } catch let error as EventEngine.RunError {
                    throw CLIError(error.description, exitCode: 2)
                } catch {
                    throw CLIError("\(scenario.file): the event engine failed: \(error)", exitCode: 1)
                }
            }
            runs.append((scenario, a, e))
        }
        // Each report with the scenario it came from (analytic first, then event, per scenario).
        func reportsOf(_ group: [(scenario: Scenario, analytic: Report?, event: EventEngine.Result?)]) -> (reports: [Report], scenarios: [Scenario]) {
            let pairs = group.flatMap { run in [run.analytic, run.event?.report].compactMap { $0 }.map { (run.scenario, $0) } }
            return (pairs.map(\.1), pairs.map(\.0))
        }
        let (reports, reportScenarios) = reportsOf(runs)

        // Produce every file's contents first, then write each atomically.
        var files: [OutputFile] = []
        func outputs(_ dir: String, _ group: [(scenario: Scenario, analytic: Report?, event: EventEngine.Result?)]) throws {
            let (groupReports, groupScenarios) = reportsOf(group)
            files += ReportExport.files(in: dir, reports: groupReports, scenarios: groupScenarios)
            let eventRuns = group.compactMap { run in run.event.map { (scenario: run.scenario.name, result: $0) } }
            if !eventRuns.isEmpty {
                files.append(OutputFile(path: path(dir, "steps.csv"), text: EventExport.stepsCSV(eventRuns)))
                let timeline = EventExport.timelineDocument(eventRuns)
                files.append(OutputFile(path: path(dir, "timeline.json")) { try timeline.write(to: $0, pretty: false) })
            }
        }
        if noWrite {
            // Nothing is written: no file contents are built.
        } else if let out {
            try outputs(out, runs)
        } else {
            for run in runs { try outputs(path("results", run.scenario.name), [run]) }
        }

        switch format {
        case .table:
            for run in runs {
                if let a = run.analytic, let e = run.event {
                    print(TableFormat.sideBySide(analytic: a, event: e.report), terminator: "")
                } else {
                    for r in [run.analytic, run.event?.report].compactMap({ $0 }) { print(TableFormat.summary(r), terminator: "") }
                }
                if layers { for r in [run.analytic, run.event?.report].compactMap({ $0 }) { print(TableFormat.layers(r), terminator: "") } }
                print("")
            }
        case .csv:
            print(ReportExport.summaryCSV(reports), terminator: "")
            if layers { print(ReportExport.layersCSV(reports), terminator: "") }
        case .json:
            // Streamed to standard output (a large report is never held whole).
            let sink = TextSink(fd: STDOUT_FILENO, path: "<standard output>")
            fflush(nil)
            try ReportExport.jsonDocument(reports, scenarios: reportScenarios).write(to: sink, pretty: true)
            try sink.flush()
        }
        if !noWrite {
            do { try AtomicFile.writeAll(files) } catch let e as AtomicFile.Obstacle {
                throw CLIError(e.description, exitCode: 2)
            } catch { throw CLIError("\(error)", exitCode: 1) }
            if format == .table {
                let folders = Array(Set(files.map { ($0.path as NSString).deletingLastPathComponent })).sorted()
                let names = Array(Set(files.map { ($0.path as NSString).lastPathComponent })).sorted()
                print("wrote \(names.joined(separator: ", ")) to \(folders.joined(separator: ", "))")
            }
        }
    }

    func path(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }
}

/// `hybridsim check FILE...`: validate without running.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Validate scenario or profile files without running them.")

    @Argument(help: "Scenario YAML files (or hardware profiles with --profile).")
    var files: [String]

    @Flag(help: "The files are hardware profiles, not scenarios.")
    var profile = false

    func run() throws {
        var errors: [InputError] = []
        for file in files {
            do {
                if profile {
                    let p = try HardwareProfileLoader.load(path: file)
                    print("ok  \(file)  (profile \(p.name))")
                } else {
                    let s = try ScenarioLoader.load(path: file)
                    // A sweep section is checked too: its spec, and each axis against the scenario.
                    var sweepNote = ""
                    if try YAMLNode.load(path: file).mapping(allowed: [])["sweep"] != nil {
                        let runner = try SweepRunner(file: file, options: .init())
                        let problems = runner.axisProblems()
                        guard problems.isEmpty else { errors += problems; continue }
                        sweepNote = "; sweep of \(runner.spec.pointCount) points"
                    }
                    print("ok  \(file)  (\(s.model.layers.count) layers on \(s.hardware.name), \(s.workload.phase.rawValue)\(sweepNote))")
                }
            } catch let e as InputError {
                errors.append(e)
            }
        }
        if !errors.isEmpty { throw InputErrors(errors) }
    }
}

/// `hybridsim profiles`: list the built-in hardware profiles and their sources.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles", abstract: "List the built-in hardware profiles with their sources.")

    @Option(help: "Print one built-in profile's YAML (a starting point for your own).")
    var show: String?

    func run() throws {
        if let show {
            guard let profile = try BuiltinProfiles.profile(named: show) else {
                throw InputError(file: "<command line>", keyPath: "--show", problem: "`\(show)` is not a built-in profile",
                                 allowed: BuiltinProfiles.names.joined(separator: ", "))
            }
            // The writer's form (ProfileYAML, from the one table of profile keys): it loads back equal.
            print(ProfileYAML.text(profile, header: ["Built-in profile \(show); every figure's source is under sources:."]), terminator: "")
            return
        }
        for name in BuiltinProfiles.names {
            guard let p = try BuiltinProfiles.profile(named: name) else { continue }
            let peaks = DType.allCases.compactMap { d in p.peakFlops[d].map { "\(d.rawValue) \(TableFormat.si($0, "FLOP/s"))" } }
            print("\(name): \(p.description)")
            print("  \(p.computeUnits) compute units, \(peaks.joined(separator: ", ")); vector \(TableFormat.si(p.vectorFlops, "FLOP/s"))")
            print("  memory \(TableFormat.bytes(p.memoryCapacityBytes)) at \(TableFormat.si(p.memoryBandwidthBytesPerSecond, "B/s")); \(p.devicesPerNode) per node" +
                  (p.links.isEmpty ? "" : "; links " + p.links.map { "\($0.name) \(TableFormat.si($0.bandwidthBytesPerSecond, "B/s"))" }.joined(separator: ", ")))
            for key in p.sources.keys.sorted() {
                print("    \(key): \(p.sources[key] ?? "")")
            }
            print("")
        }
    }
}
