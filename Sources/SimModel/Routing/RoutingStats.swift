import Foundation
import SimMath

/// Closed-form statistics of routed load (MoE experts or FFF leaves) for one batch.
///
/// Model (``TopKDesign``): each of T tokens picks k distinct experts by the conditional Poisson design
/// with the routing weights (for Dirichlet routing the weights are drawn per batch). Given the weights,
/// expert i's load is exactly Binomial(T, π_i), π_i its inclusion probability; no load exceeds T and the
/// loads sum to N = T·k.
///
/// - Expected maximum load: loads are independent counts conditioned on their sum (Levin's
///   representation, ``ConditionedCounts``). One pick: Poisson laws (the multinomial) or, for Dirichlet
///   routing, negative binomial laws (the Dirichlet-multinomial): exact. k picks: laws whose
///   sum-conditioned means and variances are the exact T·π_i and T·π_i(1 − π_i)
///   (``ExpertShares/representation(means:variances:multiplicity:cap:pairProbability:)``); for Dirichlet
///   routing that, per weight draw, averaged over a fixed set of draws with T·max π as control variate.
///   Within 2% of Monte Carlo from 0.25 to 64 assignments per expert (RoutingStatsTests). Beyond a few
///   thousand per expert, normal approximations with the fixed total's correlation.
/// - Touched experts (whose weights must be read): Σ_i P(L_i > 0), P(L_i = 0) = (1 − π_i)^T, averaged
///   over the weights for Dirichlet routing.
/// - Drops at capacity C: Σ_i E[(L_i − C)+] over each load's marginal law.
/// - Expert parallelism over D devices of E/D consecutive experts: device loads by the same method
///   (a device's count per token has the without-replacement variance of its experts' picks).
public struct RoutingStats: Sendable, Equatable {
    /// Routed assignments in the batch (T·k).
    public var assignments: Double
    public var experts: Int
    /// Expected load of each expert (T·π_i), most loaded first for zipf.
    public var meanLoads: [Double]
    /// E[max_i L_i].
    public var expectedMaxLoad: Double
    /// E[max L] / (T·k/E): 1 = perfectly balanced.
    public var imbalance: Double
    /// Rows each expert's buffer holds (capacity mode), nil when dropless.
    public var capacityRows: Double?
    /// E[dropped assignments] / (T·k).
    public var droppedFraction: Double
    /// Expected load of the most loaded device under expert parallelism (= every assignment on one device).
    public var expectedMaxDeviceLoad: Double
    public var devices: Int
    /// Expected number of distinct experts that receive at least one token on the device the layer
    /// waits for (the most loaded one); only their weights are read.
    public var touchedExperts: Double
    /// The same over all devices.
    public var touchedExpertsAllDevices: Double

    public init(assignments: Double, experts: Int, meanLoads: [Double], expectedMaxLoad: Double, imbalance: Double,
                capacityRows: Double?, droppedFraction: Double, expectedMaxDeviceLoad: Double, devices: Int,
                touchedExperts: Double, touchedExpertsAllDevices: Double) {
        self.assignments = assignments
        self.experts = experts
        self.meanLoads = meanLoads
        self.expectedMaxLoad = expectedMaxLoad
        self.imbalance = imbalance
        self.capacityRows = capacityRows
        self.droppedFraction = droppedFraction
        self.expectedMaxDeviceLoad = expectedMaxDeviceLoad
        self.devices = devices
        self.touchedExperts = touchedExperts
        self.touchedExpertsAllDevices = touchedExpertsAllDevices
    }

    /// Routing shares p_i of a distribution over `count` experts (normalised; Dirichlet gives its mean, uniform).
    public static func probabilities(_ routing: RoutingDistribution, count: Int) -> [Double] {
        guard count > 0 else { return [] }
        var p: [Double]
        switch routing {
        case .uniform, .dirichlet: p = Array(repeating: 1, count: count)
        case let .zipf(s): p = (1...count).map { pow(Double($0), -s) }
        case let .explicit(loads): p = loads.count == count ? loads : Array(repeating: 1, count: count)
        }
        let total = p.reduce(0, +)
        guard total > 0, total.isFinite else { return Array(repeating: 1 / Double(count), count: count) }
        return p.map { $0 / total }
    }

