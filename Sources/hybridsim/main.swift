import Foundation
import HybridSimCLI

// OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded, before main runs; its own worker pool
// would then compete with the real executor's pinned lane threads for the cores (a GEMM split over
// two lanes measured no faster than on one). So the process re-executes itself once with one
// OpenBLAS thread: each lane thread calls single-threaded OpenBLAS (measured on this project machine: two single-threaded sgemms on two cores run as fast as one alone).
if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    let arguments = CommandLine.arguments
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
    argv.append(nil)
    execv("/proc/self/exe", &argv)
    // Only reached if exec failed: go on with OpenBLAS as it is.
}
exit(HybridSimCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
