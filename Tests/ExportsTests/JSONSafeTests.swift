import Foundation
import Testing
@testable import Exports

@Suite struct JSONSafeTests {
    @Test("non-finite numbers are written as null, at any depth; everything else as it was")
    func nonFiniteBecomesNull() throws {
        let object: [String: Any] = ["a": Double.infinity, "b": [1.5, -Double.infinity, Double.nan], "c": ["d": Double.nan, "e": 2],
                                     "f": "text", "g": true]
        let data = try JSONSafe.data(object, options: [.sortedKeys])
        #expect(String(decoding: data, as: UTF8.self) == #"{"a":null,"b":[1.5,null,null],"c":{"d":null,"e":2},"f":"text","g":true}"#)
        #expect(throws: (any Error).self) { try JSONSerialization.data(withJSONObject: object) }
    }
}
