import Foundation
import Kernels

/// One pinned worker thread per lane. Work is submitted per lane (first in, first out); each finished
/// piece reports its measured start and end (monotonic nanoseconds) to the coordinator.
final class LaneWorkers: @unchecked Sendable {
    struct Completion {
        var op: Int
        var part: Int
        var lane: Int
        var start: UInt64
        var end: UInt64
    }

    private struct Job {
        var op: Int
        var part: Int
        var work: () -> Void
    }

    private let condition = NSCondition()
    private var jobs: [[Job]]
    private var completions: [Completion] = []
    /// When set, the worker that finishes a piece calls this itself, holding the lock (it may call
    /// `submitLocked`); no coordinator thread has to wake up between ops.
    private var handler: ((Completion) -> Void)?
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
    /// Whether each lane's thread could be pinned to its core.
    private(set) var pinned: [Bool]

    /// Starts `lanes` threads; lane i is pinned to core `cores[i]`.
    init(lanes: Int, cores: [Int]) {
        jobs = Array(repeating: [], count: lanes)
        pinned = Array(repeating: false, count: lanes)
        for lane in 0..<lanes {
            let core = cores.isEmpty ? lane : cores[lane % cores.count]
            let thread = Thread { [unowned self] in self.loop(lane: lane, core: core) }
            thread.name = "hybridsim-lane-\(lane)"
            thread.stackSize = 8 << 20
            threads.append(thread)
        }
        condition.lock()
        for thread in threads { thread.start() }
        // Wait until every worker has pinned itself and is waiting for work.
        while running < lanes { condition.wait() }
        condition.unlock()
    }

    private func loop(lane: Int, core: Int) {
        // One OpenBLAS thread per lane: lanes are this program's threads.
        BLAS.setThreads(1)
        let ok = ThreadPinning.pin(toCore: core)
        condition.lock()
        pinned[lane] = ok
        running += 1
        condition.broadcast()
        while true {
            while jobs[lane].isEmpty && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let job = jobs[lane].removeFirst()
            condition.unlock()
            let start = Timing.now()
            job.work()
            let end = Timing.now()
            condition.lock()
            let completion = Completion(op: job.op, part: job.part, lane: lane, start: start, end: end)
            if let handler { handler(completion) } else { completions.append(completion) }
            condition.broadcast()
        }
    }

    /// Runs `body` with the lock held, with completions handled by `handler` on the workers, and
    /// returns when `done()` (checked under the lock after each completion) is true.
    func run(handler: @escaping (Completion) -> Void, start body: () -> Void, until done: () -> Bool) {
        condition.lock()
        self.handler = handler
        body()
        condition.broadcast()
        while !done() { condition.wait() }
        self.handler = nil
        condition.unlock()
    }

    /// Queues work; the caller holds the lock (inside `run`'s body or handler).
    func submitLocked(lane: Int, op: Int, part: Int, work: @escaping () -> Void) {
        jobs[lane].append(Job(op: op, part: part, work: work))
    }

    func submit(lane: Int, op: Int, part: Int, work: @escaping () -> Void) {
        condition.lock()
        jobs[lane].append(Job(op: op, part: part, work: work))
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until at least one piece has finished; returns every finished piece.
    func waitForCompletions() -> [Completion] {
        condition.lock()
        while completions.isEmpty { condition.wait() }
        let done = completions
        completions.removeAll(keepingCapacity: true)
        condition.unlock()
        return done
    }

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { shutdown() }
}
