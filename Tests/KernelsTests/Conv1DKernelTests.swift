import Kernels
import Testing

@Suite struct Conv1DKernelTests {
    /// out[t, c] = bias[c] + Σ_j weight[c, j] · x[t - (width - 1) + j, c], with inputs before
    /// t = 0 taken from `history` (per batch and channel, oldest first) or zero.
    static func reference(
        x: [Float], weight: [Float], bias: [Float]?, batch: Int, length: Int, channels: Int, width: Int,
        history: [Float]?
    ) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for b in 0..<batch {
            for t in 0..<length {
                for c in 0..<channels {
                    var sum = Double(bias?[c] ?? 0)
                    for j in 0..<width {
                        let source = t - (width - 1) + j
                        let value: Float
                        if source >= 0 {
                            value = x[(b * length + source) * channels + c]
                        } else if let history {
                            value = history[(b * channels + c) * (width - 1) + (width - 1) + source]
                        } else {
                            value = 0
                        }
                        sum += Double(weight[c * width + j]) * Double(value)
                    }
                    out[(b * length + t) * channels + c] = sum
                }
            }
        }
        return out
    }

    @Test(arguments: [(1, 10, 8, 4), (2, 7, 13, 4), (1, 3, 19, 3), (1, 9, 5, 1)])
    func matchesReferenceWithoutState(shape: (Int, Int, Int, Int)) {
        let (batch, length, channels, width) = shape
        var random = SeededGenerator(seed: UInt64(channels))
        let x = random.array(batch * length * channels)
        let weight = random.array(channels * width)
        let bias = random.array(channels)
        var out = [Float](repeating: .nan, count: x.count)
        Conv1DKernel.forward(
            x: x, weight: weight, bias: bias, out: &out, batch: batch, length: length, channels: channels,
            width: width, state: nil)
        let expected = Self.reference(
            x: x, weight: weight, bias: bias, batch: batch, length: length, channels: channels, width: width,
            history: nil)
        expectClose(out, expected, tolerance: 1e-6, "conv \(shape)")
    }

    @Test func stateContinuationEqualsWholeSequence() {
        // Width 4; pieces of 5, 2 (shorter than width - 1, so the state mixes old and new
        // inputs), 1 (a decode step) and 7 must equal the whole 15-step sequence.
        let (batch, channels, width) = (2, 13, 4)
        let pieces = [5, 2, 1, 7]
        let length = pieces.reduce(0, +)
        var random = SeededGenerator(seed: 21)
        let x = random.array(batch * length * channels)
        let weight = random.array(channels * width)
        let bias = random.array(channels)
        let initial = random.array(batch * channels * (width - 1))

        var wholeState = initial
        var whole = [Float](repeating: 0, count: x.count)
        Conv1DKernel.forward(
            x: x, weight: weight, bias: bias, out: &whole, batch: batch, length: length, channels: channels,
            width: width, state: &wholeState)
        let expected = Self.reference(
            x: x, weight: weight, bias: bias, batch: batch, length: length, channels: channels, width: width,
            history: initial)
        expectClose(whole, expected, tolerance: 1e-6, "whole with initial state")

        var state = initial
        var stitched = [Float](repeating: 0, count: x.count)
        var start = 0
        for piece in pieces {
            var input: [Float] = []
            for b in 0..<batch {
                let from = (b * length + start) * channels
                input += x[from..<(from + piece * channels)]
            }
            var out = [Float](repeating: 0, count: input.count)
            Conv1DKernel.forward(
                x: input, weight: weight, bias: bias, out: &out, batch: batch, length: piece, channels: channels,
                width: width, state: &state)
            for b in 0..<batch {
                for index in 0..<(piece * channels) {
                    stitched[(b * length + start) * channels + index] = out[b * piece * channels + index]
                }
            }
            start += piece
        }
        #expect(stitched == whole)
        #expect(state == wholeState)
        // The final state is the last width - 1 inputs, oldest first.
        for b in 0..<batch {
            for c in 0..<channels {
                for j in 0..<(width - 1) {
                    #expect(state[(b * channels + c) * (width - 1) + j] == x[(b * length + length - (width - 1) + j) * channels + c])
                }
            }
        }
    }

    @Test func flopCountFollowsTheConvention() {
        #expect(Conv1DKernel.flops(batch: 2, length: 3, channels: 5, width: 4) == 2 * 6 * 5 * 4)
    }
}
