//! The reply cache a composer keeps across its compositions, for calls whose plan says
//! `cache: {maxAgeMs, staleWhileRevalidateMs?}` (GET, HEAD, and POSTs marked `safe`;
//! `plan/reuse.rs`).
//!
//! - **Key**: the filled-in method, URL, headers (names in any case and order) and body.
//!   Trace context is left out, as dedupe leaves it out: it names the call that carries
//!   it, not what it asks for.
//! - **Fresh** (younger than `maxAgeMs`): used without a request. **Stale** (within
//!   `staleWhileRevalidateMs` after that): used, and refreshed in the background by the
//!   first composition that finds it so. Older: as if absent.
//! - **In flight**: a request being made for a key is shared by every composition of the
//!   composer that asks meanwhile, which then waits for it. If it fails (errors are never
//!   stored) or is dropped, each waiter sends its own.
//! - **Bounds**: at most `cacheEntries` entries and `cacheBytes` bytes of reply bodies, the
//!   least recently used evicted first.
//! - **Invalidation** drops entries, and makes what is in flight when it happens not
//!   stored: a reply asked for before a write may predate it.

use crate::engine::dedupe::{hash_one, ignored};
use crate::engine::transport::{Reply, Request, Sent};
use crate::plan::value::Value;
use crate::plan::Method;
use futures::channel::oneshot;
use rustc_hash::FxHashMap as HashMap;

/// The entries a composer keeps unless told otherwise (`cacheEntries`).
pub const DEFAULT_CACHE_ENTRIES: usize = 500;
/// The bytes of reply bodies a composer keeps unless told otherwise (`cacheBytes`).
pub const DEFAULT_CACHE_BYTES: u64 = 5 * 1024 * 1024;

/// What a waiter for a request in flight gets: the reply, handed over the moment it
/// arrives (so of age 0). A request that failed or was dropped drops the sender instead.
///
/// The channel's type is the one dedupe and the fetch transport use already: a channel of
/// a type of its own is one more copy of the channel's code in the .wasm.
pub(crate) type Filled<V> = Sent<V>;

/// A stored reply.
#[derive(Debug)]
struct Stored<V> {
    reply: Reply<V>,
    at: f64,
    bytes: u64,
}

/// One key's entry: what is stored, and who waits for a request in flight.
#[derive(Debug)]
struct Entry<V> {
    key: String,
    /// `key`'s hash, by which `Cache::index` finds it.
    hash: u64,
    call: String,
    method: Method,
    url: String,
    stored: Option<Stored<V>>,
    /// `Some` while a request for the key is in flight (or the background refresh of a
    /// stale entry), with who waits for it.
    waiting: Option<Vec<oneshot::Sender<Filled<V>>>>,
    /// When it was last used, as a count of uses of the whole cache.
    used: u64,
}

/// What a lookup found.
pub(crate) enum Found<V> {
    /// A reply to use as it is, and its age.
    Fresh(Reply<V>, f64),
    /// A stale reply to use, its age, and whether the caller is to refresh it.
    Stale(Reply<V>, f64, bool),
    /// A request for the key is in flight: wait for it.
    Wait(oneshot::Receiver<Filled<V>>),
    /// Nothing usable: the caller sends the request, and fills or abandons the key.
    Lead,
}

/// The entries, found by their key's hash.
///
/// Not a map of keys to entries: a map of that type is one more copy of the hash table's
/// code in the .wasm, where a map of `u64` to `usize` is the type dedupe and the fetch
/// transport keep already. The entries are held in a `Vec` beside it, and a lookup
/// compares the whole key. Two keys with the same hash (a 64-bit hash: in practice never)
/// do not share a place: the second is not cached.
#[derive(Debug)]
pub(crate) struct Cache<V> {
    /// Each entry's place in `entries`, by its key's hash.
    index: HashMap<u64, usize>,
    entries: Vec<Entry<V>>,
    max_entries: usize,
    max_bytes: u64,
    bytes: u64,
    uses: u64,
    /// Bumped by every invalidation: a request led before it is not stored.
    pub epoch: u64,
}

/// The cache key of `request`: method, URL, headers sorted by lower-cased name (trace
/// context left out) and body, each on its own line. `None` when the body has no text
/// that tells it apart.
pub(crate) fn key_of<V: Value>(request: &Request<V>) -> Option<String> {
    // Sorted as they come, by insertion: a request has a few headers, and a general sort
    // is kilobytes of .wasm.
    let mut headers: Vec<(String, &str)> = Vec::with_capacity(request.headers.len());
    for (name, value) in &request.headers {
        if !ignored(name) {
            let name = name.to_ascii_lowercase();
            let at = headers.partition_point(|(n, _)| *n <= name);
            headers.insert(at, (name, value));
        }
    }
    let mut key = [request.method.as_str(), " ", &request.url, "\n"].concat();
    for (name, value) in headers {
        key.extend([&name, ": ", value, "\n"]);
    }
    if let Some(body) = &request.body {
        key.push('\n');
        key.push_str(&body.key_text()?);
    }
    Some(key)
}

impl<V: Clone> Cache<V> {
    /// An empty cache within these bounds.
    pub fn new(max_entries: usize, max_bytes: u64) -> Self {
        Cache {
            index: HashMap::default(),
            entries: Vec::new(),
            max_entries,
            max_bytes,
            bytes: 0,
            uses: 0,
            epoch: 0,
        }
    }

