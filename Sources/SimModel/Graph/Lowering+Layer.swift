import Foundation
import SimMath

extension Lowering {
    /// Where one pass's mixer and MLP run, and what they wait for.
    struct PassContext {
        var tokens: Tokens
        var after: [Int]
    }

    func lowerLayer(name: String, block: BlockSpec, layer: Int) -> BlockGraph {
        var b = builder()
        let all = lanes.deviceMask
        let d = scenario.model.dModel
        let full = fullTokens
        var split: Double? = nil
        var solutions: SplitSolutions? = nil
        var routing: RoutingStats? = nil
        var expected = 1.0

        // The router sees every token that reaches the layer.
        var start: [Int] = []
        let depth = scenario.model.dynamicDepth
        if let depth, depth.routerWidth > 0 {
            start = [b.add("depth.router", "router", .router(tokens: full.total, dIn: d, outputs: depth.routerWidth), .router, .router,
                           lanes: all, share: 1, after: [])]
        }

        // Pass 0: the tokens that execute (or repeat) the layer; pass 1: the tokens that repeat it.
        // useful = expected share of the pass's tokens that asked for it (1 - skip, or repeat).
        var passes: [(fraction: Double, weight: Double, useful: Double)] = [(1, 1, 1)]
        if let depth {
            let skip = depth.skip[layer], rep = depth.repeatProbability[layer]
            expected = 1 - skip + rep
            let decisions = depth.granularity == .sequence ? full.batch : full.total
            if let sampler, skip > 0 || rep > 0 {
                // One draw of skip / execute / repeat per decision.
                let n = Int(decisions.rounded())
                let drawn = sampler.depthCounts(decisions: n, skip: skip, repeatProbability: rep)
                let once = Double(drawn.atLeastOnce) / Double(max(1, n)), twice = Double(drawn.twice) / Double(max(1, n))
                expected = once + twice
                switch depth.compaction {
                case .gather:
                    passes = [(once, 1, 1)]
                    if twice > 0 { passes.append((twice, 1, 1)) }
                case .fullBatch:
                    passes = once > 0 ? [(1, 1, once)] : []
                    if twice > 0 { passes.append((1, 1, twice)) }
                }
            } else {
            switch depth.compaction {
            case .gather:
                passes = [(1 - skip, 1, 1)]
                if rep > 0 { passes.append((rep, 1, 1)) }
            case .fullBatch:
                // The whole batch runs whenever any decision says so; only the tokens that asked count as model FLOPs.
                let runs = 1 - pow(skip, decisions)
                passes = [(1, runs, runs > 0 ? (1 - skip) / runs : 0)]
                if rep > 0 {
                    let repeats = 1 - pow(1 - rep, decisions)
                    passes.append((1, repeats, repeats > 0 ? rep / repeats : 0))
                }
            }
            }
        }

        var previous = start
        for (passIndex, pass) in passes.enumerated() {
            b.pass = passIndex
            b.weight = pass.weight
            b.usefulScale = pass.useful
            let tokens = full.scaled(pass.fraction, granularity: depth?.granularity ?? .token)
            guard tokens.total > 0 else { continue }
            let compacted = depth?.compaction == .gather && pass.fraction < 1
            if compacted {
                previous = [b.add("depth.gather", "router", .gatherScatter(rows: tokens.total, width: d), .gatherScatter, .gather,
                                  lanes: all, share: 1, after: previous)]
            }
            let (end, solved, stats) = lowerPass(block: block, tokens: tokens, after: previous, builder: &b)
            split = split ?? solved?.ratio
            solutions = solutions ?? solved?.solutions
            routing = routing ?? stats
            previous = end
            if compacted {
                previous = [b.add("depth.scatter", "router", .gatherScatter(rows: tokens.total, width: d), .gatherScatter, .gather,
                                  lanes: all, share: 1, after: previous)]
            }
        }

        b.fuse(scenario.execution.fuse)

        // Model FLOPs had every token run the layer once: the same block on the full batch, unweighted.
        let dense: Double
        if depth == nil {
            dense = b.ops.reduce(0) { $0 + $1.modelFlops }
        } else {
            var denseBuilder = builder()
            _ = lowerPass(block: block, tokens: full, after: [], builder: &denseBuilder, fixedSplit: split)
            dense = denseBuilder.ops.reduce(0) { $0 + $1.modelFlops }
        }

        let memory = memoryOf(block: block, split: split)
        // Activations: training keeps what backward needs (per run of each op); inference, the largest
        // live GEMM operands.
        var activation = 0.0
        if scenario.workload.phase == .train {
            activation = b.ops.reduce(0) { $0 + $1.savedBytes * $1.weight }
        } else {
            for op in b.ops {
                if case let .gemm(m, n, k, count) = op.kind { activation = max(activation, (m * k + m * n) * count * elementBytes) }
            }
        }
        var routesExperts = false
        if case .moe = block.mlp { routesExperts = true }
        var graph = BlockGraph(blockName: name, ops: b.ops, splitRatio: split, routing: routing, routesExperts: routesExperts,
                               expectedExecutions: expected,
                               weightBytes: memory.parameters * elementBytes, kvCacheBytes: memory.kvCache,
                               ssmStateBytes: memory.ssmState, activationBytes: activation, parameters: memory.parameters,
                               denseModelFlops: dense)
        graph.splitSolutions = solutions
        graph.checkpointBytes = full.total * Double(d) * elementBytes
        return graph
    }

