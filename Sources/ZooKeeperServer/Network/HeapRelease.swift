#if canImport(Glibc)
    import Glibc
#endif

/// Gives memory that the server has freed back to the kernel, so that its resident size follows what it holds.
///
/// glibc keeps freed memory in its heaps for reuse. Two of its habits keep a server's transient memory resident
/// after a burst: a freed large buffer (the log's zero-fill, a snapshot's) raises the size from which buffers get
/// their own mapping, so that later large buffers come from the heap and stay there once freed; and what a burst of
/// pipelined writes held meanwhile (requests, replies waiting for the fsync, log batches) is freed between znodes
/// allocated after it, where the heap's top cannot shrink. Measured with 10,000 znodes of 100 bytes created in
/// pipelined batches (BENCHMARKS.md, "Memory per znode"), that was 1–1.5 MB, as much as the znodes themselves.
///
/// The fix has two parts: the process keeps glibc's initial mapping threshold (`configureProcess`), and the server
/// returns whole free pages (`malloc_trim`) where transient memory has just been freed in bulk: at the end of a
/// write burst, when the log has caught up after many transactions, and shortly after connections close (at most
/// one release per `delayAfterClose`, however many close). Elsewhere than glibc both do nothing.
public struct HeapRelease {
    /// Transactions since the last release after which the log catching up releases again: a server taking one
    /// write at a time releases once per this many writes, at a few hundred microseconds each.
    static let transactionsBetweenReleases: Int64 = 1000
    /// How long after a connection closes its memory is released: the connections that close meanwhile share it.
    static let delayAfterClose: Int64 = 100

    private var lastReleaseZxid: Int64
    /// A release after closed connections is scheduled.
    private var scheduled = false

    init(lastZxid: Int64) {
        lastReleaseZxid = lastZxid
    }

    /// Whether the log catching up at `zxid` ends a burst worth a release now.
    mutating func logCaughtUp(at zxid: Int64) -> Bool {
        guard zxid - lastReleaseZxid >= Self.transactionsBetweenReleases else { return false }
        lastReleaseZxid = zxid
        return true
    }

    /// Whether a connection's closing should schedule a release in `delayAfterClose` ms (none is scheduled yet).
    mutating func connectionClosed() -> Bool {
        guard !scheduled else { return false }
        scheduled = true
        return true
    }

    /// The scheduled release runs, with the log at `zxid`.
    mutating func scheduledReleaseRuns(at zxid: Int64) {
        scheduled = false
        lastReleaseZxid = zxid
    }

    /// Returns the heap's whole free pages to the kernel (`malloc_trim(0)`, every arena).
    static func releaseFreePages() {
        _ = glibc.trim?(0)
    }

    /// Keeps glibc's initial mmap threshold (128 KiB) for the whole process: a buffer that large gets its own
    /// mapping, returned when freed, however large the buffers freed before it. Called once, before serving.
    public static func configureProcess() {
        _ = glibc.option?(glibcMmapThreshold, 128 * 1024)
    }

    /// `M_MMAP_THRESHOLD` of glibc's `<malloc.h>`.
    private static let glibcMmapThreshold: Int32 = -3

    /// glibc's `malloc_trim` and `mallopt`, looked up at run time: `<malloc.h>` is not part of the Glibc module.
    private static let glibc:
        (trim: (@convention(c) (Int) -> Int32)?, option: (@convention(c) (Int32, Int32) -> Int32)?) = {
            #if canImport(Glibc)
                guard let process = dlopen(nil, RTLD_NOW) else { return (nil, nil) }
                return (
                    dlsym(process, "malloc_trim").map { unsafeBitCast($0, to: (@convention(c) (Int) -> Int32).self) },
                    dlsym(process, "mallopt").map {
                        unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self)
                    }
                )
            #else
                return (nil, nil)
            #endif
        }()
}
