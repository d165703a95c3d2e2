//! The one integration-test binary. Each module drives a real agent bound to `127.0.0.1:0`.

mod harness;
mod flows;
