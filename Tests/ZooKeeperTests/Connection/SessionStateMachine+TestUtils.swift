import NIOCore
import ZooKeeperProtocol

@testable import ZooKeeper

// Equality of actions, for tests only: production code never compares them (tokens are continuations).
extension SessionStateMachine.Action: Equatable where Token: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.openConnection(let a, let b, let c), .openConnection(let x, let y, let z)):
            a == x && b == y && c == z
        case (.closeConnection(let a), .closeConnection(let x)):
            a == x
        case (.send(let a, let b), .send(let x, let y)):
            a == x && b == y
        case (.complete(let a, let b), .complete(let x, let y)):
            a == x && b == y
        case (.deliver(let a, let b), .deliver(let x, let y)):
            a == x && b == y
        case (.stateChanged(let a, let b), .stateChanged(let x, let y)):
            a == x && b == y
        case (.probeForReadWriteServer(let a), .probeForReadWriteServer(let x)):
            a == x
        case (.finishWatchers, .finishWatchers):
            true
        case (.openConnection, _), (.closeConnection, _), (.send, _), (.complete, _), (.deliver, _),
            (.stateChanged, _), (.probeForReadWriteServer, _), (.finishWatchers, _):
            false
        }
    }
}
