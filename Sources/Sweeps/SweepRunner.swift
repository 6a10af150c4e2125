import Exports
import Foundation
import SimEngines
import SimModel
import Yams

/// Evaluates a sweep's points and writes `sweep.csv` (one row per valid point, in point order) and
/// `invalid.csv` (points whose scenario is not valid, with the reason).
///
/// The output is identical for any number of jobs: points are evaluated independently and rows are
/// written in point order. While running, the completed rows are written out atomically every few
/// seconds, so a killed sweep leaves a valid `sweep.csv` that `resume` continues from.
public struct SweepRunner: @unchecked Sendable {
    public enum Engine: String, Sendable { case analytic, event }

    public struct Options: Sendable {
        public var jobs: Int
        public var engine: Engine
        public var steps: Int
        public var resume: Bool
        /// (k, n): evaluate only the points whose index % n == k.
        public var shard: (index: Int, count: Int)?
        public var checkpointSeconds: Double
        public init(jobs: Int = 1, engine: Engine = .analytic, steps: Int = 1, resume: Bool = false,
                    shard: (index: Int, count: Int)? = nil, checkpointSeconds: Double = 5) {
            self.jobs = max(1, jobs)
            self.engine = engine
            self.steps = steps
            self.resume = resume
            self.shard = shard
            self.checkpointSeconds = checkpointSeconds
        }
    }

    public struct Summary: Sendable {
        public var points: Int
        public var evaluated: Int
        public var resumed: Int
        public var invalid: Int
        public var seconds: Double
    }

    public struct SweepError: Error, CustomStringConvertible {
        public var description: String
    }

    public let file: String
    /// The file's text: every chunk of points parses its own tree (Yams' tags are shared classes, so
    /// one tree is never read from two threads).
    let text: String
    public let root: YAMLNode
    public let spec: SweepSpec
    public let options: Options
    let directory: String
    let stem: String
    let hardware: HardwareProfile?

