//! Fan-out: a call that runs once per element of a list an earlier reply (or the input)
//! holds, such as one reservation per line of a cart.
//!
//! `forEach` names the list with one whole placeholder; `as` names the element in the
//! call's templates (`item` by default) and `{index}` is its position. They are bound
//! only in that call and its compensation, so the plan reader checks that no call of the
//! plan goes by either name: `{item.sku}` must never be ambiguous. The list is known only
//! when the call is ready, so the number of requests is too: the engine (`fan_out.rs`
//! there) turns it into one item per element.

use crate::error::Error;
use crate::plan::json::Json;
use crate::plan::model::{invalid, invalid_at, unknown_root, valid_name, wrong_type};
use crate::plan::template::{Part, Placeholder, Template};
use crate::plan::INPUT;
use rustc_hash::FxHashMap as HashMap;

/// The name a fan-out call's templates give the element's position in its list.
pub const INDEX: &str = "index";

/// The element's name when the call does not say (`as`).
pub const DEFAULT_ITEM: &str = "item";

/// A fan-out call's list and how its items run.
#[derive(Clone, Debug, PartialEq)]
pub struct ForEach {
    /// The list: an array in the input or in an earlier reply.
    pub list: Placeholder,
    /// The element's name in the call's templates (`as`).
    pub item: String,
    /// How many of the call's items may be in flight at once; `None`: only the
    /// composition's own limits apply.
    pub concurrency: Option<usize>,
}

impl ForEach {
    /// Whether a placeholder's `root` is the element or its index, rather than a call or
    /// the input.
    pub fn binds(&self, root: &str) -> bool {
        root == self.item || root == INDEX
    }
}

/// Reads `forEach`, `as` and `concurrency` of the call at `at`, whose plan's calls are
/// `index`; `None` for a call without `forEach`.
pub(crate) fn read_for_each(
    at: &str,
    spec: &Json,
    index: &HashMap<String, usize>,
) -> Result<Option<ForEach>, Error> {
    let Some(list) = spec.get("forEach") else {
        if let Some(field) = ["as", "concurrency"].iter().find(|f| spec.get(f).is_some()) {
            return Err(invalid(format!(
                "{at}.{field} only goes with `forEach`: the call has no list to run over"
            )));
        }
        return Ok(None);
    };
    let list = read_list(&format!("{at}.forEach"), list, index)?;
    let item = match spec.get("as") {
        None => DEFAULT_ITEM.to_owned(),
        Some(Json::String(name)) if valid_name(name) && name != INPUT && name != INDEX => {
            name.clone()
        }
        Some(Json::String(name)) => {
            return Err(invalid(format!(
                "{at}.as: `{name}` cannot name the element; use letters, digits, `_`, `-` and `$`, other than `input` and `index`"
            )))
        }
        Some(other) => return Err(wrong_type(at, ".as must be a name such as \"line\"", other)),
    };
    for taken in [item.as_str(), INDEX] {
        if index.contains_key(taken) {
            return Err(invalid(format!(
                "{at}: a call is named `{taken}`, which this call's templates use for its list's {}; rename that call{}",
                if taken == INDEX { "position" } else { "element" },
                if taken == INDEX { "" } else { ", or name the element otherwise with `as`" }
            )));
        }
    }
    let concurrency = match spec.get("concurrency") {
        None => None,
        Some(Json::Number(n)) if *n >= 1.0 && n.fract() == 0.0 && *n <= u32::MAX as f64 => {
            Some(*n as usize)
        }
        Some(_) => {
            return Err(invalid_at(
                at,
                ".concurrency must be a whole number of items above 0",
            ))
        }
    };
    Ok(Some(ForEach {
        list,
        item,
        concurrency,
    }))
}

/// The list placeholder at `at`: one whole placeholder of the input or of a call.
fn read_list(
    at: &str,
    list: &Json,
    index: &HashMap<String, usize>,
) -> Result<Placeholder, Error> {
    let template = match list {
        Json::String(text) => Template::parse(text).ok(),
        _ => None,
    };
    let whole = template.and_then(|t| match t.parts() {
        [Part::Hole(h)] => Some(h.clone()),
        _ => None,
    });
    let Some(h) = whole else {
        return Err(invalid_at(
            at,
            " must be one whole placeholder naming an array, such as \"{cart.items}\"",
        ));
    };
    if h.root != INPUT && !index.contains_key(h.root.as_str()) {
        return Err(unknown_root(at, &h));
    }
    Ok(h)
}
