/// The limits that bound every evaluation in time and memory before it starts (issue 10): an input that
/// passes `check` cannot make `run`, `sweep` or an engine run for minutes or take gigabytes. Each limit is
/// named in the error that enforces it. The costs behind them were measured on the 2-vCPU reference machine
/// (README, Reliability): the event engine simulates about 100,000 layer-steps per second, a routed layer
/// costs about 1 + width / 256 layer-steps (1,000,000 experts: 43 ms a layer-step), and the analytic
/// engine's routing statistics take about 2.5 s and 0.5 GB per million experts.
public enum Limits {
    /// Layers after `repeat` is expanded. The deepest published models have about 200; report.json holds
    /// one span per op and layer.
    public static let layers = 4096
    /// Experts (MoE) or leaves times parallel trees (FFF) over the model's distinct blocks: the analytic
    /// engine's routing statistics are linear in it.
    public static let routedWidth = 1_048_576
    /// An engine's work: steps x the sum over layers of (1 + routed width / 256). The event engine lowers and
    /// simulates every step; the analytic engine lowers every decode step (the context grows) and evaluates
    /// other phases once.
    public static let work = 5_000_000.0
    /// Op spans kept for timeline.json (steps traced x ops per step).
    public static let traceSpans = 1_000_000

    /// A block's routed width: its experts, or its FFF leaves times parallel trees; 0 for a dense block.
    public static func routedWidth(_ block: BlockSpec) -> Int {
        switch block.mlp {
        case let .moe(m)?: return m.experts
        case let .fff(f)?: return f.leaves.multipliedReportingOverflow(by: f.nodeWidth).overflow ? Int.max : f.leaves * f.nodeWidth
        default: return 0
        }
    }

    /// The work of `steps` steps of `model` (see ``work``).
    public static func work(_ model: ModelSpec, steps: Int) -> Double {
        let perBlock = model.layerBlockNames.map { name in 1 + Double(model.blocks[name].map(routedWidth) ?? 0) / 256 }
        let perStep = model.layerBlockIDs.reduce(0.0) { $0 + perBlock[$1] }
        return Double(steps) * perStep
    }

    /// Why `steps` steps of `scenario` in the event engine (`event`) or the analytic engine are refused, or nil
    /// when the run is within ``work``.
    public static func workProblem(_ scenario: Scenario, steps: Int, event: Bool) -> String? {
        // Called for every sweep point: the per-step work is summed over the layers once.
        let effective = event || scenario.workload.phase == .decode ? steps : 1
        let perStep = work(scenario.model, steps: 1)
        let total = Double(effective) * perStep
        guard total > work else { return nil }
        let most = max(0, Int(min(1e9, (work / perStep).rounded(.down))))
        return "\(steps) steps of \(scenario.model.layers.count) layers is \(String(format: "%.3g", total)) layer-steps of \(event ? "event" : "analytic")-engine work "
            + "(a routed layer counts 1 + experts/256); allowed: at most \(String(format: "%.0f", work)) (Limits.work; here at most \(most) steps)"
    }
}
