//! Templates: `{name.path}` placeholders in URLs, headers and JSON bodies.
//!
//! A placeholder names `input` or a call, then a dot path into that value. In a URL every
//! substituted value is percent-encoded (all but RFC 3986 unreserved characters), so a
//! value can never add a path segment, a query or a fragment. In a body, a string that is
//! exactly one placeholder takes the value with its JSON type; any other string is text.
//! `{{` and `}}` write literal braces.

use crate::json::Json;
use crate::value::Value;
use std::fmt;

/// One `{root.a.b}` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// `input` or a call name.
    pub root: String,
    /// The dot path below the root; empty for the whole value.
    pub path: Vec<String>,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)?;
        for segment in &self.path {
            write!(f, ".{segment}")?;
        }
        Ok(())
    }
}

/// A piece of a parsed template string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text written as is.
    Literal(String),
    /// A value to substitute.
    Hole(Placeholder),
}

/// A parsed template string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template string could not be parsed. `at` is a byte offset into the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the problem starts (byte offset).
    pub at: usize,
    /// What is wrong, in lower case.
    pub reason: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.reason, self.at)
    }
}

/// Whether `c` may appear in a name or path segment.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$'
}

impl Template {
    /// Parses `source`, checking every placeholder's syntax.
    pub fn parse(source: &str) -> Result<Template, SyntaxError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, n)| n) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, n)| n) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(SyntaxError {
                        at: i,
                        reason: "unmatched `}` (write `}}` for a literal brace)".into(),
                    })
                }
                '{' => {
                    let rest = &source[i + 1..];
                    let Some(len) = rest.find('}') else {
                        return Err(SyntaxError {
                            at: i,
                            reason: "unclosed `{` (write `{{` for a literal brace)".into(),
                        });
                    };
                    let inner = &rest[..len];
                    let hole = parse_placeholder(inner).map_err(|reason| SyntaxError {
                        at: i,
                        reason: format!("malformed placeholder `{{{inner}}}`: {reason}"),
                    })?;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Hole(hole));
                    // Skip the placeholder's text and its closing brace.
                    while let Some(&(j, _)) = chars.peek() {
                        if j > i + 1 + len {
                            break;
                        }
                        chars.next();
                    }
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The template's pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Every placeholder, in order of appearance.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Hole(h) => Some(h),
            Part::Literal(_) => None,
        })
    }

    /// The placeholder, when the template is exactly one and nothing else.
    pub fn sole_placeholder(&self) -> Option<&Placeholder> {
        match self.parts.as_slice() {
            [Part::Hole(h)] => Some(h),
            _ => None,
        }
    }

    /// The literal text before the first placeholder.
    pub fn fixed_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(text)) => text,
            _ => "",
        }
    }

    /// Fills the template, turning each value into text with `encode`.
    pub fn render<V: Value, E>(
        &self,
        mut lookup: impl FnMut(&Placeholder) -> Result<V, E>,
        mut encode: impl FnMut(&Placeholder, &V) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Hole(h) => {
                    let value = lookup(h)?;
                    out.push_str(&encode(h, &value)?);
                }
            }
        }
        Ok(out)
    }
}

