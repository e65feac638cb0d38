@_exported import CGSSAPIShim

/// What the Kerberos client (ZooKeeper) and acceptor (ZooKeeperServer) both do with the GSS-API library's
/// functions: copy out the buffers it allocates, and put its names and status codes into words.
extension zk_gss_functions {
    /// The routine-error and calling-error bits of a major status: any of them set means the call failed.
    public static let errorMask: UInt32 = 0xffff_0000

    /// Copies a buffer the library allocated, and frees it.
    public func take(_ buffer: inout zk_gss_buffer) -> [UInt8] {
        guard let value = buffer.value else { return [] }
        let bytes = Array(UnsafeRawBufferPointer(start: value, count: buffer.length))
        var minor: UInt32 = 0
        _ = release_buffer!(&minor, &buffer)
        return bytes
    }

    /// A name as the library prints it (`alice@REALM`); nil when it cannot.
    public func displayName(_ name: zk_gss_name?) -> String? {
        guard let name else { return nil }
        var minor: UInt32 = 0
        var output = zk_gss_buffer(length: 0, value: nil)
        guard display_name!(&minor, name, &output, nil) & Self.errorMask == 0 else { return nil }
        return String(decoding: take(&output), as: UTF8.self)
    }

    /// The library's own words for a status code (`type` 1: a major status, 2: a Kerberos minor status).
    public func statusText(_ status: UInt32, type: Int32) -> String {
        var messages: [String] = []
        var context: UInt32 = 0
        repeat {
            var minor: UInt32 = 0
            var output = zk_gss_buffer(length: 0, value: nil)
            let major = display_status!(&minor, status, type, zk_gss_mech_krb5(), &context, &output)
            if major & Self.errorMask != 0 { break }
            messages.append(String(decoding: take(&output), as: UTF8.self))
        } while context != 0 && messages.count < 4
        return messages.joined(separator: "; ")
    }
}
