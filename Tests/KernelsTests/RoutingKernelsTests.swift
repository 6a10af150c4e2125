import Foundation
import Kernels
import Testing

@Suite struct RoutingKernelsTests {
    /// Top-k by a stable descending sort of (logit, then lower index), weights = softmax
    /// over all experts renormalised over the chosen ones.
    static func referenceRouter(logits: [Double], experts: Int, topK: Int) -> (indices: [Int], weights: [Double]) {
        let maximum = logits.max() ?? 0
        let probabilities = logits.map { Foundation.exp($0 - maximum) }
        let total = probabilities.reduce(0, +)
        let order = (0..<experts).sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        let chosen = Array(order.prefix(topK))
        let chosenTotal = chosen.map { probabilities[$0] / total }.reduce(0, +)
        return (chosen, chosen.map { probabilities[$0] / total / chosenTotal })
    }

    @Test func routerMatchesSoftmaxTopK() {
        let (tokens, dIn, experts, topK) = (19, 24, 8, 3)
        var random = SeededGenerator(seed: 1)
        let x = random.array(tokens * dIn), weight = random.array(dIn * experts)
        var logits = [Float](repeating: 0, count: tokens * experts)
        var indices = [Int](repeating: 0, count: tokens * topK)
        var weights = [Float](repeating: 0, count: tokens * topK)
        RoutingKernels.router(
            x: x, weight: weight, logits: &logits, tokens: tokens, dIn: dIn, experts: experts, topK: topK,
            indices: &indices, weights: &weights)
        for token in 0..<tokens {
            // Rank by the kernel's own logits, so GEMM rounding cannot flip a near tie.
            let row = logits[token * experts..<(token + 1) * experts].map(Double.init)
            let reference = Self.referenceRouter(logits: row, experts: experts, topK: topK)
            #expect(Array(indices[token * topK..<(token + 1) * topK]) == reference.indices)
            expectClose(Array(weights[token * topK..<(token + 1) * topK]), reference.weights, tolerance: 1e-6, "weights")
            // And the logits are the GEMM's.
            for e in 0..<experts {
                let exact = (0..<dIn).map { Double(x[token * dIn + $0]) * Double(weight[$0 * experts + e]) }.reduce(0, +)
                #expect(abs(Double(logits[token * experts + e]) - exact) < 1e-5)
            }
        }
    }

    @Test func tiesGoToTheLowerExpertIndex() {
        // dIn 1, x = 1: logits are the weights exactly. Experts 1, 2, 4 and 5 tie at 0.5.
        let weight: [Float] = [0.1, 0.5, 0.5, -1, 0.5, 0.5]
        var logits = [Float](repeating: 0, count: 6)
        var indices = [Int](repeating: 0, count: 3)
        var weights = [Float](repeating: 0, count: 3)
        RoutingKernels.router(
            x: [1], weight: weight, logits: &logits, tokens: 1, dIn: 1, experts: 6, topK: 3,
            indices: &indices, weights: &weights)
        #expect(indices == [1, 2, 4])
        #expect(weights.allSatisfy { abs($0 - 1.0 / 3) < 1e-6 })

        // All logits equal: the first k experts.
        var zeroIndices = [Int](repeating: 0, count: 2)
        var zeroWeights = [Float](repeating: 0, count: 2)
        RoutingKernels.router(
            x: [1], weight: [0, 0, 0, 0], logits: &logits, tokens: 1, dIn: 1, experts: 4, topK: 2,
            indices: &zeroIndices, weights: &zeroWeights)
        #expect(zeroIndices == [0, 1])
        #expect(zeroWeights == [0.5, 0.5])
    }

    @Test func topKBeyondExpertCountPadsWithMinusOne() {
        var logits = [Float](repeating: 0, count: 2)
        var indices = [Int](repeating: 7, count: 4)
        var weights = [Float](repeating: 7, count: 4)
        RoutingKernels.router(
            x: [1], weight: [2, 1], logits: &logits, tokens: 1, dIn: 1, experts: 2, topK: 4,
            indices: &indices, weights: &weights)
        #expect(indices == [0, 1, -1, -1])
        #expect(weights[2] == 0 && weights[3] == 0)
        #expect(abs(weights[0] + weights[1] - 1) < 1e-6)
    }

