import Foundation
import Testing
@testable import SimEngines
import SimModel

// Shared helpers for the SimEngines suites: inline scenario YAML, running the analytic engine,
// relative comparisons and span sums.

// `approx` comes from the shared TestSupport target, for every file of this target.
@_exported import TestSupport

/// |a - b| / max(|a|, |b|), for messages.
func relDiff(_ a: Double, _ b: Double) -> Double {
    let m = max(abs(a), abs(b))
    return m == 0 ? 0 : abs(a - b) / m
}

/// Inline scenario YAML (schema version 1). `blocks` are flow-style block definitions, one per line.
func scenarioYAML(name: String = "t", hardware: String = "nvidia-h100-sxm", phase: String = "prefill", batch: Int = 1,
                  seqLen: Int = 256, dtype: String = "bf16", dModel: Int = 256, vocab: Int = 1000,
                  includeEmbedding: Bool = true, blocks: [String], layers: String, extras: [String] = [],
                  extraWorkload: String = "", topLevel: [String] = []) -> String {
    let more = extraWorkload.isEmpty ? "" : ", " + extraWorkload
    var lines = ["schema_version: 1", "name: \(name)", "hardware: \(hardware)"] + topLevel + [
                 "workload: {phase: \(phase), batch: \(batch), seq_len: \(seqLen), dtype: \(dtype)\(more)}",
                 "model:", "  d_model: \(dModel)", "  vocab: \(vocab)", "  include_embedding: \(includeEmbedding)", "  blocks:"]
    for block in blocks { lines.append("    \(block)") }
    lines.append("  layers: \(layers)")
    for extra in extras { lines.append("  \(extra)") }
    return lines.joined(separator: "\n") + "\n"
}

/// Decodes inline YAML built by ``scenarioYAML``.
func makeScenario(name: String = "t", hardware: String = "nvidia-h100-sxm", phase: String = "prefill", batch: Int = 1,
                  seqLen: Int = 256, dtype: String = "bf16", dModel: Int = 256, vocab: Int = 1000,
                  includeEmbedding: Bool = true, blocks: [String], layers: String, extras: [String] = [],
                  extraWorkload: String = "", topLevel: [String] = [], spans: Bool = false) throws -> Scenario {
    try ScenarioLoader.decode(text: scenarioYAML(name: name, hardware: hardware, phase: phase, batch: batch, seqLen: seqLen,
                                                 dtype: dtype, dModel: dModel, vocab: vocab, includeEmbedding: includeEmbedding,
                                                 blocks: blocks, layers: layers, extras: extras, extraWorkload: extraWorkload,
                                                 topLevel: topLevel),
                              file: "\(name).yaml")
}

/// Runs the analytic engine with layer rows, and spans when asked.
func run(_ scenario: Scenario, spans: Bool = false) -> Report {
    AnalyticEngine(options: .init(layerRows: true, spans: spans)).run(scenario)
}

/// Block definitions (d_model 256 unless a suite says otherwise), flow style, one line each.
enum Blocks {
    static let attentionSpec = "{heads: 8, kv_heads: 4, head_dim: 32}"
    static let ssmSpec = "{d_state: 16}"
    static let mlp = "{type: dense, ffn_dim: 1024}"

    /// GQA attention (8 heads, 4 KV heads, head_dim 32) + SwiGLU MLP of width 1024.
    static let attention = "attn: {mixer: {type: attention, heads: 8, kv_heads: 4, head_dim: 32}, mlp: \(mlp)}"
    /// Mamba-1 (d_state 16, expand 2) + SwiGLU MLP of width 1024.
    static let ssm = "ssm: {mixer: {type: ssm, d_state: 16}, mlp: \(mlp)}"

    /// A hybrid block named `name`. `extra` holds additional mixer keys (split, fusion), comma-separated.
    static func hybrid(_ name: String = "hyb", layout: String, placement: String = "same_lane", extra: String = "",
                       mlp: String = Blocks.mlp) -> String {
        let more = extra.isEmpty ? "" : ", \(extra)"
        return "\(name): {mixer: {type: hybrid, layout: \(layout), placement: \(placement)\(more), attention: \(attentionSpec), ssm: \(ssmSpec)}, mlp: \(mlp)}"
    }

    /// Attention + MoE MLP (`moe` holds the MoE keys after `type: moe`).
    static func moe(_ moe: String, name: String = "moe") -> String {
        "\(name): {mixer: {type: attention, heads: 8, kv_heads: 4, head_dim: 32}, mlp: {type: moe, \(moe)}}"
    }
}

extension Report.Span {
    var duration: Double { endSeconds - startSeconds }
}

extension Report {
    /// Spans of one layer.
    func spans(layer: Int) -> [Span] { spans.filter { $0.layer == layer } }
    /// Sum of the durations of layer `layer`'s spans whose op name starts with `prefix`.
    func duration(layer: Int, prefix: String) -> Double {
        spans(layer: layer).filter { $0.op.hasPrefix(prefix) }.reduce(0) { $0 + $1.duration }
    }
    /// Layer rows of one lane.
    func rows(lane: String) -> [LayerRow] { layers.filter { $0.lane == lane } }
    /// Names of compute lanes.
    var computeLaneNames: [String] { lanes.filter { $0.kind == "compute" }.map(\.name) }
}
