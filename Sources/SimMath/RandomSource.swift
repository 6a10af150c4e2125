import CGSL

/// A seeded pseudo-random source backed by GSL's Mersenne Twister (`gsl_rng_mt19937`).
///
/// The same seed always yields the same sequence of draws, on every platform GSL runs on.
///
/// **Seeding.** MT19937 has a 32-bit seed: `gsl_rng_set` keeps only the low 32 bits, and
/// treats 0 as "use the default seed 4357". The 64-bit `seed` is therefore folded to
/// `UInt32(truncatingIfNeeded: seed ^ (seed >> 32))` before `gsl_rng_set`, so every seed
/// below 2³² is passed to GSL unchanged, all 64 bits influence the stream, and seed 0 is
/// allowed: it gives GSL's default stream, the same as seed 4357. Two seeds whose folds are
/// equal give the same stream.
///
/// **Threads.** Not `Sendable`: a generator has mutable state and must stay on one thread
/// (or task). Give each parallel worker its own source, seeded with
/// `RandomSource.derivedSeed(base:stream:)`.
public final class RandomSource {
    private let generator: UnsafeMutablePointer<gsl_rng>

    /// The 64-bit seed this source was created with.
    public let seed: UInt64

    /// Creates a generator seeded with `seed` (see the type's documentation for how the
    /// 64-bit seed maps to MT19937's 32-bit seed, including seed 0).
    ///
    /// - Throws: `RandomSourceError.allocationFailed` if GSL cannot allocate the generator.
    public init(seed: UInt64) throws {
        GSL.ensureInitialised()
        guard let generator = gsl_rng_alloc(hs_rng_mt19937()) else {
            throw RandomSourceError.allocationFailed
        }
        self.generator = generator
        self.seed = seed
        gsl_rng_set(generator, UInt(RandomSource.gslSeed(seed)))
    }

    deinit {
        gsl_rng_free(generator)
    }

