import Foundation
import Testing
@testable import SimEngines
import SimModel

// The event engine against the analytic engine on every shipped scenario (scenarios/*.yaml).
//
// Without randomness both engines schedule the same op graph with the same durations, so latency and
// bubbles must agree (held to 0.5%; in practice they agree to round-off).
//
// With randomness the event engine draws per step; its mean over n steps is compared with the
// closed form within
//     0.5% (model floor, as for deterministic scenarios)
//   + 4 standard errors of the event mean (sample sd / sqrt(n), estimated from the run itself)
//   + the closed form's known bias where there is one.
// Two gaps are known and documented (README "The event engine"), both the closed form's approximation:
//   - jamba-style: 32 assignments (16 sequences x top-2) over 16 experts per MoE layer. The closed form
//     approximates E[max load] with the maximum of 16 normals of mean 2; the real (discrete, skewed)
//     binomial maximum is about 8% higher, so the event engine's mean moe_imbalance is about 8% above
//     the analytic one. Latency is unaffected (decode of this model reads weights, it does not wait on
//     the busiest expert), so only the imbalance gap is asserted below (documentedJambaImbalanceGap).
//   - dynamic-depth (compaction gather): the expectation always charges the gather and scatter of
//     compaction, but in a sampled step where every sequence runs a layer neither is needed; the event
//     mean latency is about 0.56% below the analytic (documentedGatherGap). Allowed for as a 1% bias.

enum EventScenarioFiles {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = repository.appendingPathComponent("scenarios")

    /// Every shipped scenario file name, sorted.
    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static func load(_ name: String) throws -> Scenario {
        try ScenarioLoader.load(path: folder.appendingPathComponent(name).path)
    }
}

/// Mean and standard error of the mean.
func eventMeanAndError(_ values: [Double]) -> (mean: Double, standardError: Double) {
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    return (mean, (variance / n).squareRoot())
}

/// Relative agreement with an absolute floor for quantities that are both (about) zero.
func eventAgree(_ a: Double, _ b: Double, rel: Double, absolute: Double = 1e-12) -> Bool {
    if abs(a - b) <= absolute { return true }
    return abs(a - b) <= rel * max(abs(a), abs(b))
}

@Suite("Event engine vs analytic engine on every shipped scenario")
struct EventAgreementTests {
    static let relativeTolerance = 0.005

    @Test("the scenarios folder is found and holds the shipped scenarios")
    func folderFound() {
        let names = EventScenarioFiles.names
        #expect(names.count >= 20, "found \(names.count) in \(EventScenarioFiles.folder.path)")
        #expect(names.contains("quickstart.yaml") && names.contains("jamba-style.yaml") && names.contains("dynamic-depth.yaml"))
    }

