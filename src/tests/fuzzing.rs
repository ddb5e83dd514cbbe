//! Fuzzing: no plan, template, input or reply makes the engine panic, and what it accepts
//! keeps its promises.
//!
//! A panic kills the wasm instance, and with it every composition on the page, so the code
//! that reads what a plan author, a user or a service wrote is fuzzed here with proptest
//! (stable Rust: CI needs no nightly): the plan reader and validator (`Plan::from_json`),
//! the template parsers (`Template::parse`, `BodyTemplate::parse`), URL rendering
//! (`Scope::request`), whole compositions over the simulated network with arbitrary
//! replies, the order request and service URLs, and the excerpts quoted in errors. Inputs
//! are mutations of valid plans (random names, dangling references, cycles, wrong types,
//! huge and odd strings, unicode, braces) and arbitrary JSON. Besides "no panic", each
//! property checks a promise against an oracle of its own:
//!
//! - a plan with a cycle or a reference to no call is always rejected with `INVALID_PLAN`
//!   (the cycle it names is a real one), a well-formed plan is accepted with the stages its
//!   graph gives, and every rejection says where (`plan...`, `calls...` or `cycle: ...`);
//! - a template parses back to exactly its text, and a syntax error points at its brace;
//! - a rendered URL, read by the WHATWG URL parser (the `url` crate: what browsers run),
//!   keeps the template's origin, user info and fixed prefix, its path keeps its number of
//!   segments, and it has a query or fragment only where the template has one; a value
//!   that cannot go in a URL fails with `INVALID_INPUT` (from `input`) or `BAD_RESPONSE`
//!   (from a reply), and no error message quotes a value.
//!
//! Only native paths on [`Json`] values are fuzzed: the JavaScript boundary (`json_from_js`,
//! the options, lone surrogates in JS strings) is covered by the wasm tests in Chromium,
//! Firefox and Node.
//!
//! `cargo test` runs each property a few hundred times. [`fuzz_session`] (ignored by default)
//! runs them all round-robin with fresh seeds until `PC_FUZZ_SECONDS` are up, then prints
//! how many cases each ran: `npm run fuzz [-- SECONDS]` (scripts/fuzz.sh; 600 s by default),
//! and 20 s in `npm test`.

use crate::engine::hooks::NoHooks;
use crate::engine::reply_rules::excerpt;
use crate::engine::run::run;
use crate::engine::scope::Scope;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{Reply, Request, TransportError};
use crate::error::{Error, ErrorKind};
use crate::order::{self, OrderRequest};
use crate::plan::json::Json;
use crate::plan::template::{percent_encode, BodyTemplate, Part, Template};
use crate::plan::value::Value;
use crate::plan::{call_placeholders, Method, Plan, INPUT};
use crate::tests::sim::{Answer, Sim};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::collections::HashSet;
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};
use url::Url;

/// Whether the engine refuses what would let a value move a URL: a value that is empty,
/// `.` or `..`, and a `.` or `..` path segment made by substitution. Issue 6 asks for both
/// ("rejected values", "checked after substitution"). Until the engine does, the URL
/// property lets such renders through and [`fuzz_session`] counts them, because they do
/// escape: `/{a}/{b}` with an empty `a` is `//b`, which the browser reads as the host `b`,
/// and `/v1/users/{a}` with `a` = `..` is `/v1/`. Set to `true` once the engine refuses them
/// (a check of the prefix after substitution must read the URL as the browser does, or
/// `/v1/%2{a}` with `a` = `e` still escapes).
const REFUSED_VALUES_ARE_REFUSED: bool = true;

/// What no error message may ever contain: values carry it, templates never do.
const CANARY: &str = "s3cr3t-CANARY";

// ------------------------------------------------------------------ generators

/// Strings that careless or hostile plans, inputs and replies hold.
const SPECIAL: &[&str] = &[
    "",
    ".",
    "..",
    "...",
    "%2e",
    "%2E%2e",
    ".%2E",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "a?admin=1#",
    "../../admin",
    "..%2F..%2Fadmin",
    "@evil.example",
    "user:pass@evil.example",
    ":443",
    "https://evil.example/",
    "\\",
    "\u{0}",
    "\r\n",
    "\t",
    "\u{7f}",
    "\u{202e}",
    "\u{feff}",
    "\u{2028}",
    "é",
    "𝄞",
    "ﬃ",
    "ＡＢ",
    "{",
    "}",
    "{{",
    "}}",
    "{}",
    "{input}",
    "{input.x}",
    "{{input.x}}",
    "{a.}",
    "{.a}",
    "__proto__",
    "constructor",
    "prototype",
    "input",
    "length",
    "0",
    "-1",
    "01",
    "1e400",
    "NaN",
];

/// Strings of every kind: arbitrary unicode, brace soup, the specials, huge ones.
fn odd_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[{}.a-z0-9$_ /?#%@:\\\\-]{0,16}",
        3 => select(SPECIAL).prop_map(str::to_owned),
        1 => (any::<char>(), 0..20_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => (select(&["{a.b}", "{{", "}}", "{", "..", "%"][..]), 0..4_000usize)
            .prop_map(|(s, n)| s.repeat(n)),
    ]
    .boxed()
}

/// Numbers of every kind, non-finite ones included (a plan built in Rust may hold them).
fn odd_number() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => any::<f64>(),
        3 => (-1_000i32..1_000).prop_map(f64::from),
        1 => select(&[
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.5,
            1e21,
            1e-7,
            9_007_199_254_740_993.0,
            2_147_483_648.0,
            f64::MAX,
            f64::MIN_POSITIVE,
        ][..]),
    ]
    .boxed()
}

/// Object keys: the plan's own field names, odd strings, short words.
fn key() -> BoxedStrategy<String> {
    prop_oneof![
        2 => select(&[
            "calls", "url", "method", "headers", "body", "after", "timeoutMs", "optional",
            "fallback", "compensate", "input", "id", "n", "items", "0", "length",
        ][..])
        .prop_map(str::to_owned),
        1 => odd_string(),
        1 => "[a-z]{1,4}",
    ]
    .boxed()
}

/// Arbitrary JSON, a few levels deep.
fn arb_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        odd_number().prop_map(Json::Number),
        odd_string().prop_map(Json::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(Json::Object),
        ]
    })
    .boxed()
}

/// Where a generated plan names a call or an input value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    /// A path segment of the URL.
    Path,
    /// A query parameter of the URL.
    Query,
    /// A header value (sometimes among text).
    Header,
    /// A body value (alone: typed; among text: interpolated).
    Body,
    /// `after` (calls only; no path).
    After,
    /// The call's compensation (dangling references only).
    Compensate,
}

fn place() -> impl Strategy<Value = Place> {
    select(
        &[
            Place::Path,
            Place::Query,
            Place::Header,
            Place::Body,
            Place::After,
        ][..],
    )
}

/// A dot path below a root, mostly made of keys the generated replies have.
/// Paths that the replies of [`rich_reply`] have, so compositions go deep.
const REPLY_PATHS: &[&[&str]] = &[
    &["id"],
    &["n"],
    &["items", "0", "id"],
    &["items", "length"],
    &[],
];

fn path() -> impl Strategy<Value = Vec<String>> {
    let owned = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    prop_oneof![
        4 => select(REPLY_PATHS).prop_map(owned),
        2 => prop::collection::vec(
            prop_oneof![
                3 => select(&["id", "n", "items", "0", "1", "length"][..]).prop_map(str::to_owned),
                1 => "[a-z0-9_$-]{1,5}",
            ],
            0..4,
        ),
    ]
}

/// One reference of a generated call: to an earlier call (or, for a cycle, a later one).
#[derive(Clone, Debug)]
struct Ref {
    to: usize,
    place: Place,
    path: Vec<String>,
    /// Whether the placeholder is among text (`"Bearer {x}"`) rather than alone.
    in_text: bool,
}

/// One generated call, before it is written as JSON.
#[derive(Clone, Debug)]
struct GenCall {
    method: Method,
    refs: Vec<Ref>,
    /// `{input.x<k>}` placeholders: (where, k, path below it).
    inputs: Vec<(Place, usize, Vec<String>)>,
    /// For writes: the compensation reads its own call's reply and these dependencies.
    compensate: Option<Vec<Index>>,
    optional: bool,
    fallback: Option<Json>,
    timeout_ms: Option<f64>,
    /// A fan-out call: one request per element of this earlier call's `items` (the
    /// element `{element.id}` in the query, and its `{index}`).
    fan_out: Option<usize>,
}

