import Foundation
import Testing
@testable import Calibration
import Kernels
import SimEngines
import SimMath
import SimModel

// `approx` comes from the shared TestSupport target, for every file of this target.
@_exported import TestSupport

let tinyCPUScenario = """
schema_version: 1
name: tiny-cpu
hardware: generic-cpu
workload: {phase: prefill, batch: 1, seq_len: 64, dtype: fp32}
model:
  d_model: 64
  vocab: 100
  include_embedding: false
  blocks:
    hyb:
      mixer: {type: hybrid, layout: parallel, fusion: mean, placement: separate_lanes,
              attention: {heads: 2, kv_heads: 1, head_dim: 32}, ssm: {variant: mamba1, d_state: 16}}
      mlp: {type: moe, experts: 4, top_k: 2, expert_ffn_dim: 64, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}}
  layers: [hyb, hyb]
"""

@Suite("OpRunner: how an op is cut into parts")
struct OpRunnerTests {
    @Test("chunks cover every item exactly once, sizes differ by at most one")
    func chunks() {
        for total in [0, 1, 7, 64, 1001] {
            for parts in 1...5 {
                var covered = 0
                var sizes: [Int] = []
                for p in 0..<parts {
                    let c = OpRunner.chunk(total, p, parts)
                    #expect(c.start == covered)
                    covered += c.count
                    sizes.append(c.count)
                }
                #expect(covered == total)
                #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
            }
        }
    }

    @Test("buffers are sized for the largest op: a GEMM needs A, B (per weight block) and C")
    func requirements() {
        let r = OpRunner.requirement(.gemm(m: 10, n: 20, k: 30, count: 3))
        #expect(r.inputs == 10 * 30 + 3 * 30 * 20)
        #expect(r.outputs == 10 * 20)
        let g = OpRunner.requirement(.gemm(m: 1, n: 2, k: 3, count: 100))
        #expect(g.inputs == 1 * 3 + OpRunner.weightBlocks * 3 * 2, "grouped GEMMs cycle through a bounded number of weight blocks")
    }
}

@Suite("OpRunner: what each op runs")
struct OpRunnerKernelTests {
    static func op(_ kind: OpKind, _ opClass: OpClass, _ role: OpRole) -> Op {
        Op.standalone(name: "t", kind: kind, opClass: opClass, role: role, elementBytes: 4, share: 1, laneMask: 1)
    }

    @Test("a skinny GEMM split over parts by columns gives the product the whole GEMM gives (m = 1: sgemv; 4: SkinnyGEMM; 8: sgemm)")
    func skinnyGEMMColumnSplit() {
        for m in [1, 4, 8] {
            let kind = OpKind.gemm(m: Double(m), n: 300, k: 70, count: 1)
            let need = OpRunner.requirement(kind)
            let runner = OpRunner(lanes: 1, inputs: need.inputs, outputs: need.outputs, dModel: 16)
            let a = runner.arenas[0]
            runner.run(Self.op(kind, .gemm, .projection), part: 0, of: 1, lane: 0)
            let whole = Array(UnsafeBufferPointer(start: a.outputs, count: m * 300))
            a.outputs.update(repeating: 0, count: m * 300)
            for part in 0..<3 { runner.run(Self.op(kind, .gemm, .projection), part: part, of: 3, lane: 0) }
            let split = Array(UnsafeBufferPointer(start: a.outputs, count: m * 300))
            // The reference: the same product in Double.
            for row in 0..<m {
                for column in [0, 99, 100, 299] {
                    var sum = 0.0
                    for i in 0..<70 { sum += Double(a.inputs[row * 70 + i]) * Double(a.inputs[m * 70 + i * 300 + column]) }
                    #expect(abs(Double(whole[row * 300 + column]) - sum) <= 1e-5)
                }
            }
            #expect(zip(whole, split).allSatisfy { abs($0 - $1) <= 1e-6 }, "m = \(m): the column parts compose the whole product")
        }
    }

