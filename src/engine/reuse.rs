//! A call's life under a composer's memory (`memory.rs`): served from the reply cache or
//! leading its key, held back by an open circuit, its read hedged. Each step is a method
//! of the composition's [`Ctx`] that `call.rs` runs at its place, and does nothing
//! without a memory.

use crate::engine::breaker::{Admit, CircuitState, Gate};
use crate::engine::cache::{key_of, Found};
use crate::engine::call::Ctx;
use crate::engine::events::EventKind;
use crate::engine::hooks::Hooks;
use crate::engine::memory::{Lead, Memory};
use crate::engine::record::CallState;
use crate::engine::transport::{Clock, Request, Sent, Transport};
use crate::error::{Error, ErrorKind};
use crate::plan::reuse::HedgePolicy;
use crate::plan::template::origin_of;
use futures::future::{select, Either, FutureExt};

impl<'a, T, C, H> Ctx<'a, T, C, H>
where
    T: Transport,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    /// Looks call `i`'s filled-in request up in the composer's cache: `false` when a
    /// reply from it settled the call, `true` when the call is to send its request (and
    /// then, if it leads the key, store its reply).
    pub(crate) async fn recall(&self, i: usize) -> bool {
        let Some(memory) = self.memory else {
            return true;
        };
        let call = self.call_at(i);
        let at = self.state.borrow().call_of(i);
        let Some(&Some(policy)) = self.policies.get(at) else {
            return true;
        };
        let start = self.now();
        let (found, key, epoch) = {
            let state = self.state.borrow();
            let Some(request) = state.sent[i].as_ref() else {
                return true;
            };
            let Some(key) = key_of(request) else {
                return true;
            };
            let ages = (policy.max_age_ms, policy.stale_ms);
            let (found, epoch) = memory.find(&key, request, &call.name, ages);
            (found, key, epoch)
        };
        let (reply, age) = match found {
            Found::Fresh(reply, age) => (reply, age),
            Found::Stale(reply, age, refresh) => {
                if refresh {
                    self.refresh(i, memory, key, epoch);
                }
                (reply, age)
            }
            // Waited for no longer than the call's own attempt would take: another
            // composition's request may run under a longer limit, or be retried.
            Found::Wait(told) => {
                match select(told, self.clock.sleep(self.limit_of(call, start).0)).await {
                    // Handed over as it arrived: it is new.
                    Either::Left((Ok(Ok(reply)), _)) => (reply, 0.0),
                    // The request it waited for failed, was dropped or outlasted the call's own
                    // limit: it sends its own.
                    _ => return true,
                }
            }
            Found::Lead => {
                let asked = memory.now();
                let lead = Lead {
                    memory,
                    key,
                    epoch,
                    asked,
                };
                self.leads.borrow_mut().push((i, lead));
                return true;
            }
        };
        self.state.borrow_mut().served_from_cache(i, start, age);
        self.conclude(i, Ok(reply));
        false
    }

    /// Sends call `i`'s request again for a stale entry, outside the composition: the
    /// refresh never holds it open.
    fn refresh(&self, i: usize, memory: &Memory<T::Value>, key: String, epoch: u64) {
        let Some(request) = self.state.borrow().sent[i].clone() else {
            return;
        };
        let limit = self
            .call_at(i)
            .timeout_ms
            .unwrap_or(self.settings.timeout_ms);
        let sending = self.transport.send(&request);
        let timer = self.clock.sleep(limit);
        let refreshed = async move {
            match select(sending, timer).await {
                Either::Left((Ok(reply), _)) => Some(reply),
                _ => None,
            }
        };
        memory.refresh(key, epoch, refreshed.boxed_local());
    }

    /// The cache key call `i` leads, if any, taken: to fill, or dropped to abandon.
    pub(crate) fn take_lead(&self, i: usize) -> Option<Lead<'a, T::Value>> {
        let mut leads = self.leads.borrow_mut();
        let at = leads.iter().position(|(j, _)| *j == i)?;
        Some(leads.swap_remove(at).1)
    }

    /// Whether call `i`'s next attempt may go under its origin's circuit breaker; when it
    /// may not, the call has failed with `CIRCUIT_OPEN`.
    pub(crate) fn gate(&self, i: usize) -> Gate {
        let Some(memory) = self.memory.filter(|m| m.breaks()) else {
            return Gate::Free;
        };
        let (origin, retry) = self.origin_of(i);
        let (admit, change) = memory.admit(&origin, retry);
        if let Some((state, retry_at)) = change {
            self.breaker_event(i, &origin, state, retry_at);
        }
        match admit {
            Admit::Pass => Gate::Through(origin, false),
            Admit::Probe => Gate::Through(origin, true),
            Admit::Refuse { retry_at } => {
                self.circuit_open(i, origin, retry_at, memory.now());
                Gate::Refused
            }
        }
    }

    /// Call `i`'s attempt, let through by `gate`, ended with `outcome`: its origin's
    /// breaker hears of it.
    pub(crate) fn verdict(&self, i: usize, outcome: &Sent<T::Value>, gate: &Gate) {
        let (Some(memory), Gate::Through(origin, probe)) = (self.memory, gate) else {
            return;
        };
        if let Some((state, retry_at)) = memory.report(origin, outcome, *probe) {
            self.breaker_event(i, origin, state, retry_at);
        }
    }

    /// The origin call `i`'s request goes to ("" for a relative URL: the page's own), and
    /// whether its next attempt is a retry.
    fn origin_of(&self, i: usize) -> (String, bool) {
        let state = self.state.borrow();
        let url = state.sent[i].as_ref().map_or("", |r| r.url.as_str());
        let origin = origin_of(url).unwrap_or_default();
        (origin, state.records[i].attempts > 0)
    }

    fn breaker_event(&self, i: usize, origin: &str, state: CircuitState, retry_at: f64) {
        let kind = EventKind::Breaker { state, retry_at };
        let composition = self.state.borrow();
        (composition.events).breaker(self.plan, i, self.now(), origin, kind);
    }

    /// Call `i` fails at once: `origin`'s circuit is open until `retry_at` (`now` on the
    /// same clock). A write whose earlier attempt may have acted stays `unknown`.
    fn circuit_open(&self, i: usize, origin: String, retry_at: f64, now: f64) {
        let call = self.call_at(i);
        // Whole milliseconds, written as an integer: no float formatting in the .wasm.
        let wait = (retry_at - now).ceil();
        let when = if wait > 0.0 {
            format!("it is tried again in {} ms", wait as u64)
        } else {
            "a probe request is testing it now".to_owned()
        };
        let error = Error::new(
            ErrorKind::CircuitOpen,
            format!(
                "call `{}` was not sent: the circuit breaker of {origin} is open after its \
                 recent failures; {when}",
                call.name
            ),
        )
        .in_call(&call.name)
        .with_circuit(origin, retry_at);
        let t = self.now();
        let mut state = self.state.borrow_mut();
        let unknown = state.records[i].state == CallState::Unknown;
        state.fail(i, error, t);
        if unknown {
            state.records[i].state = CallState::Unknown;
        }
        state.flush(&|| self.now());
    }

    /// Sends `request` for call `i`, and once more, past every HTTP cache, if it has not
    /// answered after `policy.after_ms` and the budget allows: the first good reply wins,
    /// and dropping the other aborts it.
    pub(crate) async fn hedged(
        &self,
        i: usize,
        mut request: Request<T::Value>,
        policy: HedgePolicy,
    ) -> Sent<T::Value> {
        let first = self.transport.send(&request);
        let first = match select(first, self.clock.sleep(policy.after_ms)).await {
            Either::Left((sent, _)) => return sent,
            Either::Right((_, first)) => first,
        };
        let memory = self.memory.expect("only a composer hedges");
        if (self.cancelled)() || !memory.may_hedge(policy.max_extra_percent) {
            return first.await;
        }
        request.fresh = true;
        let second = self.transport.send(&request);
        self.state.borrow_mut().records[i].hedged.0 = true;
        // Both requests are the transport's boxed futures, of one type: whichever ends
        // first, the other is awaited at one place (one state of this future, not two).
        let (sent, other, hedge_first) = match select(first, second).await {
            Either::Left((sent, second)) => (sent, second, false),
            Either::Right((sent, first)) => (sent, first, true),
        };
        let (sent, won) = match sent {
            Ok(reply) => (Ok(reply), hedge_first),
            // One failed: the other may still answer; if it fails too, the first error
            // stands.
            Err(e) => match other.await {
                Ok(reply) => (Ok(reply), !hedge_first),
                Err(_) => (Err(e), false),
            },
        };
        self.state.borrow_mut().records[i].hedged.1 = won;
        sent
    }
}
