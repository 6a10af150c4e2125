import Foundation
import Kernels
import SimModel

/// Runs one op (or one lane's part of it) with the real kernels, on buffers owned by that lane.
///
/// Shapes come from the op's kind, rounded up to whole rows. An op split over P lanes gives each
/// part 1/P of its rows (GEMM: M rows, whole groups when there are several, or columns when M is under
/// ``columnSplitRows``; attention: sequences, or KV groups when there is a single sequence;
/// scan and conv: channels; elementwise: elements; routers and gathers: tokens). Elementwise ops
/// run the kernel their role says (``OpRole``, switched on exhaustively: RMSNorm, gated norm, SwiGLU,
/// GELU, mean, gate mix, residual add, mask product, blend, k-input weighted sum, Adam step). Mamba-2's SSD is run as a
/// selective scan over its heads x head_dim channels (the kernel set has no SSD kernel: said in the README).
/// Inputs are read from a region filled once with small values (finite through every kernel);
/// outputs go to a separate region, so no op feeds denormals or infinities to the next.
///
/// Persistent data (weights of GEMMs, the cached keys and values of decode attention, the SSM decode state:
/// ``persistentFloats(_:)``) lives in a pool shared by the lanes when the caller gives an op an offset in it:
/// the real executor gives every op of every layer its own region, as a model's layers have their own
/// weights and caches, so a model larger than the cache streams them from memory and a small one finds them
/// in the cache (``SimModel/CostModel``'s hot and cold bytes); without an offset they come from the lane's arena.
final class OpRunner: @unchecked Sendable {
    struct Arena {
        var inputs: UnsafeMutablePointer<Float>
        var inputCount: Int
        var outputs: UnsafeMutablePointer<Float>
        var outputCount: Int
        var indices: UnsafeMutablePointer<Int>
        var indexCount: Int
    }

    let arenas: [Arena]
    let dModel: Int
    /// The persistent pool (see the type's documentation).
    let pool: UnsafeMutablePointer<Float>
    let poolCount: Int
    /// Distinct weight blocks cycled through by grouped GEMMs (experts, FFF leaves).
    static let weightBlocks = 8

    init(lanes: Int, inputs: Int, outputs: Int, dModel: Int, persistent: Int = 0) {
        self.dModel = dModel
        poolCount = max(1, persistent)
        pool = UnsafeMutablePointer<Float>.allocate(capacity: poolCount)
        // Every page touched before anything is timed; a small constant keeps every kernel finite.
        pool.initialize(repeating: 0.01, count: poolCount)
        var arenas: [Arena] = []
        // Room past the largest op's inputs for a norm's d_model weights (its constants sit there).
        let inputs = max(1, inputs) + dModel
        for lane in 0..<lanes {
            let i = UnsafeMutablePointer<Float>.allocate(capacity: max(1, inputs))
            let o = UnsafeMutablePointer<Float>.allocate(capacity: max(1, outputs))
            let indexCount = max(1, outputs)
            let x = UnsafeMutablePointer<Int>.allocate(capacity: indexCount)
            // Touch every page before anything is timed; small, varied, finite values.
            var seed = UInt32(12345 &+ lane)
            for k in 0..<max(1, inputs) {
                seed = seed &* 1_664_525 &+ 1_013_904_223
                i[k] = (Float(seed >> 8) / Float(1 << 24) - 0.5) * 0.1
            }
            o.initialize(repeating: 0, count: max(1, outputs))
            x.initialize(repeating: 0, count: indexCount)
            arenas.append(Arena(inputs: i, inputCount: max(1, inputs), outputs: o, outputCount: max(1, outputs),
                                indices: x, indexCount: indexCount))
        }
        self.arenas = arenas
    }

    deinit {
        pool.deallocate()
        for a in arenas {
            a.inputs.deallocate()
            a.outputs.deallocate()
            a.indices.deallocate()
        }
    }

    func fits(_ needed: (inputs: Int, outputs: Int), persistent: Int = 0) -> Bool {
        guard let a = arenas.first else { return false }
        return needed.inputs <= a.inputCount && needed.outputs <= a.outputCount && persistent <= poolCount
    }

