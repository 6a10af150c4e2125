// Kernel speeds on this machine as fractions of its own limits, all measured in one run:
// FMA peak and triad bandwidth first, then each kernel's best-of-N time with warm-up,
// buffers touched beforehand, and OpenBLAS on one thread.
//
// Usage: KernelBenchmark [--pin CORE] [--quick] [--huge-pages] [--only SECTION ...]
// --huge-pages: allocate the benchmark's buffers with Workspace.allocate(hugePages: true).
// Sections: gemm, attention, decode (cold decode GEMMs, the SSM decode step and the decode attention cases), scan, conv,
// elementwise, routing.
// The machine limits are always measured.

import Kernels

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
let quick = arguments.contains("--quick")
let hugePages = arguments.contains("--huge-pages")
if let flag = arguments.firstIndex(of: "--pin"), flag + 1 < arguments.count, let core = Int(arguments[flag + 1]) {
    print("pinned to core \(core): \(ThreadPinning.pin(toCore: core))")
}
BLAS.setThreads(1)
let sectionNames: Set<String> = {
    var names = Set<String>()
    var index = 1
    while index < arguments.count {
        if arguments[index] == "--only", index + 1 < arguments.count { names.insert(arguments[index + 1]) }
        index += 1
    }
    return names
}()
/// Whether to run a section (all of them unless --only names some).
func wants(_ section: String) -> Bool { sectionNames.isEmpty || sectionNames.contains(section) }

/// A buffer of `count` floats filled with uniform values in [-scale, scale] (a fixed-seed
/// xorshift), so every page is touched before anything is timed.
final class Buffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int, scale: Float = 1, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.count = count
        pointer = Workspace.allocate(Float.self, count: count, hugePages: hugePages)
        var x = seed
        for i in 0..<count {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            pointer[i] = (Float(x >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }
    deinit { pointer.deallocate() }
}

/// Best (minimum) seconds of `repetitions` timed runs after `warmUp` untimed ones.
func bestSeconds(repetitions: Int, warmUp: Int = 1, _ body: () -> Void) -> Double {
    for _ in 0..<warmUp { body() }
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = Timing.now()
        body()
        best = min(best, Timing.seconds(since: start))
    }
    return best
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    let scale = pow(10.0, Double(digits))
    let rounded = (value * scale).rounded() / scale
    return String(rounded)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

print("KernelBenchmark: one core, OpenBLAS threads \(BLAS.threads), \(hugePages ? "2 MiB pages (madvise)" : "4 KiB pages"), timer resolution \(format(Timing.resolutionNanoseconds(), 0)) ns")

// MARK: Machine limits

let fmaPeak = Microbenchmarks.fmaPeakFlopsPerSecond(seconds: quick ? 0.2 : 0.5)
let triadBandwidth = Microbenchmarks.triadBytesPerSecond(megabytes: 64, seconds: quick ? 0.3 : 0.6)
print("FMA peak, one core:          \(format(fmaPeak / 1e9)) GFLOP/s")
print("triad bandwidth, one core:   \(format(triadBandwidth / 1e9)) GB/s (3 x 64 MiB, 12 bytes per element)")

func computeLine(_ name: String, flops: Double, seconds: Double) {
    let rate = flops / seconds
    print("\(pad(name, 44)) \(pad(format(seconds * 1e3, 3) + " ms", 12)) \(pad(format(rate / 1e9) + " GFLOP/s", 16)) \(format(100 * rate / fmaPeak))% of FMA peak")
}

func memoryLine(_ name: String, bytes: Double, seconds: Double) {
    let rate = bytes / seconds
    print("\(pad(name, 44)) \(pad(format(seconds * 1e3, 3) + " ms", 12)) \(pad(format(rate / 1e9) + " GB/s", 16)) \(format(100 * rate / triadBandwidth))% of triad")
}

// MARK: GEMM

if wants("gemm") { print("\n-- sgemm (OpenBLAS, 1 thread), FLOPs 2mnk") }
for n in [256, 512, 1024, 2048] where wants("gemm") {
    let a = Buffer(n * n), b = Buffer(n * n, seed: 7), c = Buffer(n * n, seed: 11)
    let flops = 2 * Double(n) * Double(n) * Double(n)
    let repetitions = n >= 2048 ? (quick ? 2 : 3) : (n >= 1024 ? 5 : 20)
    let seconds = bestSeconds(repetitions: repetitions) {
        BLAS.sgemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer)
    }
    computeLine("sgemm \(n)^3", flops: flops, seconds: seconds)
}

