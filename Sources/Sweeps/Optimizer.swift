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
        public enum Relation: String, Sendable { case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==" }
        public var metric: String
        public var relation: Relation
        public var bound: Double

        /// Parses `metric<=value`, `metric>=value` or `metric==value` (equal within a relative 1e-9); `memory_fits`
        /// takes true/false or 1/0. Any numeric summary metric may be used (``Optimizer/metricColumns``).
        public static func parse(_ text: String, columns: [String] = Optimizer.metricColumns) throws -> Constraint {
            for relation in [Relation.lessOrEqual, .greaterOrEqual, .equal] {
                if let r = text.range(of: relation.rawValue) {
                    let metric = String(text[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                    let value = String(text[r.upperBound...]).trimmingCharacters(in: .whitespaces)
                    try Optimizer.checkMetric(metric, in: "--subject-to `\(text)`", columns: columns)
                    let bound = value == "true" ? 1 : value == "false" ? 0 : Double(value)
                    guard let bound, bound.isFinite else {
                        throw Optimizer.OptimizeError(description: "--subject-to `\(text)`: `\(value)` is not a number (or true/false)")
                    }
                    return Constraint(metric: metric, relation: relation, bound: bound)
                }
            }
            throw Optimizer.OptimizeError(description: "--subject-to `\(text)` is not METRIC<=VALUE, METRIC>=VALUE or METRIC==VALUE")
        }

        func holds(_ metrics: [String: Double]) -> Bool {
            guard let v = metrics[metric] else { return false }
            switch relation {
            case .lessOrEqual: return v <= bound
            case .greaterOrEqual: return v >= bound
            case .equal: return v == bound || abs(v - bound) <= 1e-9 * max(abs(v), abs(bound))
            }
        }
    }

    /// Refuses a name that is not a numeric metric, with a did-you-mean and the allowed names.
    public static func checkMetric(_ name: String, in context: String, columns: [String] = metricColumns) throws {
        guard !columns.contains(name) else { return }
        let guess = Spelling.suggestion(for: name, among: columns).map { " (did you mean `\($0)`?)" } ?? ""
        throw OptimizeError(description: "\(context): `\(name)` is not a metric\(guess); allowed: \(columns.joined(separator: ", "))")
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
        /// With `per`: the best feasible grid point for each value of that axis, in the axis's order.
        public var perValue: [(value: String, best: Evaluated)] = []
        /// The non-dominated feasible points of the Pareto pair asked for (empty without one), sorted by its first metric.
        public var front: [Evaluated]
        public var evaluations: Int
        public var invalid: Int
    }

    /// The summary metrics a search can use: every numeric one of the metric table (memory_fits as 1 or 0).
    public static let metricColumns = Metrics.numeric.map(\.name)

    public let runner: SweepRunner
    public init(runner: SweepRunner) { self.runner = runner }

    func evaluate(_ values: [String], constraints: [Constraint], requireMemoryFit: Bool, invalid: inout Int) -> Evaluated? {
        guard case let .success(report) = runner.evaluateReport(SweepPoint(index: 0, values: values), root: runner.root) else { invalid += 1; return nil }
        // Read from the report through the metric table: no number is parsed back from text.
        var metrics: [String: Double] = [:]
        for metric in Metrics.numeric { metrics[metric.name] = metric.read(report).number }
        let fits = !requireMemoryFit || report.memory.fits
        return Evaluated(values: values, metrics: metrics, row: ReportExport.summaryRow(report), feasible: fits && constraints.allSatisfy { $0.holds(metrics) })
    }

    /// Searches the axes. Grid points are made from their numbers and not kept (memory does not grow with the grid):
    /// only the best point, the points the refinement revisits, and the non-dominated points of `pareto` are held.
    /// `requireMemoryFit`: a point whose peak memory is over the capacity is infeasible (the default; a search
    /// that allows it says so). `per`: also the best grid point for each value of that swept key.
    public func run(objective: Objective, constraints: [Constraint], pareto: (Objective, Objective)? = nil,
                    requireMemoryFit: Bool = true, per: String? = nil, maximumEvaluations: Int = 2_000_000) throws -> Outcome {
        try Self.checkMetric(objective.metric, in: "the objective")
        let spec = runner.spec
        let perColumn = try per.map { key -> Int in
            guard let column = spec.keys.firstIndex(of: key) else {
                let guess = Spelling.suggestion(for: key, among: spec.keys).map { " (did you mean `\($0)`?)" } ?? ""
                throw OptimizeError(description: "--per `\(key)` is not a swept key\(guess); allowed: \(spec.keys.joined(separator: ", "))")
            }
            return column
        }
        var perBest: [String: Evaluated] = [:]
        var perOrder: [String] = []
        var perSeen = Set<String>()
        // Continuous: non-integer ranges outside zipped groups.
        let continuous: [Int] = spec.groups.enumerated().compactMap { g, group in
            group.count == 1 && group[0].range != nil && group[0].range?.integer == false ? g : nil
        }
        let gridSize = spec.groups.reduce(1.0) { $0 * Double($1.first?.gridCount ?? 1) }
        guard gridSize <= Double(maximumEvaluations) else {
            throw OptimizeError(description: "the search grid has \(Int(gridSize)) points; allowed: at most \(maximumEvaluations) (fewer values per axis)")
        }
        var cache: [[String]: Evaluated] = [:]
        var invalid = 0, evaluations = 0
        var front: [Evaluated] = []
        var best: Evaluated? = nil
        func cost(_ e: Evaluated?) -> Double {
            guard let e, e.feasible, let v = e.metrics[objective.metric], v.isFinite else { return .infinity }
            return objective.maximize ? -v : v
        }
        /// Evaluates (once per distinct point), keeping the best and the Pareto candidates; the point and its cost.
        func visit(_ values: [String], remember: Bool) -> (point: Evaluated?, cost: Double) {
            if let hit = cache[values] { return (hit, cost(hit)) }
            evaluations += 1
            guard let e = evaluate(values, constraints: constraints, requireMemoryFit: requireMemoryFit, invalid: &invalid) else { return (nil, .infinity) }
            if remember { cache[values] = e }
            if let (x, y) = pareto { Self.insert(e, into: &front, x: x, y: y) }
            let c = cost(e)
            if c < cost(best) { best = e }
            return (e, c)
        }
        // 1. The grid.
        let gridSpec = SweepSpec(groups: spec.groups, method: .grid, points: 0, seed: spec.seed)
        for index in 0..<gridSpec.pointCount {
            let values = gridSpec.point(at: index).values
            let (point, c) = visit(values, remember: false)
            if let column = perColumn {
                let key = values[column]
                if perSeen.insert(key).inserted { perOrder.append(key) }
                if c.isFinite, c < cost(perBest[key]), let point { perBest[key] = point }
            }
        }
        let bestValues = best?.values
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
                        let c = visit(trial, remember: true).cost
                        return c.isFinite ? c : 1e300
                    }
                    if let result {
                        trial[column] = "\(result.x)"
                        _ = visit(trial, remember: true)
                        if let b = best { values = b.values }
                    }
                }
            }
        }
        let sortedFront = pareto.map { Self.paretoFront(front, x: $0.0, y: $0.1) } ?? []
        let perValue = perOrder.compactMap { v in perBest[v].map { (value: v, best: $0) } }
        return Outcome(best: best.flatMap { $0.feasible ? $0 : nil }, perValue: perValue, front: sortedFront, evaluations: evaluations, invalid: invalid)
    }

    /// Adds `e` to a set of mutually non-dominated feasible points when nothing in it is at least as good in both
    /// metrics, removing what `e` dominates.
    static func insert(_ e: Evaluated, into front: inout [Evaluated], x: Objective, y: Objective) {
        func key(_ p: Evaluated, _ o: Objective) -> Double? { p.metrics[o.metric].map { o.maximize ? -$0 : $0 } }
        guard e.feasible, let ex = key(e, x), let ey = key(e, y), ex.isFinite, ey.isFinite else { return }
        for f in front { if let fx = key(f, x), let fy = key(f, y), fx <= ex, fy <= ey { return } }
        front.removeAll { f in (key(f, x).map { $0 >= ex } ?? true) && (key(f, y).map { $0 >= ey } ?? true) }
        front.append(e)
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