    /// Floats of persistent data an op reads in the pool (``OpFormulas/persistentBytes(of:elementBytes:)``'s
    /// data): a GEMM's weights (every group its own), decode attention's keys and values, a decode step's state.
    static func persistentFloats(_ kind: OpKind) -> Int {
        switch kind {
        case let .gemm(m, n, k, count):
            guard m > 0 else { return 0 }
            return max(1, whole(count)) * whole(k) * whole(n)
        case let .attention(batch, _, kvHeads, queries, keys, headDim, _, _):
            return queries < keys ? 2 * whole(batch) * whole(keys) * kvHeads * headDim : 0
        case let .selectiveScan(batch, _, dInner, dState, decodeState):
            return decodeState ? whole(batch) * dInner * dState : 0
        case let .ssd(batch, _, heads, headDim, dState, _, _, decodeState):
            return decodeState ? whole(batch) * heads * headDim * dState : 0
        case .conv1d, .elementwise, .router, .treeDescent, .gatherScatter, .transfer:
            return 0
        }
    }

    /// Offsets in a pool of `poolCount` floats for a sequence of ops, each its own region, wrapping to the
    /// start when the pool is full; nil for ops without persistent data.
    static func persistentOffsets(_ kinds: [OpKind], poolCount: Int, cursor: inout Int) -> [Int?] {
        kinds.map { kind in
            let f = persistentFloats(kind)
            guard f > 0, f <= poolCount else { return nil }
            if cursor + f > poolCount { cursor = 0 }
            defer { cursor += f }
            return cursor
        }
    }

    static func whole(_ x: Double) -> Int { max(0, Int(x.rounded(.up))) }

    /// Part `part` of `parts` of `total` items: its first item and its count.
    static func chunk(_ total: Int, _ part: Int, _ parts: Int) -> (start: Int, count: Int) {
        let base = total / parts, extra = total % parts
        let start = part * base + min(part, extra)
        return (start, base + (part < extra ? 1 : 0))
    }

    /// Floats of input and output buffers the largest op of the graph needs (whole op, one lane).
    static func requiredFloats(graph: OpGraph, laneCount: Int) -> (inputs: Int, outputs: Int) {
        var inputs = 0, outputs = 0
        func need(_ op: Op) {
            let r = requirement(op.kind)
            inputs = max(inputs, r.inputs)
            outputs = max(outputs, r.outputs)
        }
        for op in graph.prologue.ops { need(op) }
        for op in graph.epilogue.ops { need(op) }
        for t in graph.templates { for op in t.ops { need(op) } }
        return (inputs, outputs)
    }

    static func requirement(_ kind: OpKind) -> (inputs: Int, outputs: Int) {
        switch kind {
        case let .gemm(m, n, k, count):
            let blocks = min(whole(count), weightBlocks)
            return (whole(m) * whole(k) + blocks * whole(k) * whole(n), whole(m) * whole(n))
        case let .attention(batch, heads, kvHeads, queries, keys, headDim, _, _):
            let b = whole(batch), q = whole(queries), k = whole(keys)
            return (b * q * heads * headDim + 2 * b * k * kvHeads * headDim,
                    b * q * heads * headDim + AttentionKernel.scratchCount(queries: q, keys: k))
        case let .selectiveScan(batch, length, dInner, dState, _):
            let bl = whole(batch) * whole(length)
            return (3 * bl * dInner + 2 * bl * dState + dInner * dState + dInner, bl * dInner + whole(batch) * dInner * dState)
        case let .ssd(batch, length, heads, headDim, dState, _, _, _):
            return requirement(.selectiveScan(batch: batch, length: length, dInner: heads * headDim, dState: dState, decodeState: false))
        case let .conv1d(tokens, channels, width):
            return (whole(tokens) * channels + channels * width + channels, whole(tokens) * channels + channels * width)
        case let .elementwise(elements, _, reads, writes):
            // Its input arrays (at least two), then room for small constants; its output arrays.
            return (max(2, whole(reads)) * whole(elements) + 4096, max(1, whole(writes)) * whole(elements))
        case let .router(tokens, dIn, outputs):
            return (whole(tokens) * dIn + dIn * outputs, whole(tokens) * outputs + whole(tokens) * 2)
        case let .treeDescent(tokens, dIn, levels, nodeWidth, outputWidth):
            return (whole(tokens) * dIn + ((1 << min(levels, 24)) - 1) * (dIn + outputWidth) * nodeWidth,
                    whole(tokens) * max(1, outputWidth))
        case let .gatherScatter(rows, width):
            return (whole(rows) * width, whole(rows) * width)
        case let .transfer(bytes, _):
            return (whole(bytes / 4), whole(bytes / 4))
        }
    }

