import Foundation

/// The tutorial's command line: `--sae SITE=FOLDER`, `--save-sae FOLDER`, `--out FOLDER`.
/// Checked before any work; a bad argument ends the process with status 2.
struct TutorialOptions {
    /// `--sae`: the site (as written) and the SAELens folder.
    var sae: (site: String, folder: String)?
    /// `--save-sae`: where the built-in SAE is written in SAELens' format.
    var saveSAE: String?
    /// `--out`: the SVGs' folder; by default one under the system's temporary directory (never the repository).
    var out = (NSTemporaryDirectory() as NSString).appendingPathComponent("intervene-tutorial-09")

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard ["--sae", "--save-sae", "--out"].contains(flag) else {
                Self.refuse("unknown argument '\(flag)'; allowed: --sae SITE=FOLDER, --save-sae FOLDER, --out FOLDER")
            }
            guard let value = rest.popFirst(), !value.hasPrefix("--"), !value.isEmpty else { Self.refuse("\(flag) needs a value") }
            switch flag {
            case "--sae":
                guard let equals = value.firstIndex(of: "="), equals != value.startIndex, value.index(after: equals) != value.endIndex else {
                    Self.refuse("--sae needs SITE=FOLDER, e.g. 23:block_output=saes/layer23; got '\(value)'")
                }
                sae = (String(value[..<equals]), String(value[value.index(after: equals)...]))
            case "--save-sae": saveSAE = value
            default: out = value
            }
        }
        if sae != nil && saveSAE != nil { Self.refuse("--save-sae writes the built-in SAE; it cannot be combined with --sae") }
    }

    /// Prints `message` to standard error and exits with status 2 (a bad argument).
    static func refuse(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}
