//! `createComposer(options)`: a composer whose `compose`, `composeOrder` and their streams
//! share its options (each call's own options win), its reply cache and its circuit
//! breakers (`engine/memory.rs`); with `prefetch` and `prefetchOrder` to fill the cache
//! before the user asks, and `invalidate`, `clear` and `health`.
//!
//! Its options are the module functions' options plus its own: `cacheEntries`,
//! `cacheBytes`, `breaker`, `hedge` (a call's options may give another) and `cache` (the
//! order flow's cacheable calls and their ages). Its own are read here, when it is made;
//! the shared ones are checked then too, and read again merged with each call's.

use super::fields::is_plain_object;
use super::options::{read_options, Entry};
use super::records::object;
use super::stream::PartQueue;
use super::{compose_into, compose_order_into, promise};
use super::{ComposeOptionsJs, InputJs, OrderOptionsJs, OrderRequestJs, PlanJs};
use crate::engine::breaker::BreakerPolicy;
use crate::engine::memory::{Memory, MemoryOptions};
use crate::engine::transport::{BoxFuture, Clock};
use crate::error::{Error, ErrorKind};
use crate::order::SERVICES;
use crate::plan::duration::time_limit;
use crate::plan::json::Json;
use crate::plan::reuse::{read_cache, read_hedge, CachePolicy, HedgePolicy};
use crate::plan::Plan;
use crate::web::clock::{epoch_ms, PerformanceClock};
use crate::web::js_value::json_from_js;
use js_sys::{Function, Object, Reflect};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `createComposer()` options.
    #[wasm_bindgen(typescript_type = "ComposerOptions")]
    pub type ComposerOptionsJs;
}

/// What a composition run through a composer uses of it.
#[derive(Clone)]
pub(super) struct Using {
    pub memory: Memory<JsValue>,
    /// Whether it is a prefetch: only the cacheable calls and what they need go.
    pub prefetch: bool,
    /// The hedge of reads whose plan call has none.
    pub hedge: Option<HedgePolicy>,
    /// The order flow's cache policy per call, in the plan's order.
    pub order: Rc<Vec<Option<CachePolicy>>>,
}

/// The composer's own options, which the module functions do not take (as `split` takes
/// them: separated by commas).
const OWN: &str = "cacheEntries,cacheBytes,breaker,hedge,cache";

/// How long the order flow's reads and quotes stay fresh by default.
const ORDER_MAX_AGE_MS: f64 = 30_000.0;

/// The order flow's calls a composer caches by default: the reads and the quotes.
const ORDER_CACHED: [&str; 5] = ["customer", "cart", "pricing", "shipping", "tax"];

/// A composer: compositions that share options, a reply cache and circuit breakers.
///
/// Its TypeScript declaration is written in `types.d.ts`: wasm-bindgen's would declare a
/// `[Symbol.dispose]` method, which a project without `lib: esnext` cannot compile, and its
/// calls take the composer's `hedge` besides the module functions' options.
#[wasm_bindgen(skip_typescript)]
pub struct Composer {
    memory: Memory<JsValue>,
    /// The options its compositions share, its own taken out.
    shared: JsValue,
    hedge: Option<HedgePolicy>,
    order: Rc<Vec<Option<CachePolicy>>>,
}

/// Not derived: a derived `Debug` would write its policies' numbers, and float formatting
/// is kilobytes of .wasm.
impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Composer")
    }
}

/// Makes a composer. Its options are those of `compose()` and `composeOrder()`, shared by
/// its compositions, plus its own: `cacheEntries` (default 500), `cacheBytes` (default
/// 5 MiB), `breaker: {failures, windowMs, cooldownMs}`, `hedge: {afterMs,
/// maxExtraPercent?}` and `cache` (the order flow's cacheable calls).
///
/// Throws a `ComposeError` (`INVALID_INPUT`) naming a bad option.
#[wasm_bindgen(js_name = createComposer, skip_typescript)]
pub fn create_composer(options: Option<ComposerOptionsJs>) -> Result<Composer, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    read_composer(&options)
        .map_err(|e| super::records::unsent_error(&e, &super::records::no_calls()))
}

