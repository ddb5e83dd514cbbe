//! Plans read once, and found again.
//!
//! `compose()` reads its plan from the JavaScript object at every composition (the calls,
//! every template checked), since the caller may have changed it since the last one;
//! reading was a fifth to a third of the engine's cost per call in bench B. Two ways tell,
//! at less cost, that a plan reads as one read before, and what was read from that one
//! (with its call names as JS strings) is used again:
//! - a plan whose objects are all frozen, with data properties only, cannot have changed
//!   (`js/value.js`): it is found by identity, one check;
//! - any other plan is copied as plain data (`js/value.js`), and the copy is what is read
//!   and kept; a plan that holds what a kept copy holds, key for key, is found in one walk
//!   in JavaScript. A plan written anew for each composition, the same each time, is found
//!   too. Reading the copy, not the plan, is what makes the kept reading the copy's own,
//!   whatever a getter in the plan answers at the next read.
//!
//! A few plans are kept in each way: a portal has a few plans it runs again and again.

use super::records::CallNames;
use super::run::{check_call_keys, read_counted_plan};
use crate::error::Error;
use crate::plan::{check_call_count, Plan};
use crate::web::fixed_urls::FixedUrls;
use js_sys::Object;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// A plan as read, its call names as JS strings (for `data`, `calls` and `stages`), and,
/// once it is kept for compositions to come, its fixed URLs as JS strings.
#[derive(Clone)]
pub(crate) struct ReadPlan {
    pub plan: Rc<Plan>,
    pub names: Rc<CallNames>,
    pub urls: Rc<FixedUrls>,
}

impl ReadPlan {
    pub(crate) fn new(plan: Plan) -> ReadPlan {
        let names = Rc::new(names_js(&plan));
        ReadPlan {
            plan: Rc::new(plan),
            names,
            urls: Rc::default(),
        }
    }

    /// The same plan, to be kept: its fixed URLs are made into JS strings now, once for
    /// every composition that runs it (a plan read for one composition only sends them).
    pub(crate) fn kept(mut self) -> ReadPlan {
        self.urls = Rc::new(FixedUrls::of(&self.plan));
        self
    }
}

/// The plan's call names as JS strings.
pub(crate) fn names_js(plan: &Plan) -> CallNames {
    let length = plan.calls().iter().map(|c| c.name.len() + 1).sum();
    let mut text = String::with_capacity(length);
    for call in plan.calls() {
        text.push_str(&call.name);
        text.push('\n');
    }
    CallNames::split(&text)
}

/// How many plans each way keeps.
const KEEP: usize = 8;

/// A plan kept: the frozen object, or the copy, it is found by, the number of its calls'
/// keys (what `maxCalls` is checked against, as when it is read), and what was read from
/// it.
struct Kept {
    by: JsValue,
    keys: usize,
    read: ReadPlan,
}

thread_local! {
    /// Frozen plans, found by identity, the last read first.
    static FROZEN: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
    /// Other plans, found by what they hold (`js/value.js` keeps the copies in this order
    /// and compares with them, so that no plan crosses the boundary to be compared).
    static BY_COPY: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

#[wasm_bindgen(module = "/js/value.js")]
extern "C" {
    #[wasm_bindgen(js_name = deeplyFrozen)]
    fn deeply_frozen(value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = keptPlan)]
    fn kept_plan(plan: &JsValue) -> i32;
    #[wasm_bindgen(js_name = planCopy)]
    fn plan_copy(plan: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = keepPlan)]
    fn keep_plan(copy: &JsValue, keep: usize);
}

/// Reads `plan` under a limit of `max_calls` calls, or takes what was read before from
/// the same frozen object, or from a copy of a plan that held what `plan` holds.
pub(crate) fn read(plan: &JsValue, max_calls: usize) -> Result<ReadPlan, Error> {
    let frozen = plan.is_object() && Object::is_frozen(plan.unchecked_ref::<Object>());
    // A frozen plan is looked up here, by identity; any other in JavaScript (`keptPlan`).
    let lookup = (!frozen).then(|| kept_plan(plan));
    let cache = if frozen { &FROZEN } else { &BY_COPY };
    let kept = cache.with_borrow(|kept| {
        let found = match lookup {
            None => kept.iter().find(|k| k.by == *plan),
            Some(at) => usize::try_from(at).ok().and_then(|at| kept.get(at)),
        };
        found.map(|k| (k.keys, k.read.clone()))
    });
    if let Some((keys, read)) = kept {
        check_call_count(keys, max_calls)?;
        return Ok(read);
    }
    // Counted before it is copied or read: an oversized plan costs no more than its keys
    // (the lookup stops at the first key count that differs from a kept copy's).
    let counted = check_call_keys(plan, max_calls)?;
    // What is read, and kept: the frozen plan itself, or a copy of any other (-2: the
    // lookup rests, nothing is kept).
    let source = if frozen {
        deeply_frozen(plan).then(|| plan.clone())
    } else if lookup == Some(-1) {
        Some(plan_copy(plan)).filter(|copy| !copy.is_undefined())
    } else {
        None
    };
    let Some(by) = source else {
        return Ok(ReadPlan::new(read_counted_plan(plan, max_calls)?));
    };
    // A copy's own count is the one a lookup that finds it stands for.
    let keys = if frozen {
        counted
    } else {
        check_call_keys(&by, max_calls)?
    };
    let read = ReadPlan::new(read_counted_plan(&by, max_calls)?).kept();
    if !frozen {
        keep_plan(&by, KEEP);
    }
    let kept = Kept {
        by,
        keys,
        read: read.clone(),
    };
    cache.with_borrow_mut(|cached| {
        cached.insert(0, kept);
        cached.truncate(KEEP);
    });
    Ok(read)
}
