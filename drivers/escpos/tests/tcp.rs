//! `tcp://` printers against a fake printer that speaks real status bytes and misbehaves.

mod fake_printer;

use std::time::{Duration, Instant};

use counter_agent_driver_escpos::status::{Paper, Status};
use counter_agent_driver_escpos::tcp::{self, Deadlines, TcpError};
use counter_agent_driver_escpos::text::{Align, Face, TextStyle};
use counter_agent_driver_escpos::{Cut, Encoder, EncoderOptions};
use fake_printer::{Behaviour, FakePrinter};

fn quick() -> Deadlines {
    Deadlines { connect: Duration::from_secs(2), write: Duration::from_millis(700), status: Duration::from_millis(300) }
}

fn ticket() -> Vec<u8> {
    let mut encoder = Encoder::new(EncoderOptions::new(576));
    encoder.text("Số thứ tự A1023 — Hẹn trả kết quả", TextStyle::new(Face::Bold, 64.0, Align::Center)).expect("fits");
    encoder.cut(Cut::Partial);
    encoder.finish()
}

/// Waits until the fake has recorded `n` connections.
fn wait_jobs(printer: &FakePrinter, n: usize) -> Vec<Vec<u8>> {
    let until = Instant::now() + Duration::from_secs(5);
    while printer.jobs().len() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    printer.jobs()
}

#[test]
fn a_job_arrives_byte_for_byte_and_the_connection_closes() {
    let printer = FakePrinter::start(Behaviour::Ready);
    let job = ticket();
    assert!(job.len() > 4096, "several chunks: {} bytes", job.len());
    tcp::send(&printer.address, &job, quick()).expect("sent");
    assert_eq!(wait_jobs(&printer, 1), vec![job]);
    // Twenty jobs one after the other come out in order, one connection each.
    for i in 0..20u8 {
        tcp::send(&printer.address, &[0x1b, b'@', b'0' + i % 10, b'\n'], quick()).expect("sent");
    }
    let jobs = wait_jobs(&printer, 21);
    for (i, job) in jobs[1..].iter().enumerate() {
        assert_eq!(job, &vec![0x1b, b'@', b'0' + (i % 10) as u8, b'\n']);
    }
}

#[test]
fn status_reports_each_condition() {
    for (behaviour, expected) in [
        (Behaviour::Ready, Status::default()),
        (Behaviour::PaperOut, Status { offline: true, paper: Paper::End, ..Status::default() }),
        (Behaviour::PaperNearEnd, Status { paper: Paper::NearEnd, ..Status::default() }),
        (Behaviour::CoverOpen, Status { offline: true, cover_open: true, ..Status::default() }),
    ] {
        let printer = FakePrinter::start(behaviour);
        assert_eq!(tcp::query_status(&printer.address, quick()).expect("answered"), Some(expected), "{behaviour:?}");
    }
}

#[test]
fn a_printer_that_never_answers_status_is_unknown_within_the_deadline() {
    let printer = FakePrinter::start(Behaviour::Silent);
    let started = Instant::now();
    assert_eq!(tcp::query_status(&printer.address, quick()).expect("connected"), None);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn a_printer_that_stops_reading_fails_the_job_within_the_write_deadline() {
    let printer = FakePrinter::start(Behaviour::NeverReads);
    let job = vec![0u8; 32 << 20]; // far more than the socket buffers hold
    let started = Instant::now();
    let error = tcp::send(&printer.address, &job, quick()).expect_err("stalled");
    assert!(matches!(error, TcpError::Stalled { sent, total, .. } if sent < total), "{error}");
    assert!(error.to_string().contains("stopped reading"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn a_connection_closed_mid_job_is_an_error_naming_how_far_it_got() {
    let printer = FakePrinter::start(Behaviour::ClosesAfter(1000));
    let job = vec![b'x'; 8 << 20];
    let error = tcp::send(&printer.address, &job, quick()).expect_err("broken");
    assert!(matches!(error, TcpError::Broken { .. } | TcpError::Stalled { .. }), "{error}");
    assert!(error.to_string().contains(&format!("of {} bytes", job.len())), "{error}");
}

#[test]
fn nobody_listening_is_a_clear_connect_error() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").to_string();
    // The port is free again once the listener is dropped.
    let error = tcp::send(&free, b"x", quick()).expect_err("refused");
    assert!(matches!(error, TcpError::Connect { .. }), "{error}");
    assert!(error.to_string().contains("check that it is on"), "{error}");
    let error = tcp::query_status("not a host", quick()).expect_err("unresolvable");
    assert!(matches!(error, TcpError::Resolve { .. }), "{error}");
}
