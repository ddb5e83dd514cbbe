//! Templates: `{name.path}` placeholders in URLs, headers and JSON bodies.
//!
//! A placeholder names `input` or a call, then a dot path into that value. In a URL every
//! substituted value is percent-encoded (all but RFC 3986 unreserved characters), so a
//! value can never add a path segment, a query or a fragment. In a body, a string that is
//! exactly one placeholder takes the value with its JSON type; any other string is text.
//! `{{` and `}}` write literal braces.
//!
//! Percent-encoding alone leaves `.` and `..` as they are (dots are unreserved), and a URL
//! parser resolves such segments: so a value put into a URL's path must also not be empty
//! or a dot segment ([`path_value_problem`]), and the filled-in URL is checked once more
//! against its template ([`check_filled_url`]): same origin, same path prefix, a query
//! and a fragment only where the template has them. This module also holds the parser's
//! limits, which bound the work and the stack depth any plan can cause.

use crate::plan::json::Json;
use crate::plan::value::Value;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;

/// The longest URL or header template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 8 * 1024;
/// The longest placeholder, in characters between its braces.
pub const MAX_PLACEHOLDER_CHARS: usize = 256;
/// The most segments a placeholder's path may have after its root.
pub const MAX_PATH_DEPTH: usize = 32;
/// How deep arrays and objects may nest in a body template.
pub const MAX_BODY_DEPTH: usize = 32;
/// The longest value one placeholder may put into a URL, in bytes once percent-encoded.
pub const MAX_URL_VALUE_BYTES: usize = 8 * 1024;

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

/// Whether `name` may name a call (or a fan-out call's element): letters, digits, `_`,
/// `-` and `$`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_name_char)
}

/// Whether `c` may appear in a name or path segment.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$'
}

impl Template {
    /// Parses `source`, checking every placeholder's syntax.
    ///
    /// Scans bytes: the braces are ASCII, so every offset it cuts at is a character
    /// boundary, and `text_between` cuts there without a panicking slice.
    pub fn parse(source: &str) -> Result<Template, SyntaxError> {
        let bytes = source.as_bytes();
        let mut parts = Vec::new();
        let mut literal = String::new();
        // `source[start..i]` is literal text not yet pushed to `literal`.
        let (mut start, mut i) = (0, 0);
        while let Some(&b) = bytes.get(i) {
            match b {
                b'{' | b'}' if bytes.get(i + 1) == Some(&b) => {
                    // `{{` or `}}`: keep the first brace, drop the second.
                    literal.push_str(text_between(source, start, i + 1));
                    i += 2;
                    start = i;
                }
                b'}' => {
                    return Err(SyntaxError {
                        at: i,
                        reason: "unmatched `}` (write `}}` for a literal brace)".into(),
                    })
                }
                b'{' => {
                    let Some(len) = bytes[i + 1..].iter().position(|&b| b == b'}') else {
                        return Err(SyntaxError {
                            at: i,
                            reason: "unclosed `{` (write `{{` for a literal brace)".into(),
                        });
                    };
                    let inner = text_between(source, i + 1, i + 1 + len);
                    let hole = parse_placeholder(inner).map_err(|reason| SyntaxError {
                        at: i,
                        reason: format!("malformed placeholder `{{{}}}`: {reason}", shorten(inner)),
                    })?;
                    literal.push_str(text_between(source, start, i));
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Hole(hole));
                    // Skip the placeholder's text and its closing brace.
                    i += len + 2;
                    start = i;
                }
                _ => i += 1,
            }
        }
        literal.push_str(text_between(source, start, bytes.len()));
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

