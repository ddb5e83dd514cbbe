//! Resolving placeholders against the input and the replies so far, and filling a
//! call's request from them.

use crate::engine::transport::Request;
use crate::error::{Error, ErrorKind};
use crate::plan::fan_out::{ForEach, INDEX};
use crate::plan::template::{
    check_filled_url, header_value_problem, path_value_problem, percent_encode, BodyTemplate,
    Placeholder, MAX_URL_VALUE_BYTES,
};
use crate::plan::value::Value;
use crate::plan::{call_placeholders, Call, Plan, INPUT};

/// The values a call's templates can see: the input and every finished reply, and for
/// an item of a fan-out call, its element.
pub struct Scope<'a, V> {
    plan: &'a Plan,
    input: &'a V,
    replies: &'a [Option<V>],
    item: Option<Item<'a, V>>,
}

/// What an item of a fan-out call sees besides the input and the replies.
pub(crate) struct Item<'a, V> {
    /// Its call's list, whose element's name (`as`) and `index` its templates read.
    pub for_each: &'a ForEach,
    /// Its call's index in the plan.
    pub call: usize,
    /// Its element's position in the list.
    pub index: usize,
    pub element: &'a V,
    /// Whether the list is the input's, rather than a reply's.
    pub from_input: bool,
    /// Its own reply, once it has one: its compensation reads it as its call's.
    pub reply: Option<&'a V>,
}

impl<V> std::fmt::Debug for Scope<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let received = self.replies.iter().filter(|r| r.is_some()).count();
        f.debug_struct("Scope")
            .field("replies_received", &received)
            .finish()
    }
}

impl<'a, V: Value> Scope<'a, V> {
    /// A scope over `input` and the `replies` received so far (indexed like the plan).
    pub fn new(plan: &'a Plan, input: &'a V, replies: &'a [Option<V>]) -> Self {
        Scope {
            plan,
            input,
            replies,
            item: None,
        }
    }

    /// The scope of an item of a fan-out call.
    pub(crate) fn with_item(self, item: Item<'a, V>) -> Self {
        Scope {
            item: Some(item),
            ..self
        }
    }

    /// Whether a value that `h` reads comes from the input, so that a problem with it is
    /// `INVALID_INPUT` rather than `BAD_RESPONSE`: the element of a list the input holds
    /// does too.
    fn reads_input(&self, h: &Placeholder) -> bool {
        match &self.item {
            Some(item) if item.for_each.binds(&h.root) => item.from_input,
            _ => h.root == INPUT,
        }
    }

    /// The value an item's own names give `root`, with whether it comes from the input.
    fn bound(&self, root: &str) -> Option<(V, bool)> {
        let item = self.item.as_ref()?;
        if root == item.for_each.item {
            Some((item.element.clone(), item.from_input))
        } else if root == INDEX {
            Some((V::from_f64(item.index as f64), item.from_input))
        } else {
            let own = item
                .reply
                .filter(|_| self.plan.position(root) == Some(item.call))?;
            Some((own.clone(), false))
        }
    }