    /// Statistics for `tokens` tokens each routed to `topK` distinct of `experts` experts.
    ///
    /// A fractional token count (an expectation from dynamic depth) interpolates linearly between the
    /// statistics of the two whole counts around it.
    public static func compute(tokens: Double, topK: Int, experts: Int, routing: RoutingDistribution,
                               capacityFactor: Double?, devices: Int) -> RoutingStats {
        let k = max(1, min(topK, experts))
        let t = max(0, tokens.isFinite ? tokens : 0)
        let low = t.rounded(.down)
        let frac = t - low
        let lowStats = computeWhole(tokens: Int(min(low, 4e18)), topK: k, experts: experts, routing: routing,
                                    capacityFactor: capacityFactor, devices: devices)
        guard frac > 1e-12 else { return lowStats }
        let high = computeWhole(tokens: Int(min(low, 4e18)) + 1, topK: k, experts: experts, routing: routing,
                                capacityFactor: capacityFactor, devices: devices)
        func mix(_ a: Double, _ b: Double) -> Double { a + (b - a) * frac }
        let assignments = t * Double(k)
        let balanced = assignments / Double(max(1, experts))
        let maxLoad = mix(lowStats.expectedMaxLoad, high.expectedMaxLoad)
        let dropped = mix(lowStats.droppedFraction * lowStats.assignments, high.droppedFraction * high.assignments)
        return RoutingStats(
            assignments: assignments, experts: experts,
            meanLoads: zip(lowStats.meanLoads, high.meanLoads).map { mix($0, $1) },
            expectedMaxLoad: maxLoad, imbalance: balanced > 0 ? maxLoad / balanced : 1,
            capacityRows: capacityFactor.map { ($0 * balanced).rounded(.up) },
            droppedFraction: assignments > 0 ? dropped / assignments : 0,
            expectedMaxDeviceLoad: mix(lowStats.expectedMaxDeviceLoad, high.expectedMaxDeviceLoad), devices: devices,
            touchedExperts: mix(lowStats.touchedExperts, high.touchedExperts),
            touchedExpertsAllDevices: mix(lowStats.touchedExpertsAllDevices, high.touchedExpertsAllDevices))
    }

    static func computeWhole(tokens t: Int, topK k: Int, experts e: Int, routing: RoutingDistribution,
                             capacityFactor: Double?, devices requestedDevices: Int) -> RoutingStats {
        let devices = max(1, requestedDevices)
        let key = CacheKey(tokens: t, topK: k, experts: e, routing: routing, capacity: capacityFactor ?? -1, devices: devices)
        return cache.value(for: key, limit: 4096) {
            evaluate(tokens: t, topK: k, experts: e, routing: routing, capacityFactor: capacityFactor, devices: devices)
        }
    }

    struct CacheKey: Hashable {
        var tokens: Int, topK: Int, experts: Int
        var routing: RoutingDistribution
        var capacity: Double
        var devices: Int
    }
    /// Results by setting: sweeps evaluate many points that route alike.
    static let cache = LockedDictionary<CacheKey, RoutingStats>()