    /// GEMMs with fewer rows than this split their columns over the parts (each part streams its share of the
    /// weights once) rather than their rows (each part would stream all the weights).
    static let columnSplitRows = 64

    /// Rows up to which a GEMM runs through ``SkinnyGEMM`` (streaming the weights once) rather than OpenBLAS
    /// sgemm: KernelBenchmark's decode section, cold 2048² weights on one core, 16.3 / 16.6 GB/s against
    /// sgemm's 11.5 / 13.4 at 2 / 4 rows, and no gain from 8 rows on (2026-12-02).
    static let skinnyRows = 4

    /// C[:, columns] = A · B[:, columns] for A m×k, B k×n and C m×n row-major: a matrix-vector product
    /// (OpenBLAS sgemv, which streams the weights once) when m is 1, ``SkinnyGEMM`` up to ``skinnyRows``,
    /// OpenBLAS sgemm beyond.
    static func gemm(m: Int, columns: Range<Int>, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>) {
        guard m > 0, !columns.isEmpty else { return }
        if m == 1 {
            BLAS.sgemv(transpose: true, m: k, n: columns.count, alpha: 1, a: b + columns.lowerBound, lda: n, x: a, beta: 0,
                       y: c + columns.lowerBound)
        } else if m <= skinnyRows {
            SkinnyGEMM.multiply(m: m, n: columns.count, k: k, a: a, lda: k, b: b + columns.lowerBound, ldb: n,
                                c: c + columns.lowerBound, ldc: n)
        } else {
            BLAS.sgemm(transposeA: false, transposeB: false, m: m, n: columns.count, k: k, alpha: 1, a: a, lda: k,
                       b: b + columns.lowerBound, ldb: n, beta: 0, c: c + columns.lowerBound, ldc: n)
        }
    }

