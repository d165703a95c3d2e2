//! The IPP driver against a real IPP printer, CUPS's `ippeveprinter` (see `peer/`). No mocks.
//!
//! Needs the Debian packages cups-ipp-utils and dbus-daemon; without them every test fails and says so.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use counter_agent_driver_api::{
    CancelToken, Device, DeviceKind, DeviceStatus, DocumentFormat, DriverError, DriverFactory, PrintDocument,
    PrintWatch, StatusReason,
};
use counter_agent_driver_ipp::peer::{self, document, pdf, Hook, Peer};
use counter_agent_driver_ipp::{IppFactory, IppPrinter, Timing};

/// Default timing, but a hold is told after 200 ms instead of 2 s.
fn quick() -> Timing {
    Timing { stall_report: Duration::from_millis(200), ..Timing::default() }
}

fn open(peer: &Peer) -> IppPrinter {
    IppFactory::with_timing(quick())
        .open_printer(&peer.spec())
        .unwrap_or_else(|error| panic!("open {}: {error}", peer.url()))
}

fn print(printer: &mut IppPrinter, document: &PrintDocument) -> Result<(), DriverError> {
    counter_agent_driver_api::Printer::print(printer, document)
}

fn fault(result: Result<(), DriverError>) -> StatusReason {
    match result {
        Err(DriverError::Fault { reason }) => reason,
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn a_pdf_arrives_byte_for_byte_and_print_returns_once_the_job_completed() {
    let peer = Peer::start();
    peer.set_hook(Hook::Slow);
    let mut printer = open(&peer);
    // Large enough to go up in many pieces.
    let bytes = pdf(300_000, 1);
    let started = Instant::now();
    print(&mut printer, &document(bytes.clone(), "counter-agent 0001")).expect("printed");
    let elapsed = started.elapsed();
    // The hook takes 300 ms and logs `done` as its last act: print() waited for it.
    assert!(peer.hook_log().contains("done 1\n"), "the job was not finished when print returned:\n{}", peer.hook_log());
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    let log = peer.hook_log();
    assert!(log.contains("start 1 name=counter-agent 0001 format=application/pdf"), "{log}");
    assert_eq!(peer.spooled(), vec![(1, bytes)], "the printer's copy differs from what was sent");

    // The same device prints again, quickly when the printer is quick.
    peer.set_hook(Hook::Done);
    let second = pdf(2_000, 2);
    let started = Instant::now();
    print(&mut printer, &document(second.clone(), "counter-agent 0002")).expect("printed");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "a one-page job on an instant printer took {elapsed:?}");
    assert!(peer.hook_log().contains("done 2\n"));
    assert_eq!(peer.spooled().last(), Some(&(2, second)));
}

#[test]
fn paper_out_faults_then_nothing_is_sent_until_paper_is_loaded_and_the_retry_prints() {
    let peer = Peer::start();
    let mut printer = open(&peer);
    let bytes = pdf(20_000, 3);
    let job = document(bytes.clone(), "counter-agent paper");

    // The printer runs out of paper on this job and aborts it.
    peer.set_hook(Hook::PaperOut);
    assert_eq!(fault(print(&mut printer, &job)), StatusReason::PaperOut);
    assert!(peer.hook_log().contains("fail 1\n"), "{}", peer.hook_log());
    assert_eq!(printer.status().expect("status"), DeviceStatus::error(StatusReason::PaperOut));

    // While the tray is empty, a retry is refused before anything is sent (the hook would now
    // print it): no new job, no new document.
    peer.set_hook(Hook::Done);
    let spooled = peer.spool_files().len();
    assert_eq!(fault(print(&mut printer, &job)), StatusReason::PaperOut);
    assert_eq!(peer.spool_files().len(), spooled, "a document was sent to a printer out of paper");
    assert!(!peer.hook_log().contains("start 2"), "{}", peer.hook_log());

    // Paper loaded: ready again, and the retry prints.
    peer.load_paper();
    assert_eq!(printer.status().expect("status"), DeviceStatus::READY);
    print(&mut printer, &job).expect("printed after loading paper");
    assert_eq!(peer.spooled().last(), Some(&(2, bytes)));
    assert!(peer.hook_log().contains("done 2\n"), "{}", peer.hook_log());
}

#[test]
fn a_jam_is_a_jam() {
    let peer = Peer::start();
    let mut printer = open(&peer);
    peer.set_hook(Hook::Jam);
    assert_eq!(fault(print(&mut printer, &document(pdf(1_000, 4), "jam"))), StatusReason::Jammed);
    assert_eq!(printer.status().expect("status"), DeviceStatus::error(StatusReason::Jammed));
}

/// Prints `job` on a thread, telling each hold through the returned channel.
fn print_watched(
    mut printer: IppPrinter,
    job: PrintDocument,
    cancel: CancelToken,
) -> (mpsc::Receiver<Option<StatusReason>>, std::thread::JoinHandle<Result<(), DriverError>>) {
    let (holds, heard) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut stalled = |reason: Option<StatusReason>| holds.send(reason).expect("the test listens");
        counter_agent_driver_api::Printer::print_watched(
            &mut printer,
            &job,
            &mut PrintWatch { cancel: &cancel, stalled: &mut stalled },
        )
    });
    (heard, thread)
}

