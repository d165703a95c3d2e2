//! The one integration-test binary. Each module drives a real agent bound to `127.0.0.1:0`.

mod bad_input;
mod browser;
mod cli;
mod crash;
mod events;
mod faults;
mod flows;
mod folder;
mod harness;
mod ipp;
mod limits;
mod pairing;
mod regressions;
mod sane;
mod scans;
mod security;
mod startup;
mod thermal;
mod tokens;
