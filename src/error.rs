//! The one error type of the crate: what went wrong, in which call, and why.

use crate::protocol::named_enum;
use std::fmt;

named_enum! {
    /// Why a composition failed.
    ///
    /// Every variant has a stable string [`code`](ErrorKind::code) that JavaScript sees as
    /// `ComposeError.code`; portals branch on those strings, so they never change.
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ErrorKind {
        /// The caller's input (the order request, a value a URL needs, an option) is wrong.
        /// Raised before any request is sent.
        InvalidInput = "INVALID_INPUT",
        /// The plan is malformed: unknown names, a cycle, a missing url, a bad method or a
        /// malformed placeholder. Raised before any request is sent.
        InvalidPlan = "INVALID_PLAN",
        /// A service answered with a status outside 200-299.
        HttpStatus = "HTTP_STATUS",
        /// The request never got an HTTP answer: DNS, connection refused, CORS, reset.
        Network = "NETWORK",
        /// A reply was not JSON, or a later call needed a path the reply does not have.
        BadResponse = "BAD_RESPONSE",
        /// A call or the whole composition ran out of time.
        Timeout = "TIMEOUT",
        /// The caller aborted the composition through its `AbortSignal`.
        Aborted = "ABORTED",
        /// The fraud service did not approve the order, so payment was never sent.
        FraudRejected = "FRAUD_REJECTED",
        /// The payment service declined the authorization, so no order was created.
        PaymentDeclined = "PAYMENT_DECLINED",
        /// The call's origin failed so often lately that its composer's circuit breaker
        /// is open: nothing was sent ([`Error::circuit`] says which origin, and when it
        /// is tried again).
        CircuitOpen = "CIRCUIT_OPEN",
    }
}

impl ErrorKind {
    /// The stable code JavaScript sees, e.g. `"INVALID_PLAN"`.
    pub fn code(self) -> &'static str {
        self.as_str()
    }
}

/// A failed validation or composition.
///
/// The message is lower case and names the call and the cause, so it reads well both
/// on its own and after a prefix such as `"order failed: "`.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    call: Option<String>,
    item: Option<usize>,
    status: Option<u16>,
    message: String,
    /// For `CIRCUIT_OPEN`: the origin, and when it is tried again.
    circuit: Option<Box<(String, f64)>>,
}

impl Error {
    /// An error of `kind` with `message`, not tied to one call.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            call: None,
            item: None,
            status: None,
            message: message.into(),
            circuit: None,
        }
    }

    /// The same error, attributed to `call`.
    pub fn in_call(mut self, call: impl Into<String>) -> Self {
        self.call = Some(call.into());
        self
    }

    /// The same error, of the item at `index` of a fan-out call's list; its message ends
    /// saying which (`` call `reserve` failed: ... (item 2 of its list) ``).
    pub fn at_item(mut self, index: usize) -> Self {
        self.item = Some(index);
        self.message = format!("{} (item {index} of its list)", self.message);
        self
    }

    /// The same error, carrying the HTTP status the service answered with.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The same error, about `origin`'s open circuit, tried again at `retry_at` (on the
    /// engine's clock).
    pub fn with_circuit(mut self, origin: String, retry_at: f64) -> Self {
        self.circuit = Some(Box::new((origin, retry_at)));
        self
    }

    /// For `CIRCUIT_OPEN`: the origin whose circuit is open, and when it is tried again
    /// (on the engine's clock: `performance.now()` in the browser).
    pub fn circuit(&self) -> Option<(&str, f64)> {
        self.circuit.as_deref().map(|(o, t)| (o.as_str(), *t))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code, e.g. `"HTTP_STATUS"`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The call that failed, when one did.
    pub fn call(&self) -> Option<&str> {
        self.call.as_deref()
    }

    /// The position in its call's list of the fan-out item that failed, when one did.
    pub fn item(&self) -> Option<usize> {
        self.item
    }

    /// The HTTP status of the failing reply, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The human-readable cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_strings() {
        let all = [
            (ErrorKind::InvalidInput, "INVALID_INPUT"),
            (ErrorKind::InvalidPlan, "INVALID_PLAN"),
            (ErrorKind::HttpStatus, "HTTP_STATUS"),
            (ErrorKind::Network, "NETWORK"),
            (ErrorKind::BadResponse, "BAD_RESPONSE"),
            (ErrorKind::Timeout, "TIMEOUT"),
            (ErrorKind::Aborted, "ABORTED"),
            (ErrorKind::FraudRejected, "FRAUD_REJECTED"),
            (ErrorKind::PaymentDeclined, "PAYMENT_DECLINED"),
            (ErrorKind::CircuitOpen, "CIRCUIT_OPEN"),
        ];
        for (kind, code) in all {
            assert_eq!(kind.code(), code);
        }
    }

    #[test]
    fn builder_keeps_call_and_status() {
        let e = Error::new(ErrorKind::HttpStatus, "call `cart` failed: HTTP 503")
            .in_call("cart")
            .with_status(503);
        assert_eq!(e.call(), Some("cart"));
        assert_eq!(e.status(), Some(503));
        assert_eq!(e.to_string(), "call `cart` failed: HTTP 503");
    }
}
