import Foundation

extension Lowering {
    /// Lowers a channel mixer; returns its last op and, for routed MLPs, the load statistics.
    func lowerMLP(_ mlp: MLPSpec, tokens: Tokens, after: [Int], builder b: inout OpBuilder) -> (end: Int, routing: RoutingStats?) {
        let all = lanes.deviceMask
        let d = Double(scenario.model.dModel), t = tokens.total
        switch mlp {
        case let .dense(spec):
            return (lowerFFN(prefix: "mlp", activation: spec.activation, rows: t, width: Double(spec.ffnDim), count: 1,
                             after: after, builder: &b), nil)

        case let .moe(spec):
            let e = Double(spec.experts), k = Double(spec.topK)
            let router = b.add("mlp.router", "mlp", .router(tokens: t, dIn: scenario.model.dModel, outputs: spec.experts), .router, .router,
                               lanes: all, share: 1, after: after)
            // Under expert parallelism every device holds T tokens (data parallel) and receives its experts'
            // share of all devices' assignments: the statistics are over devices * T * k assignments.
            let devices = Double(spec.devices)
            let capacityFactor: Double? = { if case let .factor(f) = spec.capacity { return f } else { return nil } }()
            let stats: RoutingStats
            if let sampler {
                let loads = sampler.expertLoads(tokens: Int((t * devices).rounded()), topK: spec.topK, experts: spec.experts,
                                                routing: spec.routing)
                stats = RoutingStats.sampled(loads: loads, capacityFactor: capacityFactor, devices: spec.devices)
            } else {
                stats = RoutingStats.compute(tokens: t * devices, topK: spec.topK, experts: spec.experts, routing: spec.routing,
                                             capacityFactor: capacityFactor, devices: spec.devices)
            }
            let link = lanes.linkLane.map { UInt64(1) << UInt64($0) } ?? all
            let expertsHere = e / devices
            // Rows the busiest device's experts process. Only experts that receive a token run (and have
            // their weights read): with a capacity factor each of them processes its padded buffer.
            let touched = min(expertsHere, max(stats.touchedExperts, stats.expectedMaxDeviceLoad > 0 ? 1 : 0))
            let executedRows: Double
            if let c = stats.capacityRows {
                executedRows = c * touched
            } else {
                executedRows = stats.expectedMaxDeviceLoad
            }
            // The all-to-all moves the busiest device's rows: it receives its experts' load (its padded
            // buffers with a capacity factor) of which (D-1)/D come from other devices, and sends as much back.
            let exchangedRows = (stats.capacityRows.map { $0 * expertsHere } ?? stats.expectedMaxDeviceLoad) * (devices - 1) / devices
            // Dispatch and combine: an all-to-all over the link under expert parallelism, a gather or scatter
            // of the routed rows on one device.
            func exchange(_ step: String, after: Int) -> Int {
                spec.devices > 1
                    ? b.add("mlp.\(step)_all_to_all", "mlp",
                            .transfer(bytes: exchangedRows * d * elementBytes, pattern: .allToAll(devices: spec.devices)),
                            .gatherScatter, .transfer, lanes: link, share: 1, after: [after])
                    : b.add("mlp.\(step)", "mlp", .gatherScatter(rows: t * k, width: scenario.model.dModel), .gatherScatter, .gather,
                            lanes: all, share: 1, after: [after])
            }
            let dispatchEnd = exchange("dispatch", after: router)
            let usefulRows = t * k * (1 - stats.droppedFraction)
            let useful = executedRows > 0 ? min(1, usefulRows / executedRows) : 1
            var end = dispatchEnd
            if touched > 0 {
                end = lowerFFN(prefix: "mlp.experts", activation: spec.activation, rows: executedRows / touched,
                               width: Double(spec.expertFFNDim), count: touched, after: [dispatchEnd], builder: &b,
                               usefulFraction: useful)
            }
            end = exchange("combine", after: end)
            end = b.add("mlp.weighted_sum", "mlp", .elementwise(elements: t * d, flopsPerElement: 2 * k, reads: k, writes: 1),
                        .elementwise, .weightedSum, lanes: all, share: 1, after: [end])
            if spec.sharedExperts > 0 {
                let shared = lowerFFN(prefix: "mlp.shared", activation: spec.activation, rows: t,
                                      width: Double(spec.sharedExperts * spec.sharedFFNDim), count: 1, after: [router], builder: &b)
                end = b.add("mlp.add_shared", "mlp", .elementwise(elements: t * d, flopsPerElement: 1, reads: 2, writes: 1),
                            .elementwise, .weightedSum, lanes: all, share: 1, after: [end, shared])
            }
            return (end, stats)

        case let .fff(spec):
            return lowerFFF(spec, tokens: t, after: after, builder: &b)
        }
    }

