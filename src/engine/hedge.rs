//! Hedged reads: when a GET or HEAD has not answered after `afterMs`, one identical second
//! request goes, and the first good reply wins (the other is aborted). One slow replica or
//! one slow connection then costs `afterMs` plus a normal reply, not its whole tail. As in
//! Dean and Barroso's "The Tail at Scale".
//!
//! Hedges cost load, so a composer keeps a budget: at most `maxExtraPercent` of its reads
//! over the last [`WINDOW_MS`] are hedges. A read that finds the budget spent waits for
//! its first request alone.
//!
//! The second request is sent past the HTTP cache (`cache: "no-store"`): Chromium holds a
//! second identical GET behind the first in its cache lock until the first ends, which
//! would make the hedge as slow as what it hedges.

/// How far back the budget looks.
pub const WINDOW_MS: f64 = 10_000.0;

/// The window's slices: the budget forgets a slice at a time.
const SLICES: usize = 10;

/// The reads and hedges of the last [`WINDOW_MS`], counted per slice of it: constant
/// memory however many reads a backend-for-frontend makes.
#[derive(Debug, Default)]
pub(crate) struct HedgeBudget {
    /// Per slice: which slice of time it counts (its start / slice length), reads, hedges.
    slices: [(i64, u32, u32); SLICES],
}

impl HedgeBudget {
    /// A read goes at `now`.
    pub fn read(&mut self, now: f64) {
        self.slice(now).1 += 1;
    }

    /// Whether a hedge may go at `now` within `max_extra_percent` of the reads; if so, it
    /// is counted.
    pub fn allow(&mut self, now: f64, max_extra_percent: f64) -> bool {
        let oldest = slice_of(now) - SLICES as i64 + 1;
        let (mut reads, mut hedges) = (0u32, 0u32);
        for &(at, r, h) in &self.slices {
            if at >= oldest {
                reads += r;
                hedges += h;
            }
        }
        let allowed = f64::from(hedges + 1) * 100.0 <= max_extra_percent * f64::from(reads);
        if allowed {
            self.slice(now).2 += 1;
        }
        allowed
    }

    /// The counts of the slice `now` falls in, emptied if they were an older slice's.
    fn slice(&mut self, now: f64) -> &mut (i64, u32, u32) {
        let at = slice_of(now);
        let slot = &mut self.slices[at.rem_euclid(SLICES as i64) as usize];
        if slot.0 != at {
            *slot = (at, 0, 0);
        }
        slot
    }
}

/// Which slice of time `now` falls in.
fn slice_of(now: f64) -> i64 {
    (now / (WINDOW_MS / SLICES as f64)).floor() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hedges_stay_within_their_share_of_reads() {
        let mut b = HedgeBudget::default();
        // Too few reads for a tenth of them to be one hedge.
        for t in 0..9 {
            b.read(t as f64);
        }
        assert!(!b.allow(10.0, 10.0));
        b.read(11.0);
        assert!(b.allow(12.0, 10.0));
        assert!(!b.allow(13.0, 10.0));
        for t in 0..10 {
            b.read(20.0 + t as f64);
        }
        assert!(b.allow(40.0, 10.0));
        assert!(!b.allow(41.0, 10.0));
        // 0% never hedges; 100% hedges every read.
        assert!(!b.allow(42.0, 0.0));
        assert!(b.allow(43.0, 100.0));
    }

    #[test]
    fn the_window_forgets_old_reads_and_hedges() {
        let mut b = HedgeBudget::default();
        for t in 0..10 {
            b.read(t as f64);
        }
        assert!(b.allow(100.0, 10.0));
        assert!(!b.allow(200.0, 10.0));
        // A window later, both the reads and the hedge are gone.
        assert!(!b.allow(WINDOW_MS + 1000.0, 10.0));
        for t in 0..10 {
            b.read(WINDOW_MS + 1000.0 + t as f64);
        }
        assert!(b.allow(WINDOW_MS + 1100.0, 10.0));
    }
}
