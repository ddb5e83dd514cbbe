//! A transport failure as the composition's error: its code, and a message that names the
//! call and its URL template and quotes nothing the request carried.

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
    let what = format!("call `{}` ({} {})", call.name, call.method, call.url_source);
    let redact = |text: &str| crate::engine::redact::secrets_of(call, sent).redact(text);
    match e {
        TransportError::Status(status) | TransportError::Throttled { status, .. } => Error::new(
            ErrorKind::HttpStatus,
            format!("{what} failed: the service answered HTTP {status}"),
        )
        .with_status(status),
        TransportError::Network(reason) => Error::new(
            ErrorKind::Network,
            format!("{what} failed: network error ({})", redact(&reason)),
        ),
        // A limit set by the deadline ends the composition before this is reached
        // (see `run`), so what remains is the call's own timeout.
        TransportError::TimedOut { after_ms, .. } => Error::new(
            ErrorKind::Timeout,
            format!(
                "{what} timed out after {} ms; the request was aborted",
                after_ms.round() as u64
            ),
        ),
        TransportError::Body {
            status,
            content_type,
            excerpt,
            reason,
        } => {
            let shown = if excerpt.is_empty() {
                crate::engine::reply_rules::excerpt(&redact(&reason))
            } else {
                format!(
                    "\"{}\"",
                    crate::engine::reply_rules::excerpt(&redact(&excerpt))
                )
            };
            let head = crate::engine::reply_rules::status_and_type(status, content_type.as_deref());
            Error::new(
                ErrorKind::BadResponse,
                format!("{what} failed: the reply is not JSON ({head}): {shown}"),
            )
            .with_status(status)
        }
        TransportError::Empty {
            status,
            content_type,
        } => Error::new(
            ErrorKind::BadResponse,
            format!(
                "{what} failed: expected a JSON reply, but it is empty ({})",
                crate::engine::reply_rules::status_and_type(status, content_type.as_deref())
            ),
        )
        .with_status(status),
        TransportError::TooLarge {
            status,
            limit,
            declared,
        } => {
            let cap = crate::engine::reply_rules::size_text(limit);
            Error::new(
                ErrorKind::BadResponse,
                match declared {
                    Some(n) => format!(
                        "{what} failed: the reply announces {n} bytes, more than the {cap} cap \
                         (options.maxResponseBytes); it was not read"
                    ),
                    None => format!(
                        "{what} failed: the reply is larger than the {cap} cap \
                         (options.maxResponseBytes); it was not read further"
                    ),
                },
            )
            .with_status(status)
        }
        TransportError::Redirected { status, origin } => {
            let seen = match (status, origin.map(|o| redact(&o))) {
                (Some(s), Some(o)) => {
                    format!(" (HTTP {s} to {})", crate::engine::reply_rules::excerpt(&o))
                }
                (Some(s), None) => format!(" (HTTP {s})"),
                (None, Some(o)) => format!(" (to {})", crate::engine::reply_rules::excerpt(&o)),
                (None, None) => String::new(),
            };
            let error = Error::new(
                ErrorKind::BadResponse,
                format!(
                    "{what} failed: it was redirected{seen}; redirects are refused so that \
                     headers never reach another origin"
                ),
            );
            match status {
                Some(s) => error.with_status(s),
                None => error,
            }
        }
    }
    .in_call(&call.name)
}
