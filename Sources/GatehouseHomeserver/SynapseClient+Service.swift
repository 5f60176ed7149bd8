import ServiceLifecycle

extension SynapseClient: Service {
    /// Waits for graceful shutdown, then closes the connection pool. Put the client before its users
    /// (the ``JobRunner``, the server) in the `ServiceGroup`: services stop in reverse order, so the
    /// pool closes last.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }
}
