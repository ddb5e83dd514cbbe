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
use crate::plan::invalid::{invalid_at, invalid_plan, unknown_root, wrong_type};
use crate::plan::json::Json;
use crate::plan::template::{valid_name, Part, Placeholder, Template};
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
            return Err(invalid_plan!(
                "{at}.{field} only goes with `forEach`: the call has no list to run over"
            ));
        }
        return Ok(None);
    };
    let list = read_list(&[at, ".forEach"].concat(), list, index)?;
    let item = match spec.get("as") {
        None => DEFAULT_ITEM.to_owned(),
        Some(Json::String(name)) if valid_name(name) && name != INPUT && name != INDEX => {
            name.clone()
        }
        Some(Json::String(name)) => {
            return Err(invalid_plan!(
                "{at}.as: `{name}` cannot name the element; use letters, digits, `_`, `-` and `$`, other than `input` and `index`"
            ))
        }
        Some(other) => return Err(wrong_type(at, ".as must be a name such as \"line\"", other)),
    };
    // Two tests rather than a loop over an array of pairs, whose iterator costs .wasm.
    let taken = if index.contains_key(item.as_str()) {
        Some((item.as_str(), "element"))
    } else if index.contains_key(INDEX) {
        Some((INDEX, "position"))
    } else {
        None
    };
    if let Some((taken, what)) = taken {
        return Err(invalid_plan!(
            "{at}: a call is named `{taken}`, which this call's templates use for its list's {what}; rename that call, or name the element otherwise with `as`"
        ));
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
fn read_list(at: &str, list: &Json, index: &HashMap<String, usize>) -> Result<Placeholder, Error> {
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
    if h.root != INPUT && index.get(h.root.as_str()).is_none() {
        return Err(unknown_root(at, &h));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::plan::Plan;

    fn read(calls: &str) -> Result<Plan, String> {
        let json = crate::tests::sim::json(&format!(r#"{{"calls":{{{calls}}}}}"#));
        Plan::from_json(&json).map_err(|e| {
            assert_eq!(e.kind(), ErrorKind::InvalidPlan);
            e.to_string()
        })
    }

    const CART: &str = r#""cart": {"url":"https://svc/cart"}"#;

    #[test]
    fn a_fan_out_call_reads_its_list_and_binds_its_element_and_index() {
        let plan = read(&format!(
            r#"{CART}, "reserve": {{"method":"POST","url":"https://svc/r/{{line.sku}}","forEach":"{{cart.items}}","as":"line","concurrency":4,
               "body":{{"at":"{{index}}","q":"{{line.quantity}}","who":"{{input.user}}"}},
               "compensate":{{"method":"DELETE","url":"https://svc/r/{{reserve.id}}/{{line.sku}}/{{index}}"}}}}"#
        ))
        .unwrap();
        let call = &plan.calls()[1];
        let each = call.for_each.as_ref().unwrap();
        assert_eq!(each.list.to_string(), "cart.items");
        assert_eq!((each.item.as_str(), each.concurrency), ("line", Some(4)));
        assert_eq!((call.deps.as_slice(), call.reads), (&[0][..], 1));
        assert!(plan.may_repeat(1) || !call.method.is_read());
        let default = read(r#""each": {"url":"https://svc/x/{item}","forEach":"{input.ids}"}"#);
        let default = default.unwrap();
        assert_eq!(default.calls()[0].for_each.as_ref().unwrap().item, "item");
        assert!(default.calls()[0].deps.is_empty());
        assert!(default.may_repeat(0), "its items may ask the same");
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let cases = [
            (
                r#""each": {"url":"https://svc/x","forEach":"cart.items"}"#,
                "calls.each.forEach must be one whole placeholder naming an array, such as \"{cart.items}\"",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{a}/{b}"}"#,
                "calls.each.forEach must be one whole placeholder",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":["{input.a}"]}"#,
                "calls.each.forEach must be one whole placeholder",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{nope.items}"}"#,
                "calls.each.forEach: placeholder `{nope.items}` names `nope`",
            ),
            (
                r#""each": {"url":"https://svc/x","as":"line"}"#,
                "calls.each.as only goes with `forEach`",
            ),
            (
                r#""each": {"url":"https://svc/x","concurrency":2}"#,
                "calls.each.concurrency only goes with `forEach`",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{input.a}","concurrency":0}"#,
                "calls.each.concurrency must be a whole number of items above 0",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{input.a}","concurrency":1.5}"#,
                "calls.each.concurrency must be a whole number",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{input.a}","as":"input"}"#,
                "calls.each.as: `input` cannot name the element",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{input.a}","as":"a.b"}"#,
                "calls.each.as: `a.b` cannot name the element",
            ),
            (
                r#""cart": {"url":"https://svc/c"}, "each": {"url":"https://svc/x","forEach":"{cart.a}","as":"cart"}"#,
                "calls.each: a call is named `cart`, which this call's templates use for its list's element",
            ),
            (
                r#""item": {"url":"https://svc/c"}, "each": {"url":"https://svc/x","forEach":"{item.a}"}"#,
                "calls.each: a call is named `item`",
            ),
            (
                r#""index": {"url":"https://svc/c"}, "each": {"url":"https://svc/x","forEach":"{input.a}"}"#,
                "calls.each: a call is named `index`, which this call's templates use for its list's position",
            ),
            (
                r#""each": {"url":"https://svc/x/{index.a}","forEach":"{input.a}"}"#,
                "calls.each: `{index.a}` reads into the element's position, a number; write `{index}`",
            ),
            (
                r#""other": {"url":"https://svc/x/{item.a}"}"#,
                "calls.other: placeholder `{item.a}` names `item`, which is neither `input` nor a call",
            ),
            (
                r#""each": {"url":"https://svc/x","forEach":"{each.a}"}"#,
                "cycle",
            ),
        ];
        for (calls, expected) in cases {
            let message = read(calls).unwrap_err();
            assert!(
                message.contains(expected),
                "{calls}:\n{message}\nwanted {expected}"
            );
        }
    }
}
