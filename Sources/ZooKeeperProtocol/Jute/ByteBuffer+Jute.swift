import NIOCore

// Jute, ZooKeeper's serialisation: big-endian fixed-width integers, length-prefixed buffers, strings and
// vectors where a length of -1 means null (distinct from 0, empty). Every length is checked against the
// bytes actually present before anything is allocated, so a hostile length cannot cost memory.

extension ByteBuffer {
    // MARK: Reading

    @inlinable
    public mutating func readJuteInt() throws(ProtocolError) -> Int32 {
        guard let value = readInteger(as: Int32.self) else {
            throw ProtocolError(.truncated, lazy: .needs("int", bytes: 4, left: readableBytes))
        }
        return value
    }

    @inlinable
    public mutating func readJuteLong() throws(ProtocolError) -> Int64 {
        guard let value = readInteger(as: Int64.self) else {
            throw ProtocolError(.truncated, lazy: .needs("long", bytes: 8, left: readableBytes))
        }
        return value
    }

    @inlinable
    public mutating func readJuteBool() throws(ProtocolError) -> Bool {
        guard let value = readInteger(as: UInt8.self) else {
            throw ProtocolError(.truncated, "boolean needs 1 byte")
        }
        return value != 0
    }

    /// Reads the length prefix of a buffer or string: nil for the null marker (-1).
    @inlinable
    mutating func readJuteLength(_ what: StaticString) throws(ProtocolError) -> Int? {
        let length = try readJuteInt()
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= readableBytes else {
            throw ProtocolError(.invalidLength, lazy: .length(what, length, left: readableBytes))
        }
        return Int(length)
    }

    /// A jute buffer; nil when the sender wrote the null marker.
    @inlinable
    public mutating func readJuteBuffer() throws(ProtocolError) -> [UInt8]? {
        guard let length = try readJuteLength("buffer") else { return nil }
        return readBytes(length: length)!
    }

    /// A jute ustring; nil when the sender wrote the null marker. Invalid UTF-8 is replaced, never fatal.
    @inlinable
    public mutating func readJuteString() throws(ProtocolError) -> String? {
        guard let length = try readJuteLength("string") else { return nil }
        return readString(length: length)!
    }

    /// A string that the protocol never sends as null; a null marker reads as the empty string.
    @inlinable
    public mutating func readJuteNonNullString() throws(ProtocolError) -> String {
        try readJuteString() ?? ""
    }

    /// The element count of a vector; nil for the null marker. `minimumElementSize` bounds the count by the
    /// bytes left, so that no reader reserves room for elements that cannot be there.
    @inlinable
    public mutating func readJuteVectorCount(minimumElementSize: Int) throws(ProtocolError) -> Int? {
        let count = try readJuteInt()
        if count == -1 { return nil }
        guard count >= 0, Int(count) <= readableBytes / Swift.max(1, minimumElementSize) else {
            throw ProtocolError(.invalidCount, lazy: .vectorCount(count, left: readableBytes))
        }
        return Int(count)
    }

    /// A vector of strings; a null vector reads as empty.
    @inlinable
    public mutating func readJuteStringVector() throws(ProtocolError) -> [String] {
        guard let count = try readJuteVectorCount(minimumElementSize: 4) else { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(try readJuteNonNullString())
        }
        return result
    }

    // MARK: Writing

    @inlinable
    public mutating func writeJuteInt(_ value: Int32) {
        writeInteger(value)
    }

    @inlinable
    public mutating func writeJuteLong(_ value: Int64) {
        writeInteger(value)
    }

    @inlinable
    public mutating func writeJuteBool(_ value: Bool) {
        writeInteger(value ? 1 : 0, as: UInt8.self)
    }

    @inlinable
    public mutating func writeJuteBuffer(_ bytes: [UInt8]?) {
        guard let bytes else {
            writeInteger(-1, as: Int32.self)
            return
        }
        writeInteger(Int32(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    @inlinable
    public mutating func writeJuteString(_ string: String?) {
        guard let string else {
            writeInteger(-1, as: Int32.self)
            return
        }
        writeInteger(Int32(truncatingIfNeeded: string.utf8.count))
        writeString(string)
    }

    @inlinable
    public mutating func writeJuteStringVector(_ strings: [String]?) {
        guard let strings else {
            writeInteger(-1, as: Int32.self)
            return
        }
        writeInteger(Int32(truncatingIfNeeded: strings.count))
        for string in strings {
            writeJuteString(string)
        }
    }

    /// Writes a frame: a 4-byte big-endian length, then what `body` writes.
    @inlinable
    public mutating func writeZooKeeperFrame(_ body: (inout ByteBuffer) -> Void) {
        let lengthIndex = writerIndex
        writeInteger(0, as: Int32.self)
        body(&self)
        setInteger(Int32(truncatingIfNeeded: writerIndex - lengthIndex - 4), at: lengthIndex)
    }
}

/// A record of the jute schema: encodes itself and decodes from a frame's bytes.
public protocol JuteRecord: Sendable {
    init(from buffer: inout ByteBuffer) throws(ProtocolError)
    func encode(into buffer: inout ByteBuffer)
}

extension JuteRecord {
    /// Decodes one record that must take exactly the whole of `buffer`.
    public static func decodeWhole(_ buffer: ByteBuffer) throws(ProtocolError) -> Self {
        var copy = buffer
        let record = try Self(from: &copy)
        guard copy.readableBytes == 0 else {
            throw ProtocolError(.trailingBytes, "\(Self.self) followed by \(copy.readableBytes) bytes")
        }
        return record
    }

    /// The record's encoding in a fresh buffer.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer)
        return buffer
    }
}

extension ByteBuffer {
    /// A vector of records; a null vector reads as empty.
    @inlinable
    public mutating func readJuteVector<R: JuteRecord>(
        of type: R.Type,
        minimumElementSize: Int
    ) throws(ProtocolError) -> [R] {
        guard let count = try readJuteVectorCount(minimumElementSize: minimumElementSize) else { return [] }
        var result: [R] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(try R(from: &self))
        }
        return result
    }

    @inlinable
    public mutating func writeJuteVector<R: JuteRecord>(_ records: [R]) {
        writeInteger(Int32(truncatingIfNeeded: records.count))
        for record in records {
            record.encode(into: &self)
        }
    }
}
