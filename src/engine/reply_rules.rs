//! Response limits: what a reply may be before the composition accepts it.
//!
//! The browser transport enforces the byte cap while it reads (`js/fetch-call.js` refuses
//! a `Content-Length` over the cap at once, and reads a body of unknown or compressed
//! length chunk by chunk, aborting the request the moment the count passes the cap) and
//! refuses redirects (`redirect: "manual"`),
//! so one service can neither exhaust the page's memory nor send a request, headers and
//! all, on to another origin. What is decided here, from those facts: when an empty reply
//! is an error, and how these failures read in a message.

use crate::engine::hooks::Hooks;
use crate::plan::value::Value;
use crate::plan::Call;
use std::fmt::Write;

/// Whether `call`'s reply must be JSON: another call's placeholder reads it, or the hooks
/// do. An empty reply (204, or a 200 without a body) then fails the call with
/// `BAD_RESPONSE`; otherwise it is `null` data, as a DELETE answering 204 should be.
pub(crate) fn expects_json<V: Value, H: Hooks<V> + ?Sized>(call: &Call, hooks: &H) -> bool {
    call.read_by_others || hooks.needs_body(&call.name)
}

/// The most characters of a body an error message quotes.
pub(crate) const EXCERPT_CHARS: usize = 100;

/// The start of a body, fit to quote in a message: at most [`EXCERPT_CHARS`] characters,
/// `…` when cut, and control and bidi-override characters escaped (`\n`, `\u{1b}`), so a
/// reply cannot forge lines or reorder text in a log.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A byte count as people write it: whole MiB or KiB when exact, bytes otherwise.
/// Integers only: formatting an `f64` would add ~10 KB of float code to the .wasm.
pub(crate) fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// `HTTP 200, content-type text/html` (or `no content-type`), for messages.
///
/// A status is printed as a `u32`: the .wasm has that integer formatter already, and one
/// for `u16` cost about 270 bytes more.
pub(crate) fn status_and_type(status: u16, content_type: Option<&str>) -> String {
    match content_type {
        Some(t) if !t.is_empty() => {
            format!("HTTP {}, content-type {}", u32::from(status), excerpt(t))
        }
        _ => format!("HTTP {}, no content-type", u32::from(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::NoHooks;
    use crate::engine::outcome::Outcome;
    use crate::engine::record::CallState;
    use crate::engine::retry::RetryPolicy;
    use crate::engine::run::run;
    use crate::engine::settings::Schedule;
    use crate::engine::transport::{Reply, Request, TransportError, DEFAULT_MAX_RESPONSE_BYTES};
    use crate::error::{Error, ErrorKind};
    use crate::order::{OrderHooks, SERVICES};
    use crate::plan::json::Json;
    use crate::plan::value::Value;
    use crate::plan::Plan;
    use crate::tests::sim::{json, plan};
    use crate::tests::sim::{Answer, Sim};

    fn go<H: Hooks<Json>>(sim: &Sim, p: &Plan, hooks: &H) -> Outcome<Json> {
        let input = json(r#"{"id":"secret-7"}"#);
        sim.block_on(run(
            p,
            &input,
            sim,
            sim,
            hooks,
            Schedule::Eager,
            futures::future::pending(),
        ))
    }

    /// A network where every request to a URL containing `/<name>` gets `answer`, and the
    /// rest get `{"id":1}`.
    fn answering(name: &'static str, answer: TransportError) -> Sim {
        Sim::new(move |req| -> Answer {
            if req.url.contains(&format!("/{name}")) {
                (5.0, Err(answer.clone()))
            } else {
                (
                    5.0,
                    Ok(Reply {
                        bytes: 0,
                        status: 200,
                        body: json(r#"{"id":1}"#),
                        replayed: false,
                    }),
                )
            }
        })
    }

    fn empty(status: u16) -> TransportError {
        TransportError::Empty {
            status,
            content_type: None,
        }
    }

    #[test]
    fn read_by_others_is_set_by_placeholders_not_by_after() {
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/a"},
            "b":{"url":"http://svc/b","after":["a"]},
            "c":{"url":"http://svc/c","headers":{"X":"{b.id}"}},
            "d":{"url":"http://svc/d","method":"POST","body":{"x":"{e}"}},
            "e":{"url":"http://svc/e/{input.id}"},
            "f":{"url":"http://svc/f?c={c.id}"}}}"#,
        );
        let read: Vec<bool> = p.calls().iter().map(|c| c.read_by_others).collect();
        assert_eq!(read, [false, true, true, false, true, false]);
    }

    #[test]
    fn an_empty_reply_is_null_data_where_nobody_reads_it() {
        let p = plan(
            r#"{"calls":{"del":{"url":"http://svc/del","method":"DELETE"},"then":{"url":"http://svc/then","after":["del"]}}}"#,
        );
        let out = go(&answering("del", empty(204)), &p, &NoHooks);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.replies[0], Some(Json::Null));
        assert_eq!(out.records[0].state, CallState::Ok);
        assert_eq!(out.records[0].status, Some(204));
        assert_eq!(out.records[1].state, CallState::Ok);
    }

    #[test]
    fn an_empty_reply_where_json_is_expected_is_a_bad_response_never_retried() {
        let p = plan(
            r#"{"calls":{"src":{"url":"http://svc/src/{input.id}"},"use":{"url":"http://svc/use/{src.id}"}}}"#,
        );
        let sim = answering(
            "src",
            TransportError::Empty {
                status: 200,
                content_type: Some("application/json".into()),
            },
        );
        let out = go(&sim, &p, &NoHooks);
        let e = out.error.unwrap();
        assert_eq!(
            (e.kind(), e.call(), e.status()),
            (ErrorKind::BadResponse, Some("src"), Some(200))
        );
        assert_eq!(
            e.message(),
            "call `src` (GET http://svc/src/{input.id}) failed: expected a JSON reply, but it is \
             empty (HTTP 200, content-type application/json)"
        );
        assert_eq!(out.records[0].attempts, 1);
        assert_eq!(out.records[1].state, CallState::Skipped);
        assert_eq!(sim.seen().len(), 1);

        // The hooks may need a reply no placeholder reads.
        struct Reads;
        impl Hooks<Json> for Reads {
            fn needs_body(&self, call: &str) -> bool {
                call == "del"
            }
        }
        let p = plan(r#"{"calls":{"del":{"url":"http://svc/del","method":"DELETE"}}}"#);
        let e = go(&answering("del", empty(204)), &p, &Reads).error.unwrap();
        assert_eq!(
            e.message(),
            "call `del` (DELETE http://svc/del) failed: expected a JSON reply, but it is empty \
             (HTTP 204, no content-type)"
        );
    }

    #[test]
    fn the_order_flow_needs_every_reply_but_the_notification() {
        for name in SERVICES {
            assert_eq!(
                Hooks::<Json>::needs_body(&OrderHooks, name),
                name != "notification",
                "{name}"
            );
        }
    }

    fn failure(answer: TransportError) -> (Error, Outcome<Json>, Sim) {
        let p = plan(r#"{"calls":{"big":{"url":"http://svc/big/{input.id}"}}}"#);
        let sim = answering("big", answer);
        let out = go(&sim, &p, &NoHooks);
        (out.error.clone().unwrap(), out, sim)
    }

    #[test]
    fn a_reply_over_the_cap_names_the_cap_and_is_never_retried() {
        let (e, out, sim) = failure(TransportError::TooLarge {
            status: 200,
            limit: 64 * 1024,
            declared: None,
        });
        assert_eq!(
            (e.kind(), e.call(), e.status()),
            (ErrorKind::BadResponse, Some("big"), Some(200))
        );
        assert_eq!(
            e.message(),
            "call `big` (GET http://svc/big/{input.id}) failed: the reply is larger than the \
             64 KiB cap (options.maxResponseBytes); it was not read further"
        );
        assert!(!e.message().contains("secret-7"), "never the filled-in URL");
        assert_eq!(out.records[0].attempts, 1);
        assert_eq!(sim.seen().len(), 1);

        let (e, ..) = failure(TransportError::TooLarge {
            status: 200,
            limit: DEFAULT_MAX_RESPONSE_BYTES,
            declared: Some(6 * 1024 * 1024 + 1),
        });
        assert_eq!(
            e.message(),
            "call `big` (GET http://svc/big/{input.id}) failed: the reply announces 6291457 \
             bytes, more than the 5 MiB cap (options.maxResponseBytes); it was not read"
        );
    }

    #[test]
    fn a_redirect_is_refused_and_never_retried() {
        let (e, out, sim) = failure(TransportError::Redirected {
            status: Some(307),
            origin: Some("https://elsewhere.example".into()),
        });
        assert_eq!(
            (e.kind(), e.call(), e.status()),
            (ErrorKind::BadResponse, Some("big"), Some(307))
        );
        assert_eq!(
            e.message(),
            "call `big` (GET http://svc/big/{input.id}) failed: it was redirected (HTTP 307 to \
             https://elsewhere.example); redirects are refused so that headers never reach \
             another origin"
        );
        assert_eq!(out.records[0].attempts, 1);
        assert_eq!(out.records[0].status, Some(307));
        assert_eq!(sim.seen().len(), 1);

        // A browser's opaque redirect shows neither status nor target.
        let (e, out, _) = failure(TransportError::Redirected {
            status: None,
            origin: None,
        });
        assert_eq!(e.status(), None);
        assert_eq!(out.records[0].status, None);
        assert_eq!(
            e.message(),
            "call `big` (GET http://svc/big/{input.id}) failed: it was redirected; redirects \
             are refused so that headers never reach another origin"
        );
    }

    #[test]
    fn a_reply_that_is_not_json_quotes_its_status_type_and_start() {
        let body = format!(
            "<html>\n<title>Sign in</title>\u{1b}[31m{}",
            "x".repeat(300)
        );
        let (e, ..) = failure(TransportError::Body {
            status: 200,
            content_type: Some("text/html; charset=utf-8".into()),
            excerpt: body,
            reason: "Unexpected token '<'".into(),
        });
        assert_eq!((e.kind(), e.status()), (ErrorKind::BadResponse, Some(200)));
        let shown = 100 - "<html>\n<title>Sign in</title>\u{1b}[31m".chars().count();
        let quoted = format!(
            "<html>\\n<title>Sign in</title>\\u{{1b}}[31m{}…",
            "x".repeat(shown)
        );
        assert_eq!(
            e.message(),
            format!(
                "call `big` (GET http://svc/big/{{input.id}}) failed: the reply is not JSON \
                 (HTTP 200, content-type text/html; charset=utf-8): \"{quoted}\""
            )
        );
        // Without an excerpt (a fetch stand-in with only `json()`), the parser speaks.
        let (e, ..) = failure(TransportError::Body {
            status: 201,
            content_type: None,
            excerpt: String::new(),
            reason: "Unexpected end of JSON input".into(),
        });
        assert_eq!(
            e.message(),
            "call `big` (GET http://svc/big/{input.id}) failed: the reply is not JSON \
             (HTTP 201, no content-type): Unexpected end of JSON input"
        );
    }

    #[test]
    fn none_of_these_failures_is_transient() {
        for e in [
            empty(204),
            TransportError::TooLarge {
                status: 200,
                limit: 1,
                declared: None,
            },
            TransportError::Redirected {
                status: Some(302),
                origin: None,
            },
        ] {
            assert!(!RetryPolicy::is_transient(&e), "{e:?}");
        }
    }

    /// Three canaries, one in each place a request carries values: a header (from the
    /// plan), a query value and a body field (from the input).
    const IN_HEADER: &str = "hdr-canary-5e1f0c9a";
    const IN_QUERY: &str = "qry-canary-7d3b2a18";
    const IN_BODY: &str = "body-canary-0a9b8c7d";

    fn secret_plan() -> Plan {
        plan(&format!(
            r#"{{"calls":{{
            "w":{{"method":"POST","url":"http://svc/w?token={{input.token}}",
                  "headers":{{"Authorization":"Bearer {IN_HEADER}"}},"body":{{"card":"{{input.card}}"}},
                  "compensate":{{"method":"POST","url":"http://svc/undo?token={{input.token}}",
                                "headers":{{"Authorization":"Bearer {IN_HEADER}"}},"body":{{"card":"{{input.card}}"}}}}}},
            "then":{{"url":"http://svc/then","after":["w"]}}}}}}"#
        ))
    }

    fn secret_input() -> Json {
        json(&format!(r#"{{"token":"{IN_QUERY}","card":"{IN_BODY}"}}"#))
    }

    /// What a service that echoes the request would answer: its method, URL, headers
    /// and body, as text.
    fn echo(req: &Request<Json>) -> String {
        let headers: Vec<String> = req
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let mut body = String::new();
        if let Some(b) = &req.body {
            b.each_string(&mut |s| {
                body.push_str(s);
                body.push(' ');
                true
            });
        }
        format!("{} {}\n{}\n{body}", req.method, req.url, headers.join("\n"))
    }

    fn assert_no_canary(text: &str) {
        for canary in [IN_HEADER, IN_QUERY, IN_BODY] {
            assert!(!text.contains(canary), "{canary} in {text}");
            // Nor any 8 characters of it.
            for piece in canary.as_bytes().windows(8) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!text.contains(piece), "{piece} of {canary} in {text}");
            }
        }
    }

    fn run_secret(sim: &Sim) -> Outcome<Json> {
        sim.block_on(run(
            &secret_plan(),
            &secret_input(),
            sim,
            sim,
            &NoHooks,
            Schedule::Eager,
            futures::future::pending(),
        ))
    }

    #[test]
    fn a_reply_echoing_the_request_is_quoted_without_its_values() {
        for echo_at in [0, 40] {
            let sim = Sim::new(move |req| -> Answer {
                let text = format!("{}{}", "-".repeat(echo_at), echo(req));
                (
                    5.0,
                    Err(TransportError::Body {
                        status: 200,
                        content_type: Some("text/plain".into()),
                        excerpt: text,
                        reason: "Unexpected token".into(),
                    }),
                )
            });
            let out = run_secret(&sim);
            let e = out.error.unwrap();
            assert_eq!((e.kind(), e.call()), (ErrorKind::BadResponse, Some("w")));
            assert!(e.message().contains("[redacted]"), "{}", e.message());
            assert!(
                e.message().starts_with(
                    "call `w` (POST http://svc/w?token={input.token}) failed: the reply is not JSON"
                ),
                "{}",
                e.message()
            );
            assert_no_canary(e.message());
            assert_eq!(out.records[0].error.as_ref(), Some(&e));
            // The service really did echo them: the redaction is what keeps them out.
            let seen = &sim.seen()[0].request;
            let echoed = echo(seen);
            for canary in [IN_HEADER, IN_QUERY, IN_BODY] {
                assert!(echoed.contains(canary));
            }
        }
    }

    #[test]
    fn a_network_error_quoting_a_header_value_is_redacted() {
        let sim = Sim::new(|req| -> Answer {
            let quoted = format!(
                "Headers.append: \"{}\" is an invalid header value.",
                req.headers[0].1
            );
            (5.0, Err(TransportError::Network(quoted)))
        });
        let out = run_secret(&sim);
        let e = out.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::Network);
        assert_eq!(
            e.message(),
            "call `w` (POST http://svc/w?token={input.token}) failed: network error \
             (Headers.append: \"[redacted]\" is an invalid header value.)"
        );
    }

    #[test]
    fn a_long_value_cut_by_the_excerpt_shows_none_of_its_fragments() {
        let token = format!("tok-{}", "a1b2c3d4e5".repeat(30));
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a","headers":{"Authorization":"{input.t}"}}}}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            // The 300-character token starts at offset 60: the 100-character excerpt cuts it.
            let text = format!("{}{}", "<".repeat(60), req.headers[0].1);
            (
                5.0,
                Err(TransportError::Body {
                    status: 200,
                    content_type: None,
                    excerpt: text.chars().take(200).collect(),
                    reason: String::new(),
                }),
            )
        });
        let input = json(&format!(r#"{{"t":"{token}"}}"#));
        let out = sim.block_on(run(
            &p,
            &input,
            &sim,
            &sim,
            &NoHooks,
            Schedule::Eager,
            futures::future::pending(),
        ));
        let m = out.error.unwrap().message().to_owned();
        assert!(
            m.ends_with(&format!("\"{}[redacted]\"", "<".repeat(60))),
            "{m}"
        );
    }

    #[test]
    fn a_failed_compensation_quotes_its_reply_without_the_request_values() {
        let sim = Sim::new(|req| -> Answer {
            if req.url.contains("/w?") {
                (
                    5.0,
                    Ok(Reply {
                        bytes: 0,
                        status: 201,
                        body: json(r#"{"id":1}"#),
                        replayed: false,
                    }),
                )
            } else if req.url.contains("/then") {
                (5.0, Err(TransportError::Status(500)))
            } else {
                (
                    5.0,
                    Err(TransportError::Body {
                        status: 200,
                        content_type: Some("text/plain".into()),
                        excerpt: echo(req),
                        reason: String::new(),
                    }),
                )
            }
        });
        let out = run_secret(&sim);
        assert_eq!(out.error.unwrap().kind(), ErrorKind::HttpStatus);
        let undo = &out.compensations[0];
        let e = undo.error.as_ref().unwrap();
        assert_eq!(e.kind(), ErrorKind::BadResponse);
        assert!(e.message().contains("[redacted]"), "{}", e.message());
        assert_no_canary(e.message());
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("not json"), "not json");
        assert_eq!(
            excerpt("a\r\nb\tc\u{0}d\u{7f}"),
            "a\\r\\nb\\tc\\u{0}d\\u{7f}"
        );
        assert_eq!(excerpt("safe\u{202e}txt.exe"), "safe\\u{202e}txt.exe");
        let long = "é".repeat(150);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with("é…"));
        assert_eq!(
            excerpt(&"é".repeat(100)),
            "é".repeat(100),
            "not cut at the limit"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(DEFAULT_MAX_RESPONSE_BYTES), "5 MiB");
        assert_eq!(size_text(64 * 1024), "64 KiB");
        assert_eq!(size_text(1536 * 1024), "1536 KiB");
        assert_eq!(size_text(1_000_000), "1000000 bytes");
        assert_eq!(size_text(1), "1 byte");
    }
}
