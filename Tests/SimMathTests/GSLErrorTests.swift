import Testing
@testable import SimMath

@Suite struct GSLErrorTests {
    @Test func messageComesFromStrerror() {
        let error = GSLError(status: 4, context: "gsl_foo")  // GSL_EINVAL
        #expect(error.status == 4)
        #expect(error.message == "gsl_foo: invalid argument supplied by user")
        #expect(error.description.contains("GSL error 4"))
        #expect(error == GSLError(status: 4, message: "gsl_foo: invalid argument supplied by user"))
    }

    @Test func checkThrowsOnlyOnFailure() throws {
        try GSL.check(0, "ok")
        #expect(throws: GSLError.self) { try GSL.check(11, "gsl_bar") }
    }

    @Test func versionIsReported() {
        let version = GSLInfo.version
        #expect(version.split(separator: ".").count >= 2)
        #expect(version.first?.isNumber == true)
    }
}
