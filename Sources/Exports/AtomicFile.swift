import Foundation

/// Writes files so that a reader never sees half of one: each goes to a temporary file in the
/// same folder, then is renamed over the target.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// Writes `contents` to `path`, creating its folder when needed.
    public static func write(_ contents: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: url, options: .atomic)
        } catch {
            throw WriteError(path: path, reason: error.localizedDescription)
        }
    }

    /// Writes several files: every content is produced before the first write, so a failure while
    /// producing leaves nothing behind, and each file appears whole.
    public static func writeAll(_ files: [(path: String, contents: String)]) throws {
        for file in files { try write(file.contents, to: file.path) }
    }
}
