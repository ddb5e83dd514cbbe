//! A transport failure as the composition's error: its code, and a message that names the
//! call and its URL template and quotes nothing the request carried.

use crate::engine::reply_rules;
use crate::engine::scope::Scope;
use crate::engine::transport::{Request, TransportError};
use crate::error::{Error, ErrorKind};
use crate::plan::value::Value;
use crate::plan::Call;

/// Turns a transport failure into the composition's error, naming the call and its URL
/// template (never the filled-in URL, which may carry values the caller considers secret).
/// What the message quotes from the service or the platform (the start of a reply that is
/// not JSON, a network error's text, a redirect's target) has every value of the `sent`
/// request cut out first (see `redact.rs`): a reply may echo the request. The scope is
/// the one the request was filled from, or a later one: replies never change.
pub(crate) fn transport_error<V: Value>(
    call: &Call,
    e: TransportError,
    sent: Option<(&Request<V>, &Scope<'_, V>)>,
) -> Error {
    let redact = |text: &str| crate::engine::redact::secrets_of(call, sent).redact(text);
    let status = e.status();
    // What happened, after the call is named: one `format!` names it for every kind.
    let (kind, happened) = match e {
        TransportError::Status(status) | TransportError::Throttled { status, .. } => (
            ErrorKind::HttpStatus,
            format!("failed: the service answered HTTP {}", u32::from(status)),
        ),
        TransportError::Network(reason) => (
            ErrorKind::Network,
            format!("failed: network error ({})", redact(&reason)),
        ),
        // A limit set by the deadline ends the composition before this is reached
        // (see `call.rs`), so what remains is the call's own timeout.
        TransportError::TimedOut { after_ms, .. } => (
            ErrorKind::Timeout,
            format!(
                "timed out after {} ms; the request was aborted",
                after_ms.round() as u64
            ),
        ),
        TransportError::Body {
            status,
            content_type,
            excerpt,
            reason,
        } => (
            ErrorKind::BadResponse,
            not_json(status, content_type, &redact(&excerpt), &redact(&reason)),
        ),
        TransportError::Empty {
            status,
            content_type,
        } => (
            ErrorKind::BadResponse,
            format!(
                "failed: expected a JSON reply, but it is empty ({})",
                reply_rules::status_and_type(status, content_type.as_deref())
            ),
        ),
        TransportError::TooLarge {
            limit, declared, ..
        } => (ErrorKind::BadResponse, too_large(limit, declared)),
        TransportError::Redirected { status, origin } => (
            ErrorKind::BadResponse,
            redirected(status, origin.map(|o| redact(&o))),
        ),
    };
    let message = format!(
        "call `{}` ({} {}) {happened}",
        call.name, call.method, call.url_source
    );
    let error = Error::new(kind, message);
    match status {
        Some(status) => error.with_status(status),
        None => error,
    }
    .in_call(&call.name)
}

/// A 2xx reply that is not JSON: its status, type and start (already redacted), or what
/// the parser said when the body could not be seen.
fn not_json(status: u16, content_type: Option<String>, excerpt: &str, reason: &str) -> String {
    let shown = if excerpt.is_empty() {
        reply_rules::excerpt(reason)
    } else {
        format!("\"{}\"", reply_rules::excerpt(excerpt))
    };
    let head = reply_rules::status_and_type(status, content_type.as_deref());
    format!("failed: the reply is not JSON ({head}): {shown}")
}

/// A reply over the byte cap, announced by its length or found while reading.
fn too_large(limit: u64, declared: Option<u64>) -> String {
    let cap = reply_rules::size_text(limit);
    match declared {
        Some(n) => format!(
            "failed: the reply announces {n} bytes, more than the {cap} cap \
             (options.maxResponseBytes); it was not read"
        ),
        None => format!(
            "failed: the reply is larger than the {cap} cap \
             (options.maxResponseBytes); it was not read further"
        ),
    }
}

/// A refused redirect, with its status and the origin it pointed to when the platform
/// shows them (the origin already redacted).
fn redirected(status: Option<u16>, origin: Option<String>) -> String {
    let seen = match (status, origin) {
        (Some(s), Some(o)) => format!(" (HTTP {} to {})", u32::from(s), reply_rules::excerpt(&o)),
        (Some(s), None) => format!(" (HTTP {})", u32::from(s)),
        (None, Some(o)) => format!(" (to {})", reply_rules::excerpt(&o)),
        (None, None) => String::new(),
    };
    format!(
        "failed: it was redirected{seen}; redirects are refused so that headers never \
         reach another origin"
    )
}
