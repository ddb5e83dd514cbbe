//! Durations a plan gives, in milliseconds (`timeoutMs`, a cache's ages, a hedge's
//! delay): each must fit the timer that will hold it.

use crate::plan::json::Json;

/// The longest time limit a timer can hold (`setTimeout`'s 32-bit signed milliseconds).
pub const MAX_TIMEOUT_MS: f64 = 2_147_483_647.0;

/// Reads a time limit in milliseconds: a positive number no larger than [`MAX_TIMEOUT_MS`].
pub(crate) fn time_limit(value: &Json) -> Option<f64> {
    match value {
        Json::Number(ms) if *ms > 0.0 && *ms <= MAX_TIMEOUT_MS => Some(*ms),
        _ => None,
    }
}