#[test]
fn paper_out_mid_job_holds_the_job_and_it_finishes_once_paper_is_loaded() {
    let peer = Peer::start();
    peer.set_hook(Hook::PaperOutMidJob);
    let bytes = pdf(50_000, 5);
    let (holds, printing) = print_watched(open(&peer), document(bytes.clone(), "mid-job"), CancelToken::new());
    let held = holds.recv_timeout(Duration::from_secs(20)).expect("the hold is told");
    assert_eq!(held, Some(StatusReason::PaperOut));
    // Meanwhile the device's status says why.
    let mut watcher = open(&peer);
    assert_eq!(watcher.status().expect("status"), DeviceStatus::error(StatusReason::PaperOut));
    assert!(!printing.is_finished(), "print returned while the job was held");

    peer.reload_paper_mid_job();
    let result = printing.join().expect("the printing thread");
    result.expect("printed once paper was loaded");
    assert_eq!(holds.try_iter().collect::<Vec<_>>(), vec![None], "the daemon hears that the printer goes on");
    assert_eq!(peer.spooled(), vec![(1, bytes)]);
    assert!(peer.hook_log().contains("done 1\n"));
    assert_eq!(watcher.status().expect("status"), DeviceStatus::READY);
}

#[test]
fn a_held_job_cancelled_by_the_daemon_is_cancelled_at_the_printer() {
    let peer = Peer::start();
    peer.set_hook(Hook::PaperOutMidJob);
    let cancel = CancelToken::new();
    let (holds, printing) = print_watched(open(&peer), document(pdf(1_000, 6), "to cancel"), cancel.clone());
    assert_eq!(holds.recv_timeout(Duration::from_secs(20)).expect("the hold is told"), Some(StatusReason::PaperOut));
    let asked = Instant::now();
    cancel.cancel();
    let result = printing.join().expect("the printing thread");
    assert!(matches!(result, Err(DriverError::Cancelled)), "{result:?}");
    assert!(asked.elapsed() < Duration::from_secs(3), "cancelling took {:?}", asked.elapsed());
    // ippeveprinter lets a cancelled job's print command run to its end, then marks it canceled
    // (a job the driver had not cancelled would end completed).
    peer.reload_paper_mid_job();
    let until = Instant::now() + Duration::from_secs(10);
    let mut state = job_state(&peer, 1);
    while state < 7 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        state = job_state(&peer, 1);
    }
    assert_eq!(state, 7, "job-state at the printer is not canceled");
}

