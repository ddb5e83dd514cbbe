//! The browser transport: `fetch` with an `AbortController` per request.
//!
//! Each request is started by `js/fetch-call.js`, which builds the `init` object, owns
//! the request's `AbortController`, reads the body under the byte cap, refuses redirects,
//! and classifies the outcome, so a request costs one call into JavaScript, and its
//! outcome one call back (through one function for all requests, [`Settling`]). Dropping
//! the future that waits for an outcome does not cancel the request, so every request
//! sits in an [`AbortGuard`] that aborts it when the future is dropped before the reply
//! is read: cancelling or dropping a composition really stops its requests. The same code runs in a page, a worker and
//! Node 20, which all have a global `fetch`; `options.fetch` may replace it. In Node, while
//! the global `fetch` is Node's own, js/fetch-call.js sends the request through Node's
//! `http` module instead (Node 20's `fetch` spends about 3.7 times its CPU per request),
//! with the same guarantees.
//!
//! Every request says which `credentials` it carries: `same-origin` unless the caller
//! opted one origin into `include` (or `omit`), so cookies never go to another origin
//! by default, whatever the platform's or an injected fetch's own default is.

use crate::engine::transport::BoxFuture;
use crate::engine::transport::{
    Reply, Request, Sent, Transport, TransportError, DEFAULT_MAX_RESPONSE_BYTES,
};
use crate::plan::Method;
use crate::web::fixed_urls::FixedUrls;
use crate::web::interned::interned;
use crate::web::poll_now::settling;
use futures::channel::oneshot;
use js_sys::{Array, Function};
use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/fetch-call.js")]
extern "C" {
    /// The JSON text a request body is sent as (BigInts as their exact digits); throws
    /// for what JSON cannot hold, such as a cycle.
    #[wasm_bindgen(js_name = bodyText, catch)]
    pub(crate) fn body_text(value: &JsValue) -> Result<JsValue, JsValue>;

    /// Starts a request; its outcome comes to `on_settled` with `id` (see [`Settling`]).
    #[wasm_bindgen(js_name = startFetch)]
    #[allow(clippy::too_many_arguments)]
    fn start_fetch(
        fetch: Option<&Function>,
        url: &JsValue,
        method: &JsValue,
        headers: &Array,
        body: &JsValue,
        max_bytes: f64,
        credentials: &JsValue,
        id: u32,
        on_settled: &Function,
        fresh: bool,
    ) -> Abort;

    /// What aborts a request: its `AbortController`, or the request itself where it went
    /// out through Node's http module (js/fetch-call.js).
    type Abort;

    #[wasm_bindgen(method)]
    fn abort(this: &Abort);

    type Exchange;

    #[wasm_bindgen(method, getter)]
    fn reason(this: &Exchange) -> String;

    #[wasm_bindgen(method, getter, js_name = retryAfterMs)]
    fn retry_after_ms(this: &Exchange) -> f64;

    #[wasm_bindgen(method, getter, js_name = contentType)]
    fn content_type(this: &Exchange) -> Option<String>;

    #[wasm_bindgen(method, getter)]
    fn excerpt(this: &Exchange) -> String;

    #[wasm_bindgen(method, getter)]
    fn length(this: &Exchange) -> f64;

    #[wasm_bindgen(js_name = newKey)]
    fn new_key() -> String;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;
}

// Where the bindings and the crate root have always found it; the clock itself lives in
// src/web/clock.rs.
pub use crate::web::clock::PerformanceClock;

/// What a request may carry of cookies and HTTP authentication: fetch's `credentials`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `"same-origin"`, the default: only to the page's own origin.
    SameOrigin,
    /// `"include"`: also to another origin (which must allow it by CORS).
    Include,
    /// `"omit"`: never.
    Omit,
}

impl Credentials {
    /// Every mode, in declaration order.
    const ALL: [Credentials; 3] = [
        Credentials::SameOrigin,
        Credentials::Include,
        Credentials::Omit,
    ];