    static func evaluate(tokens t: Int, topK k: Int, experts e: Int, routing: RoutingDistribution,
                         capacityFactor: Double?, devices: Int) -> RoutingStats {
        let n = t * k
        let assignments = Double(n)
        let balanced = assignments / Double(max(1, e))
        let capacity = capacityFactor.map { ($0 * balanced).rounded(.up) }
        let shares = ExpertShares(routing: routing, weights: probabilities(routing, count: e), topK: k)
        guard t > 0 else {
            return RoutingStats(assignments: 0, experts: e, meanLoads: Array(repeating: 0, count: e), expectedMaxLoad: 0,
                                imbalance: 1, capacityRows: capacity, droppedFraction: 0, expectedMaxDeviceLoad: 0,
                                devices: devices, touchedExperts: 0, touchedExpertsAllDevices: 0)
        }
        let means = shares.inclusion.map { Double(t) * $0 }
        let maxLoad = shares.expectedMaximum(tokens: t, expertsPerItem: 1)

        // Marginal laws: touched experts and drops.
        let per = max(1, e / devices)
        let marginal = shares.marginals(tokens: t, capacity: capacity)
        var touchedPerDevice = [Double](repeating: 0, count: devices)
        for i in 0..<e { touchedPerDevice[min(devices - 1, i / per)] += 1 - marginal.zero[i] }
        let dropped = capacity == nil ? 0 : marginal.excess.reduce(0, +)

        // Device loads: one device holds everything; otherwise the busiest of D groups of E/D experts.
        var maxDevice = assignments
        var busiest = 0
        if devices > 1 {
            let deviceMeans = (0..<devices).map { d in (d * per..<(d + 1) * per).reduce(0.0) { $0 + means[$1] } }
            busiest = deviceMeans.indices.max { deviceMeans[$0] < deviceMeans[$1] } ?? 0
            maxDevice = shares.expectedMaximum(tokens: t, expertsPerItem: per)
            if let c = capacity { maxDevice = min(maxDevice, c * Double(per)) }
        }
        return RoutingStats(assignments: assignments, experts: e, meanLoads: means, expectedMaxLoad: maxLoad,
                            imbalance: balanced > 0 ? maxLoad / balanced : 1, capacityRows: capacity,
                            droppedFraction: assignments > 0 ? min(1, dropped / assignments) : 0,
                            expectedMaxDeviceLoad: maxDevice, devices: devices,
                            touchedExperts: touchedPerDevice[busiest],
                            touchedExpertsAllDevices: touchedPerDevice.reduce(0, +))
    }
}

/// The laws that describe one routing setting's loads (see ``RoutingStats``).
struct ExpertShares {
    let routing: RoutingDistribution
    let k: Int
    let experts: Int
    /// The design of fixed weights (nil for Dirichlet routing, whose weights are drawn per batch).
    let design: TopKDesign?
    /// π_i (for Dirichlet routing: the mean, k/E).
    let inclusion: [Double]

    init(routing: RoutingDistribution, weights: [Double], topK: Int) {
        self.routing = routing
        self.k = topK
        self.experts = weights.count
        if case .dirichlet = routing {
            design = nil
            inclusion = Array(repeating: Double(topK) / Double(max(1, weights.count)), count: weights.count)
        } else {
            let d = TopKDesign(shares: weights, topK: topK)
            design = d
            inclusion = d.inclusion
        }
    }

    var concentration: Double? {
        if case let .dirichlet(a) = routing { return a }
        return nil
    }

    /// Indices grouped by equal value (one group for uniform routing).
    static func grouped(_ values: [Double]) -> [(value: Double, members: [Int])] {
        var groups: [(value: Double, members: [Int])] = []
        var index: [Double: Int] = [:]
        for (i, v) in values.enumerated() {
            if let g = index[v] { groups[g].members.append(i) } else {
                index[v] = groups.count
                groups.append((v, [i]))
            }
        }
        return groups
    }

    // MARK: Expected maximum

    /// E[max load] over items: experts (`expertsPerItem` 1) or devices of that many consecutive experts.
    func expectedMaximum(tokens t: Int, expertsPerItem per: Int) -> Double {
        let items = experts / max(1, per)
        let m = min(k, per)
        let cap = t * m
        if items <= 1 { return Double(t * k) }
        if let a = concentration {
            if k == 1 {
                // Dirichlet-multinomial: i.i.d. negative binomials conditioned on the sum (exact); device
                // weights are Dirichlet(per·α) (aggregation).
                let law = CountLaw(.negativeBinomial(shape: Double(per) * a, mean: Double(t) / Double(items)), cap: cap)
                return ConditionedCounts.expectedMaximum([ConditionedCounts.Group(law: law, count: items)], total: t)
                    ?? dirichletMaximum(tokens: t, expertsPerItem: per, concentration: a)
            }
            return dirichletMaximum(tokens: t, expertsPerItem: per, concentration: a)
        }
        return Self.fixedMaximum(tokens: t, inclusion: inclusion, expertsPerItem: per, picks: k, experts: experts)
    }

