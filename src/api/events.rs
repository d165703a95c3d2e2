//! `POST /v1/events/ticket` and the `GET /v1/events` WebSocket.
//!
//! Browsers cannot put a bearer token on a WebSocket upgrade, so the page first trades its token for
//! a single-use ticket (30 s) and passes it as `?ticket=`. The upgrade's Origin was already checked
//! by the security middleware, and the ticket must belong to that same origin.
//!
//! The stream starts with `{"type":"hello","seq":N}`; with `?since=S` every journaled event after S
//! is replayed first (or `{"type":"gap"}` when S is older than the journal). The stream logic is
//! written over `Sink` + `Stream` so it is testable without sockets.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::dto::{iso_time, EventDto, TicketResponse};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{Authed, Origin};
use super::AppState;
use counter_agent_driver_api::StatusReason;

use crate::events::{Event, EventBus};

/// Largest message a client may send on the WebSocket (it only needs pings and close).
pub const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
const REPLAY_CHUNK: usize = 500;
const PING_EVERY: Duration = Duration::from_secs(25);

/// Trades the bearer token for a single-use WebSocket ticket.
#[utoipa::path(post, path = "/v1/events/ticket", security(("bearer" = [])),
    responses((status = 200, body = TicketResponse), (status = 401, body = ErrorBody)))]
pub async fn ticket(State(app): State<AppState>, auth: Authed) -> Json<TicketResponse> {
    let ticket = app.inner.tickets.issue(&auth.token);
    Json(TicketResponse { ticket: ticket.secret, expires_in_s: ticket.expires_in.as_secs() })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    ticket: Option<String>,
    since: Option<i64>,
}

/// The event stream (WebSocket upgrade).
#[utoipa::path(get, path = "/v1/events",
    params(("ticket" = String, Query, description = "from POST /v1/events/ticket"),
           ("since" = Option<i64>, Query, description = "last seq seen; replays what came after")),
    responses((status = 101, description = "WebSocket of EventDto messages"), (status = 401, body = ErrorBody)))]
pub async fn stream(
    State(app): State<AppState>,
    Origin(origin): Origin,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(ErrorCode::InvalidRequest, e.body_text()))?;
    let upgrade = upgrade.map_err(|_| {
        ApiError::bad_request(ErrorCode::InvalidRequest, "this route is a WebSocket")
            .hint("open it with new WebSocket(url)")
    })?;
    let ticket = query.ticket.unwrap_or_default();
    let token = app.inner.tickets.redeem(&ticket, &origin).ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::TicketInvalid, "missing, used, expired or foreign ticket")
            .hint("get a fresh ticket from POST /v1/events/ticket just before connecting")
    })?;
    // A revoked token's unexpired ticket must not open a stream.
    if !app.inner.tokens.is_live(&token.id) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, "token revoked"));
    }
    let bus = app.inner.events.clone();
    let since = query.since;
    let tokens = app.inner.tokens.clone();
    let allowed = move || tokens.is_live(&token.id);
    Ok(upgrade.max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE).on_upgrade(
        move |socket: WebSocket| async move {
            let (sink, stream) = socket.split();
            let sink = sink.with(|text: String| async move { Ok::<_, axum::Error>(Message::Text(text.into())) });
            let incoming = stream.map(|message| match message {
                Ok(Message::Close(_)) | Err(_) => Incoming::Closed,
                Ok(_) => Incoming::Other,
            });
            run_stream(bus, origin, since, allowed, Box::pin(sink), Box::pin(incoming)).await;
        },
    ))
}

/// What the client sent, as far as the stream cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Closed,
    Other,
}

pub fn visible_to(event: &Event, origin: &str) -> bool {
    event.origin.as_deref().is_none_or(|o| o == origin)
}

pub fn event_json(event: &Event) -> String {
    let mut data = serde_json::to_value(&event.body).unwrap_or_default();
    if let Some(object) = data.as_object_mut() {
        object.remove("type");
        // Device status events carry the Vietnamese text too, so a page needs no second request.
        if let crate::events::EventBody::DeviceStatus { reason, .. } = &event.body {
            let message = reason.as_deref().and_then(StatusReason::from_code).map(|r| r.message_vi());
            object.insert("message".into(), serde_json::json!(message));
        }
    }
    let dto = EventDto { seq: event.seq, at: iso_time(event.at_ms), kind: event.body.kind(), data };
    serde_json::to_string(&dto).unwrap_or_default()
}

