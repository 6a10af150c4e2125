import Foundation

/// Writes files so that a reader never sees half of one: each goes to a temporary file in the
/// same folder, then is renamed over the target.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot write: \(reason)" }
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// Writes `contents` to `path`, creating its folder when needed.
    public static func write(_ contents: String, to path: String) throws {
        try write(to: path) { try $0.write(contents) }
    }

    /// Writes what `produce` puts into the sink to `path`, through a temporary file beside it (named
    /// `.NAME.partial-PID-N`) renamed over the target: a reader sees the old file or the whole new one, and a
    /// large file is never held whole in memory. A failure removes the temporary.
    public static func write(to path: String, _ produce: (TextSink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw WriteError(path: path, reason: error.localizedDescription)
        }
        let temporary = (directory as NSString).appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())-\(counter.next())")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        do {
            let sink = TextSink(fd: fd, path: path)
            try produce(sink)
            try sink.flush()
            guard close(fd) == 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
    private static let counter = Counter()

    /// Removes the temporaries that a killed writer left in `folder`: `.NAME.partial-PID-N` of a process that no
    /// longer runs, and Foundation's `.dat.nosync*` (written by earlier versions).
    public static func removeStrays(in folder: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] {
            var stray = name.hasPrefix(".dat.nosync")
            if name.hasPrefix("."), let range = name.range(of: ".partial-", options: .backwards) {
                let pid = name[range.upperBound...].split(separator: "-").first.flatMap { Int32($0) }
                stray = pid.map { $0 != getpid() && kill($0, 0) != 0 && errno == ESRCH } ?? false
            }
            if stray { try? fm.removeItem(atPath: (folder as NSString).appendingPathComponent(name)) }
        }
    }

    /// A target that cannot be a file: a folder in its place, or a file where its folder should be.
    public struct Obstacle: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason); nothing was written" }
    }

    /// The first obstacle among the targets (checked before anything is written), if any.
    public static func obstacle(_ paths: [String]) -> Obstacle? {
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return Obstacle(path: path, reason: "a folder is in the way of this file")
            }
            // The nearest existing ancestor must be a folder (walked by components: Foundation's
            // deletingLastPathComponent traps on some relative paths in this toolchain).
            var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            let name = components.last ?? path
            components.removeLast()
            while !components.isEmpty {
                let folder = components.joined(separator: "/")
                if !folder.isEmpty, fm.fileExists(atPath: folder, isDirectory: &isDirectory) {
                    if !isDirectory.boolValue { return Obstacle(path: folder, reason: "is a file, where a folder for \(name) should be") }
                    break
                }
                components.removeLast()
            }
        }
        return nil
    }

    /// Writes several files: every target is checked
    /// before the first write (a folder in the way, a file where a folder should be), so a failure leaves no
    /// partial set; each file appears whole.
    public static func writeAll(_ files: [OutputFile]) throws {
        if let obstacle = obstacle(files.map(\.path)) { throw obstacle }
        for folder in Set(files.map { ($0.path as NSString).deletingLastPathComponent }) { removeStrays(in: folder.isEmpty ? "." : folder) }
        for file in files { try write(to: file.path, file.produce) }
    }
}

/// One output file: its path and what writes its contents (text, or a streamed document).
public struct OutputFile {
    public var path: String
    public var produce: (TextSink) throws -> Void

    public init(path: String, text: String) {
        self.path = path
        self.produce = { try $0.write(text) }
    }

    public init(path: String, produce: @escaping (TextSink) throws -> Void) {
        self.path = path
        self.produce = produce
    }

    /// The contents as text (tests, small files).
    public func text() throws -> String {
        let sink = TextSink()
        try produce(sink)
        return sink.text
    }
}