    @Test("persistent data: every op its own region of the pool, wrapping when full; a GEMM reads its weights there")
    func persistentPool() {
        let kinds: [OpKind] = [.gemm(m: 1, n: 4, k: 5, count: 2), .elementwise(elements: 9, flopsPerElement: 1, reads: 2, writes: 1),
                               .selectiveScan(batch: 2, length: 1, dInner: 3, dState: 4, decodeState: true), .gemm(m: 1, n: 4, k: 5, count: 2)]
        #expect(OpRunner.persistentFloats(kinds[0]) == 2 * 4 * 5)
        #expect(OpRunner.persistentFloats(kinds[2]) == 2 * 3 * 4)
        var cursor = 0
        #expect(OpRunner.persistentOffsets(kinds, poolCount: 1000, cursor: &cursor) == [0, nil, 40, 64])
        cursor = 0
        #expect(OpRunner.persistentOffsets(kinds, poolCount: 50, cursor: &cursor) == [0, nil, 0, 0], "wraps to the start when full")
        // y = x · W with W at the op's offset in the pool: a constant 0.01 there, so y = 0.01 x Σ x.
        let kind = OpKind.gemm(m: 1, n: 8, k: 6, count: 1)
        let need = OpRunner.requirement(kind)
        let runner = OpRunner(lanes: 1, inputs: need.inputs, outputs: need.outputs, dModel: 8, persistent: 100)
        let a = runner.arenas[0]
        runner.run(Self.op(kind, .gemm, .projection), part: 0, of: 1, lane: 0, persistentOffset: 20)
        let expected = (0..<6).reduce(0.0) { $0 + 0.01 * Double(a.inputs[$1]) }
        #expect(abs(Double(a.outputs[7]) - expected) <= 1e-6)
    }

    @Test("each elementwise role runs its own kernel on the op's arrays (no role falls back to an add)")
    func elementwiseRoles() {
        let n = 40
        let kind = OpKind.elementwise(elements: Double(n), flopsPerElement: 1, reads: 3, writes: 3)
        let need = OpRunner.requirement(kind)
        #expect(need.inputs >= 3 * n && need.outputs >= 3 * n, "room for every array the op reads and writes")
        let runner = OpRunner(lanes: 1, inputs: need.inputs, outputs: need.outputs, dModel: 8)
        let a = runner.arenas[0]
        func result(_ role: OpRole) -> [Float] {
            a.outputs.update(repeating: 0, count: a.outputCount)
            runner.run(Self.op(kind, .elementwise, role), part: 0, of: 1, lane: 0)
            return Array(UnsafeBufferPointer(start: a.outputs, count: n))
        }
        let x = (0..<n).map { Double(a.inputs[$0]) }, y = (0..<n).map { Double(a.inputs[n + $0]) }
        let add = result(.residual), mask = result(.mask), mean = result(.mean), blend = result(.blend)
        for i in 0..<n {
            #expect(abs(Double(add[i]) - (x[i] + y[i])) <= 1e-6)
            #expect(abs(Double(mask[i]) - x[i] * y[i]) <= 1e-6)
            #expect(abs(Double(mean[i]) - (x[i] + y[i]) / 2) <= 1e-6)
            #expect(abs(Double(blend[i]) - (0.5 * x[i] + 0.5 * y[i])) <= 1e-6)
        }
        // The weighted sum reads all three inputs; the optimizer updates parameters in place.
        let sum = result(.weightedSum)
        let w = (0..<3).map { Double(a.inputs[3 * n + $0]) }
        for i in [0, 17, 39] {
            let expected = (0..<3).map { w[$0] * Double(a.inputs[$0 * n + i]) }.reduce(0, +)
            #expect(abs(Double(sum[i]) - expected) <= 1e-6)
        }
        let adam = result(.optimizer)
        #expect(adam.contains { $0 != 0 }, "the Adam step moved the parameters")
        #expect(result(.rmsNorm) != result(.gatedNorm), "the gated norm gates before it normalises")
    }
}

