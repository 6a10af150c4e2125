import Testing
@testable import SimModel

/// CostModel on a hand-made device: matrix peak 100 FLOP/s (fp32) and 200 (bf16), vector peak 20 FLOP/s,
/// memory 10 B/s, launch overhead 1 s, every op class at compute efficiency 0.5 flat (half size 0)
/// and memory efficiency 1 flat; one link of 50 B/s with 0.1 s latency.
@Suite struct CostModelTests {
    static let flat = EfficiencyCurve(peak: 0.5, halfSizeFlops: 0, memory: 1, halfSizeBytes: 0)
    static let wire = Link(name: "wire", bandwidthBytesPerSecond: 50, latencySeconds: 0.1)

    static func profile(curve: EfficiencyCurve = flat, overhead: Double = 1) -> HardwareProfile {
        HardwareProfile(name: "toy", description: "hand-made", kind: .cpu, computeUnits: 2, devicesPerNode: 1,
                        peakFlops: [.fp32: 100, .bf16: 200], vectorFlops: 20, memoryCapacityBytes: 1e9,
                        memoryBandwidthBytesPerSecond: 10, launchOverheadSeconds: overhead,
                        efficiency: Dictionary(uniqueKeysWithValues: OpClass.allCases.map { ($0, curve) }),
                        links: [wire])
    }

    /// An op with the given FLOPs and bytes (the cost model reads only these, the class and, for transfers, the kind).
    static func op(_ opClass: OpClass, flops: Double, bytes: Double,
                   kind: OpKind = .elementwise(elements: 0, flopsPerElement: 0, reads: 0, writes: 0)) -> Op {
        Op(index: 0, name: "test", component: "test", kind: kind, opClass: opClass, role: .projection, laneMask: 1, dependencies: [],
           flops: flops, matrixFlops: opClass.usesMatrixUnits ? flops : 0, launches: 1, bytes: bytes, modelFlops: flops, formula: "",
           branch: .none, share: 1, weight: 1, pass: 0)
    }

    @Test func computeBoundGemm() {
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        // compute = 1000 / (100 * 0.5) = 20 s; memory = 40 / (10 * 1) = 4 s; time = 1 + max(20, 4) = 21 s.
        let b = model.breakdown(Self.op(.gemm, flops: 1000, bytes: 40), share: 1, link: nil)
        #expect(approx(b.computeSeconds, 20))
        #expect(approx(b.memorySeconds, 4))
        #expect(approx(b.overheadSeconds, 1))
        #expect(approx(b.seconds, 21))
        #expect(b.bound == "compute")
        #expect(approx(b.peakFlopsPerSecond, 100))
        #expect(approx(b.computeEfficiency, 0.5))
        #expect(approx(model.seconds(Self.op(.gemm, flops: 1000, bytes: 40), share: 1, link: nil), 21))
    }

    @Test func dtypeSelectsMatrixPeak() {
        // bf16 peak 200: compute = 1000 / (200 * 0.5) = 10 s; time = 1 + 10 = 11 s.
        let bf16 = CostModel(profile: Self.profile(), dtype: .bf16)
        #expect(approx(bf16.matrixPeak, 200))
        #expect(approx(bf16.seconds(Self.op(.gemm, flops: 1000, bytes: 40), share: 1, link: nil), 11))
        // fp8 has no peak on this device: the matrix peak falls back to the vector peak 20;
        // compute = 1000 / (20 * 0.5) = 100 s; time = 101 s.
        let fp8 = CostModel(profile: Self.profile(), dtype: .fp8)
        #expect(approx(fp8.matrixPeak, 20))
        #expect(approx(fp8.seconds(Self.op(.gemm, flops: 1000, bytes: 40), share: 1, link: nil), 101))
    }

    @Test func shareHalvesThroughput() {
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        // share 0.5: compute = 1000 / (100 * 0.5 * 0.5) = 40 s; memory = 40 / (10 * 0.5) = 8 s; time = 41 s.
        let half = model.breakdown(Self.op(.gemm, flops: 1000, bytes: 40), share: 0.5, link: nil)
        #expect(approx(half.computeSeconds, 40))
        #expect(approx(half.memorySeconds, 8))
        #expect(approx(half.seconds, 41))
        // Overhead is not divided by the share: time - overhead doubles exactly.
        let full = model.breakdown(Self.op(.gemm, flops: 1000, bytes: 40), share: 1, link: nil)
        #expect(approx(half.seconds - half.overheadSeconds, 2 * (full.seconds - full.overheadSeconds)))
    }

    @Test(arguments: OpClass.allCases)
    func matrixOrVectorPeakByClass(opClass: OpClass) {
        // gemm and attention run at the matrix peak (100), every other class at the vector peak (20):
        // compute = 1000 / (peak * 0.5) = 20 s or 100 s.
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        let b = model.breakdown(Self.op(opClass, flops: 1000, bytes: 0), share: 1, link: nil)
        let matrix = opClass == .gemm || opClass == .attention
        #expect(opClass.usesMatrixUnits == matrix)
        #expect(approx(b.peakFlopsPerSecond, matrix ? 100 : 20))
        #expect(approx(b.computeSeconds, matrix ? 20 : 100))
        #expect(approx(b.seconds, 1 + (matrix ? 20 : 100)))
    }

