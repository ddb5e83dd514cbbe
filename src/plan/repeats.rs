//! Which calls of a plan may make the same read as another call, found once per plan.
//!
//! Dedupe (`engine/dedupe.rs`) sends identical reads once. To find them it fingerprints
//! every read of every composition, keeps an entry for it and a copy of its reply handle:
//! in bench B, a tenth of the engine's time per call, on plans where no two calls could
//! ever ask the same thing. Whether two calls can is mostly known from the plan alone: two
//! reads can only be identical with the same method, and their URLs can only be equal
//! when one's text could begin the other's. A URL with no placeholder is its own text; one
//! with placeholders always begins with its literal text before the first of them. So a
//! call whose URL no other read's could equal is left out of dedupe, proven unnecessary,
//! and every other read is compared as before (headers and time limits included).

use crate::plan::template::Template;
use rustc_hash::FxHashMap as HashMap;

/// Beyond this many comparisons of URL prefixes, every read of the plan is taken to
/// repeat, without comparing: reading a plan stays linear in its size.
const MAX_COMPARISONS: usize = 100_000;

/// Per call of `n`: whether another read of the plan could fill in the same URL. `read(i)`
/// is call `i`'s URL template, `None` for a write: writes never repeat (dedupe never
/// shares them). Where in doubt, a read repeats: the same URL with another read method
/// counts, and a template may fill in to anything after its prefix.
pub(crate) fn may_repeat<'a>(n: usize, read: impl Fn(usize) -> Option<&'a Template>) -> Vec<bool> {
    let mut repeats = vec![false; n];
    // The map type of the plan's index of names, whose code the .wasm has already.
    let mut fixed: HashMap<String, usize> = HashMap::default();
    let mut templated = Vec::new();
    for i in 0..n {
        let Some(url) = read(i) else { continue };
        match url.fixed_text() {
            Some(text) => {
                if let Some(j) = fixed.insert(text.to_owned(), i) {
                    repeats[i] = true;
                    repeats[j] = true;
                }
            }
            None => templated.push(i),
        }
    }
    let unbounded = templated.len() * n > MAX_COMPARISONS;
    // A template's URL begins with its prefix: it may be any read's URL that begins so,
    // and any other template's whose prefix begins as its own.
    for &i in &templated {
        let own = read(i).map_or("", Template::fixed_prefix);
        for j in 0..n {
            let Some(url) = read(j) else { continue };
            let could = unbounded
                || match url.fixed_text() {
                    Some(text) => text.starts_with(own),
                    None => {
                        let prefix = url.fixed_prefix();
                        prefix.starts_with(own) || own.starts_with(prefix)
                    }
                };
            if could && j != i {
                repeats[i] = true;
                repeats[j] = true;
            }
        }
        if unbounded {
            break; // every read is marked
        }
    }
    repeats
}

#[cfg(test)]
mod tests {
    use crate::tests::sim::plan;

    fn repeats(source: &str) -> Vec<bool> {
        let plan = plan(source);
        (0..plan.calls().len())
            .map(|i| plan.may_repeat(i))
            .collect()
    }

    #[test]
    fn distinct_fixed_urls_never_repeat() {
        let r = repeats(
            r#"{"calls":{"a":{"url":"http://s/a"},"b":{"url":"http://s/b"},
                "c":{"url":"http://s/a","method":"POST"}}}"#,
        );
        assert_eq!(r, [false, false, false]);
    }

    #[test]
    fn the_same_fixed_read_twice_repeats_whatever_its_method() {
        let r = repeats(
            r#"{"calls":{"a":{"url":"http://s/a"},"b":{"url":"http://s/a"},
                "c":{"url":"http://s/a","method":"HEAD"},"d":{"url":"http://s/d"}}}"#,
        );
        assert_eq!(r, [true, true, true, false]);
    }

    #[test]
    fn past_the_comparisons_it_will_make_every_read_repeats() {
        let calls: Vec<String> = (0..400)
            .map(|i| format!(r#""t{i}":{{"url":"http://s{i}/{{input.x}}"}}"#))
            .collect();
        let plan = format!(
            r#"{{"calls":{{{},"w":{{"url":"http://w/","method":"POST"}}}}}}"#,
            calls.join(",")
        );
        let r = repeats(&plan);
        assert!(r[..400].iter().all(|&r| r), "every read");
        assert!(!r[400], "not the write");
    }

    #[test]
    fn a_template_repeats_whatever_its_prefix_could_become() {
        let r = repeats(
            r#"{"calls":{"a":{"url":"http://s/users/7"},
                "b":{"url":"http://s/users/{input.id}"},
                "c":{"url":"http://s/orders/1"},
                "d":{"url":"http://s/{input.kind}/1"},
                "e":{"url":"http://t/{input.x}"},
                "f":{"url":"http://u/{input.x}"}}}"#,
        );
        // b could be a; d could be a, b or c; e and f begin apart from every other read.
        assert_eq!(r, [true, true, true, true, false, false]);
    }

    #[test]
    fn writes_never_repeat() {
        let r = repeats(
            r#"{"calls":{"a":{"url":"http://s/a","method":"POST"},
                "b":{"url":"http://s/a","method":"POST"}}}"#,
        );
        assert_eq!(r, [false, false]);
    }
}
