import NIOCore
import Testing
import ZooKeeperProtocol

@Suite struct JutePrimitiveTests {
    @Test func nullAndEmptyBuffersAreDistinct() throws {
        var out = ByteBuffer()
        out.writeJuteBuffer(nil)
        out.writeJuteBuffer([])
        out.writeJuteString(nil)
        out.writeJuteString("")
        #expect(out.allBytes == bytes("ffffffff 00000000 ffffffff 00000000"))
        #expect(try out.readJuteBuffer() == nil)
        #expect(try out.readJuteBuffer() == [])
        #expect(try out.readJuteString() == nil)
        #expect(try out.readJuteString() == "")
        #expect(out.readableBytes == 0)
    }

    @Test func integersAreBigEndian() throws {
        var out = ByteBuffer()
        out.writeJuteInt(-2)
        out.writeJuteLong(0x0100_0004_ca67_000c)
        out.writeJuteBool(true)
        out.writeJuteBool(false)
        #expect(out.allBytes == bytes("fffffffe 01000004ca67000c 01 00"))
        #expect(try out.readJuteInt() == -2)
        #expect(try out.readJuteLong() == 0x0100_0004_ca67_000c)
        #expect(try out.readJuteBool() == true)
        #expect(try out.readJuteBool() == false)
    }

    @Test func anyNonZeroByteIsTrue() throws {
        var input = buffer("7f")
        #expect(try input.readJuteBool() == true)
    }

    @Test func stringsAreUTF8WithByteLength() throws {
        var out = ByteBuffer()
        out.writeJuteString("zürich")
        #expect(out.allBytes == bytes("00000007 7a c3bc 72 69 63 68"))
        #expect(try out.readJuteString() == "zürich")
    }

    @Test func invalidUTF8IsReplacedNotFatal() throws {
        var input = buffer("00000002 ff fe")
        let string = try input.readJuteString()
        #expect(string == "\u{FFFD}\u{FFFD}")
    }

    @Test func truncatedIntegersThrow() {
        var input = buffer("0000")
        #expect(throws: ProtocolError.self) { try input.readJuteInt() }
        var long = buffer("00000000 0000")
        #expect(throws: ProtocolError.self) { try long.readJuteLong() }
        var empty = ByteBuffer()
        #expect(throws: ProtocolError.self) { try empty.readJuteBool() }
    }

    @Test func absurdLengthsThrowBeforeAllocating() {
        // A 2 GB string in a 6-byte record: rejected from the length alone.
        var string = buffer("7fffffff 4142")
        #expect { try string.readJuteString() } throws: { ($0 as? ProtocolError)?.code == .invalidLength }
        var negative = buffer("fffffffe")
        #expect { try negative.readJuteBuffer() } throws: { ($0 as? ProtocolError)?.code == .invalidLength }
        var longerThanLeft = buffer("00000005 41424344")
        #expect { try longerThanLeft.readJuteBuffer() } throws: { ($0 as? ProtocolError)?.code == .invalidLength }
    }

    @Test func absurdVectorCountsThrowBeforeAllocating() {
        var vector = buffer("7fffffff 00000000")
        #expect { try vector.readJuteStringVector() } throws: { ($0 as? ProtocolError)?.code == .invalidCount }
        var negative = buffer("80000000")
        #expect { try negative.readJuteStringVector() } throws: { ($0 as? ProtocolError)?.code == .invalidCount }
        // Three ACLs cannot fit in 20 bytes (each needs at least 12).
        var acls = buffer("00000003 " + String(repeating: "00", count: 20))
        #expect {
            try acls.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
        } throws: { ($0 as? ProtocolError)?.code == .invalidCount }
    }

    @Test func nullVectorReadsAsEmpty() throws {
        var input = buffer("ffffffff")
        #expect(try input.readJuteStringVector() == [])
    }

    @Test func frameWriterPrefixesTheLength() {
        var out = ByteBuffer()
        out.writeZooKeeperFrame { $0.writeJuteInt(7) }
        #expect(out.allBytes == bytes("00000004 00000007"))
    }

    @Test func decodeWholeRejectsTrailingBytes() {
        #expect { try PathRequest.decodeWhole(buffer("00000002 '/a' 00")) } throws: {
            ($0 as? ProtocolError)?.code == .trailingBytes
        }
    }
}
