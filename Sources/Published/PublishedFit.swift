import Foundation
import SimMath
import SimModel

/// Fits the GPU profiles' modelling defaults (efficiency curves and launch overhead, not datasheet
/// figures) to the `fit` half of the published cases with GSL's nonlinear least squares on
/// log(predicted / published); the `held_out` half is then the error bar.
public enum PublishedFit {
    /// One fitted parameter: what it sets, its bounds and where it starts.
    public struct Parameter: Sendable {
        public var name: String
        public var lower: Double
        public var upper: Double
        /// Applies the value to a profile (only the profiles `applies` accepts).
        let set: @Sendable (inout HardwareProfile, Double) -> Void
        let get: @Sendable (HardwareProfile) -> Double
        let applies: @Sendable (HardwareProfile) -> Bool
    }

    static func nvidia(_ p: HardwareProfile) -> Bool { p.kind == .gpu && p.name.hasPrefix("nvidia") }
    static func gpu(_ p: HardwareProfile) -> Bool { p.kind == .gpu }
    static func amd(_ p: HardwareProfile) -> Bool { p.kind == .gpu && p.name.hasPrefix("amd") }

    enum Field: Sendable { case peak, halfSizeFlops, memory, halfSizeBytes }

    static func curve(_ c: OpClass, _ field: Field) -> (@Sendable (inout HardwareProfile, Double) -> Void, @Sendable (HardwareProfile) -> Double) {
        let set: @Sendable (inout HardwareProfile, Double) -> Void = { p, v in
            var e = p.curve(c)
            switch field {
            case .peak: e.peak = v
            case .halfSizeFlops: e.halfSizeFlops = v
            case .memory: e.memory = v
            case .halfSizeBytes: e.halfSizeBytes = v
            }
            p.efficiency[c] = e
        }
        let get: @Sendable (HardwareProfile) -> Double = { p in
            let e = p.curve(c)
            switch field {
            case .peak: return e.peak
            case .halfSizeFlops: return e.halfSizeFlops
            case .memory: return e.memory
            case .halfSizeBytes: return e.halfSizeBytes
            }
        }
        return (set, get)
    }

    /// The parameters, in the order the built-in profiles list them.
    public static let parameters: [Parameter] = {
        var list: [Parameter] = []
        func add(_ name: String, _ lo: Double, _ hi: Double, _ c: OpClass, _ field: Field,
                 applies: @escaping @Sendable (HardwareProfile) -> Bool = gpu) {
            let (set, get) = curve(c, field)
            list.append(Parameter(name: name, lower: lo, upper: hi, set: set, get: get, applies: applies))
        }
        add("gemm.peak (NVIDIA)", 0.05, 1, .gemm, .peak, applies: nvidia)
        add("gemm.half_size_flops", 0, 1e12, .gemm, .halfSizeFlops)
        add("gemm.memory", 0.05, 1, .gemm, .memory)
        add("gemm.half_size_bytes", 0, 1e9, .gemm, .halfSizeBytes)
        add("attention.peak", 0.05, 1, .attention, .peak)
        add("attention.half_size_flops", 0, 1e12, .attention, .halfSizeFlops)
        list.append(Parameter(name: "attention_half_head_dim", lower: 0, upper: 1024,
                              set: { p, v in p.attentionHalfHeadDim = v }, get: { $0.attentionHalfHeadDim ?? 0 }, applies: gpu))
        list.append(Parameter(name: "attention_half_keys", lower: 0, upper: 65536,
                              set: { p, v in p.attentionHalfKeys = v }, get: { $0.attentionHalfKeys ?? 0 }, applies: gpu))
        list.append(Parameter(name: "launch_overhead_s (NVIDIA)", lower: 0, upper: 2e-5,
                              set: { p, v in p.launchOverheadSeconds = v }, get: { $0.launchOverheadSeconds }, applies: nvidia))
        add("gemm.peak (AMD)", 0.05, 1, .gemm, .peak, applies: amd)
        return list
    }()

    /// The profile with the parameter values applied (those that apply to it).
    public static func apply(_ values: [Double], to profile: HardwareProfile) -> HardwareProfile {
        var p = profile
        for (parameter, v) in zip(parameters, values) where parameter.applies(p) { parameter.set(&p, v) }
        return p
    }

    /// The values a profile set holds now (the first profile each parameter applies to).
    public static func current(_ profiles: [HardwareProfile]) -> [Double] {
        parameters.map { parameter in profiles.first(where: parameter.applies).map(parameter.get) ?? (parameter.lower + parameter.upper) / 2 }
    }

    public struct Result: Sendable {
        public var values: [Double]
        public var standardErrors: [Double]
        public var converged: Bool
        public var reason: String
        public var iterations: Int
    }

    /// Fits on the `fit` cases, starting from the values the cases' profiles hold.
    public static func fit(_ cases: [PublishedCase]) throws -> Result {
        let training = cases.filter { $0.set == .fit }
        let initial = current(training.map(\.hardware))
        let x = training.indices.map { [Double($0)] }
        let y = training.map { log($0.value) }
        let result = try NonlinearLeastSquares.fit(
            x: x, y: y, initial: initial.enumerated().map { i, v in min(max(v, parameters[i].lower), parameters[i].upper) },
            lowerBounds: parameters.map(\.lower), upperBounds: parameters.map(\.upper), maxIterations: 200, tolerance: 1e-8
        ) { row, values in
            let c = training[Int(row[0])]
            let value = PublishedEvaluation.predict(c, profile: apply(values, to: c.hardware))
            return value > 0 && value.isFinite ? log(value) : .nan
        }
        return Result(values: result.parameters, standardErrors: result.standardErrors, converged: result.converged,
                      reason: result.reason, iterations: result.iterations)
    }

    /// Σ log(predicted / published)² over the fit cases at `values` (the objective the fit minimises).
    public static func objective(_ cases: [PublishedCase], values: [Double]) -> Double {
        cases.filter { $0.set == .fit }.reduce(0.0) { sum, c in
            let r = log(PublishedEvaluation.predict(c, profile: apply(values, to: c.hardware)) / c.value)
            return sum + r * r
        }
    }
}
