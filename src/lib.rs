//! # counter-agent
//!
//! One daemon per counter PC: it owns the scanner, printers and queue devices and offers them to
//! browser pages through a localhost HTTP + WebSocket API.
//!
//! # Layout
//!
//! * [`agent`] — start-up: station → storage, device actors, services, HTTP server.
//! * [`api`] — the only module that speaks HTTP/JSON: routes, DTOs, security middleware, OpenAPI.
//! * [`auth`] — tokens, scopes, pairing, WebSocket tickets, audit log.
//! * [`devices`] — driver registry, one actor thread per device, cheap-clone handles.
//! * [`events`] — numbered, journaled, resumable event bus.
//! * [`scan`] — scan sessions; [`scan::pipeline`] holds the pure page/PDF stages.
//! * [`print`] — the durable print queue.
//! * [`store`] — SQLite (tokens, event journal, print jobs).
//! * [`config`], [`profile`] — station file and device profiles: parse → validate → resolve.
//!
//! Drivers live in their own crates under `drivers/`, behind the traits of `drivers/api`.

pub mod agent;
pub mod api;
pub mod auth;
pub mod config;
pub mod devices;
pub mod events;
pub mod print;
pub mod profile;
pub mod scan;
pub mod store;
