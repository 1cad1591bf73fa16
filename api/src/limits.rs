//! Token-bucket rate limits per partner and per client address.
//!
//! Spec: `spec/http-api.md` ("Limits"). The per-partner limit is charged
//! only for statements whose signature already verified under one of the
//! partner's registered keys, so nobody can spend a partner's budget by
//! sending junk in its name.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Rate limits for one kind of key (partner IDs, IP addresses).
pub struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(per_second: u64, burst: u64) -> Self {
        Self { per_second: per_second as f64, burst: burst as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `n` tokens from `key`'s bucket. On refusal, returns how many
    /// whole seconds until they would be there.
    pub fn take(&self, key: &K, n: u64) -> Result<(), u64> {
        self.take_at(key, n, Instant::now())
    }

    /// Whether `key`'s bucket holds `n` tokens now, taking none: a check
    /// before work whose final charge is not known yet. On refusal, as
    /// [`RateLimiter::take`].
    pub fn has(&self, key: &K, n: u64) -> Result<(), u64> {
        self.settle(key, n, Instant::now(), false)
    }

    fn take_at(&self, key: &K, n: u64, now: Instant) -> Result<(), u64> {
        self.settle(key, n, now, true)
    }

    /// Refills `key`'s bucket to `now` and, if it holds `n` tokens, takes
    /// them when `take` is set.
    fn settle(&self, key: &K, n: u64, now: Instant, take: bool) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().expect("lock");
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            // Forget buckets that have refilled completely: they carry no state.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(key.clone()).or_insert(Bucket { tokens: self.burst, last: now });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * self.per_second).min(self.burst);
        b.last = now;
        let need = n as f64;
        if b.tokens >= need {
            if take {
                b.tokens -= need;
            }
            Ok(())
        } else {
            Err(((need - b.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let l = RateLimiter::new(10, 20);
        let t0 = Instant::now();
        assert!(l.take_at(&"p", 20, t0).is_ok());
        assert_eq!(l.take_at(&"p", 1, t0), Err(1));
        assert!(l.take_at(&"p", 10, t0 + Duration::from_secs(1)).is_ok());
        assert!(l.take_at(&"q", 5, t0).is_ok(), "buckets are per key");
        assert_eq!(l.take_at(&"p", 30, t0 + Duration::from_secs(1)), Err(3));
        // A check takes nothing: the same answer twice.
        assert!(l.settle(&"q", 15, t0, false).is_ok());
        assert!(l.settle(&"q", 15, t0, false).is_ok());
        assert!(l.take_at(&"q", 15, t0).is_ok());
        assert_eq!(l.settle(&"q", 1, t0, false), Err(1));
    }
}