    /// Looks `key` up at `now` for a call that may use a reply `max_age` ms old, or
    /// `stale` ms more while it is refreshed. A `Lead` (and a stale entry the caller is to
    /// refresh) marks the key in flight.
    pub fn find(
        &mut self,
        key: &str,
        request: &Request<V>,
        call: &str,
        now: f64,
        (max_age, stale): (f64, f64),
    ) -> Found<V> {
        self.uses += 1;
        let uses = self.uses;
        let hash = hash_one(key);
        let at = match self.index.get(&hash) {
            Some(&at) if self.entries[at].key == key => at,
            Some(_) => return Found::Lead, // another key's place: sent, not cached
            None => {
                self.index.insert(hash, self.entries.len());
                self.entries.push(Entry {
                    key: key.to_owned(),
                    hash,
                    call: call.to_owned(),
                    method: request.method,
                    url: request.url.clone(),
                    stored: None,
                    waiting: None,
                    used: uses,
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[at];
        entry.used = uses;
        if let Some(stored) = &entry.stored {
            let age = now - stored.at;
            if age <= max_age {
                return Found::Fresh(stored.reply.clone(), age);
            }
            if age <= max_age + stale {
                let refresh = entry.waiting.is_none();
                if refresh {
                    entry.waiting = Some(Vec::new());
                }
                return Found::Stale(stored.reply.clone(), age, refresh);
            }
        }
        match &mut entry.waiting {
            Some(waiting) => {
                let (tell, told) = oneshot::channel();
                waiting.push(tell);
                Found::Wait(told)
            }
            None => {
                entry.waiting = Some(Vec::new());
                Found::Lead
            }
        }
    }

    /// The request led for `key` since `epoch` succeeded with `reply` of `bytes`: stored as
    /// of `asked` (unless an invalidation came meanwhile), and handed to its waiters.
    pub fn fill(&mut self, key: &str, epoch: u64, reply: Reply<V>, bytes: u64, asked: f64) {
        let Some(at) = self.place(key) else {
            return;
        };
        let entry = &mut self.entries[at];
        for tell in entry.waiting.take().unwrap_or_default() {
            let _ = tell.send(Ok(reply.clone()));
        }
        if epoch != self.epoch || bytes > self.max_bytes {
            return;
        }
        let old = entry.stored.replace(Stored {
            reply,
            at: asked,
            bytes,
        });
        self.bytes = self.bytes - old.map_or(0, |s| s.bytes) + bytes;
        self.evict(key);
    }

    /// The request led for `key` failed or was dropped: its waiters send their own.
    pub fn abandon(&mut self, key: &str) {
        if let Some(at) = self.place(key) {
            let entry = &mut self.entries[at];
            entry.waiting = None; // each waiter hears its sender dropped
            if entry.stored.is_none() {
                self.remove(at);
            }
        }
    }

    /// Drops the least recently used entries with a stored reply (never `keep`, just
    /// stored) until both bounds hold.
    fn evict(&mut self, keep: &str) {
        loop {
            let stored = self.entries.iter().filter(|e| e.stored.is_some()).count();
            if stored <= self.max_entries && self.bytes <= self.max_bytes {
                return;
            }
            let mut oldest = None;
            for (at, e) in self.entries.iter().enumerate() {
                if e.stored.is_some()
                    && e.key != keep
                    && oldest.map_or(true, |(_, used)| e.used < used)
                {
                    oldest = Some((at, e.used));
                }
            }
            let Some((oldest, _)) = oldest else { return };
            self.remove(oldest);
        }
    }

    /// Every entry's key, with the call, method and URL it was made for.
    pub fn list(&self) -> Vec<(String, String, Method, String)> {
        let entries = self.entries.iter();
        let list = entries.map(|e| (e.key.clone(), e.call.clone(), e.method, e.url.clone()));
        list.collect()
    }

    /// Drops the entries of `keys`, and makes what is in flight not stored; returns how
    /// many replies it held.
    pub fn invalidate(&mut self, keys: &[String]) -> usize {
        self.epoch += 1;
        let mut dropped = 0;
        for key in keys {
            dropped += usize::from(self.drop_entry(key));
        }
        dropped
    }

    /// Removes `key`'s entry; whether it held a reply.
    fn drop_entry(&mut self, key: &str) -> bool {
        match self.place(key) {
            Some(at) => self.remove(at),
            None => false,
        }
    }

    /// Where `key`'s entry is in `entries`, if it has one.
    fn place(&self, key: &str) -> Option<usize> {
        let at = *self.index.get(&hash_one(key))?;
        (self.entries[at].key == key).then_some(at)
    }

    /// Removes the entry at `at` (the last one takes its place); whether it held a reply.
    fn remove(&mut self, at: usize) -> bool {
        let entry = self.entries.swap_remove(at);
        self.index.remove(&entry.hash);
        if let Some(moved) = self.entries.get(at) {
            self.index.insert(moved.hash, at);
        }
        let stored = entry.stored.map(|s| self.bytes -= s.bytes);
        stored.is_some()
    }

    /// How many replies it holds, and their bytes.
    pub fn size(&self) -> (usize, u64) {
        let stored = self.entries.iter().filter(|e| e.stored.is_some()).count();
        (stored, self.bytes)
    }
}
