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
    public var header: [String] { ["point"] + keyColumns + ReportExport.summaryColumns }

    /// The swept keys' column names: the key paths, except that a key that is also a summary metric's name (sweeping
    /// `hardware`) is written `swept.KEY`, so no two columns share a name.
    public var keyColumns: [String] { spec.keys.map { Metrics.names.contains($0) ? "swept." + $0 : $0 } }

    /// The scenario at one point (its values written into the YAML, then decoded strictly).
    public func scenario(at point: SweepPoint, root: YAMLNode? = nil) throws -> Scenario {
        let root = root ?? self.root
        var node = root.node
        for (key, value) in zip(spec.keys, point.values) {
            node = try Self.setting(node, path: key.split(separator: ".").map(String.init), to: value, file: file, key: key)
        }
        return try ScenarioLoader.decode(YAMLNode(node: node, file: root.file), defaultName: stem, directory: directory, hardware: hardware)
    }

    /// Problems `check` reports for the sweep section: an axis none of whose values (the first, a middle and the
    /// last are tried, the other keys at the scenario's own values) makes a valid scenario, such as a misspelt key.
    public func axisProblems() -> [InputError] {
        spec.axes.compactMap { axis in
            var first: InputError? = nil
            let count = axis.gridCount
            for i in Set([0, count / 2, max(0, count - 1)]).sorted() where i < count {
                do {
                    let node = try Self.setting(root.node, path: axis.key.split(separator: ".").map(String.init), to: axis.gridValue(at: i), file: file, key: axis.key)
                    _ = try ScenarioLoader.decode(YAMLNode(node: node, file: root.file), defaultName: stem, directory: directory, hardware: hardware)
                    return nil
                } catch let e as InputError {
                    first = first ?? e
                } catch {
                    first = first ?? InputError(file: file, keyPath: "sweep", problem: "\(error)")
                }
            }
            guard let first else { return nil }
            return InputError(file: file, line: axis.line, keyPath: "sweep.axes",
                              problem: "no value of the axis `\(axis.key)` makes a valid scenario; with \(axis.gridValue(at: 0)): \(first.description)",
                              allowed: "a key path into the scenario, with values it accepts")
        }
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
    public func evaluate(_ point: SweepPoint, root: YAMLNode) -> Result<[String], InputError> {
        evaluateReport(point, root: root).map { [String(point.index)] + point.values + ReportExport.summaryRow($0) }
    }

    /// Evaluates one point: its report, or the reason it is invalid.
    public func evaluateReport(_ point: SweepPoint, root: YAMLNode) -> Result<Report, InputError> {
        do {
            let s = try scenario(at: point, root: root)
            if let problem = Limits.workProblem(s, steps: options.steps, event: options.engine == .event) {
                return .failure(InputError(file: file, keyPath: "sweep", problem: "point \(point.index): \(problem)"))
            }
            let report: Report
            switch options.engine {
            case .analytic:
                report = AnalyticEngine(options: .init(layerRows: false, spans: false)).run(s, steps: options.steps)
            case .event:
                let r = try EventEngine(options: .init(steps: options.steps, traceSteps: 0, report: .init(layerRows: false, spans: false))).run(s)
                report = r.report
            }
            return .success(report)
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

    /// The files of a sweep folder while it runs: rows go to `sweep.csv.partial` and `invalid.csv.partial` in point
    /// order, and `sweep.progress` records, at each checkpoint, how many points and bytes of them are complete. A
    /// finished sweep renames the partial files to `sweep.csv` and `invalid.csv` and removes `sweep.progress`.
    public static let progressName = "sweep.progress"

    /// A checkpoint: the points done (positions in this shard's order) and the bytes of each partial file they fill.
    struct Checkpoint: Equatable {
        var position = 0
        var sweepBytes = 0
        var invalidBytes = 0
        var invalidRows = 0

        var text: String { "position: \(position)\nsweep_bytes: \(sweepBytes)\ninvalid_bytes: \(invalidBytes)\ninvalid_rows: \(invalidRows)\n" }

        static func parse(_ text: String) -> Checkpoint? {
            var values: [String: Int] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let v = Int(parts[1]), v >= 0 else { return nil }
                values[parts[0]] = v
            }
            guard let p = values["position"], let s = values["sweep_bytes"], let i = values["invalid_bytes"], let r = values["invalid_rows"] else { return nil }
            return Checkpoint(position: p, sweepBytes: s, invalidBytes: i, invalidRows: r)
        }
    }

    /// Runs the sweep into `out`; `progress(done, total, seconds)` is called from time to time.
    ///
    /// Points are made from their numbers as they are needed and rows are written in point order as they complete
    /// (a window of at most 4 chunks per job waits for an earlier one), so memory does not grow with the number of
    /// points. A run killed at any moment resumes (`--resume`) from its last checkpoint to the same bytes an
    /// uninterrupted run writes.
    public func run(out: String, progress: @escaping @Sendable (Int, Int, Double) -> Void = { _, _, _ in }) throws -> Summary {
        let started = Date()
        let total = spec.pointCount
        let (shardIndex, shardCount) = options.shard ?? (0, 1)
        let count = total > shardIndex ? (total - shardIndex + shardCount - 1) / shardCount : 0
        func path(_ name: String) -> String { (out as NSString).appendingPathComponent(name) }
        let sweepPath = path("sweep.csv"), invalidPath = path("invalid.csv")
        let partialSweep = path("sweep.csv.partial"), partialInvalid = path("invalid.csv.partial")
        let progressPath = path(Self.progressName), provenancePath = path(Self.provenanceName)
        let fm = FileManager.default

        // One sweep at a time into a folder: an exclusive lock on the folder itself, held for the run.
        do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
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
        AtomicFile.removeStrays(in: out)

        let headerLine = CSVTable.line(header)
        let invalidHeaderLine = CSVTable.line(["point"] + keyColumns + ["error"])
        // What produced the folder; --resume refuses a folder made by another scenario text or other options.
        let provenance = provenanceText()
        var start = Checkpoint()
        var resuming = false
        if options.resume, fm.fileExists(atPath: progressPath) || fm.fileExists(atPath: sweepPath) {
            let recorded = (try? String(contentsOfFile: provenancePath, encoding: .utf8)) ?? ""
            guard recorded == provenance else {
                throw SweepError(description: "\(out) was made by \(recorded.isEmpty ? "an unknown sweep (no \(Self.provenanceName))" : "another scenario text or other options (see \(Self.provenanceName))"); --resume would mix its rows with this sweep's. Run without --resume, or choose another --out")
            }
            if fm.fileExists(atPath: progressPath) {
                guard let text = try? String(contentsOfFile: progressPath, encoding: .utf8), let checkpoint = Checkpoint.parse(text), checkpoint.position <= count else {
                    throw SweepError(description: "\(progressPath): not a checkpoint this version writes; run without --resume")
                }
                start = checkpoint
                resuming = true
            } else {
                // A finished sweep: nothing left to evaluate.
                let reader = try LineReader(path: sweepPath)
                guard try reader.next().map({ $0 + "\n" }) == headerLine else {
                    throw SweepError(description: "\(sweepPath): its columns are not this sweep's; remove it or choose another --out")
                }
                var invalidRows = 0
                if fm.fileExists(atPath: invalidPath) {
                    let bad = try LineReader(path: invalidPath)
                    _ = try bad.next()
                    while try bad.next() != nil { invalidRows += 1 }
                }
                return Summary(points: count, evaluated: 0, resumed: count, invalid: invalidRows, seconds: Date().timeIntervalSince(started))
            }
        }
        if !resuming {
            for stale in [sweepPath, invalidPath, partialSweep, partialInvalid, progressPath] where fm.fileExists(atPath: stale) {
                do { try fm.removeItem(atPath: stale) } catch { throw SweepError(description: "\(stale): cannot remove the previous sweep's file (\(error.localizedDescription))") }
            }
            try AtomicFile.write(provenance, to: provenancePath)
            try AtomicFile.write(headerLine, to: partialSweep)
            start.sweepBytes = headerLine.utf8.count
            try AtomicFile.write(start.text, to: progressPath)
        }

        // The partial files, cut back to the checkpoint (rows after it are evaluated again).
        func openPartial(_ path: String, bytes: Int, header: String) throws -> Int32 {
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SweepError(description: "\(path): cannot open (\(String(cString: strerror(errno))))") }
            var info = stat()
            guard fstat(fd, &info) == 0, Int(info.st_size) >= bytes else {
                close(fd)
                throw SweepError(description: "\(path) is shorter than its checkpoint in \(Self.progressName) records; run without --resume")
            }
            guard ftruncate(fd, off_t(bytes)) == 0, lseek(fd, 0, SEEK_END) >= 0 else {
                close(fd)
                throw SweepError(description: "\(path): cannot cut back to the checkpoint (\(String(cString: strerror(errno))))")
            }
            return fd
        }
        if start.position >= count, !fm.fileExists(atPath: partialSweep), fm.fileExists(atPath: sweepPath) {
            // Killed while renaming the finished files: finish the renames.
            if fm.fileExists(atPath: partialInvalid) { _ = rename(partialInvalid, invalidPath) }
            try? fm.removeItem(atPath: progressPath)
            return Summary(points: count, evaluated: 0, resumed: count, invalid: start.invalidRows, seconds: Date().timeIntervalSince(started))
        }
        if resuming {
            let reader = try LineReader(path: partialSweep)
            guard try reader.next().map({ $0 + "\n" }) == headerLine else {
                throw SweepError(description: "\(partialSweep): its columns are not this sweep's; remove it or choose another --out")
            }
        }
        let sweepFD = try openPartial(partialSweep, bytes: start.sweepBytes, header: headerLine)
        let invalidFD: Int32? = start.invalidBytes > 0 ? try openPartial(partialInvalid, bytes: start.invalidBytes, header: invalidHeaderLine) : nil
        if invalidFD == nil { try? fm.removeItem(atPath: partialInvalid) }

        let state = SweepStream(start: start, count: count, sweepFD: sweepFD, sweepPath: partialSweep, invalidFD: invalidFD,
                                invalidPath: partialInvalid, invalidHeader: invalidHeaderLine, progressPath: progressPath,
                                checkpointSeconds: options.checkpointSeconds, jobs: options.jobs)
        let pending = count - start.position
        let chunk = max(1, min(256, pending / (options.jobs * 8) + 1))
        let chunks = (pending + chunk - 1) / chunk
        let startPosition = start.position
        let worker: @Sendable () -> Void = {
            let root = (try? YAMLNode.parse(self.text, file: self.file)) ?? self.root
            while let c = state.take(chunks: chunks) {
                var rows: [String] = [], invalid: [String] = []
                let first = startPosition + c * chunk
                for position in first..<min(count, first + chunk) {
                    let point = self.spec.point(at: shardIndex + position * shardCount)
                    switch self.evaluate(point, root: root) {
                    case let .success(fields): rows.append(CSVTable.line(fields))
                    case let .failure(error):
                        // One line per row (resume and merge read rows as lines).
                        let reason = error.description.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
                        invalid.append(CSVTable.line([String(point.index)] + point.values + [reason]))
                    }
                }
                state.complete(chunk: c, rows: rows, invalid: invalid, points: min(count, first + chunk) - first)
                let (finished, all) = state.counts
                progress(finished, all, Date().timeIntervalSince(started))
            }
        }
        if options.jobs > 1 {
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = options.jobs
            for _ in 0..<options.jobs { queue.addOperation(worker) }
            queue.waitUntilAllOperationsAreFinished()
        } else {
            worker()
        }
        let final = try state.finish()
        // The finished files under their names, then the checkpoint goes.
        guard rename(partialSweep, sweepPath) == 0 else { throw SweepError(description: "\(sweepPath): cannot write (\(String(cString: strerror(errno))))") }
        if final.invalidBytes > 0 { _ = rename(partialInvalid, invalidPath) }
        try? fm.removeItem(atPath: progressPath)
        return Summary(points: count, evaluated: pending, resumed: start.position, invalid: final.invalidRows,
                       seconds: Date().timeIntervalSince(started))
    }

    /// The number at the start of a row (its point), or nil.
    static func pointNumber(_ line: String) -> Int? {
        guard let comma = line.firstIndex(of: ",") else { return nil }
        return Int(line[..<comma])
    }

    /// Joins shard outputs into one sweep.csv, identical to a single run's. The shards must be one sweep's: the
    /// same provenance but for the shard, every shard K/N of the same N present once, every row with the header's
    /// number of fields. The shards' rows are merged by point number as they are read (memory does not grow with
    /// the number of points).
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
            if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(progressName)) {
                throw SweepError(description: "\(dir): the shard's sweep has not finished (\(progressName) is there); finish it with --resume first")
            }
        }
        if let n = shardCount {
            let missing = (0..<n).filter { shardsSeen[$0] == nil }
            guard missing.isEmpty else {
                throw SweepError(description: "shards \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) are missing: the merged sweep.csv would lack their points")
            }
        }
        guard !directories.isEmpty else { throw SweepError(description: "no shard folders given") }
        let rows = try mergeFiles(directories.map { ($0 as NSString).appendingPathComponent("sweep.csv") }, required: true,
                                  to: (out as NSString).appendingPathComponent("sweep.csv"))
        _ = try mergeFiles(directories.map { ($0 as NSString).appendingPathComponent("invalid.csv") }, required: false,
                           to: (out as NSString).appendingPathComponent("invalid.csv"))
        return rows
    }

    /// Merges CSV files whose rows are in point order into one, by point number; returns the rows written.
    static func mergeFiles(_ paths: [String], required: Bool, to target: String) throws -> Int {
        let present = paths.filter { FileManager.default.fileExists(atPath: $0) }
        if required, let missing = paths.first(where: { !present.contains($0) }) {
            throw SweepError(description: "\(missing): no such file (each folder must hold a shard's sweep.csv)")
        }
        guard !present.isEmpty else { return 0 }
        var readers: [LineReader] = []
        var current: [(point: Int, line: String)?] = []
        var header: String? = nil
        var width = 0
        func advance(_ k: Int) throws {
            guard let line = try readers[k].next(), !line.isEmpty else { current[k] = nil; return }
            let path = readers[k].path
            guard let point = pointNumber(line) else { throw SweepError(description: "\(path): a row without a point number") }
            let fields = CSVTable.records(line).first?.count ?? 0
            guard fields == width, readers[k].endedWithNewline else {
                throw SweepError(description: "\(path): the row of point \(point) has \(fields) fields\(readers[k].endedWithNewline ? "" : " and no line end") where the header has \(width) (a truncated row)")
            }
            if let previous = current[k], previous.point >= point {
                throw SweepError(description: "\(path): point \(point) after point \(previous.point): rows are not in point order")
            }
            current[k] = (point, line)
        }
        for path in present {
            let reader = try LineReader(path: path)
            guard let first = try reader.next() else { throw SweepError(description: "\(path): empty") }
            if let header, header != first { throw SweepError(description: "\(path): its columns differ from the first shard's; shards of one sweep must match") }
            header = first
            width = CSVTable.records(first).first?.count ?? 0
            readers.append(reader)
            current.append(nil)
        }
        for k in readers.indices { try advance(k) }
        var written = 0
        try AtomicFile.write(to: target) { sink in
            try sink.write((header ?? "") + "\n")
            while true {
                var best: Int? = nil
                for k in current.indices { if let row = current[k], best.map({ row.point < (current[$0]?.point ?? .max) }) ?? true { best = k } }
                guard let b = best, let row = current[b] else { break }
                for k in current.indices where k != b {
                    if let other = current[k], other.point == row.point {
                        guard other.line == row.line else { throw SweepError(description: "\(readers[k].path): point \(row.point) differs between shards") }
                        try advance(k)
                    }
                }
                try sink.write(row.line + "\n")
                written += 1
                try advance(b)
            }
        }
        return written
    }
}

