import Foundation
import SimEngines

/// Human-readable output of `hybridsim run`.
public enum TableFormat {
    /// Engineering notation with an SI prefix: 1.23 ms, 4.56 TFLOP.
    public static func si(_ value: Double, _ unit: String) -> String {
        guard value.isFinite, value != 0 else { return "0 \(unit)" }
        let prefixes: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
                                            (1e-3, "m"), (1e-6, "u"), (1e-9, "n")]
        for (scale, prefix) in prefixes where abs(value) >= scale {
            return String(format: "%.4g %@%@", value / scale, prefix, unit)
        }
        return String(format: "%.4g %@", value, unit)
    }

    public static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = value, i = 0
        while abs(v) >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return String(format: "%.4g %@", v, units[i])
    }

    static func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

    /// The summary of one report.
    public static func summary(_ r: Report) -> String {
        var lines: [String] = []
        lines.append("\(r.scenario)  [\(r.engine) engine, \(r.hardware), \(r.phase), batch \(r.batch), seq_len \(r.seqLen), \(r.dtype)]")
        func row(_ k: String, _ v: String) { lines.append("  " + pad(k, 26) + v) }
        row("latency", si(r.latencySeconds, "s"))
        row("tokens/s", si(r.tokensPerSecond, "tok/s"))
        row("model FLOPs", si(r.modelFlops, "FLOP") + (r.executedFlops > r.modelFlops * 1.0000001 ? "  (executed \(si(r.executedFlops, "FLOP")))" : ""))
        row("MFU", String(format: "%.2f %%", r.mfu * 100))
        row("idle bubbles", si(r.bubbleSeconds, "s") + String(format: " lane-time (%.2f %% of lane time)", r.bubbleFraction * 100))
        let m = r.memory
        row("peak memory", "\(bytes(m.peakBytes)) of \(bytes(m.capacityBytes))\(m.fits ? "" : "  ** DOES NOT FIT **")")
        row("  weights / optimizer", "\(bytes(m.weightBytes)) / \(bytes(m.optimizerBytes))")
        row("  KV cache / SSM state", "\(bytes(m.kvCacheBytes)) / \(bytes(m.ssmStateBytes))")
        row("  activations", bytes(m.activationBytes))
        if r.moeImbalance != 1 || r.droppedTokenFraction > 0 {
            row("MoE imbalance (max/mean)", String(format: "%.3f", r.moeImbalance))
            row("dropped tokens", String(format: "%.3f %%", r.droppedTokenFraction * 100))
        }
        if r.executedLayerFraction != 1 {
            row("executed layers", String(format: "%.2f expected (%.1f %%), saves %@", r.expectedExecutedLayers,
                                          r.executedLayerFraction * 100, si(r.savedFlops, "FLOP")))
        }
        if let stats = r.stepStatistics {
            row("latency over \(stats.steps) steps", "p50 \(si(stats.latency.p50, "s")), p90 \(si(stats.latency.p90, "s")), p99 \(si(stats.latency.p99, "s")), max \(si(stats.latency.max, "s"))")
            row("bubbles over steps", "p50 \(si(stats.bubble.p50, "s")), p90 \(si(stats.bubble.p90, "s")), p99 \(si(stats.bubble.p99, "s")), max \(si(stats.bubble.max, "s"))")
        }
        for split in r.splitRatios {
            var text = String(format: "%.4f of tokens to attention", split.ratio)
            if let b = split.balanced, let o = split.optimal { text += String(format: " (balanced %.4f, optimal %.4f)", b, o) }
            row("split \(split.block)", text)
        }
        for lane in r.lanes {
            row("lane \(lane.name)", String(format: "busy %@ (%.1f %%)", si(lane.busySeconds, "s"), lane.utilisation * 100))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per layer and lane.
    public static func layers(_ r: Report) -> String {
        var lines = ["  " + pad("layer", 7) + pad("block", 18) + pad("lane", 18) + pad("start", 12) + pad("busy", 12) + "idle"]
        for row in r.layers {
            lines.append("  " + pad(String(row.layer), 7) + pad(row.block, 18) + pad(row.lane, 18) + pad(si(row.startSeconds, "s"), 12)
                         + pad(si(row.busySeconds, "s"), 12) + si(row.idleSeconds, "s"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension TableFormat {
    /// Two engines' summaries side by side, with the event engine's difference from the analytic one.
    public static func sideBySide(analytic a: Report, event e: Report) -> String {
        func pct(_ x: Double, _ y: Double) -> String {
            guard x != 0 else { return y == 0 ? "0 %" : "n/a" }
            return String(format: "%+.3f %%", (y - x) / abs(x) * 100)
        }
        var lines = ["\(a.scenario)  [analytic vs event, \(a.hardware), \(a.phase), batch \(a.batch), seq_len \(a.seqLen), \(a.dtype)]"]
        lines.append("  " + pad("", 26) + pad("analytic", 18) + pad("event", 18) + "event - analytic")
        func row(_ name: String, _ x: Double, _ y: Double, _ unit: String) {
            lines.append("  " + pad(name, 26) + pad(si(x, unit), 18) + pad(si(y, unit), 18) + pct(x, y))
        }
        row("latency", a.latencySeconds, e.latencySeconds, "s")
        if let s = e.stepStatistics {
            lines.append("  " + pad("  event p50/p90/p99/max", 26) + [s.latency.p50, s.latency.p90, s.latency.p99, s.latency.max].map { si($0, "s") }.joined(separator: " / ") + "  over \(s.steps) steps")
        }
        row("tokens/s", a.tokensPerSecond, e.tokensPerSecond, "tok/s")
        row("idle bubbles", a.bubbleSeconds, e.bubbleSeconds, "s")
        row("model FLOPs", a.modelFlops, e.modelFlops, "FLOP")
        lines.append("  " + pad("MFU", 26) + pad(String(format: "%.2f %%", a.mfu * 100), 18) + pad(String(format: "%.2f %%", e.mfu * 100), 18) + pct(a.mfu, e.mfu))
        if a.moeImbalance != 1 || e.moeImbalance != 1 {
            lines.append("  " + pad("MoE imbalance", 26) + pad(String(format: "%.4f", a.moeImbalance), 18) + pad(String(format: "%.4f", e.moeImbalance), 18) + pct(a.moeImbalance, e.moeImbalance))
            lines.append("  " + pad("dropped tokens", 26) + pad(String(format: "%.4f %%", a.droppedTokenFraction * 100), 18) + pad(String(format: "%.4f %%", e.droppedTokenFraction * 100), 18))
        }
        if a.executedLayerFraction != 1 || e.executedLayerFraction != 1 {
            row("executed layers", a.expectedExecutedLayers, e.expectedExecutedLayers, "")
        }
        for (la, le) in zip(a.lanes, e.lanes) {
            lines.append("  " + pad("lane \(la.name) busy", 26) + pad(String(format: "%.1f %%", la.utilisation * 100), 18) + pad(String(format: "%.1f %%", le.utilisation * 100), 18))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
