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

    /// Writes several files: every content is produced before the first write, and every target is checked
    /// before the first write (a folder in the way, a file where a folder should be), so a failure leaves no
    /// partial set; each file appears whole.
    public static func writeAll(_ files: [(path: String, contents: String)]) throws {
        if let obstacle = obstacle(files.map(\.path)) { throw obstacle }
        for file in files { try write(file.contents, to: file.path) }
    }
}
