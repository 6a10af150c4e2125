import Foundation
@testable import SimModel

// `approx` comes from the shared TestSupport target, for every file of this target.
@_exported import TestSupport

/// Relative difference |a − b| / |b|, for messages.
func relativeDifference(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

/// Scenario YAML with a fixed line layout, so that error lines can be checked:
///
///     1 schema_version: 1
///     2 name: t                  (omitted when name == nil: every later line moves up one)
///     3 hardware: ...
///     4 workload: {...}
///     5 model:
///     6   d_model: ...
///     7   vocab: 1000
///     8   blocks:
///     9   <first block>          (one flow-style line per block)
///     …   layers: ...
///     …   <model extras>
func scenarioYAML(name: String? = "t",
                  hardware: String = "nvidia-h100-sxm",
                  phase: String = "prefill", batch: Int = 1, seqLen: Int = 128, dtype: String = "bf16",
                  dModel: Int = 64,
                  blocks: [String],
                  layers: String,
                  modelExtras: [String] = []) -> String {
    var lines = ["schema_version: 1"]
    if let name { lines.append("name: \(name)") }
    lines.append("hardware: \(hardware)")
    lines.append("workload: {phase: \(phase), batch: \(batch), seq_len: \(seqLen), dtype: \(dtype)}")
    lines.append("model:")
    lines.append("  d_model: \(dModel)")
    lines.append("  vocab: 1000")
    lines.append("  blocks:")
    for block in blocks { lines.append("    \(block)") }
    lines.append("  layers: \(layers)")
    for extra in modelExtras { lines.append("  \(extra)") }
    return lines.joined(separator: "\n") + "\n"
}

/// Block definitions used across the suites (flow style, one line each).
enum Blocks {
    /// GQA attention (4 query heads, 2 KV heads, head_dim 16) + SwiGLU MLP of width 128.
    static let attention = "attn: {mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 16}, mlp: {type: dense, ffn_dim: 128}}"
    /// Mamba-1 (d_state 16, expand 2, d_conv 4) + SwiGLU MLP of width 128.
    static let ssm = "ssm: {mixer: {type: ssm, d_state: 16}, mlp: {type: dense, ffn_dim: 128}}"
    /// MLP-only layer.
    static let mlpOnly = "m: {mixer: {type: none}, mlp: {type: dense, ffn_dim: 128}}"
}

/// Decodes and expects an InputError; returns it (nil when decoding succeeded or threw something else).
func decodeError(_ yaml: String, file: String = "t.yaml", directory: String = ".") -> InputError? {
    do {
        _ = try ScenarioLoader.decode(text: yaml, file: file, directory: directory)
        return nil
    } catch let error as InputError {
        return error
    } catch {
        return nil
    }
}

/// Decodes a scenario and lowers it.
func lowered(_ yaml: String) throws -> (scenario: Scenario, graph: OpGraph) {
    let scenario = try ScenarioLoader.decode(text: yaml, file: "t.yaml")
    return (scenario, Lowering.lower(scenario))
}

extension BlockGraph {
    func op(_ name: String) -> Op? { ops.first { $0.name == name } }
    var totalFlops: Double { ops.reduce(0) { $0 + $1.flops * $1.weight } }
    var totalModelFlops: Double { ops.reduce(0) { $0 + $1.modelFlops * $1.weight } }
}

extension OpGraph {
    /// FLOPs of every layer (templates weighted by op weight), without prologue and epilogue.
    var layerFlops: Double { layers.reduce(0) { $0 + templates[$1.template].totalFlops } }
    var layerModelFlops: Double { layers.reduce(0) { $0 + templates[$1.template].totalModelFlops } }
}

extension OpKind {
    /// The `m` of a GEMM (nil for other kinds).
    var gemmRows: Double? { if case let .gemm(m, _, _, _) = self { return m } else { return nil } }
}
