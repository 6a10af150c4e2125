// Event engine throughput, measured beside SimPy (the generic discrete-event library people learn
// from) on the same two workloads in the same run, plus a 48-layer MoE hybrid over 1,000 decode steps.
//
// (a) one process chaining 1,000,000 timed events (EventHeap push + pop);
// (b) 1,000 lanes each running a chain of 1,000 ops (LaneSimulator over one CompiledBlock);
// (c) hybridsim's event engine on a 48-layer MoE hybrid, 1,000 decode steps, every step re-lowered
//     with drawn expert loads and simulated.
// SimPy runs through the interpreter named by $HYBRIDSIM_PYTHON (`make bench` makes a virtual
// environment with simpy from PyPI); without it the ratios are skipped and said so.
import Foundation
import SimEngines
import SimModel

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func best(_ rounds: Int = 3, _ body: () throws -> Double) rethrows -> Double {
    var t = Double.infinity
    for _ in 0..<rounds { t = min(t, try body()) }
    return t
}

// (a) chain of timed events.
let chainCount = 1_000_000
var sink = 0.0
let chainSeconds = best {
    var heap = EventHeap(capacity: 16)
    let start = now()
    heap.push(time: 0, payload: 0)
    var processed = 0
    while let e = heap.pop() {
        processed += 1
        sink += e.time
        if processed < chainCount { heap.push(time: e.time + 1, payload: e.payload) }
    }
    return now() - start
}

// (b) 1,000 lanes x 1,000 ops, each lane a chain, durations 1 + (lane*7 + i) % 5.
let laneCount = 1_000, opsPerLane = 1_000
var durations: [Double] = [], lanes: [[Int32]] = [], deps: [[Int32]] = []
durations.reserveCapacity(laneCount * opsPerLane)
for lane in 0..<laneCount {
    for i in 0..<opsPerLane {
        durations.append(Double(1 + (lane * 7 + i) % 5))
        lanes.append([Int32(lane)])
        deps.append(i == 0 ? [] : [Int32(lane * opsPerLane + i - 1)])
    }
}
let block = try CompiledBlock(durations: durations, lanes: lanes, dependencies: deps)
var simulator = LaneSimulator(laneCount: laneCount)
var makespan = 0.0
let lanesSeconds = try best {
    let start = now()
    makespan = try simulator.run(block, start: 0)
    return now() - start
}

// (c) 48-layer MoE hybrid, 1,000 decode steps.
let scenarioText = """
schema_version: 1
name: bench-moe-hybrid-decode
hardware: nvidia-h100-sxm
workload: {phase: decode, batch: 32, seq_len: 4096, dtype: bf16}
model:
  d_model: 2048
  vocab: 65536
  blocks:
    hyb:
      mixer:
        type: hybrid
        layout: parallel
        fusion: mean
        placement: {type: separate_lanes, attention_share: 0.5}
        attention: {heads: 32, kv_heads: 8, head_dim: 64}
        ssm: {variant: mamba1, d_state: 16}
      mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 5632, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}}
  layers: {pattern: [hyb], repeat: 48}
"""
let scenario = try ScenarioLoader.decode(text: scenarioText, file: "bench.yaml")
let engine = EventEngine(options: .init(steps: 1_000, traceSteps: 0, report: .init(layerRows: false, spans: false)))
var result: EventEngine.Result? = nil
let scenarioSeconds = try best(2) {
    let start = now()
    result = try engine.run(scenario)
    return now() - start
}

// SimPy, same run.
var simpy: (version: String, chain: Double, lanes: Double)? = nil
var simpyNote = ""
if let python = ProcessInfo.processInfo.environment["HYBRIDSIM_PYTHON"] {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("simpy_baseline.py").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script]
    let pipe = Pipe()
    process.standardOutput = pipe
    do {
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var version = "?", chain = 0.0, lanesT = 0.0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.first == "simpy", f.count > 1 { version = String(f[1]) }
            if f.first == "chain", f.count > 2 { chain = Double(f[2]) ?? 0 }
            if f.first == "lanes", f.count > 2 { lanesT = Double(f[2]) ?? 0 }
        }
        if chain > 0, lanesT > 0 { simpy = (version, chain, lanesT) } else { simpyNote = "SimPy printed no timings" }
    } catch {
        simpyNote = "could not run \(python): \(error)"
    }
} else {
    simpyNote = "HYBRIDSIM_PYTHON is not set (run `make bench`): SimPy ratios skipped"
}

let chainRate = Double(chainCount) / chainSeconds
let lanesRate = Double(laneCount * opsPerLane) / lanesSeconds
print("HybridSim event engine benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores visible, 1 used; best of 3)")
print(String(format: "(a) 1,000,000 chained timed events: %.3f s, %.2f M events/s", chainSeconds, chainRate / 1e6))
print(String(format: "(b) 1,000 lanes x 1,000 ops:        %.3f s, %.2f M ops/s (makespan %.0f)", lanesSeconds, lanesRate / 1e6, makespan))
if let simpy {
    print(String(format: "    SimPy %@ same run: (a) %.3f s = %.3f M events/s, (b) %.3f s = %.3f M ops/s", simpy.version,
                 simpy.chain, Double(chainCount) / simpy.chain / 1e6, simpy.lanes, Double(laneCount * opsPerLane) / simpy.lanes / 1e6))
    print(String(format: "    ratio HybridSim / SimPy: (a) %.1fx, (b) %.1fx  (target >= 40x on both)", simpy.chain / chainSeconds, simpy.lanes / lanesSeconds))
} else {
    print("    \(simpyNote)")
}
if let r = result {
    print(String(format: "(c) 48-layer MoE hybrid, 1,000 decode steps: %.3f s (target < 1 s; %.2fx under), %d op events, mean step %.4g s, p99 %.4g s",
                 scenarioSeconds, 1 / scenarioSeconds, r.events, r.report.latencySeconds, r.report.stepStatistics?.latency.p99 ?? 0))
}
_ = sink
