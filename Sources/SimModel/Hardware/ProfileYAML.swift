import Foundation

/// Writes a ``HardwareProfile`` as YAML in the schema ``HardwareProfileLoader`` reads, key by key from
/// ``ProfileKeys``: what is written loads back equal (tested for every built-in profile).
public enum ProfileYAML {
    /// The profile's YAML; `fit` (already YAML, indented under `fit:`) and `header` comments are optional.
    public static func text(_ p: HardwareProfile, header: [String] = [], fit: [String] = []) -> String {
        var lines = header.map { "# " + $0 }
        lines.append("schema_version: \(HardwareProfile.schemaVersion)")
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for key in ProfileKeys.scalars {
            guard let value = key.get(p) else { continue }
            let parts = key.path.split(separator: ".").map(String.init)
            if parts.count == 1 {
                lines.append("\(key.path): \(render(value))")
            } else {
                if groups[parts[0]] == nil { order.append(parts[0]); groups[parts[0]] = [] }
                groups[parts[0]]?.append("\(parts[1]): \(render(value))")
            }
        }
        // Groups (memory) as flow mappings, after the scalars of the top level.
        for group in order { lines.append("\(group): {\(groups[group, default: []].joined(separator: ", "))}") }
        let peaks = DType.allCases.compactMap { d in p.peakFlops[d].map { "\(d.rawValue): \(number($0))" } }
        lines.append("peak_flops: {\(peaks.joined(separator: ", "))}")
        let fractions = DType.allCases.compactMap { d in p.matrixEfficiency[d].map { "\(d.rawValue): \(number($0))" } }
        if !fractions.isEmpty { lines.append("matrix_efficiency: {\(fractions.joined(separator: ", "))}") }
        lines.append("efficiency:")
        for c in OpClass.allCases {
            let e = p.curve(c)
            lines.append("  \(c.rawValue): {peak: \(number(e.peak)), half_size_flops: \(number(e.halfSizeFlops)), memory: \(number(e.memory)), half_size_bytes: \(number(e.halfSizeBytes))}")
        }
        for v in CurveVariant.allCases {
            guard let e = p.variantCurves[v] else { continue }
            lines.append("  \(v.rawValue): {peak: \(number(e.peak)), half_size_flops: \(number(e.halfSizeFlops)), memory: \(number(e.memory)), half_size_bytes: \(number(e.halfSizeBytes))}")
        }
        if p.links.isEmpty {
            lines.append("links: []")
        } else {
            lines.append("links:")
            for l in p.links {
                var fields = ["name: \(quoted(l.name))", "bandwidth_bytes_per_s: \(number(l.bandwidthBytesPerSecond))",
                              "latency_s: \(number(l.latencySeconds))", "topology: \(l.topology.rawValue)"]
                if let perPeer = l.perPeerBandwidthBytesPerSecond { fields.append("per_peer_bandwidth_bytes_per_s: \(number(perPeer))") }
                lines.append("  - {\(fields.joined(separator: ", "))}")
            }
        }
        for (key, map) in [("sources", p.sources), ("provenance", p.provenance)] {
            if map.isEmpty { lines.append("\(key): {}"); continue }
            lines.append("\(key):")
            for k in map.keys.sorted() { lines.append("  \(quoted(k)): \(quoted(map[k] ?? ""))") }
        }
        if !fit.isEmpty {
            lines.append("fit:")
            lines += fit.map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The scalar keys as (path, JSON value) for report.json.
    public static func jsonScalars(_ p: HardwareProfile) -> [String: Any] {
        var out: [String: Any] = [:]
        for key in ProfileKeys.scalars {
            switch key.get(p) {
            case let .number(x)?: out[key.path] = x
            case let .count(n)?: out[key.path] = n
            case let .text(t)?: out[key.path] = t
            case nil: break
            }
        }
        return out
    }

    static func render(_ v: ProfileValue) -> String {
        switch v {
        case let .number(x): return number(x)
        case let .count(n): return String(n)
        case let .text(t): return quoted(t)
        }
    }

    /// A number YAML reads back exactly: the fewest significant digits that round-trip (1.634e+14, 0.75, 4e-06).
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? ".nan" : (v > 0 ? ".inf" : "-.inf") }
        if v == v.rounded(), abs(v) < 1e6 { return String(format: "%.0f", v) }
        for digits in 1...17 {
            let text = String(format: "%.\(digits)g", v)
            if Double(text) == v { return text.contains(".") || text.contains("e") ? text : text + ".0" }
        }
        return "\(v)"
    }

    public static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
