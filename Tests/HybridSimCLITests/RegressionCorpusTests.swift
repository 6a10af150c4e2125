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
        Case(file: "moe-zipf-100k-experts-hang.yaml", arguments: ["run", "--no-write"], status: 0, message: nil),
        Case(file: "layers-65536-memory.yaml", arguments: ["run", "--no-write"], status: 2, message: "layers-65536-memory.yaml:23: at `model.layers.repeat`: 65536 is out of range. Allowed: a whole number from 1 to 4096"),
        Case(file: "experts-1m-event-work.yaml", arguments: ["run", "--engine", "event", "--steps", "100", "--no-write"], status: 2, message: "allowed: at most 5000000 (Limits.work; here at most 19 steps)"),
        Case(file: "dirichlet-subnormal-crash.yaml", arguments: ["run", "--engine", "event", "--steps", "200000", "--trace-steps", "200000", "--no-write"], status: 2, message: "spans for timeline.json (Limits.traceSpans)"),
        Case(file: "duplicate-key.yaml", arguments: ["check"], status: 2, message: "duplicate-key.yaml:7: at `model.d_model`: the key `d_model` appears twice"),
        Case(file: "not-utf8.yaml", arguments: ["check"], status: 2, message: "not-utf8.yaml:2: the file is not UTF-8 text: byte 35"),
        Case(file: "control-character.yaml", arguments: ["check"], status: 2, message: "control-character.yaml:8: U+0007 at column 3 is not allowed in YAML"),
        Case(file: "zip-with-key.yaml", arguments: ["sweep", "--out", "o"], status: 2, message: "`key` beside `zip`"),
        Case(file: "sweep-axis-typo-exit0.yaml", arguments: ["sweep", "--out", "o"], status: 2, message: "sweep-axis-typo-exit0.yaml:9: at `sweep.axes`: no value of the axis `workload.batchh` makes a valid scenario"),
        Case(file: "sweep-axis-typo-exit0.yaml", arguments: ["check"], status: 2, message: "(did you mean `batch`?)"),
        Case(file: "sweep-axis-typo-exit0.yaml", arguments: ["optimize", "--minimize", "latency_s"], status: 2, message: "no value of the axis `workload.batchh`"),
    ]

    /// A small scenario sweeping the batch over `values`.
    static func sweepScenario(_ values: String) -> String {
        """
        name: s
        hardware: nvidia-h100-sxm
        workload: {phase: prefill, batch: 1, seq_len: 64, dtype: bf16}
        model:
          d_model: 128
          blocks: {a: {mixer: {type: attention, heads: 2, head_dim: 64}}}
          layers: [a]
        sweep:
          axes:
            - {key: workload.batch, values: [\(values)]}
        """
    }

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
        // A refused input writes nothing, except a sweep whose points were all invalid: its invalid.csv says why.
        if c.status == 2 && !c.file.hasPrefix("sweep-axis-typo") { #expect(ws.listing().isEmpty, "\(c): a refused input writes nothing") }
    }

    @Test("a megabyte-long value gets a message of a few hundred characters, not the value")
    func longValueMessageIsShort() throws {
        let ws = try Workspace("corpus-long")
        let digits = String(repeating: "9", count: 1_000_000)
        let file = try ws.write("long.yaml", """
            hardware: nvidia-h100-sxm
            workload: {phase: prefill, batch: 1, seq_len: 16, dtype: bf16}
            model:
              d_model: \(digits)
              blocks: {a: {mixer: {type: attention, heads: 1, head_dim: 64}}}
              layers: [a]
            """)
        let r = try ws.run(["check", file])
        #expect(r.status == 2)
        #expect(r.stderr.count < 1200, "\(r.stderr.count) characters")
        #expect(r.stderr.contains("long.yaml:4: at `model.d_model`") && r.stderr.contains(" characters)"))
    }

    @Test("every file of the corpus is replayed")
    func everyFileReplayed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(Self.cases.map(\.file)))
    }

    /// Command lines of issue 10 (items 13-15): negative numbers to numeric flags, --out at a file or empty, a folder in
    /// the way of one output file, an unsatisfiable constraint.
    @Test("hostile command lines: a clear message on stderr, the right status, nothing written")
    func commandLines() throws {
        let ws = try Workspace("corpus-cli")
        let scenario = try ws.write("s.yaml", Self.sweepScenario("1, 2"))
        try ws.write("afile", "x")
        let cases: [([String], String)] = [
            (["run", scenario, "--steps", "-3", "--no-write"], "--steps -3 is out of range"),
            (["sweep", scenario, "--jobs", "-2", "--out", "x"], "--jobs -2 is out of range"),
            (["sweep", scenario, "--shard", "-1/2", "--out", "x"], "--shard -1/2"),
            (["run", scenario, "--out", ws.path("afile")], "is a file"),
            (["run", scenario, "--out", ""], "--out is empty"),
            (["sweep", scenario, "--out", ws.path("afile")], "is a file"),
        ]
        for (arguments, message) in cases {
            let r = try ws.run(arguments)
            #expect(r.exitedNormally && r.status == 2, "\(arguments): status \(r.status)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr.prefix(300))")
        }
        #expect(ws.listing() == ["afile", "s.yaml"], "nothing written by a refused command line")
        // A folder where report.json should go: refused before any of the run's files is written.
        try FileManager.default.createDirectory(atPath: ws.path("o/report.json"), withIntermediateDirectories: true)
        let blocked = try ws.run(["run", scenario, "--out", "o"])
        #expect(blocked.status == 2 && blocked.stderr.contains("a folder is in the way"))
        #expect(!ws.exists("o/summary.csv") && !ws.exists("o/layers.csv"), "no partial set")
        // No point meets the constraint: the reason on stderr with the file, status 1.
        let none = try ws.run(["optimize", scenario, "--minimize", "latency_s", "--subject-to", "mfu>=2", "--out", "opt"])
        #expect(none.status == 1 && none.stderr.contains("s.yaml: no evaluated point satisfies the constraints"))
    }

    /// Sweep folders (issue 10, items 9, 16, 17): --resume refuses a folder another scenario made; a second sweep into
    /// a folder another holds is refused; temporary files a killed checkpoint left are removed.
    @Test("sweep folders: provenance checked on --resume, one writer at a time, stray temporaries removed")
    func sweepFolders() throws {
        let ws = try Workspace("corpus-sweep")
        let first = try ws.write("a.yaml", Self.sweepScenario("1, 2, 4"))
        #expect(try ws.run(["sweep", first, "--out", "s"]).status == 0)
        #expect(try ws.text("s/sweep.provenance").contains("scenario_text_fnv1a64:"))
        // The same scenario resumes; an edited one is refused, its rows kept apart.
        let same = try ws.run(["sweep", first, "--out", "s", "--resume"])
        #expect(same.status == 0 && same.stdout.contains("3 kept from before"))
        let edited = try ws.write("b.yaml", Self.sweepScenario("8, 16"))
        let refused = try ws.run(["sweep", edited, "--out", "s", "--resume"])
        #expect(refused.status == 2 && refused.stderr.contains("another scenario text or other options"))
        #expect(try ws.text("s/sweep.csv").split(separator: "\n").count == 4, "the folder is as the first sweep left it")
        // A temporary file of an interrupted atomic write is removed by the next run into the folder.
        try ws.write("s/.dat.nosyncDEAD.123456", "partial")
        #expect(try ws.run(["sweep", first, "--out", "s", "--resume"]).status == 0)
        #expect(!ws.exists("s/.dat.nosyncDEAD.123456"))
        // While another process holds the folder's lock, a sweep into it is refused.
        let fd = open(ws.path("s"), O_RDONLY | O_DIRECTORY)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let blocked = try ws.run(["sweep", first, "--out", "s"])
        #expect(blocked.status == 2 && blocked.stderr.contains("another hybridsim sweep is writing into this folder"))
        flock(fd, LOCK_UN)
        close(fd)
        #expect(try ws.run(["sweep", first, "--out", "s"]).status == 0)
    }

    /// merge (issue 10 item 14, issue 11): shards of one sweep, all of them, whole rows.
    @Test("merge refuses a missing shard, a shard of another sweep and a truncated row")
    func mergeChecks() throws {
        let ws = try Workspace("corpus-merge")
        let file = try ws.write("a.yaml", Self.sweepScenario("1, 2, 4, 8"))
        for k in 0..<3 { #expect(try ws.run(["sweep", file, "--shard", "\(k)/3", "--out", "s\(k)"]).status == 0) }
        #expect(try ws.run(["merge", ws.path("s0"), ws.path("s1"), ws.path("s2"), "--out", "m"]).status == 0)
        let missing = try ws.run(["merge", ws.path("s0"), ws.path("s2"), "--out", "m2"])
        #expect(missing.status == 2 && missing.stderr.contains("shards 1/3 are missing"))
        let other = try ws.write("b.yaml", Self.sweepScenario("16, 32"))
        #expect(try ws.run(["sweep", other, "--shard", "1/3", "--out", "t1"]).status == 0)
        let foreign = try ws.run(["merge", ws.path("s0"), ws.path("t1"), ws.path("s2"), "--out", "m3"])
        #expect(foreign.status == 2 && foreign.stderr.contains("a shard of another sweep"))
        // A row cut short (a copy killed halfway).
        let text = try ws.text("s1/sweep.csv")
        try ws.write("s1/sweep.csv", String(text.dropLast(12)) + "\n")
        let truncated = try ws.run(["merge", ws.path("s0"), ws.path("s1"), ws.path("s2"), "--out", "m4"])
        #expect(truncated.status == 2 && truncated.stderr.contains("fields where the header has"))
        #expect(!ws.exists("m2") && !ws.exists("m3") && !ws.exists("m4"), "a refused merge writes nothing")
    }
}
