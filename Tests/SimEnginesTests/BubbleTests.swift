import Foundation
import Testing
@testable import SimEngines
import SimModel

/// Bubbles: idle lane-seconds of compute lanes inside layers.
@Suite("Bubbles")
struct BubbleTests {
    /// Scenarios with more than one compute lane (where bubbles can appear) and single-lane ones.
    static func multiLaneScenarios() throws -> [Scenario] {
        [
            try makeScenario(name: "par-lanes", seqLen: 512,
                             blocks: [Blocks.hybrid(layout: "parallel", placement: "{type: separate_lanes, attention_share: 0.3}")],
                             layers: "{pattern: [hyb], repeat: 3}"),
            try makeScenario(name: "seq-lanes", seqLen: 512,
                             blocks: [Blocks.hybrid(layout: "sequential", placement: "separate_lanes")],
                             layers: "{pattern: [hyb], repeat: 3}"),
            try makeScenario(name: "split-lanes", seqLen: 512,
                             blocks: [Blocks.hybrid(layout: "split", placement: "separate_lanes", extra: "split: 0.59"),
                                      Blocks.attention],
                             layers: "[hyb, attn, hyb]"),
            try makeScenario(name: "split-devices", seqLen: 512,
                             blocks: [Blocks.hybrid(layout: "split", placement: "separate_devices", extra: "split: 0.4")],
                             layers: "{pattern: [hyb], repeat: 2}"),
            try makeScenario(name: "moe-ep", batch: 4, seqLen: 256,
                             blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 1.25, devices: 8")],
                             layers: "{pattern: [moe], repeat: 2}"),
            try makeScenario(name: "par-lanes-decode", phase: "decode", batch: 8, seqLen: 2048,
                             blocks: [Blocks.hybrid(layout: "parallel", placement: "separate_lanes")],
                             layers: "{pattern: [hyb], repeat: 2}"),
        ]
    }

    static func singleLaneScenarios() throws -> [Scenario] {
        [
            try makeScenario(name: "attn", seqLen: 512, blocks: [Blocks.attention], layers: "{pattern: [attn], repeat: 4}"),
            try makeScenario(name: "ssm", seqLen: 512, blocks: [Blocks.ssm], layers: "{pattern: [ssm], repeat: 4}"),
            try makeScenario(name: "attn-ssm", phase: "decode", batch: 4, seqLen: 1024, blocks: [Blocks.attention, Blocks.ssm],
                             layers: "[attn, ssm, ssm, attn]"),
            try makeScenario(name: "par-same", seqLen: 512, blocks: [Blocks.hybrid(layout: "parallel")],
                             layers: "{pattern: [hyb], repeat: 2}"),
            try makeScenario(name: "split-same", phase: "train", batch: 2, seqLen: 512,
                             blocks: [Blocks.hybrid(layout: "split", extra: "split: balanced")], layers: "{pattern: [hyb], repeat: 2}"),
            try makeScenario(name: "seq-same", seqLen: 512, blocks: [Blocks.hybrid(layout: "sequential")],
                             layers: "{pattern: [hyb], repeat: 2}"),
            try makeScenario(name: "moe-local", batch: 2, seqLen: 256,
                             blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, shared_experts: 1")],
                             layers: "{pattern: [moe], repeat: 2}"),
            try makeScenario(name: "depth", batch: 2, seqLen: 256, blocks: [Blocks.attention], layers: "{pattern: [attn], repeat: 3}",
                             extras: ["dynamic_depth: {skip: [0.1, 0.3, 0.2], repeat: [0.1, 0.0, 0.2], compaction: full_batch, granularity: sequence}"]),
        ]
    }

