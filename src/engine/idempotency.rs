//! Idempotency keys: the header that makes a write safe to repeat, and how each write
//! gets its key (from the caller's `operationId`, or at random).

use crate::engine::settings::Settings;
use crate::engine::transport::{Request, Transport};

/// The name of the header that makes a write safe to repeat.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Whether `request` already carries an `Idempotency-Key`.
pub(crate) fn has_idempotency_key<V>(request: &Request<V>) -> bool {
    request
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case(IDEMPOTENCY_KEY))
}

/// Gives `request` (of the call or compensation `name`) its `Idempotency-Key` unless the
/// plan set one: `<operation id>:<name>` when the caller named the intent, else random.
pub(crate) fn add_idempotency_key<T: Transport>(
    request: &mut Request<T::Value>,
    name: &str,
    settings: &Settings,
    transport: &T,
) {
    if !has_idempotency_key(request) {
        let key = match &settings.operation_id {
            Some(op) => format!("{op}:{name}"),
            None => transport.idempotency_key(),
        };
        request.headers.push((IDEMPOTENCY_KEY.to_owned(), key));
    }
}
