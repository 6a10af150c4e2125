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
    /// Allocates nothing on the heap (tap-major weights and the state's rows live in a stack
    /// temporary of (2·width - 1)·channels floats).
    public static func forward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>,
        batch: Int, length: Int, channels: Int, width: Int,
        state: UnsafeMutablePointer<Float>?
    ) {
        guard batch > 0, length >= 0, channels > 0, width > 0 else { return }
        let history = width - 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: (width + history) * channels) { buffer in
            guard let tapMajor = buffer.baseAddress else { return }
            // Tap-major weights, so tap j of eight neighbouring channels is one vector load.
            for channel in 0..<channels {
                for tap in 0..<width { tapMajor[tap * channels + channel] = weight[channel * width + tap] }
            }
            // The inputs before t = 0 as rows [history, channels], oldest first.
            let past = tapMajor + width * channels
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: width) { rowBuffer in
                guard let rows = rowBuffer.baseAddress else { return }
                for batchIndex in 0..<batch {
                    let input = x + batchIndex * length * channels
                    let output = out + batchIndex * length * channels
                    let batchState = state.map { $0 + batchIndex * channels * history }
                    for j in 0..<history {
                        for channel in 0..<channels {
                            past[j * channels + channel] = batchState?[channel * history + j] ?? 0
                        }
                    }
                    for t in 0..<length {
                        for tap in 0..<width {
                            let source = t - history + tap
                            rows[tap] = source >= 0
                                ? input + source * channels : UnsafePointer(past + (history + source) * channels)
                        }
                        convolveRow(
                            rows: rows, tapMajor: tapMajor, bias: bias, output: output + t * channels,
                            channels: channels, width: width)
                    }
                    if let batchState, history > 0 {
                        updateState(batchState, input: input, length: length, channels: channels, history: history)
                    }
                }
            }
        }
    }

    /// One output row: out[c] = bias[c] + Σ_tap tapMajor[tap, c] · rows[tap][c], summed in tap
    /// order with fused multiply-adds (so results do not depend on how a sequence is split
    /// into calls).
    @inline(__always)
    private static func convolveRow(
        rows: UnsafePointer<UnsafePointer<Float>>, tapMajor: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, channels: Int, width: Int
    ) {
        var channel = 0
        if width == 4 {
            // Mamba's usual width, with the four row pointers held in registers.
            let row0 = rows[0], row1 = rows[1], row2 = rows[2], row3 = rows[3]
            let tap1 = tapMajor + channels, tap2 = tapMajor + 2 * channels, tap3 = tapMajor + 3 * channels
            while channel + 8 <= channels {
                var sum = bias.map { load8($0 + channel) } ?? SIMD8<Float>()
                sum = sum.addingProduct(load8(tapMajor + channel), load8(row0 + channel))
                sum = sum.addingProduct(load8(tap1 + channel), load8(row1 + channel))
                sum = sum.addingProduct(load8(tap2 + channel), load8(row2 + channel))
                sum = sum.addingProduct(load8(tap3 + channel), load8(row3 + channel))
                store8(sum, output + channel)
                channel += 8
            }
        } else {
            while channel + 8 <= channels {
                var sum = bias.map { load8($0 + channel) } ?? SIMD8<Float>()
                for tap in 0..<width {
                    sum = sum.addingProduct(load8(tapMajor + tap * channels + channel), load8(rows[tap] + channel))
                }
                store8(sum, output + channel)
                channel += 8
            }
        }
        while channel < channels {
            var sum = bias?[channel] ?? 0
            for tap in 0..<width { sum = sum.addingProduct(tapMajor[tap * channels + channel], rows[tap][channel]) }
            output[channel] = sum
            channel += 1
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
