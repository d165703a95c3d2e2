//! `serial:` printers on a real pseudo-terminal pair made by `socat`: the simulator's fake printer
//! holds one end, the transport opens the other. A missing `socat` fails these tests (Debian
//! package `socat`).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use counter_agent_driver_api::SerialFlow;
use counter_agent_driver_escpos::encoder::automatic_status_back;
use counter_agent_driver_escpos::serial::{self, SerialError, SerialLink};
use counter_agent_driver_escpos::status::{Paper, Status};
use counter_agent_driver_escpos::tcp::Deadlines;
use counter_agent_driver_escpos::text::{Align, Face, TextStyle};
use counter_agent_driver_escpos::{Cut, Encoder, EncoderOptions};
use counter_agent_driver_sim::fake_escpos::{Behaviour, FakeEscpos, PtyOptions};

fn quick() -> Deadlines {
    Deadlines { connect: Duration::from_secs(2), write: Duration::from_millis(700), status: Duration::from_millis(300) }
}

fn start(behaviour: Behaviour, options: PtyOptions) -> FakeEscpos {
    FakeEscpos::start_pty(behaviour, options).unwrap_or_else(|error| panic!("the fake serial printer: {error}"))
}

fn link(printer: &FakeEscpos, baud: u32, flow: SerialFlow) -> SerialLink {
    SerialLink::new(printer.address(), baud, flow)
}

/// A printer on a line of `baud` with a receive buffer of `buffer` bytes that prints slower than the
/// line: only flow control keeps it from overrunning. (The buffer's free half after XOFF also
/// covers the fake's own thread being scheduled late: `buffer / 2` bytes of the line's time.)
fn slow_printer(baud: u32, buffer: usize, print_rate: u32) -> PtyOptions {
    PtyOptions { baud: Some(baud), xon_xoff: true, buffer, print_rate: Some(print_rate) }
}

fn ticket(number: &str) -> Vec<u8> {
    let mut encoder = Encoder::new(EncoderOptions::new(576));
    encoder.text(&format!("Số thứ tự {number}"), TextStyle::new(Face::Bold, 48.0, Align::Center)).expect("fits");
    encoder.cut(Cut::Partial);
    encoder.finish()
}

/// `ESC @` and `GS v 0` bands 64 bytes wide whose pixels spell commands and flow control (`DLE EOT
/// 1`, `GS r 1`, `GS a 255`, XON, XOFF): whole bands, about `len` bytes.
fn raster_job(len: usize) -> Vec<u8> {
    let pixels = [0x10, 0x04, 0x01, 0x1d, 0x72, 0x01, 0x1d, 0x61, 0xff, 0x11, 0x13, 0x00, 0x5a];
    let mut job = vec![0x1b, b'@'];
    while job.len() < len {
        let rows = ((len - job.len()).saturating_sub(8) / 64).clamp(1, 40);
        job.extend_from_slice(&[0x1d, b'v', b'0', 0, 64, 0, rows as u8, 0]);
        job.extend(pixels.iter().copied().cycle().take(64 * rows));
    }
    job
}

#[test]
fn a_job_arrives_byte_for_byte_with_each_flow_control() {
    for flow in [SerialFlow::None, SerialFlow::RtsCts, SerialFlow::XonXoff] {
        let printer = start(Behaviour::Ready, PtyOptions::default());
        let (first, second) = (ticket("A1023"), ticket("B0007"));
        serial::send(&link(&printer, 115_200, flow), &first, quick()).expect("sent");
        serial::send(&link(&printer, 115_200, flow), &second, quick()).expect("sent");
        let total = first.len() + second.len();
        assert_eq!(printer.wait_printed(total, Duration::from_secs(5)).len(), total, "{flow:?}");
        // No connections on a line: each `ESC @` begins a job.
        assert_eq!(printer.jobs(), vec![first, second], "{flow:?}");
    }
}

#[test]
fn status_over_serial_reports_each_condition() {
    for (behaviour, expected) in [
        (Behaviour::Ready, Some(Status::default())),
        (Behaviour::PaperOut, Some(Status { offline: true, paper: Paper::End, ..Status::default() })),
        (Behaviour::PaperNearEnd, Some(Status { paper: Paper::NearEnd, ..Status::default() })),
        (Behaviour::CoverOpen, Some(Status { offline: true, cover_open: true, ..Status::default() })),
        (Behaviour::Silent, None),
    ] {
        let printer = start(behaviour, PtyOptions::default());
        let started = Instant::now();
        let status = serial::query_status(&link(&printer, 9600, SerialFlow::None), quick()).expect("opens");
        assert_eq!(status, expected, "{behaviour:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{behaviour:?} took {:?}", started.elapsed());
        assert!(printer.jobs().is_empty(), "status requests are not jobs");
    }
}

#[test]
fn a_job_that_turns_on_status_back_hears_the_printer_state() {
    let printer = start(Behaviour::PaperNearEnd, PtyOptions::default());
    let mut job = ticket("C0042");
    job.splice(2..2, automatic_status_back(0xff));
    let status = serial::send(&link(&printer, 115_200, SerialFlow::None), &job, quick()).expect("sent");
    assert_eq!(status, Some(Status { paper: Paper::NearEnd, ..Status::default() }));
}

