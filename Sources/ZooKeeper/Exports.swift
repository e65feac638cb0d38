@_exported import ZooKeeperTLS

// The protocol types a client's user handles, re-exported one by one: `import ZooKeeper` is enough to create nodes
// with an ACL and a mode, read a Stat, catch a ZooKeeperError and follow watch events. The wire records, opcodes,
// the frame decoder and the jute codecs stay in ZooKeeperProtocol: import it to speak the protocol yourself.
@_exported import struct ZooKeeperProtocol.ACL
@_exported import enum ZooKeeperProtocol.AddWatchMode
@_exported import struct ZooKeeperProtocol.ClientInfo
@_exported import enum ZooKeeperProtocol.CreateMode
@_exported import struct ZooKeeperProtocol.EventType
@_exported import struct ZooKeeperProtocol.Id
@_exported import struct ZooKeeperProtocol.JAASConfiguration
@_exported import struct ZooKeeperProtocol.KeeperState
@_exported import enum ZooKeeperProtocol.MultiResult
@_exported import struct ZooKeeperProtocol.Permissions
@_exported import struct ZooKeeperProtocol.Stat
@_exported import struct ZooKeeperProtocol.WatcherType
@_exported import struct ZooKeeperProtocol.ZooKeeperError
@_exported import enum ZooKeeperProtocol.ZooKeeperPath