/// What makes a generated plan invalid, if anything.
#[derive(Clone, Debug)]
enum Defect {
    None,
    /// Calls that depend on each other in a ring, first -> second -> ... -> first, named in
    /// this place.
    Cycle(Vec<usize>, Place),
    /// A call names this call that does not exist, in this place.
    Dangling(usize, String, Place),
}

/// A generated plan: valid by construction, but for its defect.
#[derive(Clone, Debug)]
struct Graph {
    names: Vec<String>,
    calls: Vec<GenCall>,
    defect: Defect,
}

/// Names a valid plan may use, `__proto__` and friends included. Each is unique; the
/// dangling names of [`Defect::Dangling`] start with `ghost`, which none of these do.
fn names(n: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-zA-Z$_-][a-zA-Z0-9$_-]{0,5}",
            1 => select(&["__proto__", "constructor", "prototype", "length", "toString", "$", "-", "_"][..])
                .prop_map(str::to_owned),
        ],
        n,
    )
    .prop_map(|raw| {
        let mut seen = HashSet::new();
        raw.into_iter()
            .enumerate()
            .map(|(i, name)| {
                let name = if name.starts_with("ghost") || name == INPUT || seen.contains(&name) {
                    format!("{name}{i}")
                } else {
                    name
                };
                // Not a fan-out call's element or position.
                let taken = seen.contains(&name) || name == "index" || name == "element";
                let name = if taken { format!("n{i}") } else { name };
                seen.insert(name.clone());
                name
            })
            .collect()
    })
}

fn gen_call(i: usize) -> impl Strategy<Value = GenCall> {
    (
        select(
            &[
                Method::Get,
                Method::Head,
                Method::Post,
                Method::Put,
                Method::Patch,
                Method::Delete,
            ][..],
        ),
        prop::collection::vec((any::<Index>(), place(), path(), any::<bool>()), 0..4),
        prop::collection::vec(
            (
                place(),
                0..4usize,
                prop_oneof![49 => Just(Vec::new()), 1 => path()],
            ),
            0..3,
        ),
        prop::option::of(prop::collection::vec(any::<Index>(), 0..3)),
        any::<bool>(),
        prop::option::weighted(0.2, arb_json()),
        prop::option::weighted(0.2, 1.0..1e6f64),
        prop::option::weighted(0.25, any::<Index>()),
    )
        .prop_map(
            move |(method, refs, inputs, compensate, optional, fallback, timeout_ms, fan_out)| {
                let refs = if i == 0 {
                    Vec::new()
                } else {
                    refs.into_iter()
                        .map(|(to, place, path, in_text)| Ref {
                            to: to.index(i),
                            place,
                            path: if place == Place::After {
                                Vec::new()
                            } else {
                                path
                            },
                            in_text,
                        })
                        .collect()
                };
                let inputs = inputs
                    .into_iter()
                    .map(|(p, k, path)| (if p == Place::After { Place::Query } else { p }, k, path))
                    .collect();
                GenCall {
                    method,
                    refs,
                    inputs,
                    compensate: compensate.filter(|_| !method.is_read()),
                    optional: optional || fallback.is_some(),
                    fallback,
                    timeout_ms,
                    fan_out: fan_out.filter(|_| i > 0).map(|to| to.index(i)),
                }
            },
        )
}

/// A plan of 1 to 10 calls whose references only point back, so it is a DAG.
fn valid_graph() -> impl Strategy<Value = Graph> {
    (1..=10usize)
        .prop_flat_map(|n| {
            let calls: Vec<_> = (0..n).map(gen_call).collect();
            (names(n), calls)
        })
        .prop_map(|(names, calls)| Graph {
            names,
            calls,
            defect: Defect::None,
        })
}

/// A plan that is valid, or has one cycle, or one reference to no call.
fn graph() -> impl Strategy<Value = Graph> {
    (
        valid_graph(),
        prop_oneof![
            1 => Just(0u8),
            2 => Just(1u8),
            2 => Just(2u8),
        ],
        prop::collection::vec(any::<Index>(), 1..5),
        prop_oneof![
            4 => place(),
            1 => Just(Place::Compensate),
        ],
        "ghost[a-z_]{0,4}",
        any::<Index>(),
    )
        .prop_map(|(mut g, kind, ring, place, ghost, at)| {
            let n = g.calls.len();
            g.defect = match kind {
                0 => Defect::None,
                1 => {
                    let mut members: Vec<usize> = Vec::new();
                    for i in ring {
                        let c = i.index(n);
                        if !members.contains(&c) {
                            members.push(c);
                        }
                    }
                    let place = if place == Place::Compensate {
                        Place::After
                    } else {
                        place
                    };
                    Defect::Cycle(members, place)
                }
                _ => Defect::Dangling(at.index(n), ghost, place),
            };
            g
        })
}

fn placeholder(root: &str, path: &[String]) -> String {
    let mut out = format!("{{{root}");
    for segment in path {
        out.push('.');
        out.push_str(segment);
    }
    out.push('}');
    out
}

fn s(text: impl Into<String>) -> Json {
    Json::String(text.into())
}

impl Graph {
    /// Every dependency of call `i` (defects included), as the plan will state them.
    fn refs(&self, i: usize) -> Vec<Ref> {
        let mut refs = self.calls[i].refs.clone();
        if let Defect::Cycle(members, place) = &self.defect {
            if let Some(k) = members.iter().position(|&m| m == i) {
                refs.push(Ref {
                    to: members[(k + 1) % members.len()],
                    place: *place,
                    path: vec!["id".into()],
                    in_text: false,
                });
            }
        }
        refs
    }

    /// The generated dependencies of each call, without defects' dangling ones.
    fn deps(&self) -> Vec<HashSet<usize>> {
        (0..self.calls.len())
            .map(|i| {
                let refs = self.refs(i).into_iter().map(|r| r.to);
                refs.chain(self.calls[i].fan_out).collect()
            })
            .collect()
    }

    fn method(&self, i: usize) -> Method {
        match &self.defect {
            // A dangling reference in a compensation needs a write to carry it.
            Defect::Dangling(at, _, Place::Compensate) if *at == i => Method::Post,
            _ => self.calls[i].method,
        }
    }

    /// The plan as JSON, the way a plan author writes it.
    fn to_json(&self) -> Json {
        let calls = (0..self.calls.len()).map(|i| (self.names[i].clone(), self.call_json(i)));
        Json::Object(vec![("calls".into(), Json::Object(calls.collect()))])
    }

