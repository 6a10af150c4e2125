import Kernels
import Testing

@Suite struct TimingTests {
    @Test func clockIsMonotonicAndFine() {
        var previous = Timing.now()
        for _ in 0..<1000 {
            let now = Timing.now()
            #expect(now >= previous)
            previous = now
        }
        let resolution = Timing.resolutionNanoseconds()
        #expect(resolution > 0 && resolution < 10_000)
    }
}

@Suite(.serialized) struct ThreadPinningTests {
    @Test func pinsToAnExistingCoreAndRefusesOthers() {
        #expect(ThreadPinning.coreCount >= 1)
        #expect(ThreadPinning.pin(toCore: -1) == false)
        #expect(ThreadPinning.pin(toCore: ThreadPinning.coreCount) == false)
        #expect(ThreadPinning.pin(toCore: 100_000) == false)
        let last = ThreadPinning.coreCount - 1
        if ThreadPinning.pin(toCore: last) {
            #expect(ThreadPinning.currentCore == last)
        }
        #expect(ThreadPinning.unpin())
    }
}

@Suite struct MicrobenchmarkTests {
    @Test func fmaPeakAndTriadReturnPlausibleRates() {
        let flops = Microbenchmarks.fmaPeakFlopsPerSecond(seconds: 0.02)
        // Tests run unoptimised, and under AddressSanitizer several times slower again: the lower bound allows it.
        #expect(flops > 1e6 && flops < 1e13)
        let bytes = Microbenchmarks.triadBytesPerSecond(megabytes: 1, seconds: 0.02)
        #expect(bytes > 1e8 && bytes < 1e13)
    }
}

@Suite struct WorkspaceTests {
    @Test func buffersAreReusedGrownAlignedAndZeroed() {
        let workspace = Workspace()
        let first = workspace.floats("scores", count: 100)
        #expect(Int(bitPattern: first) % Workspace.alignmentBytes == 0)
        #expect((0..<100).allSatisfy { first[$0] == 0 })
        first[3] = 7
        #expect(workspace.floats("scores", count: 50) == first)  // enough room: same buffer
        #expect(workspace.floats("scores", count: 50)[3] == 7)
        let grown = workspace.floats("scores", count: 1000)
        #expect(grown[999] == 0)
        let other = workspace.indices("rows", count: 10)
        other[9] = 5
        #expect(workspace.indices("rows", count: 10)[9] == 5)
        #expect(workspace.bytes >= 1000 * 4 + 10 * 8)
    }

    @Test func largeBuffersSitOnHugePageBoundaries() {
        let workspace = Workspace()
        let large = workspace.floats("kv", count: 1 << 20)  // 4 MiB
        #expect(Int(bitPattern: large) % Workspace.hugePageBytes == 0)
        #expect(large[(1 << 20) - 1] == 0)
        let plain = Workspace.allocate(Float.self, count: 1 << 20, hugePages: false)
        defer { plain.deallocate() }
        #expect(Int(bitPattern: plain) % Workspace.alignmentBytes == 0)
    }
}
