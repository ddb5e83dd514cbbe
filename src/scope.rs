//! Resolving placeholders against the input and the replies so far, and filling a
//! call's request from them.

use crate::error::{Error, ErrorKind};
use crate::plan::{Call, Plan, INPUT};
use crate::template::{percent_encode, Placeholder};
use crate::transport::Request;
use crate::value::Value;

/// The values a call's templates can see: the input and every finished reply.
pub struct Scope<'a, V> {
    plan: &'a Plan,
    input: &'a V,
    replies: &'a [Option<V>],
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
        }
    }

    /// The plan whose calls this scope serves.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The value at `root.path...`. A missing input value is `INVALID_INPUT`; a missing
    /// reply value is `BAD_RESPONSE`; both name the call that needed it and the path.
    pub fn get(&self, call: &str, root: &str, path: &[&str]) -> Result<V, Error> {
        let (mut value, from_input) = if root == INPUT {
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
                let whole = std::iter::once(root)
                    .chain(path.iter().copied())
                    .collect::<Vec<_>>()
                    .join(".");
                let missing = path[..=depth].join(".");
                if from_input {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("call `{call}` needs `{{{whole}}}`, but the input has no `{missing}`"),
                    )
                    .in_call(call)
                } else {
                    Error::new(
                        ErrorKind::BadResponse,
                        format!(
                            "call `{call}` needs `{{{whole}}}`, but the reply of `{root}` has no `{missing}`"
                        ),
                    )
                    .in_call(call)
                }
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
            let kind = if h.root == INPUT {
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

    /// Fills `call`'s URL, headers and body. `body` overrides the plan's body template.
    pub fn request(&self, call: &Call, body: Option<V>) -> Result<Request<V>, Error> {
        let name = call.name.as_str();
        let url = call.url.render(
            |h| self.resolve(name, h),
            |h, v| Ok(percent_encode(&self.text(name, h, v, "a URL")?)),
        )?;
        let mut headers = Vec::with_capacity(call.headers.len());
        for (key, t) in &call.headers {
            let value = t.render(
                |h| self.resolve(name, h),
                |h, v| self.text(name, h, v, "a header"),
            )?;
            headers.push((key.clone(), value));
        }
        let body = match (body, &call.body) {
            (Some(b), _) => Some(b),
            (None, Some(t)) => Some(t.render(&mut |h| self.resolve(name, h), &mut |h, v| {
                self.text(name, h, v, "a string")
            })?),
            (None, None) => None,
        };
        Ok(Request {
            method: call.method,
            url,
            headers,
            body,
        })
    }

    /// Checks, before anything is sent, that every `{input...}` the plan uses exists
    /// and fits where it goes.
    pub fn check_input(&self) -> Result<(), Error> {
        for (i, h, as_text) in self.plan.input_placeholders() {
            let name = self.plan.calls()[i].name.as_str();
            let value = self.resolve(name, h)?;
            if as_text {
                self.text(name, h, &value, "text")?;
            }
        }
        Ok(())
    }
}
