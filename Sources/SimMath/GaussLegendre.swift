import CGSL
import Foundation

/// Fixed Gauss–Legendre rules (GSL's `gsl_integration_glfixed_*`), composite over equal panels.
public enum GaussLegendre {
    /// Nodes and weights of `panels` panels of a `points`-point rule on [lower, upper]:
    /// Σ w_i f(x_i) ≈ ∫ f. Exact for polynomials of degree 2·points − 1 on each panel.
    static func rule(lower: Double, upper: Double, points: Int = 16, panels: Int = 1) -> [(x: Double, w: Double)] {
        guard upper > lower, points >= 1, panels >= 1 else { return [] }
        GSL.ensureInitialised()
        guard let table = gsl_integration_glfixed_table_alloc(points) else { return [] }
        defer { gsl_integration_glfixed_table_free(table) }
        var result: [(x: Double, w: Double)] = []
        result.reserveCapacity(points * panels)
        let h = (upper - lower) / Double(panels)
        for panel in 0..<panels {
            let a = lower + Double(panel) * h, b = a + h
            for i in 0..<points {
                var x = 0.0, w = 0.0
                if gsl_integration_glfixed_point(a, b, i, &x, &w, table) == 0 { result.append((x, w)) }
            }
        }
        return result
    }
}

extension GaussLegendre {
    /// A rule on (0, 1) for integrals over a probability u = F(x): panels halve toward both ends
    /// ([0, 2^-levels], ..., [1/4, 1/2], [1/2, 3/4], ..., [1 - 2^-levels, 1]), so both tails of the law
    /// are resolved down to 2^-levels of probability. Weights sum to 1.
    public static func probabilityRule(points: Int = 8, levels: Int = 20) -> [(u: Double, w: Double)] {
        var edges: [Double] = [0]
        for level in stride(from: levels, through: 1, by: -1) { edges.append(pow(2, -Double(level))) }
        for level in 2...levels { edges.append(1 - pow(2, -Double(level))) }
        edges.append(1)
        var result: [(u: Double, w: Double)] = []
        for i in 0..<(edges.count - 1) {
            for node in rule(lower: edges[i], upper: edges[i + 1], points: points) { result.append((node.x, node.w)) }
        }
        return result
    }
}