// MARK: Decode-shaped GEMMs and the SSM decode step, cold (weights and states rotate through copies larger
// than any cache, as a model's layers do): against the one-core triad.

if wants("decode") { print("\n-- decode, cold (weights: 16 copies, 256 MiB; states: 32 copies, 64 MiB; more than the cache), one core; bytes = weights or state streamed") }
if wants("decode") {
    let n = 2048, k = 2048, copies = 16
    let weights = Buffer(copies * n * k, scale: 0.01, seed: 13), x = Buffer(16 * k), y = Buffer(16 * n)
    for m in [1, 2, 4, 8, 16] {
        var copy = 0
        let seconds = bestSeconds(repetitions: quick ? 8 : 32) {
            let w = weights.pointer + (copy % copies) * n * k
            copy += 1
            if m == 1 {
                BLAS.sgemv(transpose: true, m: k, n: n, alpha: 1, a: w, lda: n, x: x.pointer, beta: 0, y: y.pointer)
            } else {
                BLAS.sgemm(m: m, n: n, k: k, a: x.pointer, b: w, c: y.pointer)
            }
        }
        memoryLine("\(m == 1 ? "sgemv" : "sgemm") \(m)x\(n)x\(k) (weights)", bytes: Double(n * k * 4), seconds: seconds)
        guard m > 1 else { continue }
        let skinny = bestSeconds(repetitions: quick ? 8 : 32) {
            let w = weights.pointer + (copy % copies) * n * k
            copy += 1
            SkinnyGEMM.multiply(m: m, n: n, k: k, a: x.pointer, lda: k, b: w, ldb: n, c: y.pointer, ldc: n)
        }
        memoryLine("SkinnyGEMM \(m)x\(n)x\(k) (weights)", bytes: Double(n * k * 4), seconds: skinny)
    }
    let batch = 16, dInner = 2048, dState = 16, stateCopies = 32
    let states = Buffer(stateCopies * batch * dInner * dState, scale: 0.1, seed: 17)
    let u = Buffer(batch * dInner), delta = Buffer(batch * dInner, scale: 0.1), aMatrix = Buffer(dInner * dState, scale: 1)
    let bc = Buffer(2 * batch * dState), out = Buffer(batch * dInner)
    for i in 0..<(dInner * dState) { aMatrix.pointer[i] = -abs(aMatrix.pointer[i]) - 0.05 }
    for i in 0..<(batch * dInner) { delta.pointer[i] = abs(delta.pointer[i]) + 0.001 }
    var copy = 0
    let seconds = bestSeconds(repetitions: quick ? 8 : 32) {
        let state = states.pointer + (copy % stateCopies) * batch * dInner * dState
        copy += 1
        SelectiveScanKernel.decodeStep(u: u.pointer, delta: delta.pointer, a: aMatrix.pointer, b: bc.pointer, c: bc.pointer + batch * dState,
                                       d: nil, z: nil, y: out.pointer, batch: batch, dInner: dInner, dState: dState, state: state)
    }
    memoryLine("SSM decode step B\(batch) D\(dInner) N\(dState) (state r+w)", bytes: Double(2 * batch * dInner * dState * 4), seconds: seconds)
}

// MARK: Attention