fn read_composer(options: &JsValue) -> Result<Composer, Error> {
    let (shared, own) = split(options, OWN)?;
    read_options(&shared, Entry::Composer)?;
    // The composer's own options as JSON, read once: each message names its place.
    let own = json_from_js(&own, "options").map_err(bad)?;
    let given = |key: &str| own.get(key).filter(|v| **v != Json::Null);
    let mut memory = MemoryOptions::default();
    if let Some(v) = given("cacheEntries") {
        memory.cache_entries = whole(v, "cacheEntries")? as usize;
    }
    if let Some(v) = given("cacheBytes") {
        memory.cache_bytes = whole(v, "cacheBytes")? as u64;
    }
    memory.breaker = given("breaker").map(read_breaker).transpose()?;
    let hedge = given("hedge").map(read_hedge_json).transpose()?;
    let order = Rc::new(read_order_cache(given("cache"))?);
    let spawn = Rc::new(wasm_bindgen_futures::spawn_local::<BoxFuture<()>>);
    let memory = Memory::new(&memory, spawn, Rc::new(|| PerformanceClock.now()));
    Ok(Composer {
        memory,
        shared,
        hedge,
        order,
    })
}

/// `options.<key>`, a whole number from 1 to 2^31 - 1.
fn whole(v: &Json, key: &str) -> Result<f64, Error> {
    match v {
        Json::Number(n) if *n >= 1.0 && *n <= 2_147_483_647.0 && n.fract() == 0.0 => Ok(*n),
        _ => Err(bad(format!(
            "options.{key} must be a whole number from 1 to 2147483647"
        ))),
    }
}

#[wasm_bindgen(module = "/js/value.js")]
extern "C" {
    /// `[rest, picked]`: `options`' keys in `names` (separated by commas) and the others.
    #[wasm_bindgen(js_name = splitOptions)]
    fn split_options(options: &JsValue, names: &str) -> js_sys::Array;
    /// `shared`'s keys but those in `left` (separated by commas), with `own`'s over them.
    #[wasm_bindgen(js_name = mergeOptions)]
    fn merge_options(shared: &JsValue, left: &str, own: &JsValue) -> JsValue;
}

/// `options` as two plain objects: the keys not in `own` (names separated by commas), and
/// those in it. `undefined` and `null` are no options.
///
/// One call into `js/value.js`, where reading and setting each key from Rust took two
/// calls across the boundary per option, and their code in the .wasm.
fn split(options: &JsValue, own: &str) -> Result<(JsValue, JsValue), Error> {
    if !(options.is_undefined() || options.is_null() || is_plain_object(options)) {
        return Err(bad("options must be an object".into()));
    }
    let parts = split_options(options, own);
    Ok((parts.get(0), parts.get(1)))
}

