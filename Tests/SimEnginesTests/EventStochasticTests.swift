import Dispatch
import Foundation
import Testing
@testable import SimEngines
import SimModel

// The event engine's draws: convergence of the sampled means to the closed form (fixed seeds),
// reproducibility (same seed, same result, on any thread), decode steps and bad input.

enum EventScenarios {
    /// 8 experts, top-2, zipf(1.2) routing, capacity factor 1.25; 4 x 256 tokens: T*k = 2048 assignments, C = 320 rows.
    static func moeZipf() throws -> Scenario {
        try makeScenario(name: "moe-zipf-cf", batch: 4, seqLen: 256,
                         blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}")],
                         layers: "[moe, moe]")
    }

    /// 8 experts, top-2, Dirichlet(0.3) routing drawn per batch, capacity factor 2.0; T*k = 2048.
    static func moeDirichlet() throws -> Scenario {
        try makeScenario(name: "moe-dirichlet", batch: 4, seqLen: 256,
                         blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 2.0, routing: {type: dirichlet, concentration: 0.3}")],
                         layers: "[moe, moe, moe, moe]")
    }

    /// Four attention layers, per-sequence skip 0.3 / repeat 0.1 over a batch of 8, gather compaction.
    static func dynamicDepth(compaction: String = "gather") throws -> Scenario {
        try makeScenario(name: "dyn-\(compaction)", batch: 8, seqLen: 128, blocks: [Blocks.attention], layers: "[attn, attn, attn, attn]",
                         extras: ["dynamic_depth: {skip: 0.3, repeat: 0.1, granularity: sequence, compaction: \(compaction)}"])
    }

    /// Every random feature at once (MoE zipf and Dirichlet, FFF, dynamic depth) on two lanes.
    static func mixed() throws -> Scenario {
        try makeScenario(name: "mixed", phase: "train", batch: 2, seqLen: 256,
                         blocks: [Blocks.hybrid("hyb", layout: "split", placement: "separate_lanes", extra: "split: 0.59"),
                                  Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 128, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}"),
                                  Blocks.moe("experts: 4, top_k: 1, expert_ffn_dim: 64, routing: {type: dirichlet, concentration: 0.5}", name: "dir"),
                                  "f: {mixer: {type: ssm, d_state: 16}, mlp: {type: fff, depth: 3, leaf_width: 32}}"],
                         layers: "[hyb, moe, f, dir, hyb, moe]",
                         extras: ["dynamic_depth: {skip: [0, 0.1, 0.2, 0, 0.3, 0.1], repeat: 0.05}"])
    }
}

