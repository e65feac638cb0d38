import Foundation
import NIOCore
import Testing

@testable import ZooKeeperServer

@Suite struct LogFileTests {
    /// Scans a file, returning the zxids read and how it ended.
    func scan(_ path: String) throws -> ([Int64], LogFile.End) {
        var zxids: [Int64] = []
        let end = try LogFile.scan(try PosixFileSystem().readFile(path), path: path) { record in
            zxids.append(record.zxid)
        }
        return (zxids, end)
    }

    func transactions(_ range: ClosedRange<Int64>) -> [Transaction] {
        range.map { createTransaction($0, "/n\($0)", data: String(repeating: "d", count: Int($0))) }
    }

    @Test func recordsRoundTrip() throws {
        let directory = try temporaryDataDirectory()
        let written = transactions(1...20)
        let path = try writeLogFile(written, in: directory)
        var decoded: [Transaction] = []
        let end = try LogFile.scan(try PosixFileSystem().readFile(path), path: path) { record in
            var payload = record.payload
            decoded.append(try! TransactionCodec.decode(&payload))
        }
        #expect(decoded == written)
        #expect(end == .clean(offset: fileSize(path)))
    }

    /// Found by the persistence fuzz target: a damaged header zxid far below a later record's trapped in the
    /// search for a valid record after a bad one (zxid − previous overflowed). The file is torn, not a crash.
    @Test func extremeZxidsAroundABadRecordDoNotTrap() throws {
        for firstZxid in [Int64.min, Int64.min + 1, -(1 << 62), Int64.max] {
            var buffer = LogFile.header(firstZxid: firstZxid)
            buffer.writeInteger(UInt32(40))
            buffer.writeInteger(UInt32(0xBAD))
            buffer.writeBytes(Array(repeating: 0xEE, count: 40))
            LogFile.appendRecord(createTransaction(Int64.max - 1, "/late"), to: &buffer)
            LogFile.appendRecord(createTransaction(5, "/five"), to: &buffer)
            var zxids: [Int64] = []
            let outcome = Result { () throws(PersistenceError) -> LogFile.End in
                try LogFile.scan(buffer, path: "log.test") { record in zxids.append(record.zxid) }
            }
            #expect(zxids.isEmpty)
            switch outcome {
            case .success(let end):
                #expect(
                    end
                        == .torn(
                            offset: LogFile.headerSize,
                            reason:
                                "the record's checksum 0x\(String(CRC32.checksum(Array(repeating: 0xEE, count: 40)), radix: 16)) does not match 0xbad"
                        ))
            case .failure(let error):
                #expect(error.code == .corruptLog, "\(error)")
            }
        }
    }

    @Test func zerosAfterTheRecordsAreTheEnd() throws {
        let directory = try temporaryDataDirectory()
        let path = try writeLogFile(transactions(1...3), in: directory)
        let size = fileSize(path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 4096))
        try handle.close()
        let (zxids, end) = try scan(path)
        #expect(zxids == [1, 2, 3])
        #expect(end == .clean(offset: size))
    }

    @Test func aPartialLastRecordIsATornTail() throws {
        let directory = try temporaryDataDirectory()
        let path = try writeLogFile(transactions(1...5), in: directory)
        let size = fileSize(path)
        let lastStart =
            size
            - (LogFile.recordHeaderSize + TransactionCodec.headerSize
                + TransactionCodec.encodedSize(of: transactions(5...5)[0].body))
        for cut in [1, 3, 9, 20] {
            try Data.truncate(path, to: size - cut)
            let (zxids, end) = try scan(path)
            #expect(zxids == [1, 2, 3, 4], "cut \(cut)")
            guard case .torn(let offset, _) = end else {
                Issue.record("cut \(cut): \(end)")
                continue
            }
            #expect(offset == lastStart)
        }
    }

    @Test func aBadChecksumOnTheLastRecordIsATornTail() throws {
        let directory = try temporaryDataDirectory()
        let path = try writeLogFile(transactions(1...5), in: directory)
        try Data.corrupt(path, at: fileSize(path) - 2)
        let (zxids, end) = try scan(path)
        #expect(zxids == [1, 2, 3, 4])
        guard case .torn = end else {
            Issue.record("\(end)")
            return
        }
    }

    @Test func aBadRecordFollowedByValidOnesIsCorruptionNamingFileAndOffset() throws {
        let directory = try temporaryDataDirectory()
        let path = try writeLogFile(transactions(1...6), in: directory)
        // The third record starts after the header and two records.
        let third =
            LogFile.headerSize
            + (1...2).map {
                LogFile.recordHeaderSize + TransactionCodec.headerSize
                    + TransactionCodec.encodedSize(of: transactions($0...$0)[0].body)
            }.reduce(0, +)
        try Data.corrupt(path, at: third + 20)
        #expect {
            _ = try scan(path)
        } throws: { error in
            guard let error = error as? PersistenceError else { return false }
            return error.code == .corruptLog && error.file == path && error.offset == Int64(third)
                && error.description.contains(path) && error.description.contains("offset \(third)")
        }
    }

    @Test func aGapInsideAFileIsReported() throws {
        let directory = try temporaryDataDirectory()
        let path = try writeLogFile(transactions(1...2) + transactions(4...5), in: directory)
        #expect {
            _ = try scan(path)
        } throws: { error in
            (error as? PersistenceError)?.code == .zxidGap
        }
    }

    @Test func anApacheLogIsRecognised() throws {
        let directory = try temporaryDataDirectory()
        let path = directory.logPath(firstZxid: 1)
        var bytes = Data([0x5A, 0x4B, 0x4C, 0x47, 0, 0, 0, 2])
        bytes.append(Data(count: 64))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try scan(path)
        } throws: { error in
            (error as? PersistenceError)?.code == .foreignFormat
        }
    }
}
