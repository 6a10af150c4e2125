import Foundation
import Testing
@testable import SimEngines
import SimModel

// The event engine's building blocks on hand-worked inputs: the 4-ary event heap and the lane
// simulator over hand-built CompiledBlocks. Durations are dyadic (0.5, 1.5, ...) so every time in
// the hand-worked timelines is exact in binary and compared with ==.

/// SplitMix64: a tiny seeded generator for the randomised tests (the standard library has none).
struct EventTestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Event engine: EventHeap")
struct EventHeapTests {
    @Test("pops in time order")
    func popsInTimeOrder() {
        var heap = EventHeap()
        let times: [Double] = [5, 0.25, 3, 9, 1, 7.5, 2, 0, 4, 6]
        for (i, t) in times.enumerated() { heap.push(time: t, payload: Int32(i)) }
        #expect(heap.count == times.count)
        var popped: [Double] = []
        while let e = heap.pop() { popped.append(e.time) }
        #expect(popped == times.sorted())
        #expect(heap.isEmpty)
        #expect(heap.pop() == nil)
    }

    @Test("equal times pop first-in-first-out (payload order = push order)")
    func equalTimesFIFO() {
        var heap = EventHeap(capacity: 4)
        // 50 events at the same time, interleaved with earlier and later ones.
        var order: [Int32] = []
        for i in 0..<50 {
            heap.push(time: 1, payload: Int32(i))
            order.append(Int32(i))
            if i % 7 == 0 { heap.push(time: 2, payload: Int32(1000 + i)) }
            if i % 11 == 0 { heap.push(time: 0.5, payload: Int32(2000 + i)) }
        }
        var early: [Int32] = [], same: [Int32] = [], late: [Int32] = []
        while let e = heap.pop() {
            switch e.time {
            case 0.5: early.append(e.payload)
            case 1: same.append(e.payload)
            default: late.append(e.payload)
            }
        }
        #expect(same == order)
        #expect(early == early.sorted() && early.count == 5)
        #expect(late == late.sorted() && late.count == 8)
    }

    @Test("interleaved push and pop match a sorted reference (random input, fixed seed)")
    func againstReference() {
        var rng = EventTestRNG(seed: 20_240_607)
        var heap = EventHeap()
        // Reference: (time, push number, payload); pop the smallest (time, push number).
        var reference: [(time: Double, seq: Int, payload: Int32)] = []
        var pushes = 0
        var popsChecked = 0
        for round in 0..<6_000 {
            if Bool.random(using: &rng) || reference.isEmpty {
                // Few distinct times, so ties are common.
                let t = Double(Int.random(in: 0..<40, using: &rng)) * 0.25
                let payload = Int32(truncatingIfNeeded: round)
                heap.push(time: t, payload: payload)
                reference.append((t, pushes, payload))
                pushes += 1
            } else {
                let k = reference.indices.min { (reference[$0].time, reference[$0].seq) < (reference[$1].time, reference[$1].seq) }!
                let expected = reference.remove(at: k)
                let got = heap.pop()
                #expect(got?.time == expected.time && got?.payload == expected.payload, "round \(round)")
                #expect(got.map { Int($0.sequence) } == expected.seq, "round \(round)")
                popsChecked += 1
            }
            #expect(heap.count == reference.count)
        }
        // Drain.
        reference.sort { ($0.time, $0.seq) < ($1.time, $1.seq) }
        for expected in reference {
            let got = heap.pop()
            #expect(got?.time == expected.time && got?.payload == expected.payload)
            popsChecked += 1
        }
        #expect(heap.isEmpty && popsChecked == pushes)
    }

    @Test("reset empties the heap and restarts the tie-break sequence")
    func reset() {
        var heap = EventHeap()
        for i in 0..<10 { heap.push(time: Double(i), payload: Int32(i)) }
        heap.reset()
        #expect(heap.isEmpty && heap.count == 0 && heap.pop() == nil)
        heap.push(time: 3, payload: 7)
        heap.push(time: 3, payload: 8)
        let first = heap.pop(), second = heap.pop()
        #expect(first?.payload == 7 && first?.sequence == 0)
        #expect(second?.payload == 8 && second?.sequence == 1)
    }
}

/// Runs a hand-built block on a fresh simulator.
private func simulate(_ durations: [Double], lanes: [[Int32]], deps: [[Int32]], laneCount: Int, start: Double = 0) throws
    -> (end: Double, starts: [Double], ends: [Double], busy: [Double]) {
    var sim = LaneSimulator(laneCount: laneCount)
    let end = try sim.run(CompiledBlock(durations: durations, lanes: lanes, dependencies: deps), start: start)
    return (end, sim.starts, sim.ends, sim.busy)
}