    fn call_json(&self, i: usize) -> Json {
        let call = &self.calls[i];
        let method = self.method(i);
        // (place, placeholder text, whether among text)
        let mut holes: Vec<(Place, String, bool)> = Vec::new();
        let mut after = Vec::new();
        for r in self.refs(i) {
            let name = &self.names[r.to];
            match r.place {
                Place::After => after.push(s(name.clone())),
                place => holes.push((place, placeholder(name, &r.path), r.in_text)),
            }
        }
        for (place, k, path) in &call.inputs {
            let mut full = vec![format!("x{k}")];
            full.extend(path.iter().cloned());
            holes.push((*place, placeholder(INPUT, &full), false));
        }
        let mut compensate_holes = Vec::new();
        match &self.defect {
            Defect::Dangling(at, ghost, place) if *at == i => {
                let hole = placeholder(ghost, &["id".to_owned()]);
                match place {
                    Place::After => after.push(s(ghost.clone())),
                    Place::Compensate => compensate_holes.push(hole),
                    place => holes.push((*place, hole, false)),
                }
            }
            _ => {}
        }

        let mut path = format!("https://svc{}.example/c{i}", i % 3);
        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut body = Vec::new();
        for (k, (place, hole, in_text)) in holes.into_iter().enumerate() {
            let place = match place {
                Place::Body if !method.allows_body() => Place::Query,
                p => p,
            };
            match place {
                Place::Path => {
                    path.push('/');
                    path.push_str(&hole);
                }
                Place::Header => {
                    let value = if in_text {
                        format!("Bearer {hole}")
                    } else {
                        hole
                    };
                    headers.push((format!("X-D{k}"), s(value)));
                }
                Place::Body => {
                    let value = if in_text { format!("t {hole}") } else { hole };
                    body.push((format!("d{k}"), s(value)));
                }
                _ => query.push(format!("q{k}={hole}")),
            }
        }
        if call.fan_out.is_some() {
            query.push("e={element.id}&at={index}".to_owned());
        }
        let url = if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let mut fields = vec![("url".to_owned(), s(url))];
        if let Some(to) = call.fan_out {
            let list = placeholder(&self.names[to], &["items".to_owned()]);
            fields.push(("forEach".into(), s(list)));
            fields.push(("as".into(), s("element")));
        }
        if method != Method::Get || i % 2 == 1 {
            fields.push(("method".into(), s(method.as_str())));
        }
        if !headers.is_empty() {
            fields.push(("headers".into(), Json::Object(headers)));
        }
        if !body.is_empty() {
            fields.push(("body".into(), Json::Object(body)));
        }
        if !after.is_empty() {
            fields.push(("after".into(), Json::Array(after)));
        }
        if let Some(ms) = call.timeout_ms {
            fields.push(("timeoutMs".into(), Json::Number(ms)));
        }
        if call.optional && call.fallback.is_none() {
            fields.push(("optional".into(), Json::Bool(true)));
        }
        if let Some(fallback) = &call.fallback {
            fields.push(("fallback".into(), fallback.clone()));
        }
        let compensation_reads: Option<Vec<String>> = match &call.compensate {
            Some(picks) if !method.is_read() => {
                let deps: Vec<usize> = call.refs.iter().map(|r| r.to).collect();
                let mut reads = vec![placeholder(&self.names[i], &["id".to_owned()])];
                for p in picks {
                    if !deps.is_empty() {
                        reads.push(placeholder(&self.names[deps[p.index(deps.len())]], &[]));
                    }
                }
                Some(reads)
            }
            _ if !compensate_holes.is_empty() => Some(Vec::new()),
            _ => None,
        };
        if let Some(mut reads) = compensation_reads {
            reads.extend(compensate_holes);
            fields.push((
                "compensate".into(),
                Json::Object(vec![
                    ("method".into(), s("DELETE")),
                    (
                        "url".into(),
                        s(format!("https://undo.example/c{i}/{}", reads.join("/"))),
                    ),
                ]),
            ));
        }
        Json::Object(fields)
    }
}

/// One change to a JSON tree: at the node `at` (pre-order), do `what`.
#[derive(Clone, Debug)]
struct Mutation {
    at: Index,
    what: Change,
}

#[derive(Clone, Debug)]
enum Change {
    Replace(Json),
    RemoveField(Index),
    AddField(String, Json),
    RenameField(Index, String),
    Duplicate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        any::<Index>(),
        prop_oneof![
            3 => arb_json().prop_map(Change::Replace),
            2 => url_like().prop_map(|u| Change::Replace(Json::String(u))),
            1 => any::<Index>().prop_map(Change::RemoveField),
            1 => (key(), arb_json()).prop_map(|(k, v)| Change::AddField(k, v)),
            1 => (any::<Index>(), key()).prop_map(|(i, k)| Change::RenameField(i, k)),
            1 => any::<Index>().prop_map(Change::Duplicate),
        ],
    )
        .prop_map(|(at, what)| Mutation { at, what })
}

/// URL templates, good and bad: placeholders in the scheme, host or port, relative ones,
/// protocol-relative ones, odd schemes.
fn url_like() -> impl Strategy<Value = String> {
    (
        select(
            &[
                "https://",
                "http://",
                "HTTPS://",
                "ftp://",
                "javascript:",
                "",
                "/",
                "//",
                "\\",
                "{input.s}://",
            ][..],
        ),
        select(
            &[
                "api.example",
                "{input.h}",
                "api.{input.t}",
                "{a.id}.example",
                "h:{input.p}",
                "u:{input.pw}@h",
                "{{x}}",
                "",
                "[::1]",
                "evil.example",
            ][..],
        ),
        select(
            &[
                "",
                "/",
                "/x/{input.id}",
                "?q={input.q}",
                "#{input.f}",
                "/{a.id}/{b.id}",
                "{input.rest}",
            ][..],
        ),
    )
        .prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

fn count_nodes(json: &Json) -> usize {
    1 + match json {
        Json::Array(items) => items.iter().map(count_nodes).sum(),
        Json::Object(entries) => entries.iter().map(|(_, v)| count_nodes(v)).sum(),
        _ => 0,
    }
}

fn apply_at(json: &mut Json, target: &mut usize, change: &Change) -> bool {
    if *target == 0 {
        match (change, &mut *json) {
            (Change::RemoveField(i), Json::Object(entries)) if !entries.is_empty() => {
                entries.remove(i.index(entries.len()));
            }
            (Change::AddField(k, v), Json::Object(entries)) => entries.push((k.clone(), v.clone())),
            (Change::RenameField(i, k), Json::Object(entries)) if !entries.is_empty() => {
                let n = entries.len();
                entries[i.index(n)].0 = k.clone();
            }
            (Change::Duplicate(i), Json::Object(entries)) if !entries.is_empty() => {
                let entry = entries[i.index(entries.len())].clone();
                entries.push(entry);
            }
            (Change::Replace(v), _) => *json = v.clone(),
            // A structural change on a leaf or an empty object: make it something else.
            _ => *json = Json::Null,
        }
        return true;
    }
    *target -= 1;
    match json {
        Json::Array(items) => items.iter_mut().any(|item| apply_at(item, target, change)),
        Json::Object(entries) => entries.iter_mut().any(|(_, v)| apply_at(v, target, change)),
        _ => false,
    }
}

/// A generated plan, written as JSON and then changed in up to four places.
fn mutated_plan() -> impl Strategy<Value = Json> {
    (graph(), prop::collection::vec(mutation(), 0..5)).prop_map(|(g, mutations)| {
        let mut json = g.to_json();
        for m in mutations {
            let mut target = m.at.index(count_nodes(&json));
            apply_at(&mut json, &mut target, &m.what);
        }
        json
    })
}

// ------------------------------------------------------------------ helpers

/// Runs `f`, turning a panic into a test failure that says what panicked.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic".to_owned());
        TestCaseError::fail(format!("{what} panicked: {message}"))
    })
}

/// A rejection says where: the plan, a call (`calls.<name>...`) or the cycle.
fn located(e: &Error) -> Result<(), TestCaseError> {
    let m = e.message();
    prop_assert!(
        m.starts_with("plan") || m.starts_with("calls") || m.starts_with("cycle: "),
        "an INVALID_PLAN message that does not say where: {}",
        m
    );
    Ok(())
}

/// What the README allows as a call name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != INPUT
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