    /// Reads `"include"`, `"same-origin"` or `"omit"`.
    pub fn parse(mode: &str) -> Option<Credentials> {
        match mode {
            "same-origin" => Some(Credentials::SameOrigin),
            "include" => Some(Credentials::Include),
            "omit" => Some(Credentials::Omit),
            _ => None,
        }
    }

    /// The value of fetch's `credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
            Credentials::Omit => "omit",
        }
    }
}

/// The page's origin (`location.origin`), or `None` where there is no page (Node).
pub fn page_origin() -> Option<String> {
    let location = js_sys::Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    if !location.is_object() {
        return None;
    }
    js_sys::Reflect::get(&location, &"origin".into())
        .ok()?
        .as_string()
}

/// Sends requests with the global `fetch` or an injected one.
///
/// A reply body is read up to a byte cap ([`DEFAULT_MAX_RESPONSE_BYTES`] unless set):
/// the request is aborted the moment the body passes it, or before reading when its
/// `Content-Length` already does. Redirects are never followed (`redirect: "manual"`).
#[derive(Clone, Debug)]
pub struct FetchTransport {
    fetch: Option<Function>,
    max_bytes: u64,
    /// Origins with another `credentials` mode than `same-origin`.
    credentials: Vec<(String, Credentials)>,
    /// The origin a relative URL goes to, for looking it up in `credentials`.
    page: Option<String>,
    /// This composition's requests waiting for their outcome.
    in_flight: Rc<Cell<u32>>,
    /// The plan's fixed URLs, made into JS strings once.
    urls: Rc<FixedUrls>,
}

impl Default for FetchTransport {
    fn default() -> Self {
        FetchTransport::new(None)
    }
}

impl FetchTransport {
    /// A transport over `fetch`, or over the global `fetch` when `None`.
    pub fn new(fetch: Option<Function>) -> Self {
        FetchTransport {
            fetch,
            max_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            credentials: Vec::new(),
            page: None,
            in_flight: Rc::default(),
            urls: Rc::default(),
        }
    }

    /// The same transport handing over a URL of `urls` as the JS string made for it.
    pub(crate) fn fixed_urls(mut self, urls: Rc<FixedUrls>) -> Self {
        self.urls = urls;
        self
    }

    /// The same transport sending `credentials` with the requests to each listed origin
    /// (as `URL.origin` writes it) and `same-origin` with all others.
    pub fn credentials(mut self, credentials: Vec<(String, Credentials)>) -> Self {
        if !credentials.is_empty() {
            self.page = page_origin();
        }
        self.credentials = credentials;
        self
    }

    /// The `credentials` mode of a request to `url`.
    fn credentials_for(&self, url: &str) -> Credentials {
        if self.credentials.is_empty() {
            return Credentials::SameOrigin;
        }
        let origin = crate::plan::template::origin_of(url).or_else(|| self.page.clone());
        self.credentials
            .iter()
            .find(|(o, _)| Some(o) == origin.as_ref())
            .map_or(Credentials::SameOrigin, |&(_, mode)| mode)
    }

    /// The same transport with a cap of `bytes` (at least 1) on each reply body.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }
}

/// The requests waiting for their outcome, by id, and the one function JavaScript hands
/// every outcome to.
///
/// Not a `JsFuture` per request, measured: wasm-bindgen-futures makes two closures for
/// each promise it awaits (and releases them when it settles), the cost bench B showed
/// per call; one closure for all requests and a `oneshot` per request do the same.
///
/// Each waiting request's place in `slots` is found by its id in a map of the very type
/// dedupe keeps (`u64` to `usize`), so that the .wasm has one map's code for both: a map
/// of ids to `Waiting`s was one more copy of the hash table's code (insert, grow, remove).
struct Settling {
    next: u32,
    waiting: HashMap<u64, usize>,
    slots: Vec<Option<Waiting>>,
    /// Places in `slots` free again.
    free: Vec<usize>,
}

