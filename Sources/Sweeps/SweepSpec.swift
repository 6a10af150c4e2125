import Foundation
import SimMath
import SimModel

/// A scenario's `sweep:` section: the axes (dotted key paths into the scenario YAML) and how points
/// are drawn from them.
///
/// ```yaml
/// sweep:
///   axes:
///     - {key: model.blocks.hyb.mixer.split, values: [0.3, 0.5, 0.59, 0.7]}
///     - {key: workload.seq_len, range: {from: 512, to: 8192, count: 5, scale: log, integer: true}}
///     - zip:                                    # axes that move together
///         - {key: workload.batch, values: [1, 2, 4]}
///         - {key: workload.seq_len, values: [4096, 2048, 1024]}
///   sample: {method: grid}                      # grid | random | latin_hypercube (with points, seed)
/// ```
public struct SweepSpec: Sendable {
    /// One swept key: a list of values, or a numeric range.
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [String]?
        public var range: Range?
        /// The line of the axis in the scenario file.
        public var line: Int? = nil

        public struct Range: Sendable, Equatable {
            public var from: Double
            public var to: Double
            public var count: Int
            public var logScale: Bool
            public var integer: Bool

            /// The value at fraction `u` in [0, 1] of the range (the grid's `count` values are at u = i / (count - 1),
            /// evenly spaced, geometrically on a log scale).
            public func value(at u: Double) -> Double {
                let v = logScale ? exp(log(from) + u * (log(to) - log(from))) : from + u * (to - from)
                return integer ? v.rounded() : v
            }
        }

