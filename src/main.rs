//! The `counter-agent` command line: `serve`, `check`, `devices`, `scan`, `token`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use counter_agent::agent::{registry, Agent, AgentOptions, SUPPORTED_SCHEMES};
use counter_agent::auth::{Scopes, Tokens};
use counter_agent::config::{self, Overrides, Station};
use counter_agent::store::Store;

#[derive(Parser)]
#[command(
    name = "counter-agent",
    version,
    about = "Scanner, printers and queue devices of a counter PC, behind a secure localhost API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Station file. Default: $COUNTER_AGENT_CONFIG, else /etc/counter-agent/station.toml.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides [storage] data_dir).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Listen address (overrides [server] listen); must be loopback.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Run on the built-in simulated devices (no station file needed) and allow the agent's own
        /// pages to use the API.
        #[arg(long)]
        demo: bool,
    },
    /// Validate the station file and every profile; print every problem.
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// List the devices attached to this PC, with connection strings for the station file.
    Devices {
        #[command(flatten)]
        common: Common,
    },
    /// Scan a batch to a PDF file on this PC (no daemon or browser needed).
    Scan(ScanArgs),
    /// Print a PDF, raw ESC/POS bytes or a template on a printer of this PC (no daemon or browser
    /// needed), waiting until it is on paper.
    Print(PrintArgs),
    /// Manage client tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Internal: one SANE scan session for the daemon, over a framed protocol on stdin/stdout.
    #[command(hide = true)]
    ScanWorker,
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    common: Common,
    /// The scanner's id in the station file (e.g. scanner).
    #[arg(long)]
    device: String,
    #[arg(long, value_enum)]
    source: SourceArg,
    /// auto: text pages 1-bit, colour content (seals, signatures) in colour.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,
    /// Resolution (default: the scanner profile's default).
    #[arg(long)]
    dpi: Option<u32>,
    /// Fit the PDF under this many bytes (pages are re-encoded smaller when needed).
    #[arg(long)]
    max_bytes: Option<usize>,
    /// Straighten askew pages.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    deskew: bool,
    /// Flatbed only: crop the page to the ID card on the glass.
    #[arg(long)]
    crop_id_card: bool,
    /// The PDF to write (replaced atomically).
    #[arg(long)]
    out: PathBuf,
    /// Scan on the built-in simulated devices (no station file needed).
    #[arg(long)]
    demo: bool,
}

