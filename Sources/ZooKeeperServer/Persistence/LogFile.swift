import NIOCore

/// The layout of a log file: a 16-byte header (magic `ZSWL`, format version, first zxid), then records, each
/// `length: UInt32, crc32: UInt32, payload` where the payload is `TransactionCodec`'s encoding and the CRC
/// covers the payload. Files are preallocated with zeros, so a zero header marks the end of the records.
enum LogFile {
    static let magic: UInt32 = 0x5A53_574C  // "ZSWL"
    /// Apache ZooKeeper's log magic ("ZKLG"), recognised to give a clear error.
    static let apacheMagic: UInt32 = 0x5A4B_4C47
    static let formatVersion: UInt32 = 1
    static let headerSize = 16
    static let recordHeaderSize = 8

    static func header(firstZxid: Int64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(magic)
        buffer.writeInteger(formatVersion)
        buffer.writeInteger(firstZxid)
        return buffer
    }

    /// Appends one record for `transaction` to `buffer`, checksum included.
    static func appendRecord(_ transaction: Transaction, to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(UInt32(0))
        TransactionCodec.encode(transaction, into: &buffer)
        let length = buffer.writerIndex - start - recordHeaderSize
        buffer.setInteger(UInt32(length), at: start)
        let crc = buffer.withUnsafeReadableBytes { bytes in
            CRC32.checksum(
                UnsafeRawBufferPointer(rebasing: bytes[(start - buffer.readerIndex + recordHeaderSize)...]))
        }
        buffer.setInteger(crc, at: start + 4)
    }

    /// One record found by `scan`: its zxid, where it starts, and its payload.
    struct Record {
        var zxid: Int64
        var offset: Int
        var payload: ByteBuffer
    }

    /// How a file's records end.
    enum End: Equatable {
        /// After the last record: end of file or zeros (preallocation).
        case clean(offset: Int)
        /// A partial or bad last record at `offset`, with nothing valid after it.
        case torn(offset: Int, reason: String)
    }

    /// Reads every record of a log file, checking each checksum, and calls `body` for each in order. A bad
    /// record followed by anything that is still a valid record is corruption (thrown with the offset); a bad
    /// record with nothing valid after it is a torn tail (returned, for the caller to truncate if the file is
    /// the newest).
    static func scan(_ bytes: ByteBuffer, path: String, body: (Record) throws(PersistenceError) -> Void)
        throws(PersistenceError) -> End
    {
        var buffer = bytes
        guard buffer.readableBytes >= headerSize else {
            return .torn(offset: 0, reason: "the file header is incomplete (\(buffer.readableBytes) bytes)")
        }
        let magic = buffer.readInteger(as: UInt32.self)!
        let version = buffer.readInteger(as: UInt32.self)!
        let firstZxid = buffer.readInteger(as: Int64.self)!
        if magic == apacheMagic {
            throw PersistenceError(
                .foreignFormat, file: path, offset: 0,
                "this is an Apache ZooKeeper transaction log; zkserver cannot read it (use another dataDir)")
        }
        if magic == 0 && version == 0 && firstZxid == 0 && isZero(buffer) {
            return .torn(offset: 0, reason: "the file header was never written")
        }
        guard magic == Self.magic, version == formatVersion else {
            throw PersistenceError(
                .corruptLog, file: path, offset: 0,
                "not a zkserver log (magic \(hex(magic)), version \(version))")
        }
        var previousZxid: Int64? = nil
        while true {
            let offset = buffer.readerIndex
            if buffer.readableBytes == 0 { return .clean(offset: offset) }
            let problem: String
            if buffer.readableBytes < recordHeaderSize {
                if isZero(buffer) { return .clean(offset: offset) }
                problem = "a record header is cut short"
            } else {
                let length = Int(buffer.getInteger(at: offset, as: UInt32.self)!)
                let crc = buffer.getInteger(at: offset + 4, as: UInt32.self)!
                if length == 0 && crc == 0 {
                    if isZero(buffer) { return .clean(offset: offset) }
                    problem = "an empty record header is followed by data"
                } else if length < TransactionCodec.headerSize + 4 {
                    problem = "a record length of \(length) is too small"
                } else if length > buffer.readableBytes - recordHeaderSize {
                    problem = "a record of \(length) bytes runs past the end of the file"
                } else {
                    let payload = buffer.getSlice(at: offset + recordHeaderSize, length: length)!
                    let actual = payload.withUnsafeReadableBytes { CRC32.checksum($0) }
                    if actual != crc {
                        problem = "the record's checksum \(hex(actual)) does not match \(hex(crc))"
                    } else {
                        let zxid = payload.getInteger(at: payload.readerIndex, as: Int64.self)!
                        if let previousZxid, previousZxid == .max || zxid != previousZxid + 1 {
                            throw PersistenceError(
                                .zxidGap, file: path, offset: Int64(offset),
                                "zxid \(hex(zxid)) follows \(hex(previousZxid))")
                        }
                        previousZxid = zxid
                        buffer.moveReaderIndex(forwardBy: recordHeaderSize + length)
                        try body(Record(zxid: zxid, offset: offset, payload: payload))
                        continue
                    }
                }
            }
            // The header is not checksummed: its zxid may be anything, so no arithmetic on it may trap.
            let before = previousZxid ?? (firstZxid == .min ? .min : firstZxid - 1)
            if let later = laterValidRecord(in: bytes, after: offset, previousZxid: before) {
                throw PersistenceError(
                    .corruptLog, file: path, offset: Int64(offset),
                    "\(problem), and a valid record follows at offset \(later)")
            }
            return .torn(offset: offset, reason: problem)
        }
    }

    /// Whether every readable byte is zero.
    static func isZero(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in bytes.allSatisfy { $0 == 0 } }
    }

    /// The offset of a record after a bad one, if any: a plausible length, a zxid after `previousZxid`, and a
    /// matching checksum. Only called on the error path.
    private static func laterValidRecord(in bytes: ByteBuffer, after badOffset: Int, previousZxid: Int64) -> Int? {
        let end = bytes.writerIndex
        var offset = badOffset + 1
        while offset + recordHeaderSize + TransactionCodec.headerSize + 4 <= end {
            let length = Int(bytes.getInteger(at: offset, as: UInt32.self)!)
            if length >= TransactionCodec.headerSize + 4, length <= end - offset - recordHeaderSize {
                let zxid = bytes.getInteger(at: offset + recordHeaderSize, as: Int64.self)!
                let (gap, overflow) = zxid.subtractingReportingOverflow(previousZxid)
                if zxid > previousZxid, !overflow, gap <= Int64(end - badOffset) {
                    let crc = bytes.getInteger(at: offset + 4, as: UInt32.self)!
                    let payload = bytes.getSlice(at: offset + recordHeaderSize, length: length)!
                    if payload.withUnsafeReadableBytes({ CRC32.checksum($0) }) == crc { return offset }
                }
            }
            offset += 1
        }
        return nil
    }
}

func hex(_ value: some BinaryInteger) -> String {
    "0x" + String(value, radix: 16)
}
