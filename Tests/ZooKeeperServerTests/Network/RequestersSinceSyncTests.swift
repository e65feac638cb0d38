import Testing

@testable import ZooKeeperServer

@Suite struct RequestersSinceSyncTests {
    @Test func oneConnectionAloneIsASoleClient() {
        var requesters = RequestersSinceSync()
        requesters.requestArrived(on: ConnectionID(3))
        requesters.requestArrived(on: ConnectionID(3))
        let sole = requesters.syncBegins()
        #expect(sole)
    }

    @Test func aSecondConnectionMeansNotAlone() {
        var requesters = RequestersSinceSync()
        requesters.requestArrived(on: ConnectionID(3))
        requesters.requestArrived(on: ConnectionID(4))
        requesters.requestArrived(on: ConnectionID(3))
        let sole = requesters.syncBegins()
        #expect(!sole)
    }

    @Test func noRequestIsNotKnownToBeAlone() {
        var requesters = RequestersSinceSync()
        let sole = requesters.syncBegins()
        #expect(!sole)
    }

    /// Each sync looks at the requests since the previous one began: another client that went quiet no longer counts.
    @Test func countingStartsAgainAtEachSync() {
        var requesters = RequestersSinceSync()
        requesters.requestArrived(on: ConnectionID(3))
        requesters.requestArrived(on: ConnectionID(4))
        let first = requesters.syncBegins()
        requesters.requestArrived(on: ConnectionID(3))
        let second = requesters.syncBegins()
        let third = requesters.syncBegins()
        #expect(!first && second && !third)
    }
}
