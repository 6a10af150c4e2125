import Foundation
import Testing

/// Finds the built `hybridsim` executable: next to the running test binary first (so any
/// --scratch-path works), then in the repository's `.build*` folders (newest first).
enum HybridSimBinary {
    static let url: URL? = locate()

    static func isExecutableFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: url.path)
    }

    static func locate() -> URL? {
        let fm = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["HYBRIDSIM_BINARY"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        // 1. The products folder of the running test binary.
        var folders: [URL] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        if let exe = Bundle.main.executableURL { folders.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        if let first = CommandLine.arguments.first, first.contains("/") {
            folders.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        // macOS: the .xctest bundle sits in the products folder.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        folders.append(Bundle.main.bundleURL)
        folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for folder in folders {
            // Inside an .xctest bundle (macOS: Contents/MacOS), climb to the folder holding the bundle.
            var candidate = folder
            for _ in 0..<4 {
                let binary = candidate.appendingPathComponent("hybridsim")
                if isExecutableFile(binary) { return binary }
                if !candidate.path.contains(".xctest") { break }
                candidate = candidate.deletingLastPathComponent()
            }
        }
        // 2. <repo>/.build*/{debug,<triple>/debug,release}/hybridsim, the newest.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var found: [(URL, Date)] = []
        let scratch = (try? fm.contentsOfDirectory(atPath: repo.path))?.filter { $0.hasPrefix(".build") } ?? []
        for name in scratch {
            let base = repo.appendingPathComponent(name)
            var candidates = [base.appendingPathComponent("debug/hybridsim"), base.appendingPathComponent("release/hybridsim")]
            for sub in (try? fm.contentsOfDirectory(atPath: base.path)) ?? [] {
                candidates.append(base.appendingPathComponent(sub).appendingPathComponent("debug/hybridsim"))
            }
            for c in candidates where isExecutableFile(c) {
                let date = (try? fm.attributesOfItem(atPath: c.path)[.modificationDate] as? Date) ?? .distantPast
                found.append((c, date))
            }
        }
        return found.max { $0.1 < $1.1 }?.0
    }
}

/// What one run of the binary did.
struct RunResult {
    var status: Int32
    var reason: Process.TerminationReason
    var stdout: String
    var stderr: String

    /// Exited normally (no signal: no crash, no trap).
    var exitedNormally: Bool { reason == .exit }
}

/// A temporary working folder, removed when the test is done.
final class Workspace {
    let url: URL
    let fm = FileManager.default

    init(_ label: String = "cli") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("hybridsim-\(label)-\(UUID().uuidString)", isDirectory: true)
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? fm.removeItem(at: url) }

    var path: String { url.path }

    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

    /// Writes a file (folders created) and returns its absolute path.
    @discardableResult
    func write(_ relative: String, _ contents: String) throws -> String {
        let target = url.appendingPathComponent(relative)
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: target)
        return target.path
    }

    func exists(_ relative: String) -> Bool { fm.fileExists(atPath: path(relative)) }

    func data(_ relative: String) throws -> Data { try Data(contentsOf: url.appendingPathComponent(relative)) }

    func text(_ relative: String) throws -> String { String(decoding: try data(relative), as: UTF8.self) }

    /// Every entry below the workspace, relative, sorted.
    func listing() -> [String] {
        ((fm.enumerator(atPath: url.path)?.allObjects as? [String]) ?? []).sorted()
    }

    /// Runs `hybridsim` with this folder as the working directory.
    func run(_ arguments: [String]) throws -> RunResult {
        let binary = try #require(HybridSimBinary.url, "cannot find the built hybridsim executable (build with `swift build --build-tests`)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = url
        // Capture into files (not pipes): no deadlock however much is printed.
        let capture = fm.temporaryDirectory.appendingPathComponent("hybridsim-capture-\(UUID().uuidString)")
        try fm.createDirectory(at: capture, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: capture) }
        let outURL = capture.appendingPathComponent("stdout"), errURL = capture.appendingPathComponent("stderr")
        fm.createFile(atPath: outURL.path, contents: nil)
        fm.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return RunResult(status: process.terminationStatus, reason: process.terminationReason,
                         stdout: String(decoding: try Self.read(outURL), as: UTF8.self),
                         stderr: String(decoding: try Self.read(errURL), as: UTF8.self))
    }

    /// A file's bytes; an empty file is not read (Foundation leaks the buffer of an empty file's read, which
    /// LeakSanitizer reports under `make test-asan`).
    static func read(_ url: URL) throws -> Data {
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        return size == 0 ? Data() : try Data(contentsOf: url)
    }
}

