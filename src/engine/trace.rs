//! W3C Trace Context: the `traceparent` header that ties a composition's requests
//! together in the backend's traces.
//!
//! One trace id per composition, random (never all zeros), reported in the result and on
//! the error, so a composition can be looked up in the tracing backend. One span id per
//! call: the client span the call's requests belong to. **Retries reuse their call's span
//! id**, as they reuse its `Idempotency-Key`: the backend sees one client span with one
//! server span per attempt, which is what happened. Each compensation has a span id of
//! its own (it is another request, sent for another reason). The flags are `01`
//! (sampled): the page asks for the trace to be kept; a backend may still decide not to.
//!
//! The header goes only to the origins the caller named (see [`TraceContext::new`]): on
//! a page, a `traceparent` makes a cross-origin request non-simple, so the browser first
//! sends a CORS preflight, and a service that does not list the header in
//! `Access-Control-Allow-Headers` would make the request fail. A header the plan itself
//! writes (`traceparent`, in any case) wins: the engine adds none to that request, so a
//! page can join a trace it is already in.

use crate::engine::transport::Request;

/// The header's name, as the W3C recommendation writes it.
pub const TRACEPARENT: &str = "traceparent";

/// One composition's trace: its trace id, the span ids of its calls, and where the
/// header may go. Set in [`crate::Settings::trace`], it gives every request whose origin
/// is listed a `traceparent` header `00-<trace id>-<span id>-01`.
///
/// One span id per call, which its retries reuse (as they reuse its `Idempotency-Key`);
/// each compensation has a span id of its own. A `traceparent` header the plan writes
/// itself (in any case) wins: the request gets no other. The origins are the caller's
/// choice because on a page the header makes a cross-origin request non-simple (a CORS
/// preflight the service must answer with `Access-Control-Allow-Headers: traceparent`).
///
/// # Examples
///
/// ```
/// use parallel_composer::TraceContext;
///
/// let seed = [7; 24]; // in the browser: crypto.getRandomValues
/// let trace = TraceContext::new(seed, vec!["https://api.example".into()], None);
/// assert_eq!(trace.trace_id(), "07070707070707070707070707070707");
/// assert!(trace.traceparent(0).starts_with("00-0707"));
/// assert!(trace.goes_to("https://api.example/users/1"));
/// assert!(!trace.goes_to("https://other.example/x"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// `00-<trace id>-`: what every `traceparent` of the composition starts with.
    prefix: String,
    span_seed: u64,
    /// Origins that get the header, as [`crate::plan::template::parse_origin`] writes them.
    origins: Vec<String>,
    /// The origin of a relative URL (the page's), if any.
    page: Option<String>,
}

impl TraceContext {
    /// A trace from 24 random bytes (the trace id, then the seed of the span ids), sent
    /// to requests whose origin is in `origins`; a relative URL has the origin `page`.
    /// A trace id of all zeros, which the recommendation forbids, gets its last bit set.
    pub fn new(seed: [u8; 24], origins: Vec<String>, page: Option<String>) -> Self {
        let mut trace_id = [0; 16];
        trace_id.copy_from_slice(&seed[..16]);
        if trace_id == [0; 16] {
            trace_id[15] = 1;
        }
        let mut span = [0; 8];
        span.copy_from_slice(&seed[16..]);
        let mut prefix = String::with_capacity(36);
        prefix.push_str("00-");
        push_hex(&mut prefix, &trace_id);
        prefix.push('-');
        TraceContext {
            prefix,
            span_seed: u64::from_le_bytes(span),
            origins,
            page,
        }
    }

