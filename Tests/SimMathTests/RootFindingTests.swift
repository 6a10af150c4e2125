import Testing
import SimMath

@Suite struct RootFindingTests {
    @Test func squareRootOfTwo() throws {
        let root = try RootFinding.brent(lower: 0, upper: 2) { $0 * $0 - 2 }
        #expect(isClose(root, 2.0.squareRoot(), relative: 1e-9))
    }

    @Test func rootAtEndpointIsReturned() throws {
        #expect(try RootFinding.brent(lower: 1, upper: 3) { $0 - 1 } == 1)
        #expect(try RootFinding.brent(lower: -3, upper: 3) { $0 - 3 } == 3)
    }

    @Test func decreasingFunctionAndTolerances() throws {
        let root = try RootFinding.brent(lower: 0, upper: 1e6, absoluteTolerance: 0, relativeTolerance: 1e-12) { 12345.678 - $0 }
        #expect(isClose(root, 12345.678, relative: 1e-11))
    }

    @Test func unbracketedRootThrows() {
        #expect(throws: RootFindingError.notBracketed(lower: 0, upper: 1, fLower: 2, fUpper: 3)) {
            try RootFinding.brent(lower: 0, upper: 1) { $0 * $0 + 2 }
        }
    }

    @Test func nonFiniteValuesThrow() {
        #expect(throws: RootFindingError.self) {
            try RootFinding.brent(lower: 0, upper: 1) { _ in .nan }
        }
        // Non-finite inside the bracket, found during iteration.
        do {
            _ = try RootFinding.brent(lower: -1, upper: 2) { x in x <= -0.5 ? -1 : (x >= 1.5 ? 1 : .infinity) }
            Issue.record("expected an error")
        } catch let RootFindingError.nonFiniteValue(x, _) {
            #expect(x > -0.5 && x < 1.5)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func invalidArgumentsThrow() {
        #expect(throws: RootFindingError.self) { try RootFinding.brent(lower: 1, upper: 0) { $0 } }
        #expect(throws: RootFindingError.self) { try RootFinding.brent(lower: 0, upper: .infinity) { $0 } }
        #expect(throws: RootFindingError.self) {
            try RootFinding.brent(lower: -1, upper: 1, absoluteTolerance: -1) { $0 }
        }
        #expect(throws: RootFindingError.self) { try RootFinding.brent(lower: -1, upper: 1, maxIterations: 0) { $0 } }
    }

    @Test func nonConvergenceThrows() {
        #expect(throws: RootFindingError.self) {
            try RootFinding.brent(lower: -1, upper: 3, absoluteTolerance: 0, relativeTolerance: 1e-15, maxIterations: 2) { $0 * $0 * $0 - 2 }
        }
    }
}