    /// A fast-feedforward layer. Inference (and hard-routed training): the original FFF descends `depth`
    /// levels of routing nodes, then runs each token's leaf (only leaves some token reaches are read);
    /// UltraFastBERT evaluates the depth + 1 neurons on each token's path, each with an input and an output
    /// weight. Masked training (both codebases' training modules) evaluates every neuron densely: FFF's
    /// soft mixture over all leaves, UltraFastBERT's GEMMs over all 2^(depth+1) − 1 neurons with the path's kept.
    func lowerFFF(_ spec: FFFSpec, tokens t: Double, after: [Int], builder b: inout OpBuilder) -> (end: Int, routing: RoutingStats?) {
        let all = lanes.deviceMask
        let dModel = scenario.model.dModel
        let d = Double(dModel)
        let dense = scenario.workload.phase == .train && spec.training == .masked
        var end: Int
        var routing: RoutingStats? = nil
        switch (spec.variant, dense) {
        case (.ultrafastbert, false):
            end = b.add("mlp.fff_path", "mlp",
                        .treeDescent(tokens: t, dIn: dModel, levels: spec.levelsVisited, nodeWidth: spec.nodeWidth, outputWidth: dModel),
                        .router, .treeDescent, lanes: all, share: 1, after: after)
        case (.ultrafastbert, true):
            // fff.py: linear_in over every neuron, GELU, the path's mask, linear_out over every neuron.
            let neurons = Double(spec.nodes * spec.nodeWidth)
            let up = b.add("mlp.fff_in", "mlp", .gemm(m: t, n: neurons, k: d, count: 1), .gemm, .mlpUp, lanes: all, share: 1, after: after)
            let act = b.add("mlp.fff_gelu", "mlp", .elementwise(elements: t * neurons, flopsPerElement: 8, reads: 1, writes: 1),
                            .elementwise, .gelu, lanes: all, share: 1, after: [up])
            let mask = b.add("mlp.fff_mask", "mlp", .elementwise(elements: t * neurons, flopsPerElement: 1, reads: 2, writes: 1),
                             .elementwise, .mask, lanes: all, share: 1, after: [act])
            end = b.add("mlp.fff_out", "mlp", .gemm(m: t, n: d, k: neurons, count: 1), .gemm, .mlpDown, lanes: all, share: 1, after: [mask])
        case (.fff, false):
            let descent = b.add("mlp.tree_descent", "mlp",
                                .treeDescent(tokens: t, dIn: dModel, levels: spec.depth, nodeWidth: spec.nodeWidth, outputWidth: 0),
                                .router, .treeDescent, lanes: all, share: 1, after: after)
            let leaves = Double(spec.leaves)
            let stats: RoutingStats
            if let sampler {
                let loads = sampler.expertLoads(tokens: Int(t.rounded()), topK: 1, experts: spec.leaves, routing: spec.routing)
                stats = RoutingStats.sampled(loads: loads, capacityFactor: nil, devices: 1)
            } else {
                stats = RoutingStats.compute(tokens: t, topK: 1, experts: spec.leaves, routing: spec.routing, capacityFactor: nil, devices: 1)
            }
            // Only the leaves that receive a token are read (the same rule as MoE experts).
            let touched = max(1, min(leaves, stats.touchedExpertsAllDevices))
            routing = stats
            let gather = b.add("mlp.leaf_gather", "mlp", .gatherScatter(rows: t, width: dModel), .gatherScatter, .gather,
                               lanes: all, share: 1, after: [descent])
            end = lowerFFN(prefix: "mlp.leaves", activation: spec.activation, rows: t / touched, width: Double(spec.leafWidth),
                           count: touched, after: [gather], builder: &b)
            end = b.add("mlp.leaf_scatter", "mlp", .gatherScatter(rows: t, width: dModel), .gatherScatter, .gather,
                        lanes: all, share: 1, after: [end])
        case (.fff, true):
            // fastfeedforward's training_forward: every level's nodes (sigmoid mixture weights), every leaf on every
            // token, the leaves' outputs mixed by the weights.
            let nodes = Double(spec.nodes * spec.nodeWidth), leaves = Double(spec.leaves), width = Double(spec.leafWidth)
            let node = b.add("mlp.fff_nodes", "mlp", .gemm(m: t, n: nodes, k: d, count: 1), .gemm, .projection, lanes: all, share: 1, after: after)
            let mixture = b.add("mlp.fff_mixture", "mlp", .elementwise(elements: t * leaves, flopsPerElement: Double(spec.depth) * 6, reads: 1, writes: 1),
                                .elementwise, .mask, lanes: all, share: 1, after: [node])
            let up = b.add("mlp.leaves.up", "mlp", .gemm(m: t, n: leaves * width, k: d, count: 1), .gemm, .mlpUp, lanes: all, share: 1, after: after)
            let act = b.add("mlp.leaves.\(spec.activation.rawValue)", "mlp",
                            .elementwise(elements: t * leaves * width, flopsPerElement: spec.activation == .swiglu ? 5 : 8, reads: 1, writes: 1),
                            .elementwise, spec.activation == .swiglu ? .swiglu : .gelu, lanes: all, share: 1, after: [up])
            let down = b.add("mlp.leaves.down", "mlp", .gemm(m: t, n: d, k: width, count: leaves), .gemm, .mlpDown, lanes: all, share: 1, after: [act])
            end = b.add("mlp.fff_mix", "mlp", .elementwise(elements: t * leaves * d, flopsPerElement: 2, reads: 1, writes: 0),
                        .elementwise, .weightedSum, lanes: all, share: 1, after: [down, mixture])
        }
        if spec.masterLeafWidth > 0 {
            // Master leaf (arXiv 2405.16836): an always-on leaf blended as k*FFF + (1-k)*master.
            let master = lowerFFN(prefix: "mlp.master_leaf", activation: spec.activation, rows: t,
                                  width: Double(spec.masterLeafWidth), count: 1, after: after, builder: &b)
            end = b.add("mlp.master_blend", "mlp", .elementwise(elements: t * d, flopsPerElement: 3, reads: 2, writes: 1),
                        .elementwise, .blend, lanes: all, share: 1, after: [end, master])
        }
        return (end, routing)
    }