    @Test("Every layer row has busy >= 0, idle >= 0 and busy + idle = the layer's window")
    func rowsAreNonNegative() throws {
        for scenario in try Self.multiLaneScenarios() + Self.singleLaneScenarios() {
            let report = run(scenario)
            #expect(!report.layers.isEmpty, "\(scenario.name): no layer rows")
            for row in report.layers {
                let window = row.endSeconds - row.startSeconds
                #expect(row.idleSeconds >= 0, "\(scenario.name) layer \(row.layer) lane \(row.lane): idle \(row.idleSeconds)")
                #expect(row.busySeconds >= 0, "\(scenario.name) layer \(row.layer) lane \(row.lane): busy \(row.busySeconds)")
                #expect(window > 0)
                #expect(approx(row.busySeconds + row.idleSeconds, window, rel: 1e-8),
                        "\(scenario.name) layer \(row.layer) lane \(row.lane): busy \(row.busySeconds) + idle \(row.idleSeconds) != window \(window)")
            }
            for lane in report.lanes {
                #expect(lane.idleSeconds >= 0, "\(scenario.name) lane \(lane.name): idle \(lane.idleSeconds)")
                #expect(lane.utilisation >= 0 && lane.utilisation <= 1 + 1e-12, "\(scenario.name) lane \(lane.name): utilisation \(lane.utilisation)")
            }
            #expect(report.bubbleSeconds >= 0)
        }
    }

    @Test("Layer rows tile the step: one row per layer and compute lane, each layer starting where the previous ended")
    func rowsTile() throws {
        for scenario in try Self.multiLaneScenarios() {
            let report = run(scenario)
            let compute = report.computeLaneNames
            #expect(report.layers.count == scenario.model.layers.count * compute.count, "\(scenario.name)")
            for lane in compute {
                let rows = report.rows(lane: lane)
                #expect(rows.map(\.layer) == Array(0..<scenario.model.layers.count), "\(scenario.name) lane \(lane)")
                for (a, b) in zip(rows, rows.dropFirst()) {
                    #expect(approx(a.endSeconds, b.startSeconds, rel: 1e-12), "\(scenario.name) lane \(lane): gap between layers \(a.layer) and \(b.layer)")
                }
                if let last = rows.last { #expect(last.endSeconds <= report.latencySeconds * (1 + 1e-12)) }
            }
        }
    }

    @Test("bubble_s = sum of per-layer idle over compute lanes; bubble fraction = bubble / (latency x compute lanes)")
    func bubbleIsSumOfLayerIdle() throws {
        for scenario in try Self.multiLaneScenarios() + Self.singleLaneScenarios() {
            let report = run(scenario)
            let computeNames = Set(report.computeLaneNames)
            let idle = report.layers.filter { computeNames.contains($0.lane) }.reduce(0) { $0 + $1.idleSeconds }
            #expect(approx(report.bubbleSeconds, idle, rel: 1e-9), "\(scenario.name): bubble \(report.bubbleSeconds) vs row idle \(idle)")
            let fraction = report.bubbleSeconds / (report.latencySeconds * Double(computeNames.count))
            #expect(approx(report.bubbleFraction, fraction, rel: 1e-12), "\(scenario.name)")
            #expect(report.bubbleFraction >= 0 && report.bubbleFraction < 1)
        }
    }

    @Test("With both compute lanes held by the prologue and epilogue, lane idle adds up to the bubble")
    func laneIdleMatchesBubbleOnSeparateLanes() throws {
        // Separate lanes of one device: the embedding, norms, MLP and LM head hold both lanes, so every idle
        // lane-second outside layers is zero and the lane summaries' idle must sum to the bubble.
        let scenario = try makeScenario(seqLen: 512, blocks: [Blocks.hybrid(layout: "parallel", placement: "separate_lanes")],
                                        layers: "{pattern: [hyb], repeat: 3}")
        let report = run(scenario)
        let laneIdle = report.lanes.filter { $0.kind == "compute" }.reduce(0) { $0 + $1.idleSeconds }
        #expect(report.bubbleSeconds > 0)
        #expect(approx(laneIdle, report.bubbleSeconds, rel: 1e-8), "lane idle \(laneIdle) vs bubble \(report.bubbleSeconds)")
    }

    @Test("Single-lane scenarios have no bubble at all")
    func singleLaneHasNoBubble() throws {
        for scenario in try Self.singleLaneScenarios() {
            let report = run(scenario)
            #expect(report.computeLaneNames.count == 1, "\(scenario.name): lanes \(report.lanes.map(\.name))")
            #expect(report.bubbleSeconds == 0, "\(scenario.name): bubble \(report.bubbleSeconds)")
            #expect(report.bubbleFraction == 0, "\(scenario.name)")
            for row in report.layers { #expect(row.idleSeconds == 0, "\(scenario.name) layer \(row.layer): idle \(row.idleSeconds)") }
            // One lane: its busy time is the whole step.
            if let lane = report.lanes.first {
                #expect(approx(lane.busySeconds, report.latencySeconds, rel: 1e-9), "\(scenario.name)")
            }
        }
    }
}
