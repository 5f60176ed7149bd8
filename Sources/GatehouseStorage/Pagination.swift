/// Which slice of an id-ordered list to read: cursor pagination as in MAS's storage (`Pagination`).
///
/// Rows are ordered by id (ULIDs, so by creation time). Cursors are ids: `after` and `before` are
/// exclusive bounds, `first` reads forward from the low end, `last` backward from the high end, so a
/// client pages forward with `after` = the last id it saw and backward with `before` = the first.
public struct Pagination: Sendable, Equatable {
    public enum Direction: Sendable, Equatable {
        /// The `count` lowest ids inside the bounds.
        case forward
        /// The `count` highest ids inside the bounds (returned in ascending order).
        case backward
    }

    public var direction: Direction
    /// How many rows at most.
    public var count: Int
    /// Only ids greater than this.
    public var after: String?
    /// Only ids less than this.
    public var before: String?

    /// - Parameters:
    ///   - direction: which end to read from.
    ///   - count: the page size (at least 1).
    ///   - after: exclusive lower bound.
    ///   - before: exclusive upper bound.
    public init(direction: Direction = .forward, count: Int, after: String? = nil, before: String? = nil) {
        self.direction = direction
        self.count = count
        self.after = after
        self.before = before
    }
}

/// One page of rows, in ascending id order.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// More rows exist after the last item (known when reading forward).
    public var hasNextPage: Bool
    /// More rows exist before the first item (known when reading backward).
    public var hasPreviousPage: Bool

    /// - Parameters:
    ///   - items: the rows, ascending.
    ///   - hasNextPage: whether rows follow.
    ///   - hasPreviousPage: whether rows precede.
    public init(items: [Item], hasNextPage: Bool, hasPreviousPage: Bool) {
        self.items = items
        self.hasNextPage = hasNextPage
        self.hasPreviousPage = hasPreviousPage
    }

    /// Builds the page from a query that read one row more than `request.count` in the request's
    /// direction (ascending forward, descending backward): the extra row says another page exists.
    /// - Parameters:
    ///   - rows: up to `count + 1` rows as read.
    ///   - request: the request they answer.
    public init(reading rows: [Item], for request: Pagination) {
        let more = rows.count > request.count
        let kept = Array(rows.prefix(request.count))
        switch request.direction {
        case .forward: self.init(items: kept, hasNextPage: more, hasPreviousPage: false)
        case .backward: self.init(items: kept.reversed(), hasNextPage: false, hasPreviousPage: more)
        }
    }

    /// The same page with its items transformed.
    /// - Parameter transform: applied to each item.
    public func map<Other: Sendable>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), hasNextPage: hasNextPage, hasPreviousPage: hasPreviousPage)
    }
}

/// Which users an administrator lists (`/api/admin/v1/users`).
public struct UserFilter: Sendable, Equatable {
    /// A user's state, as MAS's `filter[status]`.
    public enum Status: String, Sendable, CaseIterable {
        /// Neither locked nor deactivated.
        case active
        /// Locked (and not deactivated).
        case locked
        /// Deactivated.
        case deactivated
    }

    /// Only administrators (`true`) or only the others (`false`).
    public var admin: Bool?
    public var status: Status?
    /// Only usernames containing this text (case-insensitive for ASCII letters).
    public var search: String?

    public init(admin: Bool? = nil, status: Status? = nil, search: String? = nil) {
        self.admin = admin
        self.status = status
        self.search = search
    }
}

/// Which sessions (compat, OAuth 2.0 or browser) an administrator lists.
public struct SessionFilter: Sendable, Equatable {
    /// Finished or not.
    public enum Status: String, Sendable, CaseIterable {
        case active
        case finished
    }

    /// Only the sessions of this user (id).
    public var userId: String?
    /// Only the sessions of this OAuth 2.0 client (OAuth 2.0 sessions only).
    public var clientId: String?
    public var status: Status?

    public init(userId: String? = nil, clientId: String? = nil, status: Status? = nil) {
        self.userId = userId
        self.clientId = clientId
        self.status = status
    }
}

/// The paginated, filtered reads of the admin API. Each list is ordered by id; each count honours the
/// same filter. Every method is one read transaction.
public protocol AdminListingRepository: Sendable {
    func users(_ filter: UserFilter, page: Pagination) async throws -> Page<User>
    func countUsers(_ filter: UserFilter) async throws -> Int
    func compatSessions(_ filter: SessionFilter, page: Pagination) async throws -> Page<CompatSession>
    func countCompatSessions(_ filter: SessionFilter) async throws -> Int
    func oauth2Sessions(_ filter: SessionFilter, page: Pagination) async throws -> Page<OAuth2Session>
    func countOAuth2Sessions(_ filter: SessionFilter) async throws -> Int
    func browserSessions(_ filter: SessionFilter, page: Pagination) async throws -> Page<BrowserSession>
    func countBrowserSessions(_ filter: SessionFilter) async throws -> Int
}
