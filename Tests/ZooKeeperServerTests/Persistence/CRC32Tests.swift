import Testing

@testable import ZooKeeperServer

@Suite struct CRC32Tests {
    @Test func matchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func continuingOverPiecesEqualsTheWhole() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32.checksum(bytes)
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let first = CRC32.checksum(Array(bytes[..<split]))
            let both = bytes[split...].withUnsafeBytes { CRC32.checksum($0, continuing: first) }
            #expect(both == whole, "split at \(split)")
        }
    }

    @Test func aFlippedBitChangesTheChecksum() {
        var bytes = Array(repeating: UInt8(0x5A), count: 64)
        let before = CRC32.checksum(bytes)
        bytes[37] ^= 0x04
        #expect(CRC32.checksum(bytes) != before)
    }
}