    @Test func memoryBoundLabel() {
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        // elementwise (vector): compute = 10 / (20 * 0.5) = 1 s; memory = 400 / 10 = 40 s; time = 1 + 40 = 41 s.
        let b = model.breakdown(Self.op(.elementwise, flops: 10, bytes: 400), share: 1, link: nil)
        #expect(approx(b.computeSeconds, 1))
        #expect(approx(b.memorySeconds, 40))
        #expect(approx(b.seconds, 41))
        #expect(b.bound == "memory")
        // The same op with 1000 FLOPs: compute = 100 s > 40 s: compute-bound, time 101 s.
        let c = model.breakdown(Self.op(.elementwise, flops: 1000, bytes: 400), share: 1, link: nil)
        #expect(c.bound == "compute")
        #expect(approx(c.seconds, 101))
    }

    @Test func saturatingEfficiencyCurves() {
        // peak 0.5, half size 1000 FLOPs: at F = 1000 efficiency = 0.5 * 1000/2000 = 0.25,
        // compute = 1000 / (100 * 0.25) = 40 s. Memory 0.8, half size 40 bytes: at B = 40 efficiency = 0.4,
        // memory = 40 / (10 * 0.4) = 10 s. Time = 1 + 40 = 41 s.
        let curve = EfficiencyCurve(peak: 0.5, halfSizeFlops: 1000, memory: 0.8, halfSizeBytes: 40)
        #expect(approx(curve.computeEfficiency(flops: 1000), 0.25))
        #expect(approx(curve.computeEfficiency(flops: 3000), 0.375))   // 0.5 * 3000/4000
        #expect(approx(curve.memoryEfficiency(bytes: 40), 0.4))
        let model = CostModel(profile: Self.profile(curve: curve), dtype: .fp32)
        let b = model.breakdown(Self.op(.gemm, flops: 1000, bytes: 40), share: 1, link: nil)
        #expect(approx(b.computeEfficiency, 0.25))
        #expect(approx(b.memoryEfficiency, 0.4))
        #expect(approx(b.computeSeconds, 40))
        #expect(approx(b.memorySeconds, 10))
        #expect(approx(b.seconds, 41))
    }

    @Test func transferOverLink() {
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        // latency * peers + bytes / bandwidth = 0.1 * 3 + 100 / 50 = 0.3 + 2 = 2.3 s (an all-to-all over 4 devices:
        // 3 peers; switched link); no launch overhead.
        let transfer = Self.op(.gatherScatter, flops: 0, bytes: 100, kind: .transfer(bytes: 100, pattern: .allToAll(devices: 4)))
        let b = model.breakdown(transfer, share: 1, link: Self.wire)
        #expect(approx(b.seconds, 2.3))
        #expect(approx(b.overheadSeconds, 0.3))
        #expect(approx(b.memorySeconds, 2))
        #expect(b.bound == "link")
        // The share does not apply to a link.
        #expect(approx(model.seconds(transfer, share: 0.25, link: Self.wire), 2.3))
        // No link: a copy through device memory, 100 / 10 = 10 s.
        #expect(approx(model.seconds(transfer, share: 1, link: nil), 10))
    }

    /// A fully connected node (one link per peer) moves one peer's bytes at the per-peer bandwidth and an
    /// all-to-all at the device's aggregate; a switch gives any pattern the device's bandwidth.
    @Test func topologyShapesTransfers() {
        let mesh = Link(name: "mesh", bandwidthBytesPerSecond: 70, latencySeconds: 0, topology: .fullyConnected,
                        perPeerBandwidthBytesPerSecond: 10)
        let p2p = Self.op(.gatherScatter, flops: 0, bytes: 100, kind: .transfer(bytes: 100, pattern: .pointToPoint))
        let a2a = Self.op(.gatherScatter, flops: 0, bytes: 70, kind: .transfer(bytes: 70, pattern: .allToAll(devices: 8)))
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        // One peer: 100 B / 10 B/s = 10 s (not 100 / 70).
        #expect(approx(model.seconds(p2p, share: 1, link: mesh), 10))
        // All-to-all over 8 devices: 70 B spread over 7 links of 10 B/s = 1 s = 70 / 70.
        #expect(approx(model.seconds(a2a, share: 1, link: mesh), 1))
        // Switched at 70 B/s: one peer gets it all, 100 / 70 s.
        let switched = Link(name: "switch", bandwidthBytesPerSecond: 70, latencySeconds: 0)
        #expect(approx(model.seconds(p2p, share: 1, link: switched), 100.0 / 70))
    }

