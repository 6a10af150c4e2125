import Foundation
import Kernels
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One pinned worker thread per lane. Work is submitted per lane (first in, first out); each finished
/// piece reports its measured start and end (monotonic nanoseconds) to the coordinator.
///
/// The pool's state sits behind a spin lock (critical sections are a few hundred nanoseconds: queueing a
/// job, or the executor's dispatch of what a finished op makes ready). An idle worker spins on its lane's
/// pending count for up to ``spinNanoseconds`` before it parks on a condition variable, and a submitter
/// wakes it through the kernel only when it has parked: between dependent ops of a run (the worker that
/// finishes one dispatches the next, on the spot) no thread sleeps or is woken by a futex, which on a
/// virtual machine costs tens of microseconds. `RealExecutor.chainSecondsPerOp` measures what is left.
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

    /// An atomic flag or count (an `Atomic` cannot sit in an array).
    private final class Cell<Value: AtomicRepresentable>: Sendable where Value: Sendable {
        let value: Atomic<Value>
        init(_ initial: Value) { value = Atomic(initial) }
    }

    /// How long an idle worker spins before it parks: longer than the gap between dependent ops of a
    /// run, short enough that an idle pool gives its cores back at once.
    static let spinNanoseconds: UInt64 = 2_000_000

    private let lock = Cell<Bool>(false)
    /// Parking only: workers, and the coordinator, sleep on it when there is nothing to do.
    private let condition = NSCondition()
    private var jobs: [[Job]]
    /// Jobs queued per lane, readable without the lock (what a spinning or parked worker watches).
    private let pending: [Cell<Int>]
    /// Whether each lane's worker is parked (or about to park) on the condition.
    private let parked: [Cell<Bool>]
    private let coordinatorParked = Cell<Bool>(false)
    /// Set when the run's `done()` holds, or when completions are waiting (what the coordinator watches).
    private let coordinatorSignal = Cell<Bool>(false)
    private let stopping = Cell<Bool>(false)
    private var completions: [Completion] = []
    /// When set, the worker that finishes a piece calls this itself, holding the lock (it may call
    /// `submitLocked`); no coordinator thread has to wake up between ops.
    private var handler: ((Completion) -> Void)?
    private var finishedCheck: (() -> Bool)?
    private var threads: [Thread] = []
    private var running = 0
    /// Whether each lane's thread could be pinned to its core.
    private(set) var pinned: [Bool]

    /// Starts `lanes` threads; lane i is pinned to core `cores[i]`.
    init(lanes: Int, cores: [Int]) {
        jobs = Array(repeating: [], count: lanes)
        pending = (0..<lanes).map { _ in Cell(0) }
        parked = (0..<lanes).map { _ in Cell(false) }
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
        // Wait until every worker has pinned itself.
        while running < lanes { condition.wait() }
        condition.unlock()
    }

    // MARK: The lock

    private func acquire() {
        var turns = 0
        while true {
            if !lock.value.load(ordering: .relaxed),
               lock.value.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { return }
            turns &+= 1
            // The holder may be a thread the kernel descheduled on this core: let it run.
            if turns & 1023 == 0 { sched_yield() }
        }
    }

    private func release() { lock.value.store(false, ordering: .releasing) }

    /// Wakes the threads parked on the condition.
    private func wakeParked() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Workers

    private func loop(lane: Int, core: Int) {
        // One OpenBLAS thread per lane: lanes are this program's threads.
        BLAS.setThreads(1)
        let ok = ThreadPinning.pin(toCore: core)
        condition.lock()
        pinned[lane] = ok
        running += 1
        condition.broadcast()
        condition.unlock()
        while true {
            if stopping.value.load(ordering: .relaxed) { return }
            if pending[lane].value.load(ordering: .acquiring) == 0 {
                spin(lane: lane)
                if pending[lane].value.load(ordering: .acquiring) == 0 { park(lane: lane) }
                continue
            }
            acquire()
            guard !jobs[lane].isEmpty else { release(); continue }
            let job = jobs[lane].removeFirst()
            pending[lane].value.subtract(1, ordering: .relaxed)
            release()
            let start = Timing.now()
            job.work()
            let end = Timing.now()
            let completion = Completion(op: job.op, part: job.part, lane: lane, start: start, end: end)
            acquire()
            var signal: Bool
            if let handler {
                handler(completion)
                signal = finishedCheck?() ?? true
            } else {
                completions.append(completion)
                signal = true
            }
            if signal { coordinatorSignal.value.store(true, ordering: .sequentiallyConsistent) }
            release()
            if signal && coordinatorParked.value.load(ordering: .sequentiallyConsistent) { wakeParked() }
        }
    }

    /// Spins until the lane has work, the pool stops, or ``spinNanoseconds`` pass.
    private func spin(lane: Int) {
        let began = Timing.now()
        var turns = 0
        while pending[lane].value.load(ordering: .acquiring) == 0 && !stopping.value.load(ordering: .relaxed) {
            turns &+= 1
            if turns & 255 == 0 {
                if Timing.now() &- began > Self.spinNanoseconds { return }
                // An unpinned coordinator may share this core: let it run.
                if turns & 4095 == 0 { sched_yield() }
            }
        }
    }

    /// Sleeps until the lane has work or the pool stops. The flag is raised before the last look at the
    /// pending count, and submitters raise the count before they look at the flag: one of the two sees
    /// the other, so no wake-up is lost.
    private func park(lane: Int) {
        condition.lock()
        parked[lane].value.store(true, ordering: .sequentiallyConsistent)
        while pending[lane].value.load(ordering: .sequentiallyConsistent) == 0 && !stopping.value.load(ordering: .sequentiallyConsistent) {
            condition.wait()
        }
        parked[lane].value.store(false, ordering: .relaxed)
        condition.unlock()
    }

    // MARK: The coordinator

    /// Sleeps until a worker raises the coordinator's signal; clears it.
    private func waitForSignal() {
        if !coordinatorSignal.value.load(ordering: .sequentiallyConsistent) {
            condition.lock()
            coordinatorParked.value.store(true, ordering: .sequentiallyConsistent)
            while !coordinatorSignal.value.load(ordering: .sequentiallyConsistent) { condition.wait() }
            coordinatorParked.value.store(false, ordering: .relaxed)
            condition.unlock()
        }
        coordinatorSignal.value.store(false, ordering: .sequentiallyConsistent)
    }

    /// Runs `body` with the lock held, with completions handled by `handler` on the workers, and
    /// returns when `done()` (checked under the lock after each completion) is true.
    func run(handler: @escaping (Completion) -> Void, start body: () -> Void, until done: @escaping () -> Bool) {
        acquire()
        coordinatorSignal.value.store(false, ordering: .sequentiallyConsistent)
        self.handler = handler
        self.finishedCheck = done
        body()
        var finished = done()
        release()
        while !finished {
            waitForSignal()
            acquire()
            finished = done()
            release()
        }
        acquire()
        self.handler = nil
        self.finishedCheck = nil
        release()
    }

    /// Queues work; the caller holds the lock (inside `run`'s body or handler).
    func submitLocked(lane: Int, op: Int, part: Int, work: @escaping () -> Void) {
        jobs[lane].append(Job(op: op, part: part, work: work))
        pending[lane].value.add(1, ordering: .sequentiallyConsistent)
        if parked[lane].value.load(ordering: .sequentiallyConsistent) { wakeParked() }
    }

    func submit(lane: Int, op: Int, part: Int, work: @escaping () -> Void) {
        acquire()
        submitLocked(lane: lane, op: op, part: part, work: work)
        release()
    }

    /// Blocks until at least one piece has finished; returns every finished piece.
    func waitForCompletions() -> [Completion] {
        while true {
            acquire()
            if !completions.isEmpty {
                let done = completions
                completions.removeAll(keepingCapacity: true)
                release()
                return done
            }
            release()
            waitForSignal()
        }
    }

    func shutdown() {
        stopping.value.store(true, ordering: .sequentiallyConsistent)
        wakeParked()
    }

    deinit { shutdown() }
}
