//! Pairing: a web app asks for a token, the agent shows a one-time code on its own page, the clerk
//! types the code into the web app. Five wrong codes lock the origin out for five minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::{random_id, Scopes};

pub const MAX_FAILURES: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// How long a code stays valid.
pub const CODE_TTL: Duration = Duration::from_secs(5 * 60);
/// Pending requests kept per origin; older ones are dropped.
const MAX_PENDING_PER_ORIGIN: usize = 3;
const CODE_DIGITS: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingStarted {
    pub id: String,
    pub expires_in: Duration,
    pub code_length: usize,
}

/// A request waiting for its code, as the agent's own pairing page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPairing {
    pub id: String,
    pub origin: String,
    pub label: String,
    pub scopes: Scopes,
    pub code: String,
    pub expires_in: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    #[error("too many wrong codes; try again in {} s", retry_after.as_secs())]
    LockedOut { retry_after: Duration },
    #[error("wrong or expired code ({remaining} attempts left)")]
    WrongCode { remaining: u32 },
    /// The request was already completed (a retry of a successful call); not counted as a failure.
    #[error("this pairing request was already completed")]
    AlreadyCompleted,
}

struct Pending {
    origin: String,
    label: String,
    scopes: Scopes,
    code: String,
    created: Instant,
}

#[derive(Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    pending: HashMap<String, Pending>,
    failures: HashMap<String, Failures>,
    /// Requests completed recently, by id: their origin and when. A client that retries a
    /// successful `complete` (timeout, double click) is told so instead of being counted wrong.
    completed: HashMap<String, (String, Instant)>,
}

/// Cheap-clone pairing service.
#[derive(Clone, Default)]
pub struct Pairings {
    state: Arc<Mutex<State>>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl State {
    fn check_lockout(&mut self, origin: &str, now: Instant) -> Result<(), PairingError> {
        if let Some(failures) = self.failures.get_mut(origin) {
            if let Some(until) = failures.locked_until {
                if now < until {
                    return Err(PairingError::LockedOut { retry_after: until - now });
                }
                *failures = Failures::default();
            }
        }
        Ok(())
    }

    fn expire(&mut self, now: Instant) {
        self.pending.retain(|_, p| now.duration_since(p.created) < CODE_TTL);
        self.completed.retain(|_, (_, at)| now.duration_since(*at) < CODE_TTL);
    }
}

impl Pairings {
    pub fn new() -> Pairings {
        Pairings::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn start(&self, origin: &str, label: &str, scopes: Scopes) -> Result<PairingStarted, PairingError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.check_lockout(origin, now)?;
        state.expire(now);
        let mut mine: Vec<(String, Instant)> =
            state.pending.iter().filter(|(_, p)| p.origin == origin).map(|(id, p)| (id.clone(), p.created)).collect();
        mine.sort_by_key(|(_, created)| *created);
        while mine.len() >= MAX_PENDING_PER_ORIGIN {
            let (oldest, _) = mine.remove(0);
            state.pending.remove(&oldest);
        }
        let code: String = (0..CODE_DIGITS).map(|_| char::from(b'0' + rand::rng().random_range(0..10u8))).collect();
        let id = random_id(8);
        state.pending.insert(
            id.clone(),
            Pending { origin: origin.to_string(), label: label.to_string(), scopes, code, created: now },
        );
        Ok(PairingStarted { id, expires_in: CODE_TTL, code_length: CODE_DIGITS })
    }

    /// Checks the code. On success the request is consumed and its label and scopes returned.
    pub fn complete(&self, origin: &str, id: &str, code: &str) -> Result<(String, Scopes), PairingError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.check_lockout(origin, now)?;
        state.expire(now);
        let matches = state
            .pending
            .get(id)
            .is_some_and(|p| p.origin == origin && constant_time_eq(p.code.as_bytes(), code.trim().as_bytes()));
        if matches {
            let pending = state.pending.remove(id).expect("checked present just above under the same lock");
            state.failures.remove(origin);
            state.completed.insert(id.to_string(), (origin.to_string(), now));
            return Ok((pending.label, pending.scopes));
        }
        if state.completed.get(id).is_some_and(|(done_by, _)| done_by == origin) {
            return Err(PairingError::AlreadyCompleted);
        }
        let failures = state.failures.entry(origin.to_string()).or_default();
        failures.count += 1;
        if failures.count >= MAX_FAILURES {
            failures.locked_until = Some(now + LOCKOUT);
            state.pending.retain(|_, p| p.origin != origin);
            return Err(PairingError::LockedOut { retry_after: LOCKOUT });
        }
        Err(PairingError::WrongCode { remaining: MAX_FAILURES - failures.count })
    }