@Suite("RealExecutor")
struct RealExecutorTests {
    @Test("the worker pool parks when idle and wakes for new work; many blocks run in one pass")
    func poolParksAndWakes() throws {
        let workers = LaneWorkers(lanes: 2, cores: [0, 1])
        defer { workers.shutdown() }
        let runner = OpRunner(lanes: 2, inputs: 64, outputs: 64, dModel: 8)
        let executor = RealExecutor()
        // After an idle spell longer than the spin, the workers have parked: work must still reach them.
        Thread.sleep(forTimeInterval: Double(LaneWorkers.spinNanoseconds) * 3e-9)
        let one = try executor.chainSecondsPerOp(count: 50, cores: [0, 1], workers: workers, runner: runner)
        #expect(one > 0)
        var ops: [Op] = []
        for i in 0..<4 {
            var op = Op.standalone(name: "t", kind: .elementwise(elements: 8, flopsPerElement: 1, reads: 2, writes: 1),
                                   opClass: .elementwise, role: .residual, elementBytes: 4, share: 1, laneMask: i % 2 == 0 ? 1 : 2)
            op.index = i
            op.dependencies = i < 2 ? [] : [i - 2, i - 1]
            ops.append(op)
        }
        let block = BlockGraph(blockName: "b", ops: ops, splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                               weightBytes: 0, kvCacheBytes: 0, ssmStateBytes: 0, activationBytes: 0, parameters: 0, denseModelFlops: 0)
        let empty = BlockGraph(blockName: "e", ops: [], splitRatio: nil, routing: nil, routesExperts: false, expectedExecutions: 1,
                               weightBytes: 0, kvCacheBytes: 0, ssmStateBytes: 0, activationBytes: 0, parameters: 0, denseModelFlops: 0)
        let schedules = try executor.execute([empty, block, block, empty, block], laneCount: 2, workers: workers, runner: runner,
                                             laneCores: [[0], [1]])
        #expect(schedules.count == 5)
        #expect(schedules[0].latency == 0 && schedules[3].latency == 0)
        for s in [schedules[1], schedules[2], schedules[4]] {
            #expect(s.latency > 0)
            // Dependencies held: op 2 and 3 start after both 0 and 1 end.
            #expect(s.starts[2] >= max(s.ends[0], s.ends[1]) && s.starts[3] >= max(s.ends[0], s.ends[1]))
        }
    }


    @Test("lanes own cores: one lane gets every core, two lanes on two cores one each")
    func laneCores() throws {
        let one = try ScenarioLoader.decode(text: tinyCPUScenario.replacingOccurrences(of: "placement: separate_lanes", with: "placement: same_lane"))
        let two = try ScenarioLoader.decode(text: tinyCPUScenario)
        #expect(RealExecutor.laneCores(Lowering.lower(one), cores: 2) == [[0, 1]])
        #expect(RealExecutor.laneCores(Lowering.lower(two), cores: 2) == [[0], [1]])
        #expect(RealExecutor.laneCores(Lowering.lower(two), cores: 1) == [[0], [0]])
    }