/// Sends replayed then live events until the client goes away or `allowed` turns false (its token
/// was revoked), which closes the stream before the next event or ping.
pub async fn run_stream<Tx, Rx>(
    bus: EventBus,
    origin: String,
    since: Option<i64>,
    allowed: impl Fn() -> bool,
    mut tx: Tx,
    mut rx: Rx,
) where
    Tx: Sink<String> + Unpin,
    Rx: Stream<Item = Incoming> + Unpin,
{
    let mut live = bus.subscribe();
    let Ok((first, last)) = bus.journal_bounds() else { return };
    let hello = serde_json::json!({ "type": "hello", "seq": last, "oldest": first });
    if tx.send(hello.to_string()).await.is_err() {
        return;
    }
    let mut sent = last;
    if let Some(since) = since {
        // Older than the journal, or newer than anything it holds (the database was reset since the
        // client last saw an event): either way the client must refetch its state.
        if (first > 0 && since < first - 1) || since > last {
            let gap = serde_json::json!({ "type": "gap", "since": since, "oldest": first });
            if tx.send(gap.to_string()).await.is_err() {
                return;
            }
        }
        sent = since.min(last);
        if !replay(&bus, &origin, &allowed, &mut sent, &mut tx).await {
            return;
        }
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    if event.seq <= sent {
                        continue;
                    }
                    if !allowed() {
                        return;
                    }
                    sent = event.seq;
                    if visible_to(&event, &origin) && tx.send(event_json(&event)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if !replay(&bus, &origin, &allowed, &mut sent, &mut tx).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = rx.next() => match incoming {
                None | Some(Incoming::Closed) => return,
                Some(Incoming::Other) => {}
            },
            _ = ping.tick() => {
                if !allowed() {
                    return;
                }
                if tx.send(serde_json::json!({ "type": "ping" }).to_string()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Sends journaled events after `*sent`; false when the client is gone.
async fn replay<Tx: Sink<String> + Unpin>(
    bus: &EventBus,
    origin: &str,
    allowed: &impl Fn() -> bool,
    sent: &mut i64,
    tx: &mut Tx,
) -> bool {
    loop {
        if !allowed() {
            return false;
        }
        let Ok(events) = bus.replay(*sent, REPLAY_CHUNK) else { return false };
        let done = events.len() < REPLAY_CHUNK;
        for event in events {
            *sent = event.seq;
            if visible_to(&event, origin) && tx.send(event_json(&event)).await.is_err() {
                return false;
            }
        }
        if done {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventBody;
    use crate::store::Store;
    use futures_channel::mpsc;

    fn status(device: &str) -> EventBody {
        EventBody::DeviceStatus { device: device.into(), state: "ready".into(), reason: None }
    }

    #[tokio::test]
    async fn replays_after_since_then_streams_live_and_filters_other_origins() {
        let bus = EventBus::new(Store::open_in_memory().expect("store"));
        bus.publish(None, status("a"));
        bus.publish(Some("https://other.example"), status("secret"));
        bus.publish(None, status("b"));
        let (tx, mut out) = mpsc::unbounded::<String>();
        let (client, incoming) = mpsc::unbounded::<Incoming>();
        let task = tokio::spawn(run_stream(bus.clone(), "https://app.example".into(), Some(1), || true, tx, incoming));
        let hello: serde_json::Value = serde_json::from_str(&out.next().await.expect("hello")).expect("json");
        assert_eq!(hello["type"], "hello");
        assert_eq!(hello["seq"], 3);
        let replayed: serde_json::Value = serde_json::from_str(&out.next().await.expect("replayed")).expect("json");
        assert_eq!((replayed["seq"].as_i64(), replayed["data"]["device"].as_str()), (Some(3), Some("b")));
        bus.publish(None, status("c"));
        let live: serde_json::Value = serde_json::from_str(&out.next().await.expect("live")).expect("json");
        assert_eq!((live["seq"].as_i64(), live["type"].as_str()), (Some(4), Some("device.status")));
        client.unbounded_send(Incoming::Closed).expect("send close");
        task.await.expect("stream ends on close");
        // Nothing from the other origin was ever sent.
        while let Ok(message) = out.try_recv() {
            assert!(!message.contains("secret"), "{message}");
        }
    }
}
