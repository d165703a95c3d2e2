//! The one integration-test binary. Each module drives a real agent bound to `127.0.0.1:0`.

mod harness;
mod cli;
mod flows;
mod security;
mod browser;
mod pairing;
mod events;
mod bad_input;
mod faults;
mod startup;
mod limits;
mod tokens;
