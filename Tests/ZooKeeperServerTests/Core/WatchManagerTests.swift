import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// The watcher-set sizes behind `node_*_watch_count`, as Apache's two watch tables find them (persistent and
/// recursive watches sit in both; recursive ones never fire for a change of children).
struct WatchManagerTests {
    let one = ConnectionID(1)
    let two = ConnectionID(2)
    let three = ConnectionID(3)

    @Test func aDeletedNodeIsOneTriggerPerTableThatFindsSomeone() {
        var watches = WatchManager()
        watches.add(.data, path: "/a", connection: one)
        watches.add(.child, path: "/a", connection: one)
        watches.add(.child, path: "/a", connection: two)
        #expect(watches.apacheTriggerSizes(.nodeDeleted, path: "/a") == [1, 2])
        #expect(watches.apacheTriggerSizes(.nodeDeleted, path: "/b").isEmpty)
    }

    @Test func persistentAndRecursiveWatchesCountInBothTables() {
        var watches = WatchManager()
        watches.add(.persistent, path: "/a", connection: one)
        watches.add(.persistentRecursive, path: "/", connection: two)
        watches.add(.data, path: "/a", connection: three)
        // Data table: the data watch, the persistent one and the recursive one above.
        #expect(watches.apacheTriggerSizes(.nodeDataChanged, path: "/a") == [3])
        #expect(watches.apacheTriggerSizes(.nodeCreated, path: "/a/b") == [1])
        // Child table: the persistent watch only; recursive watches skip NodeChildrenChanged.
        #expect(watches.apacheTriggerSizes(.nodeChildrenChanged, path: "/a") == [1])
        // Deleted: both tables, each with the persistent and recursive watchers.
        #expect(watches.apacheTriggerSizes(.nodeDeleted, path: "/a") == [3, 2])
    }
}
