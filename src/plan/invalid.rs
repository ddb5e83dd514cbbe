//! The errors of a plan that cannot run (`INVALID_PLAN`), as the plan's readers
//! (`model.rs`, `condition.rs`, `fan_out.rs`) make them: each names the place of the
//! mistake, such as `calls.pay.headers.X-Key`.

use crate::error::{Error, ErrorKind};
use crate::plan::json::Json;
use crate::plan::template::Placeholder;
use std::fmt;

/// An `INVALID_PLAN` error. Never inlined, like the two helpers below: dozens of sites
/// make these errors, and each inlined copy costs .wasm.
#[inline(never)]
pub(crate) fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidPlan, message)
}

/// `invalid(format!(...))`, made by one call: each of the plan reader's messages with
/// values in it costs the .wasm one call rather than a `format` and an [`invalid`].
#[inline(never)]
pub(crate) fn invalid_args(message: fmt::Arguments<'_>) -> Error {
    invalid(fmt::format(message))
}

/// An `INVALID_PLAN` error with a message as `format!` writes it: `invalid_plan!("{at}: ...")`.
macro_rules! invalid_plan {
    ($($message:tt)*) => {
        $crate::plan::invalid::invalid_args(format_args!($($message)*))
    };
}
pub(crate) use invalid_plan;

/// An `INVALID_PLAN` error whose message is `at`, the place of the mistake
/// (`calls.a.url`), followed by fixed text: joined without `format!`'s machinery.
#[inline(never)]
pub(crate) fn invalid_at(at: &str, rest: &str) -> Error {
    invalid([at, rest].concat())
}

/// The error for a value of the wrong JSON type: `{at}{what}, not {its type}`.
#[inline(never)]
pub(crate) fn wrong_type(at: &str, what: &str, found: &Json) -> Error {
    invalid([at, what, ", not ", found.type_name()].concat())
}

/// A placeholder at `at` whose root is neither the input nor a call of the plan.
#[inline(never)]
pub(crate) fn unknown_root(at: &str, h: &Placeholder) -> Error {
    invalid_plan!(
        "{at}: placeholder `{{{h}}}` names `{}`, which is neither `input` nor a call of this plan",
        h.root
    )
}