    /// The 32-bit value passed to `gsl_rng_set`: the xor of the two halves of `seed`.
    public static func gslSeed(_ seed: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: seed ^ (seed >> 32))
    }

    /// A seed for the `stream`-th independent worker derived from `base`:
    /// splitmix64(splitmix64(base) + (stream + 1)·φ₆₄) with φ₆₄ = 0x9E3779B97F4A7C15
    /// (wrapping arithmetic).
    ///
    /// Deterministic; for a fixed base, distinct streams give distinct 64-bit seeds
    /// (both steps are bijections), and nearby bases/streams give unrelated seeds. Since
    /// MT19937 folds seeds to 32 bits, k streams share a generator with probability about
    /// k²/2³³ (≈ 1e−4 for k = 1000).
    public static func derivedSeed(base: UInt64, stream: UInt64) -> UInt64 {
        splitmix64(splitmix64(base) &+ (stream &+ 1) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The splitmix64 finaliser (Steele, Lea & Flood 2014) applied to x + φ₆₄.
    static func splitmix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    // MARK: - Draws

    /// U ~ Uniform[0, 1) (`gsl_rng_uniform`; 32 random bits, so a multiple of 2⁻³²).
    @inline(__always)
    public func uniform() -> Double {
        gsl_rng_uniform(generator)
    }

    /// X ~ N(0, σ²) (`gsl_ran_gaussian_ziggurat`, Marsaglia–Tsang ziggurat).
    ///
    /// Returns σ·Z for a standard normal Z, so a negative σ gives the same distribution as
    /// |σ|, σ = 0 gives 0, and a non-finite σ propagates.
    @inline(__always)
    public func gaussian(sigma: Double) -> Double {
        gsl_ran_gaussian_ziggurat(generator, sigma)
    }

    /// X ~ Gamma(k, θ) with density x^(k−1) e^(−x/θ) / (Γ(k) θ^k), mean kθ
    /// (`gsl_ran_gamma`, Marsaglia–Tsang).
    ///
    /// - Throws: `RandomSourceError.invalidParameter` unless shape and scale are finite and > 0.
    public func gamma(shape: Double, scale: Double) throws -> Double {
        guard shape.isFinite, shape > 0 else {
            throw RandomSourceError.invalidParameter(name: "shape", value: shape, requirement: "finite and > 0")
        }
        guard scale.isFinite, scale > 0 else {
            throw RandomSourceError.invalidParameter(name: "scale", value: scale, requirement: "finite and > 0")
        }
        return gsl_ran_gamma(generator, shape, scale)
    }

    /// K ~ Binomial(n, p): the number of successes in n independent trials with success
    /// probability p (`gsl_ran_binomial`).
    ///
    /// - Throws: `RandomSourceError.trialsOutOfRange` if trials < 0 or trials > UInt32.max
    ///   (GSL takes `unsigned int`; values are never clamped), and `.invalidParameter` unless
    ///   0 ≤ p ≤ 1.
    public func binomial(trials: Int, probability: Double) throws -> Int {
        let n = try Self.checkedTrials(trials)
        guard probability >= 0, probability <= 1 else {
            throw RandomSourceError.invalidParameter(name: "probability", value: probability, requirement: "in [0, 1]")
        }
        return Int(gsl_ran_binomial(generator, probability, n))
    }

    /// (N_1, …, N_K) ~ Multinomial(n; p_1, …, p_K) (`gsl_ran_multinomial`). The
    /// probabilities are weights: they are divided by their sum, so they need not be
    /// normalised. The counts always sum to `trials`; zero-weight categories get 0.
    ///
    /// - Throws: `RandomSourceError.trialsOutOfRange` if trials < 0 or > UInt32.max, and
    ///   `.invalidWeights` if `probabilities` is empty, has a negative or non-finite entry,
    ///   or sums to 0 or +∞.
    public func multinomial(trials: Int, probabilities: [Double]) throws -> [Int] {
        let n = try Self.checkedTrials(trials)
        _ = try Self.checkedWeightTotal(probabilities, name: "probabilities")
        let k = probabilities.count
        return probabilities.withUnsafeBufferPointer { p in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: k) { counts in
                // base addresses are non-nil: k ≥ 1 was checked above.
                guard let pBase = p.baseAddress, let countsBase = counts.baseAddress else {
                    return [Int](repeating: 0, count: k)
                }
                gsl_ran_multinomial(generator, k, n, pBase, countsBase)
                return counts.map { Int($0) }
            }
        }
    }

    /// (θ_1, …, θ_K) ~ Dirichlet(α_1, …, α_K), a random point of the probability simplex
    /// with density ∝ Π θ_i^(α_i − 1) (`gsl_ran_dirichlet`). Components sum to 1 (up to
    /// rounding).
    ///
    /// - Throws: `RandomSourceError.invalidWeights` if `alpha` is empty or has an entry that
    ///   is not finite and > 0.
    public func dirichlet(alpha: [Double]) throws -> [Double] {
        guard !alpha.isEmpty else {
            throw RandomSourceError.invalidWeights(name: "alpha", reason: "empty")
        }
        for a in alpha where !(a.isFinite && a > 0) {
            throw RandomSourceError.invalidWeights(name: "alpha", reason: "entry \(a) is not finite and > 0")
        }
        let k = alpha.count
        var theta = [Double](repeating: 0, count: k)
        alpha.withUnsafeBufferPointer { a in
            theta.withUnsafeMutableBufferPointer { t in
                guard let aBase = a.baseAddress, let tBase = t.baseAddress else { return }
                gsl_ran_dirichlet(generator, k, aBase, tBase)
            }
        }
        return theta
    }

    /// B ~ Bernoulli(p): true with probability p, computed as U < p.
    ///
    /// Never throws: p ≤ 0 (or NaN) always gives false and p ≥ 1 always gives true; one
    /// uniform is consumed either way.
    @inline(__always)
    public func bernoulli(_ p: Double) -> Bool {
        uniform() < p
    }

    /// I ~ Categorical(w): index i with probability w_i / Σ_j w_j (weights need not be
    /// normalised). Uses one uniform and a linear scan of the cumulative weights, so it
    /// costs O(K) and allocates nothing; zero-weight indices are never returned.
    ///
    /// - Throws: `RandomSourceError.invalidWeights` if `probabilities` is empty, has a
    ///   negative or non-finite entry, or sums to 0 or +∞.
    public func categorical(_ probabilities: [Double]) throws -> Int {
        let total = try Self.checkedWeightTotal(probabilities, name: "probabilities")
        let target = uniform() * total
        var cumulative = 0.0
        var lastPositive = 0
        for (i, w) in probabilities.enumerated() where w > 0 {
            cumulative += w
            if target < cumulative { return i }
            lastPositive = i
        }
        // Only reachable through rounding (target ≥ the computed sum): the last index with
        // positive weight is the correct limit.
        return lastPositive
    }

    // MARK: - Validation

    private static func checkedTrials(_ trials: Int) throws -> UInt32 {
        guard let n = UInt32(exactly: trials) else {
            throw RandomSourceError.trialsOutOfRange(trials: trials)
        }
        return n
    }

    /// Σ w, after checking that w is non-empty, non-negative and finite, with a positive
    /// finite sum.
    private static func checkedWeightTotal(_ weights: [Double], name: String) throws -> Double {
        guard !weights.isEmpty else {
            throw RandomSourceError.invalidWeights(name: name, reason: "empty")
        }
        var total = 0.0
        for w in weights {
            guard w.isFinite, w >= 0 else {
                throw RandomSourceError.invalidWeights(name: name, reason: "entry \(w) is negative or not finite")
            }
            total += w
        }
        guard total > 0, total.isFinite else {
            throw RandomSourceError.invalidWeights(name: name, reason: "weights sum to \(total)")
        }
        return total
    }
}

/// A generator's state is mutated by every draw: use one `RandomSource` per thread/task.
@available(*, unavailable)
extension RandomSource: Sendable {}
