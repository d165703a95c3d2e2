//! Tests against the real libsane and its `test` backend, configured by the project-local
//! `tests/sane-config` folder, with `scanimage -L` as the differential oracle.
//!
//! libsane reads `SANE_CONFIG_DIR` once, at its first `sane_init`, and environment changes race
//! with C code reading it; so every test that touches the SANE gate or the environment holds
//! [`serial`], and the variable is set once, before the first load, by [`with_test_backend`].
//! A machine without libsane1 and sane-utils fails these tests with a message naming them.

use std::error::Error as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

use counter_agent_driver_api::{Connection, DeviceKind};

use crate::worker::run_with_timeout;
use crate::{discover, list_devices, list_devices_from, SaneDevice, SaneError, Stage};

/// Generous: the test backend answers in milliseconds, but CI machines can be slow.
const TIMEOUT: Duration = Duration::from_secs(30);
const PACKAGES: &str = "these tests need the Debian packages libsane1 and sane-utils";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sane-config")
}

/// Holds [`serial`] and makes sure libsane will read our configuration, not `/etc/sane.d`.
fn with_test_backend() -> MutexGuard<'static, ()> {
    static CONFIGURED: Once = Once::new();
    let guard = serial();
    // No trailing ':' — with one, libsane would also read the system folders.
    CONFIGURED.call_once(|| std::env::set_var("SANE_CONFIG_DIR", config_dir()));
    guard
}

fn test_device(name: &str) -> SaneDevice {
    SaneDevice {
        name: name.to_owned(),
        vendor: "Noname".to_owned(),
        model: "frontend-tester".to_owned(),
        kind: "virtual device".to_owned(),
    }
}

/// What `scanimage -L` lists for the same configuration, one field per tab.
fn scanimage_list() -> Vec<SaneDevice> {
    let output = Command::new("scanimage")
        .arg("--formatted-device-list=%d\t%v\t%m\t%t%n")
        .env("SANE_CONFIG_DIR", config_dir())
        .output()
        .unwrap_or_else(|error| panic!("cannot run scanimage: {error} — {PACKAGES}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scanimage failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |fields: &mut std::str::Split<'_, char>, line: &str| {
        fields.next().unwrap_or_else(|| panic!("short scanimage line {line:?}")).to_owned()
    };
    stdout
        .lines()
        .map(|line| {
            let mut fields = line.split('\t');
            SaneDevice {
                name: field(&mut fields, line),
                vendor: field(&mut fields, line),
                model: field(&mut fields, line),
                kind: field(&mut fields, line),
            }
        })
        .collect()
}

fn listed() -> Vec<SaneDevice> {
    list_devices(TIMEOUT).unwrap_or_else(|error| panic!("{error} — {PACKAGES}"))
}

#[test]
fn lists_the_test_backends_two_devices_exactly_as_scanimage_does() {
    let _serial = with_test_backend();
    let ours = listed();
    assert_eq!(ours, vec![test_device("test:0"), test_device("test:1")]);
    assert_eq!(ours, scanimage_list(), "our list differs from `scanimage -L`");
    // init → exit → init again in one process gives the same answer.
    assert_eq!(listed(), ours);
}

#[test]
fn discover_offers_sane_connections_that_parse_back_to_the_device_name() {
    let _serial = with_test_backend();
    let found = discover(TIMEOUT);
    let connections: Vec<&str> = found.iter().map(|entry| entry.connection.as_str()).collect();
    assert_eq!(connections, ["sane:test:0", "sane:test:1"], "{PACKAGES}");
    for (entry, name) in found.iter().zip(["test:0", "test:1"]) {
        assert_eq!(entry.kind, Some(DeviceKind::Scanner));
        assert_eq!(entry.description, "Noname frontend-tester (virtual device)");
        let parsed: Connection = entry.connection.parse().expect("a valid connection string");
        assert_eq!(parsed, Connection::Sane { device: name.to_owned() });
    }
}

#[test]
fn a_missing_library_is_a_clear_error_with_its_cause() {
    let _serial = serial();
    let error = list_devices_from("libsane-not-installed.so.1", TIMEOUT)
        .expect_err("a library that does not exist cannot be opened");
    assert_eq!(
        error.to_string(),
        "SANE is not installed (libsane-not-installed.so.1 not found) \
         — install the Debian package libsane1 / sane-utils"
    );
    let SaneError::NotInstalled { source, .. } = error else {
        panic!("expected NotInstalled, got {error:?}");
    };
    assert!(source.to_string().contains("libsane-not-installed.so.1"), "{source}");
    // The same failure under the real name reads exactly as technicians are told to expect.
    let real = SaneError::NotInstalled { library: crate::LIBRARY_NAME.to_owned(), hint: crate::INSTALL_HINT, source };
    assert!(real.source().is_some());
    #[cfg(target_os = "linux")]
    assert_eq!(
        real.to_string(),
        "SANE is not installed (libsane.so.1 not found) \
         — install the Debian package libsane1 / sane-utils"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_library_without_sane_functions_is_named_as_such() {
    let _serial = serial();
    let error = list_devices_from("libc.so.6", TIMEOUT).expect_err("libc has no sane_init");
    assert!(
        matches!(&error, SaneError::MissingSymbol { library, symbol: "sane_init", .. } if library == "libc.so.6"),
        "{error:?}"
    );
    assert!(error.source().is_some());
}

#[test]
fn a_hung_call_times_out_and_later_calls_wait_instead_of_entering_libsane() {
    let _serial = serial();
    let (release, hang) = mpsc::channel::<()>();
    let first = run_with_timeout(Duration::from_secs(1), move |_permit, stage| {
        stage.set(Stage::GetDevices);
        // Stands for a backend stuck in `sane_get_devices` until the test lets it go.
        let _ = hang.recv();
        Ok("first")
    });
    let Err(error @ SaneError::Timeout { stage: Stage::GetDevices, .. }) = first else {
        panic!("expected a timeout in sane_get_devices, got {first:?}");
    };
    assert!(
        error.to_string().starts_with(
            "SANE did not answer within 1000 ms (stuck in sane_get_devices) — a scanner backend may be hung"
        ),
        "{error}"
    );

    let entered = Arc::new(AtomicBool::new(false));
    let second = run_with_timeout(Duration::from_millis(200), {
        let entered = Arc::clone(&entered);
        move |_permit, _stage| {
            entered.store(true, Ordering::SeqCst);
            Ok("second")
        }
    });
    assert!(matches!(second, Err(SaneError::Timeout { stage: Stage::WaitingForOtherCall, .. })), "{second:?}");
    assert!(!entered.load(Ordering::SeqCst), "a second caller entered while the first was hung");

    release.send(()).expect("the hung worker is still waiting");
    let third = run_with_timeout(TIMEOUT, |_permit, _stage| Ok("third"));
    assert!(matches!(third, Ok("third")), "{third:?}");
}

#[test]
fn an_error_from_the_worker_reaches_the_caller_unchanged() {
    let _serial = serial();
    let result: Result<(), SaneError> = run_with_timeout(TIMEOUT, |_permit, _stage| {
        Err(SaneError::Status { call: "sane_get_devices", status: crate::SaneStatus::NO_MEM })
    });
    let Err(error) = result else { panic!("the worker's error was lost") };
    assert_eq!(
        error.to_string(),
        "sane_get_devices failed: SANE_STATUS_NO_MEM (Out of memory) \
         — check the scanner backends with `scanimage -L`"
    );
}