@Suite("Event engine: stochastic convergence (fixed seeds)")
struct EventConvergenceTests {
    @Test("MoE zipf with a capacity factor: mean dropped fraction and imbalance over 200 steps match the closed form")
    func moeZipfCapacity() throws {
        let scenario = try EventScenarios.moeZipf()
        let analytic = AnalyticEngine().run(scenario)
        let event = try EventEngine(options: .init(steps: 200)).run(scenario)
        // Zipf(1.2) over 8 experts, top-2 of 1024 tokens: the conditional Poisson design takes expert 1 in
        // pi_1 of the tokens (its weight 0.40 of the total saturates below 1), about 780 rows against a capacity of
        // 320: drops are mostly that deterministic excess. Drops are linear in the marginal loads (exact in the
        // closed form); what remains is sampling error: |event mean - analytic| <= 4 SE (+ a 1e-4 floor).
        let design = TopKDesign(shares: RoutingStats.probabilities(.zipf(exponent: 1.2), count: 8), topK: 2)
        let excess = design.inclusion.reduce(0.0) { $0 + max(0, 1024 * $1 - 320) } / 2048
        #expect(analytic.droppedTokenFraction >= excess && analytic.droppedTokenFraction < excess + 0.05,
                "analytic \(analytic.droppedTokenFraction) vs deterministic excess \(excess)")
        let dropped = eventMeanAndError(event.steps.map(\.droppedTokenFraction))
        #expect(abs(dropped.mean - analytic.droppedTokenFraction) <= 4 * dropped.standardError + 1e-4,
                "dropped: event \(dropped.mean) (SE \(dropped.standardError)) vs analytic \(analytic.droppedTokenFraction)")
        let imbalance = eventMeanAndError(event.steps.map(\.moeImbalance))
        #expect(abs(imbalance.mean - analytic.moeImbalance) <= 4 * imbalance.standardError + 1e-3 * analytic.moeImbalance,
                "imbalance: event \(imbalance.mean) (SE \(imbalance.standardError)) vs analytic \(analytic.moeImbalance)")
        // The draws do vary, and the report's values are the step means.
        #expect(dropped.standardError > 0 && imbalance.standardError > 0)
        #expect(approx(event.report.droppedTokenFraction, dropped.mean, rel: 1e-12))
        #expect(approx(event.report.moeImbalance, imbalance.mean, rel: 1e-12))
        // Padded buffers: every step executes capacity rows, so the step time does not vary.
        #expect(event.steps.allSatisfy { $0.latencySeconds == event.steps[0].latencySeconds })
    }

    @Test("Dirichlet routing: mean imbalance over 200 steps matches the exact E[max p] of the closed form")
    func dirichlet() throws {
        let scenario = try EventScenarios.moeDirichlet()
        let analytic = AnalyticEngine().run(scenario)
        let event = try EventEngine(options: .init(steps: 200)).run(scenario)
        // The closed form is N E[max p] exactly (Gamma representation); the event engine adds the
        // multinomial noise of N = 2048 assignments on top, which only raises the expected maximum, by
        // at most about one binomial sd of the leading expert: 8/2048 * sqrt(2048/4) = 0.088 in
        // imbalance units (2% of ~4), and far less when one share leads clearly. Allowed: that + 4 SE.
        let n = 2048.0, experts = 8.0
        let noise = experts / n * (n / 4).squareRoot()
        let imbalance = eventMeanAndError(event.steps.map(\.moeImbalance))
        #expect(imbalance.mean - analytic.moeImbalance >= -4 * imbalance.standardError,
                "event \(imbalance.mean) (SE \(imbalance.standardError)) vs analytic \(analytic.moeImbalance)")
        #expect(imbalance.mean - analytic.moeImbalance <= 4 * imbalance.standardError + noise,
                "event \(imbalance.mean) (SE \(imbalance.standardError)) vs analytic \(analytic.moeImbalance)")
        #expect(analytic.moeImbalance > 2, "Dirichlet(0.3) over 8 experts is strongly skewed: \(analytic.moeImbalance)")
        // Drops come from Beta tails in the closed form; same allowance (the capacity is 2x the mean load).
        let dropped = eventMeanAndError(event.steps.map(\.droppedTokenFraction))
        #expect(abs(dropped.mean - analytic.droppedTokenFraction) <= 4 * dropped.standardError + noise / experts,
                "dropped: event \(dropped.mean) (SE \(dropped.standardError)) vs analytic \(analytic.droppedTokenFraction)")
    }

    @Test("dynamic depth: mean executed layer fraction is within 4 standard errors of 1 - skip + repeat", arguments: ["gather", "full_batch"])
    func dynamicDepth(_ compaction: String) throws {
        let scenario = try EventScenarios.dynamicDepth(compaction: compaction)
        let steps = 200
        let event = try EventEngine(options: .init(steps: steps)).run(scenario)
        let analytic = AnalyticEngine().run(scenario)
        let expected = 1 - 0.3 + 0.1
        #expect(approx(analytic.executedLayerFraction, expected, rel: 1e-12))
        // Per decision, executions X are 0, 1, 2 with probabilities 0.3, 0.6, 0.1: mean 0.8, variance
        // 0.6 + 4 * 0.1 - 0.64 = 0.36. A step averages 4 layers x 8 sequences = 32 decisions.
        let variance = 0.6 + 4 * 0.1 - expected * expected
        let standardError = (variance / Double(32 * steps)).squareRoot()
        let fractions = event.steps.map { $0.executedLayers / 4 }
        let sample = eventMeanAndError(fractions)
        #expect(abs(sample.mean - expected) <= 4 * standardError, "mean \(sample.mean), SE \(standardError)")
        #expect(approx(event.report.executedLayerFraction, sample.mean, rel: 1e-12))
        // Independent draws per layer and step: the observed spread matches the multinomial's.
        #expect(sample.standardError > 0.7 * standardError && sample.standardError < 1.3 * standardError,
                "observed SE \(sample.standardError) vs multinomial \(standardError)")
        // Fractions are multiples of 1/32 in [0, 2].
        #expect(fractions.allSatisfy { $0 >= 0 && $0 <= 2 && ($0 * 32).rounded() == $0 * 32 })
    }

    @Test("p50/p90/p99/max of the step statistics are ordered nearest-rank values of the steps, max >= mean")
    func percentiles() throws {
        let scenario = try EventScenarios.dynamicDepth()
        let event = try EventEngine(options: .init(steps: 200)).run(scenario)
        let stats = try #require(event.report.stepStatistics)
        #expect(stats.steps == 200)
        for (name, d, values) in [("latency", stats.latency, event.steps.map(\.latencySeconds)),
                                  ("bubble", stats.bubble, event.steps.map(\.bubbleSeconds))] {
            #expect(d.p50 <= d.p90 && d.p90 <= d.p99 && d.p99 <= d.max, "\(name): \(d)")
            #expect(d.max >= d.mean && d.p50 >= values.min()!, "\(name): \(d)")
            let sorted = values.sorted()
            // Nearest rank: the ceil(q n)-th smallest.
            #expect(d.p50 == sorted[99] && d.p90 == sorted[179] && d.p99 == sorted[197] && d.max == sorted[199], "\(name)")
            #expect(approx(d.mean, values.reduce(0, +) / 200, rel: 1e-12))
        }
        #expect(stats.latency.max > stats.latency.p50, "the step time varies with the draws")
        #expect(approx(stats.latency.mean, event.report.latencySeconds, rel: 1e-12))
    }
}

