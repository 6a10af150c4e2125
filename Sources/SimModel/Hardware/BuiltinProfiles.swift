import Foundation

/// The profiles that ship with HybridSim, as YAML in the same schema a profile file uses,
/// each figure with its source under `sources:`.
///
/// Datasheet peaks are dense (the datasheets' "with sparsity" figures halved, as their footnotes
/// say). Efficiency curves and launch overheads are modelling assumptions, marked as such: the
/// calibrator replaces them with fitted values for a machine it can run on.
public enum BuiltinProfiles {
    public static let names: [String] = ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "nvidia-h200", "amd-mi300x", "generic-cpu"]

    /// Returns the built-in profile with this name, or nil when there is none.
    public static func profile(named name: String) throws -> HardwareProfile? {
        guard let text = yaml(named: name) else { return nil }
        var profile = try HardwareProfileLoader.decode(text: text, file: "built-in:\(name)")
        profile.origin = "built-in"
        return profile
    }

    /// The YAML text of a built-in profile.
    public static func yaml(named name: String) -> String? {
        switch name {
        case "nvidia-h100-sxm": return h100
        case "nvidia-a100-sxm-80gb": return a100
        case "nvidia-h200": return h200
        case "amd-mi300x": return mi300x
        case "generic-cpu": return genericCPU
        default: return nil
        }
    }

    /// GPU efficiency curves and launch overhead: modelling defaults, not datasheet figures. The GEMM and
    /// attention curves and NVIDIA's launch overhead are fitted to the fit half of scenarios/published (`hybridsim published --fit`, GSL nonlinear least squares on
    /// log(predicted / published)), AMD's GEMM peak to its MI300X cases; the rest are assumptions.
    static func gpuEfficiency(gemmPeak: Double) -> String {
        """
        efficiency:
          default: {peak: 0.5, half_size_flops: 6.7e7, memory: 0.8, half_size_bytes: 2.0e6}
          gemm: {peak: \(gemmPeak), half_size_flops: 1.496e3, memory: 1.0, half_size_bytes: 0}
          attention: {peak: 0.758, half_size_flops: 3.068e5, memory: 0.8, half_size_bytes: 4.0e6}
          scan: {peak: 0.4, half_size_flops: 5.4e7, memory: 0.7, half_size_bytes: 2.0e6}
          conv: {peak: 0.4, half_size_flops: 5.4e7, memory: 0.7, half_size_bytes: 2.0e6}
          elementwise: {peak: 0.5, half_size_flops: 6.7e7, memory: 0.85, half_size_bytes: 2.0e6}
          router: {peak: 0.4, half_size_flops: 5.4e7, memory: 0.7, half_size_bytes: 2.0e6}
          gather_scatter: {peak: 0.5, half_size_flops: 6.7e7, memory: 0.6, half_size_bytes: 2.0e6}
        """
    }
    static let nvidiaEfficiency = gpuEfficiency(gemmPeak: 0.8468)
    static let amdEfficiency = gpuEfficiency(gemmPeak: 0.5686)

    static let nvidiaTileSources = """
      gemm_tile_rows: "modelling assumption: cuBLAS/CUTLASS output tiles of 128 rows (CUTLASS's default Hopper tile 128 x 256 x 64, Ampere 128 x 128 x 32), for wave quantization over the SMs"
      gemm_tile_columns: "modelling assumption: as gemm_tile_rows (256 on Hopper, 128 on Ampere)"
    """

    static let gpuAssumptionSources = """
      launch_overhead_s: "fitted with the efficiency curves to the fit half of scenarios/published (hybridsim published --fit, 2026-12-02): a kernel launch plus the scheduling gap between kernels, as the published single-GPU figures see it"
      graph_launch_overhead_s: "modelling assumption: per-node cost of a CUDA graph replay, about 0.6-1 us (0.58 us per node plus 15 us per replay on an RTX 5070 Ti, github ahrefs/ocannl issue 488; 80 kernels from 260 us to 70 us with a graph, cuda.juliagpu.org usage/graphs)"
      efficiency: "saturating efficiency curves per op class (not datasheet figures): gemm (peak, half sizes, memory) and attention (peak, half_size_flops) fitted to the fit half of scenarios/published (hybridsim published --fit, 2026-12-02; 23 cases, held-out error in the README); the other values are assumptions"
      attention_half_head_dim: "fitted with the efficiency curves to the fit half of scenarios/published (hybridsim published --fit, 2026-12-02), on H100 FlashAttention-3 figures at head dims 64, 128 and 256; an assumption on other GPUs"
      attention_half_keys: "fitted with the efficiency curves to the fit half of scenarios/published (hybridsim published --fit, 2026-12-02), on H100 FlashAttention-3 figures from 512 to 16384 keys; an assumption on other GPUs"
    """

    static let h100 = """
    schema_version: 1
    name: nvidia-h100-sxm
    description: NVIDIA H100 SXM5 80 GB (Hopper)
    kind: gpu
    compute_units: 132
    devices_per_node: 8
    peak_flops: {fp32: 67.0e12, bf16: 989.4e12, fp16: 989.4e12, fp8: 1978.9e12}
    vector_flops: 67.0e12
    memory: {capacity_bytes: 85520809984, bandwidth_bytes_per_s: 3.35e12}
    launch_overhead_s: 7.375e-6
    graph_launch_overhead_s: 1.0e-6
    gemm_tile_rows: 128
    gemm_tile_columns: 256
    attention_half_head_dim: 29.21
    attention_half_keys: 184.8
    \(nvidiaEfficiency)
    links:
      - {name: nvlink4, bandwidth_bytes_per_s: 450.0e9, latency_s: 2.0e-6, topology: switch}
    sources:
      compute_units: "NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022): H100 SXM5 has 132 SMs"
      devices_per_node: "NVIDIA DGX H100 datasheet: 8x H100 SXM5 per system"
      peak_flops.fp32: "NVIDIA H100 Tensor Core GPU datasheet (2023), H100 SXM: FP32 67 teraFLOPS"
      peak_flops.bf16: "NVIDIA H100 datasheet, H100 SXM: BF16 Tensor Core 1,979 teraFLOPS with sparsity; dense = half"
      peak_flops.fp16: "NVIDIA H100 datasheet, H100 SXM: FP16 Tensor Core 1,979 teraFLOPS with sparsity; dense = half"
      peak_flops.fp8: "NVIDIA H100 datasheet, H100 SXM: FP8 Tensor Core 3,958 teraFLOPS with sparsity; dense = half"
      vector_flops: "NVIDIA H100 datasheet, H100 SXM: FP32 67 teraFLOPS (CUDA cores)"
      memory.capacity_bytes: "as the device reports it: nvidia-smi shows 81559MiB (= 85,520,809,984 B) on an H100 80GB HBM3 (github NVIDIA/nccl issue 1264, nvidia-smi output; the datasheet's 80 GB)"
      memory.bandwidth_bytes_per_s: "NVIDIA H100 datasheet, H100 SXM: GPU memory bandwidth 3.35 TB/s"
      links.nvlink4: "NVIDIA H100 datasheet: NVLink 900 GB/s (both directions); 450 GB/s each way, the line rate (github NVIDIA/nccl-tests issue 212, NVIDIA's reply: '450GB/s is the line rate'; NCCL reaches about 370 GB/s of it). NVSwitch: every pair at the full rate (NVIDIA Fabric Manager User Guide, Overview). Latency 2 us: P2P write latency of 1.8-2.3 us in p2pBandwidthLatencyTest (github NVIDIA/cuda-samples issue 230, GPU not named)"
    \(gpuAssumptionSources)
    \(nvidiaTileSources)
    """

    static let h200 = """
    schema_version: 1
    name: nvidia-h200
    description: NVIDIA H200 SXM 141 GB (Hopper, HBM3e)
    kind: gpu
    compute_units: 132
    devices_per_node: 8
    peak_flops: {fp32: 67.0e12, bf16: 989.4e12, fp16: 989.4e12, fp8: 1978.9e12}
    vector_flops: 67.0e12
    memory: {capacity_bytes: 150754820096, bandwidth_bytes_per_s: 4.8e12}
    launch_overhead_s: 7.375e-6
    graph_launch_overhead_s: 1.0e-6
    gemm_tile_rows: 128
    gemm_tile_columns: 256
    attention_half_head_dim: 29.21
    attention_half_keys: 184.8
    \(nvidiaEfficiency)
    links:
      - {name: nvlink4, bandwidth_bytes_per_s: 450.0e9, latency_s: 2.0e-6, topology: switch}
    sources:
      compute_units: "NVIDIA H200 is the GH100 die of the H100 SXM5 with 132 SMs (NVIDIA H200 product brief, 2024)"
      devices_per_node: "NVIDIA HGX H200: 8 GPUs per board"
      peak_flops.fp32: "NVIDIA H200 Tensor Core GPU datasheet (2024), H200 SXM: FP32 67 teraFLOPS"
      peak_flops.bf16: "NVIDIA H200 datasheet, H200 SXM: BF16 Tensor Core 1,979 teraFLOPS with sparsity; dense = half"
      peak_flops.fp16: "NVIDIA H200 datasheet, H200 SXM: FP16 Tensor Core 1,979 teraFLOPS with sparsity; dense = half"
      peak_flops.fp8: "NVIDIA H200 datasheet, H200 SXM: FP8 Tensor Core 3,958 teraFLOPS with sparsity; dense = half"
      vector_flops: "NVIDIA H200 datasheet, H200 SXM: FP32 67 teraFLOPS"
      memory.capacity_bytes: "as the device reports it: nvidia-smi shows 143771MiB (= 150,754,820,096 B) on an H200 (github NVIDIA/cuda-samples issue 311, nvidia-smi output; the datasheet's 141 GB)"
      memory.bandwidth_bytes_per_s: "NVIDIA H200 datasheet: GPU memory bandwidth 4.8 TB/s"
      links.nvlink4: "NVIDIA H200 datasheet: NVLink 900 GB/s (both directions), 18x 4th-gen NVLink (MLCommons inference_results_v4.1 closed/NVIDIA/systems/H200-SXM-141GBx8_TRT_MaxQ.json); 450 GB/s each way through NVSwitch. Latency as the H100's"
    \(gpuAssumptionSources)
    \(nvidiaTileSources)
    """

    static let a100 = """
    schema_version: 1
    name: nvidia-a100-sxm-80gb
    description: NVIDIA A100 SXM4 80 GB (Ampere)
    kind: gpu
    compute_units: 108
    devices_per_node: 8
    peak_flops: {fp32: 19.5e12, bf16: 312.0e12, fp16: 312.0e12}
    vector_flops: 19.5e12
    memory: {capacity_bytes: 85899345920, bandwidth_bytes_per_s: 2.039e12}
    launch_overhead_s: 7.375e-6
    graph_launch_overhead_s: 1.0e-6
    gemm_tile_rows: 128
    gemm_tile_columns: 128
    attention_half_head_dim: 29.21
    attention_half_keys: 184.8
    \(nvidiaEfficiency)
    links:
      - {name: nvlink3, bandwidth_bytes_per_s: 300.0e9, latency_s: 2.0e-6, topology: switch}
    sources:
      compute_units: "NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020): A100 has 108 SMs"
      devices_per_node: "NVIDIA DGX A100 datasheet: 8x A100 per system"
      peak_flops.fp32: "NVIDIA A100 Tensor Core GPU datasheet (2021): FP32 19.5 teraFLOPS"
      peak_flops.bf16: "NVIDIA A100 datasheet: BF16 Tensor Core 312 teraFLOPS (624 with sparsity)"
      peak_flops.fp16: "NVIDIA A100 datasheet: FP16 Tensor Core 312 teraFLOPS (624 with sparsity)"
      peak_flops.fp8: "not supported: Ampere tensor cores have no FP8 (the datasheet lists none)"
      vector_flops: "NVIDIA A100 datasheet: FP32 19.5 teraFLOPS"
      memory.capacity_bytes: "as the device reports it: nvidia-smi shows 81920MiB (= 85,899,345,920 B) on an A100 80GB with current drivers (github modal-labs/modal-client PR 2797, 'A100 80GB: 81920MiB'; R450 drivers showed 81252MiB, github keyu-tian/SparK issue 8)"
      memory.bandwidth_bytes_per_s: "NVIDIA A100 datasheet, A100 80GB SXM: GPU memory bandwidth 2,039 GB/s"
      links.nvlink3: "NVIDIA A100 datasheet: NVLink 600 GB/s (both directions); 12 links x 25 GB/s = 300 GB/s each way at line rate, about 230 GB/s effective (github NVIDIA/nccl-tests issue 149, NVIDIA's reply). NVSwitch in DGX/HGX A100. Latency as the H100's"
    \(gpuAssumptionSources)
    \(nvidiaTileSources)
    """

    static let mi300x = """
    schema_version: 1
    name: amd-mi300x
    description: AMD Instinct MI300X 192 GB (CDNA 3)
    kind: gpu
    compute_units: 304
    devices_per_node: 8
    peak_flops: {fp32: 163.4e12, bf16: 1307.4e12, fp16: 1307.4e12, fp8: 2614.9e12}
    vector_flops: 163.4e12
    memory: {capacity_bytes: 206141652992, bandwidth_bytes_per_s: 5.3e12}
    launch_overhead_s: 5.0e-6
    graph_launch_overhead_s: 2.0e-6
    gemm_tile_rows: 256
    gemm_tile_columns: 256
    attention_half_head_dim: 29.21
    attention_half_keys: 184.8
    \(amdEfficiency)
    links:
      - {name: infinity-fabric, bandwidth_bytes_per_s: 448.0e9, latency_s: 2.0e-6, topology: fully_connected, per_peer_bandwidth_bytes_per_s: 64.0e9}
    sources:
      compute_units: "AMD Instinct MI300X data sheet (2023): 304 GPU compute units"
      devices_per_node: "AMD Instinct MI300X Platform: 8 GPUs per platform"
      peak_flops.fp32: "AMD Instinct MI300X data sheet: peak FP32 matrix 163.4 TFLOPS (ROCm docs, AMD Instinct MI300 series microarchitecture, peak-performance table: Matrix FP32 163.4)"
      peak_flops.bf16: "AMD Instinct MI300X data sheet: peak BF16 1307.4 TFLOPS dense (2614.9 with sparsity)"
      peak_flops.fp16: "AMD Instinct MI300X data sheet: peak FP16 1307.4 TFLOPS dense (2614.9 with sparsity)"
      peak_flops.fp8: "AMD Instinct MI300X data sheet: peak FP8 2614.9 TFLOPS dense (5229.8 with sparsity)"
      vector_flops: "ROCm docs, AMD Instinct MI300 series microarchitecture (rocm.docs.amd.com conceptual/gpu-arch/mi300), peak-performance table: Vector FP32 163.4 TFLOPS (81.7 is Vector FP64)"
      memory.capacity_bytes: "as the device reports it: rocm-smi --showmeminfo vram shows 206141652992 B (192 GiB - 16 MiB) on a bare-metal MI300X (github ROCm/ROCm issue 4750, MI300X SPX mode; an SR-IOV VF reports 205822885888 B); the data sheet's 192 GB"
      memory.bandwidth_bytes_per_s: "AMD Instinct MI300X data sheet: peak memory bandwidth 5.3 TB/s"
      links.infinity-fabric: "ROCm docs, MI300 series microarchitecture, node-level architecture: seven Infinity Fabric links per GPU form a fully connected 8-GPU system (no switch); 128 GB/s per link both directions, 64 GB/s each way (AMD MI300X platform data sheet, as cited in github ROCm/rccl issue 1210; RCCL uses 48 GB/s after protocol overhead, same issue); 7 x 64 = 448 GB/s aggregate each way (896 both). Latency as the H100's (not published for MI300X)"
      launch_overhead_s: "modelling assumption: HIP kernel launch plus scheduling gap; replace by calibration"
      gemm_tile_rows: "modelling assumption: a 256 x 256 output tile per compute unit, the tile AMD's max-achievable-FLOPs recipe sizes GEMMs by (github ROCm/rocm-blogs, measuring-max-achievable-flops-part2: M, N = CU factorisation x tile size)"
      gemm_tile_columns: "as gemm_tile_rows"
      graph_launch_overhead_s: "modelling assumption: HIP graph replay cost per node; 3.9 us per node measured on RDNA3 (github ROCm/rocm-systems issue 10834), none published for MI300X"
      efficiency: "the NVIDIA profiles' fitted curves (hybridsim published --fit) with the GEMM peak fitted to the MI300X cases of scenarios/published (the hipBLASLt and mamf-finder GEMMs reach 51-54% of the datasheet peak at the sustained clock)"
      attention_half_head_dim: "the NVIDIA profiles' fitted value (H100 FlashAttention-3 figures); no MI300X attention figure was found to check it"
      attention_half_keys: "the NVIDIA profiles' fitted value (H100 FlashAttention-3 figures); no MI300X attention figure was found to check it"
    """

    static let genericCPU = """
    schema_version: 1
    name: generic-cpu
    description: Generic 2-core AVX2+FMA x86-64 CPU (the project's build machine kind), fp32 arithmetic for every dtype
    kind: cpu
    compute_units: 2
    devices_per_node: 1
    peak_flops: {fp32: 192.0e9, bf16: 192.0e9, fp16: 192.0e9}
    vector_flops: 192.0e9
    memory: {capacity_bytes: 25.77e9, bandwidth_bytes_per_s: 20.0e9}
    launch_overhead_s: 1.0e-6
    efficiency:
      default: {peak: 0.5, half_size_flops: 2.0e5, memory: 0.8, half_size_bytes: 6.4e4}
      gemm: {peak: 0.78, half_size_flops: 3.0e5, memory: 0.8, half_size_bytes: 6.4e4}
      attention: {peak: 0.6, half_size_flops: 2.3e5, memory: 0.8, half_size_bytes: 6.4e4}
      scan: {peak: 0.1, half_size_flops: 4.0e4, memory: 0.5, half_size_bytes: 6.4e4}
    sources:
      compute_units: "the project machine kind: 2 cores of an AMD EPYC under KVM (Zen 3 with AVX2 + FMA, or Zen 4 with AVX-512): lscpu"
      peak_flops.fp32: "measured on the project machine kind (README, Real kernels, calibration and validation): fp32 FMA peak about 96 GFLOP/s per core (12 independent 8-wide FMA chains), 2 cores"
      peak_flops.bf16: "no native bf16 on this CPU: bf16 is computed in fp32, at the fp32 peak"
      peak_flops.fp16: "no native fp16 arithmetic on this CPU: fp16 is computed in fp32, at the fp32 peak"
      vector_flops: "same FMA units as peak_flops.fp32"
      memory.capacity_bytes: "measured on the project machine kind (README, Real kernels, calibration and validation): 24 GiB RAM"
      memory.bandwidth_bytes_per_s: "measured on the project machine kind (README, Real kernels, calibration and validation): STREAM-like triad about 20 GB/s on one core (two-core figure not measured)"
      efficiency.gemm.peak: "measured on the project machine kind (README, Real kernels, calibration and validation): OpenBLAS sgemm one thread 72-76 GFLOP/s = about 78% of the FMA peak"
      efficiency.scan.peak: "measured on the project machine kind (README, Real kernels, calibration and validation): plain C selective scan 1.8-6.8 GFLOP/s of 96 (exp-bound); 0.1 is an assumption between the two"
      launch_overhead_s: "modelling assumption: per-op dispatch cost of a CPU runtime; replace by calibration"
      efficiency: "half sizes and the other curves: modelling assumptions (an op's fixed floor half_size/(peak x efficiency) about 2 us); `hybridsim calibrate` fits them on this machine"
    """
}
