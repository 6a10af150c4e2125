import Foundation
import Kernels
import SimMath
import SimModel

/// What the calibrator knows of the machine it ran on.
enum CalibrationHost {
    /// The largest cache the OS reports for CPU 0 (Linux sysfs `cache/index*/size`), bytes; nil when unreadable.
    static var lastLevelCacheBytes: Double? {
        var largest: Double? = nil
        for index in 0..<8 {
            let path = "/sys/devices/system/cpu/cpu0/cache/index\(index)/size"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let unit: Double = t.hasSuffix("K") ? 1024 : (t.hasSuffix("M") ? 1_048_576 : (t.hasSuffix("G") ? 1_073_741_824 : 1))
            guard let value = Double(t.trimmingCharacters(in: CharacterSet.decimalDigits.inverted)), value > 0 else { continue }
            largest = max(largest ?? 0, value * unit)
        }
        return largest
    }

    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let value = line.split(separator: ":", maxSplits: 1).last { return value.trimmingCharacters(in: .whitespaces) }
        }
        return "unknown CPU"
    }
}

/// Writes a calibrated profile as YAML in the schema `run` reads (``ProfileYAML``, from the one table of
/// profile keys), with its sources, provenance and the fit report.
enum ProfileWriter {
    static func yaml(_ profile: HardwareProfile, fits: [Calibrator.ClassFit], samples: [Calibrator.Sample], fmaOne: Double, fmaAll: Double,
                     bwOne: Double, bwAll: Double, overhead: Double, quick: Bool, seconds: Double, smoke: Bool = false) -> String {
        let date = ISO8601DateFormatter().string(from: Date())
        let number = ProfileYAML.number, quoted = ProfileYAML.quoted
        var p = profile
        p.kind = .cpu
        p.devicesPerNode = 1
        let peak = p.peakFlops[.fp32] ?? 0
        p.peakFlops = [.fp32: peak, .bf16: peak, .fp16: peak]
        let how = "measured by hybridsim calibrate on \(date)"
        p.sources = [
            "peak_flops.fp32": "\(how): 12 independent 8-wide FMA chains on each of the \(p.computeUnits) cores at once",
            "peak_flops.bf16": "bf16 is computed in fp32 on this CPU: the fp32 peak",
            "peak_flops.fp16": "fp16 is computed in fp32 on this CPU: the fp32 peak",
            "vector_flops": "same FMA units as peak_flops.fp32",
            "memory.capacity_bytes": "physical memory reported by the OS",
            "memory.bandwidth_bytes_per_s": "\(how): STREAM triad on every core at once",
            "launch_overhead_s": "\(how): time per op of a chain of 200 near-empty ops on one core through the real executor (dispatch, waking the next worker, the call)",
            "split_overhead_s": "\(how): the same chain split over every core, less the one-core time, per extra core (waking and joining the parts)",
            "memory.cache_bytes": "the largest cache the OS reports for CPU 0 (Linux sysfs cpu0/cache/index*/size)",
            "memory.cache_bandwidth_bytes_per_s": "\(how): STREAM triad on every core at once, its arrays in a quarter of the cache",
            "efficiency": "fitted by GSL nonlinear least squares (gsl_multifit_nlinear trust region) per op class; see fit:",
        ]
        p.provenance = [
            "written_by": "hybridsim calibrate\(smoke ? " --smoke (a pipeline check: this fit is not for predictions)" : (quick ? " --quick" : ""))",
            "date": date,
            "cpu_model": CalibrationHost.cpuModel,
            "cores": String(p.computeUnits),
            "blas": "OpenBLAS (cblas_sgemm), one thread per lane",
            "gsl": GSLInfo.version,
            "seconds": String(format: "%.1f", seconds),
        ]
        var fit: [String] = [
            "microbenchmarks: {fma_one_core_flops_per_s: \(number(fmaOne)), fma_all_cores_flops_per_s: \(number(fmaAll)), triad_one_core_bytes_per_s: \(number(bwOne)), triad_all_cores_bytes_per_s: \(number(bwAll))}",
            "model: \(quoted("t = overhead + max((F + half_size_flops) / (peak_flops x share x peak), (B_cold + half_size_bytes) / (bandwidth x share x memory) + B_hot / (cache_bandwidth x share x memory)), B_hot = persistent bytes when timed hot + other bytes when they fit in the cache, weights 1/t^2; overhead in the fit = the near-empty op timed alone, \(number(overhead)) s"))",
        ]
        for f in fits {
            let se = f.standardErrors.map(number)
            fit.append("\(f.label): {points: \(f.points), held_out: \(f.heldOutPoints), r_squared: \(number(f.rSquared)), held_out_median_rel_error: \(number(f.heldOutMedianError)), held_out_p90_rel_error: \(number(f.heldOutP90Error)), converged: \(f.converged), reason: \(quoted(f.reason)), standard_errors: {peak: \(se.count > 0 ? se[0] : ".nan"), half_size_flops: \(se.count > 1 ? se[1] : ".nan"), memory: \(se.count > 2 ? se[2] : ".nan"), half_size_bytes: \(se.count > 3 ? se[3] : ".nan")}, warnings: [\(f.warnings.map(quoted).joined(separator: ", "))]\(f.gemmHalfRows.map { ", gemm_half_rows: {value: \(number($0)), standard_error: \(number(f.gemmHalfRowsError ?? .nan))}, gemm_phases: \(f.gemmSequentialPhases ? "sequential" : "overlapped")" } ?? "")}")
        }
        let outliers = samples.reduce(0) { $0 + $1.outliers }
        fit.append("samples: {shapes: \(samples.count), repetitions: \(samples.reduce(0) { $0 + $1.repetitions }), outliers_beyond_3_mad: \(outliers)}")
        return ProfileYAML.text(p, header: ["Written by `hybridsim calibrate` on \(date): measured on this machine, fitted with GSL."], fit: fit)
    }
}
