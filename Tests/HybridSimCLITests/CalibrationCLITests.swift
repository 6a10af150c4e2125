import Foundation
import Testing

/// `measure`, `calibrate` and `validate` through the binary: outputs, and bad input refused with
/// status 2, one paragraph and nothing written. No timing is asserted.
@Suite("hybridsim measure / calibrate / validate")
struct CalibrationCLITests {
    static let tinyCPU = """
    schema_version: 1
    name: tiny-cpu
    hardware: generic-cpu
    workload: {phase: prefill, batch: 1, seq_len: 64, dtype: fp32}
    model:
      d_model: 64
      vocab: 100
      include_embedding: false
      blocks:
        hyb:
          mixer: {type: hybrid, layout: parallel, fusion: mean, placement: separate_lanes,
                  attention: {heads: 2, kv_heads: 1, head_dim: 32}, ssm: {variant: mamba1, d_state: 16}}
          mlp: {type: dense, ffn_dim: 128}
      layers: [hyb, hyb]
    """

    @Test("measure writes summary.csv with engine=measured, layers.csv and report.json")
    func measureWrites() throws {
        let ws = try Workspace("measure")
        let file = try ws.write("tiny.yaml", Self.tinyCPU)
        let r = try ws.run(["measure", file, "--out", "m", "--repeats", "1", "--warmup", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try String(contentsOfFile: ws.path("m/summary.csv"), encoding: .utf8)
        #expect(summary.contains("tiny-cpu,measured,generic-cpu,prefill,1,64,fp32"))
        #expect(FileManager.default.fileExists(atPath: ws.path("m/layers.csv")))
        #expect(FileManager.default.fileExists(atPath: ws.path("m/report.json")))
        let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ws.path("m/timeline.json")))) as? [String: Any]
        let events = try #require(trace?["traceEvents"] as? [[String: Any]])
        #expect(events.contains { ($0["ph"] as? String) == "X" })
        #expect(events.filter { ($0["name"] as? String) == "thread_name" }.count == 2, "one track per lane")
    }

    @Test("measure refuses a GPU profile and a scenario too large to measure: status 2, the file named, nothing written")
    func measureRefuses() throws {
        let ws = try Workspace("measure-bad")
        let gpu = try ws.write("gpu.yaml", Self.tinyCPU.replacingOccurrences(of: "generic-cpu", with: "nvidia-h100-sxm"))
        let big = try ws.write("big.yaml", Self.tinyCPU.replacingOccurrences(of: "seq_len: 64", with: "seq_len: 262144")
            .replacingOccurrences(of: "batch: 1", with: "batch: 64"))
        for file in [gpu, big] {
            let r = try ws.run(["measure", file, "--out", "m"])
            #expect(r.status == 2, "\(file): \(r.stderr)")
            #expect(r.exitedNormally)
            #expect(r.stderr.contains((file as NSString).lastPathComponent))
            #expect(!FileManager.default.fileExists(atPath: ws.path("m")))
        }
        let r = try ws.run(["measure", gpu, "--repeats", "0"])
        #expect(r.status == 2)
    }

    @Test("calibrate --smoke writes a profile that check --profile accepts and measure --profile uses")
    func calibrateQuick() throws {
        let ws = try Workspace("calibrate")
        let r = try ws.run(["calibrate", "--smoke", "--out", "cpu.yaml", "--samples", "samples.csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let profile = try String(contentsOfFile: ws.path("cpu.yaml"), encoding: .utf8)
        #expect(profile.contains("schema_version: 1"))
        #expect(profile.contains("provenance:"))
        #expect(profile.contains("fit:"))
        #expect(profile.contains("held_out_median_rel_error"))
        let samples = try String(contentsOfFile: ws.path("samples.csv"), encoding: .utf8)
        #expect(samples.hasPrefix("op_class,shape,flops,bytes,persistent_bytes,persistent_hot,share,measured_s,predicted_s"))
        // GEMMs with persistent weights are timed cold and hot.
        #expect(samples.contains(",true,") && samples.contains(",false,"))
        #expect(try ws.run(["check", "--profile", ws.path("cpu.yaml")]).status == 0)
        let file = try ws.write("tiny.yaml", Self.tinyCPU)
        let m = try ws.run(["measure", file, "--profile", ws.path("cpu.yaml"), "--out", "m", "--repeats", "1"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try String(contentsOfFile: ws.path("m/summary.csv"), encoding: .utf8).contains("cpu-calibrated"))
    }

    @Test("validate writes validation.csv with scenario and op-class rows")
    func validateWrites() throws {
        let ws = try Workspace("validate")
        let file = try ws.write("tiny.yaml", Self.tinyCPU)
        let profile = try ws.run(["profiles", "--show", "generic-cpu"])
        let profilePath = try ws.write("cpu.yaml", profile.stdout)
        let r = try ws.run(["validate", file, "--profile", profilePath, "--out", "v"])
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try String(contentsOfFile: ws.path("v/validation.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("scenario,level,measured_s,measured_repeat_s,repeatability,analytic_s,analytic_error"))
        #expect(csv.contains("tiny-cpu,scenario,"))
        #expect(csv.contains("tiny-cpu,gemm,"))
        #expect(r.stdout.contains("latency |error| median"))
        // Three passes by default, each scored on its own.
        #expect(r.stdout.contains("pass 1:") && r.stdout.contains("pass 3:") && !r.stdout.contains("pass 4:"))
        #expect(try ws.run(["validate", file, "--profile", profilePath, "--out", "v", "--passes", "1"]).status == 2)
    }

    @Test("validate with a profile from a newer schema: status 2, the profile named, nothing written")
    func validateNewerProfile() throws {
        let ws = try Workspace("validate-bad")
        let file = try ws.write("tiny.yaml", Self.tinyCPU)
        let profile = try ws.run(["profiles", "--show", "generic-cpu"]).stdout.replacingOccurrences(of: "schema_version: 1", with: "schema_version: 3")
        let profilePath = try ws.write("future.yaml", profile)
        let r = try ws.run(["validate", file, "--profile", profilePath, "--out", "v"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("future.yaml"))
        #expect(r.stderr.contains("newer"))
        #expect(!FileManager.default.fileExists(atPath: ws.path("v")))
        let missing = try ws.run(["validate", file, "--profile", ws.path("nope.yaml")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.yaml"))
    }
}
