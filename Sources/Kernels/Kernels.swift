// The kernels module; see Kernels/*.swift.