    /// The trace id: 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        // `get`, not a panicking slice: the prefix is ASCII (`00-<32 hex>-`), so it never fails.
        self.prefix.get(3..35).unwrap_or_default().to_owned()
    }

    /// The span id of span `n`: call `n` of the plan, or, for `n` past the plan's calls,
    /// the compensation of call `n - calls`. Distinct for distinct `n` (a bijective mix
    /// of the seed plus `n`), never zero.
    pub fn span_id(&self, n: usize) -> [u8; 8] {
        // SplitMix64's finalizer: a bijection on u64, so distinct inputs never collide.
        let mut z = self.span_seed.wrapping_add(n as u64);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // All zeros is invalid; the one input that maps there (a chance of 2^-64) gets 1.
        z.max(1).to_be_bytes()
    }

    /// The `traceparent` value of span `n`: `00-<trace id>-<span id>-01`.
    pub fn traceparent(&self, n: usize) -> String {
        let mut value = String::with_capacity(55);
        value.push_str(&self.prefix);
        push_hex(&mut value, &self.span_id(n));
        value.push_str("-01");
        value
    }

    /// Whether a request to `url` may carry the header.
    pub fn goes_to(&self, url: &str) -> bool {
        if self.origins.is_empty() {
            return false;
        }
        let mut has_origin = false;
        for origin in &self.origins {
            match crate::plan::template::origin_is(url, origin) {
                Some(true) => return true,
                Some(false) => has_origin = true,
                None => break,
            }
        }
        !has_origin && self.page.as_ref().is_some_and(|p| self.origins.contains(p))
    }

    /// Gives `request` (span `n`) its `traceparent`, unless its origin is not one of the
    /// trace's or the plan wrote one.
    pub(crate) fn add_to<V>(&self, request: &mut Request<V>, n: usize) {
        let written = request
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(TRACEPARENT));
        if !written && self.goes_to(&request.url) {
            request
                .headers
                .push((TRACEPARENT.to_owned(), self.traceparent(n)));
        }
    }
}

