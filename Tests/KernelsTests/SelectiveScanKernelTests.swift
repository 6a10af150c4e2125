import Foundation
import Kernels
import Testing

@Suite struct SelectiveScanKernelTests {
    struct Inputs {
        let batch: Int, length: Int, dInner: Int, dState: Int
        let u: [Float], delta: [Float], a: [Float], b: [Float], c: [Float], d: [Float], z: [Float]

        init(batch: Int, length: Int, dInner: Int, dState: Int, seed: UInt64) {
            self.batch = batch
            self.length = length
            self.dInner = dInner
            self.dState = dState
            var random = SeededGenerator(seed: seed)
            u = random.array(batch * length * dInner)
            delta = random.array(batch * length * dInner, 0.001, 0.2)  // softplus output: positive
            a = random.array(dInner * dState, -4, -0.05)  // A = -exp(A_log): negative
            b = random.array(batch * length * dState)
            c = random.array(batch * length * dState)
            d = random.array(dInner)
            z = random.array(batch * length * dInner, -3, 3)
        }
    }

    /// The recurrence exactly as written in the Mamba paper, per (batch, channel), in Double.
    static func reference(
        _ x: Inputs, gated: Bool = true, skip: Bool = true, state: inout [Double]
    ) -> [Double] {
        var y = [Double](repeating: 0, count: x.u.count)
        for b in 0..<x.batch {
            for channel in 0..<x.dInner {
                var h = (0..<x.dState).map { state[(b * x.dInner + channel) * x.dState + $0] }
                for t in 0..<x.length {
                    let row = (b * x.length + t) * x.dInner + channel
                    let projection = (b * x.length + t) * x.dState
                    let step = Double(x.delta[row]), input = Double(x.u[row])
                    var sum = 0.0
                    for n in 0..<x.dState {
                        let decay = Foundation.exp(step * Double(x.a[channel * x.dState + n]))
                        h[n] = decay * h[n] + step * Double(x.b[projection + n]) * input
                        sum += h[n] * Double(x.c[projection + n])
                    }
                    if skip { sum += Double(x.d[channel]) * input }
                    if gated {
                        let gate = Double(x.z[row])
                        sum *= gate / (1 + Foundation.exp(-gate))
                    }
                    y[row] = sum
                }
                for n in 0..<x.dState { state[(b * x.dInner + channel) * x.dState + n] = h[n] }
            }
        }
        return y
    }

    static func run(_ x: Inputs, gated: Bool = true, skip: Bool = true, state: inout [Float]) -> [Float] {
        var y = [Float](repeating: .nan, count: x.u.count)
        x.d.withUnsafeBufferPointer { d in
            x.z.withUnsafeBufferPointer { z in
                state.withUnsafeMutableBufferPointer { state in
                    SelectiveScanKernel.forward(
                        u: x.u, delta: x.delta, a: x.a, b: x.b, c: x.c,
                        d: skip ? d.baseAddress : nil, z: gated ? z.baseAddress : nil, y: &y,
                        batch: x.batch, length: x.length, dInner: x.dInner, dState: x.dState,
                        state: state.baseAddress)
                }
            }
        }
        return y
    }

    // dInner 20: one full block and a partial one; 70: two channel groups, the last partial;
    // length 40: more than one time chunk.
    // Length 1 with a state runs the decode step (decodeStep): a batch, dState 12 with a tail past the vectors.
    @Test(arguments: [(1, 40, 20, 16), (2, 9, 70, 64), (1, 35, 24, 128), (1, 5, 3, 16), (4, 1, 33, 16), (3, 1, 9, 12), (2, 1, 5, 64)])
    func matchesReference(shape: (Int, Int, Int, Int)) {
        let (batch, length, dInner, dState) = shape
        let x = Inputs(batch: batch, length: length, dInner: dInner, dState: dState, seed: UInt64(dState))
        var random = SeededGenerator(seed: 77)
        let initial = random.array(batch * dInner * dState)
        var state = initial
        var expectedState = initial.map(Double.init)
        let y = Self.run(x, state: &state)
        let expected = Self.reference(x, state: &expectedState)
        expectClose(y, expected, tolerance: 2e-5, "y \(shape)")
        expectClose(state, expectedState, tolerance: 2e-5, "state \(shape)")
    }