    /// One pass of the block: norm, mixer, residual, then the MLP. Returns the ops the next pass waits for.
    func lowerPass(block: BlockSpec, tokens: Tokens, after: [Int], builder b: inout OpBuilder,
                   fixedSplit: Double? = nil) -> (end: [Int], split: (ratio: Double, solutions: SplitSolutions?)?, routing: RoutingStats?) {
        let all = lanes.deviceMask
        let d = scenario.model.dModel
        let t = tokens.total
        var last = after
        var split: (ratio: Double, solutions: SplitSolutions?)? = nil
        if block.mixer != .none {
            let norm = b.add("norm1", "norm", .elementwise(elements: t * Double(d), flopsPerElement: 4, reads: 1, writes: 1),
                             .elementwise, .rmsNorm, lanes: all, share: 1, after: last)
            var mixerEnd: [Int] = []
            switch block.mixer {
            case let .attention(spec):
                mixerEnd = [lowerAttention(spec, tokens: tokens, lanes: all, share: 1, after: [norm], branch: .none, builder: &b)]
            case let .ssm(spec):
                mixerEnd = [lowerSSM(spec, tokens: tokens, lanes: all, share: 1, after: [norm], branch: .none, builder: &b)]
            case let .hybrid(spec):
                let result = lowerHybrid(spec, block: block, tokens: tokens, after: [norm], builder: &b, fixedSplit: fixedSplit)
                mixerEnd = result.end
                split = result.split
            case .none:
                break
            }
            last = [b.add("residual1", "norm", .elementwise(elements: t * Double(d), flopsPerElement: 1, reads: 2, writes: 1),
                          .elementwise, .residual, lanes: all, share: 1, after: mixerEnd)]
        }
        var routing: RoutingStats? = nil
        if let mlp = block.mlp {
            let norm = b.add("norm2", "norm", .elementwise(elements: t * Double(d), flopsPerElement: 4, reads: 1, writes: 1),
                             .elementwise, .rmsNorm, lanes: all, share: 1, after: last)
            let result = lowerMLP(mlp, tokens: tokens, after: [norm], builder: &b)
            routing = result.routing
            last = [b.add("residual2", "norm", .elementwise(elements: t * Double(d), flopsPerElement: 1, reads: 2, writes: 1),
                          .elementwise, .residual, lanes: all, share: 1, after: [result.end])]
        }
        return (last, split, routing)
    }

    // MARK: Mixers

