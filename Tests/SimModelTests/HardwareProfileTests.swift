import Foundation
import Testing
@testable import SimModel

@Suite struct HardwareProfileTests {
    /// A minimal valid profile (schema version given as a parameter).
    static func profileYAML(version: Int = 1, name: String = "toy") -> String {
        """
        schema_version: \(version)
        name: \(name)
        kind: cpu
        compute_units: 2
        peak_flops: {fp32: 1.0e11, bf16: 2.0e11}
        memory: {capacity_bytes: 1.0e9, bandwidth_bytes_per_s: 1.0e10}
        launch_overhead_s: 1.0e-6
        efficiency:
          default: {peak: 0.5, half_size_flops: 1.0e6, memory: 0.8, half_size_bytes: 1.0e3}
          gemm: {peak: 0.9}
        links: [{name: pcie, bandwidth_bytes_per_s: 3.2e10, latency_s: 5.0e-6}]
        """
    }

    /// A fresh temporary folder for profile files.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("SimModelTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(arguments: BuiltinProfiles.names)
    func builtinProfileLoads(name: String) throws {
        let profile = try #require(try BuiltinProfiles.profile(named: name))
        #expect(profile.name == name)
        #expect(profile.origin == "built-in")
        #expect(!profile.peakFlops.isEmpty)
        #expect(profile.vectorFlops > 0)
        #expect(profile.memoryCapacityBytes > 0)
        #expect(profile.memoryBandwidthBytesPerSecond > 0)
        // Every op class has a curve after loading, inside (0, 1].
        for opClass in OpClass.allCases {
            let curve = try #require(profile.efficiency[opClass])
            #expect(curve.peak > 0 && curve.peak <= 1)
            #expect(curve.memory > 0 && curve.memory <= 1)
        }
        // The YAML text round-trips through the public loader.
        let text = try #require(BuiltinProfiles.yaml(named: name))
        var reloaded = try HardwareProfileLoader.decode(text: text, file: "x")
        reloaded.origin = "built-in"
        #expect(reloaded == profile)
    }

    /// What the writer writes (ProfileYAML, key by key from ProfileKeys) loads back equal: every scalar key,
    /// every peak, curve, link, source and provenance entry.
    @Test(arguments: BuiltinProfiles.names)
    func writerRoundTrips(name: String) throws {
        let profile = try #require(try BuiltinProfiles.profile(named: name))
        var reloaded = try HardwareProfileLoader.decode(text: ProfileYAML.text(profile, header: ["test"], fit: ["note: kept as written"]),
                                                        file: "written.yaml")
        reloaded.origin = profile.origin
        #expect(reloaded == profile)
        // Every key of the table is either written or absent on purpose (an optional key the profile leaves out).
        let written = ProfileYAML.text(profile)
        for key in ProfileKeys.scalars where key.get(profile) != nil {
            let leaf = String(key.path.split(separator: ".").last ?? "")
            #expect(written.contains(leaf + ":"), "\(name): \(key.path) is not written")
        }
    }

