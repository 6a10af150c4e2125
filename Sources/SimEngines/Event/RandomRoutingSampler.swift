import SimMath
import SimModel

/// Draws a step's random quantities from one seeded GSL generator (mt19937): expert and leaf loads
/// as a multinomial over the routing probabilities (for Dirichlet routing the probabilities are drawn
/// first, per batch), and skip / execute / repeat as a multinomial over the decisions.
public final class RandomRoutingSampler: RoutingSampler {
    let random: RandomSource

    public init(seed: UInt64) throws { random = try RandomSource(seed: seed) }

    public func depthCounts(decisions: Int, skip: Double, repeatProbability: Double) -> (atLeastOnce: Int, twice: Int) {
        let execute = max(0, 1 - skip - repeatProbability)
        // Inputs are validated probabilities and counts below 2^32 (EventEngine checks), so this draw cannot fail.
        let counts = (try? random.multinomial(trials: decisions, probabilities: [skip, execute, repeatProbability])) ?? [0, decisions, 0]
        return (counts[1] + counts[2], counts[2])
    }

    public func expertLoads(assignments: Int, experts: Int, routing: RoutingDistribution) -> [Int] {
        var p: [Double]
        if case let .dirichlet(a) = routing {
            p = (try? random.dirichlet(alpha: Array(repeating: a, count: experts))) ?? RoutingStats.probabilities(.uniform, count: experts)
        } else {
            p = RoutingStats.probabilities(routing, count: experts)
        }
        return (try? random.multinomial(trials: assignments, probabilities: p)) ?? p.map { Int(($0 * Double(assignments)).rounded()) }
    }
}