    /// A feed-forward block: `count` groups of `rows` tokens through d -> width -> d.
    /// SwiGLU: fused gate+up GEMM (2*width), SiLU(gate)*up, down GEMM. GELU: up GEMM, GELU, down GEMM.
    func lowerFFN(prefix: String, activation: Activation, rows: Double, width: Double, count: Double, after: [Int],
                  builder b: inout OpBuilder, usefulFraction: Double = 1) -> Int {
        let all = lanes.deviceMask
        let d = Double(scenario.model.dModel)
        let upWidth = activation == .swiglu ? 2 * width : width
        let up = b.add("\(prefix).\(activation == .swiglu ? "gate_up" : "up")", "mlp", .gemm(m: rows, n: upWidth, k: d, count: count),
                       .gemm, .mlpUp, lanes: all, share: 1, after: after, usefulFraction: usefulFraction)
        let act = b.add("\(prefix).\(activation.rawValue)", "mlp",
                        .elementwise(elements: rows * width * count, flopsPerElement: activation == .swiglu ? 5 : 8,
                                     reads: activation == .swiglu ? 2 : 1, writes: 1),
                        .elementwise, activation == .swiglu ? .swiglu : .gelu, lanes: all, share: 1, after: [up], usefulFraction: usefulFraction)
        return b.add("\(prefix).down", "mlp", .gemm(m: rows, n: d, k: width, count: count), .gemm, .mlpDown,
                     lanes: all, share: 1, after: [act], usefulFraction: usefulFraction)
    }

