//! `when`: the condition a call runs under, a small declarative language read from the
//! plan and evaluated in Rust, so that it runs under a strict Content Security Policy
//! (no `eval`, no `Function`).
//!
//! ```json
//! {"and": [{"equals": ["{customer.tier}", "gold"]}, {"gte": ["{cart.total}", 100]}]}
//! ```
//!
//! - Comparisons take an array of two operands: `equals`, `notEquals`, and for numbers
//!   (big integers too, exactly) `lt`, `lte`, `gt`, `gte`.
//! - `in` takes a value and a list: `{"in": ["{customer.country}", ["DE", "FR"]]}`.
//! - `exists` takes one placeholder, bare: present and not null.
//! - `and` and `or` take an array of conditions, `not` one condition, bare.
//!
//! An operand is a JSON literal or a placeholder, read as a request body's values are: a
//! string that is one whole placeholder keeps its JSON type, placeholders among text are
//! interpolated. A path a reply does not have reads as `null`, so `equals` against a field
//! the service left out is false rather than an error: a condition asks a question of a
//! reply, it does not require the reply's shape. Numbers compare only with numbers, and
//! `equals` compares strings, numbers, booleans and null: an operand that is an array or
//! an object equals nothing (a literal one is refused when the plan is read).

use crate::error::Error;
use crate::plan::invalid::invalid_plan;
use crate::plan::json::Json;
use crate::plan::template::{BodyTemplate, MAX_BODY_DEPTH};
use crate::plan::value::Value;
use std::cmp::Ordering;

/// Reads the operand at its place (`calls.points.when.equals[0]`) into a template.
pub type Operand<'a> = &'a dyn Fn(&str, &Json) -> Result<BodyTemplate, Error>;

/// How deep `and`, `or` and `not` may nest: as deep as a body may.
pub const MAX_CONDITION_DEPTH: usize = MAX_BODY_DEPTH;

/// The operators, as a plan writes them, in the order error messages list them: the
/// comparisons first, in [`Comparison`]'s order.
const OPERATORS: [&str; 11] = [
    "equals",
    "notEquals",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "exists",
    "and",
    "or",
    "not",
];

/// A call's `when`.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Two operands compared.
    Compare(Comparison, BodyTemplate, BodyTemplate),
    /// The first operand is one of the items of the second, a list.
    In(BodyTemplate, BodyTemplate),
    /// The path of the placeholder (a [`BodyTemplate::Value`]) is present and not null.
    Exists(BodyTemplate),
    /// Every condition holds (and none is evaluated after the first that does not).
    And(Vec<Condition>),
    /// At least one condition holds (none is evaluated after the first that does).
    Or(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

/// The two-operand comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `equals`: the same string, number, boolean or null.
    Equals,
    /// `notEquals`: not [`Comparison::Equals`].
    NotEquals,
    /// `lt`: a number below another.
    Lt,
    /// `lte`: a number at most another.
    Lte,
    /// `gt`: a number above another.
    Gt,
    /// `gte`: a number at least another.
    Gte,
}

impl Comparison {
    /// In [`OPERATORS`]' order, which starts with them.
    const ALL: [Comparison; 6] = [
        Comparison::Equals,
        Comparison::NotEquals,
        Comparison::Lt,
        Comparison::Lte,
        Comparison::Gt,
        Comparison::Gte,
    ];

    fn numeric(self) -> bool {
        !matches!(self, Comparison::Equals | Comparison::NotEquals)
    }
}

impl Condition {
    /// Reads the condition at `at` (`calls.points.when`), its operands with `operand`:
    /// the plan reader's own, which reads them as it reads a request body, and checks that
    /// each placeholder names something the call may read. Fails with `INVALID_PLAN`
    /// naming the exact place: `calls.points.when.and[1].equals[0]`.
    pub fn read(at: &str, json: &Json, operand: Operand) -> Result<Condition, Error> {
        read(at, json, operand, 0)
    }

    /// Whether the condition holds, with `value` giving each operand's value: `None`
    /// where a placeholder's path is missing (read as null), or where text cannot be made
    /// of a value interpolated among text. Operands are filled in as request bodies are
    /// (the engine hands them to the same code); values compare through [`Value::same`]
    /// and [`Value::compare`], exact for the browser's big integers.
    pub fn holds<V: Value>(&self, value: &mut dyn FnMut(&BodyTemplate) -> Option<V>) -> bool {
        let null = || V::from_json(&Json::Null);
        match self {
            Condition::Compare(how, a, b) => {
                let a = value(a).unwrap_or_else(null);
                let b = value(b).unwrap_or_else(null);
                let order = || a.compare(&b);
                match how {
                    Comparison::Equals => a.same(&b),
                    Comparison::NotEquals => !a.same(&b),
                    Comparison::Lt => order() == Some(Ordering::Less),
                    Comparison::Lte => order().is_some_and(Ordering::is_le),
                    Comparison::Gt => order() == Some(Ordering::Greater),
                    Comparison::Gte => order().is_some_and(Ordering::is_ge),
                }
            }
            Condition::In(item, list) => {
                let item = value(item).unwrap_or_else(null);
                value(list).is_some_and(|list| items(&list).any(|each| item.same(&each)))
            }
            Condition::Exists(h) => value(h).is_some_and(|v| !v.same(&null())),
            Condition::And(all) => all.iter().all(|c| c.holds(value)),
            Condition::Or(any) => any.iter().any(|c| c.holds(value)),
            Condition::Not(c) => !c.holds(value),
        }
    }
}