/// `job-state` of `job_id`, asked with the `ipp` crate directly.
fn job_state(peer: &Peer, job_id: i32) -> i32 {
    use ipp::prelude::{IppClient, IppOperationBuilder, IppValue, Uri};
    let uri: Uri = peer.url().parse().expect("uri");
    let operation = IppOperationBuilder::get_job_attributes(uri.clone(), job_id).build().expect("operation");
    let response = IppClient::new(uri).send(operation).expect("Get-Job-Attributes");
    let state = response
        .attributes()
        .groups_of(ipp::model::DelimiterTag::JobAttributes)
        .find_map(|group| group.get("job-state"))
        .map(|attribute| attribute.value().clone());
    match state {
        Some(IppValue::Enum(state)) => state,
        other => panic!("job-state: {other:?}"),
    }
}

#[test]
fn a_printer_without_pdf_is_sent_nothing_and_the_error_names_what_it_takes() {
    let peer = Peer::with_formats("image/pwg-raster");
    let mut printer = open(&peer);
    match print(&mut printer, &document(pdf(1_000, 7), "no pdf")) {
        Err(DriverError::Unsupported { what }) => {
            assert!(what.contains("image/pwg-raster"), "{what}");
            assert!(what.contains("PDF"), "{what}");
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert_eq!(peer.spool_files(), Vec::<String>::new(), "something was sent");
    assert_eq!(peer.hook_log(), "");
    // Not PDF at all: refused without asking the printer.
    let escpos = PrintDocument { format: DocumentFormat::EscPos, bytes: vec![0x1b, b'@'], job_name: "x".into() };
    assert!(matches!(print(&mut printer, &escpos), Err(DriverError::Unsupported { .. })));
}

#[test]
fn a_ready_printer_is_ready_and_nothing_listening_is_not_found_at_once() {
    let peer = Peer::start();
    let factory = IppFactory::new();
    assert_eq!(factory.schemes(), ["ipp", "ipps"]);
    assert_eq!(factory.check(&peer.spec()), Vec::<String>::new());
    let mut device = factory.open(&peer.spec()).expect("open");
    assert_eq!(device.kind(), DeviceKind::Printer);
    assert!(device.as_printer().is_some());
    assert_eq!(device.status().expect("status"), DeviceStatus::READY);

    // The same printer, gone.
    let dead = peer::spec(&format!("ipp://127.0.0.1:{}/ipp/print", peer::free_port()));
    assert_eq!(factory.check(&dead), Vec::<String>::new(), "check does no I/O");
    let started = Instant::now();
    let result = factory.open(&dead);
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    match result {
        Err(DriverError::NotFound { detail }) => assert!(detail.contains("refused"), "{detail}"),
        Err(other) => panic!("expected not found, got {other:?}"),
        Ok(_) => panic!("opened a printer where nothing listens"),
    }
    // An open device whose printer goes away reports it as gone too.
    drop(peer);
    let started = Instant::now();
    assert!(matches!(device.status(), Err(DriverError::NotFound { .. })));
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
}

#[test]
fn a_wrong_printer_path_is_not_found_and_says_where_to_look() {
    let peer = Peer::start();
    let wrong = peer::spec(&format!("ipp://localhost:{}/printers/nothing-here", peer.port));
    match IppFactory::new().open(&wrong) {
        Err(DriverError::NotFound { detail }) => assert!(detail.contains("/printers/NAME"), "{detail}"),
        Err(other) => panic!("expected not found, got {other:?}"),
        Ok(_) => panic!("opened a printer at a path the server does not have"),
    }
}

/// `ipps://` in a build with TLS: ippeveprinter presents a self-signed certificate, as most
/// office printers do, and the failure says what to do.
#[cfg(feature = "tls")]
#[test]
fn an_untrusted_certificate_fails_with_what_to_do() {
    let peer = Peer::start();
    let secure = peer::spec(&format!("ipps://localhost:{}/ipp/print", peer.port));
    match IppFactory::new().open(&secure) {
        Err(DriverError::Protocol { detail }) => {
            assert!(detail.contains("TLS failed") && detail.contains("certificate"), "{detail}");
        }
        Err(other) => panic!("expected a TLS failure, got {other:?}"),
        Ok(_) => panic!("ipps opened with a certificate nobody trusts"),
    }
}
