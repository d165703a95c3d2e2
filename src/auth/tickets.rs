//! Single-use, short-lived tickets that authenticate a WebSocket upgrade (browsers cannot set an
//! `Authorization` header on `new WebSocket`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{random_secret, TokenInfo};

pub const TICKET_TTL: Duration = Duration::from_secs(30);
const MAX_OUTSTANDING: usize = 1024;

#[derive(Debug, Clone)]
pub struct Ticket {
    pub secret: String,
    pub expires_in: Duration,
}

#[derive(Clone, Default)]
pub struct Tickets {
    outstanding: Arc<Mutex<HashMap<String, (TokenInfo, Instant)>>>,
}

impl Tickets {
    pub fn new() -> Tickets {
        Tickets::default()
    }

    pub fn issue(&self, token: &TokenInfo) -> Ticket {
        let now = Instant::now();
        let mut outstanding = self.outstanding.lock().unwrap_or_else(|p| p.into_inner());
        outstanding.retain(|_, (_, issued)| now.duration_since(*issued) < TICKET_TTL);
        if outstanding.len() >= MAX_OUTSTANDING {
            // Drop the oldest so a buggy client cannot grow this without bound.
            if let Some(oldest) = outstanding.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k.clone()) {
                outstanding.remove(&oldest);
            }
        }
        let secret = random_secret(24);
        outstanding.insert(secret.clone(), (token.clone(), now));
        Ticket { secret, expires_in: TICKET_TTL }
    }

    /// Consumes a ticket. It must be unexpired and presented by the token's own origin.
    pub fn redeem(&self, secret: &str, origin: &str) -> Option<TokenInfo> {
        let now = Instant::now();
        let mut outstanding = self.outstanding.lock().unwrap_or_else(|p| p.into_inner());
        let (token, issued) = outstanding.remove(secret)?;
        (now.duration_since(issued) < TICKET_TTL && token.origin == origin).then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scopes;

    fn token() -> TokenInfo {
        TokenInfo {
            id: "t".into(),
            origin: "https://a.example".into(),
            scopes: Scopes::default(),
            label: String::new(),
            created_ms: 0,
            revoked_ms: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn single_use_origin_bound_and_short_lived() {
        let tickets = Tickets::new();
        let ticket = tickets.issue(&token());
        assert!(tickets.redeem(&ticket.secret, "https://a.example").is_some());
        assert!(tickets.redeem(&ticket.secret, "https://a.example").is_none(), "second use");
        let other = tickets.issue(&token());
        assert!(tickets.redeem(&other.secret, "https://b.example").is_none(), "wrong origin");
        assert!(tickets.redeem(&other.secret, "https://a.example").is_none(), "burnt by the wrong origin");
        let late = tickets.issue(&token());
        tokio::time::advance(TICKET_TTL + Duration::from_millis(1)).await;
        assert!(tickets.redeem(&late.secret, "https://a.example").is_none(), "expired");
    }
}