    @Test func gatherExpertRowsAndScatterAddRoundTrip() {
        let (tokens, width, topK) = (6, 11, 2)
        var random = SeededGenerator(seed: 3)
        let x = random.array(tokens * width)
        let indices = [0, 2, 1, 2, 2, 0, 3, 1, 2, 3, 0, 1]
        let gates: [Float] = [0.6, 0.4, 0.7, 0.3, 0.5, 0.5, 0.9, 0.1, 0.2, 0.8, 0.55, 0.45]
        var rows = [Int](repeating: 0, count: tokens)
        var rowWeights = [Float](repeating: 0, count: tokens)
        let count = RoutingKernels.expertRows(
            indices: indices, weights: gates, tokens: tokens, topK: topK, expert: 2, rows: &rows, rowWeights: &rowWeights)
        #expect(count == 4)
        #expect(Array(rows.prefix(count)) == [0, 1, 2, 4])
        #expect(Array(rowWeights.prefix(count)) == [0.4, 0.3, 0.5, 0.2])

        var gathered = [Float](repeating: 0, count: count * width)
        RoutingKernels.gatherRows(src: x, indices: rows, dst: &gathered, rows: count, width: width)
        #expect(Array(gathered[width..<2 * width]) == Array(x[width..<2 * width]))
        #expect(Array(gathered[3 * width..<4 * width]) == Array(x[4 * width..<5 * width]))

        var combined = [Float](repeating: 1, count: tokens * width)
        RoutingKernels.scatterAddRows(src: gathered, indices: rows, weights: rowWeights, dst: &combined, rows: count, width: width)
        var expected = [Double](repeating: 1, count: tokens * width)
        for (slot, token) in rows.prefix(count).enumerated() {
            for i in 0..<width { expected[token * width + i] += Double(rowWeights[slot]) * Double(x[token * width + i]) }
        }
        expectClose(combined, expected, tolerance: 1e-6, "scatter")

        var unweighted = [Float](repeating: 0, count: tokens * width)
        RoutingKernels.scatterAddRows(src: gathered, indices: rows, weights: nil, dst: &unweighted, rows: count, width: width)
        #expect(Array(unweighted[4 * width..<5 * width]) == Array(x[4 * width..<5 * width]))
    }

    /// The descent in Double; also returns the smallest |node activation| on the path, so a
    /// test can tell a genuine disagreement from one decided by rounding.
    static func referenceDescent(
        x: [Float], nodes: [Float], token: Int, dIn: Int, depth: Int, nodeWidth: Int
    ) -> (leaf: Int, margin: Double) {
        var node = 0
        var margin = Double.infinity
        for _ in 0..<depth {
            var activation = 0.0
            for neuron in 0..<nodeWidth {
                for i in 0..<dIn {
                    activation += Double(nodes[(node * nodeWidth + neuron) * dIn + i]) * Double(x[token * dIn + i])
                }
            }
            margin = min(margin, abs(activation))
            node = activation < 0 ? 2 * node + 1 : 2 * node + 2
        }
        return (node - ((1 << depth) - 1), margin)
    }

    @Test(arguments: [(4, 1), (5, 3), (0, 2)])
    func fffDescentFollowsTheReferencePath(shape: (Int, Int)) {
        let (depth, nodeWidth) = shape
        let (tokens, dIn) = (64, 19)
        var random = SeededGenerator(seed: UInt64(depth * 10 + nodeWidth))
        let x = random.array(tokens * dIn)
        let nodes = random.array(max(1, ((1 << depth) - 1) * nodeWidth * dIn))
        var leaves = [Int](repeating: -1, count: tokens)
        RoutingKernels.fffDescent(x: x, nodeWeights: nodes, tokens: tokens, dIn: dIn, depth: depth, nodeWidth: nodeWidth, leaf: &leaves)
        var checked = 0
        var distinct = Set<Int>()
        for token in 0..<tokens {
            let reference = Self.referenceDescent(x: x, nodes: nodes, token: token, dIn: dIn, depth: depth, nodeWidth: nodeWidth)
            #expect((0..<(1 << depth)).contains(leaves[token]))
            distinct.insert(leaves[token])
            if reference.margin > 1e-4 {
                #expect(leaves[token] == reference.leaf, "token \(token)")
                checked += 1
            }
        }
        #expect(checked >= tokens * 9 / 10)
        if depth >= 4 { #expect(distinct.count > 4) }  // the tokens really spread over leaves
    }

    @Test func fffLeafForwardIsGeluMLPOnRoutedRows() {
        let (tokens, dIn, leafWidth) = (9, 10, 7)
        var random = SeededGenerator(seed: 5)
        let x = random.array(tokens * dIn)
        let w1 = random.array(dIn * leafWidth), w2 = random.array(leafWidth * dIn)
        let leaves = [0, 1, 1, 0, 1, 2, 1, 0, 1]
        var rows = [Int](repeating: 0, count: tokens)
        let count = RoutingKernels.leafRows(leaves: leaves, tokens: tokens, leaf: 1, rows: &rows)
        #expect(count == 5)
        var out = [Float](repeating: 42, count: tokens * dIn)
        var scratch = [Float](repeating: 0, count: RoutingKernels.fffLeafScratchCount(rows: count, dIn: dIn, leafWidth: leafWidth))
        RoutingKernels.fffLeafForward(
            x: x, rows: rows, count: count, dIn: dIn, leafWidth: leafWidth, w1: w1, w2: w2, out: &out, scratch: &scratch)
        for token in 0..<tokens {
            let row = Array(out[token * dIn..<(token + 1) * dIn])
            guard leaves[token] == 1 else {
                #expect(row.allSatisfy { $0 == 42 })  // other leaves' rows untouched
                continue
            }
            let hidden = (0..<leafWidth).map { j -> Double in
                let h = (0..<dIn).map { Double(x[token * dIn + $0]) * Double(w1[$0 * leafWidth + j]) }.reduce(0, +)
                return 0.5 * h * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (h + 0.044715 * h * h * h)))
            }
            let expected = (0..<dIn).map { i in (0..<leafWidth).map { hidden[$0] * Double(w2[$0 * dIn + i]) }.reduce(0, +) }
            expectClose(row, expected, tolerance: 1e-5, "token \(token)")
        }
    }
}
