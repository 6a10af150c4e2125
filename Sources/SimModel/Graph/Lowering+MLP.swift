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
            let router = b.add("mlp.router", "mlp", .router(tokens: t, dIn: scenario.model.dModel, outputs: spec.experts), .router,
                               lanes: all, share: 1, after: after)
            // Under expert parallelism every device holds T tokens (data parallel) and receives its experts'
            // share of all devices' assignments: the statistics are over devices * T * k assignments.
            let devices = Double(spec.devices)
            let capacityFactor: Double? = { if case let .factor(f) = spec.capacity { return f } else { return nil } }()
            let stats: RoutingStats
            if let sampler {
                let loads = sampler.expertLoads(assignments: Int((t * k * devices).rounded()), experts: spec.experts, routing: spec.routing)
                stats = RoutingStats.sampled(loads: loads, capacityFactor: capacityFactor, devices: spec.devices)
            } else {
                stats = RoutingStats.compute(assignments: t * k * devices, experts: spec.experts, routing: spec.routing,
                                             capacityFactor: capacityFactor, devices: spec.devices)
            }
            let link = lanes.linkLane.map { UInt64(1) << UInt64($0) } ?? all
            var dispatchEnd: Int
            if spec.devices > 1 {
                // All-to-all: each device sends the (D-1)/D of its T*k rows bound for other devices.
                let bytes = t * k * d * elementBytes * (devices - 1) / devices * phaseMultiplier
                dispatchEnd = b.add("mlp.dispatch_all_to_all", "mlp", .transfer(bytes: bytes, messages: devices - 1), .gatherScatter,
                                    lanes: link, share: 1, after: [router])
            } else {
                dispatchEnd = b.add("mlp.dispatch", "mlp", .gatherScatter(rows: t * k, width: scenario.model.dModel), .gatherScatter,
                                    lanes: all, share: 1, after: [router])
            }
            // Rows the slowest device's experts process, and how many of them are useful.
            let expertsHere = e / devices
            let executedRows: Double
            if let c = stats.capacityRows {
                // Padded buffers: every local expert processes its full capacity.
                executedRows = c * expertsHere
            } else {
                executedRows = stats.expectedMaxDeviceLoad
            }
            let usefulRows = t * k * (1 - stats.droppedFraction)
            let useful = executedRows > 0 ? min(1, usefulRows / executedRows) : 1
            var end = lowerFFN(prefix: "mlp.experts", activation: spec.activation, rows: executedRows / expertsHere,
                               width: Double(spec.expertFFNDim), count: expertsHere, after: [dispatchEnd], builder: &b,
                               usefulFraction: useful)
            if spec.devices > 1 {
                let bytes = t * k * d * elementBytes * (devices - 1) / devices * phaseMultiplier
                end = b.add("mlp.combine_all_to_all", "mlp", .transfer(bytes: bytes, messages: devices - 1), .gatherScatter,
                            lanes: link, share: 1, after: [end])
            } else {
                end = b.add("mlp.combine", "mlp", .gatherScatter(rows: t * k, width: scenario.model.dModel), .gatherScatter,
                            lanes: all, share: 1, after: [end])
            }
            end = b.add("mlp.weighted_sum", "mlp", .elementwise(elements: t * d, flopsPerElement: 2 * k, reads: k, writes: 1),
                        .elementwise, lanes: all, share: 1, after: [end])
            if spec.sharedExperts > 0 {
                let shared = lowerFFN(prefix: "mlp.shared", activation: spec.activation, rows: t,
                                      width: Double(spec.sharedExperts * spec.sharedFFNDim), count: 1, after: [router], builder: &b)
                end = b.add("mlp.add_shared", "mlp", .elementwise(elements: t * d, flopsPerElement: 1, reads: 2, writes: 1),
                            .elementwise, lanes: all, share: 1, after: [end, shared])
            }
            return (end, stats)

        case let .fff(spec):
            // FFF (arXiv 2308.14711): descend `depth` levels of node neurons, then one leaf per token.
            let descent = b.add("mlp.tree_descent", "mlp",
                                .treeDescent(tokens: t, dIn: scenario.model.dModel, depth: spec.depth, nodeWidth: spec.nodeWidth),
                                .router, lanes: all, share: 1, after: after)
            let leaves = Double(spec.leaves)
            let stats: RoutingStats
            var touchedSum = 0.0
            if let sampler {
                let loads = sampler.expertLoads(assignments: Int(t.rounded()), experts: spec.leaves, routing: spec.routing)
                stats = RoutingStats.sampled(loads: loads, capacityFactor: nil, devices: 1)
                touchedSum = Double(loads.reduce(0) { $0 + ($1 > 0 ? 1 : 0) })
            } else {
                stats = RoutingStats.compute(assignments: t, experts: spec.leaves, routing: spec.routing, capacityFactor: nil, devices: 1)
                // Leaves touched by T tokens: sum_i 1 - (1 - p_i)^T; only their weights are read.
                for p in RoutingStats.probabilities(spec.routing, count: spec.leaves) { touchedSum += 1 - pow(1 - p, t) }
            }
            let touched = max(1, min(leaves, touchedSum))
            let gather = b.add("mlp.leaf_gather", "mlp", .gatherScatter(rows: t, width: scenario.model.dModel), .gatherScatter,
                               lanes: all, share: 1, after: [descent])
            var end = lowerFFN(prefix: "mlp.leaves", activation: spec.activation, rows: t / touched, width: Double(spec.leafWidth),
                               count: touched, after: [gather], builder: &b)
            end = b.add("mlp.leaf_scatter", "mlp", .gatherScatter(rows: t, width: scenario.model.dModel), .gatherScatter,
                        lanes: all, share: 1, after: [end])
            if spec.masterLeafWidth > 0 {
                // Master leaf (arXiv 2405.16836): an always-on leaf blended as k*FFF + (1-k)*master.
                let master = lowerFFN(prefix: "mlp.master_leaf", activation: spec.activation, rows: t,
                                      width: Double(spec.masterLeafWidth), count: 1, after: after, builder: &b)
                end = b.add("mlp.master_blend", "mlp", .elementwise(elements: t * d, flopsPerElement: 3, reads: 2, writes: 1),
                            .elementwise, lanes: all, share: 1, after: [end, master])
            }
            return (end, stats)
        }
    }

    /// A feed-forward block: `count` groups of `rows` tokens through d -> width -> d.
    /// SwiGLU: fused gate+up GEMM (2*width), SiLU(gate)*up, down GEMM. GELU: up GEMM, GELU, down GEMM.
    func lowerFFN(prefix: String, activation: Activation, rows: Double, width: Double, count: Double, after: [Int],
                  builder b: inout OpBuilder, usefulFraction: Double = 1) -> Int {
        let all = lanes.deviceMask
        let d = Double(scenario.model.dModel)
        let upWidth = activation == .swiglu ? 2 * width : width
        let up = b.add("\(prefix).\(activation == .swiglu ? "gate_up" : "up")", "mlp", .gemm(m: rows, n: upWidth, k: d, count: count),
                       .gemm, lanes: all, share: 1, after: after, usefulFraction: usefulFraction)
        let act = b.add("\(prefix).\(activation.rawValue)", "mlp",
                        .elementwise(elements: rows * width * count, flopsPerElement: activation == .swiglu ? 5 : 8,
                                     reads: activation == .swiglu ? 2 : 1, writes: 1),
                        .elementwise, lanes: all, share: 1, after: [up], usefulFraction: usefulFraction)
        return b.add("\(prefix).down", "mlp", .gemm(m: rows, n: d, k: width, count: count), .gemm,
                     lanes: all, share: 1, after: [act], usefulFraction: usefulFraction)
    }

    // MARK: Prologue and epilogue

    func lowerPrologue() -> BlockGraph {
        var b = OpBuilder(elementBytes: elementBytes, phaseMultiplier: phaseMultiplier)
        let t = fullTokens.total
        if scenario.model.includeEmbedding {
            b.add("embedding.lookup", "io", .gatherScatter(rows: t, width: scenario.model.dModel), .gatherScatter,
                  lanes: lanes.deviceMask, share: 1, after: [])
        }
        let params = scenario.model.includeEmbedding ? Double(scenario.model.vocab * scenario.model.dModel) : 0
        return BlockGraph(blockName: "embedding", ops: b.ops, splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                          weightBytes: params * elementBytes, kvCacheBytes: 0, ssmStateBytes: 0,
                          activationBytes: t * Double(scenario.model.dModel) * elementBytes, parameters: params, denseModelFlops: 0)
    }

    func lowerEpilogue() -> BlockGraph {
        var b = OpBuilder(elementBytes: elementBytes, phaseMultiplier: phaseMultiplier)
        let d = Double(scenario.model.dModel)
        // Logits for every token when training; for the last position of each sequence otherwise.
        let rows = scenario.workload.phase == .train ? fullTokens.total : fullTokens.batch
        let norm = b.add("final_norm", "norm", .elementwise(elements: rows * d, flopsPerElement: 4, reads: 1, writes: 1),
                         .elementwise, lanes: lanes.deviceMask, share: 1, after: [])
        var params = d
        if scenario.model.includeEmbedding {
            b.add("lm_head", "io", .gemm(m: rows, n: Double(scenario.model.vocab), k: d, count: 1), .gemm,
                  lanes: lanes.deviceMask, share: 1, after: [norm])
            params += Double(scenario.model.vocab) * d
        }
        let dense = b.ops.reduce(0) { $0 + $1.modelFlops }
        return BlockGraph(blockName: "lm_head", ops: b.ops, splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                          weightBytes: params * elementBytes, kvCacheBytes: 0, ssmStateBytes: 0,
                          activationBytes: rows * Double(scenario.model.vocab) * elementBytes, parameters: params,
                          denseModelFlops: dense)
    }
}