        /// Values on the grid, as the YAML scalars written into the scenario (a short axis; see ``gridValue(at:)``).
        public var gridValues: [String] { (0..<gridCount).map(gridValue(at:)) }
    }

    /// Axes that vary independently; each group holds one axis or several zipped axes.
    public var groups: [[Axis]]
    public enum Method: String, Sendable { case grid, random, latinHypercube = "latin_hypercube" }
    public var method: Method
    public var points: Int
    public var seed: UInt64

    public var axes: [Axis] { groups.flatMap { $0 } }
    public var keys: [String] { axes.map(\.key) }

    /// A swept value as written into the scenario and sweep.csv: whole numbers without a fraction, others at 12
    /// significant digits (a range's arithmetic leaves float noise such as 0.7000000000000001, which the value does
    /// not mean: the shortest text of the 12-digit rounding is written, 0.7).
    static func scalar(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        let rounded = Double(String(format: "%.12g", v)) ?? v
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : "\(rounded)"
    }

    /// Reads the `sweep:` section of a scenario file's root; nil when there is none.
    public static func decode(_ root: YAMLNode) throws -> SweepSpec? {
        let top = try root.mapping(allowed: [])
        guard let node = top["sweep"] else { return nil }
        let map = try node.mapping(allowed: ["axes", "sample"])
        let axesNode = try map.required("axes", allowed: "a list of {key, values} / {key, range} / {zip: [...]}")
        var groups: [[Axis]] = []
        var seen = Set<String>()
        for item in try axesNode.list() {
            var group: [Axis] = []
            let entry = try item.mapping(allowed: ["key", "values", "range", "zip"])
            if let zipNode = entry["zip"] {
                // A sibling key beside zip was silently dropped: an axis lost without a word.
                if let sibling = ["key", "values", "range"].first(where: { entry[$0] != nil }), let node = entry[sibling] {
                    throw node.error("`\(sibling)` beside `zip`", allowed: "the axes that move together inside zip: [...], or a separate axis item")
                }
                for member in try zipNode.list() { group.append(try axis(member)) }
                guard !group.isEmpty else { throw zipNode.error("an empty zip", allowed: "two or more axes with value lists of equal length") }
                let lengths = Set(group.map(\.gridCount))
                guard lengths.count == 1 else {
                    throw zipNode.error("zipped axes have different lengths (\(group.map { "\($0.key): \($0.gridCount)" }.joined(separator: ", ")))",
                                        allowed: "axes that move together must have the same number of values")
                }
            } else {
                group.append(try axis(item))
            }
            for a in group {
                guard seen.insert(a.key).inserted else { throw item.error("the key `\(a.key)` is swept twice", allowed: "each key in one axis") }
            }
            groups.append(group)
        }
        guard !groups.isEmpty else { throw axesNode.error("no axes", allowed: "at least one axis") }
        var method = Method.grid, points = 0, seed: UInt64 = 1
        if let sampleNode = map["sample"] {
            let sample = try sampleNode.mapping(allowed: ["method", "points", "seed"])
            method = Method(rawValue: try sample["method"]?.choice(["grid", "random", "latin_hypercube"]) ?? "grid") ?? .grid
            if method != .grid {
                points = try sample.required("points", allowed: "how many points to draw, 1 to 10000000").int(in: 1...10_000_000)
                seed = UInt64(try sample["seed"]?.int(in: 0...Int.max) ?? 1)
            } else if let p = sample["points"] {
                throw p.error("`points` applies to random and latin_hypercube sampling", allowed: "remove it, or choose method: random or latin_hypercube")
            }
        }
        let spec = SweepSpec(groups: groups, method: method, points: points, seed: seed)
        if method == .grid {
            let total = groups.reduce(1.0) { $0 * Double($1.first?.gridCount ?? 1) }
            guard total <= 10_000_000 else {
                // The count may exceed Int (a product of large axes): written as a number, never converted.
                throw axesNode.error("the grid has \(String(format: "%.4g", total)) points", allowed: "at most 10000000 (sample with method: random or latin_hypercube)")
            }
        }
        return spec
    }

    static func axis(_ node: YAMLNode) throws -> Axis {
        let map = try node.mapping(allowed: ["key", "values", "range"])
        let keyNode = try map.required("key", allowed: "a dotted key path such as workload.seq_len")
        let key = try keyNode.string()
        guard !key.isEmpty, !key.hasPrefix("."), !key.hasSuffix("."), !key.contains(".."), !key.hasPrefix("sweep") else {
            throw keyNode.error("`\(key)` is not a usable key path", allowed: "a dotted path into the scenario, e.g. model.blocks.NAME.mixer.split")
        }
        switch (map["values"], map["range"]) {
        case let (values?, nil):
            let list = try values.list().map { try $0.string() }
            guard !list.isEmpty else { throw values.error("an empty list of values", allowed: "at least one value") }
            return Axis(key: key, values: list, range: nil, line: keyNode.line)
        case let (nil, rangeNode?):
            let r = try rangeNode.mapping(allowed: ["from", "to", "count", "scale", "integer"])
            let from = try r.required("from").double(), to = try r.required("to").double()
            let count = try r["count"]?.int(in: 1...1_000_000) ?? 5
            let log = try r["scale"]?.choice(["linear", "log"]) == "log"
            if log, from <= 0 || to <= 0 {
                throw rangeNode.error("a log range needs positive ends (from \(from), to \(to))", allowed: "from > 0 and to > 0, or scale: linear")
            }
            return Axis(key: key, values: nil, range: .init(from: from, to: to, count: count, logScale: log, integer: try r["integer"]?.bool() ?? false),
                        line: keyNode.line)
        case (_?, _?):
            throw node.error("an axis has both `values` and `range`", allowed: "one of them")
        case (nil, nil):
            throw node.error("an axis without `values` or `range`", allowed: "values: [...] or range: {from, to, count, scale}")
        }
    }
}

/// One point of a sweep: its number and the value of every swept key.
public struct SweepPoint: Sendable, Equatable {
    public var index: Int
    public var values: [String]
}

extension SweepSpec.Axis {
    /// How many values the axis has on a grid.
    public var gridCount: Int { values?.count ?? range?.count ?? 0 }

