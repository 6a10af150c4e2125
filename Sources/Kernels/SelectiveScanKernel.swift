/// Mamba-1 selective scan (Gu and Dao 2023, "Mamba", Algorithm 2), vectorised across
/// channels: sixteen channels at a time keep their dState-long states in a small stack
/// block and walk the sequence together, with the exponential from `FastMath`.
///
/// For each batch b and channel d, with state h (dState values) carried over t:
///
///     h[n] = exp(delta[t,d]·A[d,n]) · h[n] + delta[t,d] · B[t,n] · u[t,d]
///     y[t,d] = (Σ_n h[n] · C[t,n] + D[d] · u[t,d]) · silu(z[t,d])
///
/// Layouts (row-major): u, delta, z, y [batch, length, dInner]; A [dInner, dState];
/// B, C [batch, length, dState]; D [dInner]; state [batch, dInner, dState]. `delta` is used
/// as given (apply softplus and its bias beforehand). Without `z` there is no gate; without
/// `d` no skip term; `state` (if given) holds the initial states on entry and the final
/// states on return, so decoding continues a sequence; without it the scan starts from 0.
///
/// FLOPs: 9·batch·length·dInner·dState + 2·batch·length·dInner (the exponential counted as
/// one; gate excluded).
public enum SelectiveScanKernel {
    /// Channels in one vector (two AVX registers, one 64-byte line of a row).
    public static let channelBlock = 16

    /// Channels whose rows are copied together: 64 channels are 256 contiguous bytes per
    /// row of u, delta, z and y, which the hardware prefetchers stream.
    nonisolated(unsafe) public static var channelGroup = 64

    /// Time steps per chunk. A chunk's inputs are first copied into a contiguous stack block
    /// (a separate loop keeps many cache misses in flight, which the recurrence, walking
    /// memory a row apart per step, does not), the recurrence runs on them, and the
    /// outputs are copied back.
    nonisolated(unsafe) public static var timeChunk = 32

    /// FLOPs by the convention above.
    public static func flops(batch: Int, length: Int, dInner: Int, dState: Int) -> Double {
        let tokens = Double(batch) * Double(length) * Double(dInner)
        return 9 * tokens * Double(dState) + 2 * tokens
    }

    /// Minimum bytes moved from and to memory: u, delta, z read and y written once, B and C
    /// read once, A and D read, state read and written.
    public static func bytes(batch: Int, length: Int, dInner: Int, dState: Int, gated: Bool = true) -> Double {
        let tokens = Double(batch) * Double(length)
        let perChannel = Double(gated ? 4 : 3) * tokens * Double(dInner)
        let projections = 2 * tokens * Double(dState)
        let parameters = Double(dInner) * Double(dState + 1) + 2 * Double(batch) * Double(dInner) * Double(dState)
        return 4 * (perChannel + projections + parameters)
    }