    /// Runs part `part` of `parts` of `op` on lane `lane`'s buffers.
    func run(_ op: Op, part: Int, of parts: Int, lane: Int, persistentOffset: Int? = nil) {
        let a = arenas[lane]
        let persistent = persistentOffset.map { pool + $0 }
        let input = a.inputs, output = a.outputs
        switch op.kind {
        case let .gemm(m, n, k, count):
            let groups = Self.whole(count), rows = Self.whole(m), nn = Self.whole(n), kk = Self.whole(k)
            guard groups > 0, rows > 0, nn > 0, kk > 0 else { return }
            // Each group's weights: its own block in the pool, or one of the arena's cycled blocks.
            let arenaWeights = input + rows * kk
            func weights(_ g: Int) -> UnsafeMutablePointer<Float> {
                persistent.map { $0 + g * kk * nn } ?? arenaWeights + (g % Self.weightBlocks) * kk * nn
            }
            if groups >= parts {
                let mine = Self.chunk(groups, part, parts)
                for g in mine.start..<(mine.start + mine.count) {
                    Self.gemm(m: rows, columns: 0..<nn, n: nn, k: kk, a: input, b: weights(g), c: output)
                }
            } else if rows < Self.columnSplitRows && nn >= parts * 64 {
                // A skinny (decode-shaped) GEMM: each part streams its own columns of the weights once.
                let mine = Self.chunk(nn, part, parts)
                for g in 0..<groups {
                    Self.gemm(m: rows, columns: mine.start..<(mine.start + mine.count), n: nn, k: kk, a: input, b: weights(g), c: output)
                }
            } else {
                let mine = Self.chunk(rows, part, parts)
                guard mine.count > 0 else { return }
                for g in 0..<groups {
                    Self.gemm(m: mine.count, columns: 0..<nn, n: nn, k: kk, a: input + mine.start * kk, b: weights(g),
                              c: output + mine.start * nn)
                }
            }

        case let .attention(batch, heads, kvHeads, queries, keys, headDim, causal, window):
            let b = Self.whole(batch), q = Self.whole(queries), k = Self.whole(keys)
            guard b > 0, q > 0, k > 0 else { return }
            let group = heads / max(1, kvHeads)
            // Keys and values: the decode cache in the pool when given, else after the queries in the arena.
            let kvBase = persistent ?? input + b * q * heads * headDim
            let keysBase = kvBase, valuesBase = kvBase + b * k * kvHeads * headDim
            let scratch = output + b * q * heads * headDim
            if b < parts && kvHeads >= parts {
                // Fewer sequences than parts: each part takes a share of the KV groups (same work, separate buffers).
                let mine = Self.chunk(kvHeads, part, parts)
                guard mine.count > 0 else { return }
                // Each part's groups in their own region of Q, K, V and O (as [b, ·, its heads, d]).
                let qPart = mine.start * b * q * group * headDim, kvPart = mine.start * b * k * headDim
                AttentionKernel.forward(q: input + qPart, k: keysBase + kvPart, v: valuesBase + kvPart, out: output + qPart, batch: b,
                                        heads: mine.count * group, kvHeads: mine.count, queries: q, keys: k, headDim: headDim,
                                        causal: causal, window: window, scratch: scratch)
            } else {
                // Otherwise each part takes a share of the sequences.
                let seqs = Self.chunk(b, part, parts)
                guard seqs.count > 0 else { return }
                AttentionKernel.forward(q: input + seqs.start * q * heads * headDim, k: keysBase + seqs.start * k * kvHeads * headDim,
                                        v: valuesBase + seqs.start * k * kvHeads * headDim,
                                        out: output + seqs.start * q * heads * headDim, batch: seqs.count, heads: heads,
                                        kvHeads: kvHeads, queries: q, keys: k, headDim: headDim, causal: causal, window: window,
                                        scratch: scratch)
            }

        case let .selectiveScan(batch, length, dInner, dState, decodeState):
            runScan(batch: Self.whole(batch), length: Self.whole(length), dInner: dInner, dState: dState, decode: decodeState,
                    part: part, parts: parts, arena: a, persistent: persistent)
        case let .ssd(batch, length, heads, headDim, dState, _, _, decodeState):
            runScan(batch: Self.whole(batch), length: Self.whole(length), dInner: heads * headDim, dState: dState, decode: decodeState,
                    part: part, parts: parts, arena: a, persistent: persistent)

        case let .conv1d(tokens, channels, width):
            let t = Self.whole(tokens)
            let mine = Self.chunk(channels, part, parts)
            guard t > 0, mine.count > 0 else { return }
            // Each part convolves its channels as a separate [t, channels_part] problem.
            Conv1DKernel.forward(x: input, weight: input + t * channels, bias: input + t * channels + channels * width,
                                 out: output, batch: 1, length: t, channels: mine.count, width: width, state: nil)

        case let .elementwise(elements, _, reads, writes):
            let total = Self.whole(elements)
            let mine = Self.chunk(total, part, parts)
            guard mine.count > 0 else { return }
            let inputsCount = max(2, Self.whole(reads)), outputsCount = max(1, Self.whole(writes))
            let x = input + mine.start, y = input + total + mine.start, out = output + mine.start
            // Small fixed operands (norm weights, combine weights) sit after the op's input arrays.
            let constants = input + inputsCount * total
            switch op.role {
            case .rmsNorm:
                ElementwiseKernels.rmsNorm(x: x, weight: constants, out: out, rows: max(1, mine.count / max(1, dModel)),
                                           width: min(dModel, mine.count))
            case .gatedNorm:
                // Mamba-2's gated norm: RMSNorm(y · silu(z)).
                ElementwiseKernels.siluMul(gate: y, up: x, out: out, count: mine.count)
                ElementwiseKernels.rmsNorm(x: out, weight: constants, out: out, rows: max(1, mine.count / max(1, dModel)),
                                           width: min(dModel, mine.count))
            case .swiglu:
                ElementwiseKernels.siluMul(gate: x, up: y, out: out, count: mine.count)
            case .gelu:
                ElementwiseKernels.gelu(x: x, out: out, count: mine.count)
            case .mean:
                ElementwiseKernels.mean(a: x, b: y, out: out, count: mine.count)
            case .gateMix:
                ElementwiseKernels.gateMix(logits: input + min(2, inputsCount - 1) * total + mine.start, a: x, b: y, out: out, count: mine.count)
            case .residual:
                ElementwiseKernels.add(a: x, b: y, out: out, count: mine.count)
            case .mask:
                ElementwiseKernels.multiply(a: x, b: y, out: out, count: mine.count)
            case .blend:
                ElementwiseKernels.blend(a: x, b: y, alpha: 0.5, out: out, count: mine.count)
            case .weightedSum:
                // The k inputs are `total` floats apart; this part's slice of each.
                ElementwiseKernels.weightedSum(inputs: x, k: max(1, Self.whole(reads)), weights: constants, out: out, count: mine.count)
            case .optimizer:
                // Parameters and the two moments are written (output arrays), the gradients read.
                let m = outputsCount >= 3 ? out + total : out, v = outputsCount >= 3 ? out + 2 * total : out
                ElementwiseKernels.adam(parameters: out, gradients: x, m: m, v: v, count: mine.count)
            case .projection, .mlpUp, .mlpDown, .lmHead, .attention, .selectiveScan, .ssd, .conv1d, .router, .treeDescent, .gather,
                 .embedding, .transfer:
                // Not an elementwise role: the lowering never pairs these with an elementwise kind. Stream the
                // op's arrays (a sum of its inputs) so its bytes are still moved.
                ElementwiseKernels.weightedSum(inputs: x, k: inputsCount, weights: constants, out: out, count: mine.count)
            }

        case let .router(tokens, dIn, outputs):
            let mine = Self.chunk(Self.whole(tokens), part, parts)
            guard mine.count > 0 else { return }
            let topK = min(2, outputs)
            RoutingKernels.router(x: input + mine.start * dIn, weight: input + Self.whole(tokens) * dIn,
                                  logits: output + mine.start * outputs, tokens: mine.count, dIn: dIn, experts: outputs, topK: topK,
                                  indices: a.indices, weights: output + Self.whole(tokens) * outputs)

        case let .treeDescent(tokens, dIn, levels, nodeWidth, outputWidth):
            let t = Self.whole(tokens)
            let mine = Self.chunk(t, part, parts)
            guard mine.count > 0 else { return }
            RoutingKernels.fffDescent(x: input + mine.start * dIn, nodeWeights: input + t * dIn, tokens: mine.count, dIn: dIn,
                                      depth: levels, nodeWidth: nodeWidth, leaf: a.indices)
            if outputWidth > 0 {
                // UltraFastBERT nodes also add GELU(activation) x their output weight: one axpy of d_out per level.
                let outWeights = input + t * dIn
                for token in 0..<mine.count {
                    let row = output + (mine.start + token) * outputWidth
                    for level in 0..<levels {
                        let w = outWeights + (level % 64) * outputWidth
                        let scale: Float = 0.01
                        for j in 0..<outputWidth { row[j] += scale * w[j] }
                    }
                }
            }

        case let .gatherScatter(rows, width):
            let r = Self.whole(rows)
            let mine = Self.chunk(r, part, parts)
            guard mine.count > 0, mine.count <= a.indexCount else { return }
            // A fixed permutation of the part's rows (stride 7 modulo the count) stands for the routed order.
            for i in 0..<mine.count { a.indices[i] = mine.start + (i &* 7) % mine.count }
            RoutingKernels.gatherRows(src: input, indices: a.indices, dst: output + mine.start * width, rows: mine.count, width: width)

        case let .transfer(bytes, _):
            let floats = Self.whole(bytes / 4)
            let mine = Self.chunk(floats, part, parts)
            guard mine.count > 0 else { return }
            (output + mine.start).update(from: input + mine.start, count: mine.count)
        }
    }

