//! `Value`: what the engine needs from a JSON reply, whatever holds it.
//!
//! In the browser a reply stays the `JsValue` that `response.json()` produced, so bodies
//! that only pass through are never copied into Rust; natively (tests, Rust frontends
//! that bring their own transport) a [`Json`] tree plays the same role. The scheduler
//! and the templates are generic over this trait.

use crate::plan::json::Json;

/// A JSON value the engine can read paths from and build request bodies with.
pub trait Value: Clone + 'static {
    /// Follows one path segment: an object's own key, an array index written in
    /// decimal, or `length` of an array. `None` when there is no such thing.
    fn field(&self, segment: &str) -> Option<Self>;

    /// The value as text for a URL or an interpolated string: strings as they are,
    /// numbers in their shortest JSON form, booleans as `true`/`false`. Anything else
    /// returns `Err` with a short name of its type ("null", "an object", ...).
    fn text(&self) -> Result<String, &'static str>;

    /// The value as a number, when it is one.
    fn as_f64(&self) -> Option<f64>;

    /// The value as a string, when it is one.
    fn as_string(&self) -> Option<String>;

    /// Builds a value from a plan literal.
    fn from_json(json: &Json) -> Self;

    /// Builds a string value.
    fn from_string(s: String) -> Self;

    /// Builds a number value.
    fn from_f64(n: f64) -> Self;

    /// Builds an array from its items.
    fn array(items: Vec<Self>) -> Self;

    /// An array's elements, in order; `None` for anything else.
    fn elements(&self) -> Option<Vec<Self>>;

    /// Builds an object from its entries, in order.
    fn object(entries: Vec<(String, Self)>) -> Self;

    /// Whether this is a string that held lone surrogates, which Rust text cannot hold:
    /// crossing into Rust turns each into U+FFFD, so a URL would carry another value than
    /// the caller's. Only a JavaScript string can (serde_json refuses them); the default
    /// says no.
    fn has_lone_surrogates(&self) -> bool {
        false
    }

    /// Why this value, put whole into a request's body, cannot be sent as JSON (a cycle,
    /// say), or `None` when it can. Only a JavaScript value can hold what JSON cannot; the
    /// default says it can.
    fn json_problem(&self) -> Option<String> {
        None
    }

    /// Whether this equals `other` as a condition's `equals` sees it (`condition.rs`):
    /// the same string, the same number, both `true` or both `false`, or both null. An
    /// array or an object equals nothing. The default reads numbers as doubles; a value
    /// type with exact big integers (the browser's `BigInt`) compares them exactly.
    fn same(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (self.as_f64(), other.as_f64()) {
            return a == b;
        }
        match (self.as_string(), other.as_string()) {
            (Some(a), Some(b)) => return a == b,
            (None, None) => {}
            _ => return false,
        }
        match (self.text(), other.text()) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => is_null(a) && is_null(b),
            _ => false,
        }
    }

    /// How this number compares with `other`: `None` unless both are numbers (or when
    /// either is NaN). The default reads them as doubles; see [`Value::same`].
    fn compare(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.as_f64()?.partial_cmp(&other.as_f64()?)
    }

    /// Calls `visit` with every string in the value (object keys aside), depth first,
    /// until it returns `false`. Error messages use it to leave a request body's values
    /// out of what they quote. The default visits nothing: a value type without it gets
    /// its headers and URL values redacted, not its body's.
    fn each_string(&self, visit: &mut dyn FnMut(&str) -> bool) {
        let _ = visit;
    }

    /// The value as text that tells bodies apart, for a reply cache's keys (`cache.rs`):
    /// equal bodies give equal texts, different ones different texts. `None` when it has
    /// none (such a request is then never cached).
    fn key_text(&self) -> Option<String>;
}

/// Whether a type name of [`Value::text`]'s error is one of null's.
fn is_null(type_name: &str) -> bool {
    type_name == "null" || type_name == "undefined"
}

/// How deep [`Value::each_string`] looks into nested data.
pub(crate) const MAX_VISIT_DEPTH: usize = 32;

