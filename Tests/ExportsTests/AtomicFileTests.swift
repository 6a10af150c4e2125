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
        try AtomicFile.writeAll(files.map { OutputFile(path: $0.path, text: $0.contents) })
        for file in files {
            #expect(try String(contentsOfFile: file.path, encoding: .utf8) == file.contents)
        }
        #expect(try entries(under: root) == ["x", "x/layers.csv", "x/summary.csv", "y", "y/report.json"])
    }

    @Test("a streamed write that fails half way leaves the old file and no temporary; a dead writer's temporary is removed")
    func streamedFailure() throws {
        let root = try makeTemporaryFolder("atomic")
        defer { try? fm.removeItem(at: root) }
        let target = root.appendingPathComponent("report.json").path
        try AtomicFile.write("old\n", to: target)
        struct Broken: Error {}
        #expect(throws: Broken.self) {
            try AtomicFile.write(to: target) { sink in
                for _ in 0..<100_000 { try sink.write("0123456789abcdef") }  // 1.6 MB: some of it flushed to disk
                throw Broken()
            }
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "old\n")
        #expect(try entries(under: root) == ["report.json"])
        // A temporary of a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max default), and one of this process.
        try Data("partial".utf8).write(to: root.appendingPathComponent(".report.json.partial-4194305-1"))
        try Data("partial".utf8).write(to: root.appendingPathComponent(".report.json.partial-\(getpid())-999"))
        AtomicFile.removeStrays(in: root.path)
        #expect(try entries(under: root) == [".report.json.partial-\(getpid())-999", "report.json"])
    }
}