#[derive(Args)]
struct PrintArgs {
    #[command(flatten)]
    common: Common,
    /// The printer's id in the station file (e.g. receipt).
    #[arg(long)]
    device: String,
    /// A PDF (on a thermal printer it prints as raster at the paper's width) or, with --escpos,
    /// raw ESC/POS bytes.
    #[arg(required_unless_present = "template", conflicts_with = "template")]
    file: Option<PathBuf>,
    /// FILE holds raw ESC/POS bytes, sent untouched.
    #[arg(long, requires = "file")]
    escpos: bool,
    /// A PDF wider than a thermal printer's paper (A4 on 80 mm) is scaled down to it.
    #[arg(long, requires = "file")]
    fit_to_width: bool,
    /// A template rendered by the agent: dossier-receipt or queue-ticket.
    #[arg(long, requires = "data")]
    template: Option<String>,
    /// The template's fields, a JSON file.
    #[arg(long, requires = "template")]
    data: Option<PathBuf>,
    /// Print on the built-in simulated devices (no station file needed).
    #[arg(long)]
    demo: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SourceArg {
    Adf,
    Flatbed,
    AdfDuplex,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ColorArg {
    Auto,
    Color,
    Gray,
    Bw,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it once on stdout.
    Create {
        #[command(flatten)]
        common: Common,
        /// The web app's exact origin, e.g. https://motcua.example.gov.vn
        #[arg(long)]
        origin: String,
        /// Comma-separated: scan, print, queue-issue, queue-call, admin.
        #[arg(long, default_value = "scan,print,queue-issue,queue-call")]
        scopes: String,
        #[arg(long, default_value = "created on the command line")]
        label: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

fn config_path(common: &Common) -> PathBuf {
    common
        .config
        .clone()
        .or_else(|| std::env::var_os("COUNTER_AGENT_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/etc/counter-agent/station.toml"))
}

/// Loads the station file, printing warnings; errors are printed and turned into a failure.
fn load(common: &Common, listen: Option<SocketAddr>) -> anyhow::Result<Station> {
    let path = config_path(common);
    let overrides = Overrides { listen, data_dir: common.data_dir.clone() };
    match config::load_station(&path, &overrides, SUPPORTED_SCHEMES) {
        Ok((station, warnings)) => {
            for warning in &warnings.0 {
                eprintln!("{warning}");
            }
            Ok(station)
        }
        Err(diagnostics) => {
            for diagnostic in &diagnostics.0 {
                eprintln!("{diagnostic}");
            }
            bail!("the station configuration has errors (above); fix them and run `counter-agent check` again")
        }
    }
}

fn demo_data_dir() -> PathBuf {
    std::env::temp_dir().join("counter-agent-demo")
}

async fn serve(common: Common, listen: Option<SocketAddr>, demo: bool) -> anyhow::Result<()> {
    let station = if demo && common.config.is_none() {
        let listen = listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7420)));
        config::demo_station(listen, common.data_dir.clone().unwrap_or_else(demo_data_dir))
    } else {
        load(&common, listen)?
    };
    check_devices(&station)?;
    let n_devices = station.devices.len();
    let options = AgentOptions { demo, ..AgentOptions::default() };
    let agent = Agent::bind(station, options).await?;
    let origin = agent.self_origin();
    tracing::info!(message = "counter-agent is serving.", address = %agent.local_addr(), devices = n_devices);
    if demo {
        println!("counter-agent demo is running. Open {origin}/demo in Chrome, Edge or Cốc Cốc (Ctrl+C to stop).");
    } else {
        println!("counter-agent is serving on {origin} (pairing page: {origin}/pair).");
    }
    agent.serve(shutdown_signal()).await.context("server failed")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!(message = "Shutting down.");
}

/// What each device's driver sees wrong without opening it (what would otherwise fail at start-up),
/// printed like the station file's own problems.
fn check_devices(station: &Station) -> anyhow::Result<()> {
    let (drivers, _) = registry(station);
    let problems = config::check_devices(station, |spec| {
        drivers.factory_for(spec.connection.scheme()).map_or_else(Vec::new, |factory| factory.check(spec))
    });
    for problem in &problems {
        eprintln!("{problem}");
    }
    if problems.has_errors() {
        bail!("the station's devices have errors (above); fix them and run `counter-agent check` again");
    }
    Ok(())
}

/// The station a one-off command (`scan`, `print`) works on — the demo one with `--demo` and no
/// `--config` — checked by the drivers, with `device` in it.
fn station_for_device(common: &Common, demo: bool, device: &str) -> anyhow::Result<Station> {
    let station = if demo && common.config.is_none() {
        let data_dir = common.data_dir.clone().unwrap_or_else(demo_data_dir);
        config::demo_station(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir)
    } else {
        load(common, None)?
    };
    check_devices(&station)?;
    if station.devices.iter().all(|d| d.id != device) {
        let ids: Vec<&str> = station.devices.iter().map(|d| d.id.as_str()).collect();
        bail!("no device `{device}` in the station (devices: {})", ids.join(", "));
    }
    Ok(station)
}

/// `counter-agent scan`: the station's devices and the daemon's scan service, in this process.
async fn scan(args: ScanArgs) -> anyhow::Result<()> {
    use counter_agent::scan::cli::{scan_to_file, Terminal};
    use counter_agent_driver_api::{ColorMode, ScanSource};
    use std::io::IsTerminal;

    let station = station_for_device(&args.common, args.demo, &args.device)?;
    // Pages go to a private folder of this run, never the daemon's scan folder.
    std::fs::create_dir_all(&station.data_dir)
        .with_context(|| format!("cannot create the data directory {}", station.data_dir.display()))?;
    let pages_dir = counter_agent::scan::cli::pages_dir(&station.data_dir);
    let options = AgentOptions::default();
    let events = counter_agent::events::EventBus::new(Store::open_in_memory()?);
    let (devices, _) = counter_agent::agent::start_devices(&station, &options, &events)?;
    let service = counter_agent::agent::start_scans(&station, &options, &devices, &events, pages_dir.clone())?;
    let request = counter_agent::scan::StartScan {
        device: args.device.clone(),
        source: match args.source {
            SourceArg::Adf => ScanSource::Adf,
            SourceArg::Flatbed => ScanSource::Flatbed,
            SourceArg::AdfDuplex => ScanSource::AdfDuplex,
        },
        color: match args.color {
            ColorArg::Auto => ColorMode::Auto,
            ColorArg::Color => ColorMode::Color,
            ColorArg::Gray => ColorMode::Gray,
            ColorArg::Bw => ColorMode::Bw,
        },
        dpi: args.dpi,
        deskew: args.deskew,
        crop_id_card: args.crop_id_card,
    };
    let terminal = Terminal { tty: std::io::stderr().is_terminal(), interactive: std::io::stdin().is_terminal() };
    let result = scan_to_file(&service, request, args.max_bytes, &args.out, &terminal).await;
    devices.shutdown();
    let _ = std::fs::remove_dir_all(&pages_dir);
    result?;
    Ok(())
}

async fn print(args: PrintArgs) -> anyhow::Result<()> {
    use counter_agent::print::cli::{print, CliDocument};
    use counter_agent::print::{PrintConfig, PrintService, SubmitPrint, SubmitTemplate};
    use counter_agent_driver_api::DocumentFormat;

    let station = station_for_device(&args.common, args.demo, &args.device)?;
    let idempotency_key = format!("cli-{}", counter_agent::auth::random_id(8));
    let document = match (&args.file, &args.template, &args.data) {
        (Some(file), None, None) => {
            let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let format = if args.escpos { DocumentFormat::EscPos } else { DocumentFormat::Pdf };
            CliDocument::Print(SubmitPrint {
                device: args.device.clone(),
                idempotency_key,
                format,
                bytes,
                fit_to_width: args.fit_to_width,
            })
        }
        (None, Some(template), Some(data)) => {
            let text = std::fs::read_to_string(data).with_context(|| format!("cannot read {}", data.display()))?;
            let data: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", data.display()))?;
            CliDocument::Template(SubmitTemplate {
                device: args.device.clone(),
                idempotency_key,
                template: template.clone(),
                data,
            })
        }
        _ => bail!("give a FILE, or --template NAME with --data FILE.json"),
    };
    // Jobs go to a private spool and an in-memory queue, never the daemon's.
    let spool = station.data_dir.join(format!("print-cli-{}", std::process::id()));
    let options = AgentOptions::default();
    let events = counter_agent::events::EventBus::new(Store::open_in_memory()?);
    let (devices, _) = counter_agent::agent::start_devices(&station, &options, &events)?;
    let config = PrintConfig { office: station.office.clone(), max_pdf_pages: station.max_pdf_pages };
    let result = async {
        let service = PrintService::start(Store::open_in_memory()?, devices.clone(), events, spool.clone(), config)?;
        anyhow::Ok(print(&service, document).await?)
    }
    .await;
    devices.shutdown();
    let _ = std::fs::remove_dir_all(&spool);
    let job = result?;
    eprintln!("Printed: job {} on {}.", job.id, job.device);
    Ok(())
}

fn check(common: &Common) -> anyhow::Result<()> {
    let station = load(common, None)?;
    check_devices(&station)?;
    println!(
        "{}: OK — station \"{}\", counter {}, {} device(s), {} profile(s)",
        config_path(common).display(),
        station.name,
        station.counter,
        station.devices.len(),
        station.profiles.len()
    );
    Ok(())
}

fn devices(common: &Common) -> anyhow::Result<()> {
    let data_dir = common.data_dir.clone().unwrap_or_else(demo_data_dir);
    let station = config::demo_station(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir);
    let (registry, _) = registry(&station);
    let mut found = counter_agent::devices::discover::system();
    match counter_agent_driver_sane::list_devices(std::time::Duration::from_secs(10)) {
        Ok(scanners) => found.extend(scanners.iter().map(|s| s.to_discovered())),
        Err(error) => eprintln!("scanners: {error}"),
    }
    for (_, discovered) in registry.discover() {
        found.extend(discovered);
    }
    for device in &found {
        let kind = device.kind.map_or("?", |k| k.as_str());
        println!("{kind:8} {:40} {}", device.connection, device.description);
    }
    if found.is_empty() {
        println!("No devices found.");
    }
    Ok(())
}

fn open_tokens(common: &Common) -> anyhow::Result<(Tokens, Station)> {
    let station = load(common, None)?;
    let store = Store::open(&station.data_dir)?;
    Ok((Tokens::load(store)?, station))
}

fn token(action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::Create { common, origin, scopes, label } => {
            let (tokens, station) = open_tokens(&common)?;
            let origin = config::normalize_origin(&origin).map_err(|message| anyhow::anyhow!("--origin: {message}"))?;
            let scopes = Scopes::parse(scopes.split(',').map(str::trim).filter(|s| !s.is_empty()))?;
            if scopes.is_empty() {
                bail!("--scopes: name at least one scope");
            }
            if !station.allowed_origins.contains(&origin) {
                eprintln!(
                    "warning: {origin} is not in [server] allowed_origins of {}; requests from it will be refused until it is",
                    config_path(&common).display()
                );
            }
            let new = tokens.create(&origin, scopes, &label)?;
            eprintln!("token {} for {} with scopes {}", new.info.id, new.info.origin, new.info.scopes.to_storage());
            println!("{}", new.secret);
        }
        TokenAction::List { common } => {
            let (tokens, _) = open_tokens(&common)?;
            for t in tokens.list()? {
                let state = if t.revoked_ms.is_some() { "revoked" } else { "active" };
                println!("{}  {state:7}  {}  [{}]  {}", t.id, t.origin, t.scopes.to_storage(), t.label);
            }
        }
        TokenAction::Revoke { common, id } => {
            let (tokens, _) = open_tokens(&common)?;
            if !tokens.revoke(&id)? {
                bail!("no token `{id}` (see `counter-agent token list`)");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// The error and its causes on one line, skipping a cause whose text the message already quotes
/// (our messages often say "cannot listen on X: <cause> — hint").
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COUNTER_AGENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}

/// The scan worker's stdout as a plain file: `std::io::Stdout` is line-buffered, which scans every
/// 26 MB page for newlines before writing it.
#[cfg(unix)]
fn worker_stdout() -> Box<dyn std::io::Write + Send> {
    use std::os::fd::AsFd;
    match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(std::io::stdout()),
    }
}

#[cfg(not(unix))]
fn worker_stdout() -> Box<dyn std::io::Write + Send> {
    Box::new(std::io::stdout())
}

/// Large buffers (a scanned A4 colour page is 26 MB) are mapped and unmapped one by one instead of
/// coming from glibc's heaps. With glibc's default the mmap threshold grows to the size of the
/// last freed buffer, later pages come from heaps it never gives back, and about 120 MB stayed
/// resident after every batch; with a fixed 1 MiB threshold the agent returns to ~15 MB when a
/// batch ends and its peak during a 10-page batch fell from 173 to 110 MB (benches/scan_flow.sh).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn give_large_buffers_back_to_the_os() {
    // SAFETY: `mallopt` only changes allocator parameters and has no memory-safety preconditions;
    // it runs in `main` before any other thread exists. A refusal (return 0) merely
    // keeps glibc's default behaviour.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_large_buffers_back_to_the_os() {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::ScanWorker = cli.command {
        // stdout carries the protocol: nothing else may be written to it, so no logging set-up.
        // The worker lives for one batch, so glibc's default allocator tuning (reusing its heap
        // for page after page, no fresh zeroed pages each time) is the faster choice there.
        let code = counter_agent_driver_sane::run_worker(std::io::stdin(), worker_stdout());
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
    give_large_buffers_back_to_the_os();
    init_logging();
    let result = match cli.command {
        Command::Serve { common, listen, demo } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")
            .and_then(|runtime| runtime.block_on(serve(common, listen, demo))),
        Command::Check { common } => check(&common),
        Command::Devices { common } => devices(&common),
        Command::Scan(args) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")
            .and_then(|runtime| runtime.block_on(scan(args))),
        Command::Print(args) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")
            .and_then(|runtime| runtime.block_on(print(args))),
        Command::Token { action } => token(action),
        Command::ScanWorker => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}