/// Exact comparison of two event results.
func expectIdenticalResults(_ a: EventEngine.Result, _ b: EventEngine.Result, _ label: String) {
    #expect(a.steps == b.steps, "\(label): step records")
    #expect(a.trace == b.trace, "\(label): trace")
    #expect(a.laneNames == b.laneNames && a.events == b.events, "\(label)")
    let x = a.report, y = b.report
    let numbers: [(String, Double, Double)] = [
        ("latency", x.latencySeconds, y.latencySeconds), ("tokens/s", x.tokensPerSecond, y.tokensPerSecond),
        ("model FLOPs", x.modelFlops, y.modelFlops), ("executed FLOPs", x.executedFlops, y.executedFlops), ("MFU", x.mfu, y.mfu),
        ("bubble", x.bubbleSeconds, y.bubbleSeconds), ("bubble fraction", x.bubbleFraction, y.bubbleFraction),
        ("imbalance", x.moeImbalance, y.moeImbalance), ("dropped", x.droppedTokenFraction, y.droppedTokenFraction),
        ("executed layers", x.executedLayerFraction, y.executedLayerFraction), ("saved", x.savedFlops, y.savedFlops),
    ]
    for (what, p, q) in numbers { #expect(p == q, "\(label): \(what) \(p) vs \(q)") }
    #expect(x.memory == y.memory && x.lanes == y.lanes && x.layers == y.layers && x.spans == y.spans, "\(label)")
    #expect(x.stepStatistics == y.stepStatistics, "\(label)")
}

/// Collects results from concurrent workers.
final class EventResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: EventEngine.Result] = [:]
    private var errors: [String] = []
    func set(_ i: Int, _ r: EventEngine.Result) { lock.lock(); results[i] = r; lock.unlock() }
    func fail(_ e: Error) { lock.lock(); errors.append("\(e)"); lock.unlock() }
    var all: [Int: EventEngine.Result] { lock.lock(); defer { lock.unlock() }; return results }
    var failures: [String] { lock.lock(); defer { lock.unlock() }; return errors }
}

@Suite("Event engine: reproducibility")
struct EventReproducibilityTests {
    static func options(seed: UInt64? = nil) -> EventEngine.Options {
        .init(steps: 6, seed: seed, traceSteps: 2, report: .init(layerRows: true, spans: true))
    }

    @Test("same scenario and seed give an identical result; the scenario's seed is the default")
    func sameSeed() throws {
        let scenario = try EventScenarios.mixed()
        #expect(scenario.hasRandomness)
        let a = try EventEngine(options: Self.options()).run(scenario)
        let b = try EventEngine(options: Self.options()).run(try EventScenarios.mixed())
        expectIdenticalResults(a, b, "twice")
        let explicit = try EventEngine(options: Self.options(seed: scenario.seed)).run(scenario)
        expectIdenticalResults(a, explicit, "options.seed = scenario seed")
        #expect(!a.trace.isEmpty && !a.report.spans.isEmpty && !a.report.layers.isEmpty)
        #expect(Set(a.trace.map(\.step)) == [0, 1], "traceSteps 2")
    }

