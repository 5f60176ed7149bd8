extension SynapseClient.Configuration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The configuration with the secret left out, safe to log.
    public var description: String {
        "SynapseClient.Configuration(endpoint: \(endpoint), secret: <redacted>, requestTimeout: \(requestTimeout), "
            + "connectTimeout: \(connectTimeout), maxConnections: \(maxConnections), "
            + "retryConnectionEstablishment: \(retryConnectionEstablishment))"
    }

    public var debugDescription: String { description }

    /// Keeps `dump()` and the like from printing the secret.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "endpoint": endpoint, "secret": "<redacted>", "requestTimeout": requestTimeout, "connectTimeout": connectTimeout,
                "maxConnections": maxConnections, "retryConnectionEstablishment": retryConnectionEstablishment,
            ])
    }
}
