import NIOCore

/// The deadlines of a ``GatewayHandler``'s three timers (waiting for a request, the body's pace, the
/// upstream's answer) behind one NIO scheduled callback at the earliest of them.
///
/// `scheduleTask` costs five allocations (a promise, its future, two closures and the task's box);
/// a scheduled callback whose handler is one reference costs none. HTTP/2 arms the upstream timer
/// once per stream, so that is five allocations per request saved. A callback that fires with
/// nothing due (a deadline was moved later or disarmed while an earlier callback stayed scheduled)
/// only schedules the next one: disarming never pays for a cancellation unless nothing is left.
///
/// An HTTP/2 stream's handler schedules no callback of its own: its connection's one timer calls it
/// by the deadline it asked for (``HTTP2GatewayHandler/scheduleStreamTimer(at:)``), and the stream
/// records that deadline here with no callback.
struct GatewayTimers {
    enum Kind {
        case wait, body, upstream
    }

    private var wait: NIODeadline?
    private var body: NIODeadline?
    private var upstream: NIODeadline?
    /// The scheduled callback and when it fires (no callback: the HTTP/2 connection's timer calls by then).
    private var scheduled: (callback: NIOScheduledCallback?, at: NIODeadline)?

    /// Sets `kind` to fire at `deadline`.
    /// - Returns: when a callback must be scheduled (none is, or the one scheduled fires later).
    mutating func arm(_ kind: Kind, at deadline: NIODeadline) -> NIODeadline? {
        switch kind {
        case .wait: wait = deadline
        case .body: body = deadline
        case .upstream: upstream = deadline
        }
        if let scheduled, scheduled.at <= deadline { return nil }
        return deadline
    }

    /// Clears `kind`.
    /// - Returns: the scheduled callback to cancel once no deadline is left (so the handler is not
    ///   kept alive by it).
    mutating func disarm(_ kind: Kind) -> NIOScheduledCallback? {
        switch kind {
        case .wait: wait = nil
        case .body: body = nil
        case .upstream: upstream = nil
        }
        guard wait == nil, body == nil, upstream == nil, let scheduled else { return nil }
        self.scheduled = nil
        return scheduled.callback
    }

    /// When the callback (or the connection's timer) is due to call, if it is.
    var scheduledAt: NIODeadline? { scheduled?.at }

    /// Records the callback scheduled for `at`, replacing one that fired or was cancelled.
    /// - Returns: the callback it replaces, to cancel.
    mutating func scheduled(_ callback: NIOScheduledCallback?, at: NIODeadline) -> NIOScheduledCallback? {
        let replaced = scheduled?.callback ?? nil
        scheduled = (callback, at)
        return replaced
    }

    /// The callback fired: it is no longer scheduled.
    mutating func callbackFired() {
        scheduled = nil
    }

    /// Takes the next deadline due at `now` (disarming it), earliest kind first.
    mutating func takeDue(now: NIODeadline) -> Kind? {
        if let deadline = wait, deadline <= now {
            wait = nil
            return .wait
        }
        if let deadline = body, deadline <= now {
            body = nil
            return .body
        }
        if let deadline = upstream, deadline <= now {
            upstream = nil
            return .upstream
        }
        return nil
    }

    /// The earliest deadline, when a callback must be scheduled for it (none is, or it fires later).
    var unscheduledEarliest: NIODeadline? {
        guard let earliest = Self.earlier(Self.earlier(wait, body), upstream) else { return nil }
        if let scheduled, scheduled.at <= earliest { return nil }
        return earliest
    }

    private static func earlier(_ a: NIODeadline?, _ b: NIODeadline?) -> NIODeadline? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }
}

/// The scheduled callback of a ``GatewayHandler``: one reference, so it fits in the event loop's task
/// without a box of its own.
///
/// `@unchecked Sendable`: NIO calls it on the event loop it was scheduled on, which is the handler's.
struct GatewayTimerCallback: NIOScheduledCallbackHandler, @unchecked Sendable {
    let handler: GatewayHandler

    func handleScheduledCallback(eventLoop: some EventLoop) {
        handler.timerCallbackFired()
    }
}
