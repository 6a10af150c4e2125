import Foundation
import Testing
import SimModel

let builtinProfileNames = ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "nvidia-h200", "amd-mi300x", "generic-cpu"]

@Suite("hybridsim check")
struct CheckTests {
    @Test("check good.yaml exits 0, says ok, writes nothing")
    func good() throws {
        let ws = try Workspace("check")
        try ws.write("good.yaml", Scenarios.small())
        let result = try ws.run(["check", "good.yaml"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("ok  good.yaml  (2 layers on nvidia-h100-sxm, prefill)"))
        #expect(result.stderr.isEmpty)
        #expect(ws.listing() == ["good.yaml"])
    }

    @Test("check on the mixed scenario and the shipped quickstart exits 0")
    func goodMixed() throws {
        let ws = try Workspace("check")
        try ws.write("mixed.yaml", Scenarios.mixed)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let result = try ws.run(["check", "mixed.yaml", repo.appendingPathComponent("scenarios/quickstart.yaml").path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 2)
    }

    @Test("check bad.yaml exits 2 naming the file and key")
    func bad() throws {
        let ws = try Workspace("check")
        try ws.write("bad.yaml", Scenarios.small(blocks: ["moe: {mixer: {type: none}, mlp: {type: moe, experts: 2, top_k: 3, expert_ffn_dim: 8}}"],
                                                 layers: "[moe]"))
        let result = try ws.run(["check", "bad.yaml"])
        #expect(result.exitedNormally)
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml") && result.stderr.contains("model.blocks.moe.mlp.top_k"))
        #expect(isOneParagraph(result.stderr))
    }

    @Test("check over good and bad files exits 2 and still reports the good one")
    func mixed() throws {
        let ws = try Workspace("check")
        try ws.write("good.yaml", Scenarios.small())
        try ws.write("bad.yaml", "schema_version: 1\nhardware: [\n")
        let result = try ws.run(["check", "good.yaml", "bad.yaml"])
        #expect(result.status == 2)
        #expect(result.stdout.contains("ok  good.yaml"))
        #expect(result.stderr.contains("bad.yaml") && !result.stderr.contains("good.yaml"))
    }

    @Test("check --profile on a profile saved from `profiles --show` exits 0",
          arguments: builtinProfileNames)
    func profileRoundTrip(_ name: String) throws {
        let ws = try Workspace("check")
        let shown = try ws.run(["profiles", "--show", name])
        #expect(shown.status == 0)
        try ws.write("\(name).yaml", shown.stdout)
        let result = try ws.run(["check", "--profile", "\(name).yaml"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("ok  \(name).yaml  (profile \(name))"))
    }

    @Test("a saved profile can be used by path from a scenario, with its sources in report.json")
    func profileByPath() throws {
        let ws = try Workspace("check")
        let shown = try ws.run(["profiles", "--show", "nvidia-h100-sxm"])
        try ws.write("hw/h100.yaml", shown.stdout)
        try ws.write("s.yaml", Scenarios.small(hardware: "hw/h100.yaml"))
        let result = try ws.run(["run", "s.yaml", "--out", "o", "--format", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: try ws.data("o/report.json")) as? [String: Any]
        let hardware = (object?["reports"] as? [[String: Any]])?.first?["hardware"] as? [String: Any]
        #expect(hardware?["name"] as? String == "nvidia-h100-sxm")
        #expect((hardware?["origin"] as? String)?.hasSuffix("hw/h100.yaml") == true)
        #expect((hardware?["sources"] as? [String: Any])?["peak_flops.bf16"] != nil)
    }

    @Test("check --profile on a schema_version 2 profile exits 2 naming schema_version")
    func profileV2() throws {
        let ws = try Workspace("check")
        try ws.write("future.yaml", Scenarios.profileV2)
        let result = try ws.run(["check", "--profile", "future.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("future.yaml") && result.stderr.contains("schema_version"))
    }

    @Test("check --profile on a scenario file exits 2 (its keys are not a profile's)")
    func profileFlagOnScenario() throws {
        let ws = try Workspace("check")
        try ws.write("s.yaml", Scenarios.small())
        let result = try ws.run(["check", "--profile", "s.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("s.yaml"))
    }

    @Test("check on a missing file exits 2")
    func missing() throws {
        let ws = try Workspace("check")
        let result = try ws.run(["check", "absent.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("absent.yaml") && result.stderr.contains("no such file"))
    }
}

@Suite("hybridsim profiles")
struct ProfilesTests {
    @Test("profiles lists all five built-in profiles, each with sources")
    func list() throws {
        let ws = try Workspace("profiles")
        let result = try ws.run(["profiles"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let headers = lines.enumerated().filter { !$0.element.hasPrefix(" ") && $0.element.contains(": ") }
        #expect(headers.map { String($0.element.prefix { $0 != ":" }) } == builtinProfileNames)
        for (i, header) in headers.enumerated() {
            let end = i + 1 < headers.count ? headers[i + 1].offset : lines.count
            let body = lines[(header.offset + 1)..<end]
            // Source lines are indented four spaces: "    key: text".
            let sources = body.filter { $0.hasPrefix("    ") && $0.contains(": ") }
            #expect(sources.count >= 3, "\(header.element): \(sources.count) source lines")
            #expect(sources.contains { $0.hasPrefix("    peak_flops.") }, "\(header.element) has no peak_flops source")
            #expect(sources.contains { $0.hasPrefix("    memory.bandwidth_bytes_per_s: ") })
        }
        #expect(result.stdout.contains("NVIDIA H100 datasheet"))
    }

    @Test("profiles --show NAME prints that profile's YAML", arguments: builtinProfileNames)
    func show(_ name: String) throws {
        let ws = try Workspace("profiles")
        let result = try ws.run(["profiles", "--show", name])
        #expect(result.status == 0)
        #expect(result.stdout.contains("schema_version: 1\nname: \"\(name)\"\n"))
        #expect(result.stdout.contains("sources:"))
        // What it prints loads back as the built-in profile.
        var loaded = try HardwareProfileLoader.decode(text: result.stdout, file: "shown.yaml")
        loaded.origin = "built-in"
        #expect(loaded == (try BuiltinProfiles.profile(named: name)))
    }

    @Test("profiles --show nope exits 2 listing the names")
    func showUnknown() throws {
        let ws = try Workspace("profiles")
        let result = try ws.run(["profiles", "--show", "nope"])
        #expect(result.exitedNormally)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(isOneParagraph(result.stderr))
        #expect(result.stderr.contains("nope") && result.stderr.contains("--show"))
        for name in builtinProfileNames { #expect(result.stderr.contains(name)) }
    }

    @Test("--help and --version exit 0")
    func helpAndVersion() throws {
        let ws = try Workspace("profiles")
        for arguments in [["--help"], ["run", "--help"], ["check", "--help"], ["profiles", "--help"], ["--version"], []] {
            let result = try ws.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(!result.stdout.isEmpty)
        }
    }
}
