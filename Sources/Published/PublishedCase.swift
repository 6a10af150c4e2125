import Foundation
import SimModel

/// One published measurement and what HybridSim predicts for it: a kernel (a GEMM or an attention call)
/// or a generation (prefill and decode steps of a model scenario), on one hardware profile.
///
/// The file (scenarios/published/*.yaml, strict like every input):
///
/// ```yaml
/// schema_version: 1
/// case: h100-bf16-gemm-mamf
/// set: fit                         # fit | held_out: which half the GPU defaults are fitted on;
///                                  # excluded (with reason:) for figures outside the model
/// hardware: nvidia-h100-sxm
/// kernel: {op: gemm, m: 2048, n: 2048, k: 13312, dtype: bf16}
/// # or kernel: {op: attention, batch: 1, heads: 16, kv_heads: 16, seq_len: 16384, head_dim: 128, causal: false, dtype: bf16}
/// # or kernel: {op: ssd, batch: 1, seq_len: 16384, heads: 128, head_dim: 64, d_state: 128, groups: 1, chunk: 256, dtype: bf16}
/// # or generation: {model: models/llama2-7b.yaml, dtype: fp8, batch: 1, input: 128, output: 128,
/// #                 metric: first_token_s | output_tokens_per_s | end_to_end_s}
/// published: {value: 794.5, unit: TFLOP/s, source: "...", how: "..."}
/// ```
public struct PublishedCase: Sendable {
    public enum Set: String, Sendable, CaseIterable {
        case fit
        case heldOut = "held_out"
        /// Outside what the model describes (its `reason` says why): reported, never fitted or summarised.
        case excluded
    }

    public enum Subject: Sendable {
        case gemm(m: Double, n: Double, k: Double, dtype: DType)
        /// FlashAttention's convention: 4·B·H·S²·d FLOPs, halved when causal.
        case attention(batch: Int, heads: Int, kvHeads: Int, seqLen: Int, headDim: Int, causal: Bool, dtype: DType)
        /// Mamba-2's chunked scan (SSD) forward over batch x seq_len tokens; predicted as tokens/s.
        case ssd(batch: Int, seqLen: Int, heads: Int, headDim: Int, dState: Int, groups: Int, chunk: Int, dtype: DType)
        case generation(model: Scenario, batch: Int, input: Int, output: Int, metric: GenerationMetric)
    }

    public enum GenerationMetric: String, Sendable, CaseIterable {
        /// Latency of the prefill that yields the first token, seconds.
        case firstTokenSeconds = "first_token_s"
        /// batch x output / (prefill + the output - 1 decode steps), tokens/s.
        case outputTokensPerSecond = "output_tokens_per_s"
        /// prefill + the output - 1 decode steps, seconds.
        case endToEndSeconds = "end_to_end_s"
    }

    public var name: String
    public var file: String
    public var set: Set
    public var hardware: HardwareProfile
    public var subject: Subject
    public var value: Double
    public var unit: String
    public var source: String
    public var how: String
    /// Why an excluded case is outside the model.
    public var reason: String = ""

    /// The unit a subject's prediction comes in.
    public var expectedUnit: String {
        switch subject {
        case .gemm, .attention: return "TFLOP/s"
        case .ssd: return "tokens/s"
        case let .generation(_, _, _, _, metric):
            return metric == .outputTokensPerSecond ? "tokens/s" : "s"
        }
    }

    static let topKeys = ["schema_version", "case", "set", "reason", "hardware", "kernel", "generation", "published"]
    static let publishedKeys = ["value", "unit", "source", "how"]

    /// Loads and validates a case file (a generation's model path is relative to the case's folder).
    public static func load(path: String) throws -> PublishedCase {
        let root = try YAMLNode.load(path: path)
        let directory = (path as NSString).deletingLastPathComponent
        let map = try root.mapping(allowed: topKeys)
        if let v = map["schema_version"] {
            let version = try v.int(allowed: "1")
            guard version == 1 else { throw v.error("case schema version \(version) is not this build's", allowed: "schema_version: 1") }
        }
        let name = try map.required("case", allowed: "a name for the case").string()
        let set = Set(rawValue: try map.required("set", allowed: "fit, held_out or excluded").choice(Set.allCases.map(\.rawValue))) ?? .heldOut
        var reason = ""
        if set == .excluded {
            reason = try map.required("reason", allowed: "why the case is outside the model").string()
        } else if let r = map["reason"] {
            throw r.error("only an excluded case gives a reason", allowed: "set: excluded, or no reason")
        }
        let hardware = try HardwareProfileLoader.resolve(try map.required("hardware"), relativeTo: directory.isEmpty ? "." : directory)
        let subject: Subject
        switch (map["kernel"], map["generation"]) {
        case let (kernel?, nil): subject = try decodeKernel(kernel, hardware: hardware)
        case let (nil, generation?): subject = try decodeGeneration(generation, hardware: hardware, directory: directory)
        default:
            throw root.error("a case measures exactly one thing", allowed: "either kernel: {...} or generation: {...}")
        }
        let published = try map.required("published").mapping(allowed: publishedKeys)
        let value = try published.required("value").positiveDouble(allowed: "the published figure, greater than 0")
        let unitNode = try published.required("unit")
        let source = try published.required("source", allowed: "the figure's exact source").string()
        guard source.count >= 20 else { throw try published.required("source").error("the source is too short to find the figure again", allowed: "a repository file at a commit, a page and section, or a paper's table") }
        var c = PublishedCase(name: name, file: path, set: set, hardware: hardware, subject: subject, value: value,
                              unit: try unitNode.string(), source: source, how: try published["how"]?.string() ?? "")
        guard c.unit == c.expectedUnit else {
            throw unitNode.error("this case predicts \(c.expectedUnit), not \(c.unit)", allowed: c.expectedUnit)
        }
        c.file = path
        c.reason = reason
        return c
    }