    @Test("measures a scenario: a report with engine=measured, positive times, every op spanned, bubbles >= 0")
    func measure() throws {
        let scenario = try ScenarioLoader.decode(text: tinyCPUScenario)
        let report = try RealExecutor(options: .init(steps: 2, warmupRuns: 0, repeats: 1)).measure(scenario)
        #expect(report.engine == "measured")
        #expect(report.latencySeconds > 0)
        #expect(report.bubbleSeconds >= 0)
        #expect(report.stepStatistics?.steps == 2)
        let graph = Lowering(scenario: scenario, sampler: try RandomRoutingSampler(seed: scenario.seed)).lower()
        let opCount = graph.layers.reduce(graph.prologue.ops.count + graph.epilogue.ops.count) { $0 + graph.templates[$1.template].ops.count }
        #expect(report.spans.count == opCount)
        for span in report.spans { #expect(span.endSeconds >= span.startSeconds) }
        // The same seeded draws as the event engine: same executed FLOPs for the first step.
        let event = try EventEngine(options: .init(steps: 1)).run(scenario).report
        let first = try RealExecutor(options: .init(steps: 1, warmupRuns: 0, repeats: 1)).measure(scenario)
        #expect(approx(first.executedFlops, event.executedFlops, rel: 1e-12))
        #expect(approx(first.modelFlops, event.modelFlops, rel: 1e-12))
    }

    @Test("refuses GPU profiles and scenarios predicted to take too long, with the file named")
    func refusals() throws {
        let gpu = try ScenarioLoader.decode(text: tinyCPUScenario.replacingOccurrences(of: "generic-cpu", with: "nvidia-h100-sxm"), file: "g.yaml")
        #expect(throws: RealExecutor.RefusedError.self) { try RealExecutor().measure(gpu) }
        let big = try ScenarioLoader.decode(text: tinyCPUScenario.replacingOccurrences(of: "seq_len: 64", with: "seq_len: 65536")
            .replacingOccurrences(of: "batch: 1", with: "batch: 64"), file: "big.yaml")
        do {
            _ = try RealExecutor().measure(big)
            Issue.record("a scenario predicted at minutes per step was measured")
        } catch let e as RealExecutor.RefusedError {
            #expect(e.description.contains("big.yaml"))
        }
    }
}

@Suite("Calibrator fit")
struct CalibratorFitTests {
    /// Synthetic samples from known curve parameters (2 % deterministic noise) are recovered.
    @Test("recovers known efficiency parameters from synthetic timings, held-out error small")
    func recovers() throws {
        let peak = 200e9, bandwidth = 40e9
        let overheads = Calibrator.Overheads(launch: 1e-6, split: 5e-6, cores: 2)
        let truth = [0.7, 2e6, 0.8, 1e5]
        var samples: [Calibrator.Sample] = []
        var i = 0
        for flops in [1e5, 1e6, 1e7, 1e8, 1e9, 5e9] {
            for intensity in [0.5, 4.0, 60.0] {
                for share in [0.5, 1.0] {
                    let bytes = flops / intensity
                    let t = Calibrator.predict(flops: flops, bytes: bytes, share: share, overheads: overheads, peak: peak,
                                               bandwidth: bandwidth, truth)
                    let noise = 1 + 0.02 * sin(Double(i) * 1.7)
                    samples.append(.init(opClass: .gemm, shape: "s\(i)", flops: flops, bytes: bytes, share: share, seconds: t * noise,
                                         repetitions: 9, outliers: 0, heldOut: i % 4 == 3))
                    i += 1
                }
            }
        }
        let fit = try Calibrator().fit(.gemm, samples, overheads: overheads, peak: peak, bandwidth: bandwidth)
        #expect(fit.converged, "\(fit.reason)")
        #expect(approx(fit.curve.peak, 0.7, rel: 0.05))
        #expect(approx(fit.curve.memory, 0.8, rel: 0.05))
        #expect(fit.rSquared > 0.99)
        #expect(fit.heldOutMedianError < 0.05)
        #expect(fit.heldOutPoints > 0)
    }

    @Test("recovers gemm_half_rows, sequential phases and the cache term from synthetic timings of skinny, square, hot and cold GEMMs")
    func recoversRowsPhasesAndCache() throws {
        let peak = 200e9, bandwidth = 40e9
        let cache = Calibrator.Cache(bytes: 8e6, bandwidth: 160e9)
        let overheads = Calibrator.Overheads(launch: 1e-6, split: 0, cores: 1)
        let truth = [0.8, 1e5, 0.6, 0, 6.0]
        var samples: [Calibrator.Sample] = []
        var i = 0
        for m in [1.0, 2, 4, 16, 256, 1024] {
            for (n, k) in [(1024.0, 1024.0), (4096.0, 512.0), (512.0, 2048.0)] {
                for hot in [false, true] {
                    let weights = 4 * n * k, bytes = 4 * (m * k + n * k + m * n), flops = 2 * m * n * k
                    var s = Calibrator.Sample(opClass: .gemm, shape: "s\(i)", flops: flops, bytes: bytes, share: 1, seconds: 0,
                                              repetitions: 9, outliers: 0, heldOut: i % 4 == 3, rows: m, persistentBytes: weights,
                                              persistentHot: hot)
                    s.seconds = Calibrator.predict(s, overheads: overheads, peak: peak, bandwidth: bandwidth, cache: cache,
                                                   sequentialPhases: true, truth) * (1 + 0.01 * sin(Double(i) * 1.3))
                    samples.append(s)
                    i += 1
                }
            }
        }
        let fit = try Calibrator().fit(.gemm, samples, overheads: overheads, peak: peak, bandwidth: bandwidth, cache: cache)
        #expect(fit.converged, "\(fit.reason)")
        #expect(fit.gemmSequentialPhases, "sequential phases fit these timings better than overlapped ones")
        #expect(approx(try #require(fit.gemmHalfRows), 6, rel: 0.1))
        #expect(approx(fit.curve.peak, 0.8, rel: 0.05))
        #expect(approx(fit.curve.memory, 0.6, rel: 0.05))
        #expect(fit.heldOutMedianError < 0.03)
    }

