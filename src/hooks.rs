//! Hooks: domain logic a Rust caller adds to a plan without changing the engine.
//!
//! `composeOrder` uses them to compute money (`total = subtotal - discount + ...`), which
//! templates deliberately cannot do, and to turn a fraud rejection or a declined payment
//! into a failure although the service answered 200.

use crate::error::Error;
use crate::scope::Scope;
use crate::value::Value;

/// Per-call domain logic. Both methods have defaults that do nothing.
pub trait Hooks<V: Value> {
    /// Builds `call`'s body from the scope instead of the plan's body template.
    /// `None` keeps the template.
    fn body(&self, call: &str, scope: &Scope<'_, V>) -> Option<Result<V, Error>> {
        let _ = (call, scope);
        None
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
