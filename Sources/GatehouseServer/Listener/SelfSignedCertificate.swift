import Crypto
import Foundation
import X509

/// A self-signed certificate for development (`gatehouse config generate` without `--certificate`).
public enum SelfSignedCertificate {
    /// - Parameters:
    ///   - hostNames: DNS names the certificate is valid for; the first is also the common name.
    ///   - validDays: how long it is valid.
    ///   - now: the issuing time.
    /// - Returns: the PEM certificate and the PEM (PKCS#8) P-256 private key.
    public static func make(hostNames: [String], validDays: Int = 365, now: Date = Date()) throws -> (certificatePEM: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName(hostNames.first ?? "localhost")
            OrganizationName("Gatehouse development certificate")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(hostNames.map { GeneralName.dnsName($0) })
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Double(validDays) * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
