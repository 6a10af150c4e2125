import Foundation
import Testing

/// `sweep`, `merge`, `optimize`, `plot` and `export notebook` through the binary.
@Suite("hybridsim sweep / merge / optimize / plot / export")
struct SweepCLITests {
    static let scenario = """
    schema_version: 1
    name: sw
    hardware: nvidia-h100-sxm
    workload: {phase: prefill, batch: 2, seq_len: 512, dtype: bf16}
    model:
      d_model: 256
      vocab: 1000
      blocks:
        hyb:
          mixer: {type: hybrid, layout: split, split: 0.5, placement: separate_lanes,
                  attention: {heads: 4, kv_heads: 2, head_dim: 64}, ssm: {variant: mamba1, d_state: 16}}
          mlp: {type: dense, ffn_dim: 512}
      layers: {pattern: [hyb], repeat: 4}
    sweep:
      axes:
        - {key: model.blocks.hyb.mixer.split, range: {from: 0.1, to: 0.9, count: 5}}
        - {key: workload.seq_len, values: [256, 1024]}
    """

    @Test("sweep writes sweep.csv; --jobs does not change a byte; shards merge to it; optimize and plots work from it")
    func pipeline() throws {
        let ws = try Workspace("sweep")
        let file = try ws.write("sw.yaml", Self.scenario)
        #expect(try ws.run(["sweep", file, "--out", "a", "--jobs", "1"]).status == 0)
        #expect(try ws.run(["sweep", file, "--out", "b", "--jobs", "2"]).status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: ws.path("a/sweep.csv")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: ws.path("b/sweep.csv"))) == a)
        #expect(String(decoding: a, as: UTF8.self).hasPrefix("point,model.blocks.hyb.mixer.split,workload.seq_len,scenario,"))
        for k in 0..<2 { #expect(try ws.run(["sweep", file, "--out", "s\(k)", "--shard", "\(k)/2"]).status == 0) }
        #expect(try ws.run(["merge", ws.path("s0"), ws.path("s1"), "--out", "m"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: ws.path("m/sweep.csv"))) == a)
        let opt = try ws.run(["optimize", file, "--minimize", "latency_s", "--subject-to", "seq_len<=300",
                              "--pareto", "tokens_per_s:max,peak_memory_bytes:min", "--out", "o"])
        #expect(opt.status == 0, "\(opt.stderr)")
        #expect(opt.stdout.contains("workload.seq_len = 256"))
        #expect(FileManager.default.fileExists(atPath: ws.path("o/optimum.csv")))
        #expect(FileManager.default.fileExists(atPath: ws.path("o/pareto.csv")))
        let line = try ws.run(["plot", "line", ws.path("a/sweep.csv"), "--x", "model.blocks.hyb.mixer.split", "--y", "latency_s",
                               "--series", "workload.seq_len", "--out", "line.svg"])
        #expect(line.status == 0, "\(line.stderr)")
        #expect(try String(contentsOfFile: ws.path("line.svg"), encoding: .utf8).hasPrefix("<svg") ||
                String(contentsOfFile: ws.path("line.svg"), encoding: .utf8).hasPrefix("<?xml"))
        let heat = try ws.run(["plot", "heatmap", ws.path("a/sweep.csv"), "--x", "model.blocks.hyb.mixer.split", "--y", "workload.seq_len",
                               "--value", "tokens_per_s", "--out", "heat.svg"])
        #expect(heat.status == 0, "\(heat.stderr)")
        let nb = try ws.run(["export", "notebook", ws.path("a"), "--out", "nb"])
        #expect(nb.status == 0, "\(nb.stderr)")
        let notebook = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ws.path("nb/a.ipynb")))) as? [String: Any]
        #expect(notebook?["nbformat"] as? Int == 4)
    }

    @Test("bad input: status 2, one paragraph naming the problem, nothing written")
    func badInput() throws {
        let ws = try Workspace("sweep-bad")
        let file = try ws.write("sw.yaml", Self.scenario)
        let noSweep = try ws.write("plain.yaml", Self.scenario.components(separatedBy: "sweep:")[0])
        let badKey = try ws.write("badkey.yaml", Self.scenario.replacingOccurrences(of: "workload.seq_len, values", with: "workload.seq_len.x, values"))
        let cases: [[String]] = [
            ["sweep", noSweep, "--out", "x"],
            ["sweep", file, "--out", "x", "--shard", "2/2"],
            ["sweep", file, "--out", "x", "--jobs", "0"],
            ["sweep", file, "--out", "x", "--engine", "magic"],
            ["optimize", file, "--minimize", "nope", "--out", "x"],
            ["optimize", file, "--minimize", "latency_s", "--subject-to", "latency_s=3", "--out", "x"],
            ["plot", "line", ws.path("missing.csv"), "--x", "a", "--y", "b", "--out", "x/p.svg"],
            ["export", "notebook", ws.path("empty-folder"), "--out", "x"],
            ["merge", ws.path("nowhere"), "--out", "x"],
        ]
        for arguments in cases {
            let r = try ws.run(arguments)
            #expect(r.status == 2, "\(arguments): status \(r.status), \(r.stderr)")
            #expect(r.exitedNormally)
            #expect(r.stderr.hasPrefix("error: "), "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: ws.path("x")), "\(arguments) wrote output")
        }
        // A key path through a value makes every point invalid: status 2 (issue 10: it used to exit 0), with
        // invalid.csv written and named, each point's reason in it.
        let r = try ws.run(["sweep", badKey, "--out", "k"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("every one of the") && r.stderr.contains("invalid.csv"))
        #expect(try String(contentsOfFile: ws.path("k/invalid.csv"), encoding: .utf8).contains("workload.seq_len.x"))
    }
}
