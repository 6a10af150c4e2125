import Testing
@testable import SimModel

/// The cost model's cache term, GEMM row term and sequential GEMM phases (issue 9), on CostModelTests' toy
/// device (memory 10 B/s, flat curves: compute efficiency 0.5, memory efficiency 1, launch 1 s).
@Suite struct CacheAndRowsTests {
    static func cached(_ cache: Double = 100, bandwidth: Double = 40) -> HardwareProfile {
        var p = CostModelTests.profile()
        p.cacheBytes = cache
        p.cacheBandwidthBytesPerSecond = bandwidth
        return p
    }

    static func gemm(m: Double, n: Double, k: Double, count: Double = 1) -> Op {
        Op.standalone(name: "g", kind: .gemm(m: m, n: n, k: k, count: count), opClass: .gemm, role: .projection, elementBytes: 4,
                      share: 1, laneMask: 1)
    }

    @Test func persistentBytesAreWeightsCachesAndDecodeStates() {
        #expect(OpFormulas.persistentBytes(of: .gemm(m: 3, n: 5, k: 7, count: 2), elementBytes: 2) == 2 * 7 * 5 * 2)
        // Decode attention reads 2 x B x (keys - queries) x Hkv x d cached values; prefill none.
        #expect(OpFormulas.persistentBytes(of: .attention(batch: 4, heads: 8, kvHeads: 2, queries: 1, keys: 101, headDim: 64,
                                                          causal: true, window: nil), elementBytes: 2) == 2 * 4 * 100 * 2 * 64 * 2)
        #expect(OpFormulas.persistentBytes(of: .attention(batch: 4, heads: 8, kvHeads: 2, queries: 64, keys: 64, headDim: 64,
                                                          causal: true, window: nil), elementBytes: 2) == 0)
        #expect(OpFormulas.persistentBytes(of: .selectiveScan(batch: 3, length: 1, dInner: 10, dState: 16, decodeState: true),
                                           elementBytes: 2) == 2 * 3 * 10 * 16 * 4)
        #expect(OpFormulas.persistentBytes(of: .selectiveScan(batch: 3, length: 9, dInner: 10, dState: 16, decodeState: false),
                                           elementBytes: 2) == 0)
        let op = Self.gemm(m: 2, n: 5, k: 7)
        #expect(op.persistentBytes == 5 * 7 * 4 && op.persistentBytes <= op.bytes)
    }

    @Test func hotAndColdBytes() {
        // GEMM 1 x 10 x 10, fp32: bytes (10 + 100 + 10) x 4 = 480, of them 400 weights.
        let op = Self.gemm(m: 1, n: 10, k: 10)
        let plain = CostModel(profile: CostModelTests.profile(), dtype: .fp32)
        #expect(approx(plain.breakdown(op, share: 1, link: nil).memorySeconds, 480.0 / 10))
        // A cache of 1000 B: the model's 500 B of weights fit, so the weights are hot, and so are the 80 B of activations.
        let resident = CostModel(profile: Self.cached(1000), dtype: .fp32, persistentFootprintBytes: 500)
        #expect(resident.persistentResident)
        #expect(approx(resident.breakdown(op, share: 1, link: nil).memorySeconds, 480.0 / 40))
        #expect(approx(resident.breakdown(op, share: 1, link: nil).hotBytes, 480))
        // A footprint larger than the cache: weights cold (memory), activations hot (cache).
        let streamed = CostModel(profile: Self.cached(1000), dtype: .fp32, persistentFootprintBytes: 5000)
        #expect(!streamed.persistentResident)
        #expect(approx(streamed.breakdown(op, share: 1, link: nil).memorySeconds, 400.0 / 10 + 80.0 / 40))
        // Activations larger than the cache are cold too.
        let small = CostModel(profile: Self.cached(50), dtype: .fp32, persistentFootprintBytes: 5000)
        #expect(approx(small.breakdown(op, share: 1, link: nil).memorySeconds, 480.0 / 10))
        // Half the device: half of both bandwidths.
        #expect(approx(streamed.breakdown(op, share: 0.5, link: nil).memorySeconds, 2 * (400.0 / 10 + 80.0 / 40)))
    }

    @Test func scenarioFootprintDecidesResidency() throws {
        let text = """
        schema_version: 1
        name: tiny
        hardware: generic-cpu
        workload: {phase: decode, batch: 1, seq_len: 16, dtype: fp32}
        model:
          d_model: 64
          vocab: 100
          include_embedding: false
          blocks:
            a: {mixer: {type: attention, heads: 2, kv_heads: 1, head_dim: 32}, mlp: {type: dense, ffn_dim: 128}}
          layers: {pattern: [a], repeat: 2}
        """
        var scenario = try ScenarioLoader.decode(text: text)
        let footprint = Lowering.persistentFootprint(scenario)
        // Two layers: attention (64 x 128 qkv... as memoryOf counts) and the MLP; KV cache of 17 positions.
        let lowering = Lowering(scenario: scenario)
        let layer = lowering.memoryOf(block: try #require(scenario.model.blocks["a"]), split: nil)
        #expect(approx(footprint, 2 * (layer.parameters * 4 + layer.kvCache + layer.ssmState)))
        #expect(!scenario.costModel.persistentResident, "no cache term on a profile without one")
        scenario.hardware.cacheBytes = footprint * 1.01
        scenario.hardware.cacheBandwidthBytesPerSecond = 1e12
        #expect(scenario.costModel.persistentResident)
        scenario.hardware.cacheBytes = footprint * 0.99
        #expect(!scenario.costModel.persistentResident)
    }

    @Test func gemmRowTermAndSequentialPhases() {
        #expect(CostModel.gemmRowsEfficiency(rows: 1, halfRows: 8) == 1)
        #expect(approx(CostModel.gemmRowsEfficiency(rows: 2, halfRows: 8), 0.2))
        #expect(approx(CostModel.gemmRowsEfficiency(rows: 1.2, halfRows: 8), 0.2), "rows are whole: 1.2 runs as 2")
        #expect(CostModel.gemmRowsEfficiency(rows: 4, halfRows: nil) == 1)
        var p = CostModelTests.profile()
        p.gemmHalfRows = 2
        // 2 x 10 x 10: 400 FLOP; compute 400 / (100 x 0.5 x 2/(2+2)) = 16 s; bytes (20 + 100 + 20) x 4 = 560 -> 56 s.
        let op = Self.gemm(m: 2, n: 10, k: 10)
        let overlapped = CostModel(profile: p, dtype: .fp32).breakdown(op, share: 1, link: nil)
        #expect(approx(overlapped.computeSeconds, 16))
        #expect(approx(overlapped.seconds, 1 + 56))
        p.gemmSequentialPhases = true
        let sequential = CostModel(profile: p, dtype: .fp32).breakdown(op, share: 1, link: nil)
        #expect(approx(sequential.seconds, 1 + 16 + 56))
        #expect(sequential.sequentialPhases)
        // One row is a matrix-vector product: no row term, phases overlap.
        let vector = CostModel(profile: p, dtype: .fp32).breakdown(Self.gemm(m: 1, n: 10, k: 10), share: 1, link: nil)
        #expect(approx(vector.computeSeconds, 200.0 / 50))
        #expect(approx(vector.seconds, 1 + max(4, 480.0 / 10)))
        #expect(!vector.sequentialPhases)
    }

    @Test func decodeStepsUseTheirOwnCurve() throws {
        let step = Op.standalone(name: "s", kind: .selectiveScan(batch: 4, length: 1, dInner: 8, dState: 16, decodeState: true),
                                 opClass: .scan, role: .selectiveScan, elementBytes: 4, share: 1, laneMask: 1)
        let prefill = Op.standalone(name: "s", kind: .selectiveScan(batch: 4, length: 9, dInner: 8, dState: 16, decodeState: false),
                                    opClass: .scan, role: .selectiveScan, elementBytes: 4, share: 1, laneMask: 1)
        #expect(CurveVariant.of(step.kind) == .scanDecode && CurveVariant.of(prefill.kind) == nil)
        #expect(CurveVariant.of(.ssd(batch: 2, length: 1, heads: 4, headDim: 8, dState: 16, groups: 1, chunk: 256, decodeState: true)) == .scanDecode)
        #expect(CurveVariant.of(.gemm(m: 1, n: 8, k: 8, count: 3)) == .gemv && CurveVariant.of(.gemm(m: 0.4, n: 8, k: 8, count: 3)) == .gemv)
        #expect(CurveVariant.of(.gemm(m: 1.2, n: 8, k: 8, count: 1)) == nil, "1.2 rows run as 2: a tiled GEMM")
        var p = CostModelTests.profile()
        let before = CostModel(profile: p, dtype: .fp32)
        p.variantCurves[.scanDecode] = EfficiencyCurve(peak: 0.25, halfSizeFlops: 0, memory: 0.5, halfSizeBytes: 0)
        let after = CostModel(profile: p, dtype: .fp32)
        // The decode step: compute at 0.25 instead of 0.5, memory at 0.5 instead of 1; the prefill scan unchanged.
        #expect(approx(after.breakdown(step, share: 1, link: nil).computeSeconds, 2 * before.breakdown(step, share: 1, link: nil).computeSeconds))
        #expect(approx(after.breakdown(step, share: 1, link: nil).memorySeconds, 2 * before.breakdown(step, share: 1, link: nil).memorySeconds))
        #expect(after.breakdown(prefill, share: 1, link: nil) == before.breakdown(prefill, share: 1, link: nil))
    }

    @Test func newKeysRoundTripThroughTheWriterAndLoader() throws {
        var p = Self.cached(32e6, bandwidth: 2e11)
        p.variantCurves[.scanDecode] = EfficiencyCurve(peak: 0.3, halfSizeFlops: 100, memory: 0.6, halfSizeBytes: 10)
        p.variantCurves[.gemv] = EfficiencyCurve(peak: 0.4, halfSizeFlops: 10, memory: 0.7, halfSizeBytes: 0)
        p.gemmHalfRows = 5.5
        p.gemmSequentialPhases = true
        var reloaded = try HardwareProfileLoader.decode(text: ProfileYAML.text(p), file: "p.yaml")
        reloaded.origin = p.origin
        #expect(reloaded == p)
        let written = ProfileYAML.text(p)
        #expect(written.contains("cache_bytes:") && written.contains("cache_bandwidth_bytes_per_s:"))
        #expect(written.contains("gemm_half_rows:") && written.contains("gemm_phases: \"sequential\"") && written.contains("  scan_decode: {") && written.contains("  gemv: {"))
        // Left out when unset: a profile without them writes none of them.
        let plain = ProfileYAML.text(CostModelTests.profile())
        #expect(!plain.contains("cache_bytes") && !plain.contains("gemm_half_rows") && !plain.contains("gemm_phases")
                && !plain.contains("scan_decode") && !plain.contains("gemv"))
    }

    /// Rates and capacities below 1 (FLOP/s, bytes/s, bytes) are refused: a subnormal one made durations overflow to
    /// infinity, and `run` then failed writing report.json (issue 10, reliability item 3).
    @Test(arguments: [
        ("peak_flops: {fp32: 1.0e11, bf16: 2.0e11}", "peak_flops: {fp32: 5.0e-324}", "peak_flops.fp32"),
        ("memory: {capacity_bytes: 1.0e9, bandwidth_bytes_per_s: 1.0e10}", "memory: {capacity_bytes: 1.0e9, bandwidth_bytes_per_s: 0.5}", "memory.bandwidth_bytes_per_s"),
        ("memory: {capacity_bytes: 1.0e9, bandwidth_bytes_per_s: 1.0e10}", "memory: {capacity_bytes: 1.0e-300, bandwidth_bytes_per_s: 1.0e10}", "memory.capacity_bytes"),
        ("links: [{name: pcie, bandwidth_bytes_per_s: 3.2e10, latency_s: 5.0e-6}]", "links: [{name: pcie, bandwidth_bytes_per_s: 1.0e-310}]", "bandwidth_bytes_per_s"),
    ])
    func ratesBelowOneAreRefused(_ c: (String, String, String)) throws {
        let good = HardwareProfileTests.profileYAML()
        #expect(throws: Never.self) { try HardwareProfileLoader.decode(text: good, file: "p.yaml") }
        let bad = good.replacingOccurrences(of: c.0, with: c.1)
        #expect(bad != good)
        do {
            _ = try HardwareProfileLoader.decode(text: bad, file: "p.yaml")
            Issue.record("\(c.2) below 1 was accepted")
        } catch let e as InputError {
            #expect(e.description.contains(c.2) && e.description.contains("from 1 to 1e30"), "\(e.description)")
        }
    }

    @Test func attentionShareBounds() throws {
        func scenario(_ share: String) -> String {
            """
            schema_version: 1
            name: s
            hardware: generic-cpu
            workload: {phase: prefill, batch: 1, seq_len: 16, dtype: fp32}
            model:
              d_model: 64
              blocks:
                h:
                  mixer: {type: hybrid, layout: parallel, placement: {type: separate_lanes, attention_share: \(share)},
                          attention: {heads: 2, head_dim: 32}, ssm: {variant: mamba1, d_state: 16}}
              layers: [h]
            """
        }
        #expect(throws: Never.self) { try ScenarioLoader.decode(text: scenario("0.001")) }
        #expect(throws: Never.self) { try ScenarioLoader.decode(text: scenario("0.999")) }
        for bad in ["1e-320", "0.0005", "0.9995", "0", "1"] {
            #expect(throws: InputError.self, "attention_share \(bad)") { try ScenarioLoader.decode(text: scenario(bad)) }
        }
    }
}