/// Appends `bytes` in lower-case hex, without the formatting machinery.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Method;

    fn seeded(byte: u8) -> [u8; 24] {
        let mut seed = [0; 24];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = byte.wrapping_add(i as u8);
        }
        seed
    }

    fn get(url: &str, headers: &[(&str, &str)]) -> Request<()> {
        Request {
            fresh: false,
            method: Method::Get,
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: None,
        }
    }

    #[test]
    fn traceparent_is_version_trace_span_and_sampled() {
        let t = TraceContext::new(seeded(0xa0), vec![], None);
        assert_eq!(t.trace_id(), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
        let value = t.traceparent(0);
        assert_eq!(value.len(), 55);
        let parts: Vec<&str> = value.split('-').collect();
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1], t.trace_id());
        let mut span = String::new();
        push_hex(&mut span, &t.span_id(0));
        assert_eq!(parts[2], span);
        assert_eq!(parts[3], "01");
        assert!(parts[2]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn a_trace_id_is_never_all_zeros_and_span_ids_never_zero_or_equal() {
        let t = TraceContext::new([0; 24], vec![], None);
        assert_eq!(t.trace_id(), "00000000000000000000000000000001");
        let mut seen = std::collections::HashSet::new();
        for n in 0..5000 {
            let id = t.span_id(n);
            assert_ne!(id, [0; 8]);
            assert!(seen.insert(id), "span {n} repeats");
        }
        assert_eq!(t.span_id(7), t.span_id(7), "a call keeps its span id");
    }

    #[test]
    fn the_header_goes_only_to_the_listed_origins_and_never_twice() {
        let t = TraceContext::new(
            seeded(1),
            vec!["https://api.example".into(), "http://127.0.0.1:8080".into()],
            Some("http://127.0.0.1:8080".into()),
        );
        let mut listed = get("https://API.example:443/users/1", &[]);
        t.add_to(&mut listed, 3);
        assert_eq!(listed.headers, [(TRACEPARENT.to_owned(), t.traceparent(3))]);
        let mut relative = get("/api/x", &[]);
        t.add_to(&mut relative, 0);
        assert_eq!(
            relative.headers.len(),
            1,
            "a relative URL is on the page's origin"
        );
        let mut other = get("https://other.example/x", &[]);
        t.add_to(&mut other, 0);
        assert!(other.headers.is_empty());
        let mut written = get("https://api.example/x", &[("TraceParent", "00-abc")]);
        t.add_to(&mut written, 0);
        assert_eq!(written.headers.len(), 1, "the plan's own header wins");
        assert_eq!(written.headers[0].1, "00-abc");

        let nowhere = TraceContext::new(seeded(1), vec![], None);
        let mut none = get("/x", &[]);
        nowhere.add_to(&mut none, 0);
        assert!(
            none.headers.is_empty(),
            "no page, no listed origin: no header"
        );
    }

    /// The traceparent each request the simulated network saw carried, by URL.
    fn sent(sim: &crate::tests::sim::Sim) -> Vec<(String, Option<String>)> {
        sim.seen()
            .iter()
            .map(|s| {
                let header = s
                    .request
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(TRACEPARENT));
                (s.request.url.clone(), header.map(|(_, v)| v.clone()))
            })
            .collect()
    }

    #[test]
    fn every_request_of_a_composition_carries_its_trace_and_its_call_s_span() {
        use crate::engine::settings::{Schedule, Settings};
        use crate::engine::transport::{Reply, TransportError};
        use crate::tests::sim::{json, plan, Sim};
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/a"},
            "w":{"method":"POST","url":"http://svc/w",
                 "compensate":{"method":"DELETE","url":"http://svc/undo"}},
            "own":{"url":"http://svc/own","headers":{"Traceparent":"00-{a.id}-00f067aa0ba902b7-00"}},
            "other":{"url":"http://elsewhere/x"},
            "fail":{"url":"http://svc/fail","after":["w","own","other"]}}}"#,
        );
        let tries = std::rc::Rc::new(std::cell::Cell::new(0));
        let sim = Sim::new(move |req| {
            let ok = |body: &str| {
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: json(body),
                    replayed: false,
                })
            };
            match req.url.as_str() {
                "http://svc/a" => {
                    tries.set(tries.get() + 1);
                    if tries.get() == 1 {
                        (10.0, Err(TransportError::Status(503)))
                    } else {
                        (10.0, ok(r#"{"id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#))
                    }
                }
                "http://svc/fail" => (10.0, Err(TransportError::Status(500))),
                _ => (10.0, ok("{}")),
            }
        });
        let trace = TraceContext::new(seeded(7), vec!["http://svc".into()], None);
        let settings = Settings {
            trace: Some(trace.clone()),
            ..Settings::from(Schedule::Eager)
        };
        let out = crate::tests::sim::run_to_end(&sim, &p, &json("{}"), settings);
        assert_eq!(out.error.unwrap().call(), Some("fail"));
        let sent = sent(&sim);
        let of = |url: &str| -> Vec<Option<String>> {
            sent.iter()
                .filter(|(u, _)| u == url)
                .map(|(_, h)| h.clone())
                .collect()
        };
        let a = of("http://svc/a");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], Some(trace.traceparent(0)));
        assert_eq!(a[1], a[0], "a retry keeps its call's span");
        assert_eq!(of("http://svc/w"), [Some(trace.traceparent(1))]);
        assert_eq!(
            of("http://svc/own"),
            [Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_owned()
            )],
            "the plan's own header wins, alone"
        );
        assert_eq!(
            of("http://elsewhere/x"),
            [None],
            "not an origin of the trace"
        );
        assert_eq!(of("http://svc/fail"), [Some(trace.traceparent(4))]);
        // The compensation of `w` (call 1 of 5) has span 5 + 1: same trace, its own span.
        assert_eq!(of("http://svc/undo"), [Some(trace.traceparent(6))]);
        let spans: std::collections::HashSet<String> = sent
            .iter()
            .filter_map(|(_, h)| h.clone())
            .filter(|h| h.contains(&trace.trace_id()))
            .map(|h| h[36..52].to_owned())
            .collect();
        assert_eq!(spans.len(), 4, "a, w, fail and the undo: one span each");
    }
}
