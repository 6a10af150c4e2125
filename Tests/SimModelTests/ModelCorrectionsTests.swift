import Foundation
import Testing
@testable import SimModel

/// The modelling corrections of routed decode, Mamba-2 SSD, FFF, splits, fusion and launches, each
/// checked on the lowered graph (issue 8's list).
@Suite struct ModelCorrectionsTests {
    /// A Mixtral-shaped layer (d 4096, 8 experts of 14336, top-2) decoding one sequence.
    static func mixtral(batch: Int, devices: Int = 1, capacity: String = "dropless") -> String {
        scenarioYAML(hardware: "nvidia-h200", phase: "decode", batch: batch, seqLen: 512, dModel: 4096,
                     blocks: ["moe: {mixer: {type: attention, heads: 32, kv_heads: 8, head_dim: 128}, mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 14336, capacity_factor: \(capacity), devices: \(devices)}}"],
                     layers: "[moe]")
    }

    @Test func decodeReadsOnlyTouchedExperts() throws {
        // Batch 1, top-2: exactly two experts' weights are read (2 x 3 x 4096 x 14336 x 2 bytes), not eight.
        let (_, graph) = try lowered(Self.mixtral(batch: 1))
        let t = graph.templates[0]
        let up = try #require(t.op("mlp.experts.gate_up")), down = try #require(t.op("mlp.experts.down"))
        guard case let .gemm(m, _, _, count) = up.kind else { Issue.record("not a GEMM"); return }
        #expect(approx(count, 2))
        #expect(approx(m, 1))
        let weightBytes = 2.0 * (2 * 14336 * 4096 + 14336 * 4096) * 2
        let activationBytes = up.bytes + down.bytes - weightBytes
        #expect(activationBytes > 0 && activationBytes < 1e6, "weights read \(up.bytes + down.bytes - activationBytes)")
        // Batch 64: nearly every expert: 8 (1 - (6/8)^64) = 8 - 8.0e-8.
        let (_, big) = try lowered(Self.mixtral(batch: 64))
        guard case let .gemm(_, _, _, bigCount) = try #require(big.templates[0].op("mlp.experts.gate_up")).kind else { return }
        #expect(approx(bigCount, 8 * (1 - pow(0.75, 64)), rel: 1e-9))
    }

    @Test func expertParallelTouchedPerDevice() throws {
        // 8 experts over 4 devices (2 each), batch 1 per device = 4 tokens of top-2 over all 8 experts: the busiest
        // device's experts touched, at most its 2.
        let (_, graph) = try lowered(Self.mixtral(batch: 1, devices: 4))
        guard case let .gemm(_, _, _, count) = try #require(graph.templates[0].op("mlp.experts.gate_up")).kind else { return }
        let stats = RoutingStats.compute(tokens: 4, topK: 2, experts: 8, routing: .uniform, capacityFactor: nil, devices: 4)
        #expect(count <= 2 && approx(count, stats.touchedExperts, rel: 1e-12))
        #expect(approx(stats.touchedExpertsAllDevices, 8 * (1 - pow(0.75, 4)), rel: 1e-12))
    }

    @Test func ssdIsPerGroupOnTwoPeaks() throws {
        let block = "m2: {mixer: {type: ssm, variant: mamba2, d_state: 128, head_dim: 64, groups: 1}}"
        let (scenario, graph) = try lowered(scenarioYAML(phase: "prefill", batch: 2, seqLen: 2048, dModel: 2560, blocks: [block], layers: "[m2]"))
        let ssd = try #require(graph.templates[0].op("ssm.ssd"))
        #expect(ssd.launches == 5)
        #expect(ssd.matrixFlops > 0 && ssd.matrixFlops < ssd.flops)
        // The matrix part runs at the bf16 tensor-core peak, the rest at the vector peak.
        let b = scenario.costModel.breakdown(ssd, share: 1, link: nil)
        let vectorShare = (b.computeSeconds - b.matrixSeconds) / b.computeSeconds
        #expect(vectorShare > 0.2 && vectorShare < 0.8, "vector part \(vectorShare) of the compute time")
        // Four groups add C.B^T work to the matrix part only (2 x Q x N per token per extra group).
        let grouped = "m2: {mixer: {type: ssm, variant: mamba2, d_state: 128, head_dim: 64, groups: 4}}"
        let (_, g4) = try lowered(scenarioYAML(phase: "prefill", batch: 2, seqLen: 2048, dModel: 2560, blocks: [grouped], layers: "[m2]"))
        let ssd4 = try #require(g4.templates[0].op("ssm.ssd"))
        #expect(approx(ssd4.matrixFlops - ssd.matrixFlops, 2 * 2048 * 2 * 256 * 3 * 128, rel: 1e-12))
        #expect(approx(ssd4.flops - ssd4.matrixFlops, ssd.flops - ssd.matrixFlops, rel: 1e-12))
    }

