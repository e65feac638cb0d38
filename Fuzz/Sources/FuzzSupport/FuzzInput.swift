import CLibFuzzer
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Runs libFuzzer with `body` as the target (`LLVMFuzzerTestOneInput`), with the process's arguments (corpus
/// directories, `-max_total_time=`, ...). Each target's `@main` calls this.
public func runFuzzer(_ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, body))
}

/// The fuzzer's bytes read as a stream of choices: small integers, picks from a list, short byte strings. Reading
/// past the end yields zeros and empty strings, so every input decodes to some sequence of steps and libFuzzer's
/// mutations of the bytes become mutations of the steps.
public struct FuzzInput {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ start: UnsafePointer<UInt8>?, _ count: Int) {
        if let start, count > 0 {
            bytes = Array(UnsafeBufferPointer(start: start, count: count))
        } else {
            bytes = []
        }
    }

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isExhausted: Bool { offset >= bytes.count }

    /// The bytes not read yet.
    public var remaining: [UInt8] { offset < bytes.count ? Array(bytes[offset...]) : [] }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A number in `0..<bound` (bound at most 65536).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0 && bound <= 65536)
        if bound <= 256 { return Int(byte()) % bound }
        return (Int(byte()) << 8 | Int(byte())) % bound
    }

    public mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[below(elements.count)]
    }

    public mutating func int32() -> Int32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(byte()) }
        return Int32(bitPattern: value)
    }

    public mutating func int64() -> Int64 {
        Int64(int32()) << 32 | Int64(UInt32(bitPattern: int32()))
    }

    /// Up to `maximum` raw bytes, the length read first.
    public mutating func bytes(maximum: Int) -> [UInt8] {
        let count = below(maximum + 1)
        return (0..<count).map { _ in byte() }
    }
}

/// Ends the process the way libFuzzer reports a finding: an invariant does not hold.
///
/// Inlined into the targets (they call it millions of times a second): the condition is then plain code in the
/// caller instead of a closure called through the sanitizers' stack frames, and the message is only built when
/// the check fails.
@inlinable @inline(__always)
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file,
    line: UInt = #line
) {
    if _slowPath(!condition()) { fuzzCheckFailed(message(), file: file, line: line) }
}

@usableFromInline @inline(never)
func fuzzCheckFailed(_ message: String, file: StaticString, line: UInt) -> Never {
    fatalError("invariant broken: \(message)", file: file, line: line)
}

extension ByteBuffer {
    /// The buffer's readable bytes as an array.
    public var fuzzBytes: [UInt8] { Array(readableBytesView) }
}
