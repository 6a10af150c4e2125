#if canImport(Glibc)
import Glibc
#endif

/// Reusable, 64-byte aligned scratch buffers, looked up by name, so hot kernels never
/// allocate. A buffer grows (is reallocated, contents lost) when asked for more elements
/// than it holds; new memory is zero-filled, so its pages are already touched.
///
/// Buffers of 2 MiB or more are placed on 2 MiB boundaries and advised for transparent huge
/// pages unless `hugePages` is false (see `allocate(_:count:hugePages:)`).
///
/// Not thread-safe: give each lane its own workspace.
public final class Workspace {
    private var floatBuffers: [String: (pointer: UnsafeMutablePointer<Float>, count: Int)] = [:]
    private var indexBuffers: [String: (pointer: UnsafeMutablePointer<Int>, count: Int)] = [:]
    private let hugePages: Bool

    /// Alignment of every buffer, in bytes (a cache line).
    public static let alignmentBytes = 64

    /// Size and alignment of a transparent huge page on x86-64 Linux.
    public static let hugePageBytes = 2 << 20

    public init(hugePages: Bool = true) {
        self.hugePages = hugePages
    }

    deinit {
        for (_, buffer) in floatBuffers { buffer.pointer.deallocate() }
        for (_, buffer) in indexBuffers { buffer.pointer.deallocate() }
    }

    /// A Float buffer named `name` with room for at least `count` elements.
    /// - Complexity: O(1) when it already exists with enough room, else O(count).
    public func floats(_ name: String, count: Int) -> UnsafeMutablePointer<Float> {
        if let buffer = floatBuffers[name], buffer.count >= count { return buffer.pointer }
        floatBuffers[name]?.pointer.deallocate()
        let pointer = Self.allocate(Float.self, count: count, hugePages: hugePages)
        pointer.initialize(repeating: 0, count: max(1, count))
        floatBuffers[name] = (pointer, count)
        return pointer
    }

    /// An Int buffer named `name` with room for at least `count` elements.
    public func indices(_ name: String, count: Int) -> UnsafeMutablePointer<Int> {
        if let buffer = indexBuffers[name], buffer.count >= count { return buffer.pointer }
        indexBuffers[name]?.pointer.deallocate()
        let pointer = Self.allocate(Int.self, count: count, hugePages: hugePages)
        pointer.initialize(repeating: 0, count: max(1, count))
        indexBuffers[name] = (pointer, count)
        return pointer
    }

    /// Total bytes held.
    public var bytes: Int {
        floatBuffers.values.reduce(0) { $0 + $1.count * MemoryLayout<Float>.stride }
            + indexBuffers.values.reduce(0) { $0 + $1.count * MemoryLayout<Int>.stride }
    }

    /// Allocates uninitialised room for `count` elements, 64-byte aligned; free it with
    /// `deallocate()`. With `hugePages`, a buffer of 2 MiB or more is 2 MiB aligned and
    /// advised with madvise(MADV_HUGEPAGE): this machine's kernel backs only advised ranges
    /// with huge pages, and kernels that walk large arrays a row apart per step (the scan,
    /// decode attention) miss in the TLB on 4 KiB pages (`KernelBenchmark --huge-pages`
    /// shows the effect: a few percent here now that the scan copies whole rows).
    public static func allocate<T>(_ type: T.Type, count: Int, hugePages: Bool = true) -> UnsafeMutablePointer<T> {
        let bytes = max(1, count) * MemoryLayout<T>.stride
        let huge = hugePages && bytes >= hugePageBytes
        let rounded = huge ? (bytes + hugePageBytes - 1) / hugePageBytes * hugePageBytes : bytes
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: rounded, alignment: huge ? hugePageBytes : max(alignmentBytes, MemoryLayout<T>.alignment))
        #if canImport(Glibc)
        if huge { _ = madvise(raw, rounded, MADV_HUGEPAGE) }  // advisory: failure is harmless
        #endif
        return raw.bindMemory(to: T.self, capacity: max(1, count))
    }
}