/// An accepted plan is a DAG whose every reference names `input` or a call, whose stages are
/// its topological levels, and whose compensations read only what their call had.
fn accepted_plan_is_sound(json: &Json, plan: &Plan) -> Result<(), TestCaseError> {
    let calls = plan.calls();
    let Some(Json::Object(source)) = json.get("calls") else {
        return Err(TestCaseError::fail(
            "accepted a plan without a calls object",
        ));
    };
    prop_assert_eq!(
        source.len(),
        calls.len(),
        "every call of the source is in the plan"
    );
    for (i, call) in calls.iter().enumerate() {
        prop_assert!(
            valid_name(&call.name),
            "accepted the call name {:?}",
            call.name
        );
        // A Rust caller can build an object with a key twice (JavaScript and serde_json
        // cannot); the last call of that name is the one placeholders mean.
        let at = plan.position(&call.name);
        prop_assert!(at.is_some_and(|j| plan.calls()[j].name == call.name));
        for &d in &call.deps {
            prop_assert!(d < calls.len());
            prop_assert!(
                calls[d].stage < call.stage,
                "`{}` (stage {}) depends on `{}` (stage {})",
                call.name,
                call.stage,
                calls[d].name,
                calls[d].stage
            );
        }
        let expected_stage = call
            .deps
            .iter()
            .map(|&d| calls[d].stage + 1)
            .max()
            .unwrap_or(0);
        prop_assert_eq!(call.stage, expected_stage, "stage of `{}`", &call.name);
        prop_assert!(plan.stages()[call.stage].contains(&i));
        let expected_chain = 1 + plan
            .dependents(i)
            .iter()
            .map(|&j| calls[j].chain)
            .max()
            .unwrap_or(0);
        prop_assert_eq!(call.chain, expected_chain, "chain of `{}`", &call.name);
        let bound = |root: &str| call.for_each.as_ref().is_some_and(|f| f.binds(root));
        for (h, _) in call_placeholders(call) {
            prop_assert!(
                h.root == INPUT
                    || bound(&h.root)
                    || call
                        .deps
                        .contains(&plan.position(&h.root).unwrap_or(usize::MAX)),
                "`{}` reads `{}`, which is neither input nor one of its dependencies",
                call.name,
                h.root
            );
        }
        if let Some(Json::Array(after)) = source[i].1.get("after") {
            for a in after {
                let Json::String(a) = a else {
                    return Err(TestCaseError::fail("accepted a non-string in after"));
                };
                let d = plan.position(a);
                prop_assert!(
                    d.is_some_and(|d| call.deps.contains(&d)),
                    "after names {:?}",
                    a
                );
            }
        }
        if let Some(undo) = &call.compensate {
            for (h, _) in call_placeholders(undo) {
                if h.root == INPUT {
                    continue;
                }
                let Some(d) = plan.position(&h.root) else {
                    return Err(TestCaseError::fail(format!(
                        "a compensation reads the unknown `{}`",
                        h.root
                    )));
                };
                prop_assert!(
                    is_ancestor_or_self(plan, d, i),
                    "`{}`'s compensation reads `{}`, which it does not wait for",
                    call.name,
                    h.root
                );
            }
        }
    }
    for call in calls
        .iter()
        .chain(calls.iter().filter_map(|c| c.compensate.as_deref()))
    {
        let source = &call.url_source;
        prop_assert!(
            source.starts_with("http://")
                || source.starts_with("https://")
                || source.starts_with('/'),
            "accepted the url {:?}",
            source
        );
        prop_assert!(
            origin_is_literal(&call.url),
            "accepted {:?}, whose origin comes from a placeholder",
            source
        );
    }
    let listed: usize = plan.stages().iter().map(Vec::len).sum();
    prop_assert_eq!(listed, calls.len(), "each call is in exactly one stage");
    Ok(())
}

/// Whether a URL template's origin is written in it: filled with different values, it keeps
/// one origin as the browser reads it (`https://{a}/`, `https://api.{a}/`, `http://h:{a}/`
/// do not).
fn origin_is_literal(t: &Template) -> bool {
    let fill = |v: &str| {
        t.render(
            |_| Ok::<_, ()>(Json::String(v.to_owned())),
            |_, j| Ok(percent_encode(&j.text().unwrap_or_default())),
        )
    };
    [("a", "b"), ("1", "2")].iter().all(|(a, b)| {
        let (Ok(a), Ok(b)) = (fill(a), fill(b)) else {
            return true;
        };
        match (parse_url(&a), parse_url(&b)) {
            (Ok(a), Ok(b)) => a.origin() == b.origin(),
            _ => true,
        }
    })
}

fn is_ancestor_or_self(plan: &Plan, d: usize, of: usize) -> bool {
    let mut seen = vec![false; plan.calls().len()];
    let mut stack = vec![of];
    while let Some(j) = stack.pop() {
        if j == d {
            return true;
        }
        if !std::mem::replace(&mut seen[j], true) {
            stack.extend_from_slice(&plan.calls()[j].deps);
        }
    }
    false
}

// ------------------------------------------------------------------ properties

/// Any JSON shaped like a plan: no panic; accepted plans are sound; rejections are
/// `INVALID_PLAN` and located.
fn plan_reader_holds(json: Json) -> Result<(), TestCaseError> {
    match no_panic("Plan::from_json", || Plan::from_json(&json))? {
        Ok(plan) => accepted_plan_is_sound(&json, &plan),
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidPlan, "{}", e.message());
            located(&e)
        }
    }
}

/// A generated plan is accepted with its own graph unless it has a cycle or a dangling
/// reference, and then it is always rejected, naming the cycle or the missing name.
fn defects_are_rejected(g: Graph) -> Result<(), TestCaseError> {
    let json = g.to_json();
    let result = no_panic("Plan::from_json", || Plan::from_json(&json))?;
    match (&g.defect, result) {
        (Defect::None, Ok(plan)) => {
            accepted_plan_is_sound(&json, &plan)?;
            let deps = g.deps();
            for (i, call) in plan.calls().iter().enumerate() {
                let got: HashSet<usize> = call.deps.iter().copied().collect();
                prop_assert_eq!(&got, &deps[i], "dependencies of `{}`", &call.name);
            }
            Ok(())
        }
        (Defect::None, Err(e)) => Err(TestCaseError::fail(format!(
            "a valid plan was rejected: {}",
            e.message()
        ))),
        (_, Ok(_)) => Err(TestCaseError::fail(
            "a plan with a cycle or a dangling reference was accepted",
        )),
        (Defect::Cycle(..), Err(e)) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidPlan);
            let m = e.message();
            let named = m
                .strip_prefix("cycle: ")
                .and_then(|rest| rest.split(';').next())
                .ok_or_else(|| TestCaseError::fail(format!("not named as a cycle: {m}")))?;
            // The named loop must be real: each call depends on the next, and it closes.
            let ring: Vec<&str> = named.split(" -> ").collect();
            prop_assert!(ring.len() >= 2 && ring.first() == ring.last(), "{}", m);
            let deps = g.deps();
            for pair in ring.windows(2) {
                let from = g.names.iter().position(|n| n == pair[0]);
                let to = g.names.iter().position(|n| n == pair[1]);
                let edge = from.zip(to).is_some_and(|(f, t)| deps[f].contains(&t));
                prop_assert!(edge, "`{} -> {}` is no dependency: {}", pair[0], pair[1], m);
            }
            Ok(())
        }
        (Defect::Dangling(_, ghost, _), Err(e)) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidPlan);
            located(&e)?;
            prop_assert!(
                e.message().contains(&format!("`{ghost}`")),
                "{}",
                e.message()
            );
            Ok(())
        }
    }
}

/// `when` conditions: operator objects of any arity over placeholders (to calls of the
/// plan, the input and calls that are not there) and arbitrary JSON, nested in `and`, `or`
/// and `not`, with arbitrary JSON in any place.
fn condition_json() -> BoxedStrategy<Json> {
    let object = |op: &str, arg: Json| Json::Object(vec![(op.to_owned(), arg)]);
    let operand = prop_oneof![
        arb_json(),
        (select(&["input", "a", "ghost"][..]), path()).prop_map(|(r, p)| s(placeholder(r, &p))),
    ]
    .boxed();
    let ops = &[
        "equals",
        "notEquals",
        "lt",
        "lte",
        "gt",
        "gte",
        "in",
        "same",
    ][..];
    let leaf = prop_oneof![
        3 => (select(ops), prop::collection::vec(operand.clone(), 0..4))
            .prop_map(move |(op, args)| object(op, Json::Array(args))),
        1 => operand.prop_map(move |a| object("exists", a)),
        1 => arb_json(),
    ];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            (
                select(&["and", "or"][..]),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(move |(op, all)| object(op, Json::Array(all))),
            inner.prop_map(move |c| object("not", c)),
        ]
    })
    .boxed()
}

/// A call's `when`, whatever it holds: read without panic; refused as a located
/// `INVALID_PLAN`; accepted with only `a` among its dependencies, each one read; and
/// evaluated without panic over any replies, placeholders filled in as bodies are.
fn condition_reader_holds((when, reply, input): (Json, Json, Json)) -> Result<(), TestCaseError> {
    let json = Json::Object(vec![(
        "calls".into(),
        Json::Object(vec![
            (
                "a".into(),
                Json::Object(vec![("url".into(), s("https://x.example/a"))]),
            ),
            (
                "b".into(),
                Json::Object(vec![
                    ("url".into(), s("https://x.example/b")),
                    ("when".into(), when),
                ]),
            ),
        ]),
    )]);
    let plan = match no_panic("Plan::from_json", || Plan::from_json(&json))? {
        Ok(plan) => plan,
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidPlan, "{}", e.message());
            return located(&e);
        }
    };
    let b = &plan.calls()[1];
    prop_assert!(b.deps.iter().all(|&d| d == 0), "{:?}", b.deps);
    prop_assert_eq!(b.reads, b.deps.len(), "a condition's calls are read");
    let Some(when) = &b.when else {
        return Err(TestCaseError::fail("an accepted `when` was lost"));
    };
    let replies = [Some(reply), None];
    let scope = Scope::new(&plan, &input, &replies);
    no_panic("Condition::holds", || {
        when.holds::<Json>(&mut |t| scope.body("b", t).ok())
    })?;
    Ok(())
}

