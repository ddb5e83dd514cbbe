//! The plan language: the JSON tree plans are read into, the plan model and its
//! validation, `{name.path}` templates with their URL rules, and the [`Value`] trait the
//! engine reads replies through. Nothing here knows JavaScript: plans come in as [`Json`].

// `when`, read and evaluated on its own first: the plan reader does not accept it until
// the engine has the `not-needed` state a false condition gives its call, so no plan can
// hold a condition that would be ignored (docs/options.md lists what a call may hold).
#[allow(dead_code)]
pub(crate) mod condition;
pub(crate) mod json;
pub(crate) mod model;
pub(crate) mod repeats;
pub(crate) mod template;
pub(crate) mod value;

pub(crate) use model::*;