    @Test("one step: deterministic scenarios agree in latency, bubbles, lanes and FLOPs", arguments: EventScenarioFiles.names)
    func oneStep(_ file: String) throws {
        let scenario = try EventScenarioFiles.load(file)
        let analytic = AnalyticEngine().run(scenario)
        let event = try EventEngine(options: .init(steps: 1)).run(scenario)
        let e = event.report
        #expect(e.engine == "event" && analytic.engine == "analytic")
        #expect(event.steps.count == 1 && event.steps[0].step == 0)
        #expect(e.stepStatistics == nil, "one step: no distribution")
        #expect(e.latencySeconds > 0 && e.latencySeconds.isFinite, "\(file)")
        #expect(e.bubbleSeconds >= 0, "\(file)")
        #expect(event.laneNames == analytic.lanes.map(\.name), "\(file)")
        #expect(e.lanes.map(\.name) == analytic.lanes.map(\.name))
        #expect(e.layers.count == analytic.layers.count, "\(file): one row per layer and compute lane")
        #expect(e.memory.weightBytes == analytic.memory.weightBytes, "\(file)")
        guard !scenario.hasRandomness else { return }

        #expect(eventAgree(analytic.latencySeconds, e.latencySeconds, rel: Self.relativeTolerance),
                "\(file): latency analytic \(analytic.latencySeconds) event \(e.latencySeconds)")
        #expect(eventAgree(analytic.bubbleSeconds, e.bubbleSeconds, rel: Self.relativeTolerance),
                "\(file): bubble analytic \(analytic.bubbleSeconds) event \(e.bubbleSeconds)")
        #expect(eventAgree(analytic.modelFlops, e.modelFlops, rel: 1e-12), "\(file): model FLOPs")
        #expect(eventAgree(analytic.executedFlops, e.executedFlops, rel: 1e-12), "\(file): executed FLOPs")
        for (a, b) in zip(analytic.lanes, e.lanes) {
            #expect(eventAgree(a.busySeconds, b.busySeconds, rel: Self.relativeTolerance), "\(file): lane \(a.name) busy \(a.busySeconds) vs \(b.busySeconds)")
        }
        for (a, b) in zip(analytic.layers, e.layers) {
            #expect(a.layer == b.layer && a.lane == b.lane && a.block == b.block)
            #expect(eventAgree(a.endSeconds - a.startSeconds, b.endSeconds - b.startSeconds, rel: Self.relativeTolerance),
                    "\(file): layer \(a.layer) lane \(a.lane)")
        }
        // One completion event per op: prologue + every layer's template + epilogue.
        let graph = Lowering.lower(scenario)
        let ops = graph.prologue.ops.count + graph.epilogue.ops.count + graph.layers.reduce(0) { $0 + graph.templates[$1.template].ops.count }
        #expect(event.events == ops, "\(file)")
    }

    /// Steps per stochastic scenario: enough for a standard error well under a percent where the step
    /// time varies; the FFF encoders (the slowest to lower, with a step time that barely varies) fewer.
    static func steps(_ file: String) -> Int { file.hasPrefix("fff-") ? 6 : 24 }

    /// The closed form's known relative bias of the mean latency (see the header).
    static func knownBias(_ file: String) -> Double { file == "dynamic-depth.yaml" ? 0.01 : 0 }

    @Test("several steps: on stochastic scenarios the event mean latency and bubble are near the closed form",
          arguments: EventScenarioFiles.names)
    func stochasticMeans(_ file: String) throws {
        let scenario = try EventScenarioFiles.load(file)
        guard scenario.hasRandomness else { return }
        let n = Self.steps(file)
        // Decode scenarios grow the context each step: compare with the analytic mean over the same steps.
        let analytic = AnalyticEngine().run(scenario, steps: n)
        let event = try EventEngine(options: .init(steps: n)).run(scenario)
        #expect(event.steps.count == n)
        #expect(event.report.stepStatistics?.steps == n)

        let latency = eventMeanAndError(event.steps.map(\.latencySeconds))
        #expect(abs(latency.mean - event.report.latencySeconds) <= 1e-12 * latency.mean, "the report's latency is the step mean")
        let tolerance = Self.relativeTolerance + 4 * latency.standardError / analytic.latencySeconds + Self.knownBias(file)
        #expect(abs(latency.mean / analytic.latencySeconds - 1) <= tolerance,
                "\(file): event mean \(latency.mean) (SE \(latency.standardError)) vs analytic \(analytic.latencySeconds), tolerance \(tolerance)")

        let bubble = eventMeanAndError(event.steps.map(\.bubbleSeconds))
        let bubbleAllowance = Self.relativeTolerance * analytic.bubbleSeconds + 4 * bubble.standardError
            + Self.knownBias(file) * analytic.latencySeconds + 1e-12
        #expect(abs(bubble.mean - analytic.bubbleSeconds) <= bubbleAllowance,
                "\(file): bubble event \(bubble.mean) (SE \(bubble.standardError)) vs analytic \(analytic.bubbleSeconds)")
    }

    @Test("jamba-style (2 assignments per expert): the closed form's mean imbalance matches the event engine's draws")
    func jambaImbalanceAgrees() throws {
        let scenario = try EventScenarioFiles.load("jamba-style.yaml")
        let n = 24
        let analytic = AnalyticEngine().run(scenario, steps: n)
        let event = try EventEngine(options: .init(steps: n)).run(scenario)
        let imbalance = eventMeanAndError(event.steps.map(\.moeImbalance))
        let gap = imbalance.mean / analytic.moeImbalance - 1
        // The normal approximation was 8% low here (2.21 against 2.41); the sum-conditioned binomial closed form
        // (RoutingStats) is within 2% plus the sampling error of 24 steps x 16 MoE layers (about 1%).
        #expect(abs(gap) < 0.02 + 3 * imbalance.standardError / imbalance.mean,
                "gap \(gap), event \(imbalance.mean) (SE \(imbalance.standardError)), analytic \(analytic.moeImbalance)")
        // ... and the step time agrees (decode reads the touched experts' weights; 16 sequences touch nearly all 16).
        #expect(abs(event.report.latencySeconds / analytic.latencySeconds - 1) < 0.01)
    }

    @Test("documented gap: dynamic-depth (gather) event mean is about 0.56% below, as fully-run layers skip gather/scatter")
    func documentedGatherGap() throws {
        let scenario = try EventScenarioFiles.load("dynamic-depth.yaml")
        let n = 200
        let analytic = AnalyticEngine().run(scenario)
        let event = try EventEngine(options: .init(steps: n, traceSteps: n)).run(scenario)
        let latency = eventMeanAndError(event.steps.map(\.latencySeconds))
        let gap = latency.mean / analytic.latencySeconds - 1
        let se = latency.standardError / analytic.latencySeconds
        #expect(abs(gap - -0.0056) <= 4 * se + 0.001, "gap \(gap) (SE \(se))")

        // The mechanism: layers that can skip (skip > 0) are always charged a gather in the closed form ...
        let depth = try #require(scenario.model.dynamicDepth)
        let skipping = Set(depth.skip.indices.filter { depth.skip[$0] > 0 })
        #expect(!skipping.isEmpty)
        let spans = AnalyticEngine(options: .init(layerRows: false, spans: true)).run(scenario).spans
        for layer in skipping {
            #expect(spans.contains { $0.layer == layer && $0.op == "depth.gather" }, "analytic layer \(layer) has its gather")
        }
        // ... but sampled steps in which every sequence runs such a layer have none.
        var fullyRun = 0, gathered = 0
        var byStepLayer: [Int: [String]] = [:]
        for span in event.trace where skipping.contains(span.layer) { byStepLayer[span.step * 1000 + span.layer, default: []].append(span.op) }
        for ops in byStepLayer.values where ops.contains("norm1") {
            if ops.contains("depth.gather") { gathered += 1 } else { fullyRun += 1 }
        }
        #expect(fullyRun > 0 && gathered > 0, "fully run \(fullyRun), gathered \(gathered)")
    }
}
