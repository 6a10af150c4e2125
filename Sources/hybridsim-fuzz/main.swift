import Foundation
import Fuzzing

// `hybridsim-fuzz --inputs N [--seed S] [--start I] [--out DIR]`: inputs I ..< I+N of the seeded campaign S
// (see Fuzzer). Prints one summary line. A trap (signal), a hang (one input over 10 s) or a run over 2 GB of
// resident memory saves the input to DIR/failure-<index>.txt and exits 70 / 71 / 72 so that scripts/fuzz.sh can
// record it and go on from the next input. A broken promise without a trap is saved the same way and counted.
setenv("OPENBLAS_NUM_THREADS", "1", 1)
var inputs = 1000, seed: UInt64 = 1, start = 0, out = "fuzz-findings"
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { FileHandle.standardError.write(Data("error: \(flag) needs a value\n".utf8)); exit(2) }
    switch flag {
    case "--inputs": inputs = max(0, Int(value) ?? -1)
    case "--seed": seed = UInt64(value) ?? 1
    case "--start": start = max(0, Int(value) ?? 0)
    case "--out": out = value
    default: FileHandle.standardError.write(Data("error: unknown flag \(flag); allowed: --inputs, --seed, --start, --out\n".utf8)); exit(2)
    }
}
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hybridsim-fuzz-\(getpid())").path
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
guard let fuzzer = try? Fuzzer(repository: repository, scratch: scratch) else {
    FileHandle.standardError.write(Data("error: no seeds under \(repository)/scenarios\n".utf8)); exit(2)
}
// The commands' own messages go to /dev/null; the summary to the saved stderr.
let report = dup(STDERR_FILENO)
let null = open("/dev/null", O_WRONLY)
dup2(null, STDOUT_FILENO)
dup2(null, STDERR_FILENO)
func say(_ text: String) { _ = text.withCString { write(report, $0, strlen($0)) } }

/// What the signal handler and the watchdog write: the current input, prepared before it runs.
enum Failure {
    static let capacity = 1 << 22
    nonisolated(unsafe) static let text = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    nonisolated(unsafe) static let path = UnsafeMutablePointer<CChar>.allocate(capacity: 4096)
    nonisolated(unsafe) static var length = 0
    nonisolated(unsafe) static var inputStarted = Date().timeIntervalSince1970
    nonisolated(unsafe) static var running = true

    static func prepare(_ index: Int, _ input: Fuzzer.Input, seed: UInt64, out: String) {
        let description = "index: \(index) (seed \(seed))\nkind: \(input.kind.rawValue)\norigin: \(input.origin)\n---\n\(input.text)\n"
        let bytes = Array(description.utf8.prefix(capacity))
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { UnsafeMutableRawPointer(text).copyMemory(from: $0, byteCount: bytes.count) }
        }
        length = bytes.count
        let file = Array(((out as NSString).appendingPathComponent("failure-\(seed)-\(index).txt")).utf8CString.prefix(4095)) + [0]
        file.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { UnsafeMutableRawPointer(path).copyMemory(from: $0, byteCount: file.count) }
        }
    }

    /// Saves the prepared input (async-signal-safe: open, write, close).
    static func save(_ reason: StaticString) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd >= 0 {
            _ = write(fd, reason.utf8Start, reason.utf8CodeUnitCount)
            _ = write(fd, text, length)
            close(fd)
        }
    }
}

for sig in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
    signal(sig) { _ in
        Failure.save("failure: a signal (trap or crash)\n")
        _exit(70)
    }
}
// The watchdog: an input over 10 s is a hang; resident memory over 2 GB is a failure.
let watchdog = Thread {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    while Failure.running {
        usleep(50_000)
        if Date().timeIntervalSince1970 - Failure.inputStarted > 10 { Failure.save("failure: a hang (over 10 s)\n"); _exit(71) }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
           let resident = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) }), resident * page > 2 << 30 {
            Failure.save("failure: over 2 GB resident\n")
            _exit(72)
        }
    }
}
watchdog.start()

var counts: [String: Int] = [:]
var failures = 0
let began = Date()
for index in start..<(start + inputs) {
    let input = fuzzer.input(index, seed: seed)
    Failure.prepare(index, input, seed: seed, out: out)
    Failure.inputStarted = Date().timeIntervalSince1970
    let verdict = fuzzer.check(input, index: index)
    switch verdict {
    case .refused: counts["refused", default: 0] += 1
    case .accepted: counts["accepted", default: 0] += 1
    case let .failure(reason):
        failures += 1
        let text = "failure: \(reason)\n" + String(decoding: UnsafeRawBufferPointer(start: Failure.text, count: Failure.length), as: UTF8.self)
        try? text.write(toFile: String(cString: Failure.path), atomically: true, encoding: .utf8)
    }
    counts[input.kind.rawValue, default: 0] += 1
}
Failure.running = false
let seconds = Date().timeIntervalSince(began)
var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
say(String(format: "fuzz seed %llu inputs %d..<%d: %d accepted, %d refused, %d failures (scenario %d, sweep %d, profile %d, cli %d) in %.1f s, %.0f inputs/s, peak resident %.0f MB\n",
           seed, start, start + inputs, counts["accepted"] ?? 0, counts["refused"] ?? 0, failures, counts["scenario"] ?? 0, counts["sweep"] ?? 0,
           counts["profile"] ?? 0, counts["cli"] ?? 0, seconds, Double(inputs) / max(seconds, 1e-9), Double(usage.ru_maxrss) / 1024))
try? FileManager.default.removeItem(atPath: scratch)
exit(failures > 0 ? 1 : 0)
