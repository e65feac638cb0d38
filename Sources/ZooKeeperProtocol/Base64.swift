/// Standard base64 (RFC 4648 alphabet, `=` padding), as ZooKeeper uses it for digest ids and zkCli for `-b`.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding (Java's `Base64.getEncoder()`).
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        encode(bytes, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `bytes` in standard base64 with padding to `output`.
    public static func encode(_ bytes: [UInt8], into output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count + 2) / 3 * 4)
        alphabet.withUnsafeBufferPointer { alphabet in
            func letter(_ value: UInt32, _ shift: UInt32) -> UInt8 { alphabet[Int(value >> shift & 0x3F)] }
            var index = 0
            while index + 2 < bytes.count {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                output.append(letter(value, 18))
                output.append(letter(value, 12))
                output.append(letter(value, 6))
                output.append(letter(value, 0))
                index += 3
            }
            let rest = bytes.count - index
            if rest == 1 {
                let value = UInt32(bytes[index]) << 16
                output.append(letter(value, 18))
                output.append(letter(value, 12))
                output.append(UInt8(ascii: "="))
                output.append(UInt8(ascii: "="))
            } else if rest == 2 {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
                output.append(letter(value, 18))
                output.append(letter(value, 12))
                output.append(letter(value, 6))
                output.append(UInt8(ascii: "="))
            }
        }
    }

    /// Decodes standard base64 (Java's `Base64.getDecoder()`): padding optional at the end, nothing else
    /// allowed; nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var body = Array(text.utf8)
        var padding = 0
        while body.last == UInt8(ascii: "=") && padding < 2 {
            body.removeLast()
            padding += 1
        }
        for byte in body {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        if values.count % 4 == 1 { return nil }
        if padding > 0 && (values.count + padding) % 4 != 0 { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var accumulator: UInt32 = 0
            for value in chunk { accumulator = accumulator << 6 | UInt32(value) }
            accumulator <<= UInt32(6 * (4 - chunk.count))
            let produced = chunk.count - 1
            for position in 0..<produced { output.append(UInt8(accumulator >> UInt32(16 - 8 * position) & 0xFF)) }
            index += 4
        }
        return output
    }
}
