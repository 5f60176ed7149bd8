import GatehouseCore

extension HomeserverConfig {
    /// Gatehouse's `passwords` and `account` sections for this Synapse, appended to the generated
    /// configuration: a bcrypt scheme with Synapse's rounds and pepper (and Unicode NFKC, as Synapse
    /// applies) so hashes imported from Synapse verify, below an argon2id scheme that rehashes each
    /// password at its next login; registration as Synapse had it.
    /// - Parameter pepperFile: the file holding `password_config.pepper`, when there is one.
    public func gatehouseSections(pepperFile: String?) -> String {
        let settings = passwords
        // A Synapse that already delegates has password_config.enabled off by necessity: that says
        // nothing about whether its users had passwords, so Gatehouse keeps password login on.
        let enabled = settings.enabled || delegatesAuthentication
        var bcrypt = "    - {version: 1, algorithm: bcrypt, cost: \(settings.bcryptRounds), unicode_normalization: true"
        if let pepperFile { bcrypt += ", secret_file: \(JSONText.quote(pepperFile))" }
        bcrypt += "}"
        return """

            # From Synapse's password_config and bcrypt_rounds (`config generate --synapse-config`): hashes imported
            # from Synapse verify with the bcrypt scheme; each is rehashed with argon2id (the highest version) at the
            # user's next login. Keep the bcrypt scheme until every imported password has been rehashed.
            passwords:
              enabled: \(enabled)
              schemes:
            \(bcrypt)
                - {version: 2, algorithm: argon2id}

            # From Synapse's enable_registration.
            account:
              password_registration_enabled: \(registrationEnabled)

            """
    }

    /// Synapse's `matrix_authentication_service` section that matches a generated Gatehouse
    /// configuration.
    /// - Parameters:
    ///   - endpoint: Gatehouse's URL as Synapse reaches it.
    ///   - secretPath: the shared secret file (Synapse reads it once, at start).
    public static func matrixAuthenticationServiceSnippet(endpoint: String, secretPath: String) -> String {
        """
        matrix_authentication_service:
          enabled: true
          endpoint: \(JSONText.quote(endpoint))
          secret_path: \(JSONText.quote(secretPath))
        """
    }
}
