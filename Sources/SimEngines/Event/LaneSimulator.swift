/// Runs a ``CompiledBlock`` over its lanes in simulated time.
///
/// An op becomes ready when every op it depends on has finished; it then joins the FIFO queue of
/// each lane it needs and starts when it is at the head of all of them and they are free (an op
/// holding several lanes, a whole-device op, waits for all). Ops that become ready together join in
/// op order, so a tie always resolves the same way. The only events are op completions.
/// Buffers are kept between runs: after the first block of a given size nothing is allocated.
public struct LaneSimulator {
    public private(set) var laneCount: Int
    var heap = EventHeap()
    var remaining: [Int32] = []
    var laneBusy: [Bool]
    /// Every lane's FIFO in one array (regions from CompiledBlock.laneQueueBase).
    var queueStorage: [Int32] = []
    var queueHead: [Int]
    var queueTail: [Int]
    /// Busy seconds per lane in the last run.
    public private(set) var busy: [Double]
    /// Start and end of each op in the last run.
    public private(set) var starts: [Double] = []
    public private(set) var ends: [Double] = []
    var readyNow: [Int32] = []
    var freedNow: [Int32] = []
    /// Completion events processed since creation.
    public private(set) var eventsProcessed: Int = 0

    public init(laneCount: Int) {
        self.laneCount = laneCount
        laneBusy = Array(repeating: false, count: laneCount)
        queueHead = Array(repeating: 0, count: laneCount)
        queueTail = Array(repeating: 0, count: laneCount)
        busy = Array(repeating: 0, count: laneCount)
    }

    /// The error for a block that cannot finish: some op never became ready (a dependency cycle;
    /// a dependency on an op that does not exist is refused earlier, by ``CompiledBlock``).
    public struct Unschedulable: Error, CustomStringConvertible {
        public var unfinished: Int
        public var description: String { "\(unfinished) op(s) never became ready: the op graph has a dependency cycle" }
    }

    /// Simulates `block` from time `start`; returns the time its last op ends.
    public mutating func run(_ block: CompiledBlock, start: Double) throws -> Double {
        let n = block.opCount
        heap.reset()
        remaining.removeAll(keepingCapacity: true)
        remaining.append(contentsOf: block.dependencyCount)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        starts.append(contentsOf: repeatElement(start, count: n))
        ends.append(contentsOf: repeatElement(start, count: n))
        queueStorage.removeAll(keepingCapacity: true)
        queueStorage.append(contentsOf: repeatElement(-1, count: block.laneList.count))
        let lanesUsed = block.laneQueueBase.count - 1
        for lane in 0..<laneCount {
            laneBusy[lane] = false
            let base = lane < lanesUsed ? Int(block.laneQueueBase[lane]) : block.laneList.count
            queueHead[lane] = base
            queueTail[lane] = base
            busy[lane] = 0
        }
        var now = start
        var finished = 0
        for op in 0..<n where remaining[op] == 0 { enqueue(Int32(op), block) }
        for lane in 0..<laneCount { dispatch(lane: lane, block, now: now) }
        while let event = heap.pop() {
            now = event.time
            // Every completion at this instant first, then the ops they made ready, in op order.
            readyNow.removeAll(keepingCapacity: true)
            freedNow.removeAll(keepingCapacity: true)
            var next: ScheduledEvent? = event
            while let e = next {
                let op = Int(e.payload)
                finished += 1
                eventsProcessed += 1
                let l0 = Int(block.laneStart[op]), l1 = Int(block.laneStart[op + 1])
                for k in l0..<l1 { laneBusy[Int(block.laneList[k])] = false; freedNow.append(block.laneList[k]) }
                let d0 = Int(block.dependentStart[op]), d1 = Int(block.dependentStart[op + 1])
                for k in d0..<d1 {
                    let child = Int(block.dependents[k])
                    remaining[child] -= 1
                    if remaining[child] == 0 { readyNow.append(Int32(child)) }
                }
                next = heap.peekTime() == now ? heap.pop() : nil
            }
            if readyNow.count > 1 { readyNow.sort() }
            for op in readyNow {
                enqueue(op, block)
                let c0 = Int(block.laneStart[Int(op)]), c1 = Int(block.laneStart[Int(op) + 1])
                for m in c0..<c1 { freedNow.append(block.laneList[m]) }
            }
            for lane in freedNow { dispatch(lane: Int(lane), block, now: now) }
        }
        guard finished == n else { throw Unschedulable(unfinished: n - finished) }
        var end = start
        for op in 0..<n { end = max(end, ends[op]) }
        return end
    }

    @inline(__always)
    mutating func enqueue(_ op: Int32, _ block: CompiledBlock) {
        let l0 = Int(block.laneStart[Int(op)]), l1 = Int(block.laneStart[Int(op) + 1])
        for k in l0..<l1 {
            let lane = Int(block.laneList[k])
            queueStorage[queueTail[lane]] = op
            queueTail[lane] += 1
        }
    }

    /// Starts the ops at the head of `lane` while they can run.
    @inline(__always)
    mutating func dispatch(lane: Int, _ block: CompiledBlock, now: Double) {
        while !laneBusy[lane], queueHead[lane] < queueTail[lane] {
            let op = Int(queueStorage[queueHead[lane]])
            let l0 = Int(block.laneStart[op]), l1 = Int(block.laneStart[op + 1])
            // It must head every queue it is in, with every lane free.
            for k in l0..<l1 {
                let other = Int(block.laneList[k])
                if laneBusy[other] || queueHead[other] >= queueTail[other] || queueStorage[queueHead[other]] != Int32(op) { return }
            }
            let duration = block.durations[op]
            for k in l0..<l1 {
                let other = Int(block.laneList[k])
                laneBusy[other] = true
                queueHead[other] += 1
                busy[other] += duration
            }
            starts[op] = now
            ends[op] = now + duration
            heap.push(time: now + duration, payload: Int32(op))
        }
    }
}