impl Settling {
    /// Request `id` waits, as `waiting` says.
    fn wait(&mut self, id: u32, waiting: Waiting) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[slot] = Some(waiting);
        self.waiting.insert(u64::from(id), slot);
    }

    /// Request `id` waits no more: what it waited with, if it still did.
    fn take(&mut self, id: u32) -> Option<Waiting> {
        let slot = self.waiting.remove(&u64::from(id))?;
        self.free.push(slot);
        self.slots[slot].take()
    }
}

/// A request's outcome as JavaScript hands it over: the `Exchange`, and the fields
/// every reply needs read out of it already (one call for all, not one each).
struct Settled {
    outcome: Exchange,
    failure: u8,
    status: u16,
    body: JsValue,
    replayed: bool,
    /// The body's length in UTF-16 units, NaN when unknown.
    length: f64,
}

/// Where a request's outcome goes, the byte cap its reply was held to, and the count of
/// its composition's requests in flight.
///
/// The outcome goes as the engine takes it ([`Settled::into_result`]), so that this
/// channel is the one type dedupe's already is: a second type's channel code cost the
/// .wasm 150 bytes gzip.
struct Waiting {
    tell: oneshot::Sender<Sent<JsValue>>,
    limit: u64,
    in_flight: Rc<Cell<u32>>,
}

impl Waiting {
    /// Leaves the count of requests in flight; whether it was the last.
    fn leave(&self) -> bool {
        let left = self.in_flight.get().saturating_sub(1);
        self.in_flight.set(left);
        left == 0
    }
}

/// `onSettled(id, outcome, failure, status, body, replayed, length)`, as js/fetch-call.js
/// calls it.
type OnSettled = dyn FnMut(u32, Exchange, u8, u16, JsValue, bool, f64);

thread_local! {
    static SETTLING: RefCell<Settling> = RefCell::new(Settling {
        next: 0,
        waiting: HashMap::default(),
        slots: Vec::new(),
        free: Vec::new(),
    });
    static ON_SETTLED: Closure<OnSettled> =
        Closure::new(|id, outcome, failure, status, body, replayed, length| {
            // A request dropped meanwhile (aborted, or its composition gone) waits no more.
            let Some(waiting) = SETTLING.with_borrow_mut(|s| s.take(id)) else {
                return;
            };
            let settled = Settled { outcome, failure, status, body, replayed, length };
            // The last of its composition's requests in flight: the composition is polled
            // at once, not a turn of the microtask queue later. With others in flight it
            // is left to that turn, which takes all the outcomes arriving together.
            let last = waiting.leave();
            let hand_over = move || {
                let _ = waiting.tell.send(settled.into_result(waiting.limit));
            };
            if last {
                settling(hand_over);
            } else {
                hand_over();
            }
        });
}

impl Settled {
    /// The outcome as the engine takes it: the reply, or the failure it was classified
    /// as (`limit` is the byte cap a too-large reply was held to).
    fn into_result(self, limit: u64) -> Result<Reply<JsValue>, TransportError> {
        let Settled {
            outcome,
            failure,
            status,
            body,
            replayed,
            length,
        } = self;
        match failure {
            0 => Ok(Reply {
                bytes: length as u64, // NaN: 0
                status,
                body,
                replayed,
            }),
            2 => {
                let after = outcome.retry_after_ms();
                if after.is_nan() {
                    Err(TransportError::Status(status))
                } else {
                    Err(TransportError::Throttled {
                        status,
                        retry_after_ms: Some(after),
                    })
                }
            }
            3 => Err(TransportError::Body {
                status,
                content_type: outcome.content_type(),
                excerpt: outcome.excerpt(),
                reason: outcome.reason(),
            }),
            4 => Err(TransportError::Empty {
                status,
                content_type: outcome.content_type(),
            }),
            5 => {
                let length = outcome.length();
                Err(TransportError::TooLarge {
                    status,
                    limit,
                    declared: (length >= 0.0).then_some(length as u64),
                })
            }
            6 => Err(TransportError::Redirected {
                status: (status != 0).then_some(status),
                origin: Some(outcome.reason()).filter(|o| !o.is_empty()),
            }),
            _ => Err(TransportError::Network(outcome.reason())),
        }
    }
}