    /// Runs the scan; see the type's documentation. Allocates nothing on the heap: the
    /// group's states and the chunk buffers live in a stack temporary of
    /// 64·(2·dState + 4·timeChunk + 1) floats (40 KiB at dState 16, 96 KiB at 128).
    public static func forward(
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>,
        d: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>,
        batch: Int, length: Int, dInner: Int, dState: Int,
        state: UnsafeMutablePointer<Float>?
    ) {
        guard batch > 0, dInner > 0, dState > 0, length >= 0 else { return }
        let blocksPerGroup = channelGroup / channelBlock
        let perBlock = 2 * dState + 4 * timeChunk + 1
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: blocksPerGroup * perBlock) { storage in
            guard let base = storage.baseAddress else { return }
            // Per block: dState scaled-A vectors, dState state vectors, then one chunk each
            // of delta, u, z and y.
            let layout = BlockLayout(base: base, perBlock: perBlock, dState: dState)
            for batchIndex in 0..<batch {
                let rowBase = batchIndex * length * dInner
                let projectionBase = batchIndex * length * dState
                var groupStart = 0
                while groupStart < dInner {
                    let blocks = min(blocksPerGroup, (dInner - groupStart + channelBlock - 1) / channelBlock)
                    for block in 0..<blocks {
                        let first = groupStart + block * channelBlock
                        let lanes = min(channelBlock, dInner - first)
                        loadBlock(
                            a: a + first * dState, d: d.map { $0 + first },
                            state: state.map { $0 + (batchIndex * dInner + first) * dState },
                            lanes: lanes, dState: dState, layout: layout, block: block)
                    }
                    var chunkStart = 0
                    while chunkStart < length {
                        let steps = min(timeChunk, length - chunkStart)
                        // Row by row, so each row's group segment (256 bytes) is read in order.
                        for step in 0..<steps {
                            let rowOffset = rowBase + (chunkStart + step) * dInner + groupStart
                            for block in 0..<blocks {
                                let lanes = min(channelBlock, dInner - groupStart - block * channelBlock)
                                let offset = rowOffset + block * channelBlock
                                layout.delta(block)[step] = loadLanes(delta + offset, lanes: lanes)
                                layout.input(block)[step] = loadLanes(u + offset, lanes: lanes)
                                if let z { layout.gate(block)[step] = loadLanes(z + offset, lanes: lanes) }
                            }
                        }
                        for block in 0..<blocks {
                            recurrence(
                                scaledA: layout.scaledA(block), hidden: layout.hidden(block),
                                delta: layout.delta(block), input: layout.input(block),
                                gate: z == nil ? nil : layout.gate(block), output: layout.output(block),
                                skip: layout.skip(block),
                                b: b + projectionBase + chunkStart * dState, c: c + projectionBase + chunkStart * dState,
                                steps: steps, dState: dState)
                        }
                        for step in 0..<steps {
                            let rowOffset = rowBase + (chunkStart + step) * dInner + groupStart
                            for block in 0..<blocks {
                                let lanes = min(channelBlock, dInner - groupStart - block * channelBlock)
                                storeLanes(layout.output(block)[step], y + rowOffset + block * channelBlock, lanes: lanes)
                            }
                        }
                        chunkStart += steps
                    }
                    if let state {
                        for block in 0..<blocks {
                            let first = groupStart + block * channelBlock
                            let lanes = min(channelBlock, dInner - first)
                            let stateBlock = state + (batchIndex * dInner + first) * dState
                            let hidden = layout.hidden(block)
                            for n in 0..<dState {
                                let vector = hidden[n]
                                for lane in 0..<lanes { stateBlock[lane * dState + n] = vector[lane] }
                            }
                        }
                    }
                    groupStart += blocks * channelBlock
                }
            }
        }
    }

    /// Where each block's vectors live in the stack temporary.
    private struct BlockLayout {
        let base: UnsafeMutablePointer<SIMD16<Float>>
        let perBlock: Int
        let dState: Int
        @inline(__always) func scaledA(_ block: Int) -> UnsafeMutablePointer<SIMD16<Float>> { base + block * perBlock }
        @inline(__always) func hidden(_ block: Int) -> UnsafeMutablePointer<SIMD16<Float>> { scaledA(block) + dState }
        @inline(__always) func delta(_ block: Int) -> UnsafeMutablePointer<SIMD16<Float>> { hidden(block) + dState }
        @inline(__always) func input(_ block: Int) -> UnsafeMutablePointer<SIMD16<Float>> { delta(block) + timeChunk }
        @inline(__always) func gate(_ block: Int) -> UnsafeMutablePointer<SIMD16<Float>> { input(block) + timeChunk }
        @inline(__always) func output(_ block: Int) -> UnsafeMutablePointer<SIMD16<Float>> { gate(block) + timeChunk }
        /// D's vector, in the slot after the outputs.
        @inline(__always) func skip(_ block: Int) -> SIMD16<Float> { (output(block) + timeChunk).pointee }
        @inline(__always) func setSkip(_ block: Int, _ value: SIMD16<Float>) { (output(block) + timeChunk).pointee = value }
    }

    /// Gathers one block's A (pre-scaled by log2 e, so the loop uses exp2), state and D into
    /// channel-minor vectors: vector n holds element n of each channel; missing lanes are 0.
    @inline(__always)
    private static func loadBlock(
        a: UnsafePointer<Float>, d: UnsafePointer<Float>?, state: UnsafeMutablePointer<Float>?,
        lanes: Int, dState: Int, layout: BlockLayout, block: Int
    ) {
        let scaledA = layout.scaledA(block)
        let hidden = layout.hidden(block)
        for n in 0..<dState {
            var aVector = SIMD16<Float>()
            var hVector = SIMD16<Float>()
            for lane in 0..<lanes {
                aVector[lane] = a[lane * dState + n] * FastMath.log2e
                if let state { hVector[lane] = state[lane * dState + n] }
            }
            scaledA[n] = aVector
            hidden[n] = hVector
        }
        var skip = SIMD16<Float>()
        if let d { for lane in 0..<lanes { skip[lane] = d[lane] } }
        layout.setSkip(block, skip)
    }

    @inline(__always)
    private static func loadLanes(_ source: UnsafePointer<Float>, lanes: Int) -> SIMD16<Float> {
        if lanes == channelBlock { return load16(source) }
        var value = SIMD16<Float>()
        for lane in 0..<lanes { value[lane] = source[lane] }
        return value
    }

    @inline(__always)
    private static func storeLanes(_ value: SIMD16<Float>, _ destination: UnsafeMutablePointer<Float>, lanes: Int) {
        if lanes == channelBlock {
            store16(value, destination)
        } else {
            for lane in 0..<lanes { destination[lane] = value[lane] }
        }
    }

    /// The recurrence for one block of sixteen channels over one chunk of time steps, on
    /// the contiguous chunk buffers. Kept out of line so its loop is optimised on its own.
    @inline(never)
    private static func recurrence(
        scaledA: UnsafeMutablePointer<SIMD16<Float>>, hidden: UnsafeMutablePointer<SIMD16<Float>>,
        delta: UnsafeMutablePointer<SIMD16<Float>>, input: UnsafeMutablePointer<SIMD16<Float>>,
        gate: UnsafeMutablePointer<SIMD16<Float>>?, output: UnsafeMutablePointer<SIMD16<Float>>,
        skip: SIMD16<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>, steps: Int, dState: Int
    ) {
        for step in 0..<steps {
            let stepDelta = delta[step]
            let stepInput = input[step]
            let deltaInput = stepDelta * stepInput
            let bRow = b + step * dState
            let cRow = c + step * dState
            var sum = SIMD16<Float>()
            for n in 0..<dState {
                let decay = decayExp2(stepDelta * scaledA[n])
                let h = (deltaInput * bRow[n]).addingProduct(decay, hidden[n])
                hidden[n] = h
                sum = sum.addingProduct(h, cRow[n])
            }
            var result = sum.addingProduct(skip, stepInput)
            if let gate { result *= FastMath.silu(gate[step]) }
            output[step] = result
        }
    }
}