    /// The grid's `i`-th value as the YAML scalar written into the scenario (computed, never listed: an axis of a
    /// million range values holds no list).
    public func gridValue(at i: Int) -> String {
        if let values { return values[i] }
        guard let range else { return "" }
        guard range.count > 1 else { return SweepSpec.scalar(range.from) }
        return SweepSpec.scalar(range.value(at: Double(i) / Double(range.count - 1)))
    }

    /// The value at fraction `u` in [0, 1) of the axis (random and Latin-hypercube sampling).
    func sampled(at u: Double) -> String {
        if let values { return values[min(values.count - 1, Int(u * Double(values.count)))] }
        return range.map { SweepSpec.scalar($0.value(at: u)) } ?? ""
    }
}

extension SweepSpec {
    /// How many points the sweep has (a grid's product is at most 10,000,000, checked when decoded).
    public var pointCount: Int {
        switch method {
        case .grid: return groups.reduce(1) { $0 * max(1, $1.first?.gridCount ?? 1) }
        case .random, .latinHypercube: return points
        }
    }

    /// Point `index` (0 ..< ``pointCount``), computed from the index alone, so a sweep of ten million points is
    /// streamed, never listed. A grid's last axis moves fastest. Random and Latin-hypercube draws come from a
    /// counter-based generator (SplitMix64 of the seed, the point and the axis group); a Latin hypercube puts
    /// point `index` of group `g` in stratum `permutation_g(index)`, a keyed bijection of 0 ..< points (a Feistel
    /// network with cycle walking), so each group's strata are each hit exactly once.
    public func point(at index: Int) -> SweepPoint {
        var values: [String] = []
        switch method {
        case .grid:
            var rest = index
            var choice = [Int](repeating: 0, count: groups.count)
            for g in stride(from: groups.count - 1, through: 0, by: -1) {
                let size = max(1, groups[g].first?.gridCount ?? 1)
                choice[g] = rest % size
                rest /= size
            }
            for (g, group) in groups.enumerated() { for axis in group { values.append(axis.gridValue(at: choice[g])) } }
        case .random, .latinHypercube:
            for (g, group) in groups.enumerated() {
                let jitter = Self.unit(seed, UInt64(index), UInt64(g), 0)
                let u: Double
                if method == .latinHypercube {
                    let stratum = Self.permute(UInt64(index), count: UInt64(points), key: Self.mix(seed, UInt64(g), 1, 0))
                    u = (Double(stratum) + jitter) / Double(points)
                } else {
                    u = jitter
                }
                for axis in group { values.append(axis.sampled(at: u)) }
            }
        }
        return SweepPoint(index: index, values: values)
    }

    /// Every point, in order (small sweeps and tests; a large sweep streams ``point(at:)``).
    public func allPoints() -> [SweepPoint] { (0..<pointCount).map(point(at:)) }

    /// SplitMix64's finaliser over the words (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
    static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> UInt64 {
        var z = a
        for w in [b, c, d] {
            z = z &+ 0x9E37_79B9_7F4A_7C15 &+ w
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
        }
        return z
    }

    /// A uniform double in [0, 1) from the words (53 random bits).
    static func unit(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> Double {
        Double(mix(a, b, c, d) >> 11) * 0x1.0p-53
    }

    /// A keyed bijection of 0 ..< count: a four-round balanced Feistel network on the smallest even number of bits
    /// covering `count`, applied again while the result falls outside (cycle walking; fewer than four tries on average).
    static func permute(_ x: UInt64, count: UInt64, key: UInt64) -> UInt64 {
        guard count > 1 else { return 0 }
        var bits = 2
        while bits < 64 && (UInt64(1) << UInt64(bits)) < count { bits += 2 }
        let half = UInt64(bits / 2), mask = (UInt64(1) << half) - 1
        var y = x
        repeat {
            var left = y >> half, right = y & mask
            for round in 0..<4 as Range<UInt64> {
                let f = mix(key, right, round, 0) & mask
                (left, right) = (right, left ^ f)
            }
            y = (left << half) | right
        } while y >= count
        return y
    }
}