    /// The template's whole text, when it has no placeholder: what it always fills in to.
    pub fn fixed_text(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(text)] => Some(text),
            _ => None,
        }
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

    /// How many placeholders come before the first literal `?` or `#`: in a URL template,
    /// the ones whose values go into the path.
    pub fn path_holes(&self) -> usize {
        let mut holes = 0;
        for part in &self.parts {
            match part {
                Part::Literal(text) if text.bytes().any(|b| b == b'?' || b == b'#') => break,
                Part::Literal(_) => {}
                Part::Hole(_) => holes += 1,
            }
        }
        holes
    }

    /// The placeholders whose values go into a URL template's path (see [`path_holes`](Template::path_holes)).
    pub fn path_placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.placeholders().take(self.path_holes())
    }

    /// The [`marks`] of the template's literal text.
    fn literal_marks(&self) -> [usize; 4] {
        let mut total = [0; 4];
        for part in &self.parts {
            if let Part::Literal(text) = part {
                for (t, n) in total.iter_mut().zip(marks(text)) {
                    *t += n;
                }
            }
        }
        total
    }

    /// Fills the template, turning each value into text with `encode`.
    pub fn render<V: Value, E>(
        &self,
        mut lookup: impl FnMut(&Placeholder) -> Result<V, E>,
        mut encode: impl FnMut(&Placeholder, &V) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut failed = None;
        let out = self.fill(&mut |h| match lookup(h).and_then(|v| encode(h, &v)) {
            Ok(text) => Some(text),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// The template's text with each placeholder's from `text_of`, up to the first it
    /// has none for. Not generic, unlike [`render`](Template::render): the .wasm holds one
    /// copy of the walk, not one per caller.
    #[inline(never)]
    fn fill(&self, text_of: &mut dyn FnMut(&Placeholder) -> Option<String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Hole(h) => match text_of(h) {
                    Some(text) => out.push_str(&text),
                    None => break,
                },
            }
        }
        out
    }
}

/// `text` cut to its first 40 characters, for quoting in a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => [text_between(text, 0, at), "..."].concat(),
        None => text.to_owned(),
    }
}

/// `text[start..end]`, for offsets known to be character boundaries (next to an ASCII
/// mark, or from `char_indices`). `str::get` rather than indexing: a panicking string
/// slice brings the standard library's slice-error formatting (with `char`'s `Debug` and
/// its Unicode tables) into the .wasm; the `""` it falls back to is never reached.
fn text_between(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// `text` split before the first byte that is one of the ASCII `marks`, or `(text, "")`
/// when it has none. A byte scan: for ASCII marks the same answer as `str::find`, with
/// less .wasm.
fn split_before<'a>(text: &'a str, marks: &[u8]) -> (&'a str, &'a str) {
    let end = text
        .bytes()
        .position(|b| marks.contains(&b))
        .unwrap_or(text.len());
    (
        text_between(text, 0, end),
        text_between(text, end, text.len()),
    )
}

fn parse_placeholder(inner: &str) -> Result<Placeholder, &'static str> {
    if inner.trim().is_empty() {
        return Err("it is empty");
    }
    // Bytes, not characters: a valid placeholder is ASCII, and anything else fails below.
    if inner.len() > MAX_PLACEHOLDER_CHARS {
        return Err("it is longer than 256 characters");
    }
    if inner.bytes().any(|b| b == b'{') {
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
        if path.len() == MAX_PATH_DEPTH {
            return Err("its path has more than 32 segments");
        }
        path.push(segment.to_owned());
    }
    Ok(Placeholder {
        root: root.to_owned(),
        path,
    })
}

/// Why `text` cannot be (part of) a header value, or `None` when it can.
///
/// `fetch` refuses a value holding NUL, CR or LF (they would end the header and start
/// another) or a character above U+00FF (header values are bytes). Refusing such a value
/// here, before the request is made, gives an error that names the header and the
/// placeholder, and for an input value, before anything at all is sent.
pub fn header_value_problem(text: &str) -> Option<&'static str> {
    if text.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        Some("holds a line break or NUL")
    } else if text.chars().any(|c| c > '\u{ff}') {
        Some("holds a character above U+00FF, which a header value cannot carry")
    } else {
        None
    }
}

/// The bytes a value keeps as they are in a URL: RFC 3986's unreserved characters,
/// `A-Z a-z 0-9 - . _ ~`. Every other byte is percent-encoded, `/ ? # % &` and every
/// byte of a non-ASCII character included.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// in upper-case hex (`/` is `%2F`, `é` is `%C3%A9`).
pub fn percent_encode(text: &str) -> String {
    // Collected rather than formatted with `to_string`, which brings `fmt` machinery.
    utf8_percent_encode(text, UNRESERVED).collect()
}

