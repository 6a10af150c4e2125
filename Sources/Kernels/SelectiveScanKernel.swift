/// Mamba-1 selective scan (Gu and Dao 2023, "Mamba", Algorithm 2), vectorised across
/// channels: sixteen channels share each vector, their dState-long states live in a block
/// of channel-minor vectors, and the sequence is walked in short time chunks whose inputs
/// are first copied row by row (see `timeChunk`). The decay exponential is a degree-4
/// polynomial exp2 (relative error below 1e-5; see `FastMath.exp2Decay`).
///
/// Speed on this machine (one core, KernelBenchmark, dInner 1536, length 1024): about 30 and
/// 40 GFLOP/s by the count below at dState 16 and 64, compute-bound (about 27% and 35% of
/// the FMA peak, moving 13% and 5% of the triad bandwidth); a plain C loop with expf does
/// 1.8 GFLOP/s, 6.8 with -ffast-math.
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

    /// Time steps per chunk. A chunk's inputs, for all channels of a group, are first
    /// copied row by row into contiguous per-block buffers (a separate streaming loop the
    /// prefetchers follow and that keeps many misses in flight; the recurrence itself walks
    /// memory a whole row apart per step), the recurrence runs on them block by block, and
    /// the outputs are copied back row by row.
    public static let timeChunk = 8

    /// Bytes of stack the scan uses without a workspace; it then processes the channels in
    /// groups that fit (whole rows stream best: about 15% faster at dState 16).
    public static let stackBudgetBytes = 256 << 10

    /// Floats of workspace `forward` uses when given one: every channel block's A, state,
    /// skip and one time chunk of inputs and outputs, so the channels form a single group.
    public static func workspaceCount(dInner: Int, dState: Int) -> Int {
        let blocks = (max(dInner, 0) + channelBlock - 1) / channelBlock
        return max(1, blocks * floatsPerBlock(dState: dState))
    }

    @inline(__always)
    static func floatsPerBlock(dState: Int) -> Int { channelBlock * (2 * dState + 4 * timeChunk + 1) }

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

    /// Runs the scan; see the type's documentation. Allocates nothing on the heap: its
    /// buffers come from `workspace` (`workspaceCount(dInner:dState:)` floats, reused across
    /// calls) or, without one, from a stack temporary of at most `stackBudgetBytes`.
    public static func forward(
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>,
        d: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>,
        batch: Int, length: Int, dInner: Int, dState: Int,
        state: UnsafeMutablePointer<Float>?,
        workspace: Workspace? = nil
    ) {
        guard batch > 0, dInner > 0, dState > 0, length >= 0 else { return }
        if length == 1, let state {
            decodeStep(u: u, delta: delta, a: a, b: b, c: c, d: d, z: z, y: y, batch: batch, dInner: dInner, dState: dState, state: state)
            return
        }
        let arguments = Arguments(
            u: u, delta: delta, a: a, b: b, c: c, d: d, z: z, y: y,
            batch: batch, length: length, dInner: dInner, dState: dState, state: state)
        let vectorsPerBlock = floatsPerBlock(dState: dState) / channelBlock
        let allBlocks = (dInner + channelBlock - 1) / channelBlock
        if let workspace {
            let floats = workspace.floats("SelectiveScanKernel", count: workspaceCount(dInner: dInner, dState: dState))
            // Workspace buffers are 64-byte aligned, enough for SIMD16<Float>.
            floats.withMemoryRebound(to: SIMD16<Float>.self, capacity: allBlocks * vectorsPerBlock) { base in
                run(arguments, base: base, blocksPerGroup: allBlocks)
            }
        } else {
            let blocksPerGroup = max(1, min(allBlocks, stackBudgetBytes / (vectorsPerBlock * MemoryLayout<SIMD16<Float>>.stride)))
            withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: blocksPerGroup * vectorsPerBlock) { storage in
                guard let base = storage.baseAddress else { return }
                run(arguments, base: base, blocksPerGroup: blocksPerGroup)
            }
        }
    }

    /// One decode step (length 1) with a state: per sequence and channel, the state row of dState values is
    /// read, updated and written in place, eight states to a vector (Mamba's `selective_state_update`):
    /// h = exp(delta·A)·h + delta·B·u, y = (h·C + D·u)·silu(z). Streams the state once: bytes
    /// 8·batch·dInner·dState (read and written) plus the inputs; A (dInner·dState) is shared by the batch.
    public static func decodeStep(
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>,
        d: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>,
        batch: Int, dInner: Int, dState: Int, state: UnsafeMutablePointer<Float>
    ) {
        guard batch > 0, dInner > 0, dState > 0 else { return }
        let vectors = dState / 8
        let log2e = SIMD8<Float>(repeating: FastMath.log2e)
        for sequence in 0..<batch {
            let bRow = b + sequence * dState, cRow = c + sequence * dState
            for channel in 0..<dInner {
                let index = sequence * dInner + channel
                let dt = delta[index], x = u[index]
                let dtv = SIMD8<Float>(repeating: dt), dtx = SIMD8<Float>(repeating: dt * x)
                let aRow = a + channel * dState, h = state + index * dState
                var acc = SIMD8<Float>()
                for v in 0..<vectors {
                    let o = v * 8
                    let decay = FastMath.exp2(dtv * load8(aRow + o) * log2e)
                    let next = decay * load8(h + o) + dtx * load8(bRow + o)
                    store8(next, h + o)
                    acc.addProduct(next, load8(cRow + o))
                }
                var sum = horizontalSum(acc)
                for n in (vectors * 8)..<dState {
                    let next = FastMath.exp(dt * aRow[n]) * h[n] + dt * x * bRow[n]
                    h[n] = next
                    sum += next * cRow[n]
                }
                var out = sum + (d.map { $0[channel] * x } ?? 0)
                if let z {
                    let g = z[index]
                    out *= g / (1 + FastMath.exp(-g))
                }
                y[index] = out
            }
        }
    }

    private struct Arguments {
        let u: UnsafePointer<Float>, delta: UnsafePointer<Float>
        let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>
        let d: UnsafePointer<Float>?, z: UnsafePointer<Float>?
        let y: UnsafeMutablePointer<Float>
        let batch: Int, length: Int, dInner: Int, dState: Int
        let state: UnsafeMutablePointer<Float>?
    }

    /// The scan over groups of `blocksPerGroup` channel blocks, with buffers at `base`.
    private static func run(_ arguments: Arguments, base: UnsafeMutablePointer<SIMD16<Float>>, blocksPerGroup: Int) {
        let u = arguments.u, delta = arguments.delta, a = arguments.a, b = arguments.b, c = arguments.c
        let d = arguments.d, z = arguments.z, y = arguments.y, state = arguments.state
        let batch = arguments.batch, length = arguments.length, dInner = arguments.dInner, dState = arguments.dState
        // Per block: dState scaled-A vectors, dState state vectors, one chunk each of delta,
        // u, z and y, then D.
        let layout = BlockLayout(base: base, perBlock: floatsPerBlock(dState: dState) / channelBlock, dState: dState)
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
                    // Row by row, so each row's group segment is read in order.
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
                let decay = FastMath.exp2Decay(stepDelta * scaledA[n])
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