    func lowerAttention(_ s: AttentionSpec, tokens: Tokens, lanes mask: UInt64, share: Double, after: [Int],
                        branch: Op.Branch, builder b: inout OpBuilder) -> Int {
        let d = Double(scenario.model.dModel), t = tokens.total
        let qkvWidth = Double((s.heads + 2 * s.kvHeads) * s.headDim)
        let qkv = b.add("attention.qkv_proj", "attention", .gemm(m: t, n: qkvWidth, k: d, count: 1), .gemm, .projection,
                        lanes: mask, share: share, after: after, branch: branch)
        let core = b.add("attention.sdpa", "attention",
                         .attention(batch: tokens.batch, heads: s.heads, kvHeads: s.kvHeads, queries: tokens.queries,
                                    keys: tokens.keys, headDim: s.headDim, causal: s.causal, window: s.window),
                         .attention, .attention, lanes: mask, share: share, after: [qkv], branch: branch)
        return b.add("attention.o_proj", "attention", .gemm(m: t, n: d, k: Double(s.heads * s.headDim), count: 1), .gemm, .projection,
                     lanes: mask, share: share, after: [core], branch: branch)
    }

    func lowerSSM(_ s: SSMSpec, tokens: Tokens, lanes mask: UInt64, share: Double, after: [Int], branch: Op.Branch,
                  builder b: inout OpBuilder) -> Int {
        let dModel = scenario.model.dModel
        let d = Double(dModel), t = tokens.total
        let dInner = s.dInner(dModel: dModel)
        let di = Double(dInner), n = Double(s.dState)
        switch s.variant {
        case .mamba1:
            // Mamba-1 (state-spaces/mamba mamba_simple.py): in_proj d -> 2*d_inner (x and z), causal conv1d,
            // x_proj d_inner -> dt_rank + 2N, dt_proj dt_rank -> d_inner, selective scan, out_proj d_inner -> d.
            let r = Double(s.resolvedDtRank(dModel: dModel))
            let inProj = b.add("ssm.in_proj", "ssm", .gemm(m: t, n: 2 * di, k: d, count: 1), .gemm, .projection,
                               lanes: mask, share: share, after: after, branch: branch)
            let conv = b.add("ssm.conv1d", "ssm", .conv1d(tokens: t, channels: dInner, width: s.dConv), .conv, .conv1d,
                             lanes: mask, share: share, after: [inProj], branch: branch)
            let xProj = b.add("ssm.x_proj", "ssm", .gemm(m: t, n: r + 2 * n, k: di, count: 1), .gemm, .projection,
                              lanes: mask, share: share, after: [conv], branch: branch)
            let dtProj = b.add("ssm.dt_proj", "ssm", .gemm(m: t, n: di, k: r, count: 1), .gemm, .projection,
                               lanes: mask, share: share, after: [xProj], branch: branch)
            let scan = b.add("ssm.selective_scan", "ssm",
                             .selectiveScan(batch: tokens.batch, length: tokens.queries, dInner: dInner, dState: s.dState,
                                            decodeState: tokens.isDecode),
                             .scan, .selectiveScan, lanes: mask, share: share, after: [dtProj], branch: branch)
            return b.add("ssm.out_proj", "ssm", .gemm(m: t, n: d, k: di, count: 1), .gemm, .projection,
                         lanes: mask, share: share, after: [scan], branch: branch)
        case .mamba2:
            // Mamba-2 (mamba2_simple.py): in_proj d -> 2*d_inner + 2*G*N + H (z, x, B, C, dt), conv1d over
            // x, B, C, SSD scan, gated RMSNorm, out_proj d_inner -> d.
            let heads = s.heads(dModel: dModel)
            let g = Double(s.groups)
            let inProj = b.add("ssm.in_proj", "ssm", .gemm(m: t, n: 2 * di + 2 * g * n + Double(heads), k: d, count: 1), .gemm, .projection,
                               lanes: mask, share: share, after: after, branch: branch)
            let conv = b.add("ssm.conv1d", "ssm", .conv1d(tokens: t, channels: dInner + 2 * s.groups * s.dState, width: s.dConv),
                             .conv, .conv1d, lanes: mask, share: share, after: [inProj], branch: branch)
            // Chunk 256: Mamba2's default chunk_size (state-spaces/mamba mamba_ssm/modules/mamba2.py).
            let scan = b.add("ssm.ssd", "ssm",
                             .ssd(batch: tokens.batch, length: tokens.queries, heads: heads, headDim: s.headDim,
                                  dState: s.dState, groups: s.groups, chunk: 256, decodeState: tokens.isDecode),
                             .scan, .ssd, lanes: mask, share: share, after: [conv], branch: branch)
            let norm = b.add("ssm.gated_norm", "ssm", .elementwise(elements: t * di, flopsPerElement: 6, reads: 2, writes: 1),
                             .elementwise, .gatedNorm, lanes: mask, share: share, after: [scan], branch: branch)
            return b.add("ssm.out_proj", "ssm", .gemm(m: t, n: d, k: di, count: 1), .gemm, .projection,
                         lanes: mask, share: share, after: [norm], branch: branch)
        }
    }

