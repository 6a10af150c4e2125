import Exports
import Foundation
import HybridSimCLI
import SimEngines
import SimModel
import Sweeps

/// A seeded mutation fuzzer over everything a user can type (issue 10): scenario files, sweep sections, hardware
/// profiles and command lines. Inputs are the shipped scenarios and the built-in profiles, mutated one to four
/// times (a number replaced by an extreme value, a line deleted, doubled or swapped, bytes inserted (control
/// characters, invalid UTF-8, YAML syntax), a truncation, a key from elsewhere, an alias bomb). Each input must be
/// refused with an InputError, or run to finite figures: the analytic engine, one in eight through the event engine
/// and the exports. A trap ends the process: `hybridsim-fuzz` catches the signal and saves the input.
public struct Fuzzer {
    /// xorshift64*: the same inputs on every machine for a seed.
    public struct Random {
        var state: UInt64
        public init(seed: UInt64) { state = 0x9E37_79B9_7F4A_7C15 &* (seed | 1) &+ seed }
        public mutating func next(_ bound: Int) -> Int {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % max(1, bound)
        }
    }

    public enum Kind: String, CaseIterable, Sendable { case scenario, sweep, profile, cli }

    /// One input: what it is, its text (or arguments, one per line, for the CLI), and where its seed came from.
    public struct Input: Sendable {
        public var kind: Kind
        public var text: String
        public var origin: String
    }

    public enum Verdict: Sendable, Equatable {
        case refused
        case accepted
        /// A broken promise: accepted input that failed, or a refusal that was not an InputError.
        case failure(String)
    }

    public struct Seed: Sendable {
        var kind: Kind
        var text: String
        var origin: String
    }

    let seeds: [Seed]
    /// Sweep seeds: the shipped sweeps and each scenario given a small sweep over its batch and sequence length.
    static func sweepSection(_ text: String) -> String {
        text + "\nsweep:\n  axes:\n    - {key: workload.batch, values: [1, 4, 16]}\n    - {key: workload.seq_len, range: {from: 128, to: 4096, count: 3, scale: log, integer: true}}\n"
    }
    let directory: String
    let scratch: String

