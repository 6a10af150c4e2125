/// A pending event: at `time`, `payload` happens. `sequence` breaks ties first-in-first-out, so runs
/// are deterministic (SimPy's (time, priority, id) ordering without the priority).
public struct ScheduledEvent: Sendable {
    public var time: Double
    public var sequence: UInt64
    public var payload: Int32

    @inline(__always)
    static func < (a: ScheduledEvent, b: ScheduledEvent) -> Bool {
        a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
    }
}

/// A 4-ary min-heap of events on one contiguous array: no allocation once its capacity is reached.
///
/// swift-collections' `Heap` is a min-max heap (each operation also maintains the max levels);
/// a discrete-event engine only ever pops the minimum, so a plain d-ary heap does less work, and
/// four children per node halve the depth (fewer cache misses) at the cost of more comparisons.
/// - Complexity: O(log n) push and pop.
public struct EventHeap: Sendable {
    private var storage: [ScheduledEvent] = []
    private var nextSequence: UInt64 = 0

    public init(capacity: Int = 64) { storage.reserveCapacity(capacity) }

    public var isEmpty: Bool { storage.isEmpty }
    public var count: Int { storage.count }

    /// Removes every event but keeps the capacity (and restarts the tie-break sequence).
    public mutating func reset() {
        storage.removeAll(keepingCapacity: true)
        nextSequence = 0
    }

    @inline(__always)
    public mutating func push(time: Double, payload: Int32) {
        var child = storage.count
        storage.append(ScheduledEvent(time: time, sequence: nextSequence, payload: payload))
        nextSequence &+= 1
        let item = storage[child]
        while child > 0 {
            let parent = (child - 1) >> 2
            guard item < storage[parent] else { break }
            storage[child] = storage[parent]
            child = parent
        }
        storage[child] = item
    }

    /// The time of the next event, if any.
    @inline(__always)
    public func peekTime() -> Double? { storage.first?.time }

    @inline(__always)
    public mutating func pop() -> ScheduledEvent? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let top = storage[0]
        let n = storage.count
        var parent = 0
        while true {
            let first = 4 * parent + 1
            guard first < n else { break }
            var smallest = first
            let end = Swift.min(first + 4, n)
            var c = first + 1
            while c < end {
                if storage[c] < storage[smallest] { smallest = c }
                c += 1
            }
            guard storage[smallest] < last else { break }
            storage[parent] = storage[smallest]
            parent = smallest
        }
        storage[parent] = last
        return top
    }
}