/// Formats a number the way `JSON.stringify` does for the values a URL can carry.
pub(crate) fn number_text(n: f64) -> Result<String, &'static str> {
    if !n.is_finite() {
        return Err("a non-finite number");
    }
    if n == n.trunc() && n.abs() < 9.0e15 {
        // Integral doubles print without a fraction, as in JavaScript ("-0" prints as "0").
        Ok(format!("{}", n as i64))
    } else {
        Ok(format!("{n}"))
    }
}

/// Resolves `length` and decimal indices on a slice, the array half of [`Value::field`].
pub(crate) fn array_field<T: Clone>(items: &[T], segment: &str) -> Option<ArrayField<T>> {
    if segment == "length" {
        return Some(ArrayField::Length(items.len()));
    }
    let index = parse_index(segment)?;
    items.get(index).cloned().map(ArrayField::Item)
}

/// The outcome of [`array_field`].
pub(crate) enum ArrayField<T> {
    Length(usize),
    Item(T),
}

/// A canonical decimal array index: digits only, no leading zeros ("0" itself is fine).
pub(crate) fn parse_index(segment: &str) -> Option<usize> {
    let canonical = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    if canonical {
        segment.parse().ok()
    } else {
        None
    }
}

impl Value for Json {
    fn key_text(&self) -> Option<String> {
        Some(format!("{self:?}"))
    }

    fn field(&self, segment: &str) -> Option<Self> {
        match self {
            Json::Object(_) => self.get(segment).cloned(),
            Json::Array(items) => match array_field(items, segment)? {
                ArrayField::Length(n) => Some(Json::Number(n as f64)),
                ArrayField::Item(v) => Some(v),
            },
            _ => None,
        }
    }

    fn text(&self) -> Result<String, &'static str> {
        match self {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => number_text(*n),
            Json::Bool(b) => Ok(b.to_string()),
            other => Err(other.type_name()),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<String> {
        match self {
            Json::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn from_json(json: &Json) -> Self {
        json.clone()
    }

    fn from_string(s: String) -> Self {
        Json::String(s)
    }

    fn from_f64(n: f64) -> Self {
        Json::Number(n)
    }

    fn array(items: Vec<Self>) -> Self {
        Json::Array(items)
    }

    fn elements(&self) -> Option<Vec<Self>> {
        match self {
            Json::Array(items) => Some(items.clone()),
            _ => None,
        }
    }

    fn object(entries: Vec<(String, Self)>) -> Self {
        Json::Object(entries)
    }

    fn each_string(&self, visit: &mut dyn FnMut(&str) -> bool) {
        fn walk(v: &Json, visit: &mut dyn FnMut(&str) -> bool, depth: usize) -> bool {
            match v {
                Json::String(s) => visit(s),
                Json::Array(items) if depth < MAX_VISIT_DEPTH => {
                    items.iter().all(|item| walk(item, visit, depth + 1))
                }
                Json::Object(entries) if depth < MAX_VISIT_DEPTH => {
                    entries.iter().all(|(_, item)| walk(item, visit, depth + 1))
                }
                _ => true,
            }
        }
        walk(self, visit, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn fields_indices_and_length() {
        let v = j(r#"{"items":[{"sku":"A"},{"sku":"B"}],"n":0}"#);
        let items = v.field("items").unwrap();
        assert_eq!(items.field("length"), Some(Json::Number(2.0)));
        assert_eq!(
            items.field("1").and_then(|i| i.field("sku")),
            Some(j(r#""B""#))
        );
        assert_eq!(items.field("2"), None);
        assert_eq!(items.field("01"), None, "non-canonical index");
        assert_eq!(items.field("-1"), None);
        assert_eq!(v.field("n").unwrap().field("x"), None);
        assert_eq!(v.field("length"), None, "length is for arrays only");
    }

    #[test]
    fn text_of_scalars_only() {
        assert_eq!(j("12").text(), Ok("12".into()));
        assert_eq!(j("-0.5").text(), Ok("-0.5".into()));
        assert_eq!(j("9007199254740991").text(), Ok("9007199254740991".into()));
        assert_eq!(j("true").text(), Ok("true".into()));
        assert_eq!(j(r#""a b""#).text(), Ok("a b".into()));
        assert_eq!(j("null").text(), Err("null"));
        assert_eq!(j("{}").text(), Err("an object"));
        assert_eq!(j("[]").text(), Err("an array"));
        assert_eq!(number_text(f64::NAN), Err("a non-finite number"));
    }
}
