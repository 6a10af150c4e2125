import Foundation

/// A value of a scalar profile key.
public enum ProfileValue: Sendable, Equatable {
    case number(Double)
    case count(Int)
    case text(String)
}

/// One scalar key of a hardware profile file: its dotted path, what it means, what it allows, and how it
/// reads and writes a ``HardwareProfile``.
public struct ProfileKey: Sendable {
    public enum Domain: Sendable {
        case text
        case choice([String])
        case count(ClosedRange<Int>)
        /// A number greater than 0.
        case positive
        /// A rate or capacity (FLOP/s, bytes/s, bytes): at least 1 and finite, so no duration a profile yields can
        /// overflow to infinity.
        case rate
        /// Seconds from 0 to 1.
        case seconds
    }

    public let path: String
    public let summary: String
    public let domain: Domain
    public let required: Bool
    public let get: @Sendable (HardwareProfile) -> ProfileValue?
    public let set: @Sendable (inout HardwareProfile, ProfileValue) -> Void

    /// What the key allows, in words.
    public var allowed: String {
        switch domain {
        case .text: return "text"
        case let .choice(c): return c.joined(separator: ", ")
        case let .count(r): return "a whole number from \(r.lowerBound) to \(r.upperBound)"
        case .positive: return "a number greater than 0"
        case .rate: return "a number from 1 to 1e30"
        case .seconds: return "seconds from 0 to 1"
        }
    }
}