    /// E[max] for fixed inclusion probabilities: the sum-conditioned representation when the loads are
    /// small enough to tabulate, normal loads with the fixed total's correlation beyond.
    static func fixedMaximum(tokens t: Int, inclusion: [Double], expertsPerItem per: Int, picks k: Int, experts: Int) -> Double {
        let items = experts / max(1, per)
        let cap = t * min(k, per)
        let tt = Double(t)
        // Per item: mean T·Π, variance T·Σ π(1 − π)·(E − e)/(E − 1) (the without-replacement correction of
        // the item's e experts; exact for uniform routing and for single experts).
        let correction = per == 1 ? 1 : (experts > 1 ? Double(experts - per) / Double(experts - 1) : 0)
        var means = [Double](repeating: 0, count: items), variances = means
        for d in 0..<items {
            for i in (d * per)..<((d + 1) * per) {
                means[d] += tt * inclusion[i]
                variances[d] += tt * inclusion[i] * (1 - inclusion[i])
            }
            variances[d] *= correction
        }
        // An item every token fills completely is the maximum.
        if per == 1, inclusion.contains(where: { $0 >= 1 - 1e-12 }) { return tt }
        struct Key: Hashable { var mean: Double; var variance: Double }
        var keys: [Key: Int] = [:]
        keys.reserveCapacity(min(items, 1 << 16))
        var order: [(mean: Double, variance: Double, count: Int)] = []
        for d in 0..<items {
            let key = Key(mean: means[d], variance: variances[d])
            if let i = keys[key] { order[i].count += 1 } else { keys[key] = order.count; order.append((means[d], variances[d], 1)) }
        }
        let groups: [ConditionedCounts.Group]
        if k == 1 {
            groups = order.map { ConditionedCounts.Group(law: CountLaw(.poisson(mean: $0.mean), cap: cap), count: $0.count) }
        } else {
            groups = representation(means: order.map(\.mean), variances: order.map(\.variance), multiplicity: order.map(\.count),
                                    cap: cap, pairProbability: experts > 1 ? Double(k - 1) / Double(experts - 1) : 0)
        }
        if let exact = ConditionedCounts.expectedMaximum(groups, total: t * k) { return exact }
        return normalMaximum(means: means, variances: variances, cap: Double(cap))
    }

    /// Normal loads: exchangeable ones with a fixed sum have max μ + σ·sqrt(n/(n−1))·z_n (the maximum of n
    /// i.i.d. normals projected on the sum-zero plane); others are treated as independent.
    static func normalMaximum(means: [Double], variances: [Double], cap: Double) -> Double {
        let n = means.count
        if let m0 = means.first, let v0 = variances.first, means.allSatisfy({ $0 == m0 }), variances.allSatisfy({ $0 == v0 }) {
            let factor = n > 1 ? (Double(n) / Double(n - 1)).squareRoot() : 1
            return min(cap, m0 + v0.squareRoot() * factor * OrderStatistics.expectedMaximumStandardNormals(count: n))
        }
        let value = OrderStatistics.expectedMaximum(means: means, standardDeviations: variances.map { $0.squareRoot() })
        return min(cap, value.isFinite ? value : (means.max() ?? 0))
    }

    /// Dirichlet routing: E[max] = E_p[E[max | p]], integrated over a fixed set of weight draws
    /// (``dirichletDraws``): the fixed-weight closed form on the first few draws, with Y(p) = T·max Π(p) as
    /// control variate, whose mean is taken over every draw.
    func dirichletMaximum(tokens t: Int, expertsPerItem per: Int, concentration a: Double) -> Double {
        let draws = Self.dirichletDraws(experts: experts, picks: k, concentration: a)
        guard !draws.isEmpty else { return Double(t * k) / Double(max(1, experts / per)) }
        let tt = Double(t)
        func control(_ pi: [Double]) -> Double {
            var best = 0.0
            var d = 0
            while d < pi.count {
                best = max(best, pi[d..<min(pi.count, d + per)].reduce(0, +))
                d += per
            }
            return tt * best
        }
        let full = draws.reduce(0.0) { $0 + control($1) } / Double(draws.count)
        // The closed form on as many draws as a budget allows (all of them for tiny batches, where the
        // control variate follows the maximum least), at least 32.
        let few = min(draws.count, max(32, 20_000 / max(1, experts * t * k)))
        var difference = 0.0
        for j in 0..<few {
            difference += Self.fixedMaximum(tokens: t, inclusion: draws[j], expertsPerItem: per, picks: k, experts: experts) - control(draws[j])
        }
        return min(tt * Double(min(k, per)), full + difference / Double(few))
    }