/// Template sources: arbitrary text, brace soup, and sequences of well-formed pieces.
fn template_source() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        "[a-z/?#=&.%é -]{0,5}",
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        (select(&["input", "a", "$b-c_", "__proto__"][..]), path())
            .prop_map(|(root, path)| placeholder(root, &path)),
        select(&["{", "}", "{}", "{a..b}", "{.a}", "{a b}", "{a{b}", "{é}"][..])
            .prop_map(str::to_owned),
    ];
    prop_oneof![
        2 => odd_string(),
        3 => prop::collection::vec(piece, 0..8).prop_map(|p| p.concat()),
    ]
    .boxed()
}

/// The parser loses nothing: a template parses back to exactly its text, and a syntax
/// error points at the brace that caused it.
fn template_parser_holds(source: String) -> Result<(), TestCaseError> {
    match no_panic("Template::parse", || Template::parse(&source))? {
        Ok(t) => {
            let mut back = String::new();
            for part in t.parts() {
                match part {
                    Part::Literal(text) => {
                        back.push_str(&text.replace('{', "{{").replace('}', "}}"))
                    }
                    Part::Hole(h) => back.push_str(&format!("{{{h}}}")),
                }
            }
            prop_assert_eq!(back, source);
            let holes = t.placeholders().count();
            let single = t.sole_placeholder().is_some();
            prop_assert!(!single || (holes == 1 && t.parts().len() == 1));
        }
        Err(e) => {
            prop_assert!(
                source.is_char_boundary(e.at),
                "offset {} is inside a character",
                e.at
            );
            let c = source[e.at..].chars().next();
            prop_assert!(
                matches!(c, Some('{' | '}')),
                "offset {} points at {:?}",
                e.at,
                c
            );
        }
    }
    Ok(())
}

/// Any JSON as a body: no panic; an error names the path of a string in the body.
fn body_parser_holds(json: Json) -> Result<(), TestCaseError> {
    match no_panic("BodyTemplate::parse", || BodyTemplate::parse(&json))? {
        Ok(body) => {
            // Every placeholder the body reports is one its strings hold.
            let mut count = 0;
            count_holes(&json, &mut count);
            prop_assert_eq!(body.placeholders().len(), count);
        }
        Err((path, _)) if keys_are_plain(&json) => {
            let mut at = &json;
            for segment in path.split('.').filter(|s| !s.is_empty()) {
                at = match at {
                    Json::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                    Json::Object(_) => at.get(segment),
                    _ => None,
                }
                .ok_or_else(|| {
                    TestCaseError::fail(format!("error path `{path}` is not in the body"))
                })?;
            }
            prop_assert!(
                matches!(at, Json::String(_)),
                "error path `{}` is not a string",
                path
            );
        }
        // With a key that is empty, holds a dot or repeats, a dotted path cannot be walked.
        Err(_) => {}
    }
    Ok(())
}

fn keys_are_plain(json: &Json) -> bool {
    match json {
        Json::Array(items) => items.iter().all(keys_are_plain),
        Json::Object(entries) => entries.iter().enumerate().all(|(i, (k, v))| {
            !k.is_empty()
                && !k.contains('.')
                && !entries[..i].iter().any(|(other, _)| other == k)
                && keys_are_plain(v)
        }),
        _ => true,
    }
}

fn count_holes(json: &Json, count: &mut usize) {
    match json {
        Json::String(text) => {
            *count += Template::parse(text).map_or(0, |t| t.placeholders().count());
        }
        Json::Array(items) => items.iter().for_each(|v| count_holes(v, count)),
        Json::Object(entries) => entries.iter().for_each(|(_, v)| count_holes(v, count)),
        _ => {}
    }
}

/// A piece of a generated URL template.
#[derive(Clone, Debug)]
enum UrlPart {
    Text(String),
    Slash,
    /// `{{` or `}}`: a literal brace.
    Brace(bool),
    /// Value `k`, from `input` or from the reply of call `r`.
    Hole(usize, bool),
}

/// A URL template the validator accepts, and the values to render it with.
#[derive(Clone, Debug)]
struct UrlCase {
    /// `https://host...`, or empty for a path relative to the page.
    origin: String,
    path: Vec<UrlPart>,
    query: Option<Vec<UrlPart>>,
    fragment: Option<Vec<UrlPart>>,
    values: Vec<Json>,
}

/// Values a URL may be given: text-like ones mostly, and some that cannot be text.
fn url_value() -> BoxedStrategy<Json> {
    prop_oneof![
        6 => odd_string().prop_map(Json::String),
        3 => select(&["", ".", "..", "x", "evil.example", "//evil.example", "%2e%2e", ".%2e", "a?b#c", "é", "e", "2e", "E"][..])
            .prop_map(s),
        1 => odd_string().prop_map(|s| Json::String(format!("{s}{CANARY}"))),
        2 => odd_number().prop_map(Json::Number),
        1 => any::<bool>().prop_map(Json::Bool),
        1 => arb_json(),
    ]
    .boxed()
}

fn url_parts(text: &'static str, holes: usize) -> impl Strategy<Value = Vec<UrlPart>> {
    prop::collection::vec(
        prop_oneof![
            3 => text.prop_map(UrlPart::Text),
            1 => select(&["%", "%2", ".%2", ".", ".."][..]).prop_map(|t| UrlPart::Text(t.to_owned())),
            2 => Just(UrlPart::Slash),
            1 => any::<bool>().prop_map(UrlPart::Brace),
            4 => (0..holes, any::<bool>()).prop_map(|(k, r)| UrlPart::Hole(k, r)),
        ],
        0..6,
    )
}

fn url_case() -> impl Strategy<Value = UrlCase> {
    const VALUES: usize = 4;
    (
        prop_oneof![
            1 => Just(String::new()),
            3 => (
                select(&["http://", "https://"][..]),
                select(&["", "u:p@", "user@"][..]),
                select(&["api.example", "API.Example", "127.0.0.1", "[::1]", "xn--nxasmq6b.example", "a-b.c"][..]),
                select(&["", ":8443", ":80", ":443"][..]),
            )
                .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}")),
        ],
        url_parts("[a-zA-Z0-9._~%!$&'()*+,;=:@-]{1,4}", VALUES),
        prop::option::of(url_parts("[a-zA-Z0-9._~%=&/?-]{1,4}", VALUES)),
        prop::option::of(url_parts("[a-zA-Z0-9._~%=&/?#-]{1,4}", VALUES)),
        prop::collection::vec(url_value(), VALUES),
    )
        .prop_map(|(origin, path, query, fragment, values)| UrlCase {
            origin,
            path,
            query,
            fragment,
            values,
        })
}

impl UrlCase {
    /// The template; each hole written with `hole(k, from_reply)`, so the same function
    /// gives the template, its benign rendering and its fixed prefix.
    fn write(&self, hole: &mut dyn FnMut(usize, bool) -> Option<String>) -> (String, bool) {
        let mut out = self.origin.clone();
        // The path starts with one `/`: the validator wants the host (or `/` of a relative
        // path) written before any placeholder, and a relative path must not start `//`.
        out.push('/');
        let mut all: Vec<(Option<char>, &Vec<UrlPart>)> = vec![(None, &self.path)];
        if let Some(q) = &self.query {
            all.push((Some('?'), q));
        }
        if let Some(f) = &self.fragment {
            all.push((Some('#'), f));
        }
        for (k, (lead, parts)) in all.into_iter().enumerate() {
            if let Some(c) = lead {
                out.push(c);
            }
            let mut leading = k == 0;
            for part in parts {
                leading = leading && matches!(part, UrlPart::Slash);
                match part {
                    UrlPart::Slash if leading => {}
                    UrlPart::Slash => out.push('/'),
                    UrlPart::Text(t) => out.push_str(t),
                    UrlPart::Brace(open) => out.push_str(if *open { "{{" } else { "}}" }),
                    UrlPart::Hole(v, r) => match hole(*v, *r) {
                        Some(text) => out.push_str(&text),
                        None => return (out, true),
                    },
                }
            }
        }
        (out, false)
    }

