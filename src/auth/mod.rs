//! Authentication and authorisation: client tokens bound to one origin and a set of scopes,
//! pairing with a one-time code, single-use WebSocket tickets, and the audit log.
//!
//! Knows nothing of HTTP: the API layer extracts the origin and bearer secret and asks here.
//! Secrets are never stored or logged; only SHA-256 hashes are kept.

mod audit;
mod pairing;
mod scope;
mod tickets;
mod tokens;

pub use audit::{Audit, AuditRecord, Decision};
pub use pairing::{PairingError, PairingStarted, Pairings, PendingPairing, LOCKOUT, MAX_FAILURES};
pub use scope::{Scope, Scopes, UnknownScope};
pub use tickets::{Ticket, Tickets};
pub use tokens::{clean_label, AuthError, NewToken, TokenInfo, Tokens, MAX_LABEL_CHARS};

use rand::RngCore;

/// `n` random bytes as URL-safe base64 without padding.
pub(crate) fn random_secret(n: usize) -> String {
    use base64::Engine;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A short random identifier (hex).
pub fn random_id(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