    /// Exact inclusion probabilities of a fixed set of Dirichlet weight draws (GSL mt19937, fixed seed):
    /// the points of the numerical integration over the weights. Deterministic; cached.
    static func dirichletDraws(experts: Int, picks k: Int, concentration a: Double) -> [[Double]] {
        drawCache.value(for: DrawKey(experts: experts, picks: k, concentration: a), limit: 64) {
            // 2^22 weights in all, 64 to 8,192 draws; beyond 65,536 experts x picks fewer (at least 4), so a million
            // experts cost four draws, not 64 (about 0.5 GB and a minute, found by the fuzzer).
            let count = max(experts * max(1, k) > 65_536 ? 4 : 64, min(8192, (1 << 22) / max(1, experts * max(1, k))))
            var draws: [[Double]] = []
            draws.reserveCapacity(count)
            if let random = try? RandomSource(seed: 0x5EED_D1C7) {
                let alpha = [Double](repeating: a, count: experts)
                for _ in 0..<count {
                    guard let p = try? random.dirichlet(alpha: alpha) else { continue }
                    draws.append(k == 1 ? p : TopKDesign(shares: p, topK: k).inclusion)
                }
            }
            return draws
        }
    }

    struct DrawKey: Hashable { var experts: Int; var picks: Int; var concentration: Double }
    static let drawCache = LockedDictionary<DrawKey, [[Double]]>()

    /// Independent laws whose joint law, conditioned on the sum, has means `means` and conditional
    /// variances `variances`: each item's unconditional variance v solves v − v²/V = t (V = Σ v), keeping
    /// of the two roots the one nearer the exchangeable start m(1 − q), q = (k − 1)/(E − 1) the chance that
    /// a token holding one item also holds a given other; then the law with that mean and variance: a
    /// real-trials binomial below variance = mean, Poisson at it (one pick: Levin's exact laws), a negative
    /// binomial above.
    static func representation(means: [Double], variances: [Double], multiplicity: [Int], cap: Int,
                               pairProbability q: Double) -> [ConditionedCounts.Group] {
        let guess = means.map { $0 * (1 - q) }
        var v = guess
        var total = zip(v, multiplicity).reduce(0.0) { $0 + $1.0 * Double($1.1) }
        for _ in 0..<100 {
            guard total > 0 else { break }
            var next = 0.0
            for (i, t) in variances.enumerated() {
                let disc = total * total - 4 * total * t
                if disc <= 0 { v[i] = total / 2 } else {
                    let low = (total - disc.squareRoot()) / 2, high = (total + disc.squareRoot()) / 2
                    v[i] = abs(low - guess[i]) <= abs(high - guess[i]) ? low : high
                }
                next += v[i] * Double(multiplicity[i])
            }
            let done = abs(next - total) <= 1e-12 * total
            total = next
            if done { break }
        }
        return means.indices.map { i in
            let m = means[i]
            let law: CountLaw
            if m <= 0 {
                law = CountLaw(.poisson(mean: 0), cap: cap)
            } else {
                let r = v[i] / m
                if r < 1 - 1e-9 {
                    law = CountLaw(.realBinomial(trials: m / (1 - r), probability: 1 - r), cap: cap)
                } else if r <= 1 + 1e-9 {
                    law = CountLaw(.poisson(mean: m), cap: cap)
                } else {
                    law = CountLaw(.negativeBinomial(shape: m / (r - 1), mean: m), cap: cap)
                }
            }
            return ConditionedCounts.Group(law: law, count: multiplicity[i])
        }
    }

    // MARK: Marginal laws (touched experts and drops)

