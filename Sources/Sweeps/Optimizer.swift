import Exports
import Foundation
import SimEngines
import SimMath
import SimModel

/// Searches a sweep's axes for the best point under constraints, and the Pareto front of two metrics.
///
/// Discrete axes (value lists, zipped groups, integer ranges) are enumerated; continuous ranges are
/// first evaluated on their grid, then refined from the best feasible grid point by GSL's Brent
/// minimiser, one axis at a time (two rounds), the others held. A point that violates a constraint
/// costs +infinity (a large finite penalty inside the minimiser). Every evaluated point is kept for
/// the Pareto front.
public struct Optimizer {
    public struct Objective: Sendable {
        public var metric: String
        public var maximize: Bool
        public init(metric: String, maximize: Bool) {
            self.metric = metric
            self.maximize = maximize
        }
    }

    public struct Constraint: Sendable, Equatable {
        public var metric: String
        public var lessOrEqual: Bool
        public var bound: Double

        /// Parses `metric<=value` or `metric>=value`.
        public static func parse(_ text: String, columns: [String]) throws -> Constraint {
            for (op, le) in [("<=", true), (">=", false)] {
                if let r = text.range(of: op) {
                    let metric = String(text[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                    let value = String(text[r.upperBound...]).trimmingCharacters(in: .whitespaces)
                    guard columns.contains(metric) else {
                        throw Optimizer.OptimizeError(description: "--subject-to `\(text)`: `\(metric)` is not a metric; allowed: \(columns.joined(separator: ", "))")
                    }
                    guard let bound = Double(value), bound.isFinite else {
                        throw Optimizer.OptimizeError(description: "--subject-to `\(text)`: `\(value)` is not a number")
                    }
                    return Constraint(metric: metric, lessOrEqual: le, bound: bound)
                }
            }
            throw Optimizer.OptimizeError(description: "--subject-to `\(text)` is not METRIC<=VALUE or METRIC>=VALUE")
        }

        func holds(_ metrics: [String: Double]) -> Bool {
            guard let v = metrics[metric] else { return false }
            return lessOrEqual ? v <= bound : v >= bound
        }
    }

    public struct OptimizeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// One evaluated point.
    public struct Evaluated: Sendable {
        public var values: [String]
        public var metrics: [String: Double]
        public var row: [String]
        public var feasible: Bool
    }

    public struct Outcome: Sendable {
        public var best: Evaluated?
        public var evaluated: [Evaluated]
        public var evaluations: Int
        public var invalid: Int
    }

    /// Numeric summary columns a search can use.
    public static let metricColumns = ReportExport.summaryColumns.filter {
        !["scenario", "engine", "hardware", "phase", "dtype", "split_ratios", "memory_fits"].contains($0)
    }

    public let runner: SweepRunner
    public init(runner: SweepRunner) { self.runner = runner }

    func evaluate(_ values: [String], cache: inout [[String]: Evaluated], constraints: [Constraint], invalid: inout Int) -> Evaluated? {
        if let hit = cache[values] { return hit }
        let point = SweepPoint(index: cache.count, values: values)
        guard case let .success(fields) = runner.evaluate(point, root: runner.root) else { invalid += 1; return nil }
        let row = Array(fields.dropFirst(1 + values.count))
        var metrics: [String: Double] = [:]
        for (name, text) in zip(ReportExport.summaryColumns, row) { if let v = Double(text) { metrics[name] = v } }
        let e = Evaluated(values: values, metrics: metrics, row: row, feasible: constraints.allSatisfy { $0.holds(metrics) })
        cache[values] = e
        return e
    }

    public func run(objective: Objective, constraints: [Constraint], maximumEvaluations: Int = 2_000_000) throws -> Outcome {
        guard Self.metricColumns.contains(objective.metric) else {
            throw OptimizeError(description: "`\(objective.metric)` is not a metric; allowed: \(Self.metricColumns.joined(separator: ", "))")
        }
        let spec = runner.spec
        // Continuous: non-integer ranges outside zipped groups.
        let continuous: [Int] = spec.groups.enumerated().compactMap { g, group in
            group.count == 1 && group[0].range != nil && group[0].range?.integer == false ? g : nil
        }
        let gridSize = spec.groups.reduce(1.0) { $0 * Double($1.first?.gridValues.count ?? 1) }
        guard gridSize <= Double(maximumEvaluations) else {
            throw OptimizeError(description: "the search grid has \(Int(gridSize)) points; allowed: at most \(maximumEvaluations) (fewer values per axis)")
        }
        var cache: [[String]: Evaluated] = [:]
        var invalid = 0
        func cost(_ e: Evaluated?) -> Double {
            guard let e, e.feasible, let v = e.metrics[objective.metric], v.isFinite else { return .infinity }
            return objective.maximize ? -v : v
        }
        // 1. The grid.
        var bestValues: [String]? = nil, bestCost = Double.infinity
        let gridSpec = SweepSpec(groups: spec.groups, method: .grid, points: 0, seed: spec.seed)
        for point in try gridSpec.allPoints() {
            let c = cost(evaluate(point.values, cache: &cache, constraints: constraints, invalid: &invalid))
            if c < bestCost { bestCost = c; bestValues = point.values }
        }
        // 2. Refine each continuous axis with Brent, two rounds.
        if var values = bestValues, !continuous.isEmpty {
            let columnOf: [Int: Int] = {
                var map: [Int: Int] = [:], column = 0
                for (g, group) in spec.groups.enumerated() { map[g] = column; column += group.count }
                return map
            }()
            for _ in 0..<2 {
                for g in continuous {
                    guard let range = spec.groups[g][0].range, let column = columnOf[g] else { continue }
                    let lo = min(range.from, range.to), hi = max(range.from, range.to)
                    var trial = values
                    let result = try? Minimization.brent(lower: lo, upper: hi, guess: Double(values[column]), absoluteTolerance: (hi - lo) * 1e-4) { x in
                        trial[column] = "\(x)"
                        let c = cost(evaluate(trial, cache: &cache, constraints: constraints, invalid: &invalid))
                        return c.isFinite ? c : 1e300
                    }
                    if let result {
                        trial[column] = "\(result.x)"
                        let c = cost(evaluate(trial, cache: &cache, constraints: constraints, invalid: &invalid))
                        if c < bestCost { bestCost = c; values = trial }
                    }
                }
            }
            bestValues = values
        }
        let best = bestValues.flatMap { cache[$0] }.flatMap { $0.feasible ? $0 : nil }
        let evaluated = cache.values.sorted { $0.values.lexicographicallyPrecedes($1.values) }
        return Outcome(best: best, evaluated: evaluated, evaluations: cache.count, invalid: invalid)
    }

    /// The non-dominated feasible points for two metrics, sorted by the first: sort by the first
    /// metric (best first, ties by the second), then keep each point whose second metric beats every
    /// point before it.
    /// - Complexity: O(n log n).
    public static func paretoFront(_ points: [Evaluated], x: Objective, y: Objective) -> [Evaluated] {
        func key(_ v: Double, _ o: Objective) -> Double { o.maximize ? -v : v }   // smaller is better
        let candidates: [(Double, Double, Evaluated)] = points.compactMap { p in
            guard p.feasible, let px = p.metrics[x.metric], let py = p.metrics[y.metric] else { return nil }
            return (key(px, x), key(py, y), p)
        }.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var front: [Evaluated] = []
        var bestY = Double.infinity
        for (_, ky, p) in candidates where ky < bestY {
            front.append(p)
            bestY = ky
        }
        return front.sorted { ($0.metrics[x.metric] ?? 0) < ($1.metrics[x.metric] ?? 0) }
    }
}
