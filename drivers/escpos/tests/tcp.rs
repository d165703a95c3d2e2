//! `tcp://` printers against the simulator's fake printer, which speaks real status bytes and
//! misbehaves the ways printers do.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use counter_agent_driver_escpos::encoder::automatic_status_back;
use counter_agent_driver_escpos::status::{Paper, Replies, Reply, Status};
use counter_agent_driver_escpos::tcp::{self, Deadlines, TcpError};
use counter_agent_driver_escpos::text::{Align, Face, TextStyle};
use counter_agent_driver_escpos::{Cut, Encoder, EncoderOptions};
use counter_agent_driver_sim::fake_escpos::{Behaviour, FakeEscpos};

fn quick() -> Deadlines {
    Deadlines { connect: Duration::from_secs(2), write: Duration::from_millis(700), status: Duration::from_millis(300) }
}

fn start(behaviour: Behaviour) -> FakeEscpos {
    FakeEscpos::start_tcp(behaviour).expect("the fake printer listens on loopback")
}

fn ticket() -> Vec<u8> {
    let mut encoder = Encoder::new(EncoderOptions::new(576));
    encoder.text("Số thứ tự A1023 — Hẹn trả kết quả", TextStyle::new(Face::Bold, 64.0, Align::Center)).expect("fits");
    encoder.cut(Cut::Partial);
    encoder.finish()
}

/// `ESC @` and `GS v 0` bands 72 bytes wide, `n_bands` × 1000 rows, whose pixels spell commands
/// (`DLE EOT 1`, `GS r 1`, `GS a 255`, `ESC @`): a printer that read them as commands would answer.
fn raster_job(n_bands: usize) -> Vec<u8> {
    let mut job = vec![0x1b, b'@'];
    let pixels = [0x10, 0x04, 0x01, 0x1d, 0x72, 0x01, 0x1d, 0x61, 0xff, 0x1b, 0x40, 0x00];
    for _ in 0..n_bands {
        job.extend_from_slice(&[0x1d, b'v', b'0', 0, 72, 0, 0xe8, 0x03]);
        job.extend(pixels.iter().copied().cycle().take(72 * 1000));
    }
    job
}

#[test]
fn a_job_arrives_byte_for_byte_and_the_connection_closes() {
    let printer = start(Behaviour::Ready);
    let job = ticket();
    assert!(job.len() > 4096, "several chunks: {} bytes", job.len());
    tcp::send(printer.address(), &job, quick()).expect("sent");
    assert_eq!(printer.wait_jobs(1, Duration::from_secs(5)), vec![job]);
    // Twenty jobs one after the other come out in order, one connection each.
    for i in 0..20u8 {
        tcp::send(printer.address(), &[0x1b, b'@', b'0' + i % 10, b'\n'], quick()).expect("sent");
    }
    let jobs = printer.wait_jobs(21, Duration::from_secs(5));
    assert_eq!(jobs.len(), 21);
    for (i, job) in jobs[1..].iter().enumerate() {
        assert_eq!(job, &vec![0x1b, b'@', b'0' + (i % 10) as u8, b'\n']);
    }
}

#[test]
fn pixels_that_look_like_commands_are_printed_not_obeyed() {
    let printer = start(Behaviour::Ready);
    let job = raster_job(3);
    // No status back: the `GS a` in the pixels was not obeyed.
    assert_eq!(tcp::send(printer.address(), &job, quick()).expect("sent"), None);
    assert_eq!(printer.wait_printed(job.len(), Duration::from_secs(5)), job);
}

#[test]
fn status_reports_each_condition() {
    for (behaviour, expected) in [
        (Behaviour::Ready, Status::default()),
        (Behaviour::PaperOut, Status { offline: true, paper: Paper::End, ..Status::default() }),
        (Behaviour::PaperNearEnd, Status { paper: Paper::NearEnd, ..Status::default() }),
        (Behaviour::CoverOpen, Status { offline: true, cover_open: true, ..Status::default() }),
    ] {
        let printer = start(behaviour);
        assert_eq!(tcp::query_status(printer.address(), quick()).expect("answered"), Some(expected), "{behaviour:?}");
        // Status queries are not jobs.
        assert!(printer.jobs().is_empty(), "{behaviour:?}");
    }
}

#[test]
fn a_job_that_turns_on_status_back_hears_the_printer_state() {
    let printer = start(Behaviour::PaperNearEnd);
    let mut job = ticket();
    job.splice(2..2, automatic_status_back(0xff));
    let status = tcp::send(printer.address(), &job, quick()).expect("sent");
    assert_eq!(status, Some(Status { paper: Paper::NearEnd, ..Status::default() }));
}

