//! Plans that cannot change, read once.
//!
//! `compose()` reads its plan from the JavaScript object at every composition (the calls,
//! every template checked), since the caller may have changed it since the last one; in
//! bench B that was a fifth of the engine's cost per call. A plan whose objects are all
//! frozen, with data properties only, cannot have changed (`js/value.js`): what was
//! read from it is kept, with its call names as JS strings, and used again when the same
//! object comes back. The few plans kept are compared by identity, and only a frozen
//! plan is looked up at all, so a plan that is not frozen costs one check.

use super::records::call_names;
use super::run::read_plan;
use crate::error::Error;
use crate::plan::{check_call_count, Plan};
use js_sys::{Object, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// A plan as read, and its call names as JS strings (for `data`, `calls` and `stages`).
#[derive(Clone)]
pub(crate) struct ReadPlan {
    pub plan: Rc<Plan>,
    pub names: Rc<[JsValue]>,
}

impl ReadPlan {
    pub(crate) fn new(plan: Plan) -> ReadPlan {
        let names = names_js(&plan).into();
        ReadPlan {
            plan: Rc::new(plan),
            names,
        }
    }
}

/// The plan's call names as JS strings: as one text that JavaScript splits, since a
/// string per name cost a crossing and a UTF-8 decode each (bench B's profile).
fn names_js(plan: &Plan) -> Vec<JsValue> {
    let length = plan.calls().iter().map(|c| c.name.len() + 1).sum();
    let mut text = String::with_capacity(length);
    for call in plan.calls() {
        text.push_str(&call.name);
        text.push('\n');
    }
    call_names(&text)
}

/// How many frozen plans are kept: a portal has a few plans it runs again and again.
const KEEP: usize = 8;

/// A frozen plan kept: the object, the number of its calls' keys (what `maxCalls` is
/// checked against, as when it is read), and what was read from it.
struct Kept {
    object: JsValue,
    keys: usize,
    read: ReadPlan,
}

thread_local! {
    static KEPT: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

#[wasm_bindgen(module = "/js/value.js")]
extern "C" {
    #[wasm_bindgen(js_name = deeplyFrozen)]
    fn deeply_frozen(value: &JsValue) -> bool;
}

/// Reads `plan` under a limit of `max_calls` calls, or takes what was read from it before
/// when it is a plan that cannot have changed.
pub(crate) fn read(plan: &JsValue, max_calls: usize) -> Result<ReadPlan, Error> {
    let frozen = plan.is_object() && Object::is_frozen(plan.unchecked_ref::<Object>());
    if !frozen {
        return read_plan(plan, max_calls).map(ReadPlan::new);
    }
    let kept = KEPT.with_borrow(|kept| {
        kept.iter()
            .find(|k| k.object == *plan)
            .map(|k| (k.keys, k.read.clone()))
    });
    if let Some((keys, read)) = kept {
        check_call_count(keys, max_calls)?;
        return Ok(read);
    }
    let read = ReadPlan::new(read_plan(plan, max_calls)?);
    if deeply_frozen(plan) {
        let calls = Reflect::get(plan, &"calls".into()).unwrap_or(JsValue::UNDEFINED);
        let keys = Object::keys(calls.unchecked_ref::<Object>()).length() as usize;
        KEPT.with_borrow_mut(|kept| {
            kept.insert(
                0,
                Kept {
                    object: plan.clone(),
                    keys,
                    read: read.clone(),
                },
            );
            kept.truncate(KEEP);
        });
    }
    Ok(read)
}
