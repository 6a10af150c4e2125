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
    /// Attention share of tokens per split block (solved when balanced).
    public var splitRatios: [(block: String, ratio: Double)]
    public var lanes: [LaneSummary]
    public var layers: [LayerRow]
    /// Per-op spans, filled only when asked for (they are many).
    public var spans: [Span]

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
}
