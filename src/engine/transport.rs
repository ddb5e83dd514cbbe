//! The transport seam: how the scheduler sends one request, and what comes back.
//!
//! The browser implementation is in `fetch.rs`; tests use a fake one on a virtual clock.
//! Keeping the scheduler generic over this trait is what lets it be tested natively.

use crate::plan::value::Value;
use crate::plan::Method;

/// A request ready to send: every placeholder already filled.
#[derive(Clone, Debug)]
pub struct Request<V> {
    /// The method.
    pub method: Method,
    /// The filled-in URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The JSON body, sent with `Content-Type: application/json`.
    pub body: Option<V>,
    /// Whether it must go past every HTTP cache (`cache: "no-store"`): a hedge
    /// (`hedge.rs`), which Chromium's cache lock would otherwise hold behind the first.
    pub fresh: bool,
}

/// A successful (2xx) reply, its body parsed once.
#[derive(Clone, Debug)]
pub struct Reply<V> {
    /// The HTTP status, 200-299.
    pub status: u16,
    /// The parsed JSON body. A transport reports a reply without a body as
    /// [`TransportError::Empty`]; the scheduler makes it `null` where nobody reads it.
    pub body: V,
    /// Whether the service says it replayed a stored reply for the request's
    /// `Idempotency-Key` (`Idempotent-Replayed: true`) instead of acting again: the write
    /// was made by an earlier request with the same key, so this composition must not
    /// undo it (see `compensate.rs`).
    pub replayed: bool,
    /// The body's length as received (in UTF-16 units where the platform counts so), for
    /// a reply cache's byte bound; 0 when unknown.
    pub bytes: u64,
}

impl<V> Reply<V> {
    /// A reply the service made fresh (not a replay).
    pub fn new(status: u16, body: V) -> Self {
        Reply {
            status,
            body,
            replayed: false,
            bytes: 0,
        }
    }
}

/// The response header with which a service says it replayed a stored reply for an
/// `Idempotency-Key` instead of acting again (Stripe's convention).
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// A boxed future of the engine's single-threaded world (the browser's, or a test's
/// executor): what [`Transport::send`] and [`Clock::sleep`] return.
pub type BoxFuture<T> = futures::future::LocalBoxFuture<'static, T>;

/// What one attempt of a request produced.
pub(crate) type Sent<V> = Result<Reply<V>, TransportError>;

/// The byte cap of one reply unless the caller sets another (`options.maxResponseBytes`).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 5 * 1024 * 1024;

/// Why a request produced no usable reply.
#[derive(Clone, Debug, PartialEq)]
pub enum TransportError {
    /// No HTTP answer: connection refused, DNS, CORS, reset. The text says what the
    /// platform reported.
    Network(String),
    /// An HTTP answer outside 200-299.
    Status(u16),
    /// An HTTP answer outside 200-299 that carried `Retry-After`.
    Throttled {
        /// The status.
        status: u16,
        /// The delay it asked for, in milliseconds, when it could be read.
        retry_after_ms: Option<f64>,
    },
    /// No answer within the call's time limit; the request was aborted.
    TimedOut {
        /// The limit that ran out, in milliseconds.
        after_ms: f64,
        /// Whether the limit was the composition's deadline rather than the call's timeout.
        deadline: bool,
    },
    /// A 2xx answer whose body is not JSON.
    Body {
        /// The status of that answer.
        status: u16,
        /// Its `Content-Type`, when it had one.
        content_type: Option<String>,
        /// The start of the body as received (the error message shortens it and escapes
        /// control characters); empty when the body could not be seen.
        excerpt: String,
        /// What the parser reported.
        reason: String,
    },
    /// A 2xx answer without a body: a 204 or 205, or an empty 200. For a call whose reply
    /// nobody reads this is a success with `null` data; where JSON is expected (see
    /// `limits::expects_json`) the scheduler reports it as a bad response.
    Empty {
        /// The status of that answer.
        status: u16,
        /// Its `Content-Type`, when it had one.
        content_type: Option<String>,
    },
    /// A 2xx answer whose body is longer than the transport's byte cap. It was not read
    /// past the cap: the request was aborted there.
    TooLarge {
        /// The status of that answer.
        status: u16,
        /// The cap, in bytes.
        limit: u64,
        /// The size its `Content-Length` announced, when that alone gave it away.
        declared: Option<u64>,
    },
    /// A redirect (3xx with a target, or the browser's opaque redirect). It is not followed,
    /// so the request's headers never reach another origin.
    Redirected {
        /// The status, when the platform shows it (browsers hide it: status 0).
        status: Option<u16>,
        /// The origin it pointed to, when visible; never the full URL with its query.
        origin: Option<String>,
    },
}

impl TransportError {
    /// The HTTP status the service answered with, when an answer arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            TransportError::Status(status)
            | TransportError::Throttled { status, .. }
            | TransportError::Body { status, .. }
            | TransportError::Empty { status, .. }
            | TransportError::TooLarge { status, .. } => Some(*status),
            TransportError::Redirected { status, .. } => *status,
            TransportError::Network(_) | TransportError::TimedOut { .. } => None,
        }
    }

    /// Whether a write that ended with this may still have been carried out. Only a
    /// definite refusal, a 4xx other than 408 and 429, says it was not: a network error or
    /// a timeout may come after the service acted; a 5xx, 408 or 429 may come from a proxy
    /// or rate limiter in front of a service that acted on an earlier copy of the request
    /// (browsers resend a request by themselves when a reused connection closes before any
    /// reply byte); a 2xx whose body is unusable, or a redirect, says it acted.
    pub fn may_have_acted(&self) -> bool {
        match self.status() {
            Some(status @ 400..=499) => matches!(status, 408 | 429),
            _ => true,
        }
    }
}

/// Sends requests. Dropping a returned future must abort its request.
pub trait Transport {
    /// The reply value type.
    type Value: Value;

    /// A fresh `Idempotency-Key` (a UUIDv4 in the browser).
    fn idempotency_key(&self) -> String;

    /// A uniform random number in [0, 1), for backoff jitter.
    fn random(&self) -> f64;

    /// Starts sending `request`. It is lent, not given: the composition keeps every request
    /// it sent (dedupe compares them, errors quote them, retries send them again), and
    /// what the transport needs of it is taken before this returns.
    fn send(
        &self,
        request: &Request<Self::Value>,
    ) -> BoxFuture<Result<Reply<Self::Value>, TransportError>>;
}

/// Time for the scheduler: the current time and timers, both in milliseconds
/// (`performance.now()` and `setTimeout` in the browser; virtual in tests).
pub trait Clock {
    /// Milliseconds since an arbitrary fixed origin.
    fn now(&self) -> f64;

    /// A future that completes `ms` milliseconds from now. Dropping it cancels the timer.
    fn sleep(&self, ms: f64) -> BoxFuture<()>;
}