fn parse_placeholder(inner: &str) -> Result<Placeholder, &'static str> {
    if inner.trim().is_empty() {
        return Err("it is empty");
    }
    if inner.contains('{') {
        return Err("it contains `{`");
    }
    let mut segments = inner.split('.');
    let root = segments.next().unwrap_or_default();
    if root.is_empty() {
        return Err("it has no name before the first `.`");
    }
    if !root.chars().all(is_name_char) {
        return Err("a name may only hold letters, digits, `_`, `-` and `$`");
    }
    let mut path = Vec::new();
    for segment in segments {
        if segment.is_empty() {
            return Err("it has an empty path segment");
        }
        if !segment.chars().all(is_name_char) {
            return Err("a path segment may only hold letters, digits, `_`, `-` and `$`");
        }
        path.push(segment.to_owned());
    }
    Ok(Placeholder {
        root: root.to_owned(),
        path,
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// A JSON body with placeholders in its strings.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyTemplate {
    /// A value with no placeholders, sent as written.
    Literal(Json),
    /// A string that is exactly one placeholder: the value keeps its JSON type.
    Value(Placeholder),
    /// A string with placeholders among text: the values are interpolated as text.
    Text(Template),
    /// An array with at least one templated item.
    Array(Vec<BodyTemplate>),
    /// An object with at least one templated value, keys in order.
    Object(Vec<(String, BodyTemplate)>),
}

impl BodyTemplate {
    /// Reads a plan's body, parsing every string. On error returns the JSON path of the
    /// bad string (relative to the body, such as `items.0.sku`) and the syntax error.
    pub fn parse(json: &Json) -> Result<BodyTemplate, (String, SyntaxError)> {
        Ok(match json {
            Json::String(s) => {
                let t = Template::parse(s).map_err(|e| (String::new(), e))?;
                match (t.sole_placeholder(), t.parts()) {
                    (Some(h), _) => BodyTemplate::Value(h.clone()),
                    (None, []) => BodyTemplate::Literal(Json::String(String::new())),
                    (None, [Part::Literal(text)]) => {
                        BodyTemplate::Literal(Json::String(text.clone()))
                    }
                    (None, _) => BodyTemplate::Text(t),
                }
            }
            Json::Array(items) => {
                let parsed = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        BodyTemplate::parse(item).map_err(|(p, e)| (join(&i.to_string(), &p), e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if parsed.iter().all(|t| matches!(t, BodyTemplate::Literal(_))) {
                    BodyTemplate::Literal(json.clone())
                } else {
                    BodyTemplate::Array(parsed)
                }
            }
            Json::Object(entries) => {
                let parsed = entries
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            BodyTemplate::parse(v).map_err(|(p, e)| (join(k, &p), e))?,
                        ))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if parsed
                    .iter()
                    .all(|(_, t)| matches!(t, BodyTemplate::Literal(_)))
                {
                    BodyTemplate::Literal(json.clone())
                } else {
                    BodyTemplate::Object(parsed)
                }
            }
            other => BodyTemplate::Literal(other.clone()),
        })
    }

    /// Every placeholder in the body, each with whether it is interpolated as text
    /// (`true`) or keeps its JSON type (`false`).
    pub fn placeholders(&self) -> Vec<(&Placeholder, bool)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a Placeholder, bool)>) {
        match self {
            BodyTemplate::Literal(_) => {}
            BodyTemplate::Value(h) => out.push((h, false)),
            BodyTemplate::Text(t) => out.extend(t.placeholders().map(|h| (h, true))),
            BodyTemplate::Array(items) => items.iter().for_each(|t| t.collect(out)),
            BodyTemplate::Object(entries) => entries.iter().for_each(|(_, t)| t.collect(out)),
        }
    }

    /// Builds the body value, looking every placeholder up with `lookup`.
    pub fn render<V: Value, E>(
        &self,
        lookup: &mut impl FnMut(&Placeholder) -> Result<V, E>,
        text: &mut impl FnMut(&Placeholder, &V) -> Result<String, E>,
    ) -> Result<V, E> {
        Ok(match self {
            BodyTemplate::Literal(json) => V::from_json(json),
            BodyTemplate::Value(h) => lookup(h)?,
            BodyTemplate::Text(t) => V::from_string(t.render(&mut *lookup, &mut *text)?),
            BodyTemplate::Array(items) => V::array(
                items
                    .iter()
                    .map(|t| t.render(lookup, text))
                    .collect::<Result<_, _>>()?,
            ),
            BodyTemplate::Object(entries) => V::object(
                entries
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.render(lookup, text)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn join(head: &str, tail: &str) -> String {
    if tail.is_empty() {
        head.to_owned()
    } else {
        format!("{head}.{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hole(root: &str, path: &[&str]) -> Part {
        Part::Hole(Placeholder {
            root: root.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn parses_literals_placeholders_and_escapes() {
        let t = Template::parse("https://x/u/{input.userId}/p?{{a}}={user.items.0.id}").unwrap();
        assert_eq!(
            t.parts(),
            &[
                Part::Literal("https://x/u/".into()),
                hole("input", &["userId"]),
                Part::Literal("/p?{a}=".into()),
                hole("user", &["items", "0", "id"]),
            ]
        );
        assert_eq!(t.fixed_prefix(), "https://x/u/");
        assert_eq!(
            Template::parse("{user}")
                .unwrap()
                .sole_placeholder()
                .unwrap()
                .path
                .len(),
            0
        );
    }

    #[test]
    fn rejects_malformed_placeholders_with_position() {
        let cases = [
            ("a{b", 1, "unclosed `{`"),
            ("a}b", 1, "unmatched `}`"),
            ("x{}", 1, "it is empty"),
            ("{.a}", 0, "no name before"),
            ("{a..b}", 0, "empty path segment"),
            ("{a.}", 0, "empty path segment"),
            ("{a b}", 0, "may only hold"),
            ("{a.b c}", 0, "may only hold"),
            ("{a{b}", 0, "contains `{`"),
        ];
        for (src, at, reason) in cases {
            let e = Template::parse(src).unwrap_err();
            assert_eq!(e.at, at, "{src}");
            assert!(e.reason.contains(reason), "{src}: {}", e.reason);
        }
    }

    #[test]
    fn percent_encodes_all_but_unreserved() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a b/c?d#e&f=g"), "a%20b%2Fc%3Fd%23e%26f%3Dg");
        assert_eq!(percent_encode("../x"), "..%2Fx");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("%2F"), "%252F");
    }

    #[test]
    fn renders_url_with_encoded_values() {
        let t = Template::parse("https://x/u/{input.id}?q={input.q}").unwrap();
        let input: Json = serde_json::from_str(r#"{"id":"a/b","q":"x y&z"}"#).unwrap();
        let url = t
            .render(
                |h| input.field(&h.path[0]).ok_or(()),
                |_, v| Ok::<_, ()>(percent_encode(&v.text().unwrap())),
            )
            .unwrap();
        assert_eq!(url, "https://x/u/a%2Fb?q=x%20y%26z");
    }

    #[test]
    fn body_keeps_types_for_sole_placeholders_and_interpolates_text() {
        let body: Json = serde_json::from_str(
            r#"{"id":"{user.id}","n":"{posts.length}","label":"user {user.id} has {posts.length}","fixed":[1,"a"],"esc":"{{x}}"}"#,
        )
        .unwrap();
        let t = BodyTemplate::parse(&body).unwrap();
        assert_eq!(t.placeholders().len(), 4);
        let user: Json = serde_json::from_str(r#"{"id":7}"#).unwrap();
        let posts: Json = serde_json::from_str(r#"[1,2,3]"#).unwrap();
        let mut lookup = |h: &Placeholder| -> Result<Json, ()> {
            let root = if h.root == "user" { &user } else { &posts };
            h.path
                .iter()
                .try_fold(root.clone(), |v, s| v.field(s).ok_or(()))
        };
        let mut text = |_: &Placeholder, v: &Json| v.text().map_err(|_| ());
        let out: Json = t.render(&mut lookup, &mut text).unwrap();
        let expected: Json = serde_json::from_str(
            r#"{"id":7,"n":3,"label":"user 7 has 3","fixed":[1,"a"],"esc":"{x}"}"#,
        )
        .unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn body_errors_name_the_json_path() {
        let body: Json = serde_json::from_str(r#"{"a":{"b":["ok","{bad"]}}"#).unwrap();
        let (path, e) = BodyTemplate::parse(&body).unwrap_err();
        assert_eq!(path, "a.b.1");
        assert!(e.reason.contains("unclosed"));
    }
}