@Suite("Event engine: LaneSimulator on hand-worked timelines")
struct LaneSimulatorTests {
    @Test("two independent chains on two lanes overlap")
    func twoChainsOverlap() throws {
        // Lane 0: op0 (1) -> op1 (2). Lane 1: op2 (1.5) -> op3 (0.5). Started at 10.
        let r = try simulate([1, 2, 1.5, 0.5], lanes: [[0], [0], [1], [1]], deps: [[], [0], [], [2]], laneCount: 2, start: 10)
        #expect(r.starts == [10, 11, 10, 11.5])
        #expect(r.ends == [11, 13, 11.5, 12])
        #expect(r.end == 13, "the longer chain, not the sum 5")
        #expect(r.busy == [3, 2])
    }

    @Test("ops on one lane queue: ready together -> op order")
    func oneLaneTiesByIndex() throws {
        // Three ops ready at 0 on lane 0, listed longest first: they run in op order, not by length.
        let r = try simulate([2, 1, 0.5], lanes: [[0], [0], [0]], deps: [[], [], []], laneCount: 1)
        #expect(r.starts == [0, 2, 3])
        #expect(r.ends == [2, 3, 3.5])
        #expect(r.end == 3.5 && r.busy == [3.5])
        // Two children made ready by one completion join in op order.
        let c = try simulate([1, 0.5, 0.25], lanes: [[1], [0], [0]], deps: [[], [0], [0]], laneCount: 2)
        #expect(c.starts == [0, 1, 1.5])
        #expect(c.end == 1.75)
    }

    @Test("ops on one lane queue: first ready, first served (not op order)")
    func oneLaneFIFOByReadyTime() throws {
        // op4 holds lane 0 over [0, 5]. op2 (lane 0) waits for op0 (lane 1, ends 3); op3 (lane 0) waits
        // for op1 (lane 2, ends 1). op3 is ready first (t=1), so it runs first, though op2 has the smaller index.
        let r = try simulate([3, 1, 1, 2, 5], lanes: [[1], [2], [0], [0], [0]], deps: [[], [], [0], [1], []], laneCount: 3)
        #expect(r.starts == [0, 0, 7, 5, 0])
        #expect(r.ends == [3, 1, 8, 7, 5])
        #expect(r.end == 8)
        #expect(r.busy == [8, 3, 1])
    }

    @Test("ops made ready at the same time by different completions join in op order")
    func sameTimeDifferentEventsTieByIndex() throws {
        // op0 (lane 0), op1 (lane 1), op2 (lane 2) all end at 1. op3 (lane 2) waits for op1, op4 (lane 2)
        // for op0: both become ready at t = 1 while lane 2 is still busy with op2. The documented rule
        // ("ops that become ready together join in op order"; ties by op index) puts op3 first.
        let r = try simulate([1, 1, 1, 0.5, 0.25], lanes: [[0], [1], [2], [2], [2]], deps: [[], [], [], [1], [0]], laneCount: 3)
        #expect(r.starts[3] == 1 && r.ends[3] == 1.5, "op3 (ready at 1, smaller index) should start at 1; starts \(r.starts)")
        #expect(r.starts[4] == 1.5 && r.ends[4] == 1.75, "op4 should queue behind op3; starts \(r.starts)")
        #expect(r.end == 1.75)
    }

    @Test("an op holding both lanes waits for both and blocks both")
    func twoLaneOp() throws {
        // op0 lane 0 (2), op1 lane 1 (1), op2 lanes 0+1 (1), op3 lane 1 (1); all ready at 0.
        // Lane 1 is free at 1 but op2 heads it and waits for lane 0 (free at 2); op3 queues behind op2.
        let r = try simulate([2, 1, 1, 1], lanes: [[0], [1], [0, 1], [1]], deps: [[], [], [], []], laneCount: 2)
        #expect(r.starts == [0, 0, 2, 3])
        #expect(r.ends == [2, 1, 3, 4])
        #expect(r.end == 4)
        #expect(r.busy == [3, 3], "the two-lane op counts on both lanes")
        // An op holding both lanes ready first keeps later single-lane ops off both lanes.
        let b = try simulate([1, 0.5, 0.5], lanes: [[0, 1], [0], [1]], deps: [[], [], []], laneCount: 2)
        #expect(b.starts == [0, 1, 1])
        #expect(b.end == 1.5 && b.busy == [1.5, 1.5])
    }

