import FuzzSupport
import ZooKeeperServer

/// The zoo.cfg parser: any text either yields a configuration zkserver can run with or a one-line failure.
@main struct FuzzZooCfgMain {
    static func main() { runFuzzer(fuzzZooCfg) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZooCfg(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: FuzzInput(start, count).remaining, as: UTF8.self)
    do {
        let result = try ZooCfg.parse(text)
        let configuration = result.configuration
        fuzzCheck(configuration.tickTime >= 1, "tickTime \(configuration.tickTime) accepted")
        fuzzCheck((configuration.clientPort ?? 0) >= 0, "clientPort \(String(describing: configuration.clientPort)) accepted")
        fuzzCheck(configuration.packetLimit >= 1, "jute.maxbuffer \(configuration.packetLimit) accepted")
        fuzzCheck(
            configuration.effectiveMinSessionTimeout <= configuration.effectiveMaxSessionTimeout,
            "session timeout bounds \(configuration.effectiveMinSessionTimeout) > \(configuration.effectiveMaxSessionTimeout)"
        )
        for warning in result.warnings { fuzzCheck(!warning.isEmpty, "an empty warning") }
    } catch {
        fuzzCheck(!error.description.isEmpty, "an empty failure")
        fuzzCheck(!error.description.contains("\n"), "a failure of more than one line: \(error.description)")
    }
    return 0
}