    @Test func ultraFastBERTUsesTwelveOf4095Neurons() throws {
        // UltraFastBERT-1x11 at d 768: inference evaluates depth + 1 = 12 neurons per token, each 2d in and 2d out;
        // a dense FF of the same 4095 neurons does 4 x 768 x 4095 per token: 4095/12 = 341x the work.
        let ufb = "f: {mixer: {type: none}, mlp: {type: fff, variant: ultrafastbert, depth: 11}}"
        let dense = "d: {mixer: {type: none}, mlp: {type: dense, activation: gelu, ffn_dim: 4095}}"
        func mlpFlops(_ block: String, _ phase: String) throws -> Double {
            let (_, g) = try lowered(scenarioYAML(hardware: "generic-cpu", phase: phase, batch: 4, seqLen: 128, dtype: "fp32", dModel: 768,
                                                  blocks: [block], layers: "[\(block.prefix(1))]"))
            return g.templates[0].ops.filter { $0.component == "mlp" }.reduce(0) { $0 + $1.flops }
        }
        let t = 512.0
        let inference = try mlpFlops(ufb, "prefill")
        #expect(approx(inference, t * 12 * (2 * 768 + 2 + 8 + 2 * 768), rel: 1e-12))
        let ratio = try mlpFlops(dense, "prefill") / inference
        #expect(ratio > 300 && ratio < 345, "dense / UltraFastBERT = \(ratio)")
        // Training (fff.py) evaluates every neuron under a mask: as costly as the dense layer, not 341x less.
        let training = try mlpFlops(ufb, "train"), denseTraining = try mlpFlops(dense, "train")
        #expect(training > denseTraining, "masked training \(training) vs dense \(denseTraining)")
        let hard = "f: {mixer: {type: none}, mlp: {type: fff, variant: ultrafastbert, depth: 11, training: hard}}"
        #expect(approx(try mlpFlops(hard, "train"), 3 * inference, rel: 1e-12))
        // Parameters: 4095 neurons x (768 in + 1 bias + 768 out) + the norm.
        let (_, g) = try lowered(scenarioYAML(hardware: "generic-cpu", dModel: 768, blocks: [ufb], layers: "[f]"))
        #expect(approx(g.templates[0].parameters, 4095 * (2 * 768 + 1) + 768, rel: 1e-12))
    }

    @Test func transfersBackwardOnce() throws {
        // Separate devices: the SSM branch's send and return cost 2 x (forward + backward) = 2 x 2 transfers per step,
        // not 3 x each: a transfer's backward is one more transfer.
        let block = "h: {mixer: {type: hybrid, layout: parallel, placement: separate_devices, attention: {heads: 4, head_dim: 16}, ssm: {d_state: 16}}}"
        let (_, prefill) = try lowered(scenarioYAML(phase: "prefill", batch: 2, seqLen: 256, blocks: [block], layers: "[h]"))
        let (_, train) = try lowered(scenarioYAML(phase: "train", batch: 2, seqLen: 256, blocks: [block], layers: "[h]"))
        let send = try #require(prefill.templates[0].op("hybrid.send_to_ssm_device")), trainSend = try #require(train.templates[0].op("hybrid.send_to_ssm_device"))
        #expect(approx(trainSend.bytes, 2 * send.bytes, rel: 1e-12))
        let sdpa = try #require(prefill.templates[0].op("attention.sdpa")), trainSdpa = try #require(train.templates[0].op("attention.sdpa"))
        #expect(approx(trainSdpa.flops, 3.5 * sdpa.flops, rel: 1e-12))
    }

