import SimMath
import SimModel

/// Draws a step's random quantities from one seeded GSL generator (mt19937): expert and leaf loads
/// from the top-k design of ``TopKDesign`` (for Dirichlet routing the shares are drawn first, per
/// batch), and skip / execute / repeat as a multinomial over the decisions.
public final class RandomRoutingSampler: RoutingSampler {
    let random: RandomSource
    /// Designs of fixed routing settings, built once per run.
    var designs: [DesignKey: TopKDesign] = [:]

    struct DesignKey: Hashable {
        var experts: Int
        var topK: Int
        var routing: RoutingDistribution
    }

    public init(seed: UInt64) throws { random = try RandomSource(seed: seed) }

    public func depthCounts(decisions: Int, skip: Double, repeatProbability: Double) -> (atLeastOnce: Int, twice: Int) {
        let execute = max(0, 1 - skip - repeatProbability)
        // Inputs are validated probabilities and counts below 2^32 (EventEngine checks), so this draw cannot fail.
        let counts = (try? random.multinomial(trials: decisions, probabilities: [skip, execute, repeatProbability])) ?? [0, decisions, 0]
        return (counts[1] + counts[2], counts[2])
    }

    public func expertLoads(tokens: Int, topK: Int, experts: Int, routing: RoutingDistribution) -> [Int] {
        guard experts > 0, tokens > 0 else { return [Int](repeating: 0, count: max(0, experts)) }
        let design: TopKDesign
        if case let .dirichlet(a) = routing {
            let p = (try? random.dirichlet(alpha: Array(repeating: a, count: experts))) ?? RoutingStats.probabilities(.uniform, count: experts)
            design = TopKDesign(shares: p, topK: topK)
        } else {
            let key = DesignKey(experts: experts, topK: topK, routing: routing)
            if let cached = designs[key] { design = cached } else {
                design = TopKDesign(shares: RoutingStats.probabilities(routing, count: experts), topK: topK)
                designs[key] = design
            }
        }
        return Self.draw(design, tokens: tokens, random: random)
    }

    /// Loads of `tokens` tokens under `design` (one pick: a multinomial over the inclusion probabilities).
    static func draw(_ design: TopKDesign, tokens: Int, random: RandomSource) -> [Int] {
        if design.topK == 1 {
            return (try? random.multinomial(trials: tokens, probabilities: design.inclusion)) ?? [Int](repeating: 0, count: design.experts)
        }
        // Trials and probabilities are in range by construction (design.draw checks both).
        return design.draw(tokens: tokens) { n, a in (try? random.binomial(trials: n, probability: a)) ?? Int((Double(n) * a).rounded()) }
    }
}