/// Every key of a hardware profile file, in the order files are written. The loader
/// (``HardwareProfileLoader``), the writer (``ProfileYAML``), the built-in profiles (YAML read by that
/// loader) and report.json all go through this table: a key added here is read, written and reported.
///
/// Scalars are listed in `scalars` (a dotted path names a key inside a mapping, e.g. `memory.capacity_bytes`);
/// the structured keys (peak_flops by dtype, efficiency by op class, links, sources, provenance, fit) are
/// `structured`, each handled in one place by the loader and the writer.
public enum ProfileKeys {
    public static let scalars: [ProfileKey] = [
        ProfileKey(path: "name", summary: "the profile's name", domain: .text, required: true,
                   get: { .text($0.name) }, set: { p, v in if case let .text(t) = v { p.name = t } }),
        ProfileKey(path: "description", summary: "what device it is", domain: .text, required: false,
                   get: { .text($0.description) }, set: { p, v in if case let .text(t) = v { p.description = t } }),
        ProfileKey(path: "kind", summary: "gpu or cpu", domain: .choice(["gpu", "cpu"]), required: false,
                   get: { .text($0.kind.rawValue) },
                   set: { p, v in if case let .text(t) = v { p.kind = HardwareProfile.Kind(rawValue: t) ?? .gpu } }),
        ProfileKey(path: "compute_units", summary: "SMs, CUs or cores: what a lane's share divides", domain: .count(1...1_000_000),
                   required: true, get: { .count($0.computeUnits) }, set: { p, v in if case let .count(n) = v { p.computeUnits = n } }),
        ProfileKey(path: "devices_per_node", summary: "devices of this kind in one node", domain: .count(1...4096), required: false,
                   get: { .count($0.devicesPerNode) }, set: { p, v in if case let .count(n) = v { p.devicesPerNode = n } }),
        ProfileKey(path: "vector_flops", summary: "FLOP/s of the non-matrix units (scan, conv, elementwise, routers)",
                   domain: .rate, required: false,
                   get: { .number($0.vectorFlops) }, set: { p, v in if case let .number(x) = v { p.vectorFlops = x } }),
        ProfileKey(path: "memory.capacity_bytes", summary: "memory as the device reports it, bytes", domain: .rate, required: true,
                   get: { .number($0.memoryCapacityBytes) }, set: { p, v in if case let .number(x) = v { p.memoryCapacityBytes = x } }),
        ProfileKey(path: "memory.bandwidth_bytes_per_s", summary: "memory bandwidth, bytes/s", domain: .rate, required: true,
                   get: { .number($0.memoryBandwidthBytesPerSecond) },
                   set: { p, v in if case let .number(x) = v { p.memoryBandwidthBytesPerSecond = x } }),
        ProfileKey(path: "memory.cache_bytes", summary: "last-level cache, bytes: data a step keeps that fits is read from it (with cache_bandwidth_bytes_per_s)",
                   domain: .rate, required: false, get: { $0.cacheBytes.map(ProfileValue.number) },
                   set: { p, v in if case let .number(x) = v { p.cacheBytes = x } }),
        ProfileKey(path: "memory.cache_bandwidth_bytes_per_s", summary: "bandwidth of data resident in the last-level cache, all units at once, bytes/s",
                   domain: .rate, required: false, get: { $0.cacheBandwidthBytesPerSecond.map(ProfileValue.number) },
                   set: { p, v in if case let .number(x) = v { p.cacheBandwidthBytesPerSecond = x } }),
        ProfileKey(path: "launch_overhead_s", summary: "fixed cost of one kernel launch (or CPU dispatch)", domain: .seconds, required: false,
                   get: { .number($0.launchOverheadSeconds) }, set: { p, v in if case let .number(x) = v { p.launchOverheadSeconds = x } }),
        ProfileKey(path: "graph_launch_overhead_s", summary: "fixed cost of one op launched from a captured graph (scenario execution.graphs)",
                   domain: .seconds, required: false, get: { $0.graphLaunchOverheadSeconds.map(ProfileValue.number) },
                   set: { p, v in if case let .number(x) = v { p.graphLaunchOverheadSeconds = x } }),
        ProfileKey(path: "gemm_half_rows", summary: "rows at which a GEMM of 2 or more rows reaches half its curve's efficiency (x r / (r + this)); one row is a matrix-vector product",
                   domain: .positive, required: false, get: { $0.gemmHalfRows.map(ProfileValue.number) },
                   set: { p, v in if case let .number(x) = v { p.gemmHalfRows = x } }),
        ProfileKey(path: "gemm_phases", summary: "how a GEMM of 2 or more rows combines its compute and memory times: overlapped (the larger) or sequential (their sum: operands packed, then computed)",
                   domain: .choice(["overlapped", "sequential"]), required: false,
                   get: { $0.gemmSequentialPhases ? .text("sequential") : nil },
                   set: { p, v in if case let .text(t) = v { p.gemmSequentialPhases = t == "sequential" } }),
        ProfileKey(path: "gemm_tile_rows", summary: "rows of a GEMM kernel's output tile (with gemm_tile_columns: wave quantization over the compute units)",
                   domain: .count(1...65_536), required: false, get: { $0.gemmTileRows.map(ProfileValue.count) },
                   set: { p, v in if case let .count(n) = v { p.gemmTileRows = n } }),
        ProfileKey(path: "gemm_tile_columns", summary: "columns of a GEMM kernel's output tile", domain: .count(1...65_536), required: false,
                   get: { $0.gemmTileColumns.map(ProfileValue.count) }, set: { p, v in if case let .count(n) = v { p.gemmTileColumns = n } }),
        ProfileKey(path: "attention_half_head_dim", summary: "head dim at which attention reaches half its curve's efficiency (x d / (d + this))",
                   domain: .positive, required: false, get: { $0.attentionHalfHeadDim.map(ProfileValue.number) },
                   set: { p, v in if case let .number(x) = v { p.attentionHalfHeadDim = x } }),
        ProfileKey(path: "attention_half_keys", summary: "keys per query at which attention reaches half its curve's efficiency (x K / (K + this))",
                   domain: .positive, required: false, get: { $0.attentionHalfKeys.map(ProfileValue.number) },
                   set: { p, v in if case let .number(x) = v { p.attentionHalfKeys = x } }),
        ProfileKey(path: "split_overhead_s", summary: "extra cost per additional lane an op is split over (CPU worker threads)",
                   domain: .seconds, required: false,
                   get: { .number($0.splitOverheadSeconds) }, set: { p, v in if case let .number(x) = v { p.splitOverheadSeconds = x } }),
    ]

    /// Keys whose values are mappings or lists, in file order after the scalars (`memory` is a scalar group).
    public static let structured = ["peak_flops", "matrix_efficiency", "efficiency", "links", "sources", "provenance", "fit"]
    /// Keys of one efficiency curve.
    public static let curveKeys = ["peak", "half_size_flops", "memory", "half_size_bytes"]
    /// Keys of one link.
    public static let linkKeys = ["name", "bandwidth_bytes_per_s", "latency_s", "topology", "per_peer_bandwidth_bytes_per_s"]

    /// Top-level keys of a profile file.
    public static var topLevel: [String] {
        var keys = ["schema_version"]
        for key in scalars {
            let head = String(key.path.split(separator: ".").first ?? Substring(key.path))
            if !keys.contains(head) { keys.append(head) }
        }
        return keys + structured.filter { !keys.contains($0) }
    }

    /// Keys inside the scalar group `group` (e.g. `memory`).
    public static func members(of group: String) -> [ProfileKey] {
        scalars.filter { $0.path.hasPrefix(group + ".") }
    }
}
