import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system calls persistence makes, behind a seam so that tests can count fsyncs and inject write and
/// fsync failures (a full disk) without a real full disk. Descriptors are plain file descriptors.
///
/// Called from the log and snapshot threads and, at start-up, from the event loop; implementations are
/// thread-safe.
protocol PersistenceFileSystem: Sendable {
    func createDirectory(_ path: String) throws(PersistenceError)
    /// Names (not paths) of the entries of `directory`.
    func list(_ directory: String) throws(PersistenceError) -> [String]
    func readFile(_ path: String) throws(PersistenceError) -> ByteBuffer
    /// Creates a new file for writing; fails if it exists.
    func create(_ path: String) throws(PersistenceError) -> Int32
    func openForWriting(_ path: String) throws(PersistenceError) -> Int32
    func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String)
        throws(PersistenceError)
    /// fdatasync: the file's data (and its size) reach the disk.
    func synchronize(_ descriptor: Int32, path: String) throws(PersistenceError)
    func truncate(_ descriptor: Int32, to length: Int64, path: String) throws(PersistenceError)
    func close(_ descriptor: Int32)
    func rename(_ source: String, to destination: String) throws(PersistenceError)
    func remove(_ path: String) throws(PersistenceError)
    /// fsync of a directory, so that files created, renamed or removed in it stay so.
    func synchronizeDirectory(_ path: String) throws(PersistenceError)
    /// Takes an exclusive lock on `path` (created if needed) for as long as the process lives or until
    /// `close`; fails with `.locked` when another process holds it.
    func lock(_ path: String) throws(PersistenceError) -> Int32
}

/// The real file system.
struct PosixFileSystem: PersistenceFileSystem {
    init() {}

    static func failure(_ operation: String, _ path: String, errno code: Int32 = errno) -> PersistenceError {
        let kind: PersistenceError.Code = (code == ENOSPC || code == EDQUOT) ? .diskFull : .io
        return PersistenceError(kind, file: path, "\(operation) failed: \(String(cString: strerror(code)))")
    }

    func createDirectory(_ path: String) throws(PersistenceError) {
        var components: [Substring] = []
        for component in path.split(separator: "/") {
            components.append(component)
            let partial = (path.hasPrefix("/") ? "/" : "") + components.joined(separator: "/")
            if mkdir(partial, 0o755) != 0 && errno != EEXIST { throw Self.failure("mkdir", partial) }
        }
    }

    func list(_ directory: String) throws(PersistenceError) -> [String] {
        guard let handle = opendir(directory) else { throw Self.failure("opendir", directory) }
        defer { closedir(handle) }
        var names: [String] = []
        // Entries are variable-length: reading `entry.pointee` whole can run past the end of the directory
        // buffer, so only the name is read, up to its NUL.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(handle) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    func readFile(_ path: String) throws(PersistenceError) -> ByteBuffer {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("open", path) }
        defer { systemClose(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.failure("stat", path) }
        let size = Int(info.st_size)
        var buffer = ByteBufferAllocator().buffer(capacity: max(size, 1))
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: max(size, 1)) { target in
            var done = 0
            while done < size {
                let count = read(descriptor, target.baseAddress! + done, size - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return done
                }
                if count == 0 { break }
                done += count
            }
            return done
        }
        if failure != 0 { throw Self.failure("read", path, errno: failure) }
        return buffer
    }

    func create(_ path: String) throws(PersistenceError) -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("create", path) }
        return descriptor
    }

    func openForWriting(_ path: String) throws(PersistenceError) -> Int32 {
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("open", path) }
        return descriptor
    }

    func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String)
        throws(PersistenceError)
    {
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.failure("write", path)
            }
            done += count
        }
    }

    func synchronize(_ descriptor: Int32, path: String) throws(PersistenceError) {
        #if canImport(Glibc)
            guard fdatasync(descriptor) == 0 else { throw Self.failure("fdatasync", path) }
        #else
            guard fsync(descriptor) == 0 else { throw Self.failure("fsync", path) }
        #endif
    }

    func truncate(_ descriptor: Int32, to length: Int64, path: String) throws(PersistenceError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw Self.failure("ftruncate", path) }
    }

    func close(_ descriptor: Int32) {
        _ = systemClose(descriptor)
    }

    func rename(_ source: String, to destination: String) throws(PersistenceError) {
        guard systemRename(source, destination) == 0 else { throw Self.failure("rename", source) }
    }

    func remove(_ path: String) throws(PersistenceError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw Self.failure("unlink", path) }
    }

    func synchronizeDirectory(_ path: String) throws(PersistenceError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("open", path) }
        defer { systemClose(descriptor) }
        guard fsync(descriptor) == 0 else { throw Self.failure("fsync", path) }
    }

    func lock(_ path: String) throws(PersistenceError) -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("open", path) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            systemClose(descriptor)
            throw PersistenceError(.locked, file: path, "another zkserver is using this data directory")
        }
        return descriptor
    }
}

// The protocol's method names shadow these system calls inside `PosixFileSystem`.
@discardableResult
private func systemClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func systemRename(_ source: String, _ destination: String) -> Int32 { rename(source, destination) }
