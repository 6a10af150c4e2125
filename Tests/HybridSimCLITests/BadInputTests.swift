import Foundation
import Testing

/// One bad-input case: files to create, the arguments after `run`, and what stderr must name.
struct BadInputCase: CustomTestStringConvertible, Sendable {
    var label: String
    var files: [String: String]
    var arguments: [String]
    var mustMention: [String]

    var testDescription: String { label }
}

let badInputCases: [BadInputCase] = [
    BadInputCase(label: "malformed YAML",
                 files: ["bad.yaml": "schema_version: 1\nname: [unclosed\nhardware: nvidia-h100-sxm\n"],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "malformed YAML"]),
    BadInputCase(label: "unknown key (with did-you-mean)",
                 files: ["bad.yaml": Scenarios.small(workload: "{phase: prefill, batch: 2, seq_len: 128, dtype: bf16, seqlen: 4}")],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "workload.seqlen", "unknown key", "did you mean `seq_len`?"]),
    BadInputCase(label: "unknown top-level key (with did-you-mean)",
                 files: ["bad.yaml": Scenarios.small() + "workloads: 3\n"],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "workloads", "did you mean `workload`?"]),
    BadInputCase(label: "top_k > experts",
                 files: ["bad.yaml": Scenarios.small(blocks: ["moe: {mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 16}, mlp: {type: moe, experts: 4, top_k: 5, expert_ffn_dim: 128}}"],
                                                     layers: "[moe]")],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "model.blocks.moe.mlp.top_k", "top_k 5", "4 experts"]),
    BadInputCase(label: "split 1.5",
                 files: ["bad.yaml": Scenarios.small(blocks: ["hyb: {mixer: {type: hybrid, layout: split, split: 1.5, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"],
                                                     layers: "[hyb]")],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "model.blocks.hyb.mixer.split", "1.5"]),
    BadInputCase(label: "unknown hardware profile",
                 files: ["bad.yaml": Scenarios.small(hardware: "nvidia-h100-sx")],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "`hardware`", "nvidia-h100-sx", "did you mean `nvidia-h100-sxm`?"]),
    BadInputCase(label: "profile file with schema_version 2 referenced from a scenario",
                 files: ["bad.yaml": Scenarios.small(hardware: "profiles/future.yaml"), "profiles/future.yaml": Scenarios.profileV2],
                 arguments: ["bad.yaml"], mustMention: ["future.yaml", "schema_version", "schema version 2"]),
    BadInputCase(label: "missing file",
                 files: [:], arguments: ["nowhere.yaml"], mustMention: ["nowhere.yaml", "no such file"]),
    BadInputCase(label: "unknown CLI flag",
                 files: ["good.yaml": Scenarios.small()], arguments: ["good.yaml", "--bogus-flag"], mustMention: ["--bogus-flag"]),
    BadInputCase(label: "bad value for --format",
                 files: ["good.yaml": Scenarios.small()], arguments: ["good.yaml", "--format", "xml"], mustMention: ["xml"]),
    BadInputCase(label: "empty file",
                 files: ["empty.yaml": ""], arguments: ["empty.yaml"], mustMention: ["empty.yaml", "empty"]),
    BadInputCase(label: "comments only",
                 files: ["comments.yaml": "# nothing here\n# at all\n"], arguments: ["comments.yaml"], mustMention: ["comments.yaml", "empty"]),
    BadInputCase(label: "one good and one bad file",
                 files: ["good.yaml": Scenarios.small(name: "good"), "bad.yaml": Scenarios.small(name: "bad", hardware: "tpu-v9")],
                 arguments: ["good.yaml", "bad.yaml"], mustMention: ["bad.yaml", "`hardware`", "tpu-v9"]),
    BadInputCase(label: "one bad and one good file",
                 files: ["good.yaml": Scenarios.small(name: "good"), "bad.yaml": Scenarios.small(name: "bad", layers: "[atn]")],
                 arguments: ["bad.yaml", "good.yaml"], mustMention: ["bad.yaml", "model.layers", "did you mean `attn`?"]),
    BadInputCase(label: "a list at the root",
                 files: ["list.yaml": "- a\n- b\n"], arguments: ["list.yaml"], mustMention: ["list.yaml", "mapping"]),
    BadInputCase(label: "not UTF-8",
                 files: ["latin1.yaml": "name: caf\u{E9}\n"], arguments: ["latin1.yaml"], mustMention: ["latin1.yaml"]),
    BadInputCase(label: "wrong type (batch: many)",
                 files: ["bad.yaml": Scenarios.small(workload: "{phase: prefill, batch: many, seq_len: 128, dtype: bf16}")],
                 arguments: ["bad.yaml"], mustMention: ["bad.yaml", "workload.batch", "many"]),
]