    /// Requests waiting for a code, newest first (for the agent's own pairing page).
    pub fn pending(&self) -> Vec<PendingPairing> {
        let now = Instant::now();
        let mut state = self.lock();
        state.expire(now);
        let mut list: Vec<(Instant, PendingPairing)> = state
            .pending
            .iter()
            .map(|(id, p)| {
                (
                    p.created,
                    PendingPairing {
                        id: id.clone(),
                        origin: p.origin.clone(),
                        label: p.label.clone(),
                        scopes: p.scopes.clone(),
                        code: p.code.clone(),
                        expires_in: CODE_TTL.saturating_sub(now.duration_since(p.created)),
                    },
                )
            })
            .collect();
        list.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        list.into_iter().map(|(_, p)| p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;

    const APP: &str = "https://motcua.example.gov.vn";

    fn code_of(pairings: &Pairings, id: &str) -> String {
        pairings.pending().into_iter().find(|p| p.id == id).expect("pending").code
    }

    #[tokio::test(start_paused = true)]
    async fn right_code_pairs_once() {
        let pairings = Pairings::new();
        let started = pairings.start(APP, "Quầy 3", Scopes::new(vec![Scope::Scan])).expect("start");
        let code = code_of(&pairings, &started.id);
        assert_eq!(code.len(), 6);
        // Another origin cannot use the code.
        assert!(pairings.complete("https://other.example", &started.id, &code).is_err());
        let (label, scopes) = pairings.complete(APP, &started.id, &code).expect("complete");
        assert_eq!((label.as_str(), scopes.to_storage().as_str()), ("Quầy 3", "scan"));
        // Retries of the successful call (double click, timeout) never count as wrong codes.
        for _ in 0..MAX_FAILURES + 2 {
            assert_eq!(pairings.complete(APP, &started.id, &code), Err(PairingError::AlreadyCompleted));
        }
        assert!(pairings.start(APP, "again", Scopes::default()).is_ok(), "not locked out");
    }

    #[tokio::test(start_paused = true)]
    async fn five_wrong_codes_lock_out_for_five_minutes() {
        let pairings = Pairings::new();
        let started = pairings.start(APP, "x", Scopes::default()).expect("start");
        let right = code_of(&pairings, &started.id);
        let wrong = if right == "000000" { "111111" } else { "000000" };
        for remaining in (1..MAX_FAILURES).rev() {
            assert_eq!(pairings.complete(APP, &started.id, wrong), Err(PairingError::WrongCode { remaining }));
        }
        assert!(matches!(pairings.complete(APP, &started.id, wrong), Err(PairingError::LockedOut { .. })));
        // Locked: even the right code and new requests are refused, and the pending request is gone.
        assert!(matches!(pairings.complete(APP, &started.id, &right), Err(PairingError::LockedOut { .. })));
        assert!(matches!(pairings.start(APP, "x", Scopes::default()), Err(PairingError::LockedOut { .. })));
        assert!(pairings.pending().is_empty());
        // Another origin is not affected.
        assert!(pairings.start("https://b.example", "x", Scopes::default()).is_ok());
        tokio::time::advance(LOCKOUT + Duration::from_secs(1)).await;
        let again = pairings.start(APP, "x", Scopes::default()).expect("after lockout");
        let code = code_of(&pairings, &again.id);
        assert!(pairings.complete(APP, &again.id, &code).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn codes_expire() {
        let pairings = Pairings::new();
        let started = pairings.start(APP, "x", Scopes::default()).expect("start");
        let code = code_of(&pairings, &started.id);
        tokio::time::advance(CODE_TTL + Duration::from_secs(1)).await;
        assert!(pairings.pending().is_empty());
        assert!(matches!(pairings.complete(APP, &started.id, &code), Err(PairingError::WrongCode { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn pending_requests_per_origin_are_bounded() {
        let pairings = Pairings::new();
        for _ in 0..10 {
            pairings.start(APP, "x", Scopes::default()).expect("start");
        }
        assert_eq!(pairings.pending().len(), MAX_PENDING_PER_ORIGIN);
    }
}
