/// What a PROXY protocol header (HAProxy's `send-proxy` / `send-proxy-v2`) says about a connection
/// that a load balancer relays to a `proxy_protocol` listener: the client the balancer accepted it
/// from.
struct ProxyHeader: Sendable, Equatable {
    /// The client's IP address in ``GatehouseCore/ClientAddress``'s normal form; `nil` when the
    /// header says to keep the TCP peer's own address: a v2 `LOCAL` command (the balancer's health
    /// check), a v1 `UNKNOWN` line, or a v2 family Gatehouse does not take an address from
    /// (`AF_UNSPEC`, `AF_UNIX`, UDP), which the spec says to treat as unspecified.
    var clientAddress: String?
    /// 1 (the text line) or 2 (the binary header), for the log.
    var version: Int
}

/// The outcome of reading the first bytes of a connection as a PROXY protocol header.
enum ProxyHeaderParse: Sendable, Equatable {
    /// The bytes so far are a valid beginning of a header; wait for more.
    case incomplete
    /// A complete header of `length` bytes; what follows it belongs to the next protocol (TLS or HTTP).
    case header(ProxyHeader, length: Int)
    /// Not a valid header: the connection must be closed without reading further.
    case refused(ProxyHeaderError)
}