    @Test("too few shapes to fit is an error, not a profile")
    func tooFew() {
        let s = Calibrator.Sample(opClass: .conv, shape: "x", flops: 1e6, bytes: 1e5, share: 1, seconds: 1e-5, repetitions: 5, outliers: 0, heldOut: false)
        #expect(throws: Calibrator.CalibrationError.self) {
            try Calibrator().fit(.conv, [s, s, s], overheads: .init(launch: 0, split: 0, cores: 1), peak: 1e9, bandwidth: 1e9)
        }
    }

    @Test("the written profile reads back through the loader `run` uses, with provenance and fit report")
    func writtenProfileLoads() throws {
        let fit = Calibrator.ClassFit(opClass: .gemm, label: "gemm", curve: .init(peak: 0.7, halfSizeFlops: 1e6, memory: 2.5, halfSizeBytes: 1e4),
                                      standardErrors: [0.01, 1e4, 0.1, 10], rSquared: 0.99, points: 10, heldOutPoints: 3,
                                      heldOutMedianError: 0.05, heldOutP90Error: 0.1, converged: true, reason: "small step")
        var profile = Calibrator(options: .init(name: "test-cpu")).makeProfile(fits: [fit], overhead: 2e-6, peak: 2e11, bandwidth: 4e10, cores: 2)
        profile.splitOverheadSeconds = 1e-5
        let yaml = ProfileWriter.yaml(profile, fits: [fit], samples: [], fmaOne: 1e11, fmaAll: 2e11, bwOne: 2e10, bwAll: 4e10,
                                      overhead: 1e-7, quick: true, seconds: 1)
        let loaded = try HardwareProfileLoader.decode(text: yaml, file: "test-cpu.yaml")
        #expect(loaded.name == "test-cpu")
        #expect(loaded.kind == .cpu)
        #expect(loaded.peakFlops[.fp32] == 2e11)
        #expect(loaded.splitOverheadSeconds == 1e-5)
        #expect(loaded.curve(.gemm).memory == 2.5)
        #expect(loaded.provenance["written_by"]?.contains("calibrate") == true)
        #expect(loaded.sources["peak_flops.fp32"]?.contains("measured") == true)
    }
}

@Suite("Validation")
struct ValidationTests {
    @Test("median and p90 of absolute errors, nearest rank")
    func percentiles() {
        let r = Validation.medianAndP90([-0.3, 0.1, 0.2, -0.05, 0.4, 0.0, 0.15, -0.12, 0.08, 0.5])
        #expect(approx(r.median, 0.12, rel: 1e-12))
        #expect(approx(r.p90, 0.4, rel: 1e-12))
    }

    @Test("a validation row's errors are (predicted - measured) / measured")
    func rowErrors() {
        let row = Validation.Row(scenario: "s", level: "scenario", measuredSeconds: 2, repeatSeconds: 2.2, analyticSeconds: 1.5,
                                 eventSeconds: 2.5, measuredBubbleSeconds: 0, analyticBubbleSeconds: 0)
        #expect(approx(row.analyticError, -0.25, rel: 1e-12))
        #expect(approx(row.eventError, 0.25, rel: 1e-12))
        #expect(approx(row.repeatability, 0.1, rel: 1e-12))
    }
}
