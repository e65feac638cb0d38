import NIOCore

/// Builds bytes from a readable mix of hex groups and quoted strings: `"00000002 'ip' 0000"`.
/// Quoted text (single quotes) is written as UTF-8; whitespace and `|` separate groups.
func bytes(_ spec: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = spec.startIndex
    var nibbles: [UInt8] = []
    while index < spec.endIndex {
        let c = spec[index]
        if c == "'" {
            let start = spec.index(after: index)
            let end = spec[start...].firstIndex(of: "'")!
            result.append(contentsOf: Array(spec[start..<end].utf8))
            index = spec.index(after: end)
            continue
        }
        if let value = c.hexDigitValue {
            nibbles.append(UInt8(value))
            if nibbles.count == 2 {
                result.append(nibbles[0] << 4 | nibbles[1])
                nibbles = []
            }
        }
        index = spec.index(after: index)
    }
    precondition(nibbles.isEmpty, "odd number of hex digits in \(spec)")
    return result
}

func buffer(_ spec: String) -> ByteBuffer {
    ByteBuffer(bytes: bytes(spec))
}

extension ByteBuffer {
    var allBytes: [UInt8] { Array(readableBytesView) }
}
