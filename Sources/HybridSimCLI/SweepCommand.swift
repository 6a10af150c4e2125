import ArgumentParser
import Foundation
import SimModel
import Sweeps

/// `hybridsim sweep FILE --out DIR`: evaluate every point of a scenario's `sweep:` section.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Evaluate a scenario's sweep (grid, zipped axes, random or Latin-hypercube sampling) into sweep.csv.",
        discussion: """
        Writes DIR/sweep.csv (one row per valid point, in point order: the point number, the swept keys, then the \
        summary columns of `run`) and DIR/invalid.csv (points whose scenario is not valid, with the reason: reported \
        and skipped, not fatal). The output is identical for any --jobs. Points are streamed: rows go to \
        DIR/sweep.csv.partial in point order and DIR/sweep.progress records a checkpoint every few seconds, so memory \
        does not grow with the points; --resume continues a killed sweep from its checkpoint to the same bytes an \
        uninterrupted run writes. --shard K/N \
        evaluates the points whose number modulo N is K; `hybridsim merge` joins shards into the same sweep.csv a \
        single run writes.
        """)

    @Argument(help: "A scenario YAML file with a `sweep:` section.")
    var file: String

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Engine: analytic or event.")
    var engine: String = "analytic"

    @Option(parsing: .unconditional, help: "Parallel jobs (the default is this machine's number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(parsing: .unconditional, help: "Steps per point (decode steps or batches).")
    var steps: Int = 1

    @Flag(help: "Continue a killed sweep from its last checkpoint (DIR/sweep.progress), or keep a finished one.")
    var resume = false

    @Option(name: .customLong("checkpoint-seconds"), parsing: .unconditional, help: "Seconds between checkpoints (0.01 to 3600).")
    var checkpointSeconds: Double = 5

    @Option(parsing: .unconditional, help: "Evaluate shard K of N (K from 0 to N-1), e.g. --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT.")
    var shard: String?

    func validate() throws {
        try OutputFolder.check(out)
        guard ["analytic", "event"].contains(engine) else { throw ValidationError("--engine \(engine) is not known; allowed: analytic, event.") }
        guard (1...1024).contains(jobs) else { throw ValidationError("--jobs \(jobs) is out of range; allowed: 1 to 1024.") }
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps \(steps) is out of range; allowed: 1 to 100000.") }
        guard checkpointSeconds >= 0.01, checkpointSeconds <= 3600 else {
            throw ValidationError("--checkpoint-seconds \(checkpointSeconds) is out of range; allowed: 0.01 to 3600.")
        }
        if let shard { _ = try Self.parseShard(shard) }
    }

    static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 0, k < n else {
            throw ValidationError("--shard \(text) is not K/N with 0 <= K < N (e.g. 3/8).")
        }
        return (k, n)
    }

    func run() throws {
        let shardValue = try shard.map(Self.parseShard)
        let runner: SweepRunner
        do {
            runner = try SweepRunner(file: file, options: .init(jobs: jobs, engine: engine == "event" ? .event : .analytic, steps: steps,
                                                                resume: resume, shard: shardValue, checkpointSeconds: checkpointSeconds))
        } catch let e as InputError { throw e }
        // An axis no value of which makes a valid scenario (a misspelt key) is refused before any point is evaluated.
        let problems = runner.axisProblems()
        if !problems.isEmpty { throw InputErrors(problems) }
        let interactive = isatty(STDERR_FILENO) != 0
        let printer = ProgressPrinter(interactive: interactive)
        let summary: SweepRunner.Summary
        do {
            summary = try runner.run(out: out) { done, total, seconds in printer.show(done: done, total: total, seconds: seconds) }
        } catch let e as SweepRunner.SweepError {
            throw CLIError(e.description, exitCode: 2)
        }
        printer.finish()
        let rate = summary.seconds > 0 ? Double(summary.evaluated) / summary.seconds : 0
        print(String(format: "%d points (%d evaluated, %d kept from before, %d invalid) in %.2f s, %.0f points/s; wrote %@/sweep.csv%@",
                     summary.points, summary.evaluated, summary.resumed, summary.invalid, summary.seconds, rate, out,
                     summary.invalid > 0 ? " and invalid.csv" : ""))
        if summary.points > 0 && summary.invalid >= summary.points {
            throw CLIError("\(file): every one of the \(summary.points) points is an invalid scenario (a misspelt axis key, or values out of range); the reasons are in \((out as NSString).appendingPathComponent("invalid.csv"))", exitCode: 2)
        }
    }
}

/// A progress line on stderr: points done, rate, time left (redrawn in place on a terminal).
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let interactive: Bool
    private var lastShown = -1.0
    private var drew = false

    init(interactive: Bool) { self.interactive = interactive }

    func show(done: Int, total: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        guard seconds - lastShown >= (interactive ? 0.1 : 5) || done == total else { return }
        lastShown = seconds
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let text = String(format: "[%@] %d/%d points, %.0f/s, %.0f s left", bar, done, total, rate, left)
        FileHandle.standardError.write(Data((interactive ? "\r" + text + "\u{1B}[K" : text + "\n").utf8))
        drew = true
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if interactive && drew { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// `hybridsim merge DIR... --out DIR`: join shard outputs.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Join the sweep.csv of several shards into one, identical to a single run's.")

    @Argument(help: "Shard output folders.")
    var directories: [String]

    @Option(help: "Output folder.")
    var out: String

    func run() throws {
        do {
            let n = try SweepRunner.merge(directories: directories, out: out)
            print("merged \(n) points from \(directories.count) folders into \(out)/sweep.csv")
        } catch let e as SweepRunner.SweepError {
            throw CLIError(e.description, exitCode: 2)
        }
    }
}
