/// Scenario texts shared by the test targets (issue 10: the builders were repeated per target).
public enum TestScenario {
    /// A small split hybrid (attention and Mamba-1, half the tokens each) with an 8-expert top-2 MoE MLP on one H100,
    /// `repeat` layers of it; `placement` a YAML placement value, `routing` an optional MoE routing mapping,
    /// `extra` appended at the top level (a sweep section, say).
    public static func splitHybridMoE(name: String, batch: Int = 2, seqLen: Int = 512, repeat layers: Int = 4,
                                      placement: String = "same_lane", routing: String? = nil, extra: String = "") -> String {
        """
        schema_version: 1
        name: \(name)
        hardware: nvidia-h100-sxm
        workload: {phase: prefill, batch: \(batch), seq_len: \(seqLen), dtype: bf16}
        model:
          d_model: 256
          vocab: 1000
          blocks:
            hyb:
              mixer: {type: hybrid, layout: split, split: 0.5, placement: \(placement),
                      attention: {heads: 4, kv_heads: 2, head_dim: 64}, ssm: {variant: mamba1, d_state: 16}}
              mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 256\(routing.map { ", routing: \($0)" } ?? "")}
          layers: {pattern: [hyb], repeat: \(layers)}
        \(extra)
        """
    }
}
