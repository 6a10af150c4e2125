import Foundation

/// Reads hardware profiles from YAML (schema version 1), strictly.
///
/// ```yaml
/// schema_version: 1
/// name: nvidia-h100-sxm
/// description: NVIDIA H100 SXM5 80 GB
/// kind: gpu                        # gpu | cpu
/// compute_units: 132
/// devices_per_node: 8
/// peak_flops: {fp32: 67.0e12, bf16: 989.4e12, fp16: 989.4e12, fp8: 1978.9e12}   # dense, FLOP/s
/// vector_flops: 67.0e12
/// memory: {capacity_bytes: 85520809984, bandwidth_bytes_per_s: 3.35e12}
/// launch_overhead_s: 4.0e-6
/// graph_launch_overhead_s: 1.0e-6    # per op launched from a captured graph (scenario execution.graphs)
/// split_overhead_s: 0                # extra per additional lane an op is split across (CPU threads)
/// efficiency:                      # per op class; missing classes fall back to `default`
///   default: {peak: 0.7, half_size_flops: 1.0e9, memory: 0.8, half_size_bytes: 1.0e6}
///   gemm: {peak: 0.8, half_size_flops: 5.0e9, memory: 0.85}
/// links: [{name: nvlink4, bandwidth_bytes_per_s: 450.0e9, latency_s: 2.0e-6, topology: switch}]
///   # or {..., topology: fully_connected, per_peer_bandwidth_bytes_per_s: 64.0e9}
/// The keys are listed once, in ``ProfileKeys``.
/// sources: {peak_flops.bf16: "NVIDIA H100 datasheet ..."}
/// provenance: {written_by: "hybridsim calibrate"}
/// fit: ...                         # free-form fit report, kept as written
/// ```
public enum HardwareProfileLoader {
    static var topKeys: [String] { ProfileKeys.topLevel }
    static let curveKeys = ProfileKeys.curveKeys

    /// Loads a profile file.
    public static func load(path: String) throws -> HardwareProfile {
        var profile = try decode(YAMLNode.load(path: path))
        profile.origin = path
        return profile
    }

    /// Decodes a profile from YAML text.
    public static func decode(text: String, file: String) throws -> HardwareProfile {
        try decode(YAMLNode.parse(text, file: file))
    }

