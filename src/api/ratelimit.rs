//! Token-bucket rate limits, one bucket per (origin, class). Requests from origins that are not
//! allowed are refused before they reach a bucket, so a flood from a foreign page cannot use up
//! the real web app's budget.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// GET and HEAD: cheap reads.
    Read,
    /// POST and DELETE: they start work on devices.
    Write,
}

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

pub struct RateLimiter {
    read: Rate,
    write: Rate,
    buckets: Mutex<HashMap<(String, Class), (f64, Instant)>>,
}

/// Buckets kept at most; beyond that, idle ones are forgotten.
const MAX_BUCKETS: usize = 4096;

impl RateLimiter {
    pub fn new(read: Rate, write: Rate) -> RateLimiter {
        RateLimiter { read, write, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token; false when the bucket is empty.
    pub fn allow(&self, key: &str, class: Class) -> bool {
        let rate = match class {
            Class::Read => self.read,
            Class::Write => self.write,
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(key.to_string(), class)) {
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs() < 60);
            if buckets.len() >= MAX_BUCKETS {
                // Many distinct keys at once (only the denial limiter sees arbitrary origins): start
                // over rather than grow or scan the map on every request.
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry((key.to_string(), class)).or_insert((rate.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate.per_second).min(rate.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn buckets_are_per_key_and_refill() {
        let limiter = RateLimiter::new(Rate { per_second: 10.0, burst: 3.0 }, Rate { per_second: 1.0, burst: 2.0 });
        assert!((0..2).all(|_| limiter.allow("a", Class::Write)));
        assert!(!limiter.allow("a", Class::Write));
        // Another key and another class are untouched.
        assert!(limiter.allow("b", Class::Write));
        assert!(limiter.allow("a", Class::Read));
        tokio::time::advance(Duration::from_millis(1100)).await;
        assert!(limiter.allow("a", Class::Write));
        assert!(!limiter.allow("a", Class::Write));
    }

    #[tokio::test(start_paused = true)]
    async fn the_map_stays_bounded_under_many_distinct_keys() {
        let limiter = RateLimiter::new(Rate { per_second: 1.0, burst: 1.0 }, Rate { per_second: 1.0, burst: 1.0 });
        for i in 0..(MAX_BUCKETS * 3) {
            assert!(limiter.allow(&format!("https://flood-{i}.example"), Class::Read));
        }
        assert!(limiter.buckets.lock().expect("lock").len() <= MAX_BUCKETS);
    }
}
