import Foundation
import Testing
import TestSupport

/// Crash safety (issue 10): a sweep killed with SIGKILL at 24 seeded random moments, each time resumed with
/// --resume, ends with the same bytes as an uninterrupted run and nothing else in its folder.
@Suite("SIGKILL at random moments, then --resume")
struct KillResumeTests {
    static let scenario = TestScenario.splitHybridMoE(name: "kill-resume", batch: 1, seqLen: 256, extra: """
        sweep:
          axes:
            - {key: model.blocks.hyb.mixer.split, range: {from: 0.05, to: 0.95, count: 40}}
            - {key: workload.seq_len, range: {from: 64, to: 4096, count: 10, scale: log, integer: true}}
            - zip:
                - {key: workload.batch, values: [1, 2, 4, 8]}
                - {key: model.blocks.hyb.mlp.top_k, values: [1, 2, 9, 2]}
        """)

    @Test("24 kills (some inside checkpoints: one every 20 ms), each resumed: byte-identical sweep.csv and invalid.csv, no stray files")
    func killAndResume() throws {
        let ws = try Workspace("kill")
        let file = try ws.write("s.yaml", Self.scenario)
        let began = Date()
        let reference = try ws.run(["sweep", file, "--out", ws.path("ref"), "--jobs", "2"])
        let seconds = Date().timeIntervalSince(began)
        #expect(reference.status == 0, "\(reference.stderr.prefix(400))")
        let binary = try #require(HybridSimBinary.url)
        // Seeded delays from 0 to 1/15 of the uninterrupted run's time (some during start-up, most mid-run): 24 kills
        // cover about 80 % of the work. Checkpoints every 20 ms put many kills inside one.
        var state: UInt64 = 20_261_202
        var killed = 0
        for _ in 0..<24 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let delay = Double(state >> 40) / Double(1 << 24) * seconds / 15
            let process = Process()
            process.executableURL = binary
            process.arguments = ["sweep", file, "--out", ws.path("run"), "--jobs", "2", "--resume", "--checkpoint-seconds", "0.02"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
        }
        #expect(killed >= 20, "at least 20 of the runs were killed mid-way (\(killed))")
        let last = try ws.run(["sweep", file, "--out", ws.path("run"), "--jobs", "2", "--resume"])
        #expect(last.status == 0, "\(last.stderr.prefix(400))")
        #expect(try ws.data("run/sweep.csv") == ws.data("ref/sweep.csv"))
        #expect(try ws.data("run/invalid.csv") == ws.data("ref/invalid.csv"))
        let files = ws.listing().filter { $0.hasPrefix("run/") }
        #expect(files == ["run/invalid.csv", "run/sweep.csv", "run/sweep.provenance"])
    }
}
