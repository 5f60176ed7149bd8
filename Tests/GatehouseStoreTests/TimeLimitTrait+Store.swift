import Testing

extension Trait where Self == TimeLimitTrait {
    /// The time limit of the store suites: a hung store call fails its test instead of the whole
    /// run. Generous, because it also counts the wait for a PostgreSQL test database, which the
    /// store, service and compat tests share (``PostgresTestServer``) when the whole suite runs.
    static var storeTimeLimit: Self { .timeLimit(.minutes(5)) }
}
