import Foundation
import Testing
import SimMath

@Suite struct MinimizationTests {
    @Test func parabola() throws {
        let result = try Minimization.brent(lower: 0, upper: 1, guess: nil) { ($0 - 0.3) * ($0 - 0.3) }
        #expect(isClose(result.x, 0.3, relative: 1e-6))
        #expect(result.value < 1e-12)
    }

    @Test func parabolaWithValidAndInvalidGuesses() throws {
        for guess: Double? in [0.5, 0.999, 0, -4, 7, .nan] {
            let result = try Minimization.brent(lower: 0, upper: 1, guess: guess) { ($0 - 0.3) * ($0 - 0.3) }
            #expect(isClose(result.x, 0.3, relative: 1e-6), "guess \(String(describing: guess))")
        }
    }

    @Test func symmetricMinimumBetweenGridPoints() throws {
        // 0.5 lies exactly between two scan points of [0, 1]; neighbours tie.
        let result = try Minimization.brent(lower: 0, upper: 1, guess: nil) { ($0 - 0.5) * ($0 - 0.5) }
        #expect(isClose(result.x, 0.5, relative: 1e-6))
    }

    @Test func cosineAndLargeScale() throws {
        let cosine = try Minimization.brent(lower: 2, upper: 4, guess: nil) { cos($0) }
        #expect(isClose(cosine.x, Double.pi, relative: 1e-7))
        #expect(isClose(cosine.value, -1, relative: 1e-12))
        let shifted = try Minimization.brent(lower: 0, upper: 1e4, guess: nil) { ($0 - 1234.5) * ($0 - 1234.5) + 7 }
        #expect(isClose(shifted.x, 1234.5, relative: 1e-7))
        #expect(isClose(shifted.value, 7, relative: 1e-12))
    }

    @Test func minimumAtZero() throws {
        let result = try Minimization.brent(lower: -1, upper: 2, guess: nil) { $0 * $0 }
        #expect(abs(result.x) < 1e-6)
    }

    @Test func monotoneFunctionsReturnEndpoints() throws {
        let increasing = try Minimization.brent(lower: 1, upper: 5, guess: 3) { exp($0) }
        #expect(increasing.x == 1)
        #expect(isClose(increasing.value, exp(1), relative: 1e-15))
        let decreasing = try Minimization.brent(lower: 1, upper: 5, guess: nil) { -$0 }
        #expect(decreasing.x == 5)
        #expect(decreasing.value == -5)
    }

    @Test func minimumJustInsideAnEndpoint() throws {
        // True minimum at 0.001, closer to the endpoint than the first scan point (1/17).
        let result = try Minimization.brent(lower: 0, upper: 1, guess: nil) { ($0 - 0.001) * ($0 - 0.001) }
        #expect(isClose(result.x, 0.001, relative: 1e-4))
    }

    @Test func nonFiniteAndInvalidArgumentsThrow() {
        #expect(throws: MinimizationError.self) { try Minimization.brent(lower: 0, upper: 1, guess: nil) { _ in .nan } }
        #expect(throws: MinimizationError.self) { try Minimization.brent(lower: 1, upper: 1, guess: nil) { $0 } }
        #expect(throws: MinimizationError.self) {
            try Minimization.brent(lower: 0, upper: 1, guess: nil, absoluteTolerance: 0) { $0 }
        }
    }
}
