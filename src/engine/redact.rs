//! Keeping a request's values out of the error messages about it.
//!
//! Messages name the call and its URL template, never the filled-in URL. But a failure
//! can still quote text the service or the platform produced: the start of a reply that is
//! not JSON (which may echo the request, `Authorization` header and all), a platform's
//! network error (Node's fetch quotes a bad header value in full), a redirect's target.
//! Before such text goes into a message, every value the request carried is cut out of it:
//! each header value, each value substituted into the URL (as text and percent-encoded),
//! and each string in the body (as is and JSON-escaped), when it has 4 characters or
//! more. So are fragments of them (8 characters or more in common), because a quote may be
//! cut in the middle of a value, as a 300-character token echoed at offset 50 of a
//! 100-character excerpt is.

use crate::engine::scope::Scope;
use crate::engine::transport::Request;
use crate::plan::value::Value;
use crate::plan::Call;

/// What replaces a redacted span.
pub(crate) const REDACTED: &str = "[redacted]";

/// Values shorter than this (in characters) are not redacted: they would match too much
/// of any text, and a secret that short protects nothing.
const MIN_SECRET: usize = 4;

/// A run this long (in characters) in common with a longer value is redacted as part of it.
const MIN_FRAGMENT: usize = 8;

/// At most this many values are collected from one body, and the characters of all values
/// are capped, so a failure after sending a huge body stays cheap to report.
const MAX_VALUES: usize = 512;
const MAX_CHARS: usize = 16 * 1024;

/// The most characters of one value that are looked for.
const MAX_VALUE_CHARS: usize = 4096;

/// The most characters of a text that are redacted and kept: messages quote at most
/// [`crate::engine::reply_rules::EXCERPT_CHARS`] of it.
pub(crate) const MAX_TEXT: usize = 512;

/// The values one request carried, to cut out of what a message quotes.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    values: Vec<Vec<char>>,
    chars: usize,
}

impl Secrets {
    /// The values of `request`, sent for `call` with the values `scope` holds.
    pub(crate) fn of<V: Value>(call: &Call, request: &Request<V>, scope: &Scope<'_, V>) -> Secrets {
        let mut secrets = Secrets::default();
        for (_, value) in &request.headers {
            secrets.add(value.trim());
        }
        // The URL's values, found again: replies never change once received, so each
        // placeholder resolves to what was substituted when the request was built.
        for h in call.url.placeholders() {
            if let Some(text) = scope
                .resolve(&call.name, h)
                .ok()
                .and_then(|v| v.text().ok())
            {
                secrets.add(&text);
            }
        }
        if let Some(body) = &request.body {
            body.each_string(&mut |s| {
                secrets.add(s);
                secrets.values.len() < MAX_VALUES && secrets.chars < MAX_CHARS
            });
        }
        secrets
    }

    /// Adds `value`, and the forms a reply echoing it would show: JSON-escaped and
    /// percent-encoded, when those differ.
    fn add(&mut self, value: &str) {
        if value.chars().count() < MIN_SECRET || self.chars >= MAX_CHARS {
            return;
        }
        self.push(value);
        let escaped = json_escaped(value);
        if escaped != value {
            self.push(&escaped);
        }
        let encoded = crate::plan::template::percent_encode(value);
        if encoded != value {
            self.push(&encoded);
        }
    }

    fn push(&mut self, value: &str) {
        // A text quoted in a message is short: a fragment of a long value it can show is
        // most likely from the value's start (an echo shows it from there).
        let chars: Vec<char> = value.chars().take(MAX_VALUE_CHARS).collect();
        if !self.values.contains(&chars) {
            self.chars += chars.len();
            self.values.push(chars);
        }
    }

