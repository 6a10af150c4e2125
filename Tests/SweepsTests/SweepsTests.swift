import Foundation
import Testing
@testable import Sweeps
import SimModel
import Exports
import TestSupport

func sweepFile(_ sweep: String, extraBlock: String = "") throws -> String {
    let text = TestScenario.splitHybridMoE(name: "sweep-test", extra: sweep)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweeps-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("s.yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func tempDir() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("sweep-out-\(UUID().uuidString)").path }

let gridSweep = """
sweep:
  axes:
    - {key: model.blocks.hyb.mixer.split, range: {from: 0.2, to: 0.8, count: 4}}
    - {key: workload.seq_len, range: {from: 256, to: 2048, count: 4, scale: log, integer: true}}
    - zip:
        - {key: workload.batch, values: [1, 2, 4]}
        - {key: model.blocks.hyb.mlp.top_k, values: [1, 2, 9]}
"""

@Suite("Sweep spec and points")
struct SweepSpecTests {
    @Test("grid: cartesian product over groups, zipped axes move together, last axis fastest")
    func grid() throws {
        let runner = try SweepRunner(file: try sweepFile(gridSweep), options: .init())
        let points = runner.spec.allPoints()
        #expect(points.count == 4 * 4 * 3)
        #expect(runner.spec.keys == ["model.blocks.hyb.mixer.split", "workload.seq_len", "workload.batch", "model.blocks.hyb.mlp.top_k"])
        #expect(points[0].values == ["0.2", "256", "1", "1"])
        #expect(points[1].values == ["0.2", "256", "2", "2"])
        #expect(points[3].values == ["0.2", "512", "1", "1"], "log range 256..2048 in 4 steps: 256, 512, 1024, 2048")
        #expect(Set(points.map(\.index)) == Set(0..<48))
    }

    @Test("latin hypercube: each axis's strata are all hit once; random and LHS are reproducible by seed")
    func sampling() throws {
        let sweep = """
        sweep:
          axes:
            - {key: model.blocks.hyb.mixer.split, range: {from: 0.0, to: 1.0}}
            - {key: workload.seq_len, range: {from: 256, to: 4096, scale: log, integer: true}}
          sample: {method: latin_hypercube, points: 20, seed: 5}
        """
        let runner = try SweepRunner(file: try sweepFile(sweep), options: .init())
        let a = runner.spec.allPoints(), b = runner.spec.allPoints()
        #expect(a == b)
        let strata = Set(a.compactMap { Double($0.values[0]) }.map { Int($0 * 20) })
        #expect(strata.count == 20, "one point in each of the 20 strata of the split")
    }

    @Test("bad sweep sections are InputErrors naming the key: zip lengths, duplicate keys, log through zero, points on a grid")
    func badSpecs() throws {
        let cases = [
            "sweep:\n  axes:\n    - zip:\n        - {key: workload.batch, values: [1, 2]}\n        - {key: workload.seq_len, values: [1]}",
            "sweep:\n  axes:\n    - {key: workload.batch, values: [1]}\n    - {key: workload.batch, values: [2]}",
            "sweep:\n  axes:\n    - {key: workload.batch, range: {from: 0, to: 4, scale: log}}",
            "sweep:\n  axes:\n    - {key: workload.batch, values: [1]}\n  sample: {method: grid, points: 3}",
            "sweep:\n  axes:\n    - {key: workload.batch, valuez: [1]}",
        ]
        for text in cases {
            #expect(throws: InputError.self, "\(text)") { _ = try SweepRunner(file: try sweepFile(text), options: .init()) }
        }
    }
}

@Suite("Sweep runs")
struct SweepRunTests {
    @Test("invalid points (top_k 9 > 8 experts) are reported in invalid.csv and skipped")
    func invalid() throws {
        let file = try sweepFile(gridSweep), out = tempDir()
        let summary = try SweepRunner(file: file, options: .init()).run(out: out)
        #expect(summary.invalid == 16, "the zip's third value (top_k 9) is invalid at every grid point")
        let invalid = try String(contentsOfFile: out + "/invalid.csv", encoding: .utf8)
        #expect(invalid.contains("top_k 9 is more than the 8 experts"))
        let rows = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 1 + 32)
    }

    @Test("identical output for any --jobs; shards merge into the single run's file; resume loses and repeats nothing")
    func determinism() throws {
        let file = try sweepFile(gridSweep)
        let one = tempDir(), two = tempDir()
        _ = try SweepRunner(file: file, options: .init(jobs: 1)).run(out: one)
        _ = try SweepRunner(file: file, options: .init(jobs: 3)).run(out: two)
        let reference = try Data(contentsOf: URL(fileURLWithPath: one + "/sweep.csv"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: two + "/sweep.csv")) == reference)
        let shards = (0..<3).map { _ in tempDir() }
        for (k, dir) in shards.enumerated() { _ = try SweepRunner(file: file, options: .init(shard: (k, 3))).run(out: dir) }
        let merged = tempDir()
        _ = try SweepRunner.merge(directories: shards, out: merged)
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged + "/sweep.csv")) == reference)
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged + "/invalid.csv")) == Data(contentsOf: URL(fileURLWithPath: one + "/invalid.csv")))
        // A run killed after its checkpoint at point 12, in the middle of writing a later row: the partial files
        // hold the rows of points 0..<12 and a torn row after them; sweep.progress records where point 12 begins.
        let partial = tempDir()
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        func prefix(_ path: String, before point: Int) throws -> String {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let kept = lines.dropFirst().prefix { line in Int(line.split(separator: ",").first ?? "") ?? Int.max < point }
            return ([lines[0]] + kept).joined(separator: "\n") + "\n"
        }
        let sweepPrefix = try prefix(one + "/sweep.csv", before: 12), invalidPrefix = try prefix(one + "/invalid.csv", before: 12)
        try (sweepPrefix + "12,0.2,torn").write(toFile: partial + "/sweep.csv.partial", atomically: true, encoding: .utf8)
        try invalidPrefix.write(toFile: partial + "/invalid.csv.partial", atomically: true, encoding: .utf8)
        let invalidRows = invalidPrefix.split(separator: "\n").count - 1
        try "position: 12\nsweep_bytes: \(sweepPrefix.utf8.count)\ninvalid_bytes: \(invalidPrefix.utf8.count)\ninvalid_rows: \(invalidRows)\n"
            .write(toFile: partial + "/" + SweepRunner.progressName, atomically: true, encoding: .utf8)
        // The killed run had written its provenance first, as every run does.
        try FileManager.default.copyItem(atPath: one + "/" + SweepRunner.provenanceName, toPath: partial + "/" + SweepRunner.provenanceName)
        let resumed = try SweepRunner(file: file, options: .init(jobs: 2, resume: true)).run(out: partial)
        #expect(resumed.resumed == 12 && resumed.evaluated == 36 && resumed.invalid == 16)
        #expect(try Data(contentsOf: URL(fileURLWithPath: partial + "/sweep.csv")) == reference)
        #expect(try Data(contentsOf: URL(fileURLWithPath: partial + "/invalid.csv")) == Data(contentsOf: URL(fileURLWithPath: one + "/invalid.csv")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: partial).sorted() == ["invalid.csv", "sweep.csv", SweepRunner.provenanceName])
        // Resuming a finished folder evaluates nothing.
        let again = try SweepRunner(file: file, options: .init(resume: true)).run(out: partial)
        #expect(again.evaluated == 0 && again.resumed == 48 && again.invalid == 16)
    }

    @Test("a 10,000,000-point grid streams: point(at:) from the index alone, equal to the listed points on a small grid")
    func streamedPoints() throws {
        let sweep = """
        sweep:
          axes:
            - {key: model.blocks.hyb.mixer.split, range: {from: 0.02, to: 0.98, count: 1000}}
            - {key: workload.seq_len, range: {from: 256, to: 16384, count: 100, scale: log, integer: true}}
            - {key: workload.batch, range: {from: 1, to: 100, count: 100, integer: true}}
        """
        let runner = try SweepRunner(file: try sweepFile(sweep), options: .init())
        #expect(runner.spec.pointCount == 10_000_000)
        let last = runner.spec.point(at: 9_999_999)
        #expect(last.values == ["0.98", "16384", "100"])
        #expect(runner.spec.point(at: 10_000).values == [SweepSpec.scalar(0.02 + (0.98 - 0.02) / 999), "256", "1"])
    }

    @Test("Latin hypercube from the index alone: every stratum of every group hit exactly once, at sizes that are not powers of two")
    func latinStrata() throws {
        for n in [1, 2, 3, 7, 100, 1000, 4097] {
            for key: UInt64 in [0, 5, 123_456_789] {
                let image = Set((0..<n).map { SweepSpec.permute(UInt64($0), count: UInt64(n), key: key) })
                #expect(image.count == n && (image.max() ?? 0) < UInt64(n), "n \(n), key \(key)")
            }
        }
    }

    @Test("resume refuses a sweep.csv with other columns")
    func resumeOtherColumns() throws {
        let file = try sweepFile(gridSweep), out = tempDir()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "point,x\n0,1\n".write(toFile: out + "/sweep.csv", atomically: true, encoding: .utf8)
        #expect(throws: SweepRunner.SweepError.self) { _ = try SweepRunner(file: file, options: .init(resume: true)).run(out: out) }
    }
}

