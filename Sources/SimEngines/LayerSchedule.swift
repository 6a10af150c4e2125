import SimModel

/// When a layer's ops ran, relative to the layer's start, and what each lane did.
public struct LayerSchedule: Sendable {
    public var latency: Double
    public var busy: [Double]
    public var flops: [Double]
    public var bytes: [Double]
    public var starts: [Double]
    public var ends: [Double]
    public var totalFlops: Double
    public var totalModelFlops: Double

    public init(latency: Double, busy: [Double], flops: [Double], bytes: [Double], starts: [Double], ends: [Double],
                totalFlops: Double, totalModelFlops: Double) {
        self.latency = latency
        self.busy = busy
        self.flops = flops
        self.bytes = bytes
        self.starts = starts
        self.ends = ends
        self.totalFlops = totalFlops
        self.totalModelFlops = totalModelFlops
    }
}

extension LayerSchedule {
    /// A schedule whose work per lane comes from the block: each op's FLOPs and bytes (times its
    /// weight) are split evenly over the lanes it holds. Every executor builds its schedules this way,
    /// so predicted and measured reports attribute work identically.
    public init(block: BlockGraph, laneCount: Int, latency: Double, busy: [Double], starts: [Double], ends: [Double]) {
        var flops = [Double](repeating: 0, count: laneCount), bytes = flops
        var total = 0.0, model = 0.0
        for op in block.ops {
            let opFlops = op.flops * op.weight, opBytes = op.bytes * op.weight
            let held = Double(max(1, op.laneMask.nonzeroBitCount))
            var mask = op.laneMask, lane = 0
            while mask != 0 {
                if mask & 1 == 1, lane < laneCount {
                    flops[lane] += opFlops / held
                    bytes[lane] += opBytes / held
                }
                mask >>= 1; lane += 1
            }
            total += opFlops
            model += op.modelFlops * op.weight
        }
        self.init(latency: latency, busy: busy, flops: flops, bytes: bytes, starts: starts, ends: ends,
                  totalFlops: total, totalModelFlops: model)
    }
}
