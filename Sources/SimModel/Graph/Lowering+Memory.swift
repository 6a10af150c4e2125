import Foundation

extension Lowering {
    /// Parameters, KV cache and SSM state of one layer, as held by one device.
    ///
    /// KV cache (prefill and decode, causal attention only): 2 * B * min(context, window) * Hkv * head_dim * b, on attention
    /// branches only. A split hybrid caches only its attention share: in prefill the share of each sequence's
    /// positions (2 * B * min(r * context, window) ...); in decode the share of the sequences (2 * r*B * min(context,
    /// window) ...), whose SSM state is then kept for the other (1 - r)*B sequences only. SSM state: the fp32
    /// (B, d_inner, N) state plus the conv state (B, conv channels, d_conv - 1) * b.
    func memoryOf(block: BlockSpec, split: Double?) -> (parameters: Double, kvCache: Double, ssmState: Double) {
        Self.memoryOf(block: block, split: split, scenario: scenario)
    }

    /// The model's persistent footprint per device, bytes: every layer's weights, KV cache and SSM state (a
    /// split hybrid's attention counted at its whole share), plus the embedding and LM head when counted.
    /// What a step reads that the next step reads again (``CostModel``'s hot persistent bytes).
    public static func persistentFootprint(_ scenario: Scenario) -> Double {
        let model = scenario.model
        let b = scenario.workload.dtype.bytes
        var counts = [Int](repeating: 0, count: model.layerBlockNames.count)
        for id in model.layerBlockIDs { counts[id] += 1 }
        var total = model.includeEmbedding ? 2 * Double(model.vocab) * Double(model.dModel) * b : 0
        for (id, name) in model.layerBlockNames.enumerated() {
            guard let block = model.blocks[name] else { continue }
            let m = memoryOf(block: block, split: nil, scenario: scenario)
            total += Double(counts[id]) * (m.parameters * b + m.kvCache + m.ssmState)
        }
        return total
    }

    static func memoryOf(block: BlockSpec, split: Double?, scenario: Scenario) -> (parameters: Double, kvCache: Double, ssmState: Double) {
        let elementBytes = scenario.workload.dtype.bytes
        let d = Double(scenario.model.dModel)
        let w = scenario.workload
        let batch = Double(w.batch)
        let context = Double(w.phase == .decode ? w.contextTokens : w.seqLen)
        let keepsCache = w.phase != .train
        var params = 0.0, kv = 0.0, state = 0.0

        let decode = w.phase == .decode
        func attention(_ s: AttentionSpec, share: Double) {
            params += d * Double((s.heads + 2 * s.kvHeads) * s.headDim) + Double(s.heads * s.headDim) * d
            // Only causal (decoder) attention keeps a cache; an encoder recomputes every pass.
            if keepsCache, s.causal {
                let window = s.window.map(Double.init) ?? .infinity
                let sequences = decode ? batch * share : batch
                let cached = decode ? min(context, window) : min(context * share, window)
                kv += 2 * sequences * cached * Double(s.kvHeads * s.headDim) * elementBytes
            }
        }
        func ssm(_ s: SSMSpec, share: Double = 1) {
            let sequences = decode ? batch * share : batch
            let dModel = scenario.model.dModel
            let di = Double(s.dInner(dModel: dModel)), n = Double(s.dState), conv = Double(s.dConv)
            switch s.variant {
            case .mamba1:
                let r = Double(s.resolvedDtRank(dModel: dModel))
                // in_proj, conv1d weight + bias, x_proj, dt_proj weight + bias, A, D, out_proj (mamba_simple.py).
                params += d * 2 * di + di * conv + di + di * (r + 2 * n) + r * di + di + di * n + di + di * d
                if keepsCache { state += sequences * di * n * 4 + sequences * di * (conv - 1) * elementBytes }
            case .mamba2:
                let h = Double(s.heads(dModel: dModel)), g = Double(s.groups)
                // in_proj, conv1d weight + bias, dt_bias, A_log, D, gated norm, out_proj (mamba2_simple.py).
                params += d * (2 * di + 2 * g * n + h) + (di + 2 * g * n) * (conv + 1) + 3 * h + di + di * d
                if keepsCache { state += sequences * h * Double(s.headDim) * n * 4 + sequences * (di + 2 * g * n) * (conv - 1) * elementBytes }
            }
        }
        func ffn(_ activation: Activation, width: Double) -> Double { Double(activation.matrices) * d * width }

        switch block.mixer {
        case let .attention(s): attention(s, share: 1); params += d
        case let .ssm(s): ssm(s); params += d
        case let .hybrid(h):
            let r = h.layout == .split ? (split ?? 1) : 1
            attention(h.attention, share: r)
            ssm(h.ssm, share: h.layout == .split ? 1 - r : 1)
            params += d
            switch h.fusion {
            case .concatProjection: params += 2 * d * d
            case .gate: params += d * d
            case .sequenceConcat: params += 2 * d * d + d
            case .mean: break
            }
        case .none: break
        }
        switch block.mlp {
        case let .dense(s): params += ffn(s.activation, width: Double(s.ffnDim)) + d
        case let .moe(s):
            // Per device: under expert parallelism each device holds experts / devices of the experts.
            params += Double(s.experts / s.devices) * ffn(s.activation, width: Double(s.expertFFNDim)) + d * Double(s.experts) + d
            params += Double(s.sharedExperts) * ffn(s.activation, width: Double(s.sharedFFNDim))
        case let .fff(s):
            switch s.variant {
            case .fff:
                // Node weights and biases; leaves' w1 (d x w), b1 (w), w2 (w x d), b2 (d) (fastfeedforward fff.py).
                params += Double(s.nodes * s.nodeWidth) * (d + 1) + Double(s.leaves) * (2 * d * Double(s.leafWidth) + Double(s.leafWidth) + d)
            case .ultrafastbert:
                // linear_in (d x N, bias N) and linear_out (N x d, no bias) over N = trees x (2^(depth+1) - 1) neurons.
                params += Double(s.nodes * s.nodeWidth) * (2 * d + 1)
            }
            params += d
            if s.masterLeafWidth > 0 { params += 2 * d * Double(s.masterLeafWidth) }
        case nil: break
        }
        return (params, kv, state)
    }
}