@Suite("Optimizer")
struct OptimizerTests {
    @Test("the optimum beats or equals every grid point, Brent refines a continuous axis, constraints hold")
    func optimum() throws {
        let sweep = """
        sweep:
          axes:
            - {key: model.blocks.hyb.mixer.split, range: {from: 0.05, to: 0.95, count: 5}}
            - {key: workload.seq_len, values: [512, 2048]}
        """
        let runner = try SweepRunner(file: try sweepFile(sweep), options: .init())
        let outcome = try Optimizer(runner: runner).run(objective: .init(metric: "latency_s", maximize: false), constraints: [])
        let best = try #require(outcome.best)
        // Every grid point, evaluated on its own.
        let gridLatencies = runner.spec.allPoints().compactMap { point -> Double? in
            guard case let .success(fields) = runner.evaluate(point, root: runner.root),
                  let column = ReportExport.summaryColumns.firstIndex(of: "latency_s") else { return nil }
            return Double(fields[1 + point.values.count + column])
        }
        #expect(gridLatencies.count == 10)
        #expect((best.metrics["latency_s"] ?? .infinity) <= (gridLatencies.min() ?? 0))
        #expect(outcome.evaluations > 10, "Brent evaluated points between the grid values")
        let limit = try Optimizer.Constraint.parse("seq_len<=600", columns: Optimizer.metricColumns)
        let constrained = try Optimizer(runner: runner).run(objective: .init(metric: "tokens_per_s", maximize: true), constraints: [limit])
        #expect(constrained.best?.values[1] == "512")
        #expect(throws: Optimizer.OptimizeError.self) { _ = try Optimizer.Constraint.parse("nonsense<=1", columns: Optimizer.metricColumns) }
    }

