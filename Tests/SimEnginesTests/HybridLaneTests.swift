import Foundation
import Testing
@testable import SimEngines
import SimModel

/// Hybrid blocks: balanced splits, separate lanes against one lane, sequential bubbles.
@Suite("Hybrid lanes and splits")
struct HybridLaneTests {
    static let withSpans = AnalyticEngine(options: .init(layerRows: true, spans: true))

    // MARK: Balanced split

    /// Shapes where the balance point is interior: attention with every token is slower than the SSM with none,
    /// and the SSM with every token slower than attention with none.
    static let balancedCases: [(placement: String, phase: String, batch: Int, seqLen: Int)] = [
        ("same_lane", "prefill", 4, 8192),
        ("separate_lanes", "prefill", 4, 8192),
        ("{type: separate_lanes, attention_share: 0.7}", "train", 4, 8192),
        ("same_lane", "train", 8, 4096),
        ("same_lane", "prefill", 1, 16384),
    ]

    func balancedScenario(_ c: (placement: String, phase: String, batch: Int, seqLen: Int)) throws -> Scenario {
        try makeScenario(phase: c.phase, batch: c.batch, seqLen: c.seqLen,
                         blocks: [Blocks.hybrid(layout: "split", placement: c.placement, extra: "split: balanced")],
                         layers: "{pattern: [hyb], repeat: 3}")
    }

    @Test("split: balanced gives the attention and SSM branches equal time in the report's spans", arguments: 0..<5)
    func balancedSplitEqualisesSpans(caseIndex: Int) throws {
        let c = Self.balancedCases[caseIndex]
        let scenario = try balancedScenario(c)
        let report = Self.withSpans.run(scenario)
        let graph = Lowering.lower(scenario)
        let ratio = try #require(graph.templates.first?.splitRatio)
        #expect(ratio > 0.01 && ratio < 0.99, "\(c): solved ratio \(ratio) is (near) a bound, so the case shows nothing")
        for layer in 0..<3 {
            let a = report.duration(layer: layer, prefix: "attention.")
            let s = report.duration(layer: layer, prefix: "ssm.")
            #expect(a > 0 && s > 0)
            #expect(approx(a, s, rel: 1e-6), "\(c) layer \(layer): attention \(a) s vs ssm \(s) s (rel diff \(relDiff(a, s)))")
        }
        // A fixed split away from the solved ratio is not balanced (the check can fail).
        let off = try makeScenario(phase: c.phase, batch: c.batch, seqLen: c.seqLen,
                                   blocks: [Blocks.hybrid(layout: "split", placement: c.placement, extra: "split: \(ratio * 0.8)")],
                                   layers: "[hyb]")
        let offReport = Self.withSpans.run(off)
        #expect(relDiff(offReport.duration(layer: 0, prefix: "attention."), offReport.duration(layer: 0, prefix: "ssm.")) > 1e-3)
    }

    @Test("split: balanced equalises the templates' branch times under the cost model", arguments: 0..<5)
    func balancedSplitEqualisesTemplates(caseIndex: Int) throws {
        let c = Self.balancedCases[caseIndex]
        let scenario = try balancedScenario(c)
        let graph = Lowering.lower(scenario)
        let cost = CostModel(profile: scenario.hardware, dtype: scenario.workload.dtype)
        let template = try #require(graph.templates.first)
        func branchTime(_ branch: Op.Branch) -> Double {
            template.ops.filter { $0.branch == branch }
                .reduce(0) { $0 + cost.seconds($1, share: $1.share, link: scenario.hardware.interconnect) * $1.weight }
        }
        let a = branchTime(.attention), s = branchTime(.ssm)
        #expect(a > 0 && s > 0)
        #expect(approx(a, s, rel: 1e-6), "\(c): attention \(a) s vs ssm \(s) s")
    }