/// The rows of a running sweep, shared by the jobs: chunks are handed out in order, and rows are appended to the
/// partial files in point order as soon as every earlier chunk is done.
final class SweepStream: @unchecked Sendable {
    private let condition = NSCondition()
    private var nextChunk = 0
    private var nextToWrite = 0
    private var done: [Int: (rows: [String], invalid: [String], points: Int)] = [:]
    private var written: SweepRunner.Checkpoint
    private var finished: Int
    private let count: Int
    private let sweep: TextSink
    private let sweepFD: Int32
    private var invalid: TextSink?
    private var invalidFD: Int32?
    private let invalidPath: String
    private let invalidHeader: String
    private let progressPath: String
    private let checkpointSeconds: Double
    private let window: Int
    private var lastCheckpoint = Date()
    private var lastCheckpointSeconds = 0.0
    private var failure: Error?

    init(start: SweepRunner.Checkpoint, count: Int, sweepFD: Int32, sweepPath: String, invalidFD: Int32?, invalidPath: String,
         invalidHeader: String, progressPath: String, checkpointSeconds: Double, jobs: Int) {
        written = start
        finished = start.position
        self.count = count
        self.sweepFD = sweepFD
        sweep = TextSink(fd: sweepFD, path: sweepPath)
        self.invalidFD = invalidFD
        invalid = invalidFD.map { TextSink(fd: $0, path: invalidPath) }
        self.invalidPath = invalidPath
        self.invalidHeader = invalidHeader
        self.progressPath = progressPath
        self.checkpointSeconds = checkpointSeconds
        window = 4 * max(1, jobs)
    }

