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
        // A misspelt subcommand: ArgumentParser would say only "unexpected arguments".
        let names = configuration.subcommands.map { $0._commandName }
        if let first = (arguments ?? Array(CommandLine.arguments.dropFirst())).first, !first.hasPrefix("-"), !names.contains(first), first != "help" {
            let guess = Spelling.suggestion(for: first, among: names).map { " (did you mean `\($0)`?)" } ?? ""
            printError("`\(first)` is not a command\(guess); allowed: \(names.joined(separator: ", "))")
            return 2
        }
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

/// The one check of an output-folder flag, before any work: not empty (that wrote into the current folder), and
/// not an existing file (that failed with a Foundation error after the work was done).
enum OutputFolder {
    static func check(_ out: String?, flag: String = "--out") throws {
        guard let out else { return }
        guard !out.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("\(flag) is empty; allowed: a folder path (it is created when missing).")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("\(flag) \(out) is a file; allowed: a folder path (it is created when missing).")
        }
    }
}
