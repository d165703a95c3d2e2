//! The scan worker as its own small binary, for this crate's tests (the daemon runs the same
//! [`run_worker`] as `counter-agent scan-worker`).

use counter_agent_driver_sane::run_worker;

fn main() {
    let code = run_worker(std::io::stdin(), std::io::stdout());
    std::process::exit(code);
}