fn bad(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// A plan reader's message about an option: the caller's input, not a plan.
fn as_input(e: Error) -> Error {
    bad(e.message().to_owned())
}

/// `options.hedge`.
fn read_hedge_json(json: &Json) -> Result<HedgePolicy, Error> {
    read_hedge("options.hedge", json).map_err(as_input)
}

/// `options.breaker: {failures, windowMs, cooldownMs}`.
fn read_breaker(json: &Json) -> Result<BreakerPolicy, Error> {
    let Json::Object(fields) = json else {
        return Err(bad(
            "options.breaker must be an object {failures, windowMs, cooldownMs}".into(),
        ));
    };
    let mut policy = BreakerPolicy {
        failures: 5,
        window_ms: 10_000.0,
        cooldown_ms: 30_000.0,
    };
    for (key, value) in fields {
        let Some(n) = time_limit(value) else {
            return Err(bad(format!(
                "options.breaker.{key} must be a number above 0 and at most 2147483647"
            )));
        };
        match key.as_str() {
            "failures" if n.fract() == 0.0 => policy.failures = n as u32,
            "failures" => {
                return Err(bad("options.breaker.failures must be a whole number".into()))
            }
            "windowMs" => policy.window_ms = n,
            "cooldownMs" => policy.cooldown_ms = n,
            _ => {
                return Err(bad(format!(
                    "options.breaker.{key} is not an option; it has failures, windowMs, cooldownMs"
                )))
            }
        }
    }
    Ok(policy)
}

/// The order flow's cache policies, per service in [`SERVICES`] order: the reads and
/// quotes for 30 s, changed by `options.cache` (`{call: {maxAgeMs, ...} | false}`), or
/// none at all with `cache: false`.
fn read_order_cache(json: Option<&Json>) -> Result<Vec<Option<CachePolicy>>, Error> {
    let default = CachePolicy {
        max_age_ms: ORDER_MAX_AGE_MS,
        stale_ms: 0.0,
    };
    let mut ages: Vec<Option<CachePolicy>> = SERVICES
        .iter()
        .map(|s| ORDER_CACHED.contains(s).then_some(default))
        .collect();
    let fields = match json {
        None => return Ok(ages),
        Some(Json::Bool(false)) => return Ok(vec![None; SERVICES.len()]),
        Some(Json::Object(fields)) => fields,
        Some(_) => {
            let e = "options.cache must be false or an object of the order flow's calls";
            return Err(bad(e.into()));
        }
    };
    for (call, value) in fields {
        let at = ["options.cache.", call].concat();
        let Some(i) = SERVICES.iter().position(|s| s == call) else {
            return Err(bad(format!(
                "{at}: the order flow has no call `{call}`; it has {}",
                SERVICES.join(", ")
            )));
        };
        if !ORDER_CACHED.contains(&call.as_str()) {
            return Err(bad(format!(
                "{at}: `{call}` changes something (a POST that is not a quote), so its reply is never reused"
            )));
        }
        ages[i] = match value {
            Json::Bool(false) => None,
            other => Some(read_cache(&at, other).map_err(as_input)?),
        };
    }
    Ok(ages)
}

/// The composer's shared options with `own`'s over them, the options `entry` does not take
/// left out of the shared ones; and the hedge: `own`'s, else the composer's.
fn merged(
    composer: &Composer,
    own: Option<JsValue>,
    entry: Entry,
) -> Result<(JsValue, Option<HedgePolicy>), Error> {
    let own = own.unwrap_or(JsValue::UNDEFINED);
    let (own, mine) = split(&own, "hedge")?;
    let mine = Reflect::get(&mine, &"hedge".into()).unwrap_or(JsValue::UNDEFINED);
    let hedge = if mine.is_undefined() || mine.is_null() {
        composer.hedge
    } else {
        let json = json_from_js(&mine, "options.hedge").map_err(bad)?;
        Some(read_hedge_json(&json)?)
    };
    let left = entry.foreign().join(",");
    Ok((merge_options(&composer.shared, &left, &own), hedge))
}

impl Composer {
    fn using(&self, prefetch: bool, hedge: Option<HedgePolicy>) -> Using {
        Using {
            memory: self.memory.clone(),
            prefetch,
            hedge,
            order: self.order.clone(),
        }
    }

    /// `compose()` or `prefetch()` through this composer, streamed into `parts` if given.
    fn plan_promise(
        &self,
        (plan, input, options): (PlanJs, InputJs, Option<ComposeOptionsJs>),
        prefetch: bool,
        parts: Option<PartQueue>,
    ) -> js_sys::Promise {
        match merged(self, options.map(Into::into), Entry::Compose) {
            Ok((options, hedge)) => {
                let using = Some(self.using(prefetch, hedge));
                let options = Some(options.unchecked_into());
                promise(compose_into(plan, input, options, parts, using))
            }
            Err(e) => rejected(&e),
        }
    }

    /// `composeOrder()` or `prefetchOrder()` through this composer.
    fn order_promise(
        &self,
        (request, options): (OrderRequestJs, Option<OrderOptionsJs>),
        prefetch: bool,
        parts: Option<PartQueue>,
    ) -> js_sys::Promise {
        match merged(self, options.map(Into::into), Entry::Order) {
            Ok((options, hedge)) => {
                let using = Some(self.using(prefetch, hedge));
                let options = Some(options.unchecked_into());
                promise(compose_order_into(request, options, parts, using))
            }
            Err(e) => rejected(&e),
        }
    }
}

/// The composer's cache policies `ages` (by service, in [`SERVICES`] order) for each call
/// of `plan`, the order flow's, in its order.
pub(super) fn order_ages(plan: &Plan, ages: &[Option<CachePolicy>]) -> Vec<Option<CachePolicy>> {
    let mut by_call = vec![None; plan.calls().len()];
    for (service, age) in SERVICES.iter().zip(ages) {
        if let Some(i) = plan.position(service) {
            by_call[i] = *age;
        }
    }
    by_call
}

/// A promise rejected with `e`'s `ComposeError`, nothing sent.
fn rejected(e: &Error) -> js_sys::Promise {
    js_sys::Promise::reject(&super::records::unsent_error(
        e,
        &super::records::no_calls(),
    ))
}

#[wasm_bindgen]
impl Composer {
    /// `compose()` through this composer: its options under `options`, its cache and its
    /// breakers.
    #[wasm_bindgen(unchecked_return_type = "Promise<ComposeResult>")]
    pub fn compose(
        &self,
        plan: PlanJs,
        input: InputJs,
        options: Option<ComposeOptionsJs>,
    ) -> js_sys::Promise {
        self.plan_promise((plan, input, options), false, None)
    }

    /// `composeOrder()` through this composer.
    #[wasm_bindgen(js_name = composeOrder, unchecked_return_type = "Promise<OrderResult>")]
    pub fn compose_order(
        &self,
        request: OrderRequestJs,
        options: Option<OrderOptionsJs>,
    ) -> js_sys::Promise {
        self.order_promise((request, options), false, None)
    }

    /// `composeStream()` through this composer.
    #[wasm_bindgen(js_name = composeStream, unchecked_return_type = "PartStream<ComposePart>")]
    pub fn compose_stream(
        &self,
        plan: PlanJs,
        input: InputJs,
        options: Option<ComposeOptionsJs>,
    ) -> JsValue {
        let queue = PartQueue::new();
        let composition = self.plan_promise((plan, input, options), false, Some(queue.clone()));
        queue.run(&composition)
    }

    /// `composeOrderStream()` through this composer.
    #[wasm_bindgen(js_name = composeOrderStream, unchecked_return_type = "PartStream<OrderPart>")]
    pub fn compose_order_stream(
        &self,
        request: OrderRequestJs,
        options: Option<OrderOptionsJs>,
    ) -> JsValue {
        let queue = PartQueue::new();
        let composition = self.order_promise((request, options), false, Some(queue.clone()));
        queue.run(&composition)
    }

    /// Runs only the calls of `plan` with a `cache`, and the reads they need, to fill the
    /// cache; never a write. Resolves as `compose()` does, the other calls `not-needed`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ComposeResult>")]
    pub fn prefetch(
        &self,
        plan: PlanJs,
        input: InputJs,
        options: Option<ComposeOptionsJs>,
    ) -> js_sys::Promise {
        self.plan_promise((plan, input, options), true, None)
    }

    /// Runs the order flow's cacheable calls for `request` (the customer, the cart and the
    /// quotes, by default) to fill the cache, so that `composeOrder(request)` then makes
    /// only the others. Never sends a write. Resolves `{calls, traceId}`.
    #[wasm_bindgen(js_name = prefetchOrder, unchecked_return_type = "Promise<PrefetchResult>")]
    pub fn prefetch_order(
        &self,
        request: OrderRequestJs,
        options: Option<OrderOptionsJs>,
    ) -> js_sys::Promise {
        self.order_promise((request, options), true, None)
    }

    /// Drops cache entries: those of the call named `which`, or those for which `which`,
    /// called with `{call, method, url}`, returns a truthy value. Returns how many.
    pub fn invalidate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | ((entry: CacheEntry) => boolean)")]
        which: JsValue,
    ) -> Result<u32, JsValue> {
        if let Some(name) = which.as_string() {
            return Ok(self.memory.invalidate(&mut |call, _, _| call == name) as u32);
        }
        let Some(pick) = which.dyn_ref::<Function>() else {
            let e =
                bad("invalidate() takes a call name or a function of {call, method, url}".into());
            return Err(super::records::unsent_error(
                &e,
                &super::records::no_calls(),
            ));
        };
        let dropped = self.memory.invalidate(&mut |call, method, url| {
            let entry = object(&[
                ("call", call.into()),
                ("method", method.as_str().into()),
                ("url", url.into()),
            ]);
            pick.call1(&JsValue::NULL, &entry)
                .is_ok_and(|v| v.is_truthy())
        });
        Ok(dropped as u32)
    }

    /// Drops every cache entry; returns how many there were.
    pub fn clear(&self) -> u32 {
        self.memory.clear() as u32
    }

    /// Each origin's circuit breaker: `{[origin]: {state, failures, retryAt}}`, `retryAt`
    /// in milliseconds since the epoch (as `Date.now()`), null when closed. Empty without
    /// a `breaker` option.
    #[wasm_bindgen(unchecked_return_type = "Record<string, CircuitHealth>")]
    pub fn health(&self) -> JsValue {
        let all = Object::new();
        for (origin, c) in self.memory.health() {
            let retry_at = if c.retry_at > 0.0 {
                JsValue::from_f64(epoch_ms(c.retry_at))
            } else {
                JsValue::NULL
            };
            let circuit = object(&[
                ("state", c.state.as_str().into()),
                ("failures", JsValue::from_f64(c.failures.into())),
                ("retryAt", retry_at),
            ]);
            let _ = Reflect::set(&all, &origin.into(), &circuit);
        }
        all.into()
    }
}
