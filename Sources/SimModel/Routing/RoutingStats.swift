import Foundation
import SimMath

/// Closed-form statistics of routed load (MoE experts or FFF leaves) for one batch.
///
/// Model: the N = T*k token-to-expert assignments of a batch are a multinomial over the routing
/// probabilities p (for Dirichlet routing, p is itself drawn per batch). Each expert's load is
/// then Binomial(N, p_i), approximated as normal (mean N p_i, variance N p_i (1 - p_i)), loads
/// treated as independent; E[max load] is the expected maximum of those normals (papers.md:
/// Switch-style top-k load; z_E = 1.42 for E = 8). For Dirichlet(a) routing the spread of p
/// dominates and is skewed, so E[max load] = N E[max p] exactly through the Gamma representation,
/// and drops come from Beta tails (the binomial noise on top is neglected).
/// Dropped tokens at capacity C: E[sum_i max(0, L_i - C)].
public struct RoutingStats: Sendable, Equatable {
    /// Routed assignments in the batch (T*k).
    public var assignments: Double
    public var experts: Int
    /// Expected load of each expert (T*k*p_i), most loaded first for zipf.
    public var meanLoads: [Double]
    /// E[max_i L_i].
    public var expectedMaxLoad: Double
    /// E[max L] / (T*k/E): 1 = perfectly balanced.
    public var imbalance: Double
    /// Rows each expert's buffer holds (capacity mode), nil when dropless.
    public var capacityRows: Double?
    /// E[dropped assignments] / (T*k).
    public var droppedFraction: Double
    /// Expected load of the most loaded device under expert parallelism (= expectedMaxLoad for one expert per device).
    public var expectedMaxDeviceLoad: Double
    public var devices: Int

    /// Routing probabilities p_i of a distribution over `count` experts (normalised; Dirichlet gives its mean, uniform).
    public static func probabilities(_ routing: RoutingDistribution, count: Int) -> [Double] {
        guard count > 0 else { return [] }
        var p: [Double]
        switch routing {
        case .uniform, .dirichlet: p = Array(repeating: 1, count: count)
        case let .zipf(s): p = (1...count).map { pow(Double($0), -s) }
        case let .explicit(loads): p = loads.count == count ? loads : Array(repeating: 1, count: count)
        }
        let total = p.reduce(0, +)
        return p.map { $0 / total }
    }

    /// Statistics for T*k `assignments` over `experts` with the given routing, capacity and devices.
    public static func compute(assignments: Double, experts: Int, routing: RoutingDistribution,
                               capacityFactor: Double?, devices: Int) -> RoutingStats {
        let e = Double(experts)
        let p = probabilities(routing, count: experts)
        let means = p.map { assignments * $0 }
        var sds: [Double]
        if case let .dirichlet(a) = routing {
            let v = assignments * (1 / e) * (1 - 1 / e) * (assignments + e * a) / (1 + e * a)
            sds = Array(repeating: v.squareRoot(), count: experts)
        } else {
            sds = p.map { (assignments * $0 * (1 - $0)).squareRoot() }
        }
        let uniformSD = sds.allSatisfy { $0 == sds.first }, uniformMean = means.allSatisfy { $0 == means.first }
        let expectedMax: Double
        if experts == 1 {
            expectedMax = assignments
        } else if case let .dirichlet(a) = routing {
            // The skew of Beta(a, (E-1)a) loads is far from normal for small a: use the exact
            // E[max p] = E[max of E Gamma(a)] / (E a) (Gamma representation of the Dirichlet).
            expectedMax = assignments * GammaBetaDistributions.expectedMaximumOfIIDGamma(count: experts, shape: a) / (e * a)
        } else if uniformSD && uniformMean {
            expectedMax = OrderStatistics.expectedMaximumOfIID(count: experts, mean: means[0], standardDeviation: sds[0])
        } else {
            expectedMax = OrderStatistics.expectedMaximum(means: means, standardDeviations: sds)
        }
        let balanced = assignments / e
        var capacity: Double? = nil
        var dropped = 0.0
        if let factor = capacityFactor {
            // Switch Transformer: capacity = tokens / experts x capacity factor (here T*k assignments).
            let c = (factor * balanced).rounded(.up)
            capacity = c
            if case let .dirichlet(a) = routing {
                // p_i ~ Beta(a, (E-1)a): E[(N p - C)+] = N/E * P(Beta(a+1, (E-1)a) > C/N) - C * P(Beta(a, (E-1)a) > C/N).
                let x = c / assignments, b = (e - 1) * a
                let excess = assignments / e * GammaBetaDistributions.betaSurvival(x, a: a + 1, b: b)
                    - c * GammaBetaDistributions.betaSurvival(x, a: a, b: b)
                dropped = e * max(0, excess)
            } else {
                for i in 0..<experts {
                    dropped += OrderStatistics.expectedExcess(mean: means[i], standardDeviation: sds[i], threshold: c)
                }
            }
        }
        // Devices hold experts/devices consecutive experts each; a device's load sums its experts'.
        // On one device that is every assignment.
        var maxDevice = assignments
        if devices > 1 {
            let per = experts / devices
            if case let .dirichlet(a) = routing {
                // Aggregated Dirichlet: the device shares are Dirichlet(per*a, ..., per*a) over the devices.
                let groupShape = Double(per) * a
                maxDevice = assignments * GammaBetaDistributions.expectedMaximumOfIIDGamma(count: devices, shape: groupShape)
                    / (Double(devices) * groupShape)
            } else {
                var dMeans: [Double] = [], dSDs: [Double] = []
                for d in 0..<devices {
                    let range = (d * per)..<((d + 1) * per)
                    dMeans.append(range.reduce(0) { $0 + means[$1] })
                    let pd = range.reduce(0) { $0 + p[$1] }
                    dSDs.append((assignments * pd * (1 - pd)).squareRoot())
                }
                maxDevice = OrderStatistics.expectedMaximum(means: dMeans, standardDeviations: dSDs)
            }
            if let c = capacity { maxDevice = min(maxDevice, c * Double(per)) }
        }
        return RoutingStats(assignments: assignments, experts: experts, meanLoads: means, expectedMaxLoad: expectedMax,
                            imbalance: balanced > 0 ? expectedMax / balanced : 1, capacityRows: capacity,
                            droppedFraction: assignments > 0 ? dropped / assignments : 0,
                            expectedMaxDeviceLoad: maxDevice, devices: devices)
    }
}
