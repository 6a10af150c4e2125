import Foundation
import HybridSimCLI

exit(HybridSimCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
