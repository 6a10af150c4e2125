/// The one table of a report's summary metrics (issue 11): name, unit, meaning and how to read it from a Report.
/// summary.csv and sweep.csv take their columns and values from it, the optimizer its objectives and constraints
/// (read from the report, never parsed back from text), and the commands' help their lists.
public struct Metric: Sendable {
    public enum Value: Sendable, Equatable {
        case text(String)
        case integer(Int)
        case number(Double)
        case flag(Bool)

        /// The value as a number (a flag is 1 or 0), or nil for text.
        public var number: Double? {
            switch self {
            case .text: return nil
            case let .integer(i): return Double(i)
            case let .number(d): return d
            case let .flag(b): return b ? 1 : 0
            }
        }
    }

    public let name: String
    public let unit: String
    public let summary: String
    public let read: @Sendable (Report) -> Value

    /// Whether the metric is a number (it can be optimised, constrained and plotted).
    public let isNumeric: Bool

    init(_ name: String, _ unit: String, _ summary: String, numeric: Bool, read: @escaping @Sendable (Report) -> Value) {
        self.name = name
        self.unit = unit
        self.summary = summary
        self.isNumeric = numeric
        self.read = read
    }
    init(_ name: String, _ unit: String, _ summary: String, text read: @escaping @Sendable (Report) -> String) {
        self.init(name, unit, summary, numeric: false) { .text(read($0)) }
    }
    init(_ name: String, _ unit: String, _ summary: String, integer read: @escaping @Sendable (Report) -> Int) {
        self.init(name, unit, summary, numeric: true) { .integer(read($0)) }
    }
    init(_ name: String, _ unit: String, _ summary: String, number read: @escaping @Sendable (Report) -> Double) {
        self.init(name, unit, summary, numeric: true) { .number(read($0)) }
    }
    init(_ name: String, _ unit: String, _ summary: String, flag read: @escaping @Sendable (Report) -> Bool) {
        self.init(name, unit, summary, numeric: true) { .flag(read($0)) }
    }
}

extension Report {
    /// The step distribution (one step: every percentile is that step's value).
    public var statistics: StepStatistics {
        stepStatistics ?? StepStatistics(steps: 1, latency: .init([latencySeconds]), bubble: .init([bubbleSeconds]))
    }
}

public enum Metrics {
    /// The summary metrics, in summary.csv's column order.
    public static let summary: [Metric] = [
        Metric("scenario", "", "the scenario's name", text: { $0.scenario }),
        Metric("engine", "", "analytic, event or measured", text: { $0.engine }),
        Metric("hardware", "", "the hardware profile's name", text: { $0.hardware }),
        Metric("phase", "", "prefill, decode or train", text: { $0.phase }),
        Metric("batch", "sequences", "sequences per step", integer: { $0.batch }),
        Metric("seq_len", "tokens", "tokens per sequence (decode: the context)", integer: { $0.seqLen }),
        Metric("dtype", "", "the compute dtype", text: { $0.dtype }),
        Metric("tokens_per_step", "tokens", "tokens processed per step", number: { $0.tokensPerStep }),
        Metric("latency_s", "s", "one step: a forward pass (prefill), one token per sequence (decode), forward and backward (train)", number: { $0.latencySeconds }),
        Metric("tokens_per_s", "tokens/s", "tokens per step / latency", number: { $0.tokensPerSecond }),
        Metric("model_flops", "FLOP", "useful FLOPs per step (no padding; under dynamic depth the expected work)", number: { $0.modelFlops }),
        Metric("executed_flops", "FLOP", "model FLOPs plus padded expert buffers", number: { $0.executedFlops }),
        Metric("mfu", "", "model FLOPs / (latency x dtype matrix peak x devices used)", number: { $0.mfu }),
        Metric("bubble_s", "s", "lane-seconds compute lanes sit idle inside layers while another works", number: { $0.bubbleSeconds }),
        Metric("bubble_fraction", "", "bubble / (latency x compute lanes)", number: { $0.bubbleFraction }),
        Metric("peak_memory_bytes", "B", "weights + optimizer state + KV cache + SSM state + activations", number: { $0.memory.peakBytes }),
        Metric("weight_bytes", "B", "the weights", number: { $0.memory.weightBytes }),
        Metric("optimizer_bytes", "B", "optimizer state and gradients (train)", number: { $0.memory.optimizerBytes }),
        Metric("kv_cache_bytes", "B", "the attention layers' KV cache", number: { $0.memory.kvCacheBytes }),
        Metric("ssm_state_bytes", "B", "the SSM layers' recurrent and conv state", number: { $0.memory.ssmStateBytes }),
        Metric("activation_bytes", "B", "activations held at the peak", number: { $0.memory.activationBytes }),
        Metric("memory_capacity_bytes", "B", "the devices' memory", number: { $0.memory.capacityBytes }),
        Metric("memory_fits", "", "peak memory <= capacity (true/false; 1/0 in constraints)", flag: { $0.memory.fits }),
        Metric("moe_imbalance", "", "expected max expert load / mean load, over MoE layers", number: { $0.moeImbalance }),
        Metric("dropped_token_fraction", "", "expected dropped assignments / routed assignments", number: { $0.droppedTokenFraction }),
        Metric("executed_layer_fraction", "", "expected executions per token / layers", number: { $0.executedLayerFraction }),
        Metric("expected_executed_layers", "layers", "expected executions per token", number: { $0.expectedExecutedLayers }),
        Metric("saved_flops", "FLOP", "model FLOPs saved against running every layer once", number: { $0.savedFlops }),
        Metric("split_ratios", "", "block=share of tokens given to attention, per split block", text: { r in
            r.splitRatios.map { "\($0.block)=\(Metrics.format($0.ratio))" }.joined(separator: ";")
        }),
        Metric("steps", "steps", "steps simulated", integer: { $0.statistics.steps }),
        Metric("latency_p50_s", "s", "median step latency", number: { $0.statistics.latency.p50 }),
        Metric("latency_p90_s", "s", "90th percentile step latency", number: { $0.statistics.latency.p90 }),
        Metric("latency_p99_s", "s", "99th percentile step latency", number: { $0.statistics.latency.p99 }),
        Metric("latency_max_s", "s", "largest step latency", number: { $0.statistics.latency.max }),
        Metric("bubble_mean_s", "s", "mean bubble per step", number: { $0.statistics.bubble.mean }),
        Metric("bubble_p50_s", "s", "median bubble per step", number: { $0.statistics.bubble.p50 }),
        Metric("bubble_p90_s", "s", "90th percentile bubble per step", number: { $0.statistics.bubble.p90 }),
        Metric("bubble_p99_s", "s", "99th percentile bubble per step", number: { $0.statistics.bubble.p99 }),
        Metric("bubble_max_s", "s", "largest bubble per step", number: { $0.statistics.bubble.max }),
    ]

    public static let names = summary.map(\.name)
    public static let numeric = summary.filter(\.isNumeric)
    public static func named(_ name: String) -> Metric? { summary.first { $0.name == name } }

    /// A number as the CSVs write it: the shortest text that reads back to the same Double.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// A value as summary.csv writes it.
    public static func text(_ value: Metric.Value) -> String {
        switch value {
        case let .text(t): return t
        case let .integer(i): return String(i)
        case let .number(d): return format(d)
        case let .flag(b): return b ? "true" : "false"
        }
    }
}
