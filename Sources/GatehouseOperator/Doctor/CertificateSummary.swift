import Foundation
import X509

#if canImport(Glibc)
import Glibc
#endif

/// What `doctor` needs to know about the public listener's certificate: the names it is valid for,
/// when it expires, and whether it signed itself (the development certificate `config generate`
/// writes).
public struct CertificateSummary: Sendable, Equatable {
    /// DNS names from the subjectAltName extension (RFC 5280 §4.2.1.6), `*.` wildcards included.
    public var dnsNames: [String]
    /// IP addresses from the subjectAltName extension, in their textual form.
    public var ipAddresses: [String]
    public var notValidBefore: Date
    public var notValidAfter: Date
    /// Issuer and subject are the same name.
    public var selfSigned: Bool
    /// The issuer's distinguished name, for the report.
    public var issuer: String

    /// - Parameters mirror the properties.
    public init(dnsNames: [String], ipAddresses: [String], notValidBefore: Date, notValidAfter: Date, selfSigned: Bool, issuer: String) {
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.notValidBefore = notValidBefore
        self.notValidAfter = notValidAfter
        self.selfSigned = selfSigned
        self.issuer = issuer
    }

    /// Reads a DER certificate.
    /// - Parameter der: the certificate's DER bytes.
    public init(der: [UInt8]) throws {
        let certificate = try Certificate(derEncoded: der)
        var dnsNames: [String] = []
        var ipAddresses: [String] = []
        for name in try certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let dns): dnsNames.append(dns)
            case .ipAddress(let octets): ipAddresses.append(Self.ipText(Array(octets.bytes)))
            default: break
            }
        }
        self.init(
            dnsNames: dnsNames, ipAddresses: ipAddresses, notValidBefore: certificate.notValidBefore,
            notValidAfter: certificate.notValidAfter, selfSigned: certificate.issuer == certificate.subject,
            issuer: String(describing: certificate.issuer))
    }

    /// Whether the certificate is valid for `host` (RFC 6125 §6.4: subjectAltName only, a `*` only
    /// as the whole left-most label, matching exactly one label; IP addresses only against IP
    /// entries).
    /// - Parameter host: the host of `http.public_base`, without brackets.
    public func isValid(for host: String) -> Bool {
        if let address = Self.normalizedIP(host) {
            return ipAddresses.contains { Self.normalizedIP($0) == address }
        }
        let wanted = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return dnsNames.contains { pattern in
            let pattern = pattern.lowercased()
            if pattern == wanted { return true }
            guard pattern.hasPrefix("*.") else { return false }
            let suffix = pattern.dropFirst(1)  // ".example.org"
            guard wanted.hasSuffix(suffix) else { return false }
            let label = wanted.dropLast(suffix.count)
            return !label.isEmpty && !label.contains(".")
        }
    }

    /// The names, for messages: `matrix.example.org, 127.0.0.1`.
    public var namesText: String {
        let names = dnsNames + ipAddresses
        return names.isEmpty ? "no subjectAltName" : names.joined(separator: ", ")
    }

    static func ipText(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard bytes.count == 4 || bytes.count == 16 else { return bytes.map { String($0) }.joined(separator: ".") }
        let converted = bytes.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in inet_ntop(family, raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil }
        }
        return converted ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    /// An IP address in one canonical form, or `nil` when `text` is not one.
    static func normalizedIP(_ text: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { ipText(Array($0)) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { ipText(Array($0)) } }
        return nil
    }
}

/// What `doctor` learnt from the TLS handshakes with the public URL.
public struct TLSInspection: Sendable, Equatable {
    /// The leaf certificate the server sent.
    public var certificate: CertificateSummary
    /// Why the chain does not verify against the system's roots (plus `--ca-file`); `nil` when it does.
    /// The host name is checked separately (``CertificateSummary/isValid(for:)``).
    public var trustFailure: String?

    /// - Parameters:
    ///   - certificate: the leaf.
    ///   - trustFailure: the verification error, or `nil`.
    public init(certificate: CertificateSummary, trustFailure: String?) {
        self.certificate = certificate
        self.trustFailure = trustFailure
    }
}
