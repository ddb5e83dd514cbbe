//! The plan model and its validation: from JSON to a checked dependency graph.
//!
//! Everything that can be known before the first request is checked here, so a bad
//! plan never half-runs: unknown names, cycles, a missing url, a bad method, malformed
//! placeholders. Each message says where the mistake is (`calls.audit.method`) and what
//! to do about it.

use crate::error::Error;
use crate::plan::condition::Condition;
pub(crate) use crate::plan::duration::time_limit;
pub use crate::plan::duration::MAX_TIMEOUT_MS;
use crate::plan::fan_out::{read_for_each, ForEach, INDEX};
use crate::plan::invalid::{invalid, invalid_at, invalid_plan, unknown_root, wrong_type};
use crate::plan::json::Json;
pub use crate::plan::method::Method;
use crate::plan::reuse::{read_reuse, CachePolicy, HedgePolicy};
use crate::plan::template::{
    has_dot_segment, header_value_problem, origin_of, valid_name, BodyTemplate, Part, Placeholder,
    Template, MAX_BODY_DEPTH, MAX_TEMPLATE_BYTES,
};
use rustc_hash::FxHashMap as HashMap;

/// The name templates use for the caller's input.
pub const INPUT: &str = "input";

/// The most calls a plan may have unless the caller allows more (`options.maxCalls`).
pub const DEFAULT_MAX_CALLS: usize = 1000;

/// Refuses a plan of `count` calls when it has more than `max`.
pub fn check_call_count(count: usize, max: usize) -> Result<(), Error> {
    if count > max {
        return Err(invalid_plan!(
            "plan has {count} calls, more than the limit of {max}; split it, or raise options.maxCalls"
        ));
    }
    Ok(())
}

/// One validated call of a plan.
#[derive(Clone, Debug)]
pub struct Call {
    /// The call's name, the key of the plan's `calls` object.
    pub name: String,
    /// The HTTP method.
    pub method: Method,
    /// The URL template, as written in the plan (errors quote this, never the filled URL).
    pub url_source: String,
    /// The parsed URL template.
    pub url: Template,
    /// Header names and their value templates.
    pub headers: Vec<(String, Template)>,
    /// The JSON body template, if any.
    pub body: Option<BodyTemplate>,
    /// Indices of the calls this one waits for, in order of first mention, without repeats.
    pub deps: Vec<usize>,
    /// How many of [`deps`](Call::deps), from the first, the call reads (its templates or
    /// its condition name them); the rest it only waits for (`after`).
    pub reads: usize,
    /// Whether another call's placeholder reads this call's reply, which must then be JSON.
    pub read_by_others: bool,
    /// The call's topological level: 0 for calls without dependencies.
    pub stage: usize,
    /// How many calls the longest chain that starts with this one holds (1 for a call
    /// nothing waits for): when several calls are ready at once, eager starts the one with
    /// the longest chain first, the likeliest to be on the critical path.
    pub chain: usize,
    /// Whether the composition survives this call's failure: its dependents then get the
    /// [`fallback`](Call::fallback), or are skipped when there is none.
    pub optional: bool,
    /// The value that stands in for the reply when this (optional) call fails.
    pub fallback: Option<Json>,
    /// The write that undoes this one, run when a later required call fails. Its name is
    /// `<call>.compensate`, so that errors in it say whose compensation failed.
    pub compensate: Option<Box<Call>>,
    /// This call's own time limit, overriding the composition's default.
    pub timeout_ms: Option<f64>,
    /// The condition it runs under: when false, it sends nothing and is `not-needed`.
    pub when: Option<Condition>,
    /// The list it runs over, once per element, when it is a fan-out call.
    pub for_each: Option<ForEach>,
    /// Whether the plan marks this POST as changing nothing (`safe: true`, a quote):
    /// see [`Call::is_safe`] and `reuse.rs`.
    pub safe: bool,
    /// How long a composer may reuse its reply (`cache`; reads and safe calls only).
    pub cache: Option<CachePolicy>,
    /// When a composer sends a read a second time (`hedge`; GET and HEAD only).
    pub hedge: Option<HedgePolicy>,
}

impl Call {
    /// Whether sending the request changes nothing: a GET or HEAD, or a call the plan
    /// marks `safe`. Such a call is retried and aborted freely and never `unknown`.
    pub fn is_safe(&self) -> bool {
        self.safe || self.method.is_read()
    }
}

/// A validated plan: calls in plan order, their dependencies, and their stages.
#[derive(Clone, Debug)]
pub struct Plan {
    calls: Vec<Call>,
    dependents: Vec<Vec<usize>>,
    stages: Vec<Vec<usize>>,
    index: HashMap<String, usize>,
    /// Per call: whether another read could make the same request (`repeats.rs`).
    repeats: Vec<bool>,
}

/// The fields a request of a plan may have, and what the message that lists them calls
/// such a request.
struct Fields {
    names: &'static [&'static str],
    what: &'static str,
}

/// What a call may say.
const CALL_FIELDS: Fields = Fields {
    names: &[
        "url",
        "method",
        "headers",
        "body",
        "after",
        "timeoutMs",
        "optional",
        "fallback",
        "compensate",
        "when",
        "forEach",
        "as",
        "concurrency",
        "safe",
        "cache",
        "hedge",
    ],
    what: "a call",
};

/// What a compensation may say: a request, without dependencies or compensation of its own.
const COMPENSATE_FIELDS: Fields = Fields {
    names: &["url", "method", "headers", "body", "timeoutMs"],
    what: "a compensation",
};