/// The items of an array value (none of anything else, though an object may have a
/// `length`), through its `length` and indices.
fn items<V: Value>(list: &V) -> impl Iterator<Item = V> + '_ {
    let length = match list.text() {
        Err("an array") => list.field("length").and_then(|n| n.as_f64()),
        _ => None,
    };
    (0..length.unwrap_or(0.0) as usize).filter_map(move |i| list.field(&i.to_string()))
}

fn read(at: &str, json: &Json, operand: Operand, depth: usize) -> Result<Condition, Error> {
    let (name, arg) = match json {
        Json::Object(entries) if entries.len() == 1 => (&entries[0].0, &entries[0].1),
        _ => {
            return Err(invalid_plan!(
                "{at} must be an object with one operator, like {{\"equals\": [\"{{customer.tier}}\", \"gold\"]}}, not {}",
                describe(json)
            ))
        }
    };
    if depth >= MAX_CONDITION_DEPTH {
        return Err(invalid_plan!(
            "{at} nests conditions more than {MAX_CONDITION_DEPTH} levels deep; flatten it"
        ));
    }
    let Some(operator) = OPERATORS.iter().position(|o| o == name) else {
        return Err(invalid_plan!(
            "{at}: unknown operator `{name}`; use one of {}",
            OPERATORS.join(", ")
        ));
    };
    let here = [at, ".", name].concat();
    Ok(match operator {
        0..=5 => {
            let how = Comparison::ALL[operator];
            let (a, b) = operands(&here, arg, operand)?;
            check_literal(&here, 0, &a, how)?;
            check_literal(&here, 1, &b, how)?;
            Condition::Compare(how, a, b)
        }
        6 => {
            let (value, list) = operands(&here, arg, operand)?;
            match &list {
                BodyTemplate::Literal(literal) if !matches!(literal, Json::Array(_)) => {
                    return Err(invalid_plan!(
                        "{here}[1] must be a list (an array, or a placeholder naming one), not {}",
                        literal.type_name()
                    ))
                }
                _ => Condition::In(value, list),
            }
        }
        7 => match operand(&here, arg)? {
            exists @ BodyTemplate::Value(_) => Condition::Exists(exists),
            _ => {
                return Err(invalid_plan!(
                    "{here} takes one placeholder, like {{\"exists\": \"{{customer.loyaltyId}}\"}}"
                ))
            }
        },
        8 => Condition::And(read_all(&here, arg, operand, depth)?),
        9 => Condition::Or(read_all(&here, arg, operand, depth)?),
        _ => Condition::Not(Box::new(read(&here, arg, operand, depth + 1)?)),
    })
}

/// The conditions of `and` or `or` at `here`: an array of at least one.
fn read_all(
    here: &str,
    arg: &Json,
    operand: Operand,
    depth: usize,
) -> Result<Vec<Condition>, Error> {
    let items = match arg {
        Json::Array(items) if !items.is_empty() => items,
        _ => {
            return Err(invalid_plan!(
                "{here} must be an array of at least one condition, not {}",
                describe(arg)
            ))
        }
    };
    let mut all = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        all.push(read(&format!("{here}[{i}]"), item, operand, depth + 1)?);
    }
    Ok(all)
}

/// What a value that is not the expected one was, as an error names it.
fn describe(json: &Json) -> &'static str {
    match json {
        Json::Object(entries) if entries.is_empty() => "an empty object",
        Json::Object(_) => "an object of several fields",
        Json::Array(items) if items.is_empty() => "an empty array",
        other => other.type_name(),
    }
}

/// The two operands at `here` (`calls.x.when.equals`), each read at its place.
fn operands(
    here: &str,
    arg: &Json,
    operand: Operand,
) -> Result<(BodyTemplate, BodyTemplate), Error> {
    match arg {
        Json::Array(items) if items.len() == 2 => Ok((
            operand(&[here, "[0]"].concat(), &items[0])?,
            operand(&[here, "[1]"].concat(), &items[1])?,
        )),
        _ => Err(invalid_plan!(
            "{here} takes an array of two operands, [value, value]"
        )),
    }
}