/// A new request's id, and where its outcome will arrive (its reply held to `limit`).
fn wait_for_outcome(
    in_flight: &Rc<Cell<u32>>,
    limit: u64,
) -> (u32, oneshot::Receiver<Sent<JsValue>>) {
    let (tell, told) = oneshot::channel();
    in_flight.set(in_flight.get() + 1);
    let in_flight = in_flight.clone();
    let id = SETTLING.with_borrow_mut(|s| {
        let id = s.next;
        s.next = s.next.wrapping_add(1);
        s.wait(
            id,
            Waiting {
                tell,
                limit,
                in_flight,
            },
        );
        id
    });
    (id, told)
}

/// What every request hands to `startFetch` as it is: fetch's `method` and `credentials`
/// values as JS strings, and the empty header list, made once and lent, never cloned (a
/// clone of a JS value is a call into JavaScript of its own, three per request).
struct Words {
    methods: Vec<JsValue>,
    credentials: Vec<JsValue>,
    no_headers: Array,
}

thread_local! {
    static WORDS: Words = Words {
        methods: Method::ALL.iter().map(|m| JsValue::from_str(m.as_str())).collect(),
        credentials: Credentials::ALL
            .iter()
            .map(|c| JsValue::from_str(c.as_str()))
            .collect(),
        no_headers: Array::new(),
    };
}

/// Aborts its request when dropped, unless disarmed after the reply was read.
struct AbortGuard {
    controller: Option<Abort>,
    id: u32,
}

impl AbortGuard {
    /// The request has settled: nothing is left to abort.
    fn disarm(&mut self) {
        self.controller = None;
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(controller) = self.controller.take() {
            controller.abort();
            if let Some(waiting) = SETTLING.with_borrow_mut(|s| s.take(self.id)) {
                waiting.leave();
            }
        }
    }
}

impl Transport for FetchTransport {
    type Value = JsValue;

    fn idempotency_key(&self) -> String {
        new_key()
    }

    fn random(&self) -> f64 {
        math_random()
    }

    fn send(
        &self,
        request: &Request<JsValue>,
    ) -> BoxFuture<Result<Reply<JsValue>, TransportError>> {
        // The flat [name, value, ...] list, built in place rather than collected into a
        // Vec<String> for wasm-bindgen to copy: less code in the .wasm. No headers: the one
        // empty list, which startFetch only reads.
        let none = JsValue::UNDEFINED;
        let body = request.body.as_ref().unwrap_or(&none);
        let (id, outcome) = wait_for_outcome(&self.in_flight, self.max_bytes);
        let url = self.urls.js(&request.url);
        let credentials = self.credentials_for(&request.url);
        let controller = WORDS.with(|words| {
            let built;
            let headers = if request.headers.is_empty() {
                &words.no_headers
            } else {
                built = Array::new();
                for (name, value) in &request.headers {
                    built.push(&interned(name));
                    built.push(&JsValue::from_str(value));
                }
                &built
            };
            ON_SETTLED.with(|on_settled| {
                start_fetch(
                    self.fetch.as_ref(),
                    &url,
                    &words.methods[request.method as usize],
                    headers,
                    body,
                    self.max_bytes as f64,
                    &words.credentials[credentials as usize],
                    id,
                    on_settled.as_ref().unchecked_ref(),
                    request.fresh,
                )
            })
        });
        let mut guard = AbortGuard {
            controller: Some(controller),
            id,
        };
        Box::pin(async move {
            // Every request settles with an outcome: failures arrive classified in it. The
            // sender goes only when the request is dropped, and with it this future.
            let Ok(sent) = outcome.await else {
                return Err(TransportError::Network("the request was dropped".into()));
            };
            guard.disarm();
            sent
        })
    }
}
