#if canImport(Glibc)
import Glibc
#endif

/// Pins the calling thread to one core, so a lane's measurements are not disturbed by
/// migrations (Linux: `pthread_setaffinity_np`).
public enum ThreadPinning {
    /// Online cores (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    public static var coreCount: Int {
        #if canImport(Glibc)
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }

    /// Restricts the calling thread to `core` (0-based). Returns false, without trapping, if
    /// the core does not exist or the system refused.
    @discardableResult
    public static func pin(toCore core: Int) -> Bool {
        guard core >= 0, core < coreCount else { return false }
        return setAffinity(cores: core..<(core + 1))
    }

    /// Lets the calling thread run on every online core again. Returns false if refused.
    @discardableResult
    public static func unpin() -> Bool {
        setAffinity(cores: 0..<coreCount)
    }

    /// The core the calling thread is running on now (`sched_getcpu`), or nil if unknown.
    public static var currentCore: Int? {
        #if canImport(Glibc)
        guard let getCPU = GNUFunctions.schedGetCPU else { return nil }
        let core = getCPU()
        return core >= 0 ? Int(core) : nil
        #else
        return nil
        #endif
    }

    private static func setAffinity(cores: Range<Int>) -> Bool {
        #if canImport(Glibc)
        var set = cpu_set_t()
        let bitsPerWord = UInt.bitWidth
        let capacity = MemoryLayout<cpu_set_t>.size * 8  // CPU_SETSIZE
        guard cores.upperBound <= capacity else { return false }
        // CPU_SET is a macro Swift cannot import: set the bits of the mask words directly.
        withUnsafeMutableBytes(of: &set) { raw in
            let words = raw.bindMemory(to: UInt.self)
            for core in cores {
                words[core / bitsPerWord] |= 1 << UInt(core % bitsPerWord)
            }
        }
        guard let setAffinity = GNUFunctions.pthreadSetAffinity else { return false }
        return setAffinity(pthread_self(), MemoryLayout<cpu_set_t>.size, &set) == 0
        #else
        return false
        #endif
    }
}

#if canImport(Glibc)
/// glibc's GNU extensions, which Swift's Glibc module hides (it is built without
/// _GNU_SOURCE): looked up once with dlsym in the already loaded C library.
private enum GNUFunctions {
    typealias SetAffinity = @convention(c) (pthread_t, Int, UnsafePointer<cpu_set_t>) -> Int32
    typealias GetCPU = @convention(c) () -> Int32

    static let pthreadSetAffinity: SetAffinity? = symbol("pthread_setaffinity_np", as: SetAffinity.self)
    static let schedGetCPU: GetCPU? = symbol("sched_getcpu", as: GetCPU.self)

    private static func symbol<F>(_ name: String, as type: F.Type) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
#endif