/// Why `text` cannot be put into a URL's path, or `None` when it can.
///
/// A URL parser removes a `.` segment and resolves `..` against the segment before it
/// (also when written `%2e`), and an empty value joins its neighbours (`/users//posts`):
/// each would make the request reach another path than the template says. A value that
/// is `.` or `..` after percent-decoding, once or more, is refused too, for servers that
/// decode twice. Control characters are refused because they have no place in a name.
pub fn path_value_problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return Some("is empty");
    }
    if text.chars().any(char::is_control) {
        return Some("holds a control character");
    }
    if !text.bytes().any(|b| b == b'%') {
        // Nothing to decode (the common case): no copy.
        return (text == "." || text == "..").then_some("is `.` or `..` (perhaps percent-encoded)");
    }
    let mut decoded = text.as_bytes().to_vec();
    for _ in 0..4 {
        if decoded == b"." || decoded == b".." {
            return Some("is `.` or `..` (perhaps percent-encoded)");
        }
        let next: Vec<u8> = percent_encoding::percent_decode(&decoded).collect();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    None
}

/// An absolute `http://` or `https://` URL cut into its scheme, authority and the rest
/// (path, query and fragment). The authority ends where a WHATWG URL parser ends it, at
/// the first `/`, `\`, `?` or `#`.
fn split_absolute(url: &str) -> Option<(&'static str, &str, &str)> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("https", rest)
    } else {
        ("http", url.strip_prefix("http://")?)
    };
    let (authority, rest) = split_before(rest, b"/\\?#");
    Some((scheme, authority, rest))
}

/// Whether `url` goes to `origin` (written as [`origin_of`] writes it): `None` when the
/// URL has no origin of its own (relative, another scheme, no host), else [`origin_of`]'s
/// answer. It builds no string when the URL's authority is already written as an origin
/// writes it (no user, no port, no capital letter), as every request's URL is checked
/// against the trace context's origins.
pub fn origin_is(url: &str, origin: &str) -> Option<bool> {
    let (scheme, authority, _) = split_absolute(url)?;
    let plain = !authority.is_empty()
        && !authority
            .bytes()
            .any(|b| b == b'@' || b == b':' || b.is_ascii_uppercase());
    if !plain {
        return origin_of(url).map(|o| o == origin);
    }
    let o = origin.as_bytes();
    Some(
        o.len() == scheme.len() + 3 + authority.len()
            && o.starts_with(scheme.as_bytes())
            && o.get(scheme.len()..scheme.len() + 3) == Some(b"://".as_slice())
            && o.ends_with(authority.as_bytes()),
    )
}

/// The origin of an absolute http(s) URL, as `URL.origin` writes it: the scheme, the host
/// in lower case (after any `user@`), and the port unless it is the scheme's default.
/// `None` for a relative URL, another scheme or an empty host.
///
/// Hosts are compared as written (ASCII case aside): an internationalised host must be
/// written in its `xn--` form to match an allowed origin.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, authority, _) = split_absolute(url)?;
    // Byte scans rather than `rsplit`/`rfind`: the same answer for these ASCII marks, with
    // less .wasm.
    let last = |s: &str, mark: u8| s.bytes().rposition(|b| b == mark);
    let host_port = match last(authority, b'@') {
        Some(at) => text_between(authority, at + 1, authority.len()),
        None => authority,
    };
    let (host, port) = match last(host_port, b':') {
        Some(i) if !host_port.bytes().skip(i).any(|b| b == b']') => (
            text_between(host_port, 0, i),
            text_between(host_port, i + 1, host_port.len()),
        ),
        _ => (host_port, ""),
    };
    let mut number: Option<u32> = None;
    for b in port.bytes() {
        let digit = (b as char).to_digit(10)?;
        number = Some(number.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
    }
    if host.is_empty() {
        return None;
    }
    let port = number;
    let default = if scheme == "https" { 443 } else { 80 };
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(port) if port != default => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Reads an origin as an option names one (`"https://api.example"`, `"http://127.0.0.1:8080"`):
/// scheme, host and port, nothing else. Returns it in the form [`origin_of`] gives.
pub fn parse_origin(text: &str) -> Option<String> {
    // Nothing in an origin is case-sensitive: `HTTPS://API.Example` is `https://api.example`.
    let text = text.to_ascii_lowercase();
    let (_, authority, rest) = split_absolute(&text)?;
    if !rest.is_empty()
        || authority.bytes().any(|b| b == b'@')
        || text.chars().any(|c| c.is_control() || c == ' ')
    {
        return None;
    }
    origin_of(&text)
}

/// How many `/`, `\`, `?` and `#` a text has, in that order.
fn marks(text: &str) -> [usize; 4] {
    let mut n = [0; 4];
    for b in text.bytes() {
        match b {
            b'/' => n[0] += 1,
            b'\\' => n[1] += 1,
            b'?' => n[2] += 1,
            b'#' => n[3] += 1,
            _ => {}
        }
    }
    n
}

/// The path of a URL, absolute or starting with `/`: what comes after the authority and
/// before any `?` or `#`.
fn path_of(url: &str) -> &str {
    let after_authority = match split_absolute(url) {
        Some((_, _, rest)) => rest,
        None => url,
    };
    split_before(after_authority, b"?#").0
}

/// Whether the path of `url` (absolute or starting with `/`) has a `.` or `..` segment, as a
/// WHATWG URL parser reads them.
pub fn has_dot_segment(url: &str) -> bool {
    path_of(url)
        .split(['/', '\\'])
        .any(|segment| dot_segment(segment) > 0)
}

/// 1 for a `.` segment, 2 for a `..` segment, as a WHATWG URL parser reads them (`%2e`
/// stands for `.` in any letter case), 0 for any other segment.
fn dot_segment(segment: &str) -> u8 {
    // Every form starts with `.` or `%`: any other segment is none, without six compares.
    if !matches!(segment.as_bytes().first(), Some(b'.' | b'%')) {
        return 0;
    }
    let is = |text: &str| segment.eq_ignore_ascii_case(text);
    if is(".") || is("%2e") {
        1
    } else if is("..") || is(".%2e") || is("%2e.") || is("%2e%2e") {
        2
    } else {
        0
    }
}

/// The path of a URL (absolute or starting with `/`) with its dot segments removed as a
/// WHATWG URL parser removes them: `\` separates segments like `/`, and `.`, `%2e`, `..`,
/// `.%2e`, `%2e.`, `%2e%2e` are dot segments in any letter case.
fn resolved_path(url: &str) -> String {
    let path = path_of(url);
    let mut out: Vec<&str> = Vec::new();
    let mut segments = path.split(['/', '\\']).skip(1).peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match dot_segment(segment) {
            2 => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            1 if last => out.push(""),
            1 => {}
            _ => out.push(segment),
        }
    }
    let mut resolved = String::with_capacity(path.len());
    for segment in out {
        resolved.push('/');
        resolved.push_str(segment);
    }
    resolved
}