if wants("attention") || wants("decode") { print("\n-- attention, FLOPs 4*B*H*sum(keys attended)*d (softmax excluded)") }
struct AttentionCase {
    let name: String
    let heads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int
    let causal: Bool
    let window: Int?
}
let attentionCases = [
    AttentionCase(name: "prefill 1x8x1024x1024x64 causal", heads: 8, kvHeads: 8, queries: 1024, keys: 1024, headDim: 64, causal: true, window: nil),
    AttentionCase(name: "prefill 1x8x1024x1024x64 full", heads: 8, kvHeads: 8, queries: 1024, keys: 1024, headDim: 64, causal: false, window: nil),
    AttentionCase(name: "prefill 1x8x1024x1024x128 causal GQA 8/2", heads: 8, kvHeads: 2, queries: 1024, keys: 1024, headDim: 128, causal: true, window: nil),
    AttentionCase(name: "prefill 1x8x2048x2048x64 window 256", heads: 8, kvHeads: 8, queries: 2048, keys: 2048, headDim: 64, causal: true, window: 256),
    AttentionCase(name: "decode 1x8x1x4096x64 causal", heads: 8, kvHeads: 8, queries: 1, keys: 4096, headDim: 64, causal: true, window: nil),
    AttentionCase(name: "decode 1x32x1x4096x128 GQA 32/8", heads: 32, kvHeads: 8, queries: 1, keys: 4096, headDim: 128, causal: true, window: nil),
]
for test in attentionCases where wants("attention") || (test.queries == 1 && wants("decode")) {
    let q = Buffer(test.queries * test.heads * test.headDim)
    let k = Buffer(test.keys * test.kvHeads * test.headDim, seed: 3)
    let v = Buffer(test.keys * test.kvHeads * test.headDim, seed: 5)
    let out = Buffer(test.queries * test.heads * test.headDim, seed: 9)
    let scratch = Buffer(AttentionKernel.scratchCount(queries: test.queries, keys: test.keys))
    let flops = AttentionKernel.flops(
        batch: 1, heads: test.heads, queries: test.queries, keys: test.keys, headDim: test.headDim,
        causal: test.causal, window: test.window)
    let seconds = bestSeconds(repetitions: test.queries == 1 ? 50 : (quick ? 3 : 7)) {
        AttentionKernel.forward(
            q: q.pointer, k: k.pointer, v: v.pointer, out: out.pointer, batch: 1, heads: test.heads,
            kvHeads: test.kvHeads, queries: test.queries, keys: test.keys, headDim: test.headDim,
            causal: test.causal, window: test.window, scratch: scratch.pointer)
    }
    computeLine(test.name, flops: flops, seconds: seconds)
    if test.queries == 1 {
        let bytes = Double(2 * test.keys * test.kvHeads * test.headDim * 4)
        memoryLine("  (decode as K+V bytes read)", bytes: bytes, seconds: seconds)
    }
}

// MARK: Selective scan

if wants("scan") { print("\n-- selective scan, FLOPs 9*B*L*D*N + 2*B*L*D; bytes = u, delta, z, y, B, C, A, state") }
let scanCases: [(length: Int, dInner: Int, dState: Int)] = [(1024, 1536, 16), (1024, 1536, 64), (256, 64, 16), (256, 64, 64)]
let scanWorkspace = Workspace()
for (length, dInner, dState) in scanCases where wants("scan") {
    let u = Buffer(length * dInner), delta = Buffer(length * dInner, scale: 0.05, seed: 2)
    let z = Buffer(length * dInner, seed: 4), y = Buffer(length * dInner, seed: 6)
    let a = Buffer(dInner * dState, seed: 8), b = Buffer(length * dState, seed: 10), c = Buffer(length * dState, seed: 12)
    let d = Buffer(dInner, seed: 14), state = Buffer(dInner * dState, seed: 16)
    for i in 0..<delta.count { delta.pointer[i] = abs(delta.pointer[i]) + 0.001 }
    for i in 0..<a.count { a.pointer[i] = -abs(a.pointer[i]) * 4 - 0.1 }
    let flops = SelectiveScanKernel.flops(batch: 1, length: length, dInner: dInner, dState: dState)
    let bytes = SelectiveScanKernel.bytes(batch: 1, length: length, dInner: dInner, dState: dState)
    let inCache = dInner * length < 1 << 17
    for useWorkspace in inCache ? [true] : [true, false] {
        let seconds = bestSeconds(repetitions: inCache ? 50 : (quick ? 3 : 7)) {
            SelectiveScanKernel.forward(
                u: u.pointer, delta: delta.pointer, a: a.pointer, b: b.pointer, c: c.pointer, d: d.pointer,
                z: z.pointer, y: y.pointer, batch: 1, length: length, dInner: dInner, dState: dState,
                state: state.pointer, workspace: useWorkspace ? scanWorkspace : nil)
        }
        let name = "scan L\(length) D\(dInner) N\(dState)" + (inCache ? " (in cache)" : useWorkspace ? "" : " (no workspace)")
        computeLine(name, flops: flops, seconds: seconds)
        if useWorkspace {
            memoryLine("  (same, as bytes moved)", bytes: bytes, seconds: seconds)
            let share = bytes / seconds / triadBandwidth
            print("  -> \(share < 0.5 ? "compute-bound" : "memory-bound"): moves \(format(100 * share))% of triad bandwidth, computes \(format(100 * flops / seconds / fmaPeak))% of FMA peak")
        }
    }
}

// MARK: Convolution

