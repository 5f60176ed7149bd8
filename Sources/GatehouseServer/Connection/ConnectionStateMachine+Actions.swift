import GatehouseCore
import NIOCore

extension ConnectionStateMachine {
    /// What the handler does after an event. Each case says everything needed to do it, so the
    /// handler never looks at the state to decide.
    enum Action {
        case none
        /// Close the channel now (HTTP/1: the connection; HTTP/2: reset the stream), after giving
        /// the attached upstream connection back as not reusable when `releaseUpstream`.
        case close(releaseUpstream: Bool)
        /// Write a whole response from Gatehouse, then report ``ConnectionStateMachine/responseWritten(now:)``.
        case respond(Respond)
        /// Ask the local service for its answer (then ``ConnectionStateMachine/localResponse(_:generation:)``).
        case runLocal(LocalServiceName, body: ByteBuffer)
        /// Take a connection from the upstream pool, avoiding the member that failed last (then
        /// ``ConnectionStateMachine/upstreamAttached(member:description:reused:now:)`` or
        /// ``ConnectionStateMachine/upstreamConnectFailed(member:upstream:)``). `retrying` is the
        /// error that made this a retry.
        case acquireUpstream(avoiding: Int?, retrying: ProxyError?)
        /// Write a piece of the request body upstream (flushed at the end of the read).
        case writeUpstreamBody(ByteBuffer)
        /// Write and flush the end of the request upstream.
        case writeUpstreamEnd
        /// Let the edge token check read the whole form-encoded body (``ProxyPlan/Start/awaitFormBody``),
        /// then report with ``ConnectionStateMachine/tokenChecked(forward:generation:)`` or
        /// ``ConnectionStateMachine/tokenRefused(_:logError:generation:)``.
        case checkFormBody([ByteBuffer])
        /// The exchange is over: log it, then arm the wait timer and go on as `Finish` says.
        case finish(Finish)
        /// Drop every queued pipelined part (the state machine has forgotten them already).
        case dropQueue
        case scheduleWaitTimer(in: TimeAmount)
        case scheduleBodyTimer(in: TimeAmount)
    }

    /// A response from Gatehouse itself.
    struct Respond {
        var response: LocalResponse
        /// HTTP/1: the head says `Connection: close`.
        var connectionClose: Bool
        /// A HEAD request: the body is not written (its length is).
        var omitBody: Bool
        /// Close the channel once the end is written.
        var closeAfterEnd: Bool
        /// First give the attached upstream connection back, not reusable.
        var releaseUpstream = false
        /// Afterwards, replay a held read (the rest of the body is drained or the close is read).
        var resumeReadAfter = false
        /// The proxy failure being answered (logged as a warning).
        var proxyError: ProxyError?
    }

    /// What follows a finished exchange.
    struct Finish {
        /// The wait timer to schedule (HTTP/1 keep-alive, when it is not running).
        var scheduleWaitTimer: TimeAmount?
        var next: Next
    }

    /// How the connection goes on.
    enum Next {
        case none
        /// Replay a held read, if reading is useful now (``ConnectionStateMachine/resumeRead(downstreamWritable:upstreamWritable:now:)``).
        case resumeRead
        /// Hand queued pipelined parts over now.
        case drainQueue
        /// Hand queued pipelined parts over on the next loop tick (not inside a write path).
        case drainQueueNextTick
    }

    /// What to do with a request part that arrived.
    enum PartDisposition: Equatable {
        /// Handle it now.
        case handle
        /// Keep it, in order, for ``ConnectionStateMachine/dequeue(isHead:downstreamWritable:)``.
        case queue
        /// Ignore it (the connection is closing).
        case drop
        /// Too many queued requests: drop the queue, and close now or after the current response.
        case overflow(closeNow: Bool)
    }

    /// What the end of a read leads to.
    struct ReadCompleteAction {
        var scheduleBodyTimer: TimeAmount?
        var drainQueueNextTick = false
        var flushUpstream = false
    }

    /// What the client's going away leads to.
    struct ClosedAction {
        /// Give the attached upstream connection back, not reusable.
        var releaseUpstream: Bool
        /// Log the unfinished exchange.
        var log: Bool
    }

    /// What an upstream response head leads to.
    enum ForwardHead {
        /// A 1xx: not relayed (Gatehouse answered `Expect` itself).
        case ignore
        /// Rewrite and write it to the client, with `Connection: close` when told.
        case forward(connectionClose: Bool)
    }

    /// The end of an upstream response: the connection goes back to the pool (kept when
    /// `reusable`), the end is written to the client (closing after it when told), then
    /// ``ConnectionStateMachine/responseWritten(now:)``.
    struct EndResponse {
        var reusable: Bool
        var closeAfterEnd: Bool
    }

    /// What to send on a newly attached upstream connection: its head, then `body`, then the end
    /// when `end`; then flush, arm the upstream timer when told, and replay a held read.
    struct SendUpstream {
        var body: [ByteBuffer]
        var end: Bool
        var scheduleUpstreamTimer: TimeAmount?
    }

    /// What the upstream timer leads to.
    enum UpstreamTimeout {
        case none
        case rearm(in: TimeAmount)
        /// Give the connection back, not reusable, then do this.
        case timedOut(Action)
    }
}