    /// The next chunk to evaluate, or nil when none is left (or a write failed); waits while the chunk would run
    /// more than the window ahead of the rows written.
    func take(chunks: Int) -> Int? {
        condition.lock(); defer { condition.unlock() }
        while failure == nil, nextChunk < chunks, nextChunk >= nextToWrite + window { condition.wait() }
        guard failure == nil, nextChunk < chunks else { return nil }
        nextChunk += 1
        return nextChunk - 1
    }

    /// A chunk's rows: written with every completed chunk that follows in order; a checkpoint when one is due.
    func complete(chunk: Int, rows: [String], invalid bad: [String], points: Int) {
        condition.lock(); defer { condition.unlock() }
        done[chunk] = (rows, bad, points)
        finished += points
        do {
            while let next = done.removeValue(forKey: nextToWrite) {
                for row in next.rows { try sweep.write(row); written.sweepBytes += row.utf8.count }
                if !next.invalid.isEmpty {
                    let sink = try invalidSink()
                    for row in next.invalid { try sink.write(row); written.invalidBytes += row.utf8.count }
                    written.invalidRows += next.invalid.count
                }
                written.position += next.points
                nextToWrite += 1
            }
            // At most every `checkpointSeconds`, and never more than 5 % of the time spent writing checkpoints.
            if Date().timeIntervalSince(lastCheckpoint) >= max(checkpointSeconds, 20 * lastCheckpointSeconds) { try checkpoint() }
        } catch {
            failure = failure ?? error
        }
        condition.broadcast()
    }