    func runScan(batch: Int, length: Int, dInner: Int, dState: Int, decode: Bool, part: Int, parts: Int, arena a: Arena,
                 persistent: UnsafeMutablePointer<Float>? = nil) {
        let mine = Self.chunk(dInner, part, parts)
        guard batch > 0, length > 0, mine.count > 0 else { return }
        let d = mine.count
        let bl = batch * length
        let input = a.inputs, output = a.outputs
        // Layout per part: u, delta, z [bl, d]; A [d, N]; B, C [bl, N]; D [d]; state [batch, d, N].
        let u = input, delta = input + bl * d, z = input + 2 * bl * d
        let aMatrix = input + 3 * bl * d, b = aMatrix + d * dState, c = b + bl * dState, dSkip = c + bl * dState
        // A decode step's state: this part's channels of the op's [batch, dInner, N] region in the pool when given.
        let state = decode ? (persistent.map { $0 + batch * mine.start * dState } ?? output + bl * d) : output + bl * d
        if !decode { state.update(repeating: 0, count: batch * d * dState) }
        SelectiveScanKernel.forward(u: u, delta: delta, a: aMatrix, b: b, c: c, d: dSkip, z: z, y: output, batch: batch,
                                    length: length, dInner: d, dState: dState, state: state)
    }
}
