//! Prints a PDF on an IPP printer and reports the time from the call to the job's `completed`.
//!
//! ```text
//! cargo run --release -p counter-agent-driver-ipp --example print_file -- URL FILE.pdf [RUNS]
//! ```
//!
//! `URL` is a connection string such as `ipp://localhost:8631/ipp/print`. Each run is one
//! `Printer::print` (preflight, Print-Job, polls until completed) on a device opened once; with
//! several runs the median is printed last. Compare with CUPS's reference client:
//! `ipptool -t -f FILE.pdf URL print-job-and-wait.test`.

use std::process::ExitCode;
use std::time::Instant;

use counter_agent_driver_api::{
    Connection, DeviceSettings, DocumentFormat, EscposSettings, OpenSpec, PrintDocument, Printer, PrinterSettings,
};
use counter_agent_driver_ipp::IppFactory;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: print_file URL FILE.pdf [RUNS]");
        return ExitCode::from(2);
    };
    let runs: usize = match args.get(2).map(|text| text.parse()) {
        None => 1,
        Some(Ok(runs)) if runs > 0 => runs,
        Some(_) => {
            eprintln!("RUNS is a number of prints, at least 1");
            return ExitCode::from(2);
        }
    };
    let connection: Connection = match url.parse() {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("{url}: {error} ({})", error.hint());
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("{path}: {error}");
            return ExitCode::from(2);
        }
    };
    let spec = OpenSpec {
        id: "print_file".into(),
        connection,
        settings: DeviceSettings::Printer(PrinterSettings {
            paper_width_mm: 210,
            printable_dots: 0,
            dpi: 300,
            cutter: false,
            formats: vec![DocumentFormat::Pdf],
            escpos: EscposSettings::default(),
        }),
    };
    let mut printer = match IppFactory::new().open_printer(&spec) {
        Ok(printer) => printer,
        Err(error) => {
            eprintln!("open {url}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let document = PrintDocument { format: DocumentFormat::Pdf, bytes, job_name: "print_file example".into() };
    let mut times = Vec::with_capacity(runs);
    for run in 1..=runs {
        let started = Instant::now();
        if let Err(error) = printer.print(&document) {
            eprintln!("print {path} on {url}: {error}");
            return ExitCode::FAILURE;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("run {run}: completed in {ms:.1} ms ({} bytes)", document.bytes.len());
        times.push(ms);
    }
    if runs > 1 {
        times.sort_by(f64::total_cmp);
        println!("median of {runs}: {:.1} ms", times[runs / 2]);
    }
    ExitCode::SUCCESS
}