    /// Loads a scenario file that has a `sweep:` section.
    public init(file: String, options: Options) throws {
        let root = try YAMLNode.load(path: file)
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw InputError(file: file, keyPath: "", problem: "the file cannot be read")
        }
        guard let spec = try SweepSpec.decode(root) else {
            throw InputError(file: file, line: root.line, keyPath: "sweep", problem: "the file has no `sweep:` section",
                             allowed: "sweep: {axes: [{key: ..., values: [...]}, ...], sample: {...}} (see the README)")
        }
        // The base scenario must itself be valid.
        let directory = (file as NSString).deletingLastPathComponent
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let base = try ScenarioLoader.decode(root, defaultName: stem, directory: directory.isEmpty ? "." : directory)
        self.file = file
        self.text = text
        self.root = root
        self.spec = spec
        self.options = options
        self.directory = directory.isEmpty ? "." : directory
        self.stem = stem
        // The profile is resolved once, unless an axis sweeps the hardware itself.
        self.hardware = spec.keys.contains { $0 == "hardware" || $0.hasPrefix("hardware.") } ? nil : base.hardware
    }

    /// The columns of sweep.csv: the point, the swept keys, then `run`'s summary columns.
    public var header: [String] { ["point"] + spec.keys + ReportExport.summaryColumns }

    /// The scenario at one point (its values written into the YAML, then decoded strictly).
    public func scenario(at point: SweepPoint, root: YAMLNode? = nil) throws -> Scenario {
        let root = root ?? self.root
        var node = root.node
        for (key, value) in zip(spec.keys, point.values) {
            node = try Self.setting(node, path: key.split(separator: ".").map(String.init), to: value, file: file, key: key)
        }
        return try ScenarioLoader.decode(YAMLNode(node: node, file: root.file), defaultName: stem, directory: directory, hardware: hardware)
    }

    static func setting(_ node: Node, path: [String], to value: String, file: String, key: String) throws -> Node {
        guard let head = path.first else { return Node(value) }
        let rest = Array(path.dropFirst())
        switch node {
        case var .mapping(mapping):
            if let index = mapping.firstIndex(where: { $0.key.scalar?.string == head }) {
                let pair = mapping[index]
                mapping[index] = (key: pair.key, value: try setting(pair.value, path: rest, to: value, file: file, key: key))
            } else {
                // A key the base scenario leaves out: add it (the strict decoder still checks it).
                var fresh: Node = Node(value)
                for name in rest.reversed() { fresh = Node([(Node(name), fresh)]) }
                mapping[Node(head)] = fresh
            }
            return .mapping(mapping)
        case var .sequence(sequence):
            guard let i = Int(head), i >= 0, i < sequence.count else {
                throw InputError(file: file, keyPath: "sweep.axes", problem: "`\(key)`: `\(head)` is not an index of the list there",
                                 allowed: "an index from 0 to \(sequence.count - 1)")
            }
            sequence[i] = try setting(sequence[i], path: rest, to: value, file: file, key: key)
            return .sequence(sequence)
        default:
            throw InputError(file: file, keyPath: "sweep.axes", problem: "`\(key)` goes through `\(head)`, which is a value, not a mapping",
                             allowed: "a key path that follows mappings in the scenario")
        }
    }

    /// Evaluates one point: its sweep.csv row, or the reason it is invalid.
    func evaluate(_ point: SweepPoint, root: YAMLNode) -> Result<[String], InputError> {
        do {
            let s = try scenario(at: point, root: root)
            let report: Report
            switch options.engine {
            case .analytic:
                report = AnalyticEngine(options: .init(layerRows: false, spans: false)).run(s, steps: options.steps)
            case .event:
                let r = try EventEngine(options: .init(steps: options.steps, traceSteps: 0, report: .init(layerRows: false, spans: false))).run(s)
                report = r.report
            }
            return .success([String(point.index)] + point.values + ReportExport.summaryRow(report))
        } catch let e as InputError {
            return .failure(e)
        } catch {
            return .failure(InputError(file: file, keyPath: "sweep", problem: "point \(point.index): \(error)"))
        }
    }

    /// The file recording what produced a sweep folder.
    public static let provenanceName = "sweep.provenance"

    /// What produced this sweep: the scenario file's text with its sweep section (FNV-1a 64 of its bytes), the
    /// engine, steps and shard.
    func provenanceText() -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let shard = options.shard.map { "\($0.index)/\($0.count)" } ?? "none"
        return """
            scenario_text_fnv1a64: \(String(hash, radix: 16))
            engine: \(options.engine == .event ? "event" : "analytic")
            steps: \(options.steps)
            shard: \(shard)

            """
    }

    /// Removes what an interrupted atomic write leaves (Foundation writes `.dat.nosync*` beside the target, then renames).
    static func removeStrayTemporaries(in folder: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".dat.nosync") {
            try? fm.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    /// Runs the sweep into `out`; `progress(done, total, seconds)` is called from time to time.
    public func run(out: String, progress: @escaping @Sendable (Int, Int, Double) -> Void = { _, _, _ in }) throws -> Summary {
        let started = Date()
        var points = try spec.allPoints()
        if let shard = options.shard { points = points.filter { $0.index % shard.count == shard.index } }
        let sweepPath = (out as NSString).appendingPathComponent("sweep.csv")
        let invalidPath = (out as NSString).appendingPathComponent("invalid.csv")

        // One sweep at a time into a folder: an exclusive lock on the folder itself, held for the run.
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw SweepError(description: "\(out): cannot create the folder (\(error.localizedDescription))")
        }
        let lock = open(out, O_RDONLY | O_DIRECTORY)
        guard lock >= 0 else { throw SweepError(description: "\(out): cannot open the folder to lock it") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            throw SweepError(description: "\(out): another hybridsim sweep is writing into this folder; wait for it, or choose another --out")
        }
        defer { flock(lock, LOCK_UN) }
        // Temporary files an atomic write left when the process was killed mid-checkpoint.
        Self.removeStrayTemporaries(in: out)

        // What produced the folder; --resume refuses a folder made by another scenario text or other options.
        let provenancePath = (out as NSString).appendingPathComponent(Self.provenanceName)
        let provenance = provenanceText()
        // Resume: keep the rows already written (the header must be this sweep's).
        var done: [Int: String] = [:]
        if options.resume, FileManager.default.fileExists(atPath: sweepPath) {
            let recorded = (try? String(contentsOfFile: provenancePath, encoding: .utf8)) ?? ""
            guard recorded == provenance else {
                throw SweepError(description: "\(sweepPath) was made by \(recorded.isEmpty ? "an unknown sweep (no \(Self.provenanceName))" : "another scenario text or other options (see \(Self.provenanceName))"); --resume would mix its rows with this sweep's. Run without --resume, or choose another --out")
            }
            let existing = Self.rowsByPoint(try String(contentsOfFile: sweepPath, encoding: .utf8))
            guard existing.header == CSVTable.line(header).trimmingCharacters(in: .newlines) else {
                throw SweepError(description: "\(sweepPath): its columns are not this sweep's; remove it or choose another --out")
            }
            done = existing.rows
        }
        try AtomicFile.write(provenance, to: provenancePath)
        let resumed = points.filter { done[$0.index] != nil }.count
        let pending = points.filter { done[$0.index] == nil }

        let state = SweepState(total: points.count, already: resumed)
        for (k, v) in done { state.rows[k] = v }
        let chunk = max(1, min(256, pending.count / (options.jobs * 8) + 1))
        let chunks = stride(from: 0, to: pending.count, by: chunk).map { pending[$0..<min(pending.count, $0 + chunk)] }
        let writeCheckpoint: @Sendable () -> Void = { [header] in
            let began = Date()
            let text = state.csv(header: header)
            // A failed checkpoint loses nothing (the rows stay in memory); the final write reports errors.
            try? AtomicFile.write(text, to: sweepPath)
            state.checkpointTook(Date().timeIntervalSince(began))
        }
        let work: @Sendable (Int) -> Void = { c in
            var rows: [(Int, String)] = [], invalid: [(Int, String)] = []
            let root = (try? YAMLNode.parse(self.text, file: self.file)) ?? self.root
            for point in chunks[c] {
                switch self.evaluate(point, root: root) {
                case let .success(fields): rows.append((point.index, CSVTable.line(fields).trimmingCharacters(in: .newlines)))
                case let .failure(error):
                    invalid.append((point.index, CSVTable.line([String(point.index)] + point.values + [error.description]).trimmingCharacters(in: .newlines)))
                }
            }
            if state.add(rows: rows, invalid: invalid, checkpointEvery: self.options.checkpointSeconds) { writeCheckpoint() }
            let (finished, total) = state.counts
            progress(finished, total, Date().timeIntervalSince(started))
        }
        if options.jobs > 1 {
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = options.jobs
            for c in chunks.indices { queue.addOperation { work(c) } }
            queue.waitUntilAllOperationsAreFinished()
        } else {
            for c in chunks.indices { work(c) }
        }
        try AtomicFile.write(state.csv(header: header), to: sweepPath)
        let invalidHeader = ["point"] + spec.keys + ["error"]
        if state.invalidCount > 0 || FileManager.default.fileExists(atPath: invalidPath) {
            try AtomicFile.write(state.invalidCSV(header: invalidHeader), to: invalidPath)
        }
        return Summary(points: points.count, evaluated: pending.count, resumed: resumed, invalid: state.invalidCount,
                       seconds: Date().timeIntervalSince(started))
    }

    /// A sweep.csv or invalid.csv split into its header line and its rows keyed by point number
    /// (rows are single lines: no field the sweep writes holds a line break).
    static func rowsByPoint(_ text: String) -> (header: String?, rows: [Int: String]) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return (nil, [:]) }
        let header = lines.removeFirst()
        var rows: [Int: String] = [:]
        for line in lines {
            guard let comma = line.firstIndex(of: ","), let index = Int(line[..<comma]) else { continue }
            rows[index] = line
        }
        return (header, rows)
    }

    /// Joins shard outputs into one sweep.csv, identical to a single run's. The shards must be one sweep's: the
    /// same provenance but for the shard, every shard K/N of the same N present once, every row with the header's
    /// number of fields.
    public static func merge(directories: [String], out: String) throws -> Int {
        var common: String? = nil
        var shardsSeen: [Int: String] = [:]
        var shardCount: Int? = nil
        for dir in directories {
            let path = (dir as NSString).appendingPathComponent(provenanceName)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SweepError(description: "\(path): no such file (a shard folder written by `hybridsim sweep --shard K/N` has one)")
            }
            let lines = text.split(separator: "\n").map(String.init)
            let shardLine = lines.first { $0.hasPrefix("shard: ") } ?? "shard: none"
            let rest = lines.filter { !$0.hasPrefix("shard: ") }.joined(separator: "\n")
            if let common, common != rest {
                throw SweepError(description: "\(dir): a shard of another sweep (its scenario text, engine or steps differ from \(directories[0])'s)")
            }
            common = rest
            let parts = shardLine.dropFirst("shard: ".count).split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2 else { throw SweepError(description: "\(dir): not a shard (run with --shard K/N)") }
            if let n = shardCount, n != parts[1] { throw SweepError(description: "\(dir): shard \(parts[0])/\(parts[1]) among shards of \(n)") }
            shardCount = parts[1]
            if let other = shardsSeen[parts[0]] { throw SweepError(description: "\(dir) and \(other) are both shard \(parts[0])/\(parts[1])") }
            shardsSeen[parts[0]] = dir
        }
        if let n = shardCount {
            let missing = (0..<n).filter { shardsSeen[$0] == nil }
            guard missing.isEmpty else {
                throw SweepError(description: "shards \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) are missing: the merged sweep.csv would lack their points")
            }
        }
        var header: String? = nil
        var rows: [Int: String] = [:]
        var invalidHeader: String? = nil
        var invalid: [Int: String] = [:]
        for dir in directories {
            let path = (dir as NSString).appendingPathComponent("sweep.csv")
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SweepError(description: "\(path): no such file (each folder must hold a shard's sweep.csv)")
            }
            let shard = rowsByPoint(text)
            guard let first = shard.header else { throw SweepError(description: "\(path): empty") }
            // Every record has the header's number of fields (a truncated row, from a killed copy, is refused).
            let records = CSVTable.records(text)
            if let width = records.first?.count, let bad = records.dropFirst().firstIndex(where: { $0.count != width }) {
                throw SweepError(description: "\(path): record \(bad) has \(records[bad].count) fields where the header has \(width)")
            }
            if let header, header != first { throw SweepError(description: "\(path): its columns differ from the first shard's; shards of one sweep must match") }
            header = first
            for (index, line) in shard.rows {
                if let existing = rows[index], existing != line { throw SweepError(description: "\(path): point \(index) differs between shards") }
                rows[index] = line
            }
            let invalidPath = (dir as NSString).appendingPathComponent("invalid.csv")
            if let text = try? String(contentsOfFile: invalidPath, encoding: .utf8) {
                let bad = rowsByPoint(text)
                invalidHeader = bad.header ?? invalidHeader
                invalid.merge(bad.rows) { _, new in new }
            }
        }
        guard let header else { throw SweepError(description: "no shard folders given") }
        let text = ([header] + rows.keys.sorted().compactMap { rows[$0] }).joined(separator: "\n") + "\n"
        try AtomicFile.write(text, to: (out as NSString).appendingPathComponent("sweep.csv"))
        if let invalidHeader {
            let inv = ([invalidHeader] + invalid.keys.sorted().compactMap { invalid[$0] }).joined(separator: "\n") + "\n"
            try AtomicFile.write(inv, to: (out as NSString).appendingPathComponent("invalid.csv"))
        }
        return rows.count
    }
}