    @Test("a different seed changes the stochastic step records (and only the draws: same graph shape)")
    func differentSeed() throws {
        let scenario = try EventScenarios.mixed()
        let a = try EventEngine(options: Self.options()).run(scenario)
        let b = try EventEngine(options: Self.options(seed: scenario.seed + 1)).run(scenario)
        #expect(a.steps != b.steps)
        let differing = zip(a.steps, b.steps).filter { $0.moeImbalance != $1.moeImbalance }.count
        #expect(differing == a.steps.count, "every step's draws differ; \(differing) of \(a.steps.count) do")
        #expect(a.laneNames == b.laneNames)
        #expect(zip(a.steps, b.steps).allSatisfy { $0.step == $1.step && $0.contextTokens == $1.contextTokens })
        // A seed in the scenario file does the same as options.seed.
        var reseeded = scenario
        reseeded.seed = scenario.seed + 1
        expectIdenticalResults(b, try EventEngine(options: Self.options()).run(reseeded), "scenario seed vs options.seed")
    }

    @Test("runs on several threads at once (TaskGroup) equal a sequential run")
    func taskGroup() async throws {
        let scenario = try EventScenarios.mixed()
        let sequential = try EventEngine(options: Self.options()).run(scenario)
        let results = try await withThrowingTaskGroup(of: (Int, EventEngine.Result).self) { group in
            for i in 0..<4 {
                group.addTask { (i, try EventEngine(options: Self.options()).run(scenario)) }
            }
            var collected: [(Int, EventEngine.Result)] = []
            for try await r in group { collected.append(r) }
            return collected
        }
        #expect(results.count == 4)
        for (i, r) in results { expectIdenticalResults(sequential, r, "task \(i)") }
    }

    @Test("runs on several threads at once (concurrentPerform, different scenarios interleaved) equal sequential runs")
    func concurrentPerform() throws {
        let scenarios = [try EventScenarios.mixed(), try EventScenarios.moeDirichlet(), try EventScenarios.dynamicDepth()]
        let sequential = try scenarios.map { try EventEngine(options: Self.options()).run($0) }
        let box = EventResultBox()
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            do { box.set(i, try EventEngine(options: Self.options()).run(scenarios[i % 3])) } catch { box.fail(error) }
        }
        #expect(box.failures.isEmpty, "\(box.failures)")
        let all = box.all
        #expect(all.count == 6)
        for (i, r) in all { expectIdenticalResults(sequential[i % 3], r, "worker \(i)") }
    }
}

@Suite("Event engine: steps")
struct EventStepTests {
    @Test("decode: context grows one token a step from seq_len + 1; attention decode latency never falls")
    func decode() throws {
        let scenario = try makeScenario(name: "decode", phase: "decode", batch: 8, seqLen: 4096, blocks: [Blocks.attention], layers: "[attn, attn]")
        #expect(!scenario.hasRandomness)
        #expect(scenario.workload.contextTokens == 4097)
        let steps = 12
        let event = try EventEngine(options: .init(steps: steps)).run(scenario)
        #expect(event.steps.map(\.step) == Array(0..<steps))
        #expect(event.steps.map(\.contextTokens) == (0..<steps).map { 4097 + $0 })
        for (a, b) in zip(event.steps, event.steps.dropFirst()) {
            #expect(b.latencySeconds >= a.latencySeconds, "step \(b.step): \(b.latencySeconds) < \(a.latencySeconds)")
        }
        #expect(event.steps.last!.latencySeconds > event.steps[0].latencySeconds, "a longer KV cache is read")
        // Each step is the analytic engine on that step's scenario, and the means agree.
        for record in event.steps {
            let analytic = AnalyticEngine().run(scenario.atStep(record.step))
            #expect(approx(record.latencySeconds, analytic.latencySeconds, rel: 0.005), "step \(record.step)")
        }
        let analyticMean = AnalyticEngine().run(scenario, steps: steps)
        #expect(approx(analyticMean.latencySeconds, event.report.latencySeconds, rel: 0.005))
        #expect(analyticMean.stepStatistics?.steps == steps)
        let graph = Lowering.lower(scenario)
        let opsPerStep = graph.prologue.ops.count + graph.epilogue.ops.count + graph.layers.reduce(0) { $0 + graph.templates[$1.template].ops.count }
        #expect(event.events == steps * opsPerStep, "one completion event per op per step")
    }

