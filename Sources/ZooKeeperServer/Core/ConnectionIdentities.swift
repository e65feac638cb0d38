import ZooKeeperProtocol

/// The ids a connection has authenticated as (`ip:<address>` from the start, then what `addauth` adds), listed in
/// the order Apache lists them.
///
/// Apache keeps them in a set backed by a `ConcurrentHashMap` (`ServerCnxn.authInfo`), so `whoami` and the
/// expansion of `auth` ACL entries follow hash-bucket order, not the order of authentication: after
/// `addauth digest alice:…` Apache 3.8 lists `digest: alice` before `ip: 127.0.0.1`. Clients and scripts compare
/// those lists, so the same order is reproduced here from the same hashes.
struct ConnectionIdentities: Sendable {
    /// In Apache's iteration order.
    private(set) var ids: [Id]
    private var insertionOrder: [Id]

    init(_ first: Id) {
        ids = [first]
        insertionOrder = [first]
    }

    /// Adds `id` unless it is already there (a set).
    mutating func insert(_ id: Id) {
        guard !insertionOrder.contains(id) else { return }
        insertionOrder.append(id)
        ids = JavaHashOrder.concurrentHashMapOrder(insertionOrder, hash: JavaHashOrder.hash(of:))
    }
}

/// The Java hashes and `ConcurrentHashMap` layout that decide Apache's iteration orders.
enum JavaHashOrder {
    /// `String.hashCode`: over UTF-16 code units, `h = 31·h + c`, wrapping.
    static func hash(of string: String) -> Int32 {
        var hash: Int32 = 0
        for unit in string.utf16 { hash = 31 &* hash &+ Int32(unit) }
        return hash
    }

    /// The jute-generated `Id.hashCode`.
    static func hash(of id: Id) -> Int32 {
        var result: Int32 = 17
        result = 37 &* result &+ hash(of: id.scheme)
        result = 37 &* result &+ hash(of: id.id)
        return result
    }

    /// The iteration order of a default `ConcurrentHashMap` into which `elements` were put in this order: bins
    /// in index order, each bin in insertion order; 16 bins, doubled each time the count reaches three quarters,
    /// where a bin splits as `transfer` splits it (the tail run that stays together keeps its order and the nodes
    /// before it are put in front of it, reversed). Bins long enough to become trees need more elements in one
    /// bin than a connection ever has ids, and are not modelled.
    static func concurrentHashMapOrder<Element>(_ elements: [Element], hash: (Element) -> Int32) -> [Element] {
        var bins: [[(spread: Int32, element: Element)]] = Array(repeating: [], count: 16)
        var threshold = 12
        var count = 0
        for element in elements {
            let raw = hash(element)
            let spread = (raw ^ Int32(bitPattern: UInt32(bitPattern: raw) >> 16)) & 0x7FFF_FFFF
            bins[Int(spread) & (bins.count - 1)].append((spread, element))
            count += 1
            if count >= threshold {
                let size = bins.count
                var grown: [[(spread: Int32, element: Element)]] = Array(repeating: [], count: size * 2)
                for (index, bin) in bins.enumerated() where !bin.isEmpty {
                    func isHigh(_ node: (spread: Int32, element: Element)) -> Bool { Int(node.spread) & size != 0 }
                    var lastRun = bin.count - 1
                    while lastRun > 0 && isHigh(bin[lastRun - 1]) == isHigh(bin[lastRun]) { lastRun -= 1 }
                    var low: [(spread: Int32, element: Element)] = []
                    var high: [(spread: Int32, element: Element)] = []
                    if isHigh(bin[lastRun]) {
                        high = Array(bin[lastRun...])
                    } else {
                        low = Array(bin[lastRun...])
                    }
                    for node in bin[..<lastRun] {
                        if isHigh(node) { high.insert(node, at: 0) } else { low.insert(node, at: 0) }
                    }
                    grown[index] = low
                    grown[index + size] = high
                }
                bins = grown
                threshold = bins.count - bins.count / 4
            }
        }
        return bins.flatMap { $0.map(\.element) }
    }
}
