//! Hooks: domain logic a Rust caller adds to a plan without changing the engine.
//!
//! `composeOrder` uses them to compute money (`total = subtotal - discount + ...`), which
//! templates deliberately cannot do, and to turn a fraud rejection or a declined payment
//! into a failure although the service answered 200.

use crate::engine::scope::Scope;
use crate::error::Error;
use crate::plan::value::Value;

/// Per-call domain logic. Every method has a default that does nothing.
pub trait Hooks<V: Value> {
    /// Builds `call`'s body from the scope instead of the plan's body template.
    /// `None` keeps the template.
    fn body(&self, call: &str, scope: &Scope<'_, V>) -> Option<Result<V, Error>> {
        let _ = (call, scope);
        None
    }

    /// Whether the hooks read `call`'s reply (in [`check`](Hooks::check), in a later
    /// call's [`body`](Hooks::body), or after the run), so that it must be JSON: an empty
    /// reply then fails the call with `BAD_RESPONSE` instead of giving `null`.
    fn needs_body(&self, call: &str) -> bool {
        let _ = call;
        false
    }

    /// Judges a 2xx reply of `call`; an `Err` fails the call with that error.
    fn check(&self, call: &str, reply: &V) -> Result<(), Error> {
        let _ = (call, reply);
        Ok(())
    }
}

/// No hooks: the plan alone decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl<V: Value> Hooks<V> for NoHooks {}