/// An RFC 9110 token, the syntax of a header name.
fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Plan {
    /// Reads and validates a plan such as `{"calls": {"user": {"url": "..."}}}`, of at
    /// most 1000 (`DEFAULT_MAX_CALLS`) calls.
    ///
    /// Fails with [`crate::ErrorKind::InvalidPlan`] naming the first problem found.
    pub fn from_json(json: &Json) -> Result<Plan, Error> {
        Plan::from_json_limited(json, DEFAULT_MAX_CALLS)
    }

    /// [`Plan::from_json`] for a plan of at most `max_calls` calls.
    pub fn from_json_limited(json: &Json, max_calls: usize) -> Result<Plan, Error> {
        let Json::Object(top) = json else {
            return Err(wrong_type(
                "plan",
                " must be an object like {\"calls\": {...}}",
                json,
            ));
        };
        for (key, _) in top {
            if key != "calls" {
                return Err(invalid_plan!(
                    "plan: unknown field `{key}`; a plan has only `calls`"
                ));
            }
        }
        let calls_json = match json.get("calls") {
            Some(Json::Object(entries)) => entries,
            Some(other) => {
                return Err(wrong_type(
                    "plan.calls",
                    " must be an object of named calls",
                    other,
                ))
            }
            None => return Err(invalid("plan has no `calls` object".into())),
        };
        check_call_count(calls_json.len(), max_calls)?;

        let mut index = HashMap::with_capacity_and_hasher(calls_json.len(), Default::default());
        for (i, (name, _)) in calls_json.iter().enumerate() {
            if !valid_name(name) {
                return Err(invalid_plan!(
                    "calls: `{name}` is not a valid call name; use letters, digits, `_`, `-` and `$`"
                ));
            }
            if name == INPUT {
                return Err(invalid(
                    "calls: `input` is reserved for the caller's input; rename the call".into(),
                ));
            }
            index.insert(name.clone(), i);
        }

        let mut calls = Vec::with_capacity(calls_json.len());
        for (name, spec) in calls_json {
            calls.push(read_call(name, spec, &index)?);
        }
        let dependents = dependents_of(&calls);
        let stages = levels(&mut calls, &dependents)?;
        check_compensations(&calls)?;
        // A reply a placeholder reads must be JSON: an empty one is then an error.
        for i in 0..calls.len() {
            for k in 0..calls[i].reads {
                let d = calls[i].deps[k];
                calls[d].read_by_others = true;
            }
        }
        let mut repeats = crate::plan::repeats::may_repeat(calls.len(), |i| {
            calls[i].method.is_read().then_some(&calls[i].url)
        });
        // A fan-out read's items may ask the same of each other.
        for (i, call) in calls.iter().enumerate() {
            repeats[i] |= call.for_each.is_some() && call.method.is_read();
        }
        Ok(Plan {
            calls,
            dependents,
            stages,
            index,
            repeats,
        })
    }

    /// The calls, in plan order.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The calls that wait for call `i`.
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.dependents[i]
    }

    /// Whether call `k` reads call `j`'s reply (in its request or its condition), rather
    /// than only being ordered after it.
    pub fn reads(&self, k: usize, j: usize) -> bool {
        let call = &self.calls[k];
        call.deps[..call.reads].contains(&j)
    }

    /// Whether another read of the plan could make the same request as call `i`: when
    /// not, dedupe has nothing to look for (`repeats.rs`).
    pub fn may_repeat(&self, i: usize) -> bool {
        self.repeats[i]
    }

    /// The topological levels: calls that can run together, each after the levels before.
    pub fn stages(&self) -> &[Vec<usize>] {
        &self.stages
    }

    /// The stages as call names.
    pub fn stage_names(&self) -> Vec<Vec<&str>> {
        self.stages
            .iter()
            .map(|s| s.iter().map(|&i| self.calls[i].name.as_str()).collect())
            .collect()
    }

    /// The index of the call named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Checks that every call and every compensation sends its requests to one of the
    /// `allowed` origins (each as `URL.origin` writes it). A URL that
    /// starts with `/` is on `page`, the page's origin; without a page (in Node) it is
    /// refused, since nothing says where it would go. Fails with `INVALID_PLAN` naming the
    /// call and the origin.
    pub fn check_origins(&self, allowed: &[String], page: Option<&str>) -> Result<(), Error> {
        for call in &self.calls {
            for (request, place) in [
                (Some(call), ""),
                (call.compensate.as_deref(), ".compensate"),
            ] {
                let Some(request) = request else { continue };
                let at = || format!("calls.{}{place}", call.name);
                let origin = match (origin_of(request.url.fixed_prefix()), page) {
                    (Some(origin), _) => origin,
                    (None, Some(page)) => page.to_owned(),
                    (None, None) => {
                        return Err(invalid_plan!(
                            "{}.url is relative ({}), but there is no page origin to resolve it against; \
                             write an absolute URL, or leave out options.allowedOrigins",
                            at(),
                            request.url_source
                        )
                        .in_call(&call.name))
                    }
                };
                if !allowed.contains(&origin) {
                    return Err(invalid_plan!(
                        "{}.url goes to {origin}, which is not in options.allowedOrigins ({}); \
                         add it there if the plan may call it",
                        at(),
                        allowed
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                    .in_call(&call.name));
                }
            }
        }
        Ok(())
    }
}

/// Every placeholder of a call (URL, headers, body), each with whether its value
/// becomes text (and so must be a string, number or boolean).
pub(crate) fn call_placeholders(call: &Call) -> Vec<(&Placeholder, bool)> {
    // Loops rather than `chain` and `flat_map`, whose adapters cost .wasm.
    let mut out: Vec<(&Placeholder, bool)> = Vec::new();
    for h in call.url.placeholders() {
        out.push((h, true));
    }
    for (_, header) in &call.headers {
        for h in header.placeholders() {
            out.push((h, true));
        }
    }
    if let Some(body) = &call.body {
        out.extend(body.placeholders());
    }
    out
}

fn read_call(name: &str, spec: &Json, index: &HashMap<String, usize>) -> Result<Call, Error> {
    read_request(
        &["calls.", name].concat(),
        name,
        spec,
        index,
        &CALL_FIELDS,
        None,
    )
}

/// Reads a call, or (with [`COMPENSATE_FIELDS`]) the compensation of one, found at `at`;
/// a fan-out call's compensation also sees the element of `outer`.
/// Plans are read from [`Json`] by hand rather than with serde's derive: each message
/// names the exact place of a mistake (`calls.pay.headers.X-Key: ...`), which serde's
/// errors cannot.
fn read_request(
    at: &str,
    name: &str,
    spec: &Json,
    index: &HashMap<String, usize>,
    allowed: &Fields,
    outer: Option<&ForEach>,
) -> Result<Call, Error> {
    check_fields(at, spec, allowed)?;
    let for_each = read_for_each(at, spec, index)?;
    let method = read_method(at, spec)?;
    let (url_source, url) = read_url(at, spec)?;
    let headers = read_headers(at, spec)?;
    let body = read_body(at, spec, method)?;
    let timeout_ms = read_timeout(at, spec)?;
    let (optional, fallback) = read_optional(at, spec)?;
    let (safe, cache, hedge) = read_reuse(at, spec, method)?;
    // The calls the condition reads, as its operands name them.
    let when_reads = std::cell::RefCell::new(Vec::new());
    let when = match spec.get("when") {
        None => None,
        Some(json) => {
            let operand = |place: &str, json: &Json| {
                let template = read_template(place, json)?;
                for (h, _) in template.placeholders() {
                    if h.root == INPUT {
                        continue;
                    }
                    let Some(&d) = index.get(h.root.as_str()) else {
                        return Err(unknown_root(place, h));
                    };
                    when_reads.borrow_mut().push(d);
                }
                Ok(template)
            };
            Some(Condition::read(&[at, ".when"].concat(), json, &operand)?)
        }
    };
    let compensate = match spec.get("compensate") {
        None => None,
        Some(spec) => Some(Box::new(read_compensation(
            at,
            name,
            spec,
            index,
            for_each.as_ref(),
        )?)),
    };
    if compensate.is_some() && method.is_read() {
        return Err(invalid_plan!(
            "{at}.compensate: a {method} changes nothing, so there is nothing to undo"
        ));
    }
    let mut call = Call {
        name: name.to_owned(),
        method,
        url_source,
        url,
        headers,
        body,
        deps: Vec::new(),
        reads: 0,
        read_by_others: false,
        stage: 0,
        chain: 1,
        optional,
        fallback,
        compensate,
        timeout_ms,
        when,
        for_each,
        safe,
        cache,
        hedge,
    };
    let bound = call.for_each.as_ref().or(outer);
    (call.deps, call.reads) = read_deps(at, spec, &call, bound, &when_reads.into_inner(), index)?;
    Ok(call)
}

