#if canImport(Glibc)
    import Glibc
#endif

/// Gives memory that the server has freed back to the kernel, so that its resident size follows what it holds.
///
/// glibc keeps freed memory in its heaps for reuse. What a burst of pipelined writes held meanwhile (requests,
/// replies waiting for the fsync, log batches, large buffers that glibc's raised mmap threshold puts in the heap)
/// is freed between znodes allocated after it, where the heap's top cannot shrink; the same goes for the buffers of
/// connections that close. Measured with 10,000 znodes of 100 bytes created in pipelined batches (BENCHMARKS.md,
/// "Round two: one allocation per znode"), that was 1–1.5 MB, as much as the znodes themselves.
///
/// The server returns whole free pages (`malloc_trim`) where transient memory has just been freed in bulk: at the
/// end of a write burst, when the log has caught up after many transactions, and shortly after connections close
/// (at most one release per `delayAfterClose`, however many close). Elsewhere than glibc this does nothing.
/// (Keeping glibc's mmap threshold at 128 KiB as well kept 1 MB buffers out of the heap, but made a 1 MB getData
/// 4x slower: each reply buffer then had its pages mapped, faulted in and unmapped again.)
struct HeapRelease {
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
        _ = trim?(0)
    }

    /// glibc's `malloc_trim`, looked up at run time: `<malloc.h>` is not part of the Glibc module.
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()
}

/// glibc's malloc arenas. By default each thread that meets another in the allocator gets an arena (heap) of its own,
/// up to eight per core: the event loop that holds the tree then fills a fresh arena of its own while the free
/// memory that start-up left in the main one stays resident and unused, and each arena keeps its own scraps. With
/// one arena the tree reuses that memory first: RSS per znode of 100 B went from 204–207 to 193 B at 100,000 znodes
/// (BENCHMARKS.md), with no loss of pipelined throughput measurable here (glibc's per-thread caches serve most
/// small allocations without taking the arena's lock).
public enum MallocArenas {
    /// Limits the process to one arena. Call it first thing on the main thread: glibc fixes its arena limit when a
    /// second thread first allocates, and later calls do nothing. Does nothing elsewhere than glibc, or when the
    /// environment already sets `MALLOC_ARENA_MAX`.
    public static func limitToOne() {
        #if canImport(Glibc)
            guard getenv("MALLOC_ARENA_MAX") == nil, let process = dlopen(nil, RTLD_NOW),
                let symbol = dlsym(process, "mallopt")
            else { return }
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            // M_ARENA_MAX in <malloc.h>, which is not part of the Glibc module.
            let arenaMaximum: Int32 = -8
            _ = mallopt(arenaMaximum, 1)
        #endif
    }
}
