import Foundation
import Testing
@testable import Fuzzing

/// CI's short seeded slice of the fuzzing campaign (`make fuzz` runs the long one): every input refused with an
/// InputError or run to finite figures; a trap would end this process.
@Suite("Fuzzing: a seeded slice")
struct FuzzingTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("1,500 mutated scenarios, sweeps, profiles and command lines: no broken promise, every kind and both verdicts seen")
    func slice() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let fuzzer = try Fuzzer(repository: Self.repository, scratch: scratch)
        var kinds = Set<Fuzzer.Kind>(), accepted = 0, refused = 0
        for index in 0..<1500 {
            let input = fuzzer.input(index, seed: 2026)
            kinds.insert(input.kind)
            switch fuzzer.check(input, index: index) {
            case .accepted: accepted += 1
            case .refused: refused += 1
            case let .failure(reason): Issue.record("input \(index) (\(input.origin)): \(reason)")
            }
        }
        #expect(kinds == Set(Fuzzer.Kind.allCases))
        #expect(accepted > 100 && refused > 100, "accepted \(accepted), refused \(refused)")
    }

    @Test("the same index and seed give the same input")
    func reproducible() throws {
        let fuzzer = try Fuzzer(repository: Self.repository, scratch: FileManager.default.temporaryDirectory.path)
        for index in [0, 17, 123_456] {
            #expect(fuzzer.input(index, seed: 5).text == fuzzer.input(index, seed: 5).text)
        }
        #expect(fuzzer.input(1, seed: 5).text != fuzzer.input(2, seed: 5).text || fuzzer.input(1, seed: 5).origin != fuzzer.input(2, seed: 5).origin)
    }
}