/// `spec` is an object whose fields are all `allowed`.
fn check_fields(at: &str, spec: &Json, allowed: &Fields) -> Result<(), Error> {
    let Json::Object(fields) = spec else {
        return Err(wrong_type(
            at,
            " must be an object like {\"url\": \"https://...\"}",
            spec,
        ));
    };
    let Fields { names, what } = allowed;
    if let Some((key, _)) = fields.iter().find(|(k, _)| !names.contains(&k.as_str())) {
        return Err(invalid_plan!(
            "{at}: unknown field `{key}`; {what} has {}",
            names.join(", ")
        ));
    }
    Ok(())
}

fn read_method(at: &str, spec: &Json) -> Result<Method, Error> {
    match spec.get("method") {
        None => Ok(Method::Get),
        Some(Json::String(m)) => Method::parse(m).ok_or_else(|| {
            invalid_plan!(
                "{at}.method: unsupported method `{m}`; use one of {}",
                Method::NAMES.join(", ")
            )
        }),
        Some(other) => Err(wrong_type(
            at,
            ".method must be a string such as \"POST\"",
            other,
        )),
    }
}

/// The URL template, as written and parsed, with the shape rules of `check_url_shape`.
fn read_url(at: &str, spec: &Json) -> Result<(String, Template), Error> {
    let url_source = match spec.get("url") {
        Some(Json::String(u)) if !u.trim().is_empty() => u.clone(),
        Some(Json::String(_)) | None => {
            return Err(invalid_at(at, ": missing `url`; every call needs one"))
        }
        Some(other) => return Err(wrong_type(at, ".url must be a string", other)),
    };
    // A URL parser drops tabs and newlines: the URL checked would not be the one sent.
    let control = |text: &str| {
        text.chars()
            .any(char::is_control)
            .then_some("holds a control character (a tab or a newline, say); remove it")
    };
    let url = read_text(&[at, ".url"].concat(), &url_source, control)?;
    check_url_shape(at, &url)?;
    Ok((url_source, url))
}

fn read_headers(at: &str, spec: &Json) -> Result<Vec<(String, Template)>, Error> {
    let entries = match spec.get("headers") {
        None => return Ok(Vec::new()),
        Some(Json::Object(entries)) => entries,
        Some(other) => {
            return Err(wrong_type(
                at,
                ".headers must be an object of strings",
                other,
            ))
        }
    };
    let mut headers = Vec::new();
    for (key, value) in entries {
        if !valid_header_name(key) {
            return Err(invalid_plan!(
                "{at}.headers: `{key}` is not a valid header name"
            ));
        }
        let place = [at, ".headers.", key].concat();
        let Json::String(text) = value else {
            return Err(wrong_type(&place, " must be a string", value));
        };
        let t = read_text(&place, text, header_value_problem)?;
        headers.push((key.clone(), t));
    }
    Ok(headers)
}

/// The text template at `place` (`calls.a.url`, `calls.a.headers.X-Key`), parsed once
/// it is within [`MAX_TEMPLATE_BYTES`] and `problem` finds nothing wrong with it: one
/// function for URLs and headers, so each message is written once.
fn read_text(
    place: &str,
    text: &str,
    problem: fn(&str) -> Option<&'static str>,
) -> Result<Template, Error> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(invalid_plan!(
            "{place} is {} bytes long, more than the limit of 8192 for a template",
            text.len()
        ));
    }
    if let Some(problem) = problem(text) {
        return Err(invalid_plan!("{place} {problem}"));
    }
    Template::parse(text).map_err(|e| invalid_plan!("{place}: {e}"))
}

fn read_body(at: &str, spec: &Json, method: Method) -> Result<Option<BodyTemplate>, Error> {
    let Some(json) = spec.get("body") else {
        return Ok(None);
    };
    if !method.allows_body() {
        return Err(invalid_plan!(
            "{at}.body: a {method} request cannot carry a body; use POST, PUT or PATCH"
        ));
    }
    if deeper_than(json, MAX_BODY_DEPTH - 1) {
        return Err(invalid_at(
            at,
            ".body nests arrays and objects more than 32 levels deep; flatten it",
        ));
    }
    read_template(&[at, ".body"].concat(), json).map(Some)
}

/// A body, or an operand of a condition, found at `at`: its strings parsed as templates.
fn read_template(at: &str, json: &Json) -> Result<BodyTemplate, Error> {
    BodyTemplate::parse(json).map_err(|(path, e)| {
        let place = if path.is_empty() {
            at.to_owned()
        } else {
            [at, ".", &path].concat()
        };
        invalid_plan!("{place}: {e}")
    })
}

fn read_timeout(at: &str, spec: &Json) -> Result<Option<f64>, Error> {
    match spec.get("timeoutMs") {
        None => Ok(None),
        Some(v) => time_limit(v).map(Some).ok_or_else(|| {
            invalid_at(
                at,
                ".timeoutMs must be a number of milliseconds above 0 and at most 2147483647",
            )
        }),
    }
}

