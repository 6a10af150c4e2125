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
        // A key path through a value makes every point invalid: status 2 before any point is evaluated (issue 10: it
        // used to exit 0; issue 11: `check` and `optimize` say so too), naming the axis and its line.
        for command in [["sweep", badKey, "--out", "k"], ["check", badKey], ["optimize", badKey, "--minimize", "latency_s", "--out", "k"]] {
            let r = try ws.run(command)
            #expect(r.status == 2, "\(command)")
            #expect(r.stderr.contains("badkey.yaml:") && r.stderr.contains("no value of the axis `workload.seq_len.x` makes a valid scenario"), "\(r.stderr)")
            #expect(!ws.exists("k"))
        }
    }

    @Test("issue 11: --per, memory infeasible by default, == constraints, did-you-mean, plot --where/--average, .svg only, swept hardware column, float noise, same names")
    func researcherAnswers() throws {
        let ws = try Workspace("sweep-11")
        let file = try ws.write("sw.yaml", Self.scenario)
        // The best split at each sequence length, as a CSV and a figure.
        let per = try ws.run(["optimize", file, "--maximize", "tokens_per_s", "--per", "workload.seq_len", "--out", "o"])
        #expect(per.status == 0, "\(per.stderr)")
        let perCSV = try ws.text("o/per-workload.seq_len.csv")
        #expect(perCSV.split(separator: "\n").count == 3, "a header and one row per sequence length")
        #expect(ws.exists("o/per-workload.seq_len.svg"))
        // Equality and did-you-mean.
        #expect(try ws.run(["optimize", file, "--maximize", "tokens_per_s", "--subject-to", "seq_len==1024", "--out", "e"]).stdout.contains("workload.seq_len = 1024"))
        let typo = try ws.run(["optimize", file, "--maximize", "tokens_per_sec", "--out", "t"])
        #expect(typo.status == 2 && typo.stderr.contains("did you mean `tokens_per_s`?"))
        let command = try ws.run(["swep", file])
        #expect(command.status == 2 && command.stderr.contains("did you mean `sweep`?"))
        // Swept values without float noise (0.1 + 0.2 steps: 0.30000000000000004 would be written otherwise).
        #expect(try ws.run(["sweep", file, "--out", "a"]).status == 0)
        let sweep = try ws.text("a/sweep.csv")
        #expect(sweep.contains(",0.3,") && !sweep.contains("0000000000"))
        // The exported notebook's stored heatmap shows the metric its heading and cell name (latency), not tokens/s.
        #expect(try ws.run(["export", "notebook", ws.path("a"), "--out", "nb"]).status == 0)
        let notebook = try ws.text("nb/a.ipynb")
        #expect(notebook.contains("Latency over model.blocks.hyb.mixer.split and workload.seq_len") && !notebook.contains("Tokens/s"))
        // Several rows per x are refused unless a --where picks them or --average asks for the mean.
        let mixed = try ws.run(["plot", "line", ws.path("a/sweep.csv"), "--x", "model.blocks.hyb.mixer.split", "--y", "latency_s", "--out", "m.svg"])
        #expect(mixed.status == 2 && mixed.stderr.contains("these columns vary: workload.seq_len"), "\(mixed.stderr)")
        #expect(try ws.run(["plot", "line", ws.path("a/sweep.csv"), "--x", "model.blocks.hyb.mixer.split", "--y", "latency_s",
                            "--where", "workload.seq_len=1024", "--out", "w.svg"]).status == 0)
        let averaged = try ws.run(["plot", "line", ws.path("a/sweep.csv"), "--x", "model.blocks.hyb.mixer.split", "--y", "latency_s", "--average", "--out", "v.svg"])
        let averagedSVG = try ws.text("v.svg")
        #expect(averaged.status == 0 && averagedSVG.contains("mean of about 2 rows per point"))
        let png = try ws.run(["plot", "line", ws.path("a/sweep.csv"), "--x", "model.blocks.hyb.mixer.split", "--y", "latency_s", "--out", "fig.png"])
        #expect(png.status == 2 && png.stderr.contains("written as SVG") && !ws.exists("fig.png"))
        let gantt = try ws.run(["plot", "gantt", ws.path("a/sweep.csv"), "--out", "g.svg"])
        #expect(gantt.status == 2 && gantt.stderr.contains("not JSON (a CSV?)") && !gantt.stderr.contains("could not be completed"))
        // Sweeping the hardware: one `hardware` column (the metric) and the swept key as swept.hardware.
        let hw = try ws.write("hw.yaml", Self.scenario.replacingOccurrences(of: "    - {key: workload.seq_len, values: [256, 1024]}",
                                                                           with: "    - {key: hardware, values: [nvidia-h100-sxm, amd-mi300x]}"))
        #expect(try ws.run(["sweep", hw, "--out", "h"]).status == 0)
        let header = try ws.text("h/sweep.csv").split(separator: "\n")[0].split(separator: ",").map(String.init)
        #expect(header.filter { $0 == "hardware" }.count == 1 && header.contains("swept.hardware"))
        // Two scenarios with one name would overwrite each other in results/: refused.
        let twin = try ws.write("twin.yaml", Self.scenario.components(separatedBy: "sweep:")[0])
        let twin2 = try ws.write("twin2.yaml", Self.scenario.components(separatedBy: "sweep:")[0])
        let same = try ws.run(["run", twin, twin2])
        #expect(same.status == 2 && same.stderr.contains("share the name `sw`") && !ws.exists("results"))
    }
}
