/// Reusable, 64-byte aligned scratch buffers, looked up by name, so hot kernels never
/// allocate. A buffer grows (is reallocated, contents lost) when asked for more elements
/// than it holds; new memory is zero-filled, so its pages are already touched.
///
/// Not thread-safe: give each lane its own workspace.
public final class Workspace {
    private var floatBuffers: [String: (pointer: UnsafeMutablePointer<Float>, count: Int)] = [:]
    private var indexBuffers: [String: (pointer: UnsafeMutablePointer<Int>, count: Int)] = [:]

    /// Alignment of every buffer, in bytes (a cache line).
    public static let alignmentBytes = 64

    public init() {}

    deinit {
        for (_, buffer) in floatBuffers { buffer.pointer.deallocate() }
        for (_, buffer) in indexBuffers { buffer.pointer.deallocate() }
    }

    /// A Float buffer named `name` with room for at least `count` elements.
    /// - Complexity: O(1) when it already exists with enough room, else O(count).
    public func floats(_ name: String, count: Int) -> UnsafeMutablePointer<Float> {
        if let buffer = floatBuffers[name], buffer.count >= count { return buffer.pointer }
        floatBuffers[name]?.pointer.deallocate()
        let pointer = Self.allocate(Float.self, count: count)
        pointer.initialize(repeating: 0, count: max(1, count))
        floatBuffers[name] = (pointer, count)
        return pointer
    }

    /// An Int buffer named `name` with room for at least `count` elements.
    public func indices(_ name: String, count: Int) -> UnsafeMutablePointer<Int> {
        if let buffer = indexBuffers[name], buffer.count >= count { return buffer.pointer }
        indexBuffers[name]?.pointer.deallocate()
        let pointer = Self.allocate(Int.self, count: count)
        pointer.initialize(repeating: 0, count: max(1, count))
        indexBuffers[name] = (pointer, count)
        return pointer
    }

    /// Total bytes held.
    public var bytes: Int {
        floatBuffers.values.reduce(0) { $0 + $1.count * MemoryLayout<Float>.stride }
            + indexBuffers.values.reduce(0) { $0 + $1.count * MemoryLayout<Int>.stride }
    }

    private static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<T>.stride, alignment: alignmentBytes
        ).bindMemory(to: T.self, capacity: max(1, count))
    }
}
