import ArgumentParser
import Foundation
import SimModel

/// The `hybridsim` command line.
public struct HybridSimCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hybridsim",
        abstract: "Cost model and simulator for hybrid (attention + SSM) and routed (MoE, FFF, dynamic-depth) networks.",
        discussion: "Bad input (malformed YAML, unknown keys, impossible values, a missing file) exits with status 2.",
        version: "0.1.0",
        subcommands: [RunCommand.self, SweepCommand.self, MergeCommand.self, OptimizeCommand.self, PlotCommand.self, ExportCommand.self, MeasureCommand.self, CalibrateCommand.self, ValidateCommand.self, PublishedCommand.self, CheckCommand.self, ProfilesCommand.self]
    )

    public init() {}

    /// Parses and runs, mapping every user error to one paragraph on stderr and exit status 2.
    public static func main(arguments: [String]? = nil) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as InputError {
            printError(error.description)
            return 2
        } catch let error as InputErrors {
            printError(error.description)
            return 2
        } catch let error as CLIError {
            printError(error.description)
            return error.exitCode
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version
                print(fullMessage(for: error))
                return 0
            }
            printError(fullMessage(for: error))
            // ArgumentParser reports usage errors as 64; this tool's contract is 2 for any bad input.
            return code == .validationFailure ? 2 : code.rawValue
        }
    }

    static func printError(_ text: String) {
        // ArgumentParser's messages already start with "Error: ".
        let body = text.hasPrefix("Error: ") ? String(text.dropFirst("Error: ".count)) : text
        FileHandle.standardError.write(Data(("error: " + body + "\n").utf8))
    }
}

/// A failure that is not the user's input (an output folder that cannot be written, ...).
public struct CLIError: Error, CustomStringConvertible {
    public var description: String
    public var exitCode: Int32
    public init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}
