import Foundation
import Testing
import SimModel
@testable import HybridSimCLI

/// `HybridSimCommand.main(arguments:)` in this process. Always with absolute paths and --out or
/// --no-write: the working directory is shared by every test running in parallel.
@Suite("HybridSimCommand.main in process")
struct InProcessTests {
    @Test("good input returns 0 and writes the three files")
    func goodRun() throws {
        let ws = try Workspace("inproc")
        let file = try ws.write("s.yaml", Scenarios.small())
        let out = ws.path("out")
        #expect(HybridSimCommand.main(arguments: ["run", file, "--out", out, "--format", "csv"]) == 0)
        for name in ["summary.csv", "layers.csv", "report.json"] { #expect(ws.exists("out/\(name)")) }
        #expect(try ws.text("out/summary.csv").hasPrefix(summaryHeaderPrefix))
    }

    @Test("in-process and binary runs write the same bytes")
    func sameBytesAsBinary() throws {
        let ws = try Workspace("inproc")
        let file = try ws.write("mixed.yaml", Scenarios.mixed)
        #expect(HybridSimCommand.main(arguments: ["run", file, "--out", ws.path("inproc"), "--format", "csv"]) == 0)
        let binary = try ws.run(["run", file, "--out", ws.path("binary"), "--format", "csv"])
        #expect(binary.status == 0)
        for name in ["summary.csv", "layers.csv", "report.json"] {
            #expect(try ws.data("inproc/\(name)") == ws.data("binary/\(name)"), "\(name) differs")
        }
    }

    @Test("check, profiles and --show return 0 for good input")
    func goodCommands() throws {
        let ws = try Workspace("inproc")
        let file = try ws.write("s.yaml", Scenarios.small())
        #expect(HybridSimCommand.main(arguments: ["check", file]) == 0)
        #expect(HybridSimCommand.main(arguments: ["run", file, "--no-write", "--format", "json"]) == 0)
        #expect(HybridSimCommand.main(arguments: ["profiles", "--show", "generic-cpu"]) == 0)
        #expect(HybridSimCommand.main(arguments: ["--version"]) == 0)
        #expect(ws.listing() == ["s.yaml"])
    }

    @Test("bad input returns 2 and writes nothing", arguments: [
        "malformed", "unknown-key", "top-k", "split", "hardware", "profile-v2", "missing", "empty", "mixed",
    ])
    func badRun(_ kind: String) throws {
        let ws = try Workspace("inproc")
        var files: [String] = []
        switch kind {
        case "malformed": files = [try ws.write("b.yaml", "a: [1, 2\nb: }\n")]
        case "unknown-key": files = [try ws.write("b.yaml", Scenarios.small() + "modle: {}\n")]
        case "top-k":
            files = [try ws.write("b.yaml", Scenarios.small(blocks: ["m: {mixer: {type: none}, mlp: {type: moe, experts: 2, top_k: 3, expert_ffn_dim: 8}}"], layers: "[m]"))]
        case "split":
            files = [try ws.write("b.yaml", Scenarios.small(blocks: ["h: {mixer: {type: hybrid, layout: split, split: 1.5, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"], layers: "[h]"))]
        case "hardware": files = [try ws.write("b.yaml", Scenarios.small(hardware: "h100"))]
        case "profile-v2":
            try ws.write("p.yaml", Scenarios.profileV2)
            files = [try ws.write("b.yaml", Scenarios.small(hardware: "p.yaml"))]
        case "missing": files = [ws.path("missing.yaml")]
        case "empty": files = [try ws.write("b.yaml", "")]
        default: files = [try ws.write("good.yaml", Scenarios.small(name: "good")), try ws.write("b.yaml", Scenarios.small(name: "b", layers: "[]"))]
        }
        let before = ws.listing()
        #expect(HybridSimCommand.main(arguments: ["run"] + files + ["--out", ws.path("out")]) == 2)
        #expect(HybridSimCommand.main(arguments: ["check"] + files) == 2)
        #expect(ws.listing() == before)
        #expect(!ws.exists("out"))
    }

    @Test("bad flags return 2, not ArgumentParser's 64", arguments: [
        ["run", "--bogus"], ["run"], ["frobnicate"], ["run", "x.yaml", "--engine", "event"], ["profiles", "--show", "nope"],
        ["check", "--profile"],
    ])
    func badFlags(_ arguments: [String]) {
        #expect(HybridSimCommand.main(arguments: arguments) == 2)
    }

    @Test("duplicate scenario names into one folder return 2; --out at a file returns 2")
    func cliErrors() throws {
        let ws = try Workspace("inproc")
        let a = try ws.write("a.yaml", Scenarios.small(name: "dup"))
        let b = try ws.write("b.yaml", Scenarios.small(name: "dup"))
        #expect(HybridSimCommand.main(arguments: ["run", a, b, "--out", ws.path("out"), "--format", "csv"]) == 2)
        #expect(!ws.exists("out"))
        let blocker = try ws.write("blocker", "x")
        #expect(HybridSimCommand.main(arguments: ["run", a, "--out", blocker, "--format", "csv"]) == 2)
    }

    @Test("the loader error the CLI prints names the file, line and key path")
    func errorText() throws {
        let ws = try Workspace("inproc")
        let file = try ws.write("b.yaml", Scenarios.small(workload: "{phase: prefill, batch: 0, seq_len: 128, dtype: bf16}"))
        let error = try #require(throws: InputError.self) { _ = try ScenarioLoader.load(path: file) }
        #expect(error.file == file)
        #expect(error.keyPath == "workload.batch")
        #expect(error.line == 4)
        #expect(error.description.hasPrefix("\(file):4: at `workload.batch`: "))
        #expect(!error.description.contains("\n"))
    }
}
