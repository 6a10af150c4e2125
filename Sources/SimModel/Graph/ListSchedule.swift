import Foundation

/// When each op of a block runs when ops start, in op order, as soon as their dependencies are done and
/// every lane they hold is free; each takes its expected duration (weight x cost-model time). The
/// analytic engine's schedule, and what split solving minimises.
public struct ListSchedule: Sendable {
    public var latency: Double
    /// Seconds each lane is busy.
    public var busy: [Double]
    public var starts: [Double]
    public var ends: [Double]

    public init(ops: [Op], laneCount: Int, cost: CostModel, link: Link?) {
        var laneFree = [Double](repeating: 0, count: laneCount)
        var busy = [Double](repeating: 0, count: laneCount)
        var starts = [Double](repeating: 0, count: ops.count), ends = starts
        var latency = 0.0
        ops.withUnsafeBufferPointer { ops in
            for i in 0..<ops.count {
                var start = 0.0
                for dep in ops[i].dependencies where dep < i { start = max(start, ends[dep]) }
                let laneMask = ops[i].laneMask
                var mask = laneMask, lane = 0
                while mask != 0 {
                    if mask & 1 == 1, lane < laneCount { start = max(start, laneFree[lane]) }
                    mask >>= 1; lane += 1
                }
                let duration = cost.seconds(ops[i], share: ops[i].share, link: link) * ops[i].weight
                let end = start + duration
                starts[i] = start
                ends[i] = end
                mask = laneMask; lane = 0
                while mask != 0 {
                    if mask & 1 == 1, lane < laneCount {
                        laneFree[lane] = end
                        busy[lane] += duration
                    }
                    mask >>= 1; lane += 1
                }
                latency = max(latency, end)
            }
        }
        self.latency = latency
        self.busy = busy
        self.starts = starts
        self.ends = ends
    }
}