    @Test("dependencies are respected (diamond), and hold on a random DAG (fixed seed)")
    func dependencies() throws {
        // op0 lane 0 (1); op1 lane 0 (2) after op0; op2 lane 1 (0.5) after op0; op3 lane 1 (1) after op1 and op2.
        let d = try simulate([1, 2, 0.5, 1], lanes: [[0], [0], [1], [1]], deps: [[], [0], [0], [1, 2]], laneCount: 2)
        #expect(d.starts == [0, 1, 1, 3])
        #expect(d.ends == [1, 3, 1.5, 4])
        #expect(d.end == 4 && d.busy == [3, 1.5])

        var rng = EventTestRNG(seed: 99)
        for trial in 0..<20 {
            let n = Int.random(in: 1...120, using: &rng), laneCount = Int.random(in: 1...4, using: &rng)
            var durations: [Double] = [], lanes: [[Int32]] = [], deps: [[Int32]] = []
            for i in 0..<n {
                durations.append(Double(Int.random(in: 0...8, using: &rng)) * 0.125)
                var mine = (0..<laneCount).filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }.map(Int32.init)
                if mine.isEmpty { mine = [Int32(Int.random(in: 0..<laneCount, using: &rng))] }
                lanes.append(mine)
                deps.append(i == 0 ? [] : Array(Set((0..<Int.random(in: 0...3, using: &rng)).map { _ in Int32(Int.random(in: 0..<i, using: &rng)) })).sorted())
            }
            let r = try simulate(durations, lanes: lanes, deps: deps, laneCount: laneCount)
            for i in 0..<n {
                #expect(r.ends[i] - r.starts[i] == durations[i], "trial \(trial) op \(i)")
                for dep in deps[i] { #expect(r.starts[i] >= r.ends[Int(dep)], "trial \(trial): op \(i) starts before op \(dep) ends") }
            }
            // No two ops overlap on a lane (zero-length ops excepted), and busy is the sum of durations.
            for lane in 0..<laneCount {
                let mine = (0..<n).filter { lanes[$0].contains(Int32(lane)) && durations[$0] > 0 }.sorted { r.starts[$0] < r.starts[$1] }
                for (a, b) in zip(mine, mine.dropFirst()) { #expect(r.ends[a] <= r.starts[b], "trial \(trial) lane \(lane): ops \(a), \(b) overlap") }
                let total = (0..<n).filter { lanes[$0].contains(Int32(lane)) }.reduce(0.0) { $0 + durations[$1] }
                #expect(r.busy[lane] == total, "trial \(trial) lane \(lane)")
            }
            #expect(r.end == max(0, r.ends.max() ?? 0))
        }
    }

    @Test("a dependency cycle throws Unschedulable instead of hanging")
    func cycleThrows() throws {
        var sim = LaneSimulator(laneCount: 2)
        // op0 <-> op1 on one lane.
        #expect(throws: LaneSimulator.Unschedulable.self) {
            try sim.run(CompiledBlock(durations: [1, 1], lanes: [[0], [0]], dependencies: [[1], [0]]), start: 0)
        }
        // A free op, then a three-op cycle on two lanes: the free op runs, three never become ready.
        do {
            _ = try sim.run(CompiledBlock(durations: [1, 1, 1, 1], lanes: [[0], [1], [0], [1]], dependencies: [[], [3], [1], [2]]), start: 0)
            Issue.record("a cycle did not throw")
        } catch let error as LaneSimulator.Unschedulable {
            #expect(error.unfinished == 3)
            #expect(error.description.contains("3 op(s)"))
        }
        // Self-loop.
        #expect(throws: LaneSimulator.Unschedulable.self) {
            try sim.run(CompiledBlock(durations: [0.5], lanes: [[1]], dependencies: [[0]]), start: 0)
        }
        // The simulator is still usable afterwards.
        let end = try sim.run(CompiledBlock(durations: [1, 2], lanes: [[0], [1]], dependencies: [[], [0]]), start: 1)
        #expect(end == 4 && sim.starts == [1, 2] && sim.busy == [1, 2])
    }

    @Test("an empty block ends where it starts")
    func emptyBlock() throws {
        var sim = LaneSimulator(laneCount: 2)
        #expect(try sim.run(CompiledBlock(durations: [], lanes: [], dependencies: []), start: 2.5) == 2.5)
        #expect(sim.busy == [0, 0] && sim.starts.isEmpty)
    }

    @Test("one simulator reused over blocks of different sizes gives what a fresh one gives")
    func reuse() throws {
        var rng = EventTestRNG(seed: 7)
        func randomBlock(_ n: Int, lanes laneCount: Int) throws -> CompiledBlock {
            var durations: [Double] = [], lanes: [[Int32]] = [], deps: [[Int32]] = []
            for i in 0..<n {
                durations.append(Double(Int.random(in: 1...16, using: &rng)) * 0.0625)
                lanes.append(Int.random(in: 0..<5, using: &rng) == 0 ? (0..<Int32(laneCount)).map { $0 } : [Int32(Int.random(in: 0..<laneCount, using: &rng))])
                deps.append(i == 0 ? [] : [Int32(Int.random(in: 0..<i, using: &rng))])
            }
            return try CompiledBlock(durations: durations, lanes: lanes, dependencies: deps)
        }
        // Blocks that use fewer lanes than the simulator has, too.
        let blocks = [try randomBlock(200, lanes: 3), try randomBlock(3, lanes: 1), try randomBlock(57, lanes: 3), try randomBlock(1, lanes: 2),
                      try randomBlock(500, lanes: 2), try randomBlock(200, lanes: 3)]
        var shared = LaneSimulator(laneCount: 3)
        var totalOps = 0
        for (k, block) in blocks.enumerated() {
            let start = Double(k) * 0.5
            let endShared = try shared.run(block, start: start)
            var fresh = LaneSimulator(laneCount: 3)
            let endFresh = try fresh.run(block, start: start)
            #expect(endShared == endFresh, "block \(k)")
            #expect(shared.starts == fresh.starts && shared.ends == fresh.ends, "block \(k)")
            #expect(shared.busy == fresh.busy, "block \(k)")
            totalOps += block.opCount
            #expect(fresh.eventsProcessed == block.opCount)
        }
        #expect(shared.eventsProcessed == totalOps, "one completion event per op")
        #expect(shared.ends.count == 200, "buffers sized by the last block")
    }
}

