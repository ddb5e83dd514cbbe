//! The plan language: the JSON tree plans are read into, the plan model and its
//! validation, `{name.path}` templates with their URL rules, and the [`Value`] trait the
//! engine reads replies through. Nothing here knows JavaScript: plans come in as [`Json`].

pub(crate) mod condition;
pub(crate) mod duration;
pub(crate) mod fan_out;
pub(crate) mod invalid;
pub(crate) mod json;
pub(crate) mod method;
pub(crate) mod model;
pub(crate) mod repeats;
pub(crate) mod reuse;
pub(crate) mod template;
pub(crate) mod value;

pub(crate) use model::*;
