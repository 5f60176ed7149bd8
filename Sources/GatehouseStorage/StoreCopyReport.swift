/// What a copy did, per table in copy order.
public struct StoreCopyReport: Sendable {
    public struct Table: Sendable, Equatable {
        public let name: String
        /// Rows in the source (each now in the target).
        public let sourceRows: Int
        /// Rows this run inserted.
        public let copied: Int
        /// Rows the target already had, with the same values.
        public let alreadyPresent: Int
    }

    public let tables: [Table]

    /// Whether this run changed the target.
    public var copiedAnything: Bool { tables.contains { $0.copied > 0 } }
}