    /// The plan whose calls this scope serves.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The value at `root.path...`. A missing input value is `INVALID_INPUT`; a missing
    /// reply value is `BAD_RESPONSE`; both name the call that needed it and the path.
    pub fn get(&self, call: &str, root: &str, path: &[&str]) -> Result<V, Error> {
        let (mut value, from_input) = if let Some(bound) = self.bound(root) {
            bound
        } else if root == INPUT {
            (self.input.clone(), true)
        } else {
            let reply = self
                .plan
                .position(root)
                .and_then(|i| self.replies[i].clone())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::BadResponse,
                        format!(
                            "call `{call}` needs the reply of `{root}`, which is not available"
                        ),
                    )
                    .in_call(call)
                })?;
            (reply, false)
        };
        for (depth, segment) in path.iter().enumerate() {
            value = value.field(segment).ok_or_else(|| {
                let mut whole = root.to_owned();
                for segment in path {
                    whole.push('.');
                    whole.push_str(segment);
                }
                let missing = path[..=depth].join(".");
                let element = self.item.as_ref().filter(|i| i.for_each.binds(root));
                let source = match element {
                    Some(item) => format!("element {} of its list", item.index),
                    None if from_input => "the input".to_owned(),
                    None => format!("the reply of `{root}`"),
                };
                let kind = if from_input {
                    ErrorKind::InvalidInput
                } else {
                    ErrorKind::BadResponse
                };
                let message =
                    format!("call `{call}` needs `{{{whole}}}`, but {source} has no `{missing}`");
                Error::new(kind, message).in_call(call)
            })?;
        }
        Ok(value)
    }

    /// Resolves one placeholder for `call`.
    pub fn resolve(&self, call: &str, h: &Placeholder) -> Result<V, Error> {
        let path: Vec<&str> = h.path.iter().map(String::as_str).collect();
        self.get(call, &h.root, &path)
    }

    /// The value of `h` as text, or an error saying why it cannot be text.
    pub fn text(
        &self,
        call: &str,
        h: &Placeholder,
        value: &V,
        place: &str,
    ) -> Result<String, Error> {
        value.text().map_err(|found| {
            let kind = if self.reads_input(h) {
                ErrorKind::InvalidInput
            } else {
                ErrorKind::BadResponse
            };
            Error::new(
                kind,
                format!("call `{call}`: `{{{h}}}` is {found}, which cannot go in {place}; it must be a string, number or boolean"),
            )
            .in_call(call)
        })
    }

    /// The text `h` puts into `call`'s URL, percent-encoded: refused (`INVALID_INPUT` for
    /// an input value, `BAD_RESPONSE` for a reply's) when it is no fit for the URL's path
    /// (see [`path_value_problem`]), when it holds a lone surrogate, or when it is longer
    /// than [`MAX_URL_VALUE_BYTES`]. Errors name the call, its URL template and the
    /// placeholder, never the value.
    fn url_value(
        &self,
        call: &Call,
        h: &Placeholder,
        value: &V,
        in_path: bool,
    ) -> Result<String, Error> {
        let text = self.text(&call.name, h, value, "a URL")?;
        let problem = if lone_surrogates(value, &text) {
            Some("holds a lone surrogate (half of a UTF-16 pair)")
        } else if in_path {
            path_value_problem(&text)
        } else {
            None
        };
        let encoded = percent_encode(&text);
        let problem = problem.or((encoded.len() > MAX_URL_VALUE_BYTES).then_some(
            "is longer than 8192 characters once percent-encoded, the most one value may put into a URL",
        ));
        match problem {
            None => Ok(encoded),
            Some(problem) => {
                let place = if in_path { "the URL's path" } else { "the URL" };
                Err(self.value_error(
                    call,
                    self.reads_input(h),
                    format!("`{{{h}}}` {problem}; it cannot go into {place}"),
                ))
            }
        }
    }

    /// The text `h` puts into `call`'s header `key`: refused (`INVALID_INPUT` for an input
    /// value, `BAD_RESPONSE` for a reply's) when `fetch` would refuse it (see
    /// [`header_value_problem`]), naming the header and the placeholder, never the value.
    fn header_value(
        &self,
        call: &Call,
        key: &str,
        h: &Placeholder,
        value: &V,
    ) -> Result<String, Error> {
        let text = self.text(&call.name, h, value, "a header")?;
        match header_value_problem(&text) {
            None => Ok(text),
            Some(problem) => Err(self.value_error(
                call,
                self.reads_input(h),
                format!("`{{{h}}}` {problem}; it cannot go into the header {key}"),
            )),
        }
    }

    /// An error about a value in `call`'s URL or headers, naming the call and its URL template.
    fn value_error(&self, call: &Call, from_input: bool, what: String) -> Error {
        let kind = if from_input {
            ErrorKind::InvalidInput
        } else {
            ErrorKind::BadResponse
        };
        Error::new(
            kind,
            format!(
                "call `{}` ({} {}): {what}",
                call.name, call.method, call.url_source
            ),
        )
        .in_call(&call.name)
    }

    /// Fills `call`'s URL, checking it against its template once filled: same origin, no
    /// `/`, `\`, `?` or `#` added by a value, the fixed path prefix kept.
    pub fn url(&self, call: &Call) -> Result<String, Error> {
        let name = call.name.as_str();
        let in_path = call.url.path_holes();
        let mut seen = 0;
        let url = call.url.render(
            |h| self.resolve(name, h),
            |h, v| {
                seen += 1;
                self.url_value(call, h, v, seen <= in_path)
            },
        )?;
        // Without a placeholder the URL is the template's text, which the plan's
        // validation already checked; only a filled-in URL is checked again.
        if call.url.placeholders().next().is_none() {
            return Ok(url);
        }
        check_filled_url(&call.url, &url).map_err(|why| {
            let from_input = call.url.placeholders().all(|h| self.reads_input(h));
            self.value_error(
                call,
                from_input,
                format!("the filled-in URL {why}; it was not sent"),
            )
        })?;
        Ok(url)
    }

    /// Fills `call`'s URL, headers and body. `body` overrides the plan's body template.
    pub fn request(&self, call: &Call, body: Option<V>) -> Result<Request<V>, Error> {
        let name = call.name.as_str();
        let url = self.url(call)?;
        let mut headers = Vec::with_capacity(call.headers.len());
        for (key, t) in &call.headers {
            let value = t.render(
                |h| self.resolve(name, h),
                |h, v| self.header_value(call, key, h, v),
            )?;
            headers.push((key.clone(), value));
        }
        let body = match (body, &call.body) {
            (Some(b), _) => Some(b),
            (None, Some(t)) => Some(self.body(name, t)?),
            (None, None) => None,
        };
        Ok(Request {
            fresh: false,
            method: call.method,
            url,
            headers,
            body,
        })
    }

    /// `template` filled in for `call`: a request's body, or an operand of its `when`
    /// (one function for both, so the .wasm holds one copy of the filling).
    #[inline(never)]
    pub fn body(&self, call: &str, template: &BodyTemplate) -> Result<V, Error> {
        template.render(&mut |h| self.resolve(call, h), &mut |h, v| {
            self.text(call, h, v, "a string")
        })
    }

    /// Checks, before anything is sent, that every `{input...}` the plan uses (its
    /// compensations' too) exists and fits where it goes: text where text goes, in URLs and
    /// headers a value they can carry, and a value a body takes whole one that can be
    /// written as JSON the way the request will be (a cycle would otherwise fail in the
    /// middle of a composition).
    pub fn check_input(&self) -> Result<(), Error> {
        for call in self.plan.calls() {
            self.check_call_input(call)?;
            if let Some(undo) = &call.compensate {
                self.check_call_input(undo)?;
            }
        }
        Ok(())
    }

    /// [`Scope::check_input`] for one call or compensation.
    fn check_call_input(&self, call: &Call) -> Result<(), Error> {
        let name = call.name.as_str();
        for (h, as_text) in call_placeholders(call) {
            if h.root == INPUT && as_text {
                self.text(name, h, &self.resolve(name, h)?, "text")?;
            } else if h.root == INPUT {
                let value = self.resolve(name, h)?;
                if let Some(why) = value.json_problem() {
                    let message = format!(
                        "call `{name}`: `{{{h}}}` cannot be sent as JSON ({why}); pass plain data, without cycles"
                    );
                    return Err(Error::new(ErrorKind::InvalidInput, message).in_call(name));
                }
            }
        }
        let in_path = call.url.path_holes();
        for (n, h) in call.url.placeholders().enumerate() {
            if h.root == INPUT {
                self.url_value(call, h, &self.resolve(name, h)?, n < in_path)?;
            }
        }
        for (key, t) in &call.headers {
            for h in t.placeholders().filter(|h| h.root == INPUT) {
                self.header_value(call, key, h, &self.resolve(name, h)?)?;
            }
        }
        Ok(())
    }
}