    fn template(&self) -> String {
        self.write(&mut |k, r| {
            Some(if r {
                format!("{{r.v{k}}}")
            } else {
                format!("{{input.v{k}}}")
            })
        })
        .0
    }

    /// The template with each hole filled with `x` and braces unescaped: what the URL is
    /// made of when no value does anything odd.
    fn benign(&self) -> String {
        self.write(&mut |_, _| Some("x".into()))
            .0
            .replace("{{", "{")
            .replace("}}", "}")
    }

    /// The literal text before the first hole, braces unescaped.
    fn prefix(&self) -> String {
        self.write(&mut |_, _| None)
            .0
            .replace("{{", "{")
            .replace("}}", "}")
    }

    /// Whether a path segment is written wholly in the template and is a dot segment.
    fn literal_dot_segment(&self) -> bool {
        let mut segment = Some(String::new());
        for part in self.path.iter().chain([&UrlPart::Slash]) {
            match (part, &mut segment) {
                (UrlPart::Slash, _) => {
                    if segment.as_deref().is_some_and(is_dot_segment) {
                        return true;
                    }
                    segment = Some(String::new());
                }
                (UrlPart::Text(t), Some(text)) => text.push_str(t),
                (UrlPart::Brace(_) | UrlPart::Hole(..), _) => segment = None,
                (UrlPart::Text(_), None) => {}
            }
        }
        false
    }

    fn holes(&self) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        self.write(&mut |k, r| {
            out.push((k, r));
            Some(String::new())
        });
        out
    }
}

/// How the browser reads a request URL: absolute, or relative to the page.
fn parse_url(text: &str) -> Result<Url, url::ParseError> {
    if text.starts_with('/') {
        Url::parse("https://page.example/app/index.html")?.join(text)
    } else {
        Url::parse(text)
    }
}

/// A path segment the URL parser resolves away: `.`, `..` and their encoded forms.
fn is_dot_segment(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// The path of a URL as written, split into segments, before any resolving.
fn raw_segments(text: &str) -> Vec<String> {
    let rest = match text.find("://") {
        Some(i) => &text[i + 3..],
        None => text,
    };
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.split('/').map(str::to_owned).collect()
}

/// Rendering never moves a URL: same origin and user info, the template's fixed prefix
/// kept as the browser reads it, as many path segments, a query or fragment only where
/// the template has one; a value that cannot go in a URL fails the call with the right
/// code, and no message quotes a value. Returns whether the render was let through only
/// because of the known gap ([`REFUSED_VALUES_ARE_REFUSED`]).
fn rendering_stays_put(case: UrlCase) -> Result<bool, TestCaseError> {
    let template = case.template();
    let plan_json = Json::Object(vec![(
        "calls".into(),
        Json::Object(vec![
            ("r".into(), Json::Object(vec![("url".into(), s("/r"))])),
            (
                "c".into(),
                Json::Object(vec![("url".into(), s(template.clone()))]),
            ),
        ]),
    )]);
    let plan = match Plan::from_json(&plan_json) {
        Ok(plan) => plan,
        // A `%` the template does not complete could be completed by a value: refused.
        Err(e)
            if e.message().contains("a `%` must start an escape") && broken_escape(&template) =>
        {
            return Ok(false);
        }
        // A `.` or `..` segment of its own would drop the segment before it: refused.
        Err(e) if e.message().contains("path segment") && case.literal_dot_segment() => {
            return Ok(false);
        }
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "the validator refused the template {template:?}: {}",
                e.message()
            )))
        }
    };
    let values = Json::Object(
        case.values
            .iter()
            .enumerate()
            .map(|(k, v)| (format!("v{k}"), v.clone()))
            .collect(),
    );
    let replies = vec![Some(values.clone()), None];
    let scope = Scope::new(&plan, &values, &replies);
    let call = &plan.calls()[1];
    let holes = case.holes();
    let request = no_panic("Scope::request", || scope.request(call, None))?;
    let request = match request {
        Err(e) => {
            prop_assert_eq!(e.call(), Some("c"));
            prop_assert!(
                !e.message().contains(CANARY),
                "a message quotes a value: {}",
                e.message()
            );
            let kinds: Vec<ErrorKind> = holes
                .iter()
                .map(|&(_, r)| {
                    if r {
                        ErrorKind::BadResponse
                    } else {
                        ErrorKind::InvalidInput
                    }
                })
                .collect();
            prop_assert!(kinds.contains(&e.kind()), "{:?}: {}", e.kind(), e.message());
            // Plain words always render: refusing them would make the property vacuous.
            let plain = holes.iter().all(|&(k, _)| match &case.values[k] {
                // Within the 8 KiB one value may put into a URL.
                Json::String(t) => {
                    !t.is_empty() && t.len() <= 8192 && t.chars().all(|c| c.is_ascii_alphanumeric())
                }
                Json::Bool(_) => true,
                _ => false,
            });
            prop_assert!(!plain, "plain values were refused: {}", e.message());
            return Ok(false);
        }
        Ok(request) => request,
    };
    let rendered = request.url;
    let benign = case.benign();
    let prefix = case.prefix();

    // As text: the fixed prefix is kept, and values add no `?` or `#`.
    prop_assert!(
        rendered.starts_with(&prefix),
        "{:?} lost the prefix {:?}",
        rendered,
        prefix
    );
    for c in ['?', '#'] {
        prop_assert_eq!(
            rendered.matches(c).count(),
            benign.matches(c).count(),
            "{:?} has another number of `{}` than the template {:?}",
            &rendered,
            c,
            &template
        );
    }

    // As the browser reads it.
    let read = || -> Result<(), TestCaseError> {
        let expected =
            parse_url(&benign).map_err(|e| TestCaseError::fail(format!("{benign:?}: {e}")))?;
        let got = parse_url(&rendered).map_err(|e| {
            TestCaseError::fail(format!(
                "{rendered:?} is no URL ({e}), though {benign:?} is"
            ))
        })?;
        let origin = got.origin().ascii_serialization();
        prop_assert_eq!(
            origin,
            expected.origin().ascii_serialization(),
            "origin of {:?}",
            &rendered
        );
        prop_assert_eq!(got.username(), expected.username());
        prop_assert_eq!(got.password(), expected.password());
        prop_assert_eq!(
            got.query().is_some(),
            expected.query().is_some(),
            "query of {:?}",
            &rendered
        );
        prop_assert_eq!(
            got.fragment().is_some(),
            expected.fragment().is_some(),
            "fragment of {:?}",
            &rendered
        );
        let fixed =
            parse_url(&prefix).map_err(|e| TestCaseError::fail(format!("{prefix:?}: {e}")))?;
        // A template's own `..` after a placeholder may drop its prefix; values may not.
        prop_assert!(
            got.as_str().starts_with(fixed.as_str())
                || !expected.as_str().starts_with(fixed.as_str()),
            "{:?}, read as {}, does not keep the template's prefix {}",
            &rendered,
            got,
            fixed
        );
        prop_assert_eq!(
            got.path().split('/').count(),
            expected.path().split('/').count(),
            "{:?}, read as {}, has another number of path segments than {}",
            &rendered,
            got,
            expected
        );
        Ok(())
    };
    match read() {
        Ok(()) => Ok(false),
        Err(e) if !REFUSED_VALUES_ARE_REFUSED && known_gap(&case, &holes, &rendered, &benign) => {
            let _ = e;
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Whether a render breaks out only through what issue 6 says the engine must refuse and
/// today's engine does not: a value that is empty, `.` or `..` (`/{a}/{b}` with an empty `a`
/// makes `//b`, a URL of another host), or a `.` or `..` path segment that a value makes with
/// the text around it (`/v1/.%2{a}` with `a` = `e` makes `.%2e`, which the browser reads as
/// `..`).
fn known_gap(case: &UrlCase, holes: &[(usize, bool)], rendered: &str, benign: &str) -> bool {
    let refused = holes.iter().any(|&(k, _)| {
        matches!(&case.values[k], Json::String(t) if t.is_empty() || t == "." || t == "..")
    });
    let dots = |url: &str| {
        raw_segments(url)
            .iter()
            .filter(|s| is_dot_segment(s))
            .count()
    };
    refused || dots(rendered) > dots(benign)
}

/// A generated plan run to the end over the simulated network, with arbitrary replies.
#[derive(Clone, Debug)]
struct RunCase {
    graph: Graph,
    input: Json,
    /// Per call: latency in ms and the answer to every attempt.
    answers: Vec<(u32, Answered)>,
    schedule: Schedule,
}

#[derive(Clone, Debug)]
enum Answered {
    Json(u16, Json),
    Status(u16),
    Network,
    Empty,
    NotJson(String),
    TooLarge,
    Redirected,
}

/// Replies made of the keys generated paths read, so that many placeholders resolve.
fn reply_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        odd_number().prop_map(Json::Number),
        odd_string().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec(
                (
                    select(&["id", "n", "items", "0", "x"][..]).prop_map(str::to_owned),
                    inner
                ),
                0..4
            )
            .prop_map(Json::Object),
        ]
    })
    .boxed()
}

