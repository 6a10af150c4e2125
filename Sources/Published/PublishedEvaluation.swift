import Foundation
import SimEngines
import SimMath
import SimModel

/// Predicts published cases with a profile and compares: the GPU profiles' error bar.
public enum PublishedEvaluation {
    public struct Row: Sendable {
        public var name: String
        public var hardware: String
        public var set: PublishedCase.Set
        public var kind: String
        public var unit: String
        public var published: Double
        public var predicted: Double
        /// (predicted - published) / published.
        public var error: Double { published > 0 ? predicted / published - 1 : .nan }
        public var source: String
    }

    /// The case's figure as HybridSim predicts it on `profile`.
    public static func predict(_ c: PublishedCase, profile: HardwareProfile) -> Double {
        switch c.subject {
        case let .gemm(m, n, k, dtype):
            let op = Op.standalone(name: "gemm", kind: .gemm(m: m, n: n, k: k, count: 1), opClass: .gemm, role: .projection,
                                   elementBytes: dtype.bytes, share: 1, laneMask: 1)
            let seconds = CostModel(profile: profile, dtype: dtype).seconds(op, share: 1, link: nil)
            return 2 * m * n * k / seconds / 1e12
        case let .attention(batch, heads, kvHeads, seqLen, headDim, causal, dtype):
            let s = Double(seqLen)
            let kind = OpKind.attention(batch: Double(batch), heads: heads, kvHeads: kvHeads, queries: s, keys: s, headDim: headDim,
                                        causal: causal, window: nil)
            let op = Op.standalone(name: "attention", kind: kind, opClass: .attention, role: .attention, elementBytes: dtype.bytes,
                                   share: 1, laneMask: 1)
            let seconds = CostModel(profile: profile, dtype: dtype).seconds(op, share: 1, link: nil)
            // FlashAttention's count: 4 B H S^2 d, halved when causal (arXiv 2307.08691 §4.1).
            let flops = 4 * Double(batch) * Double(heads) * s * s * Double(headDim) / (causal ? 2 : 1)
            return flops / seconds / 1e12
        case let .ssd(batch, seqLen, heads, headDim, dState, groups, chunk, dtype):
            let kind = OpKind.ssd(batch: Double(batch), length: Double(seqLen), heads: heads, headDim: headDim, dState: dState,
                                  groups: groups, chunk: chunk, decodeState: false)
            let op = Op.standalone(name: "ssd", kind: kind, opClass: .scan, role: .ssd, elementBytes: dtype.bytes, share: 1, laneMask: 1)
            let seconds = CostModel(profile: profile, dtype: dtype).seconds(op, share: 1, link: nil)
            return Double(batch * seqLen) / seconds
        case let .generation(model, batch, input, output, metric):
            var scenario = model
            scenario.hardware = profile
            let prefill = latency(scenario, phase: .prefill, batch: batch, seqLen: input)
            if metric == .firstTokenSeconds { return prefill }
            let decode = decodeSeconds(scenario, batch: batch, input: input, steps: output - 1)
            let total = prefill + decode
            return metric == .endToEndSeconds ? total : Double(batch * output) / total
        }
    }

    static func latency(_ scenario: Scenario, phase: Workload.Phase, batch: Int, seqLen: Int) -> Double {
        var s = scenario
        s.workload.phase = phase
        s.workload.batch = batch
        s.workload.seqLen = max(1, seqLen)
        return AnalyticEngine(options: .init(layerRows: false, spans: false)).run(s).latencySeconds
    }

    /// Σ_{i=0}^{steps-1} decode latency with input + i tokens cached: exactly for up to 32 steps; beyond, the
    /// midpoint-rule integral ∫_{-1/2}^{steps-1/2} f, by Simpson's rule on 16 panels (the latency grows
    /// smoothly, nearly linearly, with the cached context).
    static func decodeSeconds(_ scenario: Scenario, batch: Int, input: Int, steps: Int) -> Double {
        guard steps > 0 else { return 0 }
        func f(_ i: Double) -> Double {
            latency(scenario, phase: .decode, batch: batch, seqLen: input + Int(max(0, i).rounded()))
        }
        if steps <= 32 { return (0..<steps).reduce(0.0) { $0 + f(Double($1)) } }
        let a = -0.5, b = Double(steps) - 0.5, panels = 16
        let h = (b - a) / Double(panels)
        var sum = f(a) + f(b)
        for j in 1..<panels { sum += f(a + Double(j) * h) * (j % 2 == 1 ? 4 : 2) }
        return sum * h / 3
    }

    /// Every case's row, predicted on its own profile (or `profiles[case hardware name]` when given).
    public static func rows(_ cases: [PublishedCase], profiles: [String: HardwareProfile] = [:]) -> [Row] {
        cases.map { c in
            let profile = profiles[c.hardware.name] ?? c.hardware
            let kind: String
            switch c.subject {
            case .gemm: kind = "gemm"
            case .attention: kind = "attention"
            case .ssd: kind = "ssd"
            case let .generation(_, _, _, _, metric): kind = metric.rawValue
            }
            return Row(name: c.name, hardware: c.hardware.name, set: c.set, kind: kind, unit: c.unit, published: c.value,
                       predicted: predict(c, profile: profile), source: c.source)
        }
    }

    /// Median and 90th percentile (nearest rank) of |errors|.
    public static func medianAndP90(_ errors: [Double]) -> (median: Double, p90: Double) {
        let finite = errors.map(abs).filter { $0.isFinite }
        guard !finite.isEmpty else { return (.nan, .nan) }
        let d = Report.Distribution(finite)
        return (d.p50, d.p90)
    }

    /// Loads every case file in a folder (sorted by name).
    public static func loadCases(directory: String) throws -> [PublishedCase] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let cases = files.filter { $0.hasSuffix(".yaml") }.sorted()
        guard !cases.isEmpty else {
            throw InputError(file: directory, keyPath: "", problem: "no case files (*.yaml) in this folder", allowed: "a folder like scenarios/published")
        }
        var out: [PublishedCase] = []
        var errors: [InputError] = []
        for name in cases {
            do { out.append(try PublishedCase.load(path: (directory as NSString).appendingPathComponent(name))) } catch let e as InputError {
                errors.append(e)
            }
        }
        if let first = errors.first { throw first }
        return out
    }

    /// published.csv: one row per case with its source.
    public static func csv(_ rows: [Row]) -> String {
        func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var lines = ["case,hardware,set,kind,unit,published,predicted,error,source"]
        for r in rows {
            lines.append([r.name, r.hardware, r.set.rawValue, r.kind, r.unit, "\(r.published)", "\(r.predicted)", "\(r.error)", quote(r.source)]
                .joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
