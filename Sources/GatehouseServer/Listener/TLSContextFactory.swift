import GatehouseCore
import NIOSSL

/// Builds the server TLS context for a listener.
///
/// The library default still offers CBC suites, so the suite list is set explicitly to the AEAD suites
/// of Mozilla's "intermediate" profile; TLS 1.3 suites are fixed by BoringSSL and all AEAD.
public enum TLSContextFactory {
    /// TLS 1.2 suites offered, strongest first (ECDHE + AEAD only).
    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// - Parameter files: the listener's certificate and key files.
    /// - Returns: a context offering TLS 1.2–1.3, AEAD suites, X25519/P-256/P-384 and ALPN h2 + http/1.1.
    public static func makeServerContext(_ files: TLSFilesConfiguration) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        guard !chain.isEmpty else {
            throw ConfigurationError(keyPath: "http.listeners[].tls.certificate_file", problem: "\(files.certificateFile) holds no PEM certificate")
        }
        let key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuiteValues = tls12CipherSuites
        configuration.curves = [.x25519, .secp256r1, .secp384r1]
        configuration.applicationProtocols = ["h2", "http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}
