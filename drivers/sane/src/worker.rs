//! Running libsane work on its own thread, one call at a time, with a deadline.
//!
//! This module owns the process-wide SANE gate ([`Permit`]), the cache of the opened library and
//! the timeout. It must not call libsane itself (that is `ffi`'s job).
//!
//! # Why a gate and not a plain `Mutex<()>`
//!
//! libsane may only be entered by one thread between `sane_init` and `sane_exit`. The gate is that
//! mutual exclusion, but unlike a held `MutexGuard` a [`Permit`] can move into the worker thread,
//! and a caller can stop waiting for it at its deadline. A caller that times out while the gate is
//! taken starts no thread at all, so a hung backend costs at most one stuck thread per process.
//!
//! # Why leaking a hung thread is acceptable here
//!
//! A backend can hang inside `sane_init` or `sane_get_devices` (network probes, a wedged USB
//! device). Rust cannot kill a thread, so on timeout the worker is detached and left behind: it
//! keeps the permit, later discovery calls wait for it and then report `Timeout` instead of entering
//! libsane a second time. Discovery is a one-shot, technician-driven operation (`counter-agent
//! devices`, the admin page), so that degraded state is visible and ends with the process. Real
//! scanning does not use this path: it runs libsane in a `scan-worker` child process that can be
//! killed.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{SaneError, Stage};
use crate::ffi::SaneLibrary;

/// `true` while some thread holds the [`Permit`]. The mutex guards only this flag and is never
/// held across a libsane call, so a poisoned lock still holds a meaningful value.
static GATE_TAKEN: Mutex<bool> = Mutex::new(false);
static GATE_FREED: Condvar = Condvar::new();

/// The library opened by the last successful load; libsane is never unloaded once opened (it
/// loads backends that frontends never unload either). Only touched while holding the permit.
static LIBRARY: Mutex<Option<Arc<SaneLibrary>>> = Mutex::new(None);

/// Proof that the holder is the only thread of this process allowed into libsane.
/// Dropping it opens the gate for the next caller.
pub(crate) struct Permit {
    _private: (),
}

impl Permit {
    /// Waits as long as it takes (the scan worker process: one thread, nobody else to wait for).
    pub(crate) fn acquire_blocking() -> Permit {
        loop {
            // Without a deadline `acquire` only returns with the permit; the loop keeps that
            // promise visible without a panic path.
            if let Some(permit) = Permit::acquire(None) {
                return permit;
            }
        }
    }

    /// Waits until the gate is free or `deadline` passes (`None`: no deadline).
    fn acquire(deadline: Option<Instant>) -> Option<Permit> {
        let mut taken = GATE_TAKEN.lock().unwrap_or_else(PoisonError::into_inner);
        while *taken {
            taken = match deadline {
                None => GATE_FREED.wait(taken).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    let waited = GATE_FREED.wait_timeout(taken, left);
                    waited.map_or_else(|poisoned| poisoned.into_inner().0, |(guard, _)| guard)
                }
            };
        }
        *taken = true;
        Some(Permit { _private: () })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        *GATE_TAKEN.lock().unwrap_or_else(PoisonError::into_inner) = false;
        GATE_FREED.notify_one();
    }
}

/// Where the worker is, readable by the caller that gave up waiting.
pub(crate) struct StageCell(AtomicU8);

impl StageCell {
    fn new() -> StageCell {
        StageCell(AtomicU8::new(Stage::Loading.as_u8()))
    }

    pub(crate) fn set(&self, stage: Stage) {
        self.0.store(stage.as_u8(), Ordering::Release);
    }

    fn get(&self) -> Stage {
        Stage::from_u8(self.0.load(Ordering::Acquire))
    }
}

/// The opened library called `name`, opening it on first use. Failures are not cached, so
/// installing SANE while the agent runs is picked up by the next call.
pub(crate) fn library(_permit: &Permit, name: &str) -> Result<Arc<SaneLibrary>, SaneError> {
    let mut slot = LIBRARY.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(library) = slot.as_ref().filter(|library| library.name() == name) {
        return Ok(Arc::clone(library));
    }
    let library = Arc::new(SaneLibrary::load(name)?);
    *slot = Some(Arc::clone(&library));
    Ok(library)
}

/// Runs `work` on a new thread while holding the permit and waits at most `timeout` in total
/// (waiting for the gate included). On timeout the thread is left behind; see the module docs.
pub(crate) fn run_with_timeout<T, F>(timeout: Duration, work: F) -> Result<T, SaneError>
where
    T: Send + 'static,
    F: FnOnce(&Permit, &StageCell) -> Result<T, SaneError> + Send + 'static,
{
    let deadline = Instant::now().checked_add(timeout);
    let timed_out = |stage| SaneError::Timeout { timeout, stage };
    let permit = Permit::acquire(deadline).ok_or_else(|| timed_out(Stage::WaitingForOtherCall))?;
    let stage = Arc::new(StageCell::new());
    let worker_stage = Arc::clone(&stage);
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("sane".to_owned())
        .spawn(move || {
            let result = work(&permit, &worker_stage);
            worker_stage.set(Stage::Done);
            drop(permit);
            // The caller may have given up and dropped the receiver; nobody is left to tell.
            let _ = sender.send(result);
        })
        .map_err(SaneError::Thread)?;
    let received = match deadline {
        None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        Some(deadline) => receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())),
    };
    match received {
        Ok(result) => result,
        // The answer may have arrived just as the deadline passed.
        Err(RecvTimeoutError::Timeout) => match receiver.try_recv() {
            Ok(result) => result,
            Err(_) => Err(timed_out(stage.get())),
        },
        Err(RecvTimeoutError::Disconnected) => Err(SaneError::WorkerLost),
    }
}
