import Foundation

/// How one token picks its k distinct experts (or FFF leaves): the routing model shared by the
/// closed form (``RoutingStats``) and the event engine's draws.
///
/// The routing distribution gives each expert a weight p_i (uniform, zipf, explicit, or a Dirichlet
/// draw per batch). A token picks a set S of k *distinct* experts with
///
///     P(S) ∝ Π_{i ∈ S} p_i,   |S| = k
///
/// the conditional Poisson (maximum-entropy) design: independent picks with odds ∝ p_i, kept when
/// exactly k came up (Chen, Dempster & Liu, "Weighted finite population sampling to maximize
/// entropy", Biometrika 81(3), 1994). With one pick it is the categorical draw over p; with uniform
/// weights a uniformly random k-subset, which is what a top-k router over exchangeable experts gives;
/// skewed weights give inclusion probabilities π_i ≈ k·p_i that saturate below 1, so no load ever
/// exceeds the token count. Experts with zero weight are never picked, unless fewer than k experts
/// have weight: then those are certain and the picks left fall uniformly on the others.
///
/// The design is sequential: walking the experts in order, a token with r picks still to make takes
/// expert j with probability a(j, r) = w_j e_{r−1}(w_{j+1..}) / e_r(w_{j..}) (e_r the elementary
/// symmetric polynomial), whatever it took before. So the loads of T tokens can be drawn exactly with
/// E·k binomial draws, however large T is (``draw(tokens:binomial:)``).
public struct TopKDesign: Sendable {
    public let experts: Int
    public let topK: Int
    /// Weights of the free experts (normalised; 0 for certain ones).
    public let weights: [Double]
    /// π_i = P(expert i in a token's set).
    public let inclusion: [Double]
    /// Experts every token takes and the picks left for the others.
    let certain: [Bool]
    let freeK: Int
    /// a(j, r) for r = 1 ... freeK, row-major (j * freeK + r − 1); empty when the free experts' weights
    /// are equal (then a(j, r) = r / (free experts left)).
    let chain: [Double]
    public let isUniform: Bool

    /// Largest experts x picks a skewed design tabulates (the loader keeps scenarios below it).
    public static let maximumChainEntries = 1 << 23

    /// The design for weights `p` (any scale) and `topK` picks per token.
    public init(shares p: [Double], topK k: Int) {
        let e = p.count
        experts = e
        let picks = max(0, min(k, e))
        topK = picks
        let positive = p.reduce(0) { $0 + ($1 > 0 && $1.isFinite ? 1 : 0) }
        var sure = [Bool](repeating: false, count: e)
        var w = p.map { $0 > 0 && $0.isFinite ? $0 : 0 }
        if positive < picks {
            // Every weighted expert is certain; the rest of the picks fall uniformly on the others.
            for i in 0..<e where w[i] > 0 { sure[i] = true; w[i] = 0 }
            for i in 0..<e where !sure[i] { w[i] = 1 }
        }
        certain = sure
        let nCertain = sure.reduce(0) { $0 + ($1 ? 1 : 0) }
        let free = max(0, picks - nCertain)
        freeK = free
        let total = w.reduce(0, +)
        if total > 0 { w = w.map { $0 / total } }
        weights = w
        let freeIndices = (0..<e).filter { !sure[$0] && w[$0] > 0 }
        let first = freeIndices.first.map { w[$0] } ?? 0
        let uniform = freeIndices.count == e - nCertain && freeIndices.allSatisfy { abs(w[$0] - first) <= 1e-12 * first }
        isUniform = uniform
        if uniform || free == 0 || e * free > Self.maximumChainEntries {
            chain = []
            let freeCount = Double(e - nCertain)
            inclusion = (0..<e).map { sure[$0] ? 1 : (freeCount > 0 ? Double(free) / freeCount : 0) }
        } else {
            let a = Self.chainProbabilities(weights: w, certain: sure, picks: free)
            chain = a
            inclusion = Self.inclusionOf(chain: a, certain: sure, picks: free)
        }
    }

    /// P(a token with r free picks left takes free expert j | m free experts left, j among them), r >= 1.
    @inline(__always)
    func take(_ j: Int, picksLeft r: Int, freeExpertsLeft m: Int) -> Double {
        if r >= m { return 1 }
        if chain.isEmpty { return Double(r) / Double(m) }
        return chain[j * freeK + r - 1]
    }

    /// The loads of `tokens` tokens: experts every token takes get every token; walking the other
    /// experts in order, the tokens with r picks left take expert j as one
    /// `binomial(n_r, a(j, r))` draw. Exact, with E x k draws whatever the token count.
    public func draw(tokens: Int, binomial: (Int, Double) -> Int) -> [Int] {
        var loads = [Int](repeating: 0, count: experts)
        guard tokens > 0 else { return loads }
        var left = [Int](repeating: 0, count: freeK + 1)  // left[r]: tokens with r free picks still to make
        left[freeK] = tokens
        var moved = [Int](repeating: 0, count: freeK + 1)
        var freeLeft = certain.reduce(experts) { $0 - ($1 ? 1 : 0) }
        for j in 0..<experts {
            if certain[j] { loads[j] = tokens; continue }
            var load = 0
            if freeK > 0 {
                for r in 1...freeK where left[r] > 0 {
                    let a = take(j, picksLeft: r, freeExpertsLeft: freeLeft)
                    let x = a >= 1 ? left[r] : (a <= 0 ? 0 : min(left[r], max(0, binomial(left[r], a))))
                    moved[r] = x
                    load += x
                }
                for r in 1...freeK where moved[r] > 0 {
                    left[r] -= moved[r]
                    left[r - 1] += moved[r]
                    moved[r] = 0
                }
            }
            loads[j] = load
            freeLeft -= 1
        }
        return loads
    }

    /// a(j, r) = w_j R(j+1, r−1) / (R(j+1, r) + w_j R(j+1, r−1)), R(j, r) the elementary symmetric
    /// polynomial of degree r of the free weights from j on (rescaled per j: only its ratios matter).
    static func chainProbabilities(weights w: [Double], certain: [Bool], picks k: Int) -> [Double] {
        let e = w.count
        var a = [Double](repeating: 0, count: e * k)
        var r = [Double](repeating: 0, count: k + 1)
        r[0] = 1
        for j in stride(from: e - 1, through: 0, by: -1) {
            if certain[j] { continue }
            let wj = w[j]
            for picks in 1...k {
                let take = wj * r[picks - 1], skip = r[picks]
                a[j * k + picks - 1] = take + skip > 0 ? take / (take + skip) : (wj > 0 ? 1 : 0)
            }
            for picks in stride(from: k, through: 1, by: -1) { r[picks] += wj * r[picks - 1] }
            let m = r.max() ?? 1
            if m > 0 { for i in 0...k { r[i] /= m } }
        }
        return a
    }

    /// Inclusion probabilities of the sequential design: the distribution of picks left, walked forward.
    static func inclusionOf(chain a: [Double], certain: [Bool], picks k: Int) -> [Double] {
        let e = certain.count
        var q = [Double](repeating: 0, count: k + 1)
        q[k] = 1
        var pi = [Double](repeating: 0, count: e)
        var next = [Double](repeating: 0, count: k + 1)
        for j in 0..<e {
            if certain[j] { pi[j] = 1; continue }
            for r in 0...k { next[r] = 0 }
            next[0] = q[0]
            var taken = 0.0
            for r in 1...k {
                let t = q[r] * a[j * k + r - 1]
                taken += t
                next[r - 1] += t
                next[r] += q[r] - t
            }
            pi[j] = min(1, taken)
            swap(&q, &next)
        }
        return pi
    }
}
