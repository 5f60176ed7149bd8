import PostgresNIO

/// A value bound to a statement placeholder.
protocol SQLArgument: Sendable {
    func bind(to bindings: inout PostgresBindings)
    /// Whether this is text holding U+0000, which no PostgreSQL text value can hold.
    var containsNUL: Bool { get }
}

extension SQLArgument {
    var containsNUL: Bool { false }
}

extension String: SQLArgument {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
    var containsNUL: Bool { utf8.contains(0) }
}

extension Int64: SQLArgument {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Int: SQLArgument {
    /// Always `bigint`: every integer column of the schema is one.
    func bind(to bindings: inout PostgresBindings) { bindings.append(Int64(self)) }
}

extension Bool: SQLArgument {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Optional: SQLArgument where Wrapped: SQLArgument {
    func bind(to bindings: inout PostgresBindings) {
        switch self {
        case .some(let value): value.bind(to: &bindings)
        case .none: bindings.appendNull()
        }
    }

    var containsNUL: Bool { self?.containsNUL ?? false }
}

/// Turns the SQLite store's statement style into a PostgreSQL query.
enum PostgresSQL {
    /// `sql` with `?` placeholders numbered `$1, $2, …` in order and `?N` written `$N`, and the
    /// arguments bound. Placeholders inside quoted literals are left alone.
    /// - Parameters:
    ///   - sql: the statement text (from code only).
    ///   - arguments: the values.
    static func query(_ sql: String, _ arguments: [any SQLArgument]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments { argument.bind(to: &bindings) }
        return PostgresQuery(unsafeSQL: numbered(sql), binds: bindings)
    }

    /// The placeholder rewrite of ``query(_:_:)``.
    /// - Parameter sql: statement text with `?` / `?N` placeholders.
    static func numbered(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var inQuote = false
        var characters = sql.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if character == "'" { inQuote.toggle() }
            guard character == "?", !inQuote else {
                output.append(character)
                continue
            }
            var digits = ""
            while let digit = pending, digit.isASCII, digit.isNumber {
                digits.append(digit)
                pending = characters.next()
            }
            if digits.isEmpty {
                output += "$\(next)"
                next += 1
            } else {
                output += "$" + digits
            }
        }
        return output
    }
}
