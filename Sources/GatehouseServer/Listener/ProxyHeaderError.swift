/// Why the first bytes of a connection on a `proxy_protocol` listener are not a valid PROXY protocol
/// header (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt). The spec wants any sequence
/// that does not match it exactly to abort the connection; the reason goes to the log.
struct ProxyHeaderError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case notAProxyHeader
        case v1LineTooLong
        case v1BadLineEnding
        case v1UnknownProtocol
        case v1Malformed
        case v1BadAddress
        case v1BadPort
        case v2UnsupportedVersion
        case v2UnknownCommand
        case v2UnknownFamily
        case v2TooLong
        case v2AddressBlockTooShort
        case v2BadTLV
    }

    private let code: Code

    /// Neither the v2 signature nor `PROXY ` (e.g. a client speaking TLS or HTTP straight to the listener).
    static let notAProxyHeader = ProxyHeaderError(code: .notAProxyHeader)
    /// v1: no CRLF within the first 107 bytes (§2.1).
    static let v1LineTooLong = ProxyHeaderError(code: .v1LineTooLong)
    /// v1: a CR or LF alone where only CRLF may end the line (§2.1).
    static let v1BadLineEnding = ProxyHeaderError(code: .v1BadLineEnding)
    /// v1: a protocol other than `TCP4`, `TCP6` or `UNKNOWN` (§2.1).
    static let v1UnknownProtocol = ProxyHeaderError(code: .v1UnknownProtocol)
    /// v1: not exactly `PROXY TCPn SRC DST SPORT DPORT` with single spaces, or a byte that is not printable US-ASCII.
    static let v1Malformed = ProxyHeaderError(code: .v1Malformed)
    /// v1: an address that is not in the canonical form of the announced family (no leading zeros in IPv4).
    static let v1BadAddress = ProxyHeaderError(code: .v1BadAddress)
    /// v1: a port outside 0...65535 or with a leading zero.
    static let v1BadPort = ProxyHeaderError(code: .v1BadPort)
    /// v2: a version other than 2 in the 13th byte (§2.2).
    static let v2UnsupportedVersion = ProxyHeaderError(code: .v2UnsupportedVersion)
    /// v2: a command other than `LOCAL` or `PROXY` (§2.2).
    static let v2UnknownCommand = ProxyHeaderError(code: .v2UnknownCommand)
    /// v2: an address family above `AF_UNIX` or a transport above `DGRAM` (§2.2).
    static let v2UnknownFamily = ProxyHeaderError(code: .v2UnknownFamily)
    /// v2: longer than ``ProxyHeaderParser/maxV2HeaderBytes``, the TCP segment the spec designs both formats to fit in.
    static let v2TooLong = ProxyHeaderError(code: .v2TooLong)
    /// v2: `PROXY` with a length shorter than its family's address block (12, 36 or 216 bytes).
    static let v2AddressBlockTooShort = ProxyHeaderError(code: .v2AddressBlockTooShort)
    /// v2: a TLV whose length runs past the end of the header (§2.2).
    static let v2BadTLV = ProxyHeaderError(code: .v2BadTLV)

    /// A fixed text for logs and metrics, without any byte of the header.
    var shortDescription: String {
        switch code {
        case .notAProxyHeader: "not a PROXY protocol header"
        case .v1LineTooLong: "v1 line longer than 107 bytes"
        case .v1BadLineEnding: "v1 line with a lone CR or LF"
        case .v1UnknownProtocol: "v1 protocol is not TCP4, TCP6 or UNKNOWN"
        case .v1Malformed: "malformed v1 line"
        case .v1BadAddress: "v1 address not in canonical form"
        case .v1BadPort: "v1 port not a decimal 0-65535"
        case .v2UnsupportedVersion: "v2 signature with an unsupported version"
        case .v2UnknownCommand: "v2 command is not LOCAL or PROXY"
        case .v2UnknownFamily: "v2 unknown address family or transport"
        case .v2TooLong: "v2 header longer than 536 bytes"
        case .v2AddressBlockTooShort: "v2 length shorter than the address block"
        case .v2BadTLV: "v2 TLV overruns the header"
        }
    }

    var description: String { shortDescription }
}