    /// Lanes and share of each branch under a placement.
    func branchLanes(_ placement: Placement) -> (attention: (UInt64, Double), ssm: (UInt64, Double), ssmOnSecondDevice: Bool) {
        switch placement {
        case .sameLane:
            return ((lanes.deviceMask, 1), (lanes.deviceMask, 1), false)
        case let .separateLanes(share):
            return ((1 << UInt64(lanes.attentionLane), share), (1 << UInt64(lanes.ssmLane), 1 - share), false)
        case .separateDevices:
            let second = lanes.secondDeviceLane ?? lanes.ssmLane
            return ((lanes.deviceMask, 1), (1 << UInt64(second), 1), true)
        }
    }

    func lowerHybrid(_ h: HybridSpec, block: BlockSpec, tokens: Tokens, after: [Int], builder b: inout OpBuilder,
                     fixedSplit: Double?) -> (end: [Int], split: (ratio: Double, solutions: SplitSolutions?)?) {
        let all = lanes.deviceMask
        let d = scenario.model.dModel
        let place = branchLanes(h.placement)
        var attentionTokens = tokens, ssmTokens = tokens
        var solved: (ratio: Double, solutions: SplitSolutions?)? = nil
        if h.layout == .split {
            if let fixedSplit {
                solved = (fixedSplit, nil)
            } else {
                switch h.split {
                case let .fixed(value): solved = (value, nil)
                case .balanced, .optimal:
                    let balanced = solveBalancedSplit(h, tokens: tokens)
                    let optimal = solveOptimalSplit(block: block, tokens: tokens, balanced: balanced)
                    let both = SplitSolutions(balanced: balanced, optimal: optimal)
                    solved = (h.split == .balanced ? balanced : optimal, both)
                }
            }
            let r = solved?.ratio ?? 0.5
            attentionTokens = tokens.split(r)
            ssmTokens = tokens.split(1 - r)
        }
        let link = lanes.linkLane.map { UInt64(1) << UInt64($0) } ?? all
        var attentionEnd: [Int] = [], ssmEnd: [Int] = []
        if h.layout == .sequential {
            // Attention, then the SSM on its output.
            let a = attentionTokens.total > 0 ? [lowerAttention(h.attention, tokens: attentionTokens, lanes: place.attention.0,
                                                                 share: place.attention.1, after: after, branch: .attention, builder: &b)] : after
            var sAfter = a
            if place.ssmOnSecondDevice {
                sAfter = [b.add("hybrid.send_to_ssm_device", "fusion",
                                .transfer(bytes: ssmTokens.total * Double(d) * elementBytes, pattern: .pointToPoint),
                                .gatherScatter, .transfer, lanes: link, share: 1, after: a, branch: .ssm)]
            }
            ssmEnd = [lowerSSM(h.ssm, tokens: ssmTokens, lanes: place.ssm.0, share: place.ssm.1, after: sAfter, branch: .ssm, builder: &b)]
            attentionEnd = a
        } else {
            if attentionTokens.total > 0 {
                attentionEnd = [lowerAttention(h.attention, tokens: attentionTokens, lanes: place.attention.0,
                                               share: place.attention.1, after: after, branch: .attention, builder: &b)]
            }
            if ssmTokens.total > 0 {
                var ssmStart = after
                if place.ssmOnSecondDevice {
                    ssmStart = [b.add("hybrid.send_to_ssm_device", "fusion",
                                      .transfer(bytes: ssmTokens.total * Double(d) * elementBytes, pattern: .pointToPoint),
                                      .gatherScatter, .transfer, lanes: link, share: 1, after: after, branch: .ssm)]
                }
                ssmEnd = [lowerSSM(h.ssm, tokens: ssmTokens, lanes: place.ssm.0, share: place.ssm.1, after: ssmStart,
                                   branch: .ssm, builder: &b)]
            }
        }
        if place.ssmOnSecondDevice, !ssmEnd.isEmpty {
            ssmEnd = [b.add("hybrid.return_from_ssm_device", "fusion",
                            .transfer(bytes: ssmTokens.total * Double(d) * elementBytes, pattern: .pointToPoint),
                            .gatherScatter, .transfer, lanes: link, share: 1, after: ssmEnd, branch: .ssm)]
        }
        let joined = attentionEnd + ssmEnd
        if h.layout == .sequential { return (ssmEnd, solved) }
        return (lowerFusion(h.fusion, tokens: tokens, after: joined.isEmpty ? after : joined, builder: &b), solved)
    }