    /// Matrix FLOPs run at the dtype's matrix peak, the rest at the vector peak, both at the class's efficiency.
    @Test func matrixAndVectorParts() {
        let model = CostModel(profile: Self.profile(), dtype: .bf16)
        var op = Self.op(.scan, flops: 300, bytes: 0)
        op.matrixFlops = 200
        // 200 / (200 * 0.5) + 100 / (20 * 0.5) = 2 + 10 = 12 s, + 1 s launch.
        let b = model.breakdown(op, share: 1, link: nil)
        #expect(approx(b.matrixSeconds, 2))
        #expect(approx(b.computeSeconds, 12))
        #expect(approx(b.seconds, 13))
        // Launches: an op of 5 kernels pays 5 launches; graphs pay the graph launch overhead instead.
        op.launches = 5
        #expect(approx(model.seconds(op, share: 1, link: nil), 17))
        var profile = Self.profile()
        profile.graphLaunchOverheadSeconds = 0.2
        let graphs = CostModel(profile: profile, dtype: .bf16, graphs: true)
        #expect(approx(graphs.seconds(op, share: 1, link: nil), 13))
    }

    @Test func emptyOpCostsNothing() {
        // No FLOPs and no bytes: no launch either.
        let model = CostModel(profile: Self.profile(), dtype: .fp32)
        #expect(model.seconds(Self.op(.elementwise, flops: 0, bytes: 0), share: 1, link: nil) == 0)
        // Bytes only: 1 + 20 / 10 = 3 s.
        #expect(approx(model.seconds(Self.op(.gatherScatter, flops: 0, bytes: 20), share: 1, link: nil), 3))
    }

    static func gemm(m: Double, n: Double, k: Double, count: Double = 1) -> Op {
        op(.gemm, flops: 2 * m * n * k * count, bytes: 0, kind: .gemm(m: m, n: n, k: k, count: count))
    }

    /// Wave quantization on the toy device (2 compute units) with 2 x 2 output tiles.
    @Test func wavesOfTiles() {
        var profile = Self.profile(overhead: 0)
        profile.gemmTileRows = 2
        profile.gemmTileColumns = 2
        let model = CostModel(profile: profile, dtype: .fp32)
        // One tile of 2 x 2 x 2 x 3 FLOPs: one wave on two units, one of them idle; two tiles fill the wave.
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 2, n: 2, k: 3), share: 1) == 48)
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 4, n: 2, k: 3), share: 1) == 48)
        // A tile of one row: as long as its row takes.
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 1, n: 2, k: 3), share: 1) == 24)
        // Three tiles (the third half full) on two units: two waves of two full tiles of 2 x 2 x 2 x 3 FLOPs.
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 5, n: 2, k: 3), share: 1) == 96)
        // On one unit (half the device) the three tiles run in three waves.
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 5, n: 2, k: 3), share: 0.5) == 72)
        // Batched: 2 GEMMs of one tile each fill one wave; 3 need two.
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 2, n: 2, k: 3, count: 2), share: 1) == 48)
        #expect(model.occupiedMatrixFlops(Self.gemm(m: 2, n: 2, k: 3, count: 3), share: 1) == 96)
        // Time = occupied / (peak x efficiency): 96 / (100 x 0.5).
        #expect(approx(model.seconds(Self.gemm(m: 5, n: 2, k: 3), share: 1, link: nil), 96.0 / 50))
        // Without a tile: the op's own FLOPs.
        #expect(CostModel(profile: Self.profile(), dtype: .fp32).occupiedMatrixFlops(Self.gemm(m: 5, n: 2, k: 3), share: 1) == 60)
    }

    /// A GEMM never gets cheaper by growing, on every built-in GPU, across tile and wave boundaries.
    @Test(arguments: ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "amd-mi300x"])
    func gemmTimeNeverFallsAsItGrows(profileName: String) throws {
        let profile = try #require(try BuiltinProfiles.profile(named: profileName))
        #expect(profile.gemmTileRows != nil)
        let model = CostModel(profile: profile, dtype: .bf16)
        func t(_ m: Double, _ n: Double, _ k: Double, _ count: Double = 1) -> Double {
            var op = Self.gemm(m: m, n: n, k: k, count: count)
            op.bytes = 2 * (m * k + k * n + m * n) * count
            return model.seconds(op, share: 1, link: nil)
        }
        for (n, k) in [(4096.0, 4096.0), (14336, 4096), (1000, 300)] {
            var last = 0.0
            for m in stride(from: 1.0, through: 9000, by: 7) {
                let now = t(m, n, k)
                #expect(now >= last * (1 - 1e-12), "m \(m - 7) -> \(m), n \(n), k \(k): \(last) -> \(now)")
                last = now
            }
        }
        for m in [1.0, 64, 300, 4096] {
            var lastN = 0.0, lastK = 0.0, lastCount = 0.0
            for x in stride(from: 16.0, through: 20000, by: 61) {
                let byN = t(m, x, 4096), byK = t(m, 4096, x), byCount = t(m, 1024, 1024, x / 16)
                #expect(byN >= lastN * (1 - 1e-12), "n -> \(x) at m \(m)")
                #expect(byK >= lastK * (1 - 1e-12), "k -> \(x) at m \(m)")
                #expect(byCount >= lastCount * (1 - 1e-12), "count -> \(x / 16) at m \(m)")
                (lastN, lastK, lastCount) = (byN, byK, byCount)
            }
        }
    }
}