    @Test func workspaceAndStackGroupsGiveIdenticalResults() {
        // dState 128 and 300 channels: the stack path splits the channels into groups
        // (stackBudgetBytes), the workspace path runs them as one; per channel the
        // arithmetic is the same, so the results are bit for bit equal.
        let x = Inputs(batch: 1, length: 10, dInner: 300, dState: 128, seed: 8)
        var stackState = [Float](repeating: 0.5, count: 300 * 128)
        var workspaceState = stackState
        let stackY = Self.run(x, state: &stackState)
        var workspaceY = [Float](repeating: .nan, count: x.u.count)
        let workspace = Workspace()
        for _ in 0..<2 {  // the second call reuses the workspace's buffer
            workspaceState = [Float](repeating: 0.5, count: 300 * 128)
            SelectiveScanKernel.forward(
                u: x.u, delta: x.delta, a: x.a, b: x.b, c: x.c, d: x.d, z: x.z, y: &workspaceY,
                batch: 1, length: 10, dInner: 300, dState: 128, state: &workspaceState, workspace: workspace)
        }
        #expect(workspaceY == stackY)
        #expect(workspaceState == stackState)
        #expect(workspace.bytes >= SelectiveScanKernel.workspaceCount(dInner: 300, dState: 128) * 4)
        var expectedState = [Double](repeating: 0.5, count: 300 * 128)
        expectClose(stackY, Self.reference(x, state: &expectedState), tolerance: 2e-5, "grouped")
    }

    @Test func withoutGateSkipOrState() {
        let x = Inputs(batch: 1, length: 12, dInner: 17, dState: 16, seed: 3)
        var zeroState = [Double](repeating: 0, count: 17 * 16)
        let expected = Self.reference(x, gated: false, skip: false, state: &zeroState)
        var y = [Float](repeating: .nan, count: x.u.count)
        SelectiveScanKernel.forward(
            u: x.u, delta: x.delta, a: x.a, b: x.b, c: x.c, d: nil, z: nil, y: &y,
            batch: 1, length: 12, dInner: 17, dState: 16, state: nil)
        expectClose(y, expected, tolerance: 2e-5, "ungated")
    }

    @Test(arguments: [16, 64])
    func decodingContinuesFromState(dState: Int) {
        // Running 23 steps then 1 then 6 must equal running all 30 at once.
        let whole = Inputs(batch: 2, length: 30, dInner: 20, dState: dState, seed: 11)
        var wholeState = [Float](repeating: 0, count: 2 * 20 * dState)
        let wholeY = Self.run(whole, state: &wholeState)

        var pieceState = [Float](repeating: 0, count: 2 * 20 * dState)
        var pieceY = [Float](repeating: 0, count: wholeY.count)
        var start = 0
        for length in [23, 1, 6] {
            func slice(_ array: [Float], width: Int) -> [Float] {
                var result: [Float] = []
                for b in 0..<2 {
                    let from = (b * 30 + start) * width
                    result += array[from..<(from + length * width)]
                }
                return result
            }
            var y = [Float](repeating: 0, count: 2 * length * 20)
            SelectiveScanKernel.forward(
                u: slice(whole.u, width: 20), delta: slice(whole.delta, width: 20), a: whole.a,
                b: slice(whole.b, width: dState), c: slice(whole.c, width: dState), d: whole.d,
                z: slice(whole.z, width: 20), y: &y, batch: 2, length: length, dInner: 20, dState: dState,
                state: &pieceState)
            for b in 0..<2 {
                for index in 0..<(length * 20) {
                    pieceY[(b * 30 + start) * 20 + index] = y[b * length * 20 + index]
                }
            }
            start += length
        }
        expectClose(pieceY, wholeY, tolerance: 1e-6, "pieces vs whole")
        expectClose(pieceState, wholeState, tolerance: 1e-6, "final state")
    }

    @Test func flopCountFollowsTheConvention() {
        let expected: Double = 9 * 2 * 3 * 5 * 7 + 2 * 2 * 3 * 5
        #expect(SelectiveScanKernel.flops(batch: 2, length: 3, dInner: 5, dState: 7) == expected)
    }
}
