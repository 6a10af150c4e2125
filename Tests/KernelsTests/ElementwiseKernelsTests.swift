import Foundation
import Kernels
import Testing

@Suite struct ElementwiseKernelsTests {
    // 37: four full vectors, a pair, and a partial tail.
    static let count = 37

    static func inputs(_ seed: UInt64, _ low: Float = -4, _ high: Float = 4) -> [Float] {
        var random = SeededGenerator(seed: seed)
        return random.array(count, low, high)
    }

    @Test func rmsNormMatchesDefinition() {
        let (rows, width) = (3, 21)
        var random = SeededGenerator(seed: 1)
        let x = random.array(rows * width, -3, 3), weight = random.array(width)
        var out = [Float](repeating: 0, count: rows * width)
        ElementwiseKernels.rmsNorm(x: x, weight: weight, out: &out, rows: rows, width: width, epsilon: 1e-5)
        var expected = [Double](repeating: 0, count: rows * width)
        for r in 0..<rows {
            let meanSquare = (0..<width).map { Double(x[r * width + $0]) * Double(x[r * width + $0]) }.reduce(0, +) / Double(width)
            let scale = 1 / (meanSquare + 1e-5).squareRoot()
            for i in 0..<width { expected[r * width + i] = Double(x[r * width + i]) * scale * Double(weight[i]) }
        }
        expectClose(out, expected, tolerance: 1e-6, "rmsNorm")
    }

    @Test func multiplyBlendAndWeightedSumMatchTheirDefinitions() {
        let a = Self.inputs(11), b = Self.inputs(12)
        var out = [Float](repeating: 0, count: Self.count)
        ElementwiseKernels.multiply(a: a, b: b, out: &out, count: Self.count)
        expectClose(out, (0..<Self.count).map { Double(a[$0]) * Double(b[$0]) }, tolerance: 1e-6, "multiply")
        ElementwiseKernels.blend(a: a, b: b, alpha: 0.3, out: &out, count: Self.count)
        expectClose(out, (0..<Self.count).map { 0.3 * Double(a[$0]) + 0.7 * Double(b[$0]) }, tolerance: 1e-5, "blend")
        // Three inputs `count` apart, as the MoE combine lays a token's expert outputs out.
        let stacked = Self.inputs(13) + Self.inputs(14) + Self.inputs(15), weights: [Float] = [0.5, -0.25, 2]
        ElementwiseKernels.weightedSum(inputs: stacked, k: 3, weights: weights, out: &out, count: Self.count)
        let expected = (0..<Self.count).map { i in (0..<3).map { Double(weights[$0]) * Double(stacked[$0 * Self.count + i]) }.reduce(0, +) }
        expectClose(out, expected, tolerance: 1e-5, "weightedSum")
    }

    @Test func adamStepMatchesAlgorithm1() {
        var p = Self.inputs(21), m = Self.inputs(22, -1, 1), v = Self.inputs(23, 0, 1)
        let g = Self.inputs(24)
        let (p0, m0, v0) = (p, m, v)
        ElementwiseKernels.adam(parameters: &p, gradients: g, m: &m, v: &v, count: Self.count, learningRate: 0.01)
        for i in 0..<Self.count {
            let mi = 0.9 * Double(m0[i]) + 0.1 * Double(g[i]), vi = 0.999 * Double(v0[i]) + 0.001 * Double(g[i]) * Double(g[i])
            let pi = Double(p0[i]) - 0.01 * mi / (vi.squareRoot() + 1e-8)
            #expect(abs(Double(m[i]) - mi) <= 1e-5 * max(1, abs(mi)))
            #expect(abs(Double(v[i]) - vi) <= 1e-5 * max(1, abs(vi)))
            #expect(abs(Double(p[i]) - pi) <= 1e-4 * max(1, abs(pi)))
        }
    }

    @Test func siluMulMatchesDefinition() {
        let gate = Self.inputs(2), up = Self.inputs(3)
        var out = [Float](repeating: 0, count: Self.count)
        ElementwiseKernels.siluMul(gate: gate, up: up, out: &out, count: Self.count)
        let expected = (0..<Self.count).map { i -> Double in
            let g = Double(gate[i])
            return g / (1 + Foundation.exp(-g)) * Double(up[i])
        }
        expectClose(out, expected, tolerance: 1e-5, "siluMul")
    }

    @Test func siluMatchesDefinition() {
        let x = Self.inputs(4, -30, 30)
        var out = [Float](repeating: 0, count: Self.count)
        ElementwiseKernels.silu(x: x, out: &out, count: Self.count)
        expectClose(out, x.map { Double($0) / (1 + Foundation.exp(-Double($0))) }, tolerance: 1e-5, "silu")
    }

    @Test func geluMatchesTanhForm() {
        let x = Self.inputs(5, -6, 6) + [0, -10, 10, 1e-3]
        var out = [Float](repeating: 0, count: x.count)
        ElementwiseKernels.gelu(x: x, out: &out, count: x.count)
        let expected = x.map { value -> Double in
            let v = Double(value)
            return 0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
        }
        expectClose(out, expected, tolerance: 1e-5, "gelu")
    }

    @Test func addMeanAndGateMix() {
        let a = Self.inputs(6), b = Self.inputs(7), logits = Self.inputs(8, -10, 10)
        var out = [Float](repeating: 0, count: Self.count)
        ElementwiseKernels.add(a: a, b: b, out: &out, count: Self.count)
        #expect(out == zip(a, b).map { $0 + $1 })
        ElementwiseKernels.mean(a: a, b: b, out: &out, count: Self.count)
        #expect(out == zip(a, b).map { ($0 + $1) * 0.5 })
        ElementwiseKernels.gateMix(logits: logits, a: a, b: b, out: &out, count: Self.count)
        let expected = (0..<Self.count).map { i -> Double in
            let g = 1 / (1 + Foundation.exp(-Double(logits[i])))
            return g * Double(a[i]) + (1 - g) * Double(b[i])
        }
        expectClose(out, expected, tolerance: 1e-5, "gateMix")
    }

    @Test func outputMayAliasAnInput() {
        var a = Self.inputs(9)
        let b = Self.inputs(10)
        let expected = zip(a, b).map { $0 + $1 }
        a.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            ElementwiseKernels.add(a: base, b: b, out: base, count: Self.count)
        }
        #expect(a == expected)
    }

    @Test func triadComputesAPlusScalarTimesB() {
        let a = Self.inputs(11), b = Self.inputs(12)
        var c = [Float](repeating: 0, count: Self.count)
        ElementwiseKernels.triad(a: a, b: b, c: &c, scalar: 3, count: Self.count)
        expectClose(c, zip(a, b).map { Double($0) + 3 * Double($1) }, tolerance: 1e-6, "triad")
    }

    @Test func zeroCountTouchesNothing() {
        var out: [Float] = [42]
        ElementwiseKernels.add(a: [1], b: [2], out: &out, count: 0)
        ElementwiseKernels.gelu(x: [1], out: &out, count: 0)
        ElementwiseKernels.rmsNorm(x: [1], weight: [1], out: &out, rows: 0, width: 1)
        #expect(out == [42])
    }
}
