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