    /// P(L_i = 0) and E[(L_i − C)+] for each expert, from each load's marginal law Binomial(T, π_i).
    /// Dirichlet routing: one pick, π = p ~ Beta(α, (E − 1)α) integrated over its quantiles; k picks,
    /// averaged over the fixed draws.
    func marginals(tokens t: Int, capacity: Double?) -> (zero: [Double], excess: [Double]) {
        if let a = concentration {
            let samples: [(pi: Double, w: Double)]
            if k == 1 {
                let e = Double(experts)
                samples = Self.betaQuantiles(a: a, b: (e - 1) * a)
            } else {
                samples = Self.pooledInclusions(experts: experts, picks: k, concentration: a)
            }
            let tt = Double(t)
            var zero = 0.0, excess = 0.0
            var cacheExcess: [Double: Double] = [:]
            for s in samples {
                zero += s.w * (s.pi >= 1 ? 0 : exp(tt * log1p(-s.pi)))
                if let c = capacity {
                    let x = cacheExcess[s.pi] ?? Self.binomialExcess(tokens: t, probability: s.pi, capacity: c, tableWidth: 2000)
                    cacheExcess[s.pi] = x
                    excess += s.w * x
                }
            }
            return ([Double](repeating: min(1, max(0, zero)), count: experts), [Double](repeating: max(0, excess), count: experts))
        }
        var zero = [Double](repeating: 0, count: experts), excess = zero
        for group in Self.grouped(inclusion) {
            let p = group.value
            let z = p >= 1 ? 0 : exp(Double(t) * log1p(-p))
            let x = capacity.map { Self.binomialExcess(tokens: t, probability: p, capacity: $0, tableWidth: 100_000) } ?? 0
            for i in group.members { zero[i] = z; excess[i] = x }
        }
        return (zero, excess)
    }

    /// E[(L − C)+] for L ~ Binomial(T, p): summed over the pmf when it spans at most `tableWidth` values,
    /// else the normal form.
    static func binomialExcess(tokens t: Int, probability p: Double, capacity c: Double, tableWidth: Int) -> Double {
        let law = CountLaw(.binomial(trials: t, probability: min(1, max(0, p))))
        if let table = law.table(maximumWidth: tableWidth) { return table.expectedExcess(over: c) }
        return OrderStatistics.expectedExcess(mean: law.mean, standardDeviation: law.variance.squareRoot(), threshold: c)
    }

    /// The draws' inclusion probabilities pooled over experts (exchangeable), sorted and averaged in 1024
    /// equal-count bins: the marginal law of one expert's inclusion probability.
    static func pooledInclusions(experts: Int, picks k: Int, concentration a: Double) -> [(pi: Double, w: Double)] {
        pooledCache.value(for: DrawKey(experts: experts, picks: k, concentration: a), limit: 64) {
            var pooled = dirichletDraws(experts: experts, picks: k, concentration: a).flatMap { $0 }
            pooled.sort()
            let bins = min(1024, pooled.count)
            var result: [(pi: Double, w: Double)] = []
            result.reserveCapacity(bins)
            for b in 0..<bins {
                let lo = b * pooled.count / bins, hi = (b + 1) * pooled.count / bins
                if hi > lo { result.append((pooled[lo..<hi].reduce(0, +) / Double(hi - lo), Double(hi - lo) / Double(pooled.count))) }
            }
            return result
        }
    }

    static let pooledCache = LockedDictionary<DrawKey, [(pi: Double, w: Double)]>()

    /// Quantile nodes of Beta(a, b) with their probability weights (``GaussLegendre/probabilityRule``), cached.
    static func betaQuantiles(a: Double, b: Double) -> [(pi: Double, w: Double)] {
        quantileCache.value(for: QuantileKey(a: a, b: b), limit: 256) {
            GaussLegendre.probabilityRule().map { node in (pi: GammaBetaDistributions.betaQuantile(node.u, a: a, b: b), w: node.w) }
        }
    }

    struct QuantileKey: Hashable { var a: Double; var b: Double }
    static let quantileCache = LockedDictionary<QuantileKey, [(pi: Double, w: Double)]>()
}

/// A dictionary behind a lock, for caches shared by threads (sweeps evaluate points in parallel).
final class LockedDictionary<Key: Hashable, Value>: @unchecked Sendable {
    private var storage: [Key: Value] = [:]
    private let lock = NSLock()
    func withLock<R>(_ body: (inout [Key: Value]) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
    }

    /// The cached value for `key`, made (outside the lock) and stored when missing; the cache is emptied
    /// when it holds more than `limit` entries.
    func value(for key: Key, limit: Int, _ make: () -> Value) -> Value {
        if let hit = withLock({ $0[key] }) { return hit }
        let made = make()
        withLock { storage in
            if storage.count > limit { storage.removeAll() }
            storage[key] = made
        }
        return made
    }
}