/// A reply that has the paths [`path`] mostly asks for, holding odd values.
fn rich_reply() -> BoxedStrategy<Json> {
    let text = || {
        prop_oneof![
            3 => odd_string().prop_map(Json::String),
            1 => odd_number().prop_map(Json::Number),
            1 => reply_json(),
        ]
    };
    (text(), text(), prop::collection::vec(text(), 0..3))
        .prop_map(|(id, n, items)| {
            let items = items
                .into_iter()
                .map(|id| Json::Object(vec![("id".into(), id)]))
                .collect();
            Json::Object(vec![
                ("id".into(), id),
                ("n".into(), n),
                ("items".into(), Json::Array(items)),
            ])
        })
        .boxed()
}

fn run_case() -> impl Strategy<Value = RunCase> {
    (
        valid_graph(),
        prop::collection::vec(
            prop_oneof![
                19 => odd_string().prop_map(|s| Json::String(format!("{s}{CANARY}"))),
                1 => reply_json(),
            ],
            4,
        )
        .prop_flat_map(|values| {
            // Mostly every key the plan may read; sometimes one is missing.
            (Just(values), prop::option::weighted(0.05, 0..4usize))
        })
        .prop_map(|(values, missing)| {
            let entries = values
                .into_iter()
                .enumerate()
                .filter(|(k, _)| Some(*k) != missing)
                .map(|(k, v)| (format!("x{k}"), v))
                .collect();
            Json::Object(entries)
        }),
        prop::collection::vec(
            (
                1..50u32,
                prop_oneof![
                    8 => (select(&[200u16, 201, 204][..]), rich_reply()).prop_map(|(s, j)| Answered::Json(s, j)),
                    2 => (select(&[200u16, 201, 204][..]), reply_json()).prop_map(|(s, j)| Answered::Json(s, j)),
                    1 => select(&[400u16, 404, 500, 503, 429][..]).prop_map(Answered::Status),
                    1 => Just(Answered::Network),
                    1 => Just(Answered::Empty),
                    1 => odd_string().prop_map(Answered::NotJson),
                    1 => Just(Answered::TooLarge),
                    1 => Just(Answered::Redirected),
                ],
            ),
            10,
        ),
        select(&[Schedule::Eager, Schedule::Stages, Schedule::Sequential][..]),
    )
        .prop_map(|(graph, input, answers, schedule)| RunCase {
            graph,
            input,
            answers,
            schedule,
        })
}