if wants("conv") {
    print("\n-- depthwise causal conv1d, FLOPs 2*T*C*W")
    for (length, channels) in [(1024, 3072), (64, 3072)] {
    let width = 4
    let x = Buffer(length * channels), weight = Buffer(channels * width, seed: 3), bias = Buffer(channels, seed: 5)
    let out = Buffer(length * channels, seed: 7), state = Buffer(channels * (width - 1), seed: 9)
    let seconds = bestSeconds(repetitions: length < 100 ? 100 : (quick ? 3 : 10)) {
        Conv1DKernel.forward(
            x: x.pointer, weight: weight.pointer, bias: bias.pointer, out: out.pointer, batch: 1, length: length,
            channels: channels, width: width, state: state.pointer)
    }
    computeLine("conv1d L\(length) C\(channels) W4\(length < 100 ? " (in cache)" : "")", flops: Conv1DKernel.flops(batch: 1, length: length, channels: channels, width: width), seconds: seconds)
    memoryLine("  (same, as x read + out written)", bytes: Double(2 * length * channels * 4), seconds: seconds)
    }
}

// MARK: Elementwise

if wants("elementwise") {
    print("\n-- elementwise over 64 MiB arrays (beyond the L3)")
    let count = 16 << 20
    let a = Buffer(count), b = Buffer(count, seed: 3), out = Buffer(count, seed: 5)
    let width = 4096, rows = count / width
    let weight = Buffer(width, seed: 7)
    let repetitions = quick ? 3 : 8
    let rms = bestSeconds(repetitions: repetitions) {
        ElementwiseKernels.rmsNorm(x: a.pointer, weight: weight.pointer, out: out.pointer, rows: rows, width: width, epsilon: 1e-6)
    }
    memoryLine("rmsNorm 4096 x 4096 (8 B/elem)", bytes: Double(count) * 8, seconds: rms)
    let silu = bestSeconds(repetitions: repetitions) {
        ElementwiseKernels.siluMul(gate: a.pointer, up: b.pointer, out: out.pointer, count: count)
    }
    memoryLine("siluMul 16M (12 B/elem)", bytes: Double(count) * 12, seconds: silu)
    let add = bestSeconds(repetitions: repetitions) {
        ElementwiseKernels.add(a: a.pointer, b: b.pointer, out: out.pointer, count: count)
    }
    memoryLine("add 16M (12 B/elem)", bytes: Double(count) * 12, seconds: add)
    let gelu = bestSeconds(repetitions: repetitions) {
        ElementwiseKernels.gelu(x: a.pointer, out: out.pointer, count: count)
    }
    memoryLine("gelu 16M (8 B/elem)", bytes: Double(count) * 8, seconds: gelu)
    let triad = bestSeconds(repetitions: repetitions) {
        ElementwiseKernels.triad(a: a.pointer, b: b.pointer, c: out.pointer, scalar: 3, count: count)
    }
    memoryLine("triad 16M (12 B/elem, same buffers)", bytes: Double(count) * 12, seconds: triad)
}

// MARK: Routing

if wants("routing") {
    print("\n-- routing")
    let tokens = 1024, dIn = 1024, experts = 64, topK = 2
    let x = Buffer(tokens * dIn), weight = Buffer(dIn * experts, seed: 3), logits = Buffer(tokens * experts, seed: 5)
    let indices = UnsafeMutablePointer<Int>.allocate(capacity: tokens * topK)
    let weights = Buffer(tokens * topK, seed: 7)
    defer { indices.deallocate() }
    let router = bestSeconds(repetitions: quick ? 3 : 10) {
        RoutingKernels.router(
            x: x.pointer, weight: weight.pointer, logits: logits.pointer, tokens: tokens, dIn: dIn, experts: experts,
            topK: topK, indices: indices, weights: weights.pointer)
    }
    computeLine("router 1024 tok x 1024 -> 64 experts top2", flops: 2 * Double(tokens * dIn * experts), seconds: router)

    let depth = 8, nodeWidth = 1
    let nodes = Buffer(((1 << depth) - 1) * nodeWidth * dIn, seed: 9)
    let leaves = UnsafeMutablePointer<Int>.allocate(capacity: tokens)
    defer { leaves.deallocate() }
    let descent = bestSeconds(repetitions: quick ? 3 : 10) {
        RoutingKernels.fffDescent(x: x.pointer, nodeWeights: nodes.pointer, tokens: tokens, dIn: dIn, depth: depth, nodeWidth: nodeWidth, leaf: leaves)
    }
    computeLine("fffDescent 1024 tok, d 1024, depth 8", flops: 2 * Double(tokens * depth * nodeWidth * dIn), seconds: descent)
}
