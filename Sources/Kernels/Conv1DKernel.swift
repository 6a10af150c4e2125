/// Depthwise causal 1-D convolution (Mamba's short convolution before the scan),
/// vectorised across channels.
///
///     out[t, c] = bias[c] + Σ_{j=0}^{width-1} weight[c, j] · x[t - (width - 1) + j, c]
///
/// Layouts (row-major): x and out [batch, length, channels]; weight [channels, width];
/// bias [channels] (optional); state [batch, channels, width - 1] (optional) holds the
/// width - 1 inputs before t = 0, oldest first. Without state those inputs are zero. With
/// state, it is replaced on return by the last width - 1 inputs (including older state when
/// length < width - 1), so running a sequence in pieces equals running it whole.
///
/// FLOPs: 2·T·C·W, with T = batch·length, C = channels, W = width.
public enum Conv1DKernel {
    /// FLOPs by the convention above.
    public static func flops(batch: Int, length: Int, channels: Int, width: Int) -> Double {
        2 * Double(batch) * Double(length) * Double(channels) * Double(width)
    }

    /// Runs the convolution; see the type's documentation. `out` must not overlap `x`.
    /// Allocates nothing on the heap (the transposed weights live in a stack temporary of
    /// width·channels floats).
    public static func forward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>,
        batch: Int, length: Int, channels: Int, width: Int,
        state: UnsafeMutablePointer<Float>?
    ) {
        guard batch > 0, length >= 0, channels > 0, width > 0 else { return }
        let history = width - 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width * channels) { buffer in
            guard let tapMajor = buffer.baseAddress else { return }
            // Tap-major weights, so tap j of eight neighbouring channels is one vector load.
            for channel in 0..<channels {
                for tap in 0..<width { tapMajor[tap * channels + channel] = weight[channel * width + tap] }
            }
            for batchIndex in 0..<batch {
                let input = x + batchIndex * length * channels
                let output = out + batchIndex * length * channels
                let batchState = state.map { $0 + batchIndex * channels * history }
                // The first width - 1 steps may reach back into the state: scalar path. Every
                // path sums bias then taps in order with fused multiply-adds, so results do
                // not depend on how a sequence is split into calls.
                let warmUp = min(length, history)
                for t in 0..<warmUp {
                    for channel in 0..<channels {
                        var sum = bias?[channel] ?? 0
                        for tap in 0..<width {
                            let source = t - history + tap
                            let value: Float
                            if source >= 0 {
                                value = input[source * channels + channel]
                            } else if let batchState {
                                value = batchState[channel * history + history + source]
                            } else {
                                value = 0
                            }
                            sum = sum.addingProduct(weight[channel * width + tap], value)
                        }
                        output[t * channels + channel] = sum
                    }
                }
                if length > warmUp {
                    convolveSteady(
                        input: input, tapMajor: tapMajor, bias: bias, output: output,
                        from: warmUp, to: length, channels: channels, width: width)
                }
                if let batchState, history > 0 { updateState(batchState, input: input, length: length, channels: channels, history: history) }
            }
        }
    }

    /// Steps whose whole window lies inside x.
    @inline(__always)
    private static func convolveSteady(
        input: UnsafePointer<Float>, tapMajor: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, from: Int, to: Int, channels: Int, width: Int
    ) {
        let history = width - 1
        for t in from..<to {
            let windowStart = input + (t - history) * channels
            let row = output + t * channels
            var channel = 0
            while channel + 8 <= channels {
                var sum = bias.map { load8($0 + channel) } ?? SIMD8<Float>()
                for tap in 0..<width {
                    sum = sum.addingProduct(
                        load8(tapMajor + tap * channels + channel), load8(windowStart + tap * channels + channel))
                }
                store8(sum, row + channel)
                channel += 8
            }
            while channel < channels {
                var sum = bias?[channel] ?? 0
                for tap in 0..<width {
                    sum = sum.addingProduct(tapMajor[tap * channels + channel], windowStart[tap * channels + channel])
                }
                row[channel] = sum
                channel += 1
            }
        }
    }

    /// state ← the last `history` elements of (old state ++ x), per channel, oldest first.
    private static func updateState(
        _ state: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, length: Int, channels: Int, history: Int
    ) {
        for channel in 0..<channels {
            let line = state + channel * history
            // Combined index i < history is old state[i], else x[i - history]. Entry j takes
            // combined index length + j >= j, so ascending j reads before it overwrites.
            for j in 0..<history {
                let combined = length + j
                line[j] = combined < history ? line[combined] : input[(combined - history) * channels + channel]
            }
        }
    }
}