/// The call a request was sent for: `https://svc<k>.example/c<i>...` or
/// `https://undo.example/c<i>/...`, read from the URL as sent.
fn call_of(url: &str) -> Option<usize> {
    let rest = url.strip_prefix("https://undo.example/c").or_else(|| {
        url.strip_prefix("https://svc")
            .and_then(|r| r.get(r.find("/c")? + 2..))
    })?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A composition of any valid plan with any replies runs to its end without a panic, each
/// call ends in one state, and every request goes where its call's template points.
fn composition_never_panics(case: RunCase) -> Result<(), TestCaseError> {
    let plan = Plan::from_json(&case.graph.to_json())
        .map_err(|e| TestCaseError::fail(format!("a valid plan was rejected: {}", e.message())))?;
    let answers = case.answers.clone();
    let sim = Sim::new(move |req: &Request<Json>| -> Answer {
        let Some(i) = call_of(&req.url) else {
            return (
                1.0,
                Err(TransportError::Network(format!("no route for {}", req.url))),
            );
        };
        let (ms, answer) = &answers[i % answers.len()];
        let result = match answer {
            Answered::Json(status, body) => Ok(Reply {
                bytes: 0,
                status: *status,
                body: body.clone(),
                replayed: false,
            }),
            Answered::Status(status) => Err(TransportError::Status(*status)),
            Answered::Network => Err(TransportError::Network("reset".into())),
            Answered::Empty => Err(TransportError::Empty {
                status: 204,
                content_type: None,
            }),
            Answered::NotJson(text) => Err(TransportError::Body {
                status: 200,
                content_type: Some("text/html".into()),
                excerpt: text.chars().take(200).collect(),
                reason: "unexpected token".into(),
            }),
            Answered::TooLarge => Err(TransportError::TooLarge {
                status: 200,
                limit: 1024,
                declared: None,
            }),
            Answered::Redirected => Err(TransportError::Redirected {
                status: Some(307),
                origin: Some("https://elsewhere.example".into()),
            }),
        };
        (f64::from(*ms), result)
    });
    let out = no_panic("run", || {
        sim.block_on(run(
            &plan,
            &case.input,
            &sim,
            &sim,
            &NoHooks,
            Settings::from(case.schedule),
            futures::future::pending(),
        ))
    })?;
    prop_assert_eq!(out.records.len(), plan.calls().len());
    if let Some(e) = &out.error {
        prop_assert!(
            !matches!(e.kind(), ErrorKind::InvalidPlan),
            "a valid plan failed as invalid while running: {}",
            e.message()
        );
    }
    // Input values (which carry the canary) reach URLs, headers and bodies, never a message.
    let messages = out
        .error
        .iter()
        .chain(out.records.iter().filter_map(|r| r.error.as_ref()))
        .chain(out.compensations.iter().filter_map(|c| c.error.as_ref()));
    for e in messages {
        prop_assert!(
            !e.message().contains(CANARY),
            "a message quotes an input value: {}",
            e.message()
        );
    }
    for c in &out.compensations {
        let reason = c.reason.as_deref().unwrap_or_default();
        prop_assert!(
            !reason.contains(CANARY),
            "a reason quotes an input value: {}",
            reason
        );
    }
    for seen in sim.seen() {
        let url = &seen.request.url;
        let i = call_of(url)
            .ok_or_else(|| TestCaseError::fail(format!("a request went to {url:?}")))?;
        prop_assert!(i < plan.calls().len());
        let call = &plan.calls()[i];
        let prefixes = std::iter::once(call.url.fixed_prefix())
            .chain(call.compensate.as_deref().map(|c| c.url.fixed_prefix()));
        let fits = prefixes.into_iter().any(|p| url.starts_with(p));
        prop_assert!(fits, "{:?} is not where `{}` points", url, &call.name);
    }
    Ok(())
}

/// What a caller of `composeOrder` hands in: the request and the service URLs.
#[derive(Clone, Debug)]
struct OrderCase {
    request: Json,
    services: Vec<(String, String)>,
    base_url: Option<String>,
}

fn order_case() -> impl Strategy<Value = OrderCase> {
    let service = prop_oneof![
        3 => select(&order::SERVICES[..]).prop_map(str::to_owned),
        1 => odd_string(),
    ];
    let base = prop_oneof![
        2 => (select(&["https://", "http://", "ftp://", ""][..]), odd_string())
            .prop_map(|(a, b)| format!("{a}{b}")),
        1 => Just("https://gateway.internal/api".to_owned()),
        1 => Just("https://gw.example/{input.customerId}/}}{".to_owned()),
    ];
    let request = prop_oneof![
        1 => arb_json(),
        2 => prop::collection::vec(
            (
                select(&["customerId", "cartId", "paymentMethodId", "shippingOption", "x"][..]).prop_map(str::to_owned),
                prop_oneof![3 => odd_string().prop_map(Json::String), 1 => arb_json()],
            ),
            0..5
        )
        .prop_map(Json::Object),
    ];
    (
        request,
        prop::collection::vec((service, base.clone()), 0..4),
        prop::option::of(base),
    )
        .prop_map(|(request, services, base_url)| OrderCase {
            request,
            services,
            base_url,
        })
}

/// The order request and the service URLs: no panic; accepted URLs make a valid plan;
/// a bad request is `INVALID_INPUT`.
fn order_inputs_hold(case: OrderCase) -> Result<(), TestCaseError> {
    if let Err(e) = no_panic("OrderRequest::from_json", || {
        OrderRequest::from_json(&case.request)
    })? {
        prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
    let urls = no_panic("service_urls", || {
        order::service_urls(&case.services, case.base_url.as_deref())
    })?;
    match urls {
        Ok(urls) => {
            // A base URL that passed service_urls but still makes a template invalid is
            // the caller's input at fault: order::plan says INVALID_INPUT, naming it.
            if let Err(e) = no_panic("order::plan", || order::plan(&urls))? {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
            }
        }
        Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidInput),
    }
    Ok(())
}

/// An excerpt of any body: short, and free of characters that forge lines or reorder text.
fn excerpt_holds(text: String) -> Result<(), TestCaseError> {
    let e = no_panic("excerpt", || excerpt(&text))?;
    prop_assert!(
        e.chars().count() <= 101 * 10,
        "excerpt of {} characters",
        e.chars().count()
    );
    prop_assert!(
        !e.chars().any(|c| c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')),
        "{:?}",
        e
    );
    Ok(())
}

// ------------------------------------------------------------------ cargo test

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_plan_json_is_read_without_panic_and_rejections_say_where(json in mutated_plan()) {
        plan_reader_holds(json)?;
    }

    #[test]
    fn cycles_and_dangling_references_are_always_rejected(g in graph()) {
        defects_are_rejected(g)?;
    }

    #[test]
    fn templates_parse_back_to_their_text(source in template_source()) {
        template_parser_holds(source)?;
    }

    #[test]
    fn any_body_parses_without_panic(json in arb_json()) {
        body_parser_holds(json)?;
    }

    #[test]
    fn any_condition_is_read_and_evaluated_without_panic(case in (condition_json(), arb_json(), arb_json())) {
        condition_reader_holds(case)?;
    }

    #[test]
    fn rendered_urls_keep_their_origin_prefix_and_query(case in url_case()) {
        rendering_stays_put(case)?;
    }

    #[test]
    fn order_requests_and_service_urls_never_panic(case in order_case()) {
        order_inputs_hold(case)?;
    }

    #[test]
    fn excerpts_never_panic(text in odd_string()) {
        excerpt_holds(text)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_plan_runs_to_its_end_over_any_replies(case in run_case()) {
        composition_never_panics(case)?;
    }
}

// ------------------------------------------------------------------ the fuzz session

/// One fuzz target: runs its property `cases` times on `runner`; `Ok(n)` counts the renders
/// let through by a known gap, `Err` the shrunk failure with its input.
type Target = fn(&mut TestRunner) -> Result<u32, String>;

fn check<S>(
    runner: &mut TestRunner,
    strategy: S,
    test: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) -> Result<u32, String>
where
    S: Strategy,
    S::Value: Debug,
{
    let gaps = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |v| {
            if test(v)? {
                gaps.set(gaps.get() + 1);
            }
            Ok(())
        })
        .map(|()| gaps.get())
        .map_err(|e| match e {
            TestError::Fail(why, input) => format!("{why}\nshrunk failing input: {input:#?}"),
            TestError::Abort(why) => format!("aborted: {why}"),
        })
}

fn always<T>(f: fn(T) -> Result<(), TestCaseError>) -> impl Fn(T) -> Result<bool, TestCaseError> {
    move |v| f(v).map(|()| false)
}

const TARGETS: &[(&str, Target)] = &[
    ("plan-json", |r| {
        check(r, mutated_plan(), always(plan_reader_holds))
    }),
    ("plan-graph", |r| {
        check(r, graph(), always(defects_are_rejected))
    }),
    ("template", |r| {
        check(r, template_source(), always(template_parser_holds))
    }),
    ("body", |r| check(r, arb_json(), always(body_parser_holds))),
    ("when", |r| {
        check(
            r,
            (condition_json(), arb_json(), arb_json()),
            always(condition_reader_holds),
        )
    }),
    ("url", |r| check(r, url_case(), rendering_stays_put)),
    ("run", |r| {
        check(r, run_case(), always(composition_never_panics))
    }),
    ("order", |r| {
        check(r, order_case(), always(order_inputs_hold))
    }),
    ("excerpt", |r| check(r, odd_string(), always(excerpt_holds))),
];

/// Cases per batch: each batch has its own seed, and time is checked between batches.
const BATCH: u32 = 64;

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={text:?} is not a whole number"),
    }
}

/// A bounded fuzz session: every target, round-robin, in batches of [`BATCH`] cases with
/// fresh seeds, until `PC_FUZZ_SECONDS` (default 600) have passed. `PC_FUZZ_SEED` fixes
/// the first seed (batch `k` uses seed + k) and `PC_FUZZ_ONLY=<target>` runs one target,
/// so a failure's printed line replays it.
#[test]
#[ignore = "a bounded fuzz session: npm run fuzz [-- SECONDS]"]
fn fuzz_session() {
    let seconds = env_number("PC_FUZZ_SECONDS").unwrap_or(600);
    let seed = env_number("PC_FUZZ_SEED").unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64)
    });
    let only = std::env::var("PC_FUZZ_ONLY").ok();
    let targets: Vec<&(&str, Target)> = TARGETS
        .iter()
        .filter(|(name, _)| only.as_deref().map_or(true, |o| o == *name))
        .collect();
    assert!(
        !targets.is_empty(),
        "PC_FUZZ_ONLY={only:?} names no target; targets: {}",
        TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
    );
    println!(
        "fuzz session: {seconds} s, seed {seed}, targets {}",
        targets.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
    );
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut cases = vec![0u64; targets.len()];
    let mut gaps = vec![0u64; targets.len()];
    let mut batch: u64 = 0;
    while Instant::now() < deadline {
        let t = (batch % targets.len() as u64) as usize;
        let (name, target) = targets[t];
        let batch_seed = seed.wrapping_add(batch);
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&batch_seed.to_le_bytes());
        let config = Config {
            cases: BATCH,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        match target(&mut runner) {
            Ok(n) => {
                cases[t] += u64::from(BATCH);
                gaps[t] += u64::from(n);
            }
            Err(failure) => panic!(
                "fuzz target `{name}` failed after {:.0} s.\n\
                 replay: PC_FUZZ_ONLY={name} PC_FUZZ_SEED={batch_seed} npm run fuzz -- 60\n{failure}",
                start.elapsed().as_secs_f64()
            ),
        }
        batch += 1;
    }
    let total: u64 = cases.iter().sum();
    for (t, (name, _)) in targets.iter().enumerate() {
        println!("  {name:<12} {:>9} cases", cases[t]);
    }
    let let_through: u64 = gaps.iter().sum();
    if let_through > 0 {
        println!(
            "  known gap: {let_through} rendered URLs were moved by an empty, `.` or `..` value or a \
             `.`/`..` segment made by substitution (set REFUSED_VALUES_ARE_REFUSED once the engine refuses them)"
        );
    }
    println!(
        "fuzz session: {total} cases in {:.1} s, no failure (seed {seed})",
        start.elapsed().as_secs_f64()
    );
}

/// Whether the template's literal text has a `%` not followed by two hex digits (text
/// between braces is a placeholder and does not count).
fn broken_escape(template: &str) -> bool {
    let mut literal = String::new();
    let mut depth = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') && depth == 0 => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') && depth == 0 => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                depth += 1;
                literal.push('\0');
            }
            '}' => depth -= 1,
            c if depth == 0 => literal.push(c),
            _ => {}
        }
    }
    let b = literal.as_bytes();
    b.iter().enumerate().any(|(i, &x)| {
        x == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}
