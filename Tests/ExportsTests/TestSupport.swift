import Foundation
import SimEngines
import SimModel

// `approx` comes from the shared TestSupport target, for every file of this target.
@_exported import TestSupport

/// A strict RFC 4180 reader, independent of the code under test. It works on Unicode scalars, as a
/// byte-oriented reader would (so "\r\n" is two characters, not Swift's single grapheme): quoted
/// fields may hold commas, doubled quotes, CR and LF; outside quotes a record ends at LF, and a bare
/// CR is an error. Returns nil on malformed text.
func parseCSV(_ text: String) -> [[String]]? {
    var records: [[String]] = []
    var record: [String] = []
    var field = String.UnicodeScalarView()
    var scalars = Array(text.unicodeScalars)[...]
    var inQuotes = false
    var fieldWasQuoted = false
    func endField() { record.append(String(field)); field = String.UnicodeScalarView(); fieldWasQuoted = false }
    while let c = scalars.popFirst() {
        if inQuotes {
            if c == "\"" {
                if scalars.first == "\"" { scalars.removeFirst(); field.append("\"") } else { inQuotes = false }
            } else {
                field.append(c)
            }
            continue
        }
        switch c {
        case "\"":
            // A quote may only open a field.
            guard field.isEmpty, !fieldWasQuoted else { return nil }
            inQuotes = true
            fieldWasQuoted = true
        case ",":
            endField()
        case "\n":
            endField()
            records.append(record); record = []
        case "\r":
            // A CR outside quotes would split the record for most readers.
            return nil
        default:
            // Nothing may follow a closing quote but a separator.
            guard !fieldWasQuoted else { return nil }
            field.append(c)
        }
    }
    // Unterminated quote, or a last record without its line break.
    guard !inQuotes, field.isEmpty, record.isEmpty else { return nil }
    return records
}

/// A parsed CSV file as header + rows of dictionaries.
struct CSVFile {
    var header: [String]
    var rows: [[String]]

    init?(_ text: String) {
        guard let records = parseCSV(text), let first = records.first else { return nil }
        header = first
        rows = Array(records.dropFirst())
    }

    func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    func value(_ name: String, row: Int) -> String? {
        guard let i = column(name), row < rows.count, i < rows[row].count else { return nil }
        return rows[row][i]
    }

    func double(_ name: String, row: Int) -> Double? { value(name, row: row).flatMap(Double.init) }
}

/// Small scenarios that run in milliseconds, covering the report's features.
enum Fixtures {
    /// A FlowHN-style split hybrid (59% of tokens to attention) on two lanes of one H100, two layers,
    /// plus a dense attention layer whose block name needs CSV quoting.
    static let splitHybrid = """
    schema_version: 1
    name: split-hybrid
    hardware: nvidia-h100-sxm
    workload: {phase: prefill, batch: 2, seq_len: 256, dtype: bf16}
    model:
      d_model: 128
      vocab: 1000
      blocks:
        hyb:
          mixer:
            type: hybrid
            layout: split
            split: 0.59
            placement: {type: separate_lanes, attention_share: 0.5}
            attention: {heads: 4, kv_heads: 2, head_dim: 32}
            ssm: {variant: mamba1, d_state: 16}
          mlp: {type: dense, ffn_dim: 256}
        "attn, \\"v2\\"\\nnext":
          mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 32}
          mlp: {type: dense, ffn_dim: 256}
      layers: [hyb, hyb, "attn, \\"v2\\"\\nnext"]

    """

    /// The same split hybrid with the split solved for balance.
    static let balancedHybrid = """
    schema_version: 1
    name: balanced-hybrid
    hardware: nvidia-h100-sxm
    workload: {phase: prefill, batch: 2, seq_len: 2048, dtype: bf16}
    model:
      d_model: 512
      vocab: 1000
      blocks:
        hyb:
          mixer:
            type: hybrid
            layout: split
            split: balanced
            placement: {type: separate_lanes, attention_share: 0.5}
            attention: {heads: 8, kv_heads: 2, head_dim: 64}
            ssm: {variant: mamba1, d_state: 16}
          mlp: {type: dense, ffn_dim: 256}
      layers: {pattern: [hyb], repeat: 3}

    """

    /// Skewed MoE routing under a capacity factor: imbalance above 1 and dropped tokens.
    static let moe = """
    schema_version: 1
    name: moe-zipf
    hardware: amd-mi300x
    workload: {phase: prefill, batch: 4, seq_len: 256, dtype: bf16}
    model:
      d_model: 128
      vocab: 1000
      blocks:
        moe_layer:
          mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 32}
          mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 256, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}}
      layers: {pattern: [moe_layer], repeat: 4}

    """

    /// Dynamic depth: every layer skipped with probability 0.25, on a CPU, decoding.
    static let dynamicDepth = """
    schema_version: 1
    name: dyn-depth
    hardware: generic-cpu
    workload: {phase: decode, batch: 2, seq_len: 512, dtype: fp32}
    model:
      d_model: 64
      vocab: 1000
      blocks:
        ssm: {mixer: {type: ssm, d_state: 16}, mlp: {type: dense, ffn_dim: 128}}
      layers: [ssm, ssm, ssm, ssm]
      dynamic_depth: {skip: 0.25}

    """

    /// A training step of a small attention model.
    static func train(name: String = "train-small") -> String {
        """
        schema_version: 1
        name: \(name)
        hardware: nvidia-a100-sxm-80gb
        workload: {phase: train, batch: 2, seq_len: 128, dtype: bf16}
        model:
          d_model: 64
          vocab: 1000
          blocks:
            attn: {mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 16}, mlp: {type: dense, ffn_dim: 128}}
          layers: [attn, attn]

        """
    }

    static var all: [(name: String, yaml: String)] {
        [("split-hybrid", splitHybrid), ("balanced-hybrid", balancedHybrid), ("moe-zipf", moe),
         ("dyn-depth", dynamicDepth), ("train-small", train())]
    }
}

/// Decodes a scenario and runs the analytic engine with layer rows and spans (what `hybridsim run` does).
func runScenario(_ yaml: String, file: String = "scenario.yaml") throws -> (Scenario, Report) {
    let scenario = try ScenarioLoader.decode(text: yaml, file: file)
    let report = AnalyticEngine(options: .init(layerRows: true, spans: true)).run(scenario)
    return (scenario, report)
}

/// A fresh, empty folder under the system's temporary folder.
func makeTemporaryFolder(_ label: String = "exports") throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("hybridsim-\(label)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
