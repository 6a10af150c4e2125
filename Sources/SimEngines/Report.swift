import Foundation
import SimModel

/// What an engine says about one scenario: the same type for predicted and (later) measured runs.
public struct Report: Sendable {
    public var scenario: String
    public var engine: String
    public var hardware: String
    public var phase: String
    public var batch: Int
    public var seqLen: Int
    public var dtype: String
    public var tokensPerStep: Double

    /// Wall time of one step (one forward pass, one decode step, or one forward+backward), seconds.
    public var latencySeconds: Double
    public var tokensPerSecond: Double
    /// Useful FLOPs per step (no padding; dynamic depth's expected work).
    public var modelFlops: Double
    /// FLOPs the hardware executes per step (padded expert buffers included).
    public var executedFlops: Double
    /// model FLOPs / (latency x matrix peak of the devices used).
    public var mfu: Double
    /// Lane-seconds compute lanes sit idle inside layers while another lane works.
    public var bubbleSeconds: Double
    /// bubble / (latency x compute lanes).
    public var bubbleFraction: Double
    public var memory: MemoryBreakdown
    /// Expected max expert load / mean load, over MoE layers (1 when none).
    public var moeImbalance: Double
    public var droppedTokenFraction: Double
    /// Expected executed layers / layers (1 without dynamic depth).
    public var executedLayerFraction: Double
    public var expectedExecutedLayers: Double
    /// Model FLOPs that dynamic depth saves against running every layer once.
    public var savedFlops: Double
    /// Attention share of tokens per split block (solved when balanced or optimal), with both solutions.
    public var splitRatios: [SplitRatio]

    public struct SplitRatio: Sendable, Equatable {
        public var block: String
        /// The ratio the block runs at.
        public var ratio: Double
        /// For a solved split: the ratio balancing the branches' times, and the one minimising the layer's latency.
        public var balanced: Double?
        public var optimal: Double?
        public init(block: String, ratio: Double, balanced: Double? = nil, optimal: Double? = nil) {
            self.block = block
            self.ratio = ratio
            self.balanced = balanced
            self.optimal = optimal
        }
    }
    public var lanes: [LaneSummary]
    public var layers: [LayerRow]
    /// Per-op spans, filled only when asked for (they are many).
    public var spans: [Span]
    /// Matrix peak of the devices used, FLOP/s (the MFU denominator per second).
    public var peakFlopsPerSecond: Double = 0
    public var computeLaneCount: Int = 1
    /// Distribution over steps when more than one step ran (`--steps`).
    public var stepStatistics: StepStatistics? = nil

    public struct MemoryBreakdown: Sendable, Equatable {
        public var weightBytes: Double
        public var optimizerBytes: Double
        public var kvCacheBytes: Double
        public var ssmStateBytes: Double
        public var activationBytes: Double
        public var capacityBytes: Double
        public var peakBytes: Double { weightBytes + optimizerBytes + kvCacheBytes + ssmStateBytes + activationBytes }
        public var fits: Bool { peakBytes <= capacityBytes }
    }

    public struct LaneSummary: Sendable, Equatable {
        public var name: String
        public var kind: String
        public var busySeconds: Double
        public var idleSeconds: Double
        public var utilisation: Double
    }

    /// One layer on one lane.
    public struct LayerRow: Sendable, Equatable {
        public var layer: Int
        public var block: String
        public var lane: String
        public var startSeconds: Double
        public var endSeconds: Double
        public var busySeconds: Double
        public var idleSeconds: Double
        public var flops: Double
        public var bytes: Double
    }

    /// One op's interval, with the formula and parameters that gave its duration.
    public struct Span: Sendable, Equatable {
        public var layer: Int
        public var block: String
        public var op: String
        public var opClass: String
        public var lanes: [String]
        public var startSeconds: Double
        public var endSeconds: Double
        public var flops: Double
        public var bytes: Double
        public var weight: Double
        public var bound: String
        public var formula: String
        public var costTrace: String
    }

    /// Mean, median and tail of a per-step quantity.
    public struct Distribution: Sendable, Equatable {
        public var mean: Double
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var max: Double

        /// Nearest-rank percentiles of `values` (empty: all zero).
        public init(_ values: [Double]) {
            guard !values.isEmpty else { mean = 0; p50 = 0; p90 = 0; p99 = 0; max = 0; return }
            let sorted = values.sorted()
            func rank(_ q: Double) -> Double { sorted[Swift.max(0, Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))] }
            mean = values.reduce(0, +) / Double(values.count)
            p50 = rank(0.5); p90 = rank(0.9); p99 = rank(0.99); max = sorted[sorted.count - 1]
        }
    }

    public struct StepStatistics: Sendable, Equatable {
        public var steps: Int
        public var latency: Distribution
        public var bubble: Distribution
        public init(steps: Int, latency: Distribution, bubble: Distribution) {
            self.steps = steps
            self.latency = latency
            self.bubble = bubble
        }
    }

    /// One report for several steps: means of the per-step quantities, the largest memory, the
    /// first step's layer rows and spans, and the latency and bubble distributions.
    public static func merging(steps reports: [Report]) -> Report? {
        guard var merged = reports.first else { return nil }
        guard reports.count > 1 else { return merged }
        let n = Double(reports.count)
        func mean(_ f: (Report) -> Double) -> Double { reports.reduce(0) { $0 + f($1) } / n }
        let totalTime = reports.reduce(0) { $0 + $1.latencySeconds }
        merged.latencySeconds = totalTime / n
        merged.tokensPerSecond = totalTime > 0 ? reports.reduce(0) { $0 + $1.tokensPerStep } / totalTime : 0
        merged.modelFlops = mean(\.modelFlops)
        merged.executedFlops = mean(\.executedFlops)
        merged.mfu = totalTime > 0 && merged.peakFlopsPerSecond > 0 ? reports.reduce(0) { $0 + $1.modelFlops } / (totalTime * merged.peakFlopsPerSecond) : 0
        merged.bubbleSeconds = mean(\.bubbleSeconds)
        merged.bubbleFraction = totalTime > 0 ? reports.reduce(0) { $0 + $1.bubbleSeconds } / (totalTime * Double(merged.computeLaneCount)) : 0
        merged.memory = reports.max { $0.memory.peakBytes < $1.memory.peakBytes }?.memory ?? merged.memory
        merged.moeImbalance = mean(\.moeImbalance)
        merged.droppedTokenFraction = mean(\.droppedTokenFraction)
        merged.executedLayerFraction = mean(\.executedLayerFraction)
        merged.expectedExecutedLayers = mean(\.expectedExecutedLayers)
        merged.savedFlops = mean(\.savedFlops)
        for i in merged.lanes.indices {
            let busy = reports.reduce(0) { $0 + ($1.lanes.indices.contains(i) ? $1.lanes[i].busySeconds : 0) }
            merged.lanes[i].busySeconds = busy / n
            merged.lanes[i].idleSeconds = max(0, (totalTime - busy) / n)
            merged.lanes[i].utilisation = totalTime > 0 ? busy / totalTime : 0
        }
        merged.stepStatistics = StepStatistics(steps: reports.count, latency: Distribution(reports.map(\.latencySeconds)),
                                               bubble: Distribution(reports.map(\.bubbleSeconds)))
        return merged
    }
}