@Suite("Event engine: malformed graphs and oversized workloads")
struct EventMalformedInputTests {
    @Test("a dependency on an op that does not exist is refused when compiling (CompiledBlock.InvalidDependency), not a crash")
    func missingDependency() async {
        // Run in a child process: a trap must not take the test runner down.
        await #expect(processExitsWith: .success) {
            do {
                _ = try CompiledBlock(durations: [1, 1], lanes: [[0], [0]], dependencies: [[], [5]])
            } catch let error as CompiledBlock.InvalidDependency {
                exit(error.op == 1 && error.dependency == 5 ? 0 : 1)
            } catch {}
            exit(1)
        }
    }

    @Test("a lowered block whose op waits for a later op (a cycle) is reported, not silently reordered")
    func cycleInLoweredBlock() throws {
        // README: "the lane simulator still checks it: an op that never becomes ready is an error ...,
        // never a hang". Build a cycle in a real lowered block: qkv_proj (op 1) also waits for o_proj.
        let scenario = try makeScenario(name: "cycle", blocks: [Blocks.attention], layers: "[attn]")
        let graph = Lowering.lower(scenario)
        var block = graph.templates[0]
        let qkv = try #require(block.ops.firstIndex { $0.name == "attention.qkv_proj" })
        let out = try #require(block.ops.firstIndex { $0.name == "attention.o_proj" })
        #expect(out > qkv)
        block.ops[qkv].dependencies.append(out)
        let cost = CostModel(profile: scenario.hardware, dtype: scenario.workload.dtype)
        let compiled = try CompiledBlock(block, cost: cost, link: nil, laneCount: graph.lanes.count)
        var sim = LaneSimulator(laneCount: graph.lanes.count)
        #expect(throws: LaneSimulator.Unschedulable.self, "CompiledBlock kept \(compiled.dependencyCount[qkv]) of qkv_proj's 2 dependencies") {
            try sim.run(compiled, start: 0)
        }
    }

    @Test("a workload routing 2^32 or more assignments is refused with a RunError naming the assignments")
    func tooManyAssignments() throws {
        // 1024 x 65536 tokens x top-8 x 8 devices = 2^32 assignments.
        let scenario = try makeScenario(name: "huge", batch: 1024, seqLen: 65_536,
                                        blocks: [Blocks.moe("experts: 64, top_k: 8, expert_ffn_dim: 256, devices: 8")], layers: "[moe]")
        do {
            _ = try EventEngine().run(scenario)
            Issue.record("2^32 assignments were not refused")
        } catch let error as EventEngine.RunError {
            #expect(error.description.contains("4294967296"), "\(error)")
            #expect(error.description.contains("huge.yaml"))
        }
    }

    @Test("a dense workload of 2^32 or more tokens draws nothing, so the event engine runs it")
    func denseHugeWorkload() throws {
        // README: the event engine refuses "a workload that routes 2^32 or more assignments per step";
        // a dense model routes none, and a deterministic scenario makes no draw at all.
        let scenario = try makeScenario(name: "dense-huge", batch: 1_000_000, seqLen: 5_000, blocks: [Blocks.attention], layers: "[attn]")
        #expect(!scenario.hasRandomness)
        let analytic = AnalyticEngine().run(scenario)
        let event = try EventEngine().run(scenario)
        #expect(approx(event.report.latencySeconds, analytic.latencySeconds, rel: 0.005))
    }
}