    func lowerFusion(_ fusion: HybridSpec.Fusion, tokens: Tokens, after: [Int], builder b: inout OpBuilder) -> [Int] {
        let all = lanes.deviceMask
        let d = Double(scenario.model.dModel), t = tokens.total
        switch fusion {
        case .concatProjection:
            // FlowHN no-split variant: concat on features, then a 2d -> d linear.
            let cat = b.add("fusion.concat", "fusion", .gatherScatter(rows: t, width: 2 * scenario.model.dModel), .gatherScatter, .gather,
                            lanes: all, share: 1, after: after)
            return [b.add("fusion.proj", "fusion", .gemm(m: t, n: d, k: 2 * d, count: 1), .gemm, .projection, lanes: all, share: 1, after: [cat])]
        case .mean:
            return [b.add("fusion.mean", "fusion", .elementwise(elements: t * d, flopsPerElement: 2, reads: 2, writes: 1),
                          .elementwise, .mean, lanes: all, share: 1, after: after)]
        case .gate:
            let logits = b.add("fusion.gate_proj", "fusion", .gemm(m: t, n: d, k: d, count: 1), .gemm, .projection, lanes: all, share: 1, after: after)
            return [b.add("fusion.gate_mix", "fusion", .elementwise(elements: t * d, flopsPerElement: 6, reads: 3, writes: 1),
                          .elementwise, .gateMix, lanes: all, share: 1, after: [logits])]
        case .sequenceConcat:
            // FlowHN split code: concat along the sequence, d x d linear + residual + RMSNorm + d x d linear + residual.
            let cat = b.add("fusion.seq_concat", "fusion", .gatherScatter(rows: t, width: scenario.model.dModel), .gatherScatter, .gather,
                            lanes: all, share: 1, after: after)
            let p1 = b.add("fusion.proj1", "fusion", .gemm(m: t, n: d, k: d, count: 1), .gemm, .projection, lanes: all, share: 1, after: [cat])
            let r1 = b.add("fusion.residual1", "fusion", .elementwise(elements: t * d, flopsPerElement: 1, reads: 2, writes: 1),
                           .elementwise, .residual, lanes: all, share: 1, after: [p1])
            let n = b.add("fusion.norm", "fusion", .elementwise(elements: t * d, flopsPerElement: 4, reads: 1, writes: 1),
                          .elementwise, .rmsNorm, lanes: all, share: 1, after: [r1])
            let p2 = b.add("fusion.proj2", "fusion", .gemm(m: t, n: d, k: d, count: 1), .gemm, .projection, lanes: all, share: 1, after: [n])
            return [b.add("fusion.residual2", "fusion", .elementwise(elements: t * d, flopsPerElement: 1, reads: 2, writes: 1),
                          .elementwise, .residual, lanes: all, share: 1, after: [p2])]
        }
    }