/// `optional`, and the `fallback` that implies it.
fn read_optional(at: &str, spec: &Json) -> Result<(bool, Option<Json>), Error> {
    let fallback = spec.get("fallback").cloned();
    let optional = match spec.get("optional") {
        None => fallback.is_some(),
        Some(Json::Bool(false)) if fallback.is_some() => {
            return Err(invalid_at(
                at,
                ": a call with a `fallback` is optional; remove `\"optional\": false`",
            ))
        }
        Some(Json::Bool(b)) => *b,
        Some(other) => return Err(wrong_type(at, ".optional must be true or false", other)),
    };
    Ok((optional, fallback))
}

/// The calls `call` depends on, in order of first mention, without repeats: the one its
/// list is in, those its placeholders name (but for the element and index `bound` names),
/// then those its condition reads (`when_reads`), then those in `after`; and how many of
/// them, from the first, it reads.
fn read_deps(
    at: &str,
    spec: &Json,
    call: &Call,
    bound: Option<&ForEach>,
    when_reads: &[usize],
    index: &HashMap<String, usize>,
) -> Result<(Vec<usize>, usize), Error> {
    let mut deps: Vec<usize> = Vec::new();
    let depend_on = |deps: &mut Vec<usize>, d: usize| {
        if !deps.contains(&d) {
            deps.push(d);
        }
    };
    let list = call.for_each.as_ref().map(|f| &f.list);
    let placeholders = list
        .into_iter()
        .chain(call_placeholders(call).into_iter().map(|(h, _)| h));
    // Looked up by `&str`, as `Plan::position` looks (see `Plan::from_json_limited`).
    for h in placeholders {
        if h.root == INPUT {
            continue;
        }
        if bound.is_some_and(|f| f.binds(&h.root)) {
            if h.root == INDEX && !h.path.is_empty() {
                return Err(invalid_plan!(
                    "{at}: `{{{h}}}` reads into the element's position, a number; write `{{index}}`"
                ));
            }
            continue;
        }
        let Some(&d) = index.get(h.root.as_str()) else {
            return Err(unknown_root(at, h));
        };
        depend_on(&mut deps, d);
    }
    for &d in when_reads {
        depend_on(&mut deps, d);
    }
    let reads = deps.len();
    let items = match spec.get("after") {
        None => return Ok((deps, reads)),
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(wrong_type(
                at,
                ".after must be an array of call names",
                other,
            ))
        }
    };
    for item in items {
        let Json::String(dep) = item else {
            return Err(invalid_plan!(
                "{at}.after must list call names, found {}",
                item.type_name()
            ));
        };
        let Some(&d) = index.get(dep.as_str()) else {
            return Err(invalid_plan!(
                "{at}.after: `{dep}` is not a call of this plan"
            ));
        };
        depend_on(&mut deps, d);
    }
    Ok((deps, reads))
}

/// Reads `<at>.compensate`: a write with an explicit method, whose placeholders may read
/// the input, the call's own reply and what that call depended on (checked once the
/// graph is known, in [`check_compensations`]).
fn read_compensation(
    at: &str,
    name: &str,
    spec: &Json,
    index: &HashMap<String, usize>,
    fan_out: Option<&ForEach>,
) -> Result<Call, Error> {
    let at = [at, ".compensate"].concat();
    let compensation = read_request(
        &at,
        &[name, ".compensate"].concat(),
        spec,
        index,
        &COMPENSATE_FIELDS,
        fan_out,
    )?;
    if spec.get("method").is_none() {
        return Err(invalid_at(
            &at,
            ": missing `method`; name the write that undoes the call, such as \"DELETE\"",
        ));
    }
    if compensation.method.is_read() {
        return Err(invalid_plan!(
            "{at}.method: a {} cannot undo anything; use POST, PUT, PATCH or DELETE",
            compensation.method
        ));
    }
    Ok(compensation)
}

/// Whether `json` nests arrays and objects more than `max` levels below itself (so `json`
/// and `max` levels below it are fine), looking no deeper than that: the walk itself stays
/// shallow.
fn deeper_than(json: &Json, max: usize) -> bool {
    let nested = |child: &Json| {
        matches!(child, Json::Array(_) | Json::Object(_))
            && (max == 0 || deeper_than(child, max - 1))
    };
    match json {
        Json::Array(items) => items.iter().any(nested),
        Json::Object(entries) => entries.iter().any(|(_, v)| nested(v)),
        _ => false,
    }
}

/// A compensation runs after its call succeeded, when only that call and what it waited
/// for are sure to have replied: its placeholders may read nothing else.
fn check_compensations(calls: &[Call]) -> Result<(), Error> {
    for (i, call) in calls.iter().enumerate() {
        let Some(compensation) = &call.compensate else {
            continue;
        };
        let mut ancestors = vec![false; calls.len()];
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            if !ancestors[j] {
                ancestors[j] = true;
                stack.extend_from_slice(&calls[j].deps);
            }
        }
        for &d in &compensation.deps {
            if !ancestors[d] {
                return Err(invalid_plan!(
                    "calls.{0}.compensate reads `{1}`, which `{0}` does not wait for, so its reply may not exist when the compensation runs; read only `{0}`, its dependencies and `input`",
                    call.name, calls[d].name
                ));
            }
        }
    }
    Ok(())
}

/// The scheme and host of a URL must be written in the plan, never come from a value:
/// otherwise a reply could send the next request, and its headers, anywhere.
fn check_url_shape(at: &str, url: &Template) -> Result<(), Error> {
    // A `%` that does not start a whole escape in the template's own text would let a
    // substituted value finish it (`.%2{x}` with `x = "e"` is `..` to a browser).
    for part in url.parts() {
        if let Part::Literal(text) = part {
            let bytes = text.as_bytes();
            let broken = bytes.iter().enumerate().any(|(i, &b)| {
                b == b'%'
                    && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            });
            if broken {
                return Err(invalid_at(
                    at,
                    ".url: a `%` must start an escape of two hex digits written in the template, such as %2F",
                ));
            }
        }
    }
    if literal_dot_segment(url) {
        return Err(invalid_at(
            at,
            ".url has a `.` or `..` path segment, which the browser resolves away together \
             with the segment before it (perhaps a value's); write the path it leads to",
        ));
    }
    let prefix = url.fixed_prefix();
    let has_holes = url.placeholders().next().is_some();
    let rest = prefix
        .strip_prefix("https://")
        .or_else(|| prefix.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host_ends = rest.bytes().any(|b| matches!(b, b'/' | b'?' | b'#'));
            if rest.is_empty() || (has_holes && !host_ends) {
                return Err(invalid_at(
                    at,
                    ".url: the host must be written in the template, not come from a placeholder; \
                     write it as https://host/path/{...}",
                ));
            }
            Ok(())
        }
        // `/\` is `//` to a browser: another host, not a path on the page's origin.
        None if prefix.starts_with('/')
            && !prefix.starts_with("//")
            && !prefix.starts_with("/\\") =>
        {
            Ok(())
        }
        None => Err(invalid_at(
            at,
            ".url must start with http://, https:// or a single `/` (relative to the page)",
        )),
    }
}