#[test]
fn a_printer_that_never_answers_status_is_unknown_within_the_deadline() {
    let printer = start(Behaviour::Silent);
    let started = Instant::now();
    assert_eq!(tcp::query_status(printer.address(), quick()).expect("connected"), None);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn a_printer_that_stops_reading_fails_the_job_within_the_write_deadline() {
    let printer = start(Behaviour::NeverReads);
    let job = vec![0u8; 32 << 20]; // far more than the socket buffers hold
    let started = Instant::now();
    let error = tcp::send(printer.address(), &job, quick()).expect_err("stalled");
    assert!(matches!(error, TcpError::Stalled { sent, total, .. } if sent < total), "{error}");
    assert!(error.to_string().contains("stopped reading"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn paper_running_out_mid_job_stalls_the_sender_and_loses_nothing() {
    let printer = start(Behaviour::RunsOutAfter(20_000));
    let job = raster_job(120); // 8.6 MB: more than the socket buffers hold
    let error = tcp::send(printer.address(), &job, quick()).expect_err("stalled");
    let TcpError::Stalled { sent, total, .. } = error else { panic!("{error}") };
    assert!((20_000..total).contains(&sent), "{sent} of {total}");
    assert!(error.to_string().contains(&format!("after {sent} of {total} bytes")), "{error}");
    // The printer printed exactly 20 000 bytes and reads no more.
    assert!(printer.ran_out());
    thread::sleep(Duration::from_millis(200));
    assert_eq!(printer.jobs(), vec![job[..20_000].to_vec()]);
    // Paper reloaded: the rest of what reached the printer is printed, once, then a new job works.
    printer.set_behaviour(Behaviour::Ready);
    assert_eq!(printer.wait_printed(sent, Duration::from_secs(5)), job[..sent]);
    let next = ticket();
    tcp::send(printer.address(), &next, quick()).expect("sent after reloading");
    assert_eq!(printer.wait_jobs(2, Duration::from_secs(5)), vec![job[..sent].to_vec(), next]);
}

#[test]
fn reloading_paper_resumes_the_same_connection_where_it_stopped() {
    let printer = start(Behaviour::RunsOutAfter(10_000));
    let mut job = automatic_status_back(0xff).to_vec();
    job.extend(raster_job(120));
    job.extend_from_slice(&[0x1d, b'r', 1]); // the barrier
    let mut stream = TcpStream::connect(printer.address()).expect("connects");
    let mut reader = stream.try_clone().expect("clone");
    let (done_tx, done_rx) = mpsc::channel();
    let writer = {
        let job = job.clone();
        thread::spawn(move || {
            stream.write_all(&job).expect("the whole job goes, in time");
            done_tx.send(()).expect("test waits");
            stream
        })
    };
    reader.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut replies = Replies::new();
    let mut heard = std::collections::VecDeque::new();
    let mut next_reply = || loop {
        if let Some(reply) = heard.pop_front() {
            return reply;
        }
        let mut buffer = [0u8; 16];
        let n = reader.read(&mut buffer).expect("the printer replies");
        assert!(n > 0, "the printer closed the connection");
        heard.extend(replies.push(&buffer[..n]));
    };
    // ASB on: the first packet says ready; paper runs out: the next says so.
    assert_eq!(next_reply(), Reply::Automatic([0x10, 0, 0, 0]));
    assert_eq!(next_reply(), Reply::Automatic([0x18, 0, 0x0c, 0]));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(printer.printed().len(), 10_000, "nothing more is printed");
    assert!(done_rx.try_recv().is_err(), "the sender's writes block while the printer reads nothing");
    // Paper reloaded: ready again, the rest of the same connection printed, then the barrier.
    printer.set_behaviour(Behaviour::Ready);
    assert_eq!(next_reply(), Reply::Automatic([0x10, 0, 0, 0]));
    assert_eq!(next_reply(), Reply::PaperSensor(0));
    done_rx.recv_timeout(Duration::from_secs(5)).expect("the writer finished");
    assert_eq!(printer.jobs(), vec![job], "nothing lost, nothing repeated");
    drop(writer.join().expect("writer"));
}

#[test]
fn a_connection_closed_mid_job_is_an_error_naming_how_far_it_got() {
    let printer = start(Behaviour::ClosesAfter(1000));
    let job = vec![b'x'; 8 << 20];
    let error = tcp::send(printer.address(), &job, quick()).expect_err("broken");
    assert!(matches!(error, TcpError::Broken { .. } | TcpError::Stalled { .. }), "{error}");
    assert!(error.to_string().contains(&format!("of {} bytes", job.len())), "{error}");
    assert_eq!(printer.wait_printed(1000, Duration::from_secs(2)), job[..1000]);
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