#[test]
fn slow_serial_at_9600_baud_takes_the_time_of_the_line_and_xon_xoff_keeps_the_buffer() {
    // Printing at half the line's rate, the 1 KB buffer would overflow after some 2 KB.
    let printer = start(Behaviour::Ready, slow_printer(9600, 1024, 480));
    let job = raster_job(3000);
    let started = Instant::now();
    serial::send(
        &link(&printer, 9600, SerialFlow::XonXoff),
        &job,
        Deadlines { write: Duration::from_secs(5), ..quick() },
    )
    .expect("sent");
    // 960 bytes a second at most: what is not on paper yet is in the printer's 1 KB buffer.
    let line_time = Duration::from_secs_f64((job.len() - 1024) as f64 / 960.0);
    assert!(started.elapsed() >= line_time, "{:?} for {} bytes", started.elapsed(), job.len());
    assert_eq!(printer.wait_printed(job.len(), Duration::from_secs(10)), job);
    assert_eq!(printer.overruns(), 0, "bytes arrived after XOFF beyond the buffer");
    assert!(printer.flow_stops() >= 2, "only {} XOFFs", printer.flow_stops());
}

#[test]
fn a_20_kb_raster_job_over_xon_xoff_arrives_identical_without_overrun() {
    // The point is flow control, not speed: a faster line, the printer still slower than it.
    let printer = start(Behaviour::Ready, slow_printer(115_200, 4096, 6000));
    let job = raster_job(20_000);
    serial::send(
        &link(&printer, 115_200, SerialFlow::XonXoff),
        &job,
        Deadlines { write: Duration::from_secs(5), ..quick() },
    )
    .expect("sent");
    assert_eq!(printer.wait_printed(job.len(), Duration::from_secs(10)), job);
    assert_eq!(printer.overruns(), 0, "bytes arrived after XOFF beyond the buffer");
    assert!(printer.flow_stops() >= 3, "only {} XOFFs", printer.flow_stops());
}

/// The control for the two tests above: the fake does catch a sender that ignores XOFF.
#[test]
fn a_sender_without_flow_control_overruns_the_same_printer() {
    let printer = start(Behaviour::Ready, slow_printer(115_200, 4096, 6000));
    let job = raster_job(20_000);
    serial::send(&link(&printer, 115_200, SerialFlow::None), &job, quick()).expect("sent");
    printer.wait_printed(job.len(), Duration::from_secs(10));
    assert!(printer.flow_stops() > 0);
    assert!(printer.overruns() > 0, "the sender ignored XOFF and the fake did not notice");
}

#[test]
fn paper_out_mid_job_stalls_the_job_over_xon_xoff() {
    // A 4 KB buffer: its free half after XOFF covers a late XOFF (the fake or socat scheduled late).
    let options = PtyOptions { xon_xoff: true, buffer: 4096, ..PtyOptions::default() };
    let printer = start(Behaviour::RunsOutAfter(2000), options);
    let job = raster_job(20_000);
    let started = Instant::now();
    let error = serial::send(&link(&printer, 115_200, SerialFlow::XonXoff), &job, quick()).expect_err("stalled");
    let SerialError::Stalled { sent, total, .. } = error else { panic!("{error}") };
    assert!((2000..total).contains(&sent), "{sent} of {total}");
    assert!(error.to_string().contains(&format!("after {sent} of {total} bytes")), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(printer.printed(), job[..2000], "printed up to the paper end");
    assert_eq!(printer.overruns(), 0, "XOFF held the rest back");
    assert!(printer.flow_stops() > 0);
    // Paper reloaded: what reached the printer is printed once, and the line works again.
    printer.set_behaviour(Behaviour::Ready);
    assert_eq!(printer.wait_printed(sent, Duration::from_secs(5)), job[..sent]);
    let next = ticket("D0001");
    serial::send(&link(&printer, 115_200, SerialFlow::XonXoff), &next, quick()).expect("sent after reloading");
    let printed = printer.wait_printed(sent + next.len(), Duration::from_secs(5));
    assert_eq!(printed[sent..], next[..]);
}

#[test]
fn the_barrier_is_answered_once_everything_before_it_is_printed() {
    let options = PtyOptions { buffer: 8192, print_rate: Some(4000), ..PtyOptions::default() };
    let printer = start(Behaviour::Ready, options);
    let mut job = raster_job(2000);
    job.extend_from_slice(&[0x1d, b'r', 1]);
    let mut port = serialport::new(printer.address(), 115_200)
        .timeout(Duration::from_secs(3))
        .open_native()
        .expect("opens the host end");
    let started = Instant::now();
    port.write_all(&job).expect("written");
    let mut answer = [0u8; 1];
    port.read_exact(&mut answer).expect("the barrier is answered");
    assert_eq!(answer, [0x00], "paper present");
    assert_eq!(printer.printed(), job, "answered after printing everything before it");
    assert!(started.elapsed() >= Duration::from_millis(450), "{:?} for 2 KB at 4 KB/s", started.elapsed());
}

#[test]
fn a_line_that_goes_away_mid_job_is_broken() {
    let printer = start(Behaviour::ClosesAfter(1000), PtyOptions::default());
    let job = raster_job(50_000);
    let error = serial::send(&link(&printer, 115_200, SerialFlow::None), &job, quick()).expect_err("broken");
    assert!(matches!(error, SerialError::Broken { sent, total, .. } if sent < total), "{error}");
    assert!(error.to_string().contains("check the cable"), "{error}");
}

#[test]
fn a_missing_port_is_a_clear_error_naming_it() {
    let missing = "/dev/ttyUSB-counter-agent-missing";
    let error = serial::send(&SerialLink::new(missing, 9600, SerialFlow::None), b"x", quick()).expect_err("missing");
    assert!(matches!(error, SerialError::NotFound { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(missing) && message.contains("plugged in"), "{message}");
    let error = serial::query_status(&SerialLink::new(missing, 9600, SerialFlow::None), quick()).expect_err("missing");
    assert!(matches!(error, SerialError::NotFound { .. }), "{error:?}");
}
