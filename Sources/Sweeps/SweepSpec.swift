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

        public struct Range: Sendable, Equatable {
            public var from: Double
            public var to: Double
            public var count: Int
            public var logScale: Bool
            public var integer: Bool

            /// The grid values: `count` points from `from` to `to`, evenly spaced (geometrically on a log scale).
            public var gridValues: [Double] {
                guard count > 1 else { return [from] }
                return (0..<count).map { i in
                    let t = Double(i) / Double(count - 1)
                    let v = logScale ? exp(log(from) + t * (log(to) - log(from))) : from + t * (to - from)
                    return integer ? v.rounded() : v
                }
            }

            /// The value at fraction `u` in [0, 1] of the range.
            public func value(at u: Double) -> Double {
                let v = logScale ? exp(log(from) + u * (log(to) - log(from))) : from + u * (to - from)
                return integer ? v.rounded() : v
            }
        }

        /// Values on the grid, as the YAML scalars written into the scenario.
        public var gridValues: [String] {
            if let values { return values }
            return (range?.gridValues ?? []).map(SweepSpec.scalar)
        }
    }

    /// Axes that vary independently; each group holds one axis or several zipped axes.
    public var groups: [[Axis]]
    public enum Method: String, Sendable { case grid, random, latinHypercube = "latin_hypercube" }
    public var method: Method
    public var points: Int
    public var seed: UInt64

    public var axes: [Axis] { groups.flatMap { $0 } }
    public var keys: [String] { axes.map(\.key) }

    static func scalar(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
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
                let lengths = Set(group.map { $0.gridValues.count })
                guard lengths.count == 1 else {
                    throw zipNode.error("zipped axes have different lengths (\(group.map { "\($0.key): \($0.gridValues.count)" }.joined(separator: ", ")))",
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
            let total = groups.reduce(1.0) { $0 * Double($1.first?.gridValues.count ?? 1) }
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
            return Axis(key: key, values: list, range: nil)
        case let (nil, rangeNode?):
            let r = try rangeNode.mapping(allowed: ["from", "to", "count", "scale", "integer"])
            let from = try r.required("from").double(), to = try r.required("to").double()
            let count = try r["count"]?.int(in: 1...1_000_000) ?? 5
            let log = try r["scale"]?.choice(["linear", "log"]) == "log"
            if log, from <= 0 || to <= 0 {
                throw rangeNode.error("a log range needs positive ends (from \(from), to \(to))", allowed: "from > 0 and to > 0, or scale: linear")
            }
            return Axis(key: key, values: nil, range: .init(from: from, to: to, count: count, logScale: log, integer: try r["integer"]?.bool() ?? false))
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

extension SweepSpec {
    /// Every point, numbered from 0, in a fixed order: for a grid the last axis moves fastest.
    public func allPoints() throws -> [SweepPoint] {
        switch method {
        case .grid:
            let lists = groups.map { group in group.map(\.gridValues) }
            let sizes = lists.map { $0.first?.count ?? 1 }
            let total = sizes.reduce(1, *)
            var points: [SweepPoint] = []
            points.reserveCapacity(total)
            for index in 0..<total {
                var rest = index, choice = [Int](repeating: 0, count: sizes.count)
                for g in stride(from: sizes.count - 1, through: 0, by: -1) { choice[g] = rest % sizes[g]; rest /= sizes[g] }
                var values: [String] = []
                for (g, group) in lists.enumerated() { for list in group { values.append(list[choice[g]]) } }
                points.append(SweepPoint(index: index, values: values))
            }
            return points
        case .random, .latinHypercube:
            let random = try RandomSource(seed: seed)
            // Latin hypercube: per group, a random permutation of the strata 0..<points.
            var strata: [[Int]] = []
            if method == .latinHypercube {
                for _ in groups {
                    var perm = Array(0..<points)
                    for i in stride(from: points - 1, to: 0, by: -1) {
                        let j = Int(random.uniform() * Double(i + 1))
                        perm.swapAt(i, min(j, i))
                    }
                    strata.append(perm)
                }
            }
            var points: [SweepPoint] = []
            points.reserveCapacity(self.points)
            for index in 0..<self.points {
                var values: [String] = []
                for (g, group) in groups.enumerated() {
                    let u = method == .latinHypercube ? (Double(strata[g][index]) + random.uniform()) / Double(self.points) : random.uniform()
                    for axis in group {
                        if let list = axis.values {
                            values.append(list[min(list.count - 1, Int(u * Double(list.count)))])
                        } else if let range = axis.range {
                            values.append(Self.scalar(range.value(at: u)))
                        }
                    }
                }
                points.append(SweepPoint(index: index, values: values))
            }
            return points
        }
    }
}