    private func invalidSink() throws -> TextSink {
        if let invalid { return invalid }
        let fd = open(invalidPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: invalidPath, reason: String(cString: strerror(errno))) }
        let sink = TextSink(fd: fd, path: invalidPath)
        try sink.write(invalidHeader)
        written.invalidBytes += invalidHeader.utf8.count
        invalid = sink
        invalidFD = fd
        return sink
    }

    /// The rows so far on disk, then the record of how far they go (atomically): a kill after this loses nothing
    /// before it.
    private func checkpoint() throws {
        let began = Date()
        try sweep.flush()
        try invalid?.flush()
        _ = fdatasync(sweepFD)
        if let invalidFD { _ = fdatasync(invalidFD) }
        try AtomicFile.write(written.text, to: progressPath)
        lastCheckpoint = Date()
        lastCheckpointSeconds = lastCheckpoint.timeIntervalSince(began)
    }

    var counts: (Int, Int) { condition.lock(); defer { condition.unlock() }; return (finished, count) }

    /// Flushes and closes the files after the last chunk; the final checkpoint.
    func finish() throws -> SweepRunner.Checkpoint {
        condition.lock(); defer { condition.unlock() }
        defer {
            close(sweepFD)
            if let invalidFD { close(invalidFD) }
        }
        if let failure { throw failure }
        try checkpoint()
        return written
    }
}
