import Foundation
import Testing
@testable import Published
import SimModel

/// The published cases load, name their sources, and the shipped GPU defaults are the fit's optimum.
@Suite struct PublishedTests {
    static var directory: String {
        // Tests run from the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("scenarios/published").path
    }

    static func cases() throws -> [PublishedCase] { try PublishedEvaluation.loadCases(directory: directory) }

    @Test func casesLoadWithSourcesAndHalves() throws {
        let cases = try Self.cases()
        let modelled = cases.filter { $0.set != .excluded }
        #expect(modelled.count >= 20)
        #expect(cases.contains { $0.set == .fit } && cases.contains { $0.set == .heldOut })
        for c in cases {
            #expect(c.source.count >= 20, "\(c.name)")
            #expect(c.set != .excluded || !c.reason.isEmpty, "\(c.name): excluded without a reason")
            let predicted = PublishedEvaluation.predict(c, profile: c.hardware)
            #expect(predicted.isFinite && predicted > 0, "\(c.name): \(predicted)")
        }
        // Every built-in GPU profile is checked by at least one case.
        for name in ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "nvidia-h200", "amd-mi300x"] {
            #expect(modelled.contains { $0.hardware.name == name }, "\(name) has no published case")
        }
    }

    @Test func generationMetricsFollowFromTheSteps() throws {
        // A case's throughput is batch x output / (prefill + (output - 1) decode steps), its end-to-end time that sum.
        let cases = try Self.cases()
        let c = try #require(cases.first { $0.name == "h200-llama31-8b-bf16-b8-32-128" })
        guard case let .generation(model, batch, input, output, _) = c.subject else { Issue.record("not a generation"); return }
        var scenario = model
        scenario.hardware = c.hardware
        let prefill = PublishedEvaluation.latency(scenario, phase: .prefill, batch: batch, seqLen: input)
        var decode = 0.0
        for i in 0..<(output - 1) { decode += PublishedEvaluation.latency(scenario, phase: .decode, batch: batch, seqLen: input + i) }
        let total = PublishedEvaluation.predict(c, profile: c.hardware)
        // Simpson over the 127 steps against the exact sum.
        #expect(abs(total / (prefill + decode) - 1) < 1e-3, "\(total) vs \(prefill + decode)")
    }

    /// The built-in profiles hold the fit's values: moving any fitted parameter 5% either way does not lower
    /// the objective (Σ log(predicted / published)² over the fit half) by more than 1% (some directions are flat:
    /// the GEMM memory efficiency and half size are barely determined by these cases).
    @Test func shippedDefaultsAreTheFitOptimum() throws {
        let cases = try Self.cases()
        let shipped = PublishedFit.current(cases.filter { $0.set == .fit }.map(\.hardware))
        let best = PublishedFit.objective(cases, values: shipped)
        for i in shipped.indices {
            for factor in [0.95, 1.05] {
                var moved = shipped
                moved[i] = min(PublishedFit.parameters[i].upper, max(PublishedFit.parameters[i].lower, shipped[i] * factor))
                guard moved[i] != shipped[i] else { continue }
                let value = PublishedFit.objective(cases, values: moved)
                #expect(value >= best * (1 - 1e-2), "\(PublishedFit.parameters[i].name) x \(factor): \(value) < \(best)")
            }
        }
        // And the fit half is close: the shipped defaults reproduce it to a 10% median error.
        let rows = PublishedEvaluation.rows(cases.filter { $0.set == .fit })
        #expect(PublishedEvaluation.medianAndP90(rows.map(\.error)).median < 0.10)
    }

    @Test func badCaseFilesAreRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("published-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("bad.yaml")
        try """
        schema_version: 1
        case: x
        set: fit
        hardware: nvidia-h100-sxm
        kernel: {op: gemm, m: 8, n: 8, k: 8}
        published: {value: 1, unit: tokens/s, source: "a source long enough to be found again"}
        """.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { _ = try PublishedCase.load(path: file.path) }
        try """
        schema_version: 1
        case: x
        set: excluded
        hardware: nvidia-h100-sxm
        kernel: {op: gemm, m: 8, n: 8, k: 8}
        published: {value: 1, unit: TFLOP/s, source: "a source long enough to be found again"}
        """.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { _ = try PublishedCase.load(path: file.path) }
        // SSD: groups must divide the heads; the unit is tokens/s.
        try """
        schema_version: 1
        case: x
        set: held_out
        hardware: nvidia-h100-sxm
        kernel: {op: ssd, batch: 1, seq_len: 4096, heads: 6, head_dim: 64, d_state: 128, groups: 4}
        published: {value: 1, unit: tokens/s, source: "a source long enough to be found again"}
        """.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { _ = try PublishedCase.load(path: file.path) }
    }

    /// An SSD case predicts batch x seq_len tokens over the SSD op's time on the profile.
    @Test func ssdCasePredictsTokensPerSecond() throws {
        let c = try #require(try Self.cases().first { if case .ssd = $0.subject { return true } else { return false } })
        guard case let .ssd(batch, seqLen, heads, headDim, dState, groups, chunk, dtype) = c.subject else { return }
        let op = Op.standalone(name: "ssd", kind: .ssd(batch: Double(batch), length: Double(seqLen), heads: heads, headDim: headDim,
                                                     dState: dState, groups: groups, chunk: chunk, decodeState: false),
                               opClass: .scan, role: .ssd, elementBytes: dtype.bytes, share: 1, laneMask: 1)
        #expect(op.launches == 5)
        let seconds = CostModel(profile: c.hardware, dtype: dtype).seconds(op, share: 1, link: nil)
        let predicted = PublishedEvaluation.predict(c, profile: c.hardware), expected = Double(batch * seqLen) / seconds
        #expect(abs(predicted - expected) <= 1e-12 * expected)
        #expect(c.unit == "tokens/s")
    }
}