    @Test("prefill: the steps of a deterministic scenario are identical")
    func prefillIdentical() throws {
        let scenario = try makeScenario(name: "prefill", batch: 2, seqLen: 512,
                                        blocks: [Blocks.hybrid(layout: "parallel", placement: "separate_lanes")], layers: "[hyb, hyb, hyb]")
        #expect(!scenario.hasRandomness)
        let event = try EventEngine(options: .init(steps: 5, traceSteps: 5)).run(scenario)
        let first = event.steps[0]
        #expect(first.contextTokens == 512)
        for s in event.steps {
            var same = s
            same.step = 0
            #expect(same == first, "step \(s.step)")
        }
        let stats = try #require(event.report.stepStatistics)
        #expect(stats.latency.p50 == stats.latency.max && stats.latency.max == first.latencySeconds)
        #expect(approx(stats.latency.mean, first.latencySeconds, rel: 1e-12))
        // The trace holds every step, one after another, each step's timeline the first one's shifted.
        let perStep = Dictionary(grouping: event.trace, by: \.step)
        #expect(perStep.keys.sorted() == [0, 1, 2, 3, 4])
        for step in 1..<5 {
            let earlier = perStep[step - 1]!, spans = perStep[step]!
            #expect(spans.count == earlier.count)
            #expect(spans.map(\.startSeconds).min()! >= earlier.map(\.endSeconds).max()! * (1 - 1e-12))
            for (a, b) in zip(earlier, spans) {
                #expect(a.op == b.op && a.lanes == b.lanes)
                #expect(approx(b.endSeconds - b.startSeconds, a.endSeconds - a.startSeconds, rel: 1e-9))
            }
        }
    }

    @Test("trace_steps 0 keeps no spans; the default keeps the first step's")
    func traceSteps() throws {
        let scenario = try EventScenarios.dynamicDepth()
        #expect(try EventEngine(options: .init(steps: 3, traceSteps: 0)).run(scenario).trace.isEmpty)
        let one = try EventEngine(options: .init(steps: 3)).run(scenario)
        #expect(!one.trace.isEmpty && one.trace.allSatisfy { $0.step == 0 })
        #expect(one.trace.allSatisfy { $0.endSeconds >= $0.startSeconds && !$0.lanes.isEmpty })
        let latest = one.trace.map(\.endSeconds).max()!
        #expect(approx(latest, one.steps[0].latencySeconds, rel: 1e-9), "the first step's trace ends at its latency")
    }

    @Test("steps outside 1 ... maximumSteps throw EventEngine.RunError", arguments: [0, -1, EventEngine.maximumSteps + 1, Int.max])
    func badSteps(_ steps: Int) throws {
        let scenario = try EventScenarios.moeZipf()
        do {
            _ = try EventEngine(options: .init(steps: steps)).run(scenario)
            Issue.record("steps \(steps) did not throw")
        } catch let error as EventEngine.RunError {
            #expect(error.description.contains("--steps \(steps)"), "\(error.description)")
            #expect(error.description.contains("\(EventEngine.maximumSteps)"))
        }
    }
}

@Suite("Event engine: drawn experts")
struct DrawnExpertsTests {
    @Test("A drawn step reads the weights of the experts its draw touched: top-2 of one token is exactly 2")
    func drawnTouchedSet() throws {
        let scenario = try makeScenario(name: "mixtral-decode", hardware: "nvidia-h200", phase: "decode", batch: 1, seqLen: 512, dModel: 4096,
                                        blocks: ["moe: {mixer: {type: attention, heads: 32, kv_heads: 8, head_dim: 128}, mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 14336}}"],
                                        layers: "{pattern: [moe], repeat: 4}")
        let sampler = try RandomRoutingSampler(seed: 3)
        for _ in 0..<10 {
            let graph = Lowering(scenario: scenario, sampler: sampler).lower()
            for template in graph.templates {
                let up = try #require(template.ops.first { $0.name == "mlp.experts.gate_up" })
                guard case let .gemm(m, _, _, count) = up.kind else { Issue.record("not a GEMM"); return }
                #expect(count == 2 && m == 1, "\(count) experts of \(m) rows")
                #expect(template.routing?.touchedExperts == 2)
            }
        }
        // The analytic engine expects the same, so both engines agree on the step time.
        let analytic = AnalyticEngine().run(scenario)
        let event = try EventEngine(options: .init(steps: 5)).run(scenario)
        #expect(abs(event.report.latencySeconds / analytic.latencySeconds - 1) < 1e-3)
    }
}
