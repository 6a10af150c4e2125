import Foundation
import Testing
import Exports

@Suite("AtomicFile")
struct AtomicFileTests {
    let fm = FileManager.default

    /// Every entry under `folder`, as paths relative to it (recursive, hidden files included).
    func entries(under folder: URL) throws -> [String] {
        guard let enumerator = fm.enumerator(atPath: folder.path) else { return [] }
        return (enumerator.allObjects as? [String] ?? []).sorted()
    }

    @Test("write creates every missing folder on the way")
    func createsFolders() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let target = root.appendingPathComponent("a/b/c/summary.csv")
        try AtomicFile.write("x,y\n1,2\n", to: target.path)
        var isDirectory: ObjCBool = false
        #expect(fm.fileExists(atPath: root.appendingPathComponent("a/b/c").path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(try String(contentsOf: target, encoding: .utf8) == "x,y\n1,2\n")
    }

    @Test("write leaves no temporary file behind")
    func noTemporaryFiles() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let folder = root.appendingPathComponent("out")
        for name in ["summary.csv", "layers.csv", "report.json"] {
            try AtomicFile.write("contents of \(name)\n", to: folder.appendingPathComponent(name).path)
        }
        // Replacing too must not leave anything behind.
        try AtomicFile.write("again\n", to: folder.appendingPathComponent("summary.csv").path)
        #expect(try entries(under: root) == ["out", "out/layers.csv", "out/report.json", "out/summary.csv"])
    }

    @Test("write replaces an existing file whole (a shorter text leaves no tail of the old one)")
    func replacesWhole() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let target = root.appendingPathComponent("report.json")
        let long = String(repeating: "0123456789", count: 10_000) + "\n"
        try AtomicFile.write(long, to: target.path)
        #expect(try Data(contentsOf: target).count == long.utf8.count)
        try AtomicFile.write("{}\n", to: target.path)
        #expect(try Data(contentsOf: target) == Data("{}\n".utf8))
        #expect(try entries(under: root) == ["report.json"])
    }

    @Test("write replaces a file that an open reader still sees as the old version")
    func readerKeepsOldVersion() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let target = root.appendingPathComponent("summary.csv")
        try AtomicFile.write("old\n", to: target.path)
        let reader = try FileHandle(forReadingFrom: target)
        defer { try? reader.close() }
        try AtomicFile.write("new contents\n", to: target.path)
        // Rename-over-target: the open handle still reads the old inode; a fresh read sees the new text.
        #expect(try reader.readToEnd() == Data("old\n".utf8))
        #expect(try String(contentsOf: target, encoding: .utf8) == "new contents\n")
    }

    @Test("write keeps UTF-8 text byte for byte, including an empty file")
    func bytesExact() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let text = "scénario,✓,\"q\"\r\n\n"
        let target = root.appendingPathComponent("u.csv")
        try AtomicFile.write(text, to: target.path)
        #expect(try Data(contentsOf: target) == Data(text.utf8))
        let empty = root.appendingPathComponent("empty.txt")
        try AtomicFile.write("", to: empty.path)
        // Its size, not its bytes: Foundation leaks the buffer of an empty file's read (LeakSanitizer, make test-asan).
        #expect((try fm.attributesOfItem(atPath: empty.path)[.size] as? NSNumber)?.intValue == 0)
    }

    @Test("write into a folder that is a regular file throws a WriteError naming the path")
    func failureNamesPath() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let blocker = root.appendingPathComponent("blocker")
        try Data("not a folder".utf8).write(to: blocker)
        let target = blocker.appendingPathComponent("summary.csv").path
        let error = try #require(throws: AtomicFile.WriteError.self) { try AtomicFile.write("x\n", to: target) }
        #expect(error.path == target)
        #expect(error.description.hasPrefix("\(target): cannot write: "))
        #expect(try entries(under: root) == ["blocker"])
        #expect(try Data(contentsOf: blocker) == Data("not a folder".utf8))
    }

    @Test("writeAll writes every file whole and nothing else")
    func writeAll() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let files = [(path: root.appendingPathComponent("x/summary.csv").path, contents: "s\n"),
                     (path: root.appendingPathComponent("x/layers.csv").path, contents: "l\n"),
                     (path: root.appendingPathComponent("y/report.json").path, contents: "{}\n")]
        try AtomicFile.writeAll(files)
        for file in files {
            #expect(try String(contentsOfFile: file.path, encoding: .utf8) == file.contents)
        }
        #expect(try entries(under: root) == ["x", "x/layers.csv", "x/summary.csv", "y", "y/report.json"])
    }
}
