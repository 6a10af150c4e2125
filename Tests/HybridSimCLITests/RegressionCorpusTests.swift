import Foundation
import Testing

/// Replays the hostile inputs of Tests/Corpus/reliability (see its README): each gets its command, must exit
/// normally (no signal) with the status it now has, and refused ones say why with the file and line.
@Suite("Regression corpus: hostile inputs that once crashed")
struct RegressionCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus/reliability")

    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var arguments: [String]
        var status: Int32
        var message: String?
        var description: String { "\(arguments.first ?? "") \(file)" }
    }

    static let cases: [Case] = [
        Case(file: "grid-overflow-crash.yaml", arguments: ["sweep", "--out", "o"], status: 2, message: "the grid has 1e+19 points"),
        Case(file: "grid-overflow-crash.yaml", arguments: ["optimize", "--minimize", "latency_s"], status: 2, message: "the grid has 1e+19 points"),
        Case(file: "dirichlet-subnormal-crash.yaml", arguments: ["run", "--engine", "event", "--no-write"], status: 0, message: nil),
        Case(file: "inf-json.yaml", arguments: ["run", "--no-write"], status: 2, message: "hardware.peak_flops.fp32"),
        Case(file: "attention-share-subnormal.yaml", arguments: ["run", "--no-write"], status: 2, message: "attention_share"),
    ]

    @Test(arguments: cases)
    func replay(_ c: Case) throws {
        let ws = try Workspace("corpus")
        let file = Self.corpus.appendingPathComponent(c.file).path
        #expect(FileManager.default.fileExists(atPath: file), "corpus file \(c.file) is missing")
        var arguments = c.arguments
        arguments.insert(file, at: 1)
        let r = try ws.run(arguments)
        #expect(r.exitedNormally, "\(c): ended by a signal\n\(r.stderr.prefix(400))")
        #expect(r.status == c.status, "\(c): status \(r.status)\n\(r.stderr.prefix(400))")
        if let message = c.message {
            #expect(r.stderr.contains(message), "\(c): \(r.stderr.prefix(400))")
            #expect(r.stderr.contains("\(c.file):"), "the message names the file and line")
        }
        if c.status == 2 { #expect(ws.listing().isEmpty, "\(c): a refused input writes nothing") }
    }

    @Test("every file of the corpus is replayed")
    func everyFileReplayed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(Self.cases.map(\.file)))
    }
}