/// Whether `url`'s path has a segment written wholly in the template that is `.` or `..`
/// (also as `%2e`). The URL parser removes such a segment, and `..` the one before it, so
/// `/users/{input.id}/..` would drop the value and call `/users/`.
fn literal_dot_segment(url: &Template) -> bool {
    if let [Part::Literal(text)] = url.parts() {
        return has_dot_segment(text);
    }
    // The template's text with each placeholder as a NUL, which no dot segment holds (a
    // URL template has no control characters of its own).
    let mut text = String::new();
    for part in url.parts() {
        match part {
            Part::Literal(t) => text.push_str(t),
            Part::Hole(_) => text.push('\0'),
        }
    }
    has_dot_segment(&text)
}

/// For each call, the calls that wait for it, in plan order.
fn dependents_of(calls: &[Call]) -> Vec<Vec<usize>> {
    let mut dependents = vec![Vec::new(); calls.len()];
    for (i, call) in calls.iter().enumerate() {
        for &d in &call.deps {
            dependents[d].push(i);
        }
    }
    dependents
}

/// Assigns each call its stage and its chain, and returns the stages; names a cycle if
/// there is one. `dependents` is [`dependents_of`] the calls.
///
/// A call's stage is one more than its deepest dependency's (Kahn's order guarantees all
/// of them are final when it is reached), its chain one more than its longest dependent's
/// (the same order backwards). Stages list calls in plan order.
fn levels(calls: &mut [Call], dependents: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, Error> {
    let n = calls.len();
    let mut waiting: Vec<usize> = calls.iter().map(|c| c.deps.len()).collect();
    let mut level = vec![0usize; n];
    // A loop rather than `filter` and `collect`, whose adapters cost .wasm.
    let mut order = Vec::with_capacity(n);
    for (i, &w) in waiting.iter().enumerate() {
        if w == 0 {
            order.push(i);
        }
    }
    let mut next = 0;
    while next < order.len() {
        let i = order[next];
        next += 1;
        for &j in &dependents[i] {
            level[j] = level[j].max(level[i] + 1);
            waiting[j] -= 1;
            if waiting[j] == 0 {
                order.push(j);
            }
        }
    }
    if order.len() < n {
        let cycle = find_cycle(calls, &waiting);
        return Err(invalid_plan!(
            "cycle: {}; remove one of these dependencies",
            cycle.join(" -> ")
        ));
    }
    let mut chain = vec![1usize; n];
    for &i in order.iter().rev() {
        let mut longest = 0;
        for &j in &dependents[i] {
            longest = longest.max(chain[j]);
        }
        chain[i] += longest;
    }
    let mut depth = 0;
    for &l in &level {
        depth = depth.max(l + 1);
    }
    let mut stages = vec![Vec::new(); depth];
    for (i, call) in calls.iter_mut().enumerate() {
        call.stage = level[i];
        call.chain = chain[i];
        stages[level[i]].push(i);
    }
    Ok(stages)
}

/// Walks dependencies among the unplaced calls until one repeats: that loop is a cycle.
fn find_cycle<'a>(calls: &'a [Call], waiting: &[usize]) -> Vec<&'a str> {
    // Loops rather than iterator adapters, whose code costs .wasm.
    let stuck = |i: usize| waiting[i] > 0;
    // The first stuck call: there is one, or there would be no cycle to find.
    let mut at = 0;
    while at < calls.len() && !stuck(at) {
        at += 1;
    }
    let mut seen_at = vec![usize::MAX; calls.len()];
    // The names walked, in order.
    let mut path = Vec::new();
    loop {
        let name = calls[at].name.as_str();
        if seen_at[at] != usize::MAX {
            let mut cycle = path.split_off(seen_at[at]);
            cycle.push(name);
            return cycle;
        }
        seen_at[at] = path.len();
        path.push(name);
        // A stuck call always has a stuck dependency, so this walk never ends elsewhere.
        let mut next = None;
        for &d in &calls[at].deps {
            if stuck(d) {
                next = Some(d);
                break;
            }
        }
        at = match next {
            Some(d) => d,
            None => return vec![name],
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn plan(src: &str) -> Result<Plan, Error> {
        Plan::from_json(&serde_json::from_str(src).unwrap())
    }

    fn err(src: &str) -> String {
        let e = plan(src).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidPlan);
        e.message().to_owned()
    }

    const EXAMPLE: &str = r#"{"calls":{
        "user":  {"url":"https://api.example/users/{input.userId}"},
        "posts": {"url":"https://api.example/posts?author={user.id}"},
        "audit": {"method":"POST","url":"https://api.example/audit",
                  "body":{"userId":"{user.id}","count":"{posts.length}"},
                  "after":["posts"],"headers":{"X-Source":"portal"}}
    }}"#;

    #[test]
    fn reads_the_readme_example() {
        let p = plan(EXAMPLE).unwrap();
        assert_eq!(
            p.stage_names(),
            vec![vec!["user"], vec!["posts"], vec!["audit"]]
        );
        let audit = &p.calls()[2];
        assert_eq!(audit.method, Method::Post);
        assert_eq!(audit.deps, vec![0, 1]);
        assert_eq!(p.dependents(0), &[1, 2]);
    }

    #[test]
    fn a_condition_reads_calls_as_the_request_does() {
        let p = plan(
            r#"{"calls":{
            "customer":{"url":"/c"},
            "cart":{"url":"/cart"},
            "audit":{"url":"/audit","method":"POST"},
            "points":{"url":"/p","after":["audit"],
                      "when":{"and":[{"equals":["{customer.tier}","gold"]},{"exists":"{input.card}"}]}}}}"#,
        )
        .unwrap();
        let points = &p.calls()[3];
        assert_eq!(
            points.deps,
            vec![0, 2],
            "the condition's call, then `after`"
        );
        assert!(
            p.calls()[0].read_by_others,
            "a condition reads the reply as JSON"
        );
        assert!(!p.calls()[1].read_by_others);
        assert!(p.reads(3, 0), "points reads customer");
        assert!(!p.reads(3, 2), "points is only ordered after audit");
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","when":{"or":[{"exists":"{input.x}"},{"gt":["{b.n}",1]}]}}}}"#),
            "calls.a.when.or[1].gt[0]: placeholder `{b.n}` names `b`, which is neither `input` nor a call of this plan"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","when":{"equals":["{input.x",1]}}}}"#)
                .split(':')
                .next(),
            Some("calls.a.when.equals[0]")
        );
        let m = err(
            r#"{"calls":{"a":{"url":"/a","method":"POST","compensate":{"method":"DELETE","url":"/a","when":{"exists":"{input.x}"}}}}}"#,
        );
        assert!(
            m.starts_with("calls.a.compensate: unknown field `when`"),
            "{m}"
        );
        let m = err(r#"{"calls":{"a":{"url":"/a","when":{"exists":"{a.x}"}}}}"#);
        assert!(
            m.starts_with("cycle: a -> a"),
            "a condition on its own reply: {m}"
        );
    }

    #[test]
    fn stages_are_topological_levels_in_plan_order() {
        let p = plan(
            r#"{"calls":{
            "d":{"url":"/d","after":["b","c"]},
            "a":{"url":"/a"},
            "c":{"url":"/c","after":["a"]},
            "b":{"url":"/b"},
            "e":{"url":"/e","after":["a"]}}}"#,
        )
        .unwrap();
        assert_eq!(
            p.stage_names(),
            vec![vec!["a", "b"], vec!["c", "e"], vec!["d"]]
        );
    }

    #[test]
    fn names_a_cycle() {
        let m = err(r#"{"calls":{"a":{"url":"/a/{b.x}"},"b":{"url":"/b","after":["a"]}}}"#);
        assert_eq!(m, "cycle: a -> b -> a; remove one of these dependencies");
        let m = err(r#"{"calls":{"a":{"url":"/a/{a.x}"}}}"#);
        assert!(m.starts_with("cycle: a -> a"), "{m}");
        let m = err(
            r#"{"calls":{"ok":{"url":"/"},"x":{"url":"/","after":["ok","z"]},"y":{"url":"/","after":["x"]},"z":{"url":"/","after":["y"]}}}"#,
        );
        assert!(m.starts_with("cycle: x -> z -> y -> x"), "{m}");
    }

    #[test]
    fn rejects_unknown_names() {
        let m = err(r#"{"calls":{"a":{"url":"/a/{usr.id}"}}}"#);
        assert!(
            m.contains("calls.a: placeholder `{usr.id}` names `usr`"),
            "{m}"
        );
        let m = err(r#"{"calls":{"a":{"url":"/a","after":["ghost"]}}}"#);
        assert_eq!(m, "calls.a.after: `ghost` is not a call of this plan");
        let m = err(r#"{"calls":{"a":{"url":"/a","body":{"x":"{nope}"},"method":"POST"}}}"#);
        assert!(m.contains("names `nope`"), "{m}");
    }

    #[test]
    fn rejects_missing_url_bad_method_and_malformed_placeholders() {
        assert_eq!(
            err(r#"{"calls":{"a":{}}}"#),
            "calls.a: missing `url`; every call needs one"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"  "}}}"#),
            "calls.a: missing `url`; every call needs one"
        );
        assert!(err(r#"{"calls":{"a":{"url":"/","method":"FETCH"}}}"#)
            .starts_with("calls.a.method: unsupported method `FETCH`; use one of GET, HEAD"));
        assert!(err(r#"{"calls":{"a":{"url":"/","method":5}}}"#).contains("must be a string"));
        assert!(err(r#"{"calls":{"a":{"url":"/x/{input.id"}}}"#)
            .starts_with("calls.a.url: unclosed `{`"));
        assert!(
            err(r#"{"calls":{"a":{"url":"/x","method":"POST","body":{"k":["{input..x}"]}}}}"#)
                .starts_with("calls.a.body.k.0: malformed placeholder `{input..x}`")
        );
        assert!(
            err(r#"{"calls":{"a":{"url":"/x","headers":{"X-A":"{}"}}}}"#)
                .starts_with("calls.a.headers.X-A: malformed placeholder")
        );
    }

    #[test]
    fn rejects_structural_mistakes() {
        assert!(err(r#"[]"#).starts_with("plan must be an object"));
        assert_eq!(err(r#"{}"#), "plan has no `calls` object");
        assert!(err(r#"{"calls":[]}"#).starts_with("plan.calls must be an object"));
        assert!(err(r#"{"calls":{},"extra":1}"#).starts_with("plan: unknown field `extra`"));
        assert!(err(r#"{"calls":{"a":{"url":"/","metod":"POST"}}}"#)
            .starts_with("calls.a: unknown field `metod`"));
        assert!(err(r#"{"calls":{"a":"/x"}}"#).starts_with("calls.a must be an object"));
        assert!(err(r#"{"calls":{"a b":{"url":"/"}}}"#).contains("not a valid call name"));
        assert!(err(r#"{"calls":{"input":{"url":"/"}}}"#).contains("reserved"));
        assert!(err(r#"{"calls":{"a":{"url":"/","body":{}}}}"#)
            .contains("GET request cannot carry a body"));
        assert!(
            err(r#"{"calls":{"a":{"url":"/","headers":{"Bad Name":"x"}}}}"#)
                .contains("not a valid header name")
        );
        assert!(
            err(r#"{"calls":{"a":{"url":"/","headers":{"X":1}}}}"#).contains("must be a string")
        );
        assert!(err(r#"{"calls":{"a":{"url":"/","after":"b"}}}"#).contains("must be an array"));
        assert!(err(r#"{"calls":{"a":{"url":"/","timeoutMs":0}}}"#)
            .starts_with("calls.a.timeoutMs must be a number"));
        assert!(err(r#"{"calls":{"a":{"url":"/","timeoutMs":"5s"}}}"#)
            .starts_with("calls.a.timeoutMs must be a number"));
        assert_eq!(
            plan(r#"{"calls":{"a":{"url":"/","timeoutMs":250}}}"#)
                .unwrap()
                .calls()[0]
                .timeout_ms,
            Some(250.0)
        );
    }

    #[test]
    fn host_must_be_literal() {
        assert!(
            err(r#"{"calls":{"a":{"url":"{input.base}/x"}}}"#).contains("must start with http://")
        );
        assert!(err(r#"{"calls":{"a":{"url":"https://{input.host}/x"}}}"#)
            .contains("host must be written"));
        assert!(
            err(r#"{"calls":{"a":{"url":"https://api.{input.tld}/x"}}}"#)
                .contains("host must be written")
        );
        assert!(err(r#"{"calls":{"a":{"url":"//evil.example/x"}}}"#).contains("must start with"));
        assert!(plan(r#"{"calls":{"a":{"url":"https://api.example"}}}"#).is_ok());
        assert!(plan(r#"{"calls":{"a":{"url":"http://127.0.0.1:4502/s/{input.s}"}}}"#).is_ok());
    }

    #[test]
    fn empty_plan_is_valid() {
        assert!(plan(r#"{"calls":{}}"#).unwrap().stages().is_empty());
    }

    #[test]
    fn optional_and_fallback_are_read_and_checked() {
        let p = plan(
            r#"{"calls":{"a":{"url":"/a","optional":true},"b":{"url":"/b","fallback":[]},"c":{"url":"/c","optional":false}}}"#,
        )
        .unwrap();
        let c = p.calls();
        assert!(c[0].optional && c[0].fallback.is_none());
        assert!(c[1].optional, "a fallback makes the call optional");
        assert_eq!(c[1].fallback, Some(Json::Array(vec![])));
        assert!(!c[2].optional);
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","optional":"yes"}}}"#),
            "calls.a.optional must be true or false, not a string"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","optional":false,"fallback":0}}}"#),
            "calls.a: a call with a `fallback` is optional; remove `\"optional\": false`"
        );
    }

    #[test]
    fn a_compensation_is_a_write_that_reads_only_what_its_call_had() {
        let p = plan(
            r#"{"calls":{
                "cart":{"url":"/cart"},
                "hold":{"method":"POST","url":"/holds","body":{"items":"{cart.items}"},
                        "compensate":{"method":"DELETE","url":"/holds/{hold.id}?cart={cart.id}&u={input.u}","timeoutMs":500}}
            }}"#,
        )
        .unwrap();
        let undo = p.calls()[1].compensate.as_deref().unwrap();
        assert_eq!(
            (undo.name.as_str(), undo.method, undo.timeout_ms),
            ("hold.compensate", Method::Delete, Some(500.0))
        );
        assert_eq!(p.stages().len(), 2, "a compensation adds no dependency");

        let cases = [
            (
                r#"{"calls":{"a":{"url":"/a","compensate":{"method":"DELETE","url":"/a"}}}}"#,
                "calls.a.compensate: a GET changes nothing, so there is nothing to undo",
            ),
            (
                r#"{"calls":{"a":{"method":"POST","url":"/a","compensate":{"url":"/a"}}}}"#,
                "calls.a.compensate: missing `method`; name the write that undoes the call, such as \"DELETE\"",
            ),
            (
                r#"{"calls":{"a":{"method":"POST","url":"/a","compensate":{"method":"GET","url":"/a"}}}}"#,
                "calls.a.compensate.method: a GET cannot undo anything; use POST, PUT, PATCH or DELETE",
            ),
            (
                r#"{"calls":{"a":{"method":"POST","url":"/a","compensate":{"method":"DELETE","url":"/a","after":["a"]}}}}"#,
                "calls.a.compensate: unknown field `after`; a compensation has url, method, headers, body, timeoutMs",
            ),
            (
                r#"{"calls":{"a":{"method":"POST","url":"/a","compensate":"DELETE /a"}}}"#,
                "calls.a.compensate must be an object like {\"url\": \"https://...\"}, not a string",
            ),
            (
                r#"{"calls":{"a":{"method":"POST","url":"/a","compensate":{"method":"DELETE","url":"/a/{nope.id}"}}}}"#,
                "calls.a.compensate: placeholder `{nope.id}` names `nope`, which is neither `input` nor a call of this plan",
            ),
            (
                r#"{"calls":{"b":{"url":"/b"},"a":{"method":"POST","url":"/a","compensate":{"method":"DELETE","url":"/a/{b.id}"}}}}"#,
                "calls.a.compensate reads `b`, which `a` does not wait for, so its reply may not exist when the compensation runs; read only `a`, its dependencies and `input`",
            ),
        ];
        for (src, message) in cases {
            assert_eq!(err(src), message, "{src}");
        }
    }

    /// A plan of `n` independent calls.
    fn calls(n: usize) -> Json {
        let calls = (0..n)
            .map(|i| {
                (
                    format!("c{i}"),
                    Json::Object(vec![("url".into(), Json::String(format!("/c/{i}")))]),
                )
            })
            .collect();
        Json::Object(vec![("calls".into(), Json::Object(calls))])
    }

    #[test]
    fn a_plan_has_at_most_1000_calls_unless_allowed_more() {
        assert_eq!(
            Plan::from_json(&calls(DEFAULT_MAX_CALLS))
                .unwrap()
                .calls()
                .len(),
            1000
        );
        let e = Plan::from_json(&calls(DEFAULT_MAX_CALLS + 1)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidPlan);
        assert_eq!(
            e.message(),
            "plan has 1001 calls, more than the limit of 1000; split it, or raise options.maxCalls"
        );
        assert!(Plan::from_json_limited(&calls(1001), 1001).is_ok());
        assert!(Plan::from_json_limited(&calls(3), 2).is_err());
        assert!(Plan::from_json_limited(&calls(2), 2).is_ok());
    }

    #[test]
    fn url_and_header_templates_are_at_most_8_kib() {
        let url = |n: usize| format!("/{}", "a".repeat(n - 1));
        let with_url = |u: &str| format!(r#"{{"calls":{{"a":{{"url":"{u}"}}}}}}"#);
        assert!(plan(&with_url(&url(MAX_TEMPLATE_BYTES))).is_ok());
        assert_eq!(
            err(&with_url(&url(MAX_TEMPLATE_BYTES + 1))),
            "calls.a.url is 8193 bytes long, more than the limit of 8192 for a template"
        );
        let header = |n: usize| {
            format!(
                r#"{{"calls":{{"a":{{"url":"/","headers":{{"X-A":"{}"}}}}}}}}"#,
                "h".repeat(n)
            )
        };
        assert!(plan(&header(MAX_TEMPLATE_BYTES)).is_ok());
        assert_eq!(
            err(&header(MAX_TEMPLATE_BYTES + 1)),
            "calls.a.headers.X-A is 8193 bytes long, more than the limit of 8192 for a template"
        );
        let compensation = format!(
            r#"{{"calls":{{"a":{{"method":"POST","url":"/","compensate":{{"method":"DELETE","url":"{}"}}}}}}}}"#,
            url(MAX_TEMPLATE_BYTES + 1)
        );
        assert!(err(&compensation).starts_with("calls.a.compensate.url is 8193 bytes long"));
        assert!(err(&format!(
            r#"{{"calls":{{"a":{{"url":"/x/{{input.{}}}"}}}}}}"#,
            "p".repeat(300)
        ))
        .contains("longer than 256 characters"));
    }

    #[test]
    fn body_templates_nest_at_most_32_levels() {
        let nested = |levels: usize| {
            let mut body = String::from(r#""{input.x}""#);
            for i in 0..levels {
                body = if i % 2 == 0 {
                    format!("[{body}]")
                } else {
                    format!(r#"{{"k":{body}}}"#)
                };
            }
            format!(r#"{{"calls":{{"a":{{"method":"POST","url":"/","body":{body}}}}}}}"#)
        };
        assert!(plan(&nested(MAX_BODY_DEPTH)).is_ok());
        let m = err(&nested(MAX_BODY_DEPTH + 1));
        assert_eq!(
            m,
            "calls.a.body nests arrays and objects more than 32 levels deep; flatten it"
        );
        // Literal data counts too: the limit is on the body, templated or not.
        let flat = format!(
            r#"{{"calls":{{"a":{{"method":"POST","url":"/","body":{}{}}}}}}}"#,
            "[".repeat(33),
            "]".repeat(33)
        );
        assert!(err(&flat).starts_with("calls.a.body nests"));
    }

    #[test]
    fn a_url_template_holds_no_control_characters() {
        for bad in [r"/a\tb", r"https://api.exa\nmple/x", r"/a\u0000"] {
            assert_eq!(
                err(&format!(r#"{{"calls":{{"a":{{"url":"{bad}"}}}}}}"#)),
                "calls.a.url holds a control character (a tab or a newline, say); remove it"
            );
        }
    }

    #[test]
    fn scheme_host_and_port_come_from_the_template() {
        for url in [
            "https://{input.host}/x",
            "https://api.example:{input.port}/x",
            "https://{input.user}@api.example/x",
            "http://api.example{input.rest}",
            "{input.url}",
            "http{input.s}://api.example/x",
        ] {
            let m = err(&format!(r#"{{"calls":{{"a":{{"url":"{url}"}}}}}}"#));
            assert!(
                m.contains("host must be written") || m.contains("must start with http://"),
                "{url}: {m}"
            );
        }
    }

    #[test]
    fn origins_must_be_allowed() {
        let p = plan(
            r#"{"calls":{
                "a": {"url":"https://api.example/a/{input.id}"},
                "b": {"method":"POST","url":"https://API.example:443/b",
                      "compensate":{"method":"DELETE","url":"https://undo.example/b/{b.id}"}},
                "c": {"url":"/c"}
            }}"#,
        )
        .unwrap();
        let allowed = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let page = Some("https://portal.example");
        assert!(p
            .check_origins(
                &allowed(&[
                    "https://api.example",
                    "https://undo.example",
                    "https://portal.example"
                ]),
                page
            )
            .is_ok());
        let e = p
            .check_origins(
                &allowed(&["https://api.example", "https://portal.example"]),
                page,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidPlan);
        assert_eq!(e.call(), Some("b"));
        assert_eq!(
            e.message(),
            "calls.b.compensate.url goes to https://undo.example, which is not in \
             options.allowedOrigins (https://api.example, https://portal.example); add it there \
             if the plan may call it"
        );
        let e = p
            .check_origins(
                &allowed(&["https://api.example", "https://undo.example"]),
                page,
            )
            .unwrap_err();
        assert_eq!(e.call(), Some("c"));
        assert!(e
            .message()
            .starts_with("calls.c.url goes to https://portal.example, which is not"));
        let e = p
            .check_origins(
                &allowed(&["https://api.example", "https://undo.example"]),
                None,
            )
            .unwrap_err();
        assert_eq!(
            e.message(),
            "calls.c.url is relative (/c), but there is no page origin to resolve it against; \
             write an absolute URL, or leave out options.allowedOrigins"
        );
        let e = p.check_origins(&[], page).unwrap_err();
        assert_eq!(e.call(), Some("a"), "an empty list allows nothing");
        assert!(plan(r#"{"calls":{}}"#)
            .unwrap()
            .check_origins(&[], None)
            .is_ok());
    }

    #[test]
    fn a_percent_in_a_url_template_must_start_a_whole_escape() {
        assert!(plan(r#"{"calls":{"a":{"url":"/v1/a%2Fb/{input.x}?q=%41"}}}"#).is_ok());
        for url in ["/v1/.%2{input.x}", "/v1/%{input.x}", "/v1/100%", "/v1/%zz"] {
            assert_eq!(
                err(&format!(r#"{{"calls":{{"a":{{"url":"{url}"}}}}}}"#)),
                "calls.a.url: a `%` must start an escape of two hex digits written in the template, such as %2F",
                "{url}"
            );
        }
    }

    #[test]
    fn a_header_template_fetch_would_refuse_is_refused() {
        let header =
            |v: &str| format!(r#"{{"calls":{{"a":{{"url":"/","headers":{{"X-A":"{v}"}}}}}}}}"#);
        assert_eq!(
            err(&header(r"a\r\nX-Admin: 1")),
            "calls.a.headers.X-A holds a line break or NUL"
        );
        assert_eq!(
            err(&header("5 €")),
            "calls.a.headers.X-A holds a character above U+00FF, which a header value cannot carry"
        );
        assert!(plan(&header(r"café\t{input.x}")).is_ok());
    }

    #[test]
    fn a_dot_segment_written_in_a_url_template_is_refused() {
        for url in [
            "/users/{input.id}/..",
            "/users/{input.id}/./x",
            "/a/../{input.id}",
            "https://api.example/%2E%2e/{input.id}",
            "https://api.example/v1/.%2e?q={input.q}",
            "/x/..",
        ] {
            assert_eq!(
                err(&format!(r#"{{"calls":{{"a":{{"url":"{url}"}}}}}}"#)),
                "calls.a.url has a `.` or `..` path segment, which the browser resolves away \
                 together with the segment before it (perhaps a value's); write the path it leads to",
                "{url}"
            );
        }
        // Dots inside a segment, next to a value, or after the path are not dot segments.
        for url in [
            "/v1.2/{input.id}/...",
            "/files/{input.name}.json",
            "/a/.{input.x}/{input.y}./b",
            "/a?next=../b",
            "/a#../b",
            "https://api.example/x/.well-known",
        ] {
            assert!(
                plan(&format!(r#"{{"calls":{{"a":{{"url":"{url}"}}}}}}"#)).is_ok(),
                "{url}"
            );
        }
    }
}
