import SimModel

/// The shapes the calibrator times: every op class from a few microseconds to tens of milliseconds
/// on one core, plus one near-empty op for the fixed per-op overhead.
enum CalibrationGrid {
    /// The width RMSNorm rows are cut to.
    static let dModel = 512

    struct Shape {
        var name: String
        var label: String
        var kind: OpKind
        var opClass: OpClass
        var role: OpRole
    }

    static func shapes(quick: Bool, smoke: Bool = false) -> [Shape] {
        let all = shapes(quick: quick)
        guard smoke else { return all }
        // Smoke: the overhead op and the first three shapes of each class, made small.
        var kept: [Shape] = [all[0]]
        for opClass in OpClass.allCases {
            kept += all.dropFirst().filter { $0.opClass == opClass }.prefix(3).map { shrink($0) }
        }
        return kept
    }

    /// A shape cut down to at most about a million FLOPs and bytes (smoke mode).
    static func shrink(_ s: Shape) -> Shape {
        var s = s
        switch s.kind {
        case let .gemm(m, n, k, count): s.kind = .gemm(m: min(m, 32), n: min(n, 64), k: min(k, 64), count: count)
        case let .attention(b, h, kv, q, k, d, c, w): s.kind = .attention(batch: b, heads: h, kvHeads: kv, queries: min(q, 32), keys: min(k, 64), headDim: d, causal: c, window: w)
        case let .selectiveScan(b, l, d, n, dec): s.kind = .selectiveScan(batch: b, length: min(l, 32), dInner: min(d, 128), dState: n, decodeState: dec)
        case let .conv1d(t, c, w): s.kind = .conv1d(tokens: min(t, 64), channels: min(c, 256), width: w)
        case let .elementwise(n, f, r, w): s.kind = .elementwise(elements: min(n, 32_768), flopsPerElement: f, reads: r, writes: w)
        case let .router(t, d, e): s.kind = .router(tokens: min(t, 64), dIn: d, outputs: e)
        case let .gatherScatter(r, w): s.kind = .gatherScatter(rows: min(r, 64), width: w)
        default: break
        }
        return s
    }

