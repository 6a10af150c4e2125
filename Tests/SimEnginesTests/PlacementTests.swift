import Foundation
import Testing
@testable import SimEngines
import SimModel

/// Devices and links: separate_devices hybrids and expert parallelism.
@Suite("Devices and links")
struct PlacementTests {
    static let withSpans = AnalyticEngine(options: .init(layerRows: true, spans: true))

    @Test("separate_devices: a second device lane, a link lane, and transfers on the link", arguments: ["parallel", "sequential", "split"])
    func separateDevices(layout: String) throws {
        let extra = layout == "split" ? "split: 0.5" : ""
        let scenario = try makeScenario(batch: 2, seqLen: 1024,
                                        blocks: [Blocks.hybrid(layout: layout, placement: "separate_devices", extra: extra)],
                                        layers: "{pattern: [hyb], repeat: 2}")
        let report = Self.withSpans.run(scenario)
        #expect(report.lanes.map(\.name) == ["gpu0", "gpu1", "nvlink4"], "\(layout): \(report.lanes.map(\.name))")
        #expect(report.lanes.map(\.kind) == ["compute", "compute", "link"], "\(layout)")
        for layer in 0..<2 {
            let spans = report.spans(layer: layer)
            let send = try #require(spans.first { $0.op == "hybrid.send_to_ssm_device" }, "\(layout): no send")
            let back = try #require(spans.first { $0.op == "hybrid.return_from_ssm_device" }, "\(layout): no return")
            #expect(send.lanes == ["nvlink4"] && back.lanes == ["nvlink4"], "\(layout): \(send.lanes) \(back.lanes)")
            #expect(send.bound == "link")
            // The SSM runs on the second device, attention on the first.
            for s in spans where s.op.hasPrefix("ssm.") { #expect(s.lanes == ["gpu1"], "\(layout) \(s.op): \(s.lanes)") }
            for s in spans where s.op.hasPrefix("attention.") { #expect(s.lanes == ["gpu0"], "\(layout) \(s.op): \(s.lanes)") }
            // The SSM starts after its input arrives and the result is sent back after it ends.
            let ssm = spans.filter { $0.op.hasPrefix("ssm.") }
            #expect(ssm.allSatisfy { $0.startSeconds >= send.endSeconds * (1 - 1e-12) })
            #expect(ssm.allSatisfy { $0.endSeconds <= back.startSeconds * (1 + 1e-12) })
            // Link time: latency + bytes / bandwidth, bytes = tokens to the SSM x d_model x 2 bytes.
            let tokens = 2 * 1024 * (layout == "split" ? 0.5 : 1.0)
            let bytes = tokens * 256 * 2
            #expect(approx(send.bytes, bytes, rel: 1e-12), "\(layout): \(send.bytes) vs \(bytes)")
            #expect(approx(send.duration, 2e-6 + bytes / 450e9, rel: 1e-9), "\(layout): \(send.duration)")
        }
        let link = try #require(report.lanes.last)
        #expect(link.busySeconds > 0)
        #expect(report.layers.contains { $0.lane == "gpu1" })
        #expect(!report.layers.contains { $0.lane == "nvlink4" }, "layer rows are for compute lanes only")
    }

    @Test("MoE over 8 devices: all-to-all dispatch and combine on the link lane")
    func expertParallelAllToAll() throws {
        let scenario = try makeScenario(batch: 4, seqLen: 512,
                                        blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 1.25, devices: 8")],
                                        layers: "{pattern: [moe], repeat: 2}")
        let report = Self.withSpans.run(scenario)
        #expect(report.lanes.map(\.name) == ["gpu0", "nvlink4"])
        #expect(report.lanes.map(\.kind) == ["compute", "link"])
        // The all-to-all moves the busiest device's rows: with capacity factor 1.25 its expert's padded buffer of
        // ceil(1.25 x 8 x 2048 x 2 / 8) = 5120 rows, 7/8 of them from other devices, 256 x 2 bytes each.
        let bytes = 5120.0 * 256 * 2 * 7 / 8
        for layer in 0..<2 {
            let spans = report.spans(layer: layer)
            for name in ["mlp.dispatch_all_to_all", "mlp.combine_all_to_all"] {
                let op = try #require(spans.first { $0.op == name }, "no \(name)")
                #expect(op.lanes == ["nvlink4"], "\(name): \(op.lanes)")
                #expect(approx(op.bytes, bytes, rel: 1e-12), "\(name): \(op.bytes) vs \(bytes)")
                // 7 messages of 2 us latency plus the bytes at 450 GB/s.
                #expect(approx(op.duration, 7 * 2e-6 + bytes / 450e9, rel: 1e-9), "\(name): \(op.duration)")
            }
            #expect(!spans.contains { $0.op == "mlp.dispatch" || $0.op == "mlp.combine" })
        }
        #expect(report.lanes[1].busySeconds > 0)
        // The compute lane waits for the link: a bubble on the one compute lane.
        #expect(report.bubbleSeconds > 0)

        let local = run(try makeScenario(batch: 4, seqLen: 512,
                                         blocks: [Blocks.moe("experts: 8, top_k: 2, expert_ffn_dim: 512, capacity_factor: 1.25")],
                                         layers: "{pattern: [moe], repeat: 2}"))
        #expect(local.lanes.map(\.name) == ["gpu0"], "no link lane without expert parallelism")
    }
}
