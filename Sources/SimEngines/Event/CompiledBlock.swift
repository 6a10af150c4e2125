import SimModel

/// A block's ops in the flat form the event loop runs on: durations, lanes and dependents as
/// compressed rows (CSR), so simulating touches no reference-counted storage per event.
public struct CompiledBlock: Sendable {
    public var durations: [Double]
    /// Lanes of op i: laneList[laneStart[i] ..< laneStart[i+1]].
    public var laneStart: [Int32]
    public var laneList: [Int32]
    /// Ops waiting on op i: dependents[dependentStart[i] ..< dependentStart[i+1]].
    public var dependentStart: [Int32]
    public var dependents: [Int32]
    /// How many ops op i waits for.
    public var dependencyCount: [Int32]
    /// Queue regions: lane l's FIFO holds at most the ops that use it, at laneQueueBase[l] ..< laneQueueBase[l+1].
    public var laneQueueBase: [Int32]
    public var opCount: Int { durations.count }

    /// The error for a dependency on an op that does not exist.
    public struct InvalidDependency: Error, CustomStringConvertible {
        public var op: Int
        public var dependency: Int
        public var description: String { "op \(op) depends on op \(dependency), which does not exist" }
    }

    /// Builds the flat form directly (benchmarks, synthetic graphs).
    public init(durations: [Double], lanes: [[Int32]], dependencies: [[Int32]]) throws {
        for (i, deps) in dependencies.enumerated() {
            for d in deps where d < 0 || Int(d) >= durations.count { throw InvalidDependency(op: i, dependency: Int(d)) }
        }
        self.durations = durations
        laneStart = [0]
        laneList = []
        for l in lanes { laneList += l; laneStart.append(Int32(laneList.count)) }
        var children = [[Int32]](repeating: [], count: durations.count)
        dependencyCount = dependencies.map { Int32($0.count) }
        for (i, deps) in dependencies.enumerated() { for d in deps { children[Int(d)].append(Int32(i)) } }
        dependentStart = [0]
        dependents = []
        for c in children { dependents += c; dependentStart.append(Int32(dependents.count)) }
        let lanesUsed = Int(laneList.max() ?? -1) + 1
        var perLane = [Int32](repeating: 0, count: lanesUsed)
        for lane in laneList { perLane[Int(lane)] += 1 }
        laneQueueBase = [0]
        for count in perLane { laneQueueBase.append((laneQueueBase.last ?? 0) + count) }
    }

    /// Costs a block's ops with the cost model; an op's duration is its cost-model time x weight.
    public init(_ block: BlockGraph, cost: CostModel, link: Link?, laneCount: Int) throws {
        var lanes: [[Int32]] = []
        lanes.reserveCapacity(block.ops.count)
        var deps: [[Int32]] = []
        var durations: [Double] = []
        for op in block.ops {
            durations.append(cost.seconds(op, share: op.share, link: link) * op.weight)
            var mine: [Int32] = []
            for lane in 0..<laneCount where op.laneMask & (UInt64(1) << UInt64(lane)) != 0 { mine.append(Int32(lane)) }
            lanes.append(mine)
            // Every dependency is kept: one on a later op (a cycle) leaves ops that never become
            // ready, which the lane simulator reports instead of ignoring.
            deps.append(op.dependencies.map { Int32($0) })
        }
        try self.init(durations: durations, lanes: lanes, dependencies: deps)
    }
}
