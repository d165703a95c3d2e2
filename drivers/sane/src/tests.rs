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

use crate::options::{f64_to_fixed, fixed_to_f64, Constraint, OptionDescriptor, OptionValue, ValueType};
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

/// Opens `test:0` in this process (holding the SANE gate) and runs `check` on the handle.
fn with_open_test_device(check: impl FnOnce(&crate::ffi::Handle<'_>)) {
    let _serial = with_test_backend();
    let permit = crate::worker::Permit::acquire_blocking();
    let library = crate::worker::library(&permit, crate::LIBRARY_NAME).unwrap_or_else(|e| panic!("{e} — {PACKAGES}"));
    let sane = library.init(&permit).expect("sane_init");
    assert!(matches!(sane.open("test:99"), Err(status) if !status.is_good()), "no such device");
    let handle = sane.open("test:0").expect("sane_open test:0");
    check(&handle);
}

fn descriptor<'a>(descriptors: &'a [OptionDescriptor], name: &str) -> &'a OptionDescriptor {
    descriptors.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no option {name}"))
}

#[test]
fn descriptors_carry_every_constraint_type_and_values_round_trip_through_sized_buffers() {
    with_open_test_device(|handle| {
        let mut all = handle.descriptors().expect("descriptors");
        let resolution = descriptor(&all, "resolution");
        // The test backend's resolution is FIXED, a range 1–1200 in steps of 1.
        assert_eq!(resolution.value_type, ValueType::Fixed);
        assert_eq!(
            resolution.constraint,
            Constraint::Range { min: f64_to_fixed(1.0), max: f64_to_fixed(1200.0), quant: f64_to_fixed(1.0) }
        );
        let mode = descriptor(&all, "mode");
        assert_eq!(mode.constraint, Constraint::StringList(vec!["Gray".into(), "Color".into()]));
        let hand = descriptor(&all, "hand-scanner");
        assert_eq!((hand.value_type, hand.size), (ValueType::Bool, 4), "SANE_Bool is a 4-byte word");
        assert_eq!(handle.get(hand), Ok(OptionValue::Bool(false)));

        // Setting mode asks for options and parameters to be reloaded (info 0x6).
        let info = handle.set(mode, &OptionValue::Text("Color".into())).expect("set mode");
        assert!(info.reload_options && info.reload_params, "{info:?}");
        all = handle.descriptors().expect("reloaded");
        assert_eq!(handle.get(descriptor(&all, "mode")), Ok(OptionValue::Text("Color".into())));
        assert!(descriptor(&all, "three-pass").is_settable(), "three-pass is active in colour");

        let enable = descriptor(&all, "enable-test-options").clone();
        let info = handle.set(&enable, &OptionValue::Bool(true)).expect("enable test options");
        assert!(info.reload_options);
        all = handle.descriptors().expect("reloaded");
        assert_eq!(
            descriptor(&all, "int-constraint-range").constraint,
            Constraint::Range { min: 4, max: 192, quant: 2 }
        );
        assert_eq!(
            descriptor(&all, "int-constraint-word-list").constraint,
            Constraint::WordList(vec![-42, -8, 0, 17, 42, 256, 65536, 16_777_216, 1_073_741_824])
        );
        let fixed_list: Vec<f64> = match &descriptor(&all, "fixed-constraint-word-list").constraint {
            Constraint::WordList(words) => words.iter().map(|w| (fixed_to_f64(*w) * 10.0).round() / 10.0).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fixed_list, [-32.7, 12.1, 42.0, 129.5]);
        let Constraint::StringList(long) = &descriptor(&all, "string-constraint-long-string-list").constraint else {
            panic!("a string list")
        };
        assert_eq!((long.first().map(String::as_str), long.len()), (Some("First entry"), 46));
        assert_eq!(descriptor(&all, "int").constraint, Constraint::None);

        // INEXACT: the backend changes the value; read back after every set.
        let inexact = descriptor(&all, "int-inexact").clone();
        let info = handle.set(&inexact, &OptionValue::Int(vec![33])).expect("set int-inexact");
        assert!(info.inexact, "{info:?}");
        let OptionValue::Int(read_back) = handle.get(&inexact).expect("get") else { panic!("an int") };
        assert_ne!(read_back, [33], "the backend adjusted the value");

        // Arrays: size > 4 means several words; setting one element keeps the rest.
        let array = descriptor(&all, "int-constraint-array").clone();
        assert!(array.size > 4);
        let OptionValue::Int(before) = handle.get(&array).expect("get array") else { panic!("ints") };
        assert_eq!(before.len(), array.size as usize / 4);
        handle.set(&array, &OptionValue::Int(vec![7])).expect("set first element");
        let OptionValue::Int(after) = handle.get(&array).expect("get array") else { panic!("ints") };
        assert_eq!(after[0], 7);
        assert_eq!(after[1..], before[1..]);

        // Strings go in a buffer of the declared size; one that does not fit is refused here.
        let string = descriptor(&all, "string").clone();
        handle.set(&string, &OptionValue::Text("Xin chào".into())).expect("set string");
        assert_eq!(handle.get(&string), Ok(OptionValue::Text("Xin chào".into())));
        let too_long = "x".repeat(string.size as usize);
        assert_eq!(handle.set(&string, &OptionValue::Text(too_long)), Err(crate::SaneStatus::INVAL));
        // A value of the wrong type never reaches libsane.
        assert_eq!(handle.set(&string, &OptionValue::Bool(true)), Err(crate::SaneStatus::INVAL));
    });
}

#[test]
fn start_parameters_read_and_eof_follow_the_c_contract() {
    with_open_test_device(|handle| {
        let all = handle.descriptors().expect("descriptors");
        let resolution = descriptor(&all, "resolution").clone();
        handle.set(&resolution, &OptionValue::Fixed(vec![f64_to_fixed(50.0)])).expect("50 dpi");
        handle.start().expect("sane_start");
        let params = handle.parameters().expect("parameters after start");
        assert_eq!((params.format, params.depth, params.last_frame), (crate::frame::FRAME_GRAY, 8, true));
        let expected = params.expected_bytes().expect("a flatbed knows its height");
        let mut buffer = vec![0u8; 7000];
        let mut total = 0u64;
        loop {
            match handle.read(&mut buffer).expect("a valid length") {
                crate::ffi::Read::Data(n) => total += n as u64,
                crate::ffi::Read::Eof => break,
                crate::ffi::Read::Status(status) => panic!("{status}"),
            }
        }
        assert_eq!(total, expected);
        handle.cancel();
    });
}