    static func shapes(quick: Bool) -> [Shape] {
        var out: [Shape] = [Shape(name: "tiny.add", label: "tiny", kind: .elementwise(elements: 8, flopsPerElement: 1, reads: 2, writes: 1), opClass: .elementwise, role: .residual)]
        var gemms: [(Double, Double, Double)] = [(64, 64, 64), (256, 256, 256), (512, 512, 512), (1024, 1024, 512), (8, 2048, 512),
                                                 (2048, 128, 512), (1, 1024, 1024), (128, 1024, 256), (1, 2048, 2048), (4, 4096, 1024)]
        if !quick { gemms += [(32, 32, 32), (128, 128, 128), (768, 768, 768), (1024, 1024, 1024), (4096, 512, 512), (16, 4096, 1024),
                              (512, 2048, 512), (64, 4096, 64), (2, 1024, 4096), (16, 2048, 2048), (1, 512, 512), (8, 768, 768),
                              (1, 64, 64), (4, 128, 64), (2, 256, 128)] }
        for (m, n, k) in gemms {
            out.append(Shape(name: "gemm", label: "\(Int(m))x\(Int(n))x\(Int(k))", kind: .gemm(m: m, n: n, k: k, count: 1), opClass: .gemm, role: .projection))
        }
        var attention: [(q: Double, k: Double, causal: Bool, window: Int?)] = [(64, 64, true, nil), (256, 256, true, nil), (512, 512, true, nil),
                                                                              (1024, 1024, true, nil), (1, 512, true, nil), (1, 2048, true, nil)]
        if !quick { attention += [(128, 128, true, nil), (768, 768, true, nil), (2048, 2048, true, nil), (256, 256, false, nil),
                                  (1024, 1024, true, 256), (1, 8192, true, nil)] }
        // Grouped GEMMs of a few rows each (MoE experts in decode), every group its own weights.
        var grouped: [(Double, Double, Double, Double)] = [(2, 1024, 512, 8)]
        if !quick { grouped += [(4, 2048, 768, 4), (1, 512, 1024, 16)] }
        for (m, n, k, count) in grouped {
            out.append(Shape(name: "gemm", label: "\(Int(m))x\(Int(n))x\(Int(k))x\(Int(count))", kind: .gemm(m: m, n: n, k: k, count: count),
                             opClass: .gemm, role: .mlpUp))
        }
        for a in attention {
            out.append(Shape(name: "attention.sdpa", label: "q\(Int(a.q))k\(Int(a.k))\(a.causal ? "" : "-full")\(a.window.map { "-w\($0)" } ?? "")",
                             kind: .attention(batch: 1, heads: 8, kvHeads: 2, queries: a.q, keys: a.k, headDim: 64, causal: a.causal, window: a.window),
                             opClass: .attention, role: .attention))
        }
        var scans: [(l: Double, d: Int, n: Int, decode: Bool)] = [(64, 256, 16, false), (256, 512, 16, false), (1024, 1024, 16, false),
                                                                   (512, 512, 64, false), (1, 1024, 16, true), (128, 1024, 32, false)]
        if !quick { scans += [(128, 256, 16, false), (1024, 256, 64, false), (256, 2048, 16, false), (2048, 512, 16, false),
                              (1024, 1024, 128, false), (1, 2048, 64, true)] }
        // Decode attention over a batch of KV caches.
        var batchedDecode: [(b: Double, k: Double)] = [(8, 1024)]
        if !quick { batchedDecode += [(16, 512), (2, 4096)] }
        for d in batchedDecode {
            out.append(Shape(name: "attention.sdpa", label: "b\(Int(d.b))q1k\(Int(d.k))",
                             kind: .attention(batch: d.b, heads: 8, kvHeads: 2, queries: 1, keys: d.k, headDim: 64, causal: true, window: nil),
                             opClass: .attention, role: .attention))
        }
        // Decode steps of a batch of sequences.
        var batchedScans: [(b: Double, d: Int, n: Int)] = [(8, 1024, 16)]
        if !quick { batchedScans += [(32, 512, 16), (4, 2048, 64)] }
        for b in batchedScans {
            out.append(Shape(name: "ssm.selective_scan", label: "B\(Int(b.b))L1D\(b.d)N\(b.n)",
                             kind: .selectiveScan(batch: b.b, length: 1, dInner: b.d, dState: b.n, decodeState: true), opClass: .scan,
                             role: .selectiveScan))
        }
        for s in scans {
            out.append(Shape(name: "ssm.selective_scan", label: "L\(Int(s.l))D\(s.d)N\(s.n)",
                             kind: .selectiveScan(batch: 1, length: s.l, dInner: s.d, dState: s.n, decodeState: s.decode), opClass: .scan,
                             role: .selectiveScan))
        }
        var convs: [(Double, Int)] = [(256, 256), (1024, 1024), (4096, 512), (64, 2048)]
        if !quick { convs += [(16, 512), (2048, 2048), (8192, 256), (512, 4096), (1, 1024), (4, 256)] }
        for (t, c) in convs {
            out.append(Shape(name: "ssm.conv1d", label: "T\(Int(t))C\(c)", kind: .conv1d(tokens: t, channels: c, width: 4), opClass: .conv, role: .conv1d))
        }
        var elementwise: [(OpRole, Double, Double, Double, Double)] = [
            (.rmsNorm, 16 * 512, 4, 1, 1), (.rmsNorm, 4096 * 512, 4, 1, 1), (.swiglu, 1e4, 5, 2, 1), (.swiglu, 1e6, 5, 2, 1),
            (.residual, 1e3, 1, 2, 1), (.residual, 4e6, 1, 2, 1), (.rmsNorm, 256 * 512, 4, 1, 1), (.gelu, 1e5, 8, 1, 1)]
        if !quick { elementwise += [(.residual, 1e5, 1, 2, 1), (.gelu, 2e6, 8, 1, 1), (.mean, 5e5, 2, 2, 1),
                                    (.swiglu, 1e5, 5, 2, 1), (.residual, 256, 1, 2, 1), (.swiglu, 2048, 5, 2, 1),
                                    (.weightedSum, 3e5, 4, 2, 1)] }
        for (role, n, f, r, w) in elementwise {
            out.append(Shape(name: role.rawValue, label: "\(role.rawValue)-\(Int(n))",
                             kind: .elementwise(elements: n, flopsPerElement: f, reads: r, writes: w), opClass: .elementwise, role: role))
        }
        var routers: [(Double, Int)] = [(64, 8), (512, 8), (2048, 64), (4096, 8)]
        if !quick { routers += [(16, 64), (1024, 16), (8192, 8), (256, 128), (1, 8), (8, 16)] }
        for (t, e) in routers {
            out.append(Shape(name: "mlp.router", label: "T\(Int(t))E\(e)", kind: .router(tokens: t, dIn: 512, outputs: e), opClass: .router, role: .router))
        }
        var gathers: [(Double, Int)] = [(64, 512), (1024, 512), (8192, 512), (256, 2048)]
        if !quick { gathers += [(16, 512), (4096, 1024), (16384, 256), (2048, 2048), (2, 512), (8, 128)] }
        for (r, w) in gathers {
            out.append(Shape(name: "mlp.dispatch", label: "R\(Int(r))W\(w)", kind: .gatherScatter(rows: r, width: w), opClass: .gatherScatter, role: .gather))
        }
        return out
    }
}