    @Test("split: balanced with no interior balance point gives 0 or 1 (as documented), never an unbalanced interior ratio")
    func balancedSplitWithoutInteriorRoot() throws {
        // Batch 2 x 4096 tokens at d_model 256: the SSM branch is slower than the attention branch at every share
        // r < 1 (SSM branch ~1.2e-4 s even with almost no tokens, attention 9.8e-5 s with all of them), so no
        // balance exists and Lowering.solveBalancedSplit's doc promises 1 ("0 or 1 when one branch is slower even
        // with every token given to the other"). Either the ratio is a bound or the branches must be equal.
        let scenario = try makeScenario(phase: "prefill", batch: 2, seqLen: 4096,
                                        blocks: [Blocks.hybrid(layout: "split", placement: "same_lane", extra: "split: balanced")],
                                        layers: "[hyb]")
        let report = Self.withSpans.run(scenario)
        let ratio = try #require(report.splitRatios.first?.ratio)
        let a = report.duration(layer: 0, prefix: "attention."), s = report.duration(layer: 0, prefix: "ssm.")
        #expect(ratio == 0 || ratio == 1 || approx(a, s, rel: 1e-6),
                "ratio \(ratio) (1 - ratio = \(1 - ratio)) with attention \(a) s vs ssm \(s) s (rel diff \(relDiff(a, s)))")
    }

    @Test("The reported split ratio is the lowered template's splitRatio (balanced and fixed)")
    func reportedSplitRatioMatchesLowering() throws {
        // Long enough sequences that attention's quadratic term makes an interior balance point exist
        // (at short ones every op's fixed floor leaves the SSM branch slower at any split, and 1 is the answer).
        let scenario = try makeScenario(batch: 4, seqLen: 4096,
                                        blocks: [Blocks.hybrid("bal", layout: "split", extra: "split: balanced"),
                                                 Blocks.hybrid("fix", layout: "split", placement: "separate_lanes", extra: "split: 0.59"),
                                                 Blocks.attention],
                                        layers: "[attn, bal, fix, bal, fix]")
        let report = run(scenario)
        let graph = Lowering.lower(scenario)
        var expected: [(String, Double)] = []
        for t in graph.templates {
            if let r = t.splitRatio, !expected.contains(where: { $0.0 == t.blockName }) { expected.append((t.blockName, r)) }
        }
        #expect(report.splitRatios.map(\.block) == ["bal", "fix"])
        #expect(report.splitRatios.map(\.block) == expected.map(\.0))
        for (got, want) in zip(report.splitRatios, expected) {
            #expect(got.ratio == want.1, "\(got.block): report \(got.ratio) vs lowering \(want.1)")
        }
        #expect(report.splitRatios.last?.ratio == 0.59)
        // A balanced split moves tokens towards the cheaper branch: the split is not the 0.5 default.
        let balanced = try #require(report.splitRatios.first?.ratio)
        #expect(balanced > 0 && balanced < 1 && abs(balanced - 0.5) > 1e-3, "balanced ratio \(balanced)")
    }

    // MARK: Separate lanes against one lane after the other

    /// The same parallel block, on separate lanes, laid out in parallel (branches concurrent, then fusion)
    /// or sequential (attention, then SSM, no fusion), with the given attention share.
    func parallelAndSequential(share: Double, phase: String = "prefill", seqLen: Int = 2048) throws -> (par: Report, seq: Report) {
        let placement = "{type: separate_lanes, attention_share: \(share)}"
        let par = try makeScenario(name: "par", phase: phase, batch: 2, seqLen: seqLen,
                                   blocks: [Blocks.hybrid(layout: "parallel", placement: placement)], layers: "{pattern: [hyb], repeat: 4}")
        let seq = try makeScenario(name: "seq", phase: phase, batch: 2, seqLen: seqLen,
                                   blocks: [Blocks.hybrid(layout: "sequential", placement: placement)], layers: "{pattern: [hyb], repeat: 4}")
        return (Self.withSpans.run(par), Self.withSpans.run(seq))
    }

    /// Interval from the first branch op's start to the last branch op's end in a layer.
    func mixerWindow(_ r: Report, layer: Int) -> Double {
        let branch = r.spans(layer: layer).filter { $0.op.hasPrefix("attention.") || $0.op.hasPrefix("ssm.") }
        guard let start = branch.map(\.startSeconds).min(), let end = branch.map(\.endSeconds).max() else { return 0 }
        return end - start
    }

    @Test("Parallel on separate lanes: mixer takes max(A, S); sequential: A + S; parallel <= sequential + fusion",
          arguments: [0.3, 0.5, 0.8])
    func separateLanesHelp(share: Double) throws {
        let (par, seq) = try parallelAndSequential(share: share)
        var fusionTotal = 0.0, minBranchTotal = 0.0
        for layer in 0..<4 {
            let a = par.duration(layer: layer, prefix: "attention."), s = par.duration(layer: layer, prefix: "ssm.")
            // Same shapes and shares: the branch ops cost the same in both layouts.
            #expect(approx(a, seq.duration(layer: layer, prefix: "attention."), rel: 1e-9))
            #expect(approx(s, seq.duration(layer: layer, prefix: "ssm."), rel: 1e-9))
            #expect(approx(mixerWindow(par, layer: layer), max(a, s), rel: 1e-9),
                    "share \(share) layer \(layer): parallel mixer \(mixerWindow(par, layer: layer)) vs max(\(a), \(s))")
            #expect(approx(mixerWindow(seq, layer: layer), a + s, rel: 1e-9),
                    "share \(share) layer \(layer): sequential mixer \(mixerWindow(seq, layer: layer)) vs \(a) + \(s)")
            let fusion = par.spans(layer: layer).filter { $0.op.hasPrefix("fusion.") }
            #expect(!fusion.isEmpty, "parallel layout has fusion ops")
            #expect(seq.spans(layer: layer).allSatisfy { !$0.op.hasPrefix("fusion.") }, "sequential layout has no fusion")
            fusionTotal += fusion.reduce(0) { $0 + $1.duration }
            minBranchTotal += min(a, s)
        }
        #expect(par.latencySeconds <= seq.latencySeconds + fusionTotal,
                "share \(share): parallel \(par.latencySeconds) > sequential \(seq.latencySeconds) + fusion \(fusionTotal)")
        // Exactly: everything else is the same, so the difference is fusion minus the hidden branch.
        #expect(approx(par.latencySeconds - seq.latencySeconds, fusionTotal - minBranchTotal, rel: 1e-6),
                "share \(share): difference \(par.latencySeconds - seq.latencySeconds) vs fusion - min branch \(fusionTotal - minBranchTotal)")
    }

    @Test("Parallel on separate lanes: the faster branch's lane idles for the branch-time difference each layer",
          arguments: [0.3, 0.5, 0.8])
    func fasterLaneIdlesForTheDifference(share: Double) throws {
        let (par, _) = try parallelAndSequential(share: share)
        for layer in 0..<4 {
            let a = par.duration(layer: layer, prefix: "attention."), s = par.duration(layer: layer, prefix: "ssm.")
            let attentionRow = try #require(par.layers.first { $0.layer == layer && $0.lane == "gpu0.attention" })
            let ssmRow = try #require(par.layers.first { $0.layer == layer && $0.lane == "gpu0.ssm" })
            let (fast, slow) = a < s ? (attentionRow, ssmRow) : (ssmRow, attentionRow)
            #expect(approx(fast.idleSeconds, abs(a - s), rel: 1e-6),
                    "share \(share) layer \(layer): faster lane \(fast.lane) idle \(fast.idleSeconds) vs |A - S| \(abs(a - s))")
            #expect(slow.idleSeconds == 0, "share \(share) layer \(layer): slower lane \(slow.lane) idle \(slow.idleSeconds)")
        }
        let perLayer = abs(par.duration(layer: 0, prefix: "attention.") - par.duration(layer: 0, prefix: "ssm."))
        #expect(approx(par.bubbleSeconds, 4 * perLayer, rel: 1e-6), "bubble \(par.bubbleSeconds) vs 4 x \(perLayer)")
    }

    // MARK: Sequential hybrid on separate lanes

    @Test("Sequential hybrid on separate lanes: each lane idles while the other branch works", arguments: ["prefill", "decode", "train"])
    func sequentialOnSeparateLanesBubbles(phase: String) throws {
        let (_, seq) = try parallelAndSequential(share: 0.5, phase: phase, seqLen: 1024)
        #expect(seq.bubbleSeconds > 0)
        var total = 0.0
        for layer in 0..<4 {
            let a = seq.duration(layer: layer, prefix: "attention."), s = seq.duration(layer: layer, prefix: "ssm.")
            let attentionRow = try #require(seq.layers.first { $0.layer == layer && $0.lane == "gpu0.attention" })
            let ssmRow = try #require(seq.layers.first { $0.layer == layer && $0.lane == "gpu0.ssm" })
            #expect(attentionRow.idleSeconds > 0 && ssmRow.idleSeconds > 0)
            // The attention lane waits out the SSM branch and the SSM lane waits out the attention branch.
            #expect(approx(attentionRow.idleSeconds, s, rel: 1e-6), "\(phase) layer \(layer): attention lane idle \(attentionRow.idleSeconds) vs S \(s)")
            #expect(approx(ssmRow.idleSeconds, a, rel: 1e-6), "\(phase) layer \(layer): ssm lane idle \(ssmRow.idleSeconds) vs A \(a)")
            total += a + s
        }
        #expect(approx(seq.bubbleSeconds, total, rel: 1e-6), "\(phase): bubble \(seq.bubbleSeconds) vs sum(A + S) \(total)")
    }
}