    @Test func optimalSplitIsNoSlowerThanBalanced() throws {
        for placement in ["same_lane", "separate_lanes"] {
            func latency(_ split: String) throws -> (Double, BlockGraph) {
                let block = "h: {mixer: {type: hybrid, layout: split, split: \(split), placement: \(placement), attention: {heads: 8, kv_heads: 2, head_dim: 64}, ssm: {d_state: 16}}}"
                let (s, g) = try lowered(scenarioYAML(phase: "prefill", batch: 4, seqLen: 4096, dModel: 512, blocks: [block], layers: "[h]"))
                return (ListSchedule(ops: g.templates[0].ops, laneCount: g.lanes.count, cost: s.costModel, link: nil).latency, g.templates[0])
            }
            let (balancedLatency, balanced) = try latency("balanced")
            let (optimalLatency, optimal) = try latency("optimal")
            let solutions = try #require(optimal.splitSolutions)
            #expect(balanced.splitSolutions == solutions, "both modes report the same two solved ratios")
            #expect(optimal.splitRatio == solutions.optimal && balanced.splitRatio == solutions.balanced)
            #expect(optimalLatency <= balancedLatency * (1 + 1e-9), "\(placement): optimal \(optimalLatency) vs balanced \(balancedLatency)")
            if placement == "separate_lanes" {
                // Concurrent branches: the latency is their max, least where they are equal.
                #expect(abs(solutions.optimal - solutions.balanced) < 1e-3, "\(solutions)")
            } else {
                // One lane: the latency is their sum, least where the marginal costs are equal (attention's grows with
                // its share): not the balanced ratio.
                #expect(abs(solutions.optimal - solutions.balanced) > 1e-3, "\(solutions)")
                #expect(optimalLatency < balancedLatency * (1 - 1e-4))
            }
        }
    }

    @Test func fusionFoldsElementwiseIntoProducers() throws {
        let blocks = ["a: {mixer: {type: attention, heads: 4, head_dim: 16}, mlp: {type: dense, ffn_dim: 256}}"]
        let plain = try lowered(scenarioYAML(phase: "decode", batch: 1, seqLen: 512, blocks: blocks, layers: "[a]"))
        let yaml = scenarioYAML(phase: "decode", batch: 1, seqLen: 512, blocks: blocks, layers: "[a]")
            .replacingOccurrences(of: "workload:", with: "execution: {graphs: true, fuse: [activation, residual, norm]}\nworkload:")
        let fused = try lowered(yaml)
        let p = plain.graph.templates[0], f = fused.graph.templates[0]
        // SwiGLU folds into gate_up, residual1 into o_proj, residual2 into down, norm2 into residual1's producer; norm1
        // (its producer is the previous layer) stays without a launch.
        #expect(f.op("mlp.swiglu") == nil && f.op("residual1") == nil && f.op("residual2") == nil)
        let gateUp = try #require(f.ops.first { $0.name.hasPrefix("mlp.gate_up") })
        let plainGateUp = try #require(p.op("mlp.gate_up")), swiglu = try #require(p.op("mlp.swiglu"))
        // gate_up no longer writes its 2W output, it writes W: bytes fall by the intermediate's write and read.
        #expect(approx(gateUp.bytes, plainGateUp.bytes + swiglu.bytes - 4 * 256 * 2, rel: 1e-12))
        #expect(try #require(f.op("norm1")).launches == 0)
        #expect(f.ops.count < p.ops.count)
        // Same work, fewer launches, cheaper with graphs: the fused decode step is faster.
        let costPlain = ListSchedule(ops: p.ops, laneCount: 1, cost: plain.scenario.costModel, link: nil).latency
        let costFused = ListSchedule(ops: f.ops, laneCount: 1, cost: fused.scenario.costModel, link: nil).latency
        #expect(costFused < costPlain)
        #expect(approx(f.ops.reduce(0) { $0 + $1.modelFlops }, p.ops.reduce(0) { $0 + $1.modelFlops }, rel: 1e-12))
    }
}