    /// Seeds from the repository at `repository`: every scenario under scenarios/ (with and without a sweep
    /// section), the built-in profiles' YAML, and command lines over them. `scratch` is a folder for the
    /// files that sweeps and the CLI need.
    public init(repository: String, scratch: String) throws {
        var seeds: [Seed] = []
        let fm = FileManager.default
        let root = (repository as NSString).appendingPathComponent("scenarios")
        let files = (fm.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        for relative in files {
            let path = (root as NSString).appendingPathComponent(relative)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if text.contains("\nsweep:") {
                seeds.append(Seed(kind: .sweep, text: text, origin: "scenarios/" + relative))
            } else {
                seeds.append(Seed(kind: .scenario, text: text, origin: "scenarios/" + relative))
                seeds.append(Seed(kind: .sweep, text: Self.sweepSection(text), origin: "scenarios/" + relative + " with a sweep"))
            }
        }
        for name in BuiltinProfiles.names {
            guard let profile = try? BuiltinProfiles.profile(named: name) else { continue }
            seeds.append(Seed(kind: .profile, text: ProfileYAML.text(profile, header: []), origin: "profile " + name))
        }
        let commandLines = [
            "check\nS", "run\nS\n--no-write", "run\nS\n--no-write\n--engine\nevent\n--steps\n3", "run\nS\n--no-write\n--engine\nboth\n--format\njson",
            "run\nS\n--no-write\n--steps\n2\n--seed\n7\n--trace-steps\n2", "check\n--profile\nS", "profiles\n--show\nnvidia-h100-sxm",
            "sweep\nS\n--out\nO\n--jobs\n2\n--steps\n1", "optimize\nS\n--minimize\nlatency_s\n--subject-to\npeak_memory_bytes<=8e10",
            "merge\nO\n--out\nO2", "plot\nline\nO/sweep.csv\n--x\nworkload.seq_len\n--y\nlatency_s", "validate\nS\n--passes\n1",
        ]
        for line in commandLines { seeds.append(Seed(kind: .cli, text: line, origin: "command line")) }
        guard !seeds.isEmpty else { throw CocoaError(.fileNoSuchFile) }
        self.seeds = seeds
        self.directory = root
        self.scratch = scratch
    }

    static let extremes = ["0", "-1", "1e-320", "1e308", "1e-9", "0.5", "3", "65537", "1000000", "2.5e9", "-0.0", "7.7", "nan", ".inf",
                           "-.inf", "9223372036854775807", "9223372036854775808", "1e400", "0x10", "4097", "100000000", "0.999999", "1.0000001"]
    static let fragments = ["\u{0}", "\u{1}", "\u{7}", "\t", "\r", "\u{FEFF}", "\u{7F}", ":", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!str ",
                            "!!binary ", "? ", "|", ">", "#", "'", "\"", "---\n", "...\n", "<<: *a\n", "~", "null", "true", "é", "😀", "\\", "%YAML 1.1\n"]
    static let keys = ["name", "seed", "hardware", "workload", "phase", "batch", "seq_len", "dtype", "model", "d_model", "vocab", "blocks", "layers",
                       "mixer", "mlp", "type", "experts", "top_k", "split", "placement", "attention", "ssm", "heads", "kv_heads", "head_dim",
                       "d_state", "variant", "depth", "leaf_width", "repeat", "pattern", "sweep", "axes", "key", "values", "range", "zip",
                       "sample", "points", "peak_flops", "memory", "efficiency", "schema_version", "dynamic_depth", "skip", "routing",
                       "capacity_factor", "devices", "window", "execution", "fuse", "context", "decode_tokens"]

    /// Input number `index` of the campaign with `seed`.
    public func input(_ index: Int, seed: UInt64) -> Input {
        var random = Random(seed: seed &* 0x100_0000_01B3 ^ UInt64(index) &* 0x9E37_79B9)
        _ = random.next(2)
        // Half scenarios, a fifth sweeps, the rest profiles and command lines; mostly one mutation, up to four.
        let roll = random.next(20)
        let kind: Kind = roll < 10 ? .scenario : roll < 14 ? .sweep : roll < 17 ? .profile : .cli
        let pool = seeds.filter { $0.kind == kind }
        let base = pool.isEmpty ? seeds[random.next(seeds.count)] : pool[random.next(pool.count)]
        var text = base.text
        var notes: [String] = []
        for _ in 0..<(1 + (random.next(3) == 0 ? random.next(4) : 0)) {
            let (mutated, note) = Self.mutate(text, kind: base.kind, random: &random)
            text = mutated
            notes.append(note)
        }
        return Input(kind: base.kind, text: text, origin: "\(base.origin): \(notes.joined(separator: "; "))")
    }

    static func mutate(_ text: String, kind: Kind, random: inout Random) -> (String, String) {
        var lines = text.components(separatedBy: "\n")
        let choice = random.next(kind == .cli ? 6 : 12)
        switch choice {
        case 0, 1, 2:
            // A number (or, on a command line, an argument) replaced by an extreme value.
            let value = extremes[random.next(extremes.count)]
            let i = random.next(lines.count)
            if kind == .cli { lines[i] = value; return (lines.joined(separator: "\n"), "argument \(i) -> \(value)") }
            let line = lines[i]
            let digits = line.indices.filter { line[$0].isNumber }
            guard let at = digits.isEmpty ? nil : digits[random.next(digits.count)] else { return (text, "no number on line \(i)") }
            var start = at, end = line.index(after: at)
            while start > line.startIndex, "0123456789.-+eE".contains(line[line.index(before: start)]) { start = line.index(before: start) }
            while end < line.endIndex, "0123456789.-+eE".contains(line[end]) { end = line.index(after: end) }
            lines[i] = line.replacingCharacters(in: start..<end, with: value)
            return (lines.joined(separator: "\n"), "line \(i + 1): number -> \(value)")
        case 3:
            let i = random.next(lines.count)
            lines.remove(at: i)
            return (lines.joined(separator: "\n"), "line \(i + 1) deleted")
        case 4:
            let i = random.next(lines.count)
            lines.insert(lines[i], at: i)
            return (lines.joined(separator: "\n"), "line \(i + 1) doubled")
        case 5:
            let i = random.next(lines.count), j = random.next(lines.count)
            lines.swapAt(i, j)
            return (lines.joined(separator: "\n"), "lines \(i + 1) and \(j + 1) swapped")
        case 6, 7:
            // Bytes inserted at a random place.
            let fragment = fragments[random.next(fragments.count)]
            var scalars = Array(text.unicodeScalars)
            let at = random.next(scalars.count + 1)
            scalars.insert(contentsOf: fragment.unicodeScalars, at: at)
            var result = String.UnicodeScalarView()
            result.append(contentsOf: scalars)
            return (String(result), "\(fragment.debugDescription) inserted at scalar \(at)")
        case 8:
            let at = random.next(text.utf8.count + 1)
            return (String(decoding: Array(text.utf8.prefix(at)), as: UTF8.self), "truncated at byte \(at)")
        case 9:
            // A key renamed to another known key (a typo, a duplicate or a misplaced key).
            let i = random.next(lines.count)
            guard let colon = lines[i].firstIndex(of: ":") else { return (text, "no key on line \(i + 1)") }
            let indent = lines[i].prefix { $0 == " " || $0 == "-" }
            let key = keys[random.next(keys.count)]
            lines[i] = String(indent) + key + String(lines[i][colon...])
            return (lines.joined(separator: "\n"), "line \(i + 1): key -> \(key)")
        case 10:
            // A scalar replaced by a structure, or a structure by a scalar.
            let i = random.next(lines.count)
            guard let colon = lines[i].firstIndex(of: ":") else { return (text, "no value on line \(i + 1)") }
            let replacement = ["[]", "{}", "[1, [2, [3]]]", "{a: 1}", "\"\"", "-", "null", "[" + String(repeating: "1, ", count: 200) + "1]"][random.next(8)]
            lines[i] = String(lines[i][...colon]) + " " + replacement
            return (lines.joined(separator: "\n"), "line \(i + 1): value -> \(replacement.prefix(20))")
        default:
            // An alias bomb (each level doubles the last) appended as an extra key.
            let bomb = "bomb0: &b0 [x, x]\n" + (1..<24).map { "bomb\($0): &b\($0) [*b\($0 - 1), *b\($0 - 1)]" }.joined(separator: "\n")
            return (text + "\n" + bomb + "\n", "alias bomb appended")
        }
    }

    /// Runs one input through what a user would run it with; returns whether it was refused, accepted, or broke a promise.
    public func check(_ input: Input, index: Int) -> Verdict {
        do {
            switch input.kind {
            case .scenario:
                let scenario = try ScenarioLoader.decode(text: input.text, file: "fuzz.yaml", directory: directory)
                return try evaluate(scenario, index: index)
            case .profile:
                _ = try HardwareProfileLoader.decode(text: input.text, file: "fuzz-profile.yaml")
                return .accepted
            case .sweep:
                let path = (scratch as NSString).appendingPathComponent("fuzz-sweep.yaml")
                try input.text.write(toFile: path, atomically: false, encoding: .utf8)
                let runner = try SweepRunner(file: path, options: .init(jobs: 1))
                // The first, a middle and the last point: each a scenario or a reason.
                let count = runner.spec.pointCount
                for i in Set([0, count / 2, max(0, count - 1)]) where i < count {
                    if case let .success(fields) = runner.evaluate(runner.spec.point(at: i), root: runner.root), fields.contains("nan") || fields.contains("inf") {
                        return .failure("sweep point \(i) has a non-finite figure")
                    }
                }
                return .accepted
            case .cli:
                return try command(input)
            }
        } catch is InputError {
            return .refused
        } catch is InputErrors {
            return .refused
        } catch let e as EventEngine.RunError {
            return .failure("the event engine refused an accepted scenario: \(e.description.prefix(300))")
        } catch {
            return .failure("\(type(of: error)): \(String(describing: error).prefix(300))")
        }
    }

    func evaluate(_ scenario: Scenario, index: Int) throws -> Verdict {
        let analytic = AnalyticEngine(options: .init(layerRows: true, spans: index % 8 == 0)).run(scenario)
        guard analytic.latencySeconds.isFinite, analytic.latencySeconds >= 0, analytic.modelFlops.isFinite else {
            return .failure("analytic latency \(analytic.latencySeconds), FLOPs \(analytic.modelFlops)")
        }
        guard index % 8 == 0 else { return .accepted }
        let event = try EventEngine(options: .init(steps: 2, traceSteps: 1, report: .init(layerRows: true, spans: true))).run(scenario)
        guard event.report.latencySeconds.isFinite, event.report.latencySeconds >= 0 else {
            return .failure("event latency \(event.report.latencySeconds)")
        }
        // Every export, written to /dev/null (streamed: as a file would be).
        let sink = TextSink(fd: Self.devNull, path: "/dev/null")
        try ReportExport.jsonDocument([analytic, event.report], scenarios: [scenario, scenario]).write(to: sink, pretty: true)
        try EventExport.timelineDocument([(scenario: scenario.name, result: event)]).write(to: sink, pretty: false)
        try sink.write(ReportExport.summaryCSV([analytic, event.report]) + ReportExport.layersCSV([analytic]) + EventExport.stepsCSV([(scenario.name, event)]))
        try sink.flush()
        return .accepted
    }

    static let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)

    /// A command line, with S a mutated scenario or profile and O a scratch folder: `check` and `run --no-write`
    /// run in the process; the others are parsed only (they write files or take long).
    func command(_ input: Input) throws -> Verdict {
        let scenarioPath = (scratch as NSString).appendingPathComponent("fuzz-cli.yaml")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input.text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let fileSeeds = seeds.filter { $0.kind != .cli }
        let seed = fileSeeds[Int(hash % UInt64(fileSeeds.count))]
        try seed.text.write(toFile: scenarioPath, atomically: false, encoding: .utf8)
        let arguments = input.text.components(separatedBy: "\n").map { $0 == "S" ? scenarioPath : $0 == "O" ? (scratch as NSString).appendingPathComponent("o") : $0 }
        guard let first = arguments.first, ["check", "run"].contains(first), first == "check" || arguments.contains("--no-write") else {
            do { _ = try HybridSimCommand.parseAsRoot(arguments) } catch { return .refused }
            return .accepted
        }
        let status = HybridSimCommand.main(arguments: arguments)
        switch status {
        case 0: return .accepted
        case 2: return .refused
        default: return .failure("`hybridsim \(arguments.joined(separator: " "))` exited \(status)")
        }
    }
}