@Suite("hybridsim run: bad input")
struct BadInputTests {
    @Test("bad input: exit 2, one paragraph on stderr naming file and key, nothing written", arguments: badInputCases)
    func badInput(_ c: BadInputCase) throws {
        let ws = try Workspace("bad")
        for (path, contents) in c.files {
            if c.label == "not UTF-8" {
                // ISO-8859-1 é (0xE9) is not valid UTF-8.
                let target = ws.url.appendingPathComponent(path)
                try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: target)
            } else {
                try ws.write(path, contents)
            }
        }
        let before = ws.listing()
        let result = try ws.run(["run"] + c.arguments + ["--out", "out"])
        #expect(result.exitedNormally, "\(c.label): terminated by a signal")
        #expect(result.status == 2, "\(c.label): status \(result.status); stderr: \(result.stderr)")
        #expect(isOneParagraph(result.stderr), "\(c.label): stderr is not one paragraph: \(result.stderr)")
        for needle in c.mustMention {
            #expect(result.stderr.contains(needle), "\(c.label): stderr does not mention \(needle): \(result.stderr)")
        }
        #expect(!result.stderr.contains("Fatal error"), "\(c.label): \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(c.label): printed on stdout: \(result.stdout)")
        #expect(!ws.exists("out"), "\(c.label): the --out folder was created")
        #expect(ws.listing() == before, "\(c.label): files appeared: \(Set(ws.listing()).subtracting(before))")
    }

    @Test("bad input without --out writes no results/ folder either", arguments: badInputCases.filter { $0.label.contains("good") })
    func badInputDefaultFolder(_ c: BadInputCase) throws {
        let ws = try Workspace("bad")
        for (path, contents) in c.files { try ws.write(path, contents) }
        let result = try ws.run(["run"] + c.arguments)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(!ws.exists("results"), "results/ was created: \(ws.listing())")
    }

    @Test("an input error is exactly one line: file:line, key path, problem, what is allowed")
    func oneLine() throws {
        let ws = try Workspace("bad")
        try ws.write("bad.yaml", Scenarios.small(workload: "{phase: prefill, batch: 2, seq_len: 128, dtype: bf16, seqlen: 4}"))
        let result = try ws.run(["run", "bad.yaml", "--out", "out"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: bad.yaml:4: at `workload.seqlen`: unknown key `seqlen` (did you mean `seq_len`?)."))
        #expect(result.stderr.contains("Allowed: keys phase, batch, seq_len, dtype, activation_recomputation."))
    }

    @Test("several bad files: every error is reported, one line each, nothing written")
    func severalErrors() throws {
        let ws = try Workspace("bad")
        try ws.write("a.yaml", Scenarios.small(name: "a", hardware: "nope"))
        try ws.write("b.yaml", Scenarios.small(name: "b", workload: "{phase: prefil, batch: 2, seq_len: 128, dtype: bf16}"))
        try ws.write("ok.yaml", Scenarios.small(name: "ok"))
        let result = try ws.run(["run", "a.yaml", "ok.yaml", "b.yaml", "--out", "out"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 2, "stderr: \(result.stderr)")
        #expect(lines.first?.contains("a.yaml") == true && lines.first?.contains("`hardware`") == true)
        #expect(lines.last?.contains("b.yaml") == true && lines.last?.contains("workload.phase") == true
                && lines.last?.contains("did you mean `prefill`?") == true)
        #expect(!result.stderr.contains("ok.yaml"))
        #expect(!ws.exists("out"))
    }

    @Test("two scenarios with one name into one --out folder: exit 2, nothing written")
    func duplicateNames() throws {
        let ws = try Workspace("bad")
        try ws.write("x.yaml", Scenarios.small(name: "same"))
        try ws.write("y.yaml", Scenarios.small(name: "same"))
        let result = try ws.run(["run", "x.yaml", "y.yaml", "--out", "out"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("same"))
        #expect(isOneParagraph(result.stderr))
        #expect(!ws.exists("out"))
    }

    @Test("run with no files: exit 2 with usage, nothing written")
    func noFiles() throws {
        let ws = try Workspace("bad")
        let result = try ws.run(["run", "--out", "out"])
        #expect(result.exitedNormally)
        #expect(result.status == 2)
        #expect(isOneParagraph(result.stderr), "stderr: \(result.stderr)")
        #expect(!ws.exists("out"))
    }

    @Test("an unknown subcommand exits 2")
    func unknownSubcommand() throws {
        let ws = try Workspace("bad")
        let result = try ws.run(["simulate", "x.yaml"])
        #expect(result.exitedNormally)
        #expect(result.status == 2)
        #expect(result.stderr.contains("simulate"))
    }

    @Test("a profile with schema_version 2 names the scenario that referenced it")
    func profileV2NamesScenario() throws {
        // A user running many scenarios needs to know which one pointed at the unreadable profile.
        let ws = try Workspace("bad")
        try ws.write("uses-future.yaml", Scenarios.small(hardware: "future.yaml"))
        try ws.write("future.yaml", Scenarios.profileV2)
        let result = try ws.run(["run", "uses-future.yaml", "--out", "out"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("future.yaml") && result.stderr.contains("schema_version"))
        #expect(result.stderr.contains("uses-future.yaml"), "stderr names only the profile, not the scenario: \(result.stderr)")
    }
}