/// Checks a filled-in URL against its template, after every value was substituted: the
/// URL must have the template's origin (a relative template stays relative to the page),
/// have a `/`, `\`, `?` or `#` only where the template's own text has one (so a value adds
/// no path segment, query or fragment), and keep the template's fixed path prefix once
/// dot segments are resolved. Percent-encoding already guarantees all three; this is the
/// second line of defence, on the string that is sent.
///
/// Returns what is wrong, to be put after "the filled-in URL".
pub fn check_filled_url(template: &Template, url: &str) -> Result<(), &'static str> {
    let prefix = template.fixed_prefix();
    if !url.starts_with(prefix) {
        return Err("does not start with the template's fixed text");
    }
    // Every request passes here: the common case allocates nothing. The same scheme and
    // authority text is the same origin; only when they differ are origins compared.
    match split_absolute(prefix) {
        Some((scheme, authority, _)) => {
            let same = match split_absolute(url) {
                Some((s, a, _)) if s == scheme && a == authority => true,
                _ => origin_of(url).is_some() && origin_of(url) == origin_of(prefix),
            };
            if !same {
                return Err("would go to another origin than the template's");
            }
        }
        None if url.starts_with("//") || url.starts_with("/\\") || !url.starts_with('/') => {
            return Err("would no longer be a path on the page's own origin");
        }
        None => {}
    }
    if marks(url) != template.literal_marks() {
        return Err("would have a `/`, `\\`, `?` or `#` the template does not have");
    }
    // Without a dot segment, the path resolves to itself, which starts with the prefix's.
    let dots = path_of(url).split(['/', '\\']).any(|s| dot_segment(s) != 0);
    let fixed = split_before(prefix, b"?#").0;
    if dots && !resolved_path(url).starts_with(&resolved_path(fixed)) {
        return Err("would leave the template's path prefix");
    }
    Ok(())
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
            // Loops rather than `collect::<Result<_, _>>()`, whose adapters cost more .wasm.
            Json::Array(items) => {
                let mut parsed = Vec::with_capacity(items.len());
                let mut literal = true;
                for (i, item) in items.iter().enumerate() {
                    let t = BodyTemplate::parse(item)
                        .map_err(|(p, e)| (join(&i.to_string(), &p), e))?;
                    literal &= matches!(t, BodyTemplate::Literal(_));
                    parsed.push(t);
                }
                if literal {
                    BodyTemplate::Literal(json.clone())
                } else {
                    BodyTemplate::Array(parsed)
                }
            }
            Json::Object(entries) => {
                let mut parsed = Vec::with_capacity(entries.len());
                let mut literal = true;
                for (k, v) in entries {
                    let t = BodyTemplate::parse(v).map_err(|(p, e)| (join(k, &p), e))?;
                    literal &= matches!(t, BodyTemplate::Literal(_));
                    parsed.push((k.clone(), t));
                }
                if literal {
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
            // A loop rather than `extend` with `map`, whose adapters cost .wasm.
            BodyTemplate::Text(t) => {
                for h in t.placeholders() {
                    out.push((h, true));
                }
            }
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
            // Loops rather than `collect::<Result<_, _>>()`, whose adapters cost more .wasm.
            BodyTemplate::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for t in items {
                    values.push(t.render(lookup, text)?);
                }
                V::array(values)
            }
            BodyTemplate::Object(entries) => {
                let mut values = Vec::with_capacity(entries.len());
                for (k, t) in entries {
                    values.push((k.clone(), t.render(lookup, text)?));
                }
                V::object(values)
            }
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
    fn a_template_without_placeholders_has_a_fixed_text() {
        let fixed = |t: &str| Template::parse(t).unwrap().fixed_text().map(str::to_owned);
        assert_eq!(fixed("https://x/a?b=1").as_deref(), Some("https://x/a?b=1"));
        // An escaped brace is text: the template fills in to `{a}`.
        assert_eq!(fixed("https://x/{{a}}").as_deref(), Some("https://x/{a}"));
        assert_eq!(fixed("").as_deref(), Some(""));
        assert_eq!(fixed("https://x/{input.id}"), None);
        assert_eq!(fixed("{user}"), None);
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

    /// Byte by byte, the encoding is what RFC 3986 asks of a value: unreserved bytes as
    /// they are, every other byte (each byte of a character beyond ASCII too) as `%XX` in
    /// upper-case hex.
    #[test]
    fn percent_encodes_each_byte_but_the_unreserved_in_upper_case_hex() {
        for c in (0u32..0x800)
            .chain([0xFFFD, 0x1F600])
            .filter_map(char::from_u32)
        {
            let expected: String = c
                .to_string()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            assert_eq!(percent_encode(&c.to_string()), expected, "{c:?}");
        }
    }

    /// Decoding, for spotting disguised dot segments, reads `%XX` in either case and
    /// leaves a `%` that does not start an escape as it is.
    #[test]
    fn disguised_dot_segments_are_found_and_stray_percents_are_left() {
        for dots in ["%2e", "%2E%2e", "%252e", "%25252E%25252e"] {
            assert!(path_value_problem(dots).is_some(), "{dots}");
        }
        for fine in ["%", "%2", "%zz.", "100%", "%2e%2e%2e", "a%2e"] {
            assert_eq!(path_value_problem(fine), None, "{fine}");
        }
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

    #[test]
    fn placeholders_are_bounded_in_length_and_depth() {
        let long = "a".repeat(MAX_PLACEHOLDER_CHARS);
        assert!(Template::parse(&format!("/x/{{{long}}}")).is_ok());
        let e = Template::parse(&format!("/x/{{{long}b}}")).unwrap_err();
        assert_eq!(e.at, 3);
        assert!(
            e.reason.contains("longer than 256 characters"),
            "{}",
            e.reason
        );
        assert!(
            e.reason.len() < 150,
            "the message quotes only the start: {}",
            e.reason
        );

        let path = |n: usize| format!("{{user{}}}", ".a".repeat(n));
        assert_eq!(
            Template::parse(&path(MAX_PATH_DEPTH))
                .unwrap()
                .placeholders()
                .next()
                .unwrap()
                .path
                .len(),
            32
        );
        let e = Template::parse(&path(MAX_PATH_DEPTH + 1)).unwrap_err();
        assert!(e.reason.contains("more than 32 segments"), "{}", e.reason);
    }

    #[test]
    fn path_holes_are_those_before_the_query() {
        let t = |s: &str| Template::parse(s).unwrap();
        assert_eq!(t("/u/{a.b}/p/{c}?q={d}#{e}").path_holes(), 2);
        assert_eq!(t("/u?q={d}").path_holes(), 0);
        assert_eq!(t("/u#{d}").path_holes(), 0);
        assert_eq!(t("/u/{a}{b}").path_holes(), 2);
        let names: Vec<String> = t("/u/{a}/{b}?{c}")
            .path_placeholders()
            .map(|h| h.root.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn path_values_that_are_empty_dot_segments_or_control_characters_are_refused() {
        let dots = [
            ".",
            "..",
            "%2e",
            "%2E",
            "%2e%2E",
            ".%2e",
            "%2E.",
            "%252e",
            "%252E%252e",
            "%25252e",
        ];
        for value in dots {
            assert_eq!(
                path_value_problem(value),
                Some("is `.` or `..` (perhaps percent-encoded)"),
                "{value}"
            );
        }
        assert_eq!(path_value_problem(""), Some("is empty"));
        for value in ["a\u{0}b", "\n", "x\ty", "\u{7f}", "\u{85}", "\r\n"] {
            assert_eq!(
                path_value_problem(value),
                Some("holds a control character"),
                "{value:?}"
            );
        }
        for value in [
            "a",
            "...",
            "a.b",
            ".a",
            "%2ex",
            "u/1",
            "../../admin",
            "%",
            "%zz",
            " ",
            "é",
        ] {
            assert_eq!(path_value_problem(value), None, "{value}");
        }
    }

    #[test]
    fn origins_are_read_like_url_origin() {
        let cases = [
            ("https://api.example/x", Some("https://api.example")),
            ("https://API.Example:443/x", Some("https://api.example")),
            ("http://api.example:80", Some("http://api.example")),
            ("http://127.0.0.1:4502/s/x", Some("http://127.0.0.1:4502")),
            (
                "https://api.example:08443?q",
                Some("https://api.example:8443"),
            ),
            (
                "https://user:pw@evil.example/x",
                Some("https://evil.example"),
            ),
            (
                "https://api.example\\@evil.example/x",
                Some("https://api.example"),
            ),
            (
                "https://api.example#@evil.example",
                Some("https://api.example"),
            ),
            ("http://[::1]:8080/x", Some("http://[::1]:8080")),
            ("http://[::1]/x", Some("http://[::1]")),
            ("/relative", None),
            ("//evil.example/x", None),
            ("ftp://x/", None),
            ("https:///x", None),
            ("https://x:port/", None),
        ];
        for (url, origin) in cases {
            assert_eq!(origin_of(url).as_deref(), origin, "{url}");
            // origin_is answers as origin_of does, for the right origin and for others.
            for candidate in cases.iter().filter_map(|(_, o)| *o) {
                let expected = origin.map(|o| o == candidate);
                assert_eq!(origin_is(url, candidate), expected, "{url} vs {candidate}");
            }
            assert_eq!(
                origin_is(url, "https://api.example.evil"),
                origin.map(|_| false)
            );
            assert_eq!(origin_is(url, "https:/api.example"), origin.map(|_| false));
        }
        assert_eq!(
            parse_origin("https://API.example:443").as_deref(),
            Some("https://api.example")
        );
        assert_eq!(
            parse_origin("HTTPS://API.example").as_deref(),
            Some("https://api.example")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:4502").as_deref(),
            Some("http://127.0.0.1:4502")
        );
        for bad in [
            "https://api.example/",
            "https://api.example/v1",
            "https://api.example?x",
            "https://u@api.example",
            "api.example",
            "https://",
            "https://api example",
            "",
        ] {
            assert_eq!(parse_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_resolve_dot_segments_like_a_url_parser() {
        let cases = [
            ("https://x/a/b/../c", "/a/c"),
            ("https://x/a/b/%2e%2E/c", "/a/c"),
            ("https://x/a/b/.%2E/c", "/a/c"),
            ("https://x/a/b/%2E./c", "/a/c"),
            ("https://x/a/./b", "/a/b"),
            ("https://x/a/%2E/b", "/a/b"),
            ("https://x/a/b/..", "/a/"),
            ("https://x/a/b/.", "/a/b/"),
            ("https://x/a\\..\\b", "/b"),
            ("https://x/../../a", "/a"),
            ("https://x/a/..%2F..%2Fb", "/a/..%2F..%2Fb"),
            ("https://x/a/...", "/a/..."),
            ("/a/b/../c?x=/../#/..", "/a/c"),
            ("https://x", ""),
            ("https://x?q", ""),
        ];
        for (url, path) in cases {
            assert_eq!(resolved_path(url), path, "{url}");
        }
    }

    /// The issue's hostile values, substituted into templates: percent-encoded they stay
    /// one path segment or one query value; substituted raw (as if the encoding were
    /// missing), the post-check catches each one.
    #[test]
    fn a_hostile_value_never_changes_origin_path_prefix_or_query() {
        let hostile = [
            "//evil.example/x",
            "/\\evil.example",
            "a?admin=1#",
            "../../admin",
        ];
        let templates = [
            "https://api.example/users/{input.v}",
            "https://api.example/users/{input.v}/posts?all=1",
            "https://api.example/users?id={input.v}",
            "/users/{input.v}",
            "/{input.v}",
            "https://api.example/{input.v}",
        ];
        let fill = |template: &Template, value: &str, encode: bool| {
            template
                .render(
                    |_| Ok::<_, ()>(Json::String(value.into())),
                    |_, v: &Json| {
                        let text = v.text().map_err(|_| ())?;
                        Ok(if encode { percent_encode(&text) } else { text })
                    },
                )
                .unwrap()
        };
        for source in templates {
            let template = Template::parse(source).unwrap();
            for value in hostile {
                let url = fill(&template, value, true);
                assert_eq!(
                    check_filled_url(&template, &url),
                    Ok(()),
                    "{source} <- {value}: {url}"
                );
                assert_eq!(origin_of(&url), origin_of(source), "{url}");
                assert_eq!(
                    url.matches(['?', '#']).count(),
                    source.matches(['?', '#']).count()
                );
                let raw = fill(&template, value, false);
                assert!(
                    check_filled_url(&template, &raw).is_err(),
                    "the post-check misses {source} <- {value}: {raw}"
                );
            }
        }
        let t = Template::parse("https://api.example/users/{input.v}").unwrap();
        assert_eq!(
            fill(&t, "//evil.example/x", true),
            "https://api.example/users/%2F%2Fevil.example%2Fx"
        );
        assert_eq!(
            fill(&t, "/\\evil.example", true),
            "https://api.example/users/%2F%5Cevil.example"
        );
        assert_eq!(
            fill(&t, "a?admin=1#", true),
            "https://api.example/users/a%3Fadmin%3D1%23"
        );
        assert_eq!(
            fill(&t, "../../admin", true),
            "https://api.example/users/..%2F..%2Fadmin"
        );
    }

    #[test]
    fn the_post_check_names_what_a_raw_value_would_change() {
        let t = Template::parse("https://api.example/users/{input.v}").unwrap();
        let check = |url: &str| check_filled_url(&t, url);
        assert_eq!(check("https://api.example/users/ok"), Ok(()));
        assert_eq!(
            check("https://api.example/users/.."),
            Err("would leave the template's path prefix")
        );
        let added = Err("would have a `/`, `\\`, `?` or `#` the template does not have");
        assert_eq!(check("https://api.example/users/x?admin=1"), added);
        assert_eq!(check("https://api.example/users/x/y"), added);
        assert_eq!(check("https://api.example/users/x#y"), added);
        assert_eq!(check("https://api.example/users/x\\y"), added);
        assert_eq!(
            check("https://api.example/other"),
            Err("does not start with the template's fixed text")
        );
        let host = Template::parse("https://api.example/{input.v}").unwrap();
        assert_eq!(
            check_filled_url(&host, "https://api.example/@evil.example"),
            Ok(()),
            "an @ in the path is only a path"
        );
        let port = Template::parse("http://api.example/{input.v}").unwrap();
        assert_eq!(check_filled_url(&port, "http://api.example/"), Ok(()));
        // A template the validator refuses (its host is not closed before the placeholder)
        // is still held to its origin: a value with no `/`, `?` or `#` could move it.
        let open = Template::parse("https://api.example{input.v}").unwrap();
        assert_eq!(
            check_filled_url(&open, "https://api.example.evil.example"),
            Err("would go to another origin than the template's")
        );
        assert_eq!(
            check_filled_url(&open, "https://api.example:8443"),
            Err("would go to another origin than the template's")
        );
        let relative = Template::parse("/{input.v}").unwrap();
        assert_eq!(
            check_filled_url(&relative, "//evil.example/x"),
            Err("would no longer be a path on the page's own origin")
        );
    }
}