    /// Decodes a profile from a mapping node (a file's root, or a scenario's inline `hardware:` map).
    public static func decode(_ node: YAMLNode) throws -> HardwareProfile {
        let map = try node.mapping(allowed: topKeys)
        let versionNode = try map.required("schema_version", allowed: "1")
        let version = try versionNode.int(allowed: "1")
        if version > HardwareProfile.schemaVersion {
            throw versionNode.error(
                "this profile is schema version \(version), written by a newer HybridSim; this build reads schema version \(HardwareProfile.schemaVersion)",
                allowed: "schema_version: 1 (upgrade HybridSim to read newer profiles)")
        }
        guard version >= 1 else {
            throw versionNode.error("schema version \(version) does not exist", allowed: "1")
        }

        let flopsNode = try map.required("peak_flops", allowed: "a mapping of dtype to FLOP/s: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        let flopsMap = try flopsNode.mapping(allowed: DType.allCases.map(\.rawValue))
        var peak: [DType: Double] = [:]
        for (key, value) in flopsMap.entries {
            guard let dtype = DType(rawValue: key) else { continue }
            peak[dtype] = try value.double(in: 1...1e30, allowed: "FLOP/s from 1 to 1e30")
        }
        guard !peak.isEmpty else { throw flopsNode.error("no dtype has a peak", allowed: DType.allCases.map(\.rawValue).joined(separator: ", ")) }

        var profile = HardwareProfile(name: "", description: "", kind: .gpu, computeUnits: 1, devicesPerNode: 1, peakFlops: peak,
                                      vectorFlops: peak[.fp32] ?? peak.values.min() ?? 1, memoryCapacityBytes: 1,
                                      memoryBandwidthBytesPerSecond: 1, launchOverheadSeconds: 0, efficiency: [:], links: [],
                                      origin: node.file)
        // Every scalar key, from the one table.
        var groups: [String: YAMLMapping] = [:]
        for key in ProfileKeys.scalars {
            let parts = key.path.split(separator: ".").map(String.init)
            var valueNode: YAMLNode?
            if parts.count == 1 {
                valueNode = map[parts[0]]
                if valueNode == nil, key.required { valueNode = try map.required(parts[0], allowed: key.allowed) }
            } else {
                if groups[parts[0]] == nil {
                    let groupNode = try map.required(parts[0], allowed: "a mapping of \(ProfileKeys.members(of: parts[0]).map { $0.path }.joined(separator: ", "))")
                    groups[parts[0]] = try groupNode.mapping(allowed: ProfileKeys.members(of: parts[0]).map { String($0.path.split(separator: ".").last ?? "") })
                }
                valueNode = groups[parts[0]]?[parts[1]]
                if valueNode == nil, key.required, let group = groups[parts[0]] {
                    valueNode = try group.required(parts[1], allowed: key.allowed)
                }
            }
            guard let valueNode else { continue }
            let value: ProfileValue
            switch key.domain {
            case .text:
                let text = try valueNode.string()
                guard !text.isEmpty || key.path != "name" else { throw valueNode.error("the name is empty", allowed: "a non-empty name") }
                value = .text(text)
            case let .choice(choices): value = .text(try valueNode.choice(choices))
            case let .count(range): value = .count(try valueNode.int(in: range, allowed: key.allowed))
            case .positive: value = .number(try valueNode.positiveDouble(allowed: key.allowed))
            case .rate: value = .number(try valueNode.double(in: 1...1e30, allowed: key.allowed))
            case .seconds: value = .number(try valueNode.double(in: 0...1, allowed: key.allowed))
            }
            key.set(&profile, value)
        }
        if map["description"] == nil { profile.description = profile.name }

        if let node = map["matrix_efficiency"] {
            let m = try node.mapping(allowed: DType.allCases.map(\.rawValue))
            for (key, value) in m.entries {
                guard let dtype = DType(rawValue: key) else { continue }
                profile.matrixEfficiency[dtype] = try value.double(in: 1e-6...1, allowed: "a fraction in (0, 1]")
            }
        }

        var curves: [OpClass: EfficiencyCurve] = [:]
        var fallback = EfficiencyCurve(peak: 1, halfSizeFlops: 0, memory: 1, halfSizeBytes: 0)
        if let effNode = map["efficiency"] {
            let eff = try effNode.mapping(allowed: ["default"] + OpClass.allCases.map(\.rawValue) + CurveVariant.allCases.map(\.rawValue))
            if let d = eff["default"] { fallback = try curve(d, fallback: fallback) }
            for opClass in OpClass.allCases {
                curves[opClass] = try eff[opClass.rawValue].map { try curve($0, fallback: fallback) } ?? fallback
            }
            // A variant's missing fields come from its class's curve.
            for variant in CurveVariant.allCases {
                let base = curves[variant == .scanDecode ? .scan : .gemm] ?? fallback
                profile.variantCurves[variant] = try eff[variant.rawValue].map { try curve($0, fallback: base) }
            }
        } else {
            for opClass in OpClass.allCases { curves[opClass] = fallback }
        }
        profile.efficiency = curves

        var links: [Link] = []
        if let linksNode = map["links"] {
            for item in try linksNode.list() {
                let l = try item.mapping(allowed: ProfileKeys.linkKeys)
                let topologies = Link.Topology.allCases.map(\.rawValue)
                let topology = Link.Topology(rawValue: try l["topology"]?.choice(topologies) ?? "switch") ?? .switched
                let perPeer = try l["per_peer_bandwidth_bytes_per_s"]?.double(in: 1...1e30, allowed: "bytes/s from 1 to 1e30")
                if perPeer != nil, topology == .switched, let node = l["per_peer_bandwidth_bytes_per_s"] {
                    throw node.error("a switched link reaches every peer at its whole bandwidth", allowed: "topology: fully_connected, or no per_peer_bandwidth_bytes_per_s")
                }
                links.append(Link(name: try l.required("name").string(),
                                  bandwidthBytesPerSecond: try l.required("bandwidth_bytes_per_s").double(in: 1...1e30, allowed: "bytes/s from 1 to 1e30"),
                                  latencySeconds: try l["latency_s"]?.double(in: 0...1, allowed: "seconds from 0 to 1") ?? 0,
                                  topology: topology, perPeerBandwidthBytesPerSecond: perPeer))
            }
        }
        profile.links = links
        profile.sources = try stringMap(map["sources"])
        profile.provenance = try stringMap(map["provenance"])
        return profile
    }

    static func curve(_ node: YAMLNode, fallback: EfficiencyCurve) throws -> EfficiencyCurve {
        let m = try node.mapping(allowed: curveKeys)
        return EfficiencyCurve(
            peak: try m["peak"]?.double(in: 1e-6...1, allowed: "a fraction in (0, 1]") ?? fallback.peak,
            halfSizeFlops: try m["half_size_flops"]?.double(in: 0...1e30, allowed: "FLOPs, at least 0") ?? fallback.halfSizeFlops,
            // Above 1 is allowed: a fitted CPU profile whose working sets live in caches moves data faster than the DRAM bandwidth.
            memory: try m["memory"]?.double(in: 1e-6...50, allowed: "a factor in (0, 50]: the fraction of the bandwidth reached (above 1 when caches serve the working set)") ?? fallback.memory,
            halfSizeBytes: try m["half_size_bytes"]?.double(in: 0...1e30, allowed: "bytes, at least 0") ?? fallback.halfSizeBytes)
    }

    static func stringMap(_ node: YAMLNode?) throws -> [String: String] {
        guard let node else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in try node.openMapping().entries { result[key] = try value.string() }
        return result
    }

    /// Resolves a scenario's `hardware:` value: a built-in name, a path to a profile file
    /// (relative to the scenario's folder), or an inline mapping.
    public static func resolve(_ node: YAMLNode, relativeTo directory: String) throws -> HardwareProfile {
        if node.isMapping { return try decode(node) }
        let value = try node.string()
        if let builtIn = try BuiltinProfiles.profile(named: value) { return builtIn }
        let looksLikePath = value.contains("/") || value.hasSuffix(".yaml") || value.hasSuffix(".yml")
        if looksLikePath {
            let path = value.hasPrefix("/") ? value : (directory as NSString).appendingPathComponent(value)
            guard FileManager.default.fileExists(atPath: path) else {
                throw node.error("the profile file `\(path)` does not exist", allowed: "a built-in profile (\(BuiltinProfiles.names.joined(separator: ", "))), a path to a profile YAML, or an inline mapping")
            }
            do {
                return try load(path: path)
            } catch let inner as InputError {
                // Name the scenario and its key too: in a multi-file run the profile alone does not say which scenario failed.
                throw node.error("the profile file `\(path)` it names is not usable: \(inner.description)",
                                 allowed: "a valid profile file (schema_version 1), a built-in profile (\(BuiltinProfiles.names.joined(separator: ", "))), or an inline mapping")
            }
        }
        var problem = "`\(value)` is not a built-in profile"
        if let guess = Spelling.suggestion(for: value, among: BuiltinProfiles.names) { problem += " (did you mean `\(guess)`?)" }
        throw node.error(problem, allowed: "a built-in profile (\(BuiltinProfiles.names.joined(separator: ", "))), a path to a profile YAML, or an inline mapping")
    }
}