/// A literal operand a comparison can never be true of is a mistake in the plan: an
/// array or an object anywhere, and anything but a number where numbers are compared.
fn check_literal(
    here: &str,
    index: usize,
    operand: &BodyTemplate,
    how: Comparison,
) -> Result<(), Error> {
    let literal = match operand {
        BodyTemplate::Literal(literal) => literal,
        BodyTemplate::Array(_) | BodyTemplate::Object(_) => &Json::Array(Vec::new()),
        _ => return Ok(()),
    };
    let fits = match literal {
        Json::Array(_) | Json::Object(_) => false,
        Json::Number(_) => true,
        _ => !how.numeric(),
    };
    if fits {
        return Ok(());
    }
    let what = if how.numeric() {
        "numbers"
    } else {
        "strings, numbers, booleans and null"
    };
    Err(invalid_plan!(
        "{here}[{index}]: {} compares {what}, not {}",
        OPERATORS[how as usize],
        literal.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::plan::template::Placeholder;

    fn j(s: &str) -> Json {
        serde_json::from_str(s).unwrap()
    }

    /// The plan reader's operand reader, for a plan with calls `customer` and `cart`.
    fn known(at: &str, json: &Json) -> Result<BodyTemplate, Error> {
        let template = BodyTemplate::parse(json).map_err(|(path, e)| {
            invalid_plan!("{at}{}{path}: {e}", if path.is_empty() { "" } else { "." })
        })?;
        for (h, _) in template.placeholders() {
            if !matches!(h.root.as_str(), "input" | "customer" | "cart") {
                return Err(invalid_plan!("{at}: `{}` is unknown", h.root));
            }
        }
        Ok(template)
    }

    fn cond(s: &str) -> Condition {
        Condition::read("calls.points.when", &j(s), &known).unwrap()
    }

    fn error(s: &str) -> String {
        let e = Condition::read("calls.points.when", &j(s), &known).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidPlan);
        e.message().to_owned()
    }

    /// Evaluates `c` over `{"customer": ..., "cart": ...}` given as one JSON object,
    /// `read` seeing each placeholder looked up.
    fn holds_reading(c: &str, data: &str, read: &mut dyn FnMut(&Placeholder)) -> bool {
        let data = j(data);
        cond(c).holds::<Json>(&mut |t| {
            let mut lookup = |h: &Placeholder| {
                read(h);
                let mut v = data.field(&h.root).ok_or(())?;
                for segment in &h.path {
                    v = v.field(segment).ok_or(())?;
                }
                Ok(v)
            };
            t.render(&mut lookup, &mut |_, v: &Json| v.text().map_err(|_| ()))
                .ok()
        })
    }

    fn holds(c: &str, data: &str) -> bool {
        holds_reading(c, data, &mut |_| {})
    }

    const GOLD: &str = r#"{"customer": {"tier": "gold", "id": 7, "loyaltyId": null, "country": "DE"},
                           "cart": {"total": 120.5, "items": [1, 2], "tags": ["a", "b"]}}"#;

    #[test]
    fn comparisons() {
        assert!(holds(r#"{"equals": ["{customer.tier}", "gold"]}"#, GOLD));
        assert!(!holds(r#"{"equals": ["{customer.tier}", "silver"]}"#, GOLD));
        assert!(holds(
            r#"{"notEquals": ["{customer.tier}", "silver"]}"#,
            GOLD
        ));
        assert!(holds(r#"{"equals": ["{customer.id}", 7]}"#, GOLD));
        assert!(
            !holds(r#"{"equals": ["{customer.id}", "7"]}"#, GOLD),
            "no coercion"
        );
        assert!(holds(r#"{"gt": ["{cart.total}", 100]}"#, GOLD));
        assert!(holds(r#"{"gte": ["{cart.total}", 120.5]}"#, GOLD));
        assert!(!holds(r#"{"lt": ["{cart.total}", 120.5]}"#, GOLD));
        assert!(holds(r#"{"lte": ["{cart.items.length}", 2]}"#, GOLD));
        assert!(
            !holds(r#"{"gt": ["{customer.tier}", 1]}"#, GOLD),
            "a string is no number"
        );
        assert!(holds(r#"{"equals": ["{customer.loyaltyId}", null]}"#, GOLD));
        assert!(
            holds(r#"{"equals": ["id-{customer.id}", "id-7"]}"#, GOLD),
            "text"
        );
    }

    #[test]
    fn a_missing_path_reads_as_null() {
        assert!(!holds(r#"{"equals": ["{customer.rank}", "gold"]}"#, GOLD));
        assert!(holds(r#"{"notEquals": ["{customer.rank}", "gold"]}"#, GOLD));
        assert!(holds(r#"{"equals": ["{customer.rank}", null]}"#, GOLD));
        assert!(!holds(r#"{"gt": ["{customer.rank}", 0]}"#, GOLD));
        assert!(!holds(r#"{"lte": ["{customer.rank}", 0]}"#, GOLD));
    }

    #[test]
    fn membership_and_presence() {
        assert!(holds(
            r#"{"in": ["{customer.country}", ["DE", "FR"]]}"#,
            GOLD
        ));
        assert!(!holds(r#"{"in": ["{customer.country}", ["IT"]]}"#, GOLD));
        assert!(holds(r#"{"in": ["b", "{cart.tags}"]}"#, GOLD));
        assert!(
            !holds(r#"{"in": ["a", "{customer}"]}"#, GOLD),
            "an object is no list"
        );
        assert!(!holds(r#"{"in": ["a", "{customer.rank}"]}"#, GOLD));
        assert!(
            holds(r#"{"in": [7, ["{customer.id}"]]}"#, GOLD),
            "placeholders in the list"
        );
        assert!(holds(r#"{"exists": "{customer.tier}"}"#, GOLD));
        assert!(
            !holds(r#"{"exists": "{customer.loyaltyId}"}"#, GOLD),
            "null is absent"
        );
        assert!(!holds(r#"{"exists": "{customer.rank}"}"#, GOLD));
    }

    #[test]
    fn combinators() {
        let gold_and_big =
            r#"{"and": [{"equals": ["{customer.tier}", "gold"]}, {"gt": ["{cart.total}", 100]}]}"#;
        assert!(holds(gold_and_big, GOLD));
        let silver_or_big =
            r#"{"or": [{"equals": ["{customer.tier}", "silver"]}, {"gt": ["{cart.total}", 100]}]}"#;
        assert!(holds(silver_or_big, GOLD));
        assert!(!holds(r#"{"not": {"exists": "{customer.tier}"}}"#, GOLD));
        assert!(holds(
            r#"{"not": {"not": {"exists": "{customer.tier}"}}}"#,
            GOLD
        ));
    }

    #[test]
    fn and_stops_at_the_first_false() {
        let c = r#"{"and": [{"exists": "{customer.x}"}, {"exists": "{cart.y}"}]}"#;
        let mut read = Vec::new();
        assert!(!holds_reading(c, GOLD, &mut |h| read.push(h.root.clone())));
        assert_eq!(read, ["customer"]);
    }

    #[test]
    fn mistakes_name_their_place() {
        assert_eq!(
            error(r#"{"and": [{"exists": "{cart.a}"}, {"in": ["x", "{shop.tags}"]}]}"#),
            "calls.points.when.and[1].in[1]: `shop` is unknown",
            "each operand is read at its place"
        );
        assert_eq!(
            error(r#"{"and": [{"exists": "{customer.a}"}, {"same": [1, 1]}]}"#),
            "calls.points.when.and[1]: unknown operator `same`; use one of equals, notEquals, lt, lte, gt, gte, in, exists, and, or, not"
        );
        assert_eq!(
            error(r#"{"equals": ["{customer.tier}"]}"#),
            "calls.points.when.equals takes an array of two operands, [value, value]"
        );
        assert_eq!(
            error(r#"{"gt": ["{cart.total}", "100"]}"#),
            "calls.points.when.gt[1]: gt compares numbers, not a string"
        );
        assert_eq!(
            error(r#"{"equals": ["{cart.items}", [1, 2]]}"#),
            "calls.points.when.equals[1]: equals compares strings, numbers, booleans and null, not an array"
        );
        assert_eq!(
            error(r#"{"in": ["{customer.country}", "DE"]}"#),
            "calls.points.when.in[1] must be a list (an array, or a placeholder naming one), not a string"
        );
        assert_eq!(
            error(r#"{"exists": "customer.tier"}"#),
            r#"calls.points.when.exists takes one placeholder, like {"exists": "{customer.loyaltyId}"}"#
        );
        assert_eq!(
            error(r#"{"or": []}"#),
            "calls.points.when.or must be an array of at least one condition, not an empty array"
        );
        assert_eq!(
            error(r#"{"equals": [1, 1], "gt": [2, 1]}"#),
            r#"calls.points.when must be an object with one operator, like {"equals": ["{customer.tier}", "gold"]}, not an object of several fields"#
        );
        assert_eq!(
            error(r#"{"not": {"equals": ["{customer.tier", "gold"]}}"#)
                .split(':')
                .next(),
            Some("calls.points.when.not.equals[0]")
        );
        let deep = format!(
            "{}{}{}",
            r#"{"not": "#.repeat(40),
            r#"{"exists": "{input.a}"}"#,
            "}".repeat(40)
        );
        assert!(error(&deep).ends_with("nests conditions more than 32 levels deep; flatten it"));
    }
}
