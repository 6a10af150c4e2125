import Testing

/// SplitMix64 (Steele, Lea and Flood 2014): a small fixed-seed generator so every test
/// sees the same data on every run.
struct SeededGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Float = -1, _ high: Float = 1) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }

    mutating func array(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(low, high) }
    }
}

/// Largest |actual - expected| relative to the largest |expected| (a norm-wise relative
/// error, robust to individual entries near zero).
func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count, "length mismatch")
    var worst = 0.0
    var scale = 1e-30
    for index in actual.indices {
        worst = max(worst, abs(Double(actual[index]) - expected[index]))
        scale = max(scale, abs(expected[index]))
    }
    return worst / scale
}

func relativeError(_ actual: [Float], _ expected: [Float]) -> Double {
    relativeError(actual, expected.map(Double.init))
}

/// Checks two arrays agree to `tolerance` (norm-wise relative), reporting the error.
func expectClose(
    _ actual: [Float], _ expected: [Double], tolerance: Double, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = relativeError(actual, expected)
    #expect(error <= tolerance, "\(what): relative error \(error) > \(tolerance)", sourceLocation: sourceLocation)
}

func expectClose(
    _ actual: [Float], _ expected: [Float], tolerance: Double, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(actual, expected.map(Double.init), tolerance: tolerance, what, sourceLocation: sourceLocation)
}