/// The rows completed so far, shared by the jobs.
final class SweepState: @unchecked Sendable {
    private let lock = NSLock()
    var rows: [Int: String] = [:]
    private var invalid: [Int: String] = [:]
    private var finished: Int
    private let total: Int
    private var lastCheckpoint = Date()
    private var lastWriteSeconds = 0.0

    func checkpointTook(_ seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        lastWriteSeconds = seconds
        lastCheckpoint = Date()
    }

    init(total: Int, already: Int) {
        self.total = total
        self.finished = already
    }

    /// Adds a chunk's rows; returns whether a checkpoint is due.
    func add(rows new: [(Int, String)], invalid bad: [(Int, String)], checkpointEvery seconds: Double) -> Bool {
        lock.lock(); defer { lock.unlock() }
        for (k, v) in new { rows[k] = v }
        for (k, v) in bad { invalid[k] = v }
        finished += new.count + bad.count
        // At most every `seconds`, and never more than 5 % of the time spent writing checkpoints.
        if Date().timeIntervalSince(lastCheckpoint) >= max(seconds, 20 * lastWriteSeconds) {
            lastCheckpoint = Date()
            return true
        }
        return false
    }

    var counts: (Int, Int) { lock.lock(); defer { lock.unlock() }; return (finished, total) }
    var invalidCount: Int { lock.lock(); defer { lock.unlock() }; return invalid.count }

    func csv(header: [String]) -> String {
        lock.lock(); defer { lock.unlock() }
        var out = CSVTable.line(header)
        out.reserveCapacity(rows.count * 300)
        for k in rows.keys.sorted() { if let row = rows[k] { out += row; out += "\n" } }
        return out
    }

    func invalidCSV(header: [String]) -> String {
        lock.lock(); defer { lock.unlock() }
        var out = CSVTable.line(header)
        for k in invalid.keys.sorted() { if let row = invalid[k] { out += row; out += "\n" } }
        return out
    }
}