    /// Seconds of one branch's ops at a given token split.
    func branchSeconds(_ h: HybridSpec, tokens: Tokens, attentionShare r: Double, branch: Op.Branch) -> Double {
        var b = builder()
        let place = branchLanes(h.placement)
        switch branch {
        case .attention:
            _ = lowerAttention(h.attention, tokens: tokens.split(r), lanes: place.attention.0, share: place.attention.1,
                               after: [], branch: .attention, builder: &b)
            return b.ops.reduce(0) { $0 + cost.seconds($1, share: place.attention.1, link: nil) }
        default:
            _ = lowerSSM(h.ssm, tokens: tokens.split(1 - r), lanes: place.ssm.0, share: place.ssm.1, after: [], branch: .ssm, builder: &b)
            return b.ops.reduce(0) { $0 + cost.seconds($1, share: place.ssm.1, link: nil) }
        }
    }

    /// The attention share of tokens at which both branches take equal time (GSL Brent root finder);
    /// 0 or 1 when one branch is slower even with every token given to the other.
    func solveBalancedSplit(_ h: HybridSpec, tokens: Tokens) -> Double {
        let f: (Double) -> Double = { r in
            self.branchSeconds(h, tokens: tokens, attentionShare: r, branch: .attention)
                - self.branchSeconds(h, tokens: tokens, attentionShare: r, branch: .ssm)
        }
        // A branch with no tokens costs nothing, but one with a sliver of tokens pays each op's fixed
        // part (overhead, the efficiency curve's floor): f jumps at 0 and 1, so test just inside them.
        let epsilon = 1e-9
        let low = f(epsilon), high = f(1 - epsilon)
        if low >= 0 { return 0 }
        if high <= 0 { return 1 }
        if let root = try? RootFinding.brent(lower: epsilon, upper: 1 - epsilon, absoluteTolerance: 1e-12, relativeTolerance: 1e-10, f) {
            return root
        }
        // Not expected (f is continuous and bracketed); fall back to minimising the imbalance.
        return (try? Minimization.brent(lower: epsilon, upper: 1 - epsilon, guess: nil) { abs(f($0)) }.x) ?? 0.5
    }

    /// The attention share that minimises the layer's latency (one pass of the block lowered at that ratio and
    /// list-scheduled on its lanes; GSL Brent minimiser after a grid scan, `Minimization.brent`). Not the
    /// balanced ratio when both branches queue on one lane: there the latency is their sum, least where
    /// the marginal costs (not the times) are equal. The MLP runs after the mixer on every lane whatever the
    /// ratio, adding a constant: probes lower the mixer alone (no routing statistics, no draws).
    func solveOptimalSplit(block: BlockSpec, tokens: Tokens, balanced: Double) -> Double {
        let laneCount = lanes.lanes.count
        let link = scenario.hardware.interconnect
        let mixer = BlockSpec(mixer: block.mixer, mlp: nil)
        let latency: (Double) -> Double = { r in
            var b = self.builder()
            _ = self.lowerPass(block: mixer, tokens: tokens, after: [], builder: &b, fixedSplit: r)
            b.fuse(self.scenario.execution.fuse)
            return ListSchedule(ops: b.ops, laneCount: laneCount, cost: self.cost, link: link).latency
        }
        let best = (try? Minimization.brent(lower: 0, upper: 1, guess: balanced > 0 && balanced < 1 ? balanced : nil,
                                            absoluteTolerance: 1e-5, latency))
        guard let best else { return balanced }
        // The grid and Brent work on a smooth-ish function; keep the balanced ratio when it is no worse.
        return latency(balanced) <= best.value * (1 + 1e-12) ? balanced : best.x
    }
}