/// 2^x for the decay factors exp(delta·A), for x ≤ 127: a cheaper sibling of
/// `FastMath.exp2` (the scan is bound by its vector operation count). Degree-4 polynomial
/// for 2^f on [-0.5, 0.5] (max relative error 2.6e-6, so exp(delta·A) stays within 1e-5),
/// reduction by rounding (shorter dependency chain than the 1.5·2^23 trick), and only the
/// lower clamp: inputs above 127 (decays above 1.7e38, a diverged state) are not checked.
@_transparent
func decayExp2(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let c0: Float = 0.999_999_284_744_262_7, c1: Float = 0.693_121_790_885_925_3
    let c2: Float = 0.240_247_443_318_367, c3: Float = 0.055_917_859_077_453_61
    let c4: Float = 0.009_570_099_413_394_928
    let clamped = x.replacing(with: -125, where: x .< -125)
    let whole = clamped.rounded(.toNearestOrEven)
    let fraction = clamped - whole
    var p = SIMD16<Float>(repeating: c4)
    p = SIMD16<Float>(repeating: c3).addingProduct(p, fraction)
    p = SIMD16<Float>(repeating: c2).addingProduct(p, fraction)
    p = SIMD16<Float>(repeating: c1).addingProduct(p, fraction)
    p = SIMD16<Float>(repeating: c0).addingProduct(p, fraction)
    // whole + 1.5·2^23 holds the integer in its low mantissa bits; shifted into the
    // exponent field it multiplies p by 2^whole.
    let exponent = whole + 12_582_912.0
    let bits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
        &+ (unsafeBitCast(exponent, to: SIMD16<UInt32>.self) &<< 23)
    return unsafeBitCast(bits, to: SIMD16<Float>.self)
}