    @Test("memory: a point over the capacity is infeasible unless allowed; memory_fits, == and did-you-mean in constraints; --per")
    func memoryAndPer() throws {
        // Batch 1 ... 4096 at 32k tokens: the largest batches do not fit one H100's 80 GB.
        let sweep = """
        sweep:
          axes:
            - {key: workload.batch, values: [1, 64, 1024, 4096]}
            - {key: workload.seq_len, values: [1024, 32768]}
        """
        let runner = try SweepRunner(file: try sweepFile(sweep), options: .init())
        // The most tokens per step: the largest batch at the longest context, which does not fit.
        let objective = Optimizer.Objective(metric: "tokens_per_step", maximize: true)
        let allowed = try Optimizer(runner: runner).run(objective: objective, constraints: [], requireMemoryFit: false)
        let strict = try Optimizer(runner: runner).run(objective: objective, constraints: [])
        let fitting = try Optimizer(runner: runner).run(objective: objective, constraints: [try .parse("memory_fits==true")], requireMemoryFit: false)
        #expect(allowed.best?.metrics["memory_fits"] == 0, "without the memory constraint the fastest point overflows")
        #expect(strict.best?.metrics["memory_fits"] == 1)
        #expect(fitting.best?.values == strict.best?.values)
        #expect(try Optimizer.Constraint.parse("batch==64").holds(["batch": 64]))
        #expect(try !Optimizer.Constraint.parse("batch==64").holds(["batch": 65]))
        let typo = try #require(throws: Optimizer.OptimizeError.self) { _ = try Optimizer.Constraint.parse("latncy_s<=1") }
        #expect(typo.description.contains("did you mean `latency_s`?"))
        // The best point for each sequence length: the per-axis answer the grid holds.
        let per = try Optimizer(runner: runner).run(objective: objective, constraints: [], per: "workload.seq_len")
        #expect(per.perValue.map(\.value) == ["1024", "32768"])
        for (value, best) in per.perValue {
            #expect(best.values[1] == value && best.metrics["memory_fits"] == 1)
            let others = runner.spec.allPoints().filter { $0.values[1] == value }.compactMap { point -> Double? in
                guard case let .success(r) = runner.evaluateReport(point, root: runner.root), r.memory.fits else { return nil }
                return r.tokensPerStep
            }
            #expect((best.metrics["tokens_per_step"] ?? 0) >= (others.max() ?? .infinity))
        }
        #expect(throws: Optimizer.OptimizeError.self) { _ = try Optimizer(runner: runner).run(objective: objective, constraints: [], per: "workload.seqlen") }
    }

    @Test("Pareto front: no point on it is dominated by any feasible point")
    func pareto() {
        func e(_ a: Double, _ b: Double) -> Optimizer.Evaluated { .init(values: ["\(a)"], metrics: ["x": a, "y": b], row: [], feasible: true) }
        let points = [e(1, 5), e(2, 3), e(3, 4), e(4, 1), e(2, 6), e(5, 1)]
        let front = Optimizer.paretoFront(points, x: .init(metric: "x", maximize: false), y: .init(metric: "y", maximize: false))
        #expect(front.map { $0.metrics["x"] ?? 0 } == [1, 2, 4])
        let maxFront = Optimizer.paretoFront(points, x: .init(metric: "x", maximize: true), y: .init(metric: "y", maximize: true))
        #expect(maxFront.map { $0.metrics["x"] ?? 0 } == [2, 3, 5])
        // Built one point at a time (as the optimizer does, never holding every point): the same front.
        for (x, y) in [(Optimizer.Objective(metric: "x", maximize: false), Optimizer.Objective(metric: "y", maximize: false)),
                       (Optimizer.Objective(metric: "x", maximize: true), Optimizer.Objective(metric: "y", maximize: true))] {
            var incremental: [Optimizer.Evaluated] = []
            for p in points { Optimizer.insert(p, into: &incremental, x: x, y: y) }
            #expect(Optimizer.paretoFront(incremental, x: x, y: y).map(\.values) == Optimizer.paretoFront(points, x: x, y: y).map(\.values))
        }
    }
}