/// Whether `value`, a string whose text is `text`, held lone surrogates before it became
/// Rust text (each then reads as U+FFFD): only text with a U+FFFD is asked about.
fn lone_surrogates<V: Value>(value: &V, text: &str) -> bool {
    text.chars().any(|c| c == '\u{FFFD}') && value.has_lone_surrogates()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::json::Json;
    use crate::tests::sim::{json, plan};

    const PLAN: &str = r#"{"calls":{
        "user": {"url":"https://api.example/users/{input.id}/posts?q={input.q}"},
        "post": {"url":"https://api.example/posts/{user.slug}?after={user.cursor}"}
    }}"#;

    /// The URL of call `i` of `PLAN` with `input` and `user`'s reply.
    fn url(i: usize, input: &str, user: Option<&str>) -> Result<String, Error> {
        url_of(i, json(input), user.map(json))
    }

    fn url_of(i: usize, input: Json, user: Option<Json>) -> Result<String, Error> {
        let p = plan(PLAN);
        let replies = vec![user, None];
        Scope::new(&p, &input, &replies).url(&p.calls()[i])
    }

    #[test]
    fn values_that_are_no_path_segment_are_refused_naming_call_template_and_placeholder() {
        let cases = [
            (r#""""#, "is empty"),
            (r#"".""#, "is `.` or `..` (perhaps percent-encoded)"),
            (r#""..""#, "is `.` or `..` (perhaps percent-encoded)"),
            (r#""%2e%2E""#, "is `.` or `..` (perhaps percent-encoded)"),
            (r#""a\u0000b""#, "holds a control character"),
            (r#""line\nbreak""#, "holds a control character"),
        ];
        for (value, problem) in cases {
            let e = url(0, &format!(r#"{{"id":{value},"q":"x"}}"#), None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{value}");
            assert_eq!(e.call(), Some("user"));
            assert_eq!(
                e.message(),
                format!(
                    "call `user` (GET https://api.example/users/{{input.id}}/posts?q={{input.q}}): \
                     `{{input.id}}` {problem}; it cannot go into the URL's path"
                )
            );
            let e = url(
                1,
                "{}",
                Some(&format!(r#"{{"slug":{value},"cursor":"c"}}"#)),
            )
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BadResponse, "{value}");
            assert_eq!(e.call(), Some("post"));
            assert!(
                e.message().starts_with(
                    "call `post` (GET https://api.example/posts/{user.slug}?after={user.cursor}): `{user.slug}` "
                ),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn header_values_fetch_would_refuse_are_refused_before_anything_is_sent() {
        let p = plan(
            r#"{"calls":{
                "a": {"url":"/a","headers":{"X-Tenant":"t-{input.tenant}"}},
                "b": {"url":"/b","after":["a"],"headers":{"X-Trace":"{a.trace}"}},
                "c": {"url":"/c","method":"POST","compensate":{"url":"/c","method":"DELETE",
                      "headers":{"X-Why":"{input.why}"}}}
            }}"#,
        );
        let check = |input: &str| Scope::new(&p, &json(input), &[None, None, None]).check_input();
        assert!(check(r#"{"tenant":"café 7","why":"x"}"#).is_ok());
        for (input, call, problem) in [
            (
                r#"{"tenant":"a\r\nX-Admin: 1","why":"x"}"#,
                "a",
                "holds a line break or NUL",
            ),
            (
                r#"{"tenant":"a\u0000","why":"x"}"#,
                "a",
                "holds a line break or NUL",
            ),
            (
                r#"{"tenant":"€","why":"x"}"#,
                "a",
                "holds a character above U+00FF, which a header value cannot carry",
            ),
            (
                r#"{"tenant":"t","why":"\n"}"#,
                "c.compensate",
                "holds a line break or NUL",
            ),
        ] {
            let e = check(input).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{input}");
            assert_eq!(e.call(), Some(call));
            assert!(e.message().contains(problem), "{}", e.message());
            assert!(
                e.message().contains("it cannot go into the header X-"),
                "{}",
                e.message()
            );
            assert!(
                !e.message().contains("Admin"),
                "the value is not quoted: {}",
                e.message()
            );
        }
        // From a reply: BAD_RESPONSE when the call's request is filled in.
        let input = json(r#"{"tenant":"t","why":"x"}"#);
        let replies = vec![Some(json(r#"{"trace":"1\r\nSet-Cookie: x"}"#)), None, None];
        let e = Scope::new(&p, &input, &replies)
            .request(&p.calls()[1], None)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadResponse);
        assert_eq!(
            e.message(),
            "call `b` (GET /b): `{a.trace}` holds a line break or NUL; it cannot go into the header X-Trace"
        );
    }

    #[test]
    fn query_values_may_be_empty_or_dots_and_path_values_of_dots_and_text_are_fine() {
        assert_eq!(
            url(0, r#"{"id":"...","q":""}"#, None).unwrap(),
            "https://api.example/users/.../posts?q="
        );
        assert_eq!(
            url(0, r#"{"id":"a.b","q":".."}"#, None).unwrap(),
            "https://api.example/users/a.b/posts?q=.."
        );
        assert_eq!(
            url(0, r#"{"id":7,"q":"a\nb"}"#, None).unwrap(),
            "https://api.example/users/7/posts?q=a%0Ab"
        );
    }

    #[test]
    fn hostile_values_stay_one_segment_or_one_query_value() {
        let cases = [
            ("//evil.example/x", "%2F%2Fevil.example%2Fx"),
            ("/\\evil.example", "%2F%5Cevil.example"),
            ("a?admin=1#", "a%3Fadmin%3D1%23"),
            ("../../admin", "..%2F..%2Fadmin"),
        ];
        for (value, encoded) in cases {
            let input = Json::Object(vec![
                ("id".into(), Json::String(value.into())),
                ("q".into(), Json::String(value.into())),
            ]);
            let u = url_of(0, input, None).unwrap();
            assert_eq!(
                u,
                format!("https://api.example/users/{encoded}/posts?q={encoded}")
            );
        }
    }

    /// A value that is harmless alone can complete a dot segment the template began
    /// (`%2e%2` + `e`): only the check of the filled-in URL sees that.
    #[test]
    fn the_filled_in_url_is_checked_against_its_template() {
        // A broken escape that a value could finish (`%2` + `e` = `.`) is refused when the
        // plan is read; the check after substitution stays as a second line of defence.
        let src = r#"{"calls":{"f":{"url":"https://api.example/files/%2e%2{input.x}/secret"}}}"#;
        let e = Plan::from_json(&json(src)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidPlan);
        assert!(e
            .message()
            .starts_with("calls.f.url: a `%` must start an escape"));
        let p = plan(r#"{"calls":{"f":{"url":"https://api.example/files/{input.x}/secret"}}}"#);
        for hostile in ["..", "%2e%2e", ".", ""] {
            let input = Json::Object(vec![("x".into(), Json::String(hostile.into()))]);
            let e = Scope::new(&p, &input, &[None])
                .url(&p.calls()[0])
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{hostile:?}");
        }
    }

    #[test]
    fn a_url_value_is_at_most_8_kib_encoded() {
        let fits = "a".repeat(MAX_URL_VALUE_BYTES);
        assert!(url(0, &format!(r#"{{"id":"x","q":"{fits}"}}"#), None).is_ok());
        let over = "/".repeat(MAX_URL_VALUE_BYTES / 3 + 1);
        let e = url(0, &format!(r#"{{"id":"x","q":"{over}"}}"#), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().ends_with(
            "`{input.q}` is longer than 8192 characters once percent-encoded, the most one value may put into a URL; it cannot go into the URL"
        ), "{}", e.message());
        let e = url(
            1,
            "{}",
            Some(&format!(r#"{{"slug":"s","cursor":"{over}"}}"#)),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadResponse);
    }

    #[test]
    fn input_for_url_paths_is_checked_before_anything_is_sent() {
        let p = plan(
            r#"{"calls":{
                "a": {"url":"/a"},
                "hold": {"method":"POST","url":"/holds",
                         "compensate":{"method":"DELETE","url":"/holds/{input.hold}"}}
            }}"#,
        );
        let check = |input: &str| {
            let input = json(input);
            Scope::new(&p, &input, &[None, None]).check_input()
        };
        assert!(check(r#"{"hold":"h1"}"#).is_ok());
        let e = check(r#"{"hold":".."}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.call(), Some("hold.compensate"));
        assert!(
            e.message().contains("`{input.hold}` is `.` or `..`"),
            "{}",
            e.message()
        );
        let e = check("{}").unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::InvalidInput,
            "a compensation's input is needed too"
        );

        let p = plan(r#"{"calls":{"u":{"url":"https://api.example/u/{input.id}"}}}"#);
        let input = json(r#"{"id":""}"#);
        let e = Scope::new(&p, &input, &[None]).check_input().unwrap_err();
        assert!(e
            .message()
            .ends_with("`{input.id}` is empty; it cannot go into the URL's path"));
    }
}