    static func dtype(_ node: YAMLNode?, hardware: HardwareProfile) throws -> DType {
        guard let node else { return .bf16 }
        let d = DType(rawValue: try node.choice(DType.allCases.map(\.rawValue))) ?? .bf16
        guard hardware.peakFlops[d] != nil else { throw node.error("the profile `\(hardware.name)` has no \(d.rawValue) peak") }
        return d
    }

    static func decodeKernel(_ node: YAMLNode, hardware: HardwareProfile) throws -> Subject {
        let map = try node.mapping(allowed: [])
        switch try map.required("op", allowed: "gemm, attention or ssd").choice(["gemm", "attention", "ssd"]) {
        case "ssd":
            let m = try node.mapping(allowed: ["op", "batch", "seq_len", "heads", "head_dim", "d_state", "groups", "chunk", "dtype"])
            func count(_ key: String) throws -> Int { try m.required(key).int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000") }
            let heads = try count("heads")
            let groups = try m["groups"]?.int(in: 1...heads, allowed: "a divisor of heads") ?? 1
            guard heads % groups == 0 else { throw (m["groups"] ?? node).error("groups \(groups) do not divide the \(heads) heads", allowed: "a divisor of heads") }
            return .ssd(batch: try count("batch"), seqLen: try count("seq_len"), heads: heads, headDim: try count("head_dim"),
                        dState: try count("d_state"), groups: groups,
                        chunk: try m["chunk"]?.int(in: 1...65536, allowed: "a whole number from 1 to 65536") ?? 256,
                        dtype: try dtype(m["dtype"], hardware: hardware))
        case "gemm":
            let m = try node.mapping(allowed: ["op", "m", "n", "k", "dtype"])
            func size(_ key: String) throws -> Double { Double(try m.required(key).int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000")) }
            return .gemm(m: try size("m"), n: try size("n"), k: try size("k"), dtype: try dtype(m["dtype"], hardware: hardware))
        default:
            let m = try node.mapping(allowed: ["op", "batch", "heads", "kv_heads", "seq_len", "head_dim", "causal", "dtype"])
            func count(_ key: String) throws -> Int { try m.required(key).int(in: 1...10_000_000, allowed: "a whole number from 1 to 10000000") }
            let heads = try count("heads")
            let kv = try m["kv_heads"]?.int(in: 1...heads, allowed: "a divisor of heads") ?? heads
            return .attention(batch: try count("batch"), heads: heads, kvHeads: kv, seqLen: try count("seq_len"), headDim: try count("head_dim"),
                              causal: try m.required("causal").bool(), dtype: try dtype(m["dtype"], hardware: hardware))
        }
    }

    static func decodeGeneration(_ node: YAMLNode, hardware: HardwareProfile, directory: String) throws -> Subject {
        let m = try node.mapping(allowed: ["model", "dtype", "batch", "input", "output", "metric"])
        let modelNode = try m.required("model", allowed: "a scenario file whose model this case runs")
        let relative = try modelNode.string()
        let path = relative.hasPrefix("/") ? relative : (directory as NSString).appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: path) else { throw modelNode.error("the model file `\(path)` does not exist") }
        var scenario = try ScenarioLoader.load(path: path)
        scenario.hardware = hardware
        scenario.workload.dtype = try dtype(m["dtype"], hardware: hardware)
        let batch = try m.required("batch").int(in: 1...1_000_000, allowed: "a whole number from 1 to 1000000")
        let input = try m.required("input").int(in: 1...10_000_000, allowed: "prompt tokens, at least 1")
        let output = try m.required("output").int(in: 1...1_000_000, allowed: "generated tokens, at least 1")
        let metric = GenerationMetric(rawValue: try m.required("metric").choice(GenerationMetric.allCases.map(\.rawValue))) ?? .firstTokenSeconds
        return .generation(model: scenario, batch: batch, input: input, output: output, metric: metric)
    }
}
