import Foundation
import Kernels
import Testing

@Suite struct FastMathTests {
    @Test func expRelativeErrorIsBelowOneInAHundredThousand() {
        // A dense sweep of [-86, 88]: every fp32 result within 1e-5 of the exact exponential.
        var worst = 0.0
        var x: Float = -86
        while x <= 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.000_37 })
            let fast = FastMath.exp(lanes)
            for lane in 0..<8 {
                let exact = Foundation.exp(Double(lanes[lane]))
                worst = max(worst, abs(Double(fast[lane]) - exact) / exact)
            }
            x += 0.0131
        }
        #expect(worst < 1e-5, "worst relative error \(worst)")
        #expect(worst > 0)  // it is an approximation: a zero would mean the test is not testing
    }

    @Test func decayExponentialIsAccurateForNonPositiveArguments() {
        // The scan's exp(delta·A) with delta·A in [-86, 0], and a little above 0.
        var worst = 0.0
        var y: Float = -86
        while y <= 2 {
            let lanes = SIMD16<Float>((0..<16).map { y + Float($0) * 0.000_29 })
            let fast = FastMath.exp2Decay(lanes * FastMath.log2e)
            for lane in 0..<16 {
                let exact = Foundation.exp(Double(lanes[lane]))
                worst = max(worst, abs(Double(fast[lane]) - exact) / exact)
            }
            y += 0.0093
        }
        #expect(worst < 1e-5, "worst relative error \(worst)")
        // Far below the range the factor is tiny and finite, not garbage.
        let tiny = FastMath.exp2Decay(SIMD16<Float>(repeating: -1e6))
        #expect(tiny[0] >= 0 && tiny[0] < 1e-37)
    }

    @Test func exp2IsAccurateAndExactAtIntegers() {
        var worst = 0.0
        var x: Float = -30
        while x <= 30 {
            let fast = FastMath.exp2(SIMD8<Float>(repeating: x))[0]
            let exact = Foundation.exp2(Double(x))
            worst = max(worst, abs(Double(fast) - exact) / exact)
            x += 0.001_7
        }
        #expect(worst < 5e-7, "worst relative error \(worst)")
        #expect(abs(FastMath.exp2(SIMD16<Float>(repeating: 10))[15] - 1024) < 1e-3)
        #expect(FastMath.exp(0) == FastMath.exp(SIMD8<Float>(repeating: 0))[0])
    }

    @Test func extremesAreClampedNotGarbage() {
        let values = SIMD8<Float>(-1000, -200, -87.5, 0, 88, 200, 1000, -0.0)
        let result = FastMath.exp(values)
        for lane in 0..<8 {
            #expect(result[lane].isFinite && result[lane] >= 0, "lane \(lane): \(result[lane])")
        }
        #expect(result[0] < 1e-37)
        #expect(result[6] > 1e38)
    }

    @Test func sigmoidTanhAndSiluAgreeWithDefinitions() {
        var random = SeededGenerator(seed: 1)
        for _ in 0..<50 {
            let x = SIMD8<Float>(random.array(8, -12, 12))
            let sigmoid = FastMath.sigmoid(x), tanh = FastMath.tanh(x), silu = FastMath.silu(x)
            for lane in 0..<8 {
                let v = Double(x[lane])
                #expect(abs(Double(sigmoid[lane]) - 1 / (1 + Foundation.exp(-v))) < 1e-6)
                #expect(abs(Double(tanh[lane]) - Foundation.tanh(v)) < 2e-6)
                #expect(abs(Double(silu[lane]) - v / (1 + Foundation.exp(-v))) < 1e-5 * max(1, abs(v)))
            }
        }
    }
}