    // MARK: Prologue and epilogue

    func lowerPrologue() -> BlockGraph {
        var b = builder(recomputable: false)
        let t = fullTokens.total
        if scenario.model.includeEmbedding {
            b.add("embedding.lookup", "io", .gatherScatter(rows: t, width: scenario.model.dModel), .gatherScatter, .embedding,
                  lanes: lanes.deviceMask, share: 1, after: [])
        }
        let params = scenario.model.includeEmbedding ? Double(scenario.model.vocab * scenario.model.dModel) : 0
        return BlockGraph(blockName: "embedding", ops: b.ops, splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                          weightBytes: params * elementBytes, kvCacheBytes: 0, ssmStateBytes: 0,
                          activationBytes: t * Double(scenario.model.dModel) * elementBytes, parameters: params, denseModelFlops: 0)
    }

    /// Final norm and LM head; in training, then the optimizer step over all `modelParameters`.
    func lowerEpilogue(modelParameters: Double) -> BlockGraph {
        var b = builder(recomputable: false)
        let d = Double(scenario.model.dModel)
        let train = scenario.workload.phase == .train
        // Logits for every token when training; for the last position of each sequence otherwise.
        let rows = train ? fullTokens.total : fullTokens.batch
        var last = b.add("final_norm", "norm", .elementwise(elements: rows * d, flopsPerElement: 4, reads: 1, writes: 1),
                         .elementwise, .rmsNorm, lanes: lanes.deviceMask, share: 1, after: [])
        var params = d
        if scenario.model.includeEmbedding {
            last = b.add("lm_head", "io", .gemm(m: rows, n: Double(scenario.model.vocab), k: d, count: 1), .gemm, .lmHead,
                         lanes: lanes.deviceMask, share: 1, after: [last])
            params += Double(scenario.model.vocab) * d
        }
        if train {
            // Mixed-precision Adam over every parameter (fused multi-tensor kernel: NVIDIA apex
            // csrc/multi_tensor_adam.cu): reads the fp32 master weight, the gradient and the two fp32 moments,
            // writes the master weight, the moments and, below fp32, the working-dtype copy; ~12 FLOPs each.
            let e = elementBytes
            let readBytes = 4 + e + 4 + 4, writeBytes = 4 + 4 + 4 + (e < 4 ? e : 0)
            b.add("optimizer.adam", "optimizer",
                  .elementwise(elements: modelParameters + params, flopsPerElement: 12, reads: readBytes / e, writes: writeBytes / e),
                  .elementwise, .optimizer, lanes: lanes.deviceMask, share: 1, after: [last], usefulFraction: 0)
        }
        b.fuse(scenario.execution.fuse)
        let dense = b.ops.reduce(0) { $0 + $1.modelFlops }
        let activation = train ? b.ops.reduce(0) { $0 + $1.savedBytes } : rows * Double(scenario.model.vocab) * elementBytes
        return BlockGraph(blockName: "lm_head", ops: b.ops, splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                          weightBytes: params * elementBytes, kvCacheBytes: 0, ssmStateBytes: 0,
                          activationBytes: activation, parameters: params, denseModelFlops: dense)
    }
}