/// Scenario and profile texts used across the suites.
enum Scenarios {
    static let attention = "attn: {mixer: {type: attention, heads: 4, kv_heads: 2, head_dim: 16}, mlp: {type: dense, ffn_dim: 128}}"

    /// A small valid scenario (attention + dense MLP, two layers).
    static func small(name: String? = "small", hardware: String = "nvidia-h100-sxm", workload: String? = nil,
                      blocks: [String]? = nil, layers: String = "[attn, attn]") -> String {
        var lines = ["schema_version: 1"]
        if let name { lines.append("name: \(name)") }
        lines.append("hardware: \(hardware)")
        lines.append("workload: \(workload ?? "{phase: prefill, batch: 2, seq_len: 128, dtype: bf16}")")
        lines.append("model:")
        lines.append("  d_model: 64")
        lines.append("  vocab: 1000")
        lines.append("  blocks:")
        for block in blocks ?? [attention] { lines.append("    \(block)") }
        lines.append("  layers: \(layers)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Several kinds of block (split hybrid on two lanes, SSM, MoE with skewed routing, FFF), so that
    /// any unordered iteration would show up as differing bytes between runs.
    static let mixed = """
    schema_version: 1
    name: mixed
    description: hybrid, ssm, moe and fff blocks
    seed: 7
    hardware: nvidia-h100-sxm
    workload: {phase: train, batch: 2, seq_len: 256, dtype: bf16}
    model:
      d_model: 128
      vocab: 2000
      blocks:
        hyb:
          mixer:
            type: hybrid
            layout: split
            split: 0.59
            placement: {type: separate_lanes, attention_share: 0.5}
            attention: {heads: 4, kv_heads: 2, head_dim: 32}
            ssm: {variant: mamba1, d_state: 16}
          mlp: {type: dense, ffn_dim: 256}
        bal:
          mixer:
            type: hybrid
            layout: split
            split: balanced
            placement: separate_lanes
            attention: {heads: 4, kv_heads: 4, head_dim: 32}
            ssm: {variant: mamba2, d_state: 64, head_dim: 32}
        ssm: {mixer: {type: ssm, d_state: 16}, mlp: {type: fff, depth: 3, leaf_width: 32}}
        moe: {mixer: {type: attention, heads: 4, kv_heads: 1, head_dim: 32}, mlp: {type: moe, experts: 8, top_k: 2, expert_ffn_dim: 128, capacity_factor: 1.25, routing: {type: zipf, exponent: 1.2}}}
        dir: {mixer: {type: none}, mlp: {type: moe, experts: 4, top_k: 1, expert_ffn_dim: 64, routing: {type: dirichlet, concentration: 0.5}}}
      layers: [hyb, bal, ssm, moe, dir, hyb, moe]
      dynamic_depth: {skip: [0, 0.1, 0.2, 0, 0.3, 0, 0.1], router_width: 3}

    """

    /// A valid hardware profile with schema_version 2 (written by a "newer" HybridSim).
    static let profileV2 = """
    schema_version: 2
    name: future-gpu
    compute_units: 100
    peak_flops: {bf16: 1.0e15}
    memory: {capacity_bytes: 1.0e11, bandwidth_bytes_per_s: 4.0e12}

    """
}

/// The columns `hybridsim run` writes to summary.csv (checked against the exporter in ExportsTests).
let summaryHeaderPrefix = "scenario,engine,hardware,phase,batch,seq_len"

/// stderr is one paragraph: non-empty, no blank line inside.
func isOneParagraph(_ text: String) -> Bool {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return !trimmed.isEmpty && !trimmed.contains("\n\n")
}