    /// `text` (its first [`MAX_TEXT`] characters, then `…`: no message quotes more) with
    /// every value, and every run of [`MIN_FRAGMENT`] characters or more in common with
    /// one, replaced by [`REDACTED`].
    pub(crate) fn redact(&self, text: &str) -> String {
        if self.values.is_empty() {
            return text.to_owned();
        }
        let chars: Vec<char> = text.chars().take(MAX_TEXT).collect();
        let mut hidden = vec![false; chars.len()];
        // The longest common substring table, one row at a time: `row[j]` is the length of
        // the run ending at the text's character `i` and the value's character `j`. Time
        // is the text's length times the values' (both capped), whatever the characters.
        let mut row: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        for value in &self.values {
            let shortest = value.len().min(MIN_FRAGMENT);
            row.clear();
            row.resize(value.len() + 1, 0);
            for (i, &c) in chars.iter().enumerate() {
                next.clear();
                next.push(0);
                for (j, &v) in value.iter().enumerate() {
                    let run = if v == c { row[j] + 1 } else { 0 };
                    if run == shortest {
                        hidden[i + 1 - run..=i].iter_mut().for_each(|h| *h = true);
                    } else if run > shortest {
                        hidden[i] = true;
                    }
                    next.push(run);
                }
                std::mem::swap(&mut row, &mut next);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut previous = false;
        for (c, hide) in chars.into_iter().zip(hidden) {
            if !hide {
                out.push(c);
            } else if !previous {
                out.push_str(REDACTED);
            }
            previous = hide;
        }
        if text.chars().nth(MAX_TEXT).is_some() {
            out.push('…');
        }
        out
    }
}

/// `value` as it appears inside a JSON string.
fn json_escaped(value: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The secrets of the request `sent`, when there is one, else none.
pub(crate) fn secrets_of<V: Value>(
    call: &Call,
    sent: Option<(&Request<V>, &Scope<'_, V>)>,
) -> Secrets {
    sent.map_or_else(Secrets::default, |(request, scope)| {
        Secrets::of(call, request, scope)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::json::Json;
    use crate::plan::Method;
    use crate::tests::sim::{json, plan};

    const CANARY: &str = "cnry-9f8e7d6c5b4a";

    /// The secrets of a POST from `url_template` filled from `input`, with `headers`
    /// and `body`.
    fn secrets(
        url_template: &str,
        input: &str,
        headers: &[(&str, &str)],
        body: Option<Json>,
    ) -> Secrets {
        let p = plan(&format!(
            r#"{{"calls":{{"a":{{"url":"{url_template}","method":"POST"}}}}}}"#
        ));
        let input = json(input);
        let replies = [None];
        let scope = Scope::new(&p, &input, &replies);
        let request = Request {
            fresh: false,
            method: Method::Post,
            url: scope.request(&p.calls()[0], None).unwrap().url,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        };
        Secrets::of(&p.calls()[0], &request, &scope)
    }

    #[test]
    fn header_values_and_their_fragments_are_cut_out() {
        let s = secrets(
            "http://svc/a",
            "{}",
            &[("Authorization", &format!("Bearer {CANARY}"))],
            None,
        );
        assert_eq!(
            s.redact(&format!("authorization: Bearer {CANARY}\nok")),
            "authorization: [redacted]\nok"
        );
        // An echo cut in the middle of the token still hides what it shows of it.
        assert_eq!(
            s.redact(&format!("token={}", &CANARY[..10])),
            "token=[redacted]"
        );
        assert_eq!(
            s.redact("Bearer"),
            "Bearer",
            "a short run alone is not a secret"
        );
    }

    #[test]
    fn the_values_substituted_into_the_url_are_secret_as_text_and_encoded() {
        let s = secrets(
            "http://svc/users/{input.id}/items?token={input.t}&page=1&q=token%20{input.t}%20is",
            &format!(r#"{{"id":"u/77777","t":"{CANARY}"}}"#),
            &[],
            None,
        );
        assert_eq!(
            s.redact(&format!(
                "GET /users/u%2F77777/items?token={CANARY}&page=1 for u/77777: token {CANARY} is bad"
            )),
            "GET /users/[redacted]/items?token=[redacted]&page=1 for [redacted]: token [redacted] is bad"
        );
    }

    #[test]
    fn body_strings_are_secret_in_every_form_an_echo_shows() {
        let body = json(&format!(
            r#"{{"card":{{"cvc":"123","holder":"A \"Q\" Person"}},"key":"{CANARY}","n":12345678}}"#
        ));
        let s = secrets("http://svc/a", "{}", &[], Some(body));
        assert_eq!(
            s.redact(&format!(
                r#"{{"key":"{CANARY}","holder":"A \"Q\" Person","cvc":"123","n":12345678}}"#
            )),
            r#"{"key":"[redacted]","holder":"[redacted]","cvc":"123","n":12345678}"#,
            "strings under 4 characters and numbers are left"
        );
    }

    #[test]
    fn text_without_secrets_is_untouched() {
        let s = secrets("http://svc/a", "{}", &[("X-Trace", "trace-0001")], None);
        assert_eq!(
            s.redact("<html>Bad gateway</html>"),
            "<html>Bad gateway</html>"
        );
        assert_eq!(Secrets::default().redact("anything"), "anything");
    }

    #[test]
    fn long_texts_are_cut_after_redaction() {
        let s = secrets("http://svc/a", "{}", &[("X-Key", CANARY)], None);
        let text = format!("{CANARY}{}", "x".repeat(MAX_TEXT));
        let out = s.redact(&text);
        assert!(out.starts_with("[redacted]xxx"));
        assert!(out.ends_with("x…"));
        assert_eq!(
            out.chars().count(),
            MAX_TEXT - CANARY.len() + REDACTED.len() + 1
        );
    }

    #[test]
    fn huge_bodies_are_capped() {
        let items: Vec<String> = (0..5000).map(|i| format!(r#""value-{i:06}""#)).collect();
        let body = json(&format!("[{}]", items.join(",")));
        let s = secrets("http://svc/a", "{}", &[], Some(body));
        assert!(s.values.len() <= MAX_VALUES * 3);
        assert!(s.chars <= MAX_CHARS + 3 * MAX_VALUE_CHARS);
    }
}