    /// report.json's hardware section lists every scalar key of the table (split_overhead_s among them).
    @Test func reportKeysComeFromTheTable() throws {
        let profile = try #require(try BuiltinProfiles.profile(named: "generic-cpu"))
        let json = ProfileYAML.jsonScalars(profile)
        for key in ProfileKeys.scalars where key.get(profile) != nil { #expect(json[key.path] != nil, "\(key.path)") }
        #expect(json["split_overhead_s"] != nil)
    }

    @Test func mi300xFigures() throws {
        let mi = try #require(try BuiltinProfiles.profile(named: "amd-mi300x"))
        // ROCm's MI300 microarchitecture table: vector FP32 163.4 TFLOPS (81.7 is FP64).
        #expect(mi.vectorFlops == 163.4e12)
        // rocm-smi: 206141652992 B on bare metal.
        #expect(mi.memoryCapacityBytes == 206_141_652_992)
        // Seven 64 GB/s peer links, fully connected: one peer at 64 GB/s, an all-to-all at 448 GB/s.
        let link = try #require(mi.interconnect)
        #expect(link.topology == .fullyConnected)
        #expect(approx(link.seconds(bytes: 64e9, peers: 1) - link.latencySeconds, 1, rel: 1e-12))
        #expect(approx(link.seconds(bytes: 448e9, peers: 7) - 7 * link.latencySeconds, 1, rel: 1e-12))
        // H100: 81559 MiB as nvidia-smi reports it; NVSwitch gives one peer the whole 450 GB/s.
        let h100 = try #require(try BuiltinProfiles.profile(named: "nvidia-h100-sxm"))
        #expect(h100.memoryCapacityBytes == 81559 * 1_048_576)
        #expect(h100.interconnect?.topology == .switched)
    }

    @Test(arguments: BuiltinProfiles.names)
    func everyDatasheetNumberCitesItsSource(name: String) throws {
        // A datasheet figure cannot be added to a built-in profile without its entry under `sources:`.
        let profile = try #require(try BuiltinProfiles.profile(named: name))
        func cited(_ key: String) -> Bool { !(profile.sources[key] ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
        for dtype in profile.peakFlops.keys {
            #expect(cited("peak_flops.\(dtype.rawValue)"), "\(name): peak_flops.\(dtype.rawValue) has no source")
        }
        for key in ["memory.capacity_bytes", "memory.bandwidth_bytes_per_s", "vector_flops", "compute_units", "launch_overhead_s",
                    "efficiency"] + (profile.graphLaunchOverheadSeconds == nil ? [] : ["graph_launch_overhead_s"]) {
            #expect(cited(key), "\(name): \(key) has no source")
        }
        if profile.devicesPerNode > 1 { #expect(cited("devices_per_node"), "\(name): devices_per_node has no source") }
        for link in profile.links { #expect(cited("links.\(link.name)"), "\(name): links.\(link.name) has no source") }
    }

    @Test func h100Peaks() throws {
        let h100 = try #require(try BuiltinProfiles.profile(named: "nvidia-h100-sxm"))
        // Dense bf16 = half the datasheet's 1,979 TFLOPS with sparsity (NVIDIA's whitepaper: 989.4 dense).
        #expect(h100.peakFlops[.bf16] == 989.4e12)
        #expect(relativeDifference(2 * h100.peakFlops[.bf16]!, 1979e12) < 1e-3)
        #expect(relativeDifference(2 * h100.peakFlops[.fp8]!, 3958e12) < 1e-3)
        #expect(h100.peakFlops[.fp32] == 67e12)
        #expect(h100.memoryBandwidthBytesPerSecond == 3.35e12)
        #expect(h100.computeUnits == 132)
        #expect(h100.interconnect?.name == "nvlink4")
        // The A100 lists no fp8 peak.
        let a100 = try #require(try BuiltinProfiles.profile(named: "nvidia-a100-sxm-80gb"))
        #expect(a100.peakFlops[.fp8] == nil)
        #expect(a100.peakFlops[.bf16] == 312e12)
    }

    @Test func unknownBuiltinIsNil() throws {
        #expect(try BuiltinProfiles.profile(named: "nvidia-h100") == nil)
        #expect(BuiltinProfiles.yaml(named: "tpu-v5") == nil)
    }

    @Test func decodesFallbackCurves() throws {
        let p = try HardwareProfileLoader.decode(text: Self.profileYAML(), file: "toy.yaml")
        #expect(p.kind == .cpu)
        #expect(p.devicesPerNode == 1)                 // default
        #expect(p.vectorFlops == 1.0e11)               // defaults to the fp32 peak
        // gemm overrides only `peak`; the rest come from `default`.
        #expect(p.curve(.gemm) == EfficiencyCurve(peak: 0.9, halfSizeFlops: 1.0e6, memory: 0.8, halfSizeBytes: 1.0e3))
        #expect(p.curve(.scan) == EfficiencyCurve(peak: 0.5, halfSizeFlops: 1.0e6, memory: 0.8, halfSizeBytes: 1.0e3))
        #expect(p.links == [Link(name: "pcie", bandwidthBytesPerSecond: 3.2e10, latencySeconds: 5.0e-6)])
        #expect(p.origin == "toy.yaml")
    }

    @Test func newerSchemaIsRejected() throws {
        do {
            _ = try HardwareProfileLoader.decode(text: Self.profileYAML(version: 2), file: "future.yaml")
            Issue.record("schema_version 2 was accepted")
        } catch let e as InputError {
            #expect(e.keyPath == "schema_version")
            #expect(e.line == 1)
            #expect(e.problem.contains("newer"))
            #expect(e.description.contains("future.yaml:1"))
        }
    }

    @Test func missingProfileFileIsAnError() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/profile.yaml"
        do {
            _ = try HardwareProfileLoader.load(path: missing)
            Issue.record("a missing file was loaded")
        } catch let e as InputError {
            #expect(e.file == missing)
            #expect(e.problem.contains("no such file"))
        }
        // Through a scenario: a path that does not exist is an error at `hardware`.
        let e = try #require(decodeError(scenarioYAML(hardware: "profiles/missing.yaml", blocks: [Blocks.attention], layers: "[attn]"),
                                         directory: "/nonexistent-dir"))
        #expect(e.keyPath == "hardware")
        #expect(e.line == 3)
        #expect(e.problem.contains("does not exist"))
    }

    @Test func profileFileRelativeToScenario() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("toy.yaml").path
        try Self.profileYAML().write(toFile: path, atomically: true, encoding: .utf8)
        let direct = try HardwareProfileLoader.load(path: path)
        #expect(direct.origin == path)
        let s = try ScenarioLoader.decode(text: scenarioYAML(hardware: "toy.yaml", dtype: "fp32", blocks: [Blocks.attention], layers: "[attn]"),
                                          file: "s.yaml", directory: dir.path)
        #expect(s.hardware.name == "toy")
        #expect(s.hardware.origin == path)
        // The profile file's own error is reported at the scenario's `hardware` key, naming the profile's path.
        try Self.profileYAML(version: 2).write(toFile: path, atomically: true, encoding: .utf8)
        let e = try #require(decodeError(scenarioYAML(hardware: "toy.yaml", blocks: [Blocks.attention], layers: "[attn]"),
                                         directory: dir.path))
        #expect(e.keyPath == "hardware")
        #expect(e.problem.contains(path))
        #expect(e.problem.contains("newer"))
    }

    @Test func inlineProfileMapping() throws {
        let yaml = """
        schema_version: 1
        name: inline-hw
        hardware:
          schema_version: 1
          name: toy
          compute_units: 4
          peak_flops: {fp32: 1.0e11}
          memory: {capacity_bytes: 1.0e9, bandwidth_bytes_per_s: 1.0e10}
        workload: {phase: prefill, batch: 1, seq_len: 16, dtype: fp32}
        model:
          d_model: 32
          blocks:
            b: {mixer: {type: attention, heads: 2, head_dim: 16}}
          layers: [b]
        """
        let s = try ScenarioLoader.decode(text: yaml, file: "inline.yaml")
        #expect(s.hardware.name == "toy")
        #expect(s.hardware.computeUnits == 4)
        #expect(s.hardware.peakFlops == [.fp32: 1.0e11])
        #expect(s.hardware.vectorFlops == 1.0e11)
        #expect(s.hardware.launchOverheadSeconds == 0)
        // No efficiency section: every class runs at the ideal curve.
        #expect(s.hardware.curve(.attention) == EfficiencyCurve(peak: 1, halfSizeFlops: 0, memory: 1, halfSizeBytes: 0))
        // An inline profile's errors name their key path under `hardware`.
        let bad = yaml.replacingOccurrences(of: "compute_units: 4", with: "compute_unit: 4")
        let e = try #require(decodeError(bad))
        #expect(e.keyPath == "hardware.compute_unit")
        #expect(e.line == 6)
        #expect(e.problem.contains("did you mean `compute_units`?"))
    }
}
