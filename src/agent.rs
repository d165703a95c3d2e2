//! Start-up and serving: turns a resolved [`Station`] into running services and an HTTP server.
//!
//! `main` and the integration tests both go through [`Agent::bind`] and [`Agent::serve`]; tests
//! bind `127.0.0.1:0`.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use counter_agent_driver_sane::{SaneFactory, WorkerCommand};
use counter_agent_driver_sim::{SimControl, SimFactory};
use tokio::net::TcpListener;

use crate::api::ratelimit::{Rate, RateLimiter};
use crate::api::{AppInner, AppState, MAX_PRINT_BODY};
use crate::auth::{Audit, Pairings, Tickets, Tokens};
use crate::config::Station;
use crate::devices::{DeviceInfo, DeviceStartError, Devices, Registry, StatusListener};
use crate::events::{EventBody, EventBus};
use crate::print::{PrintConfig, PrintError, PrintService};
use crate::scan::ScanService;
use crate::store::{Store, StoreError};

/// Connection schemes this build has drivers for. The station file refuses the others.
pub const SUPPORTED_SCHEMES: &[&str] = &["sim", "folder", "sane", "tcp", "serial", "file", "ipp", "ipps"];

/// The static list of driver factories; SANE scans run in `<this executable> scan-worker`.
pub fn registry(station: &Station) -> (Registry, SimControl) {
    registry_with(station, None)
}

/// The scan worker the daemon starts for each SANE scan: this executable's hidden `scan-worker`.
pub fn default_scan_worker() -> WorkerCommand {
    let program = std::env::current_exe().unwrap_or_else(|_| "counter-agent".into());
    WorkerCommand::new(program, ["scan-worker"])
}

/// [`registry`] with another scan-worker command (tests run the built binary with their own
/// `SANE_CONFIG_DIR`).
pub fn registry_with(station: &Station, scan_worker: Option<&WorkerCommand>) -> (Registry, SimControl) {
    let sane = SaneFactory::new(scan_worker.cloned().unwrap_or_else(default_scan_worker));
    let sim = SimFactory::new(station.data_dir.join("sim-output"));
    let control = sim.control();
    let registry = Registry::new().with(Arc::new(sim));
    let registry = registry.with(Arc::new(counter_agent_driver_folder::FolderFactory::new()));
    let registry = registry.with(Arc::new(sane));
    let registry = registry.with(Arc::new(counter_agent_driver_escpos::EscposFactory::new()));
    let registry = registry.with(Arc::new(counter_agent_driver_ipp::IppFactory::new()));
    (registry, control)
}

/// Knobs that are not in the station file.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Demo mode: the agent's own pages may call the API.
    pub demo: bool,
    /// How often device actors poll status.
    pub poll_interval: Duration,
    /// Scans are deleted after this long without activity, unless the station file's
    /// `[scan] retention` says otherwise.
    pub scan_ttl: Duration,
    /// A paused scan batch is closed after this long without activity (frees the scanner).
    pub scan_paused_idle: Duration,
    /// Per-origin rate limits: reads and writes.
    pub read_rate: Rate,
    pub write_rate: Rate,
    /// The process SANE scans run in; `None`: [`default_scan_worker`].
    pub scan_worker: Option<WorkerCommand>,
}

impl Default for AgentOptions {
    fn default() -> AgentOptions {
        AgentOptions {
            demo: false,
            poll_interval: Duration::from_secs(2),
            scan_ttl: crate::scan::DEFAULT_RETENTION,
            scan_paused_idle: crate::scan::PAUSED_IDLE,
            read_rate: Rate { per_second: 2000.0, burst: 4000.0 },
            write_rate: Rate { per_second: 20.0, burst: 40.0 },
            scan_worker: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("listen address {0} is not a loopback address — the agent only listens on 127.0.0.1 or ::1")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source} — is another counter-agent already running? Stop it or choose another port with --listen")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot open the audit log in the data directory: {0}")]
    Audit(#[source] std::io::Error),
    #[error("cannot prepare the scan folder in the data directory: {0}")]
    Scans(#[source] std::io::Error),
    #[error("cannot start the print queue: {0}")]
    Prints(#[from] PrintError),
    #[error(transparent)]
    Devices(#[from] DeviceStartError),
}

/// Starts one actor per station device; status changes are published on `events`.
pub fn start_devices(
    station: &Station,
    options: &AgentOptions,
    events: &EventBus,
) -> Result<(Devices, SimControl), StartError> {
    let (registry, sim) = registry_with(station, options.scan_worker.as_ref());
    let listener_events = events.clone();
    let on_status: StatusListener = Arc::new(move |info: &DeviceInfo, status| {
        listener_events.publish(
            None,
            EventBody::DeviceStatus {
                device: info.id.clone(),
                state: status.state.as_str().to_string(),
                reason: status.reason.map(|r| r.code().to_string()),
            },
        );
    });
    let infos = station
        .devices
        .iter()
        .map(|d| DeviceInfo {
            id: d.id.clone(),
            kind: d.kind,
            profile_id: d.profile_id.clone(),
            display_name: d.display_name.clone(),
            connection: d.connection.clone(),
            settings: d.settings.clone(),
        })
        .collect();
    let devices = Devices::start(&registry, infos, options.poll_interval, on_status)?;
    Ok((devices, sim))
}

/// The scan service on `devices`, keeping pages in `dir` (emptied first), with its sweeper running.
/// Retention: the station's `[scan] retention`, else `options.scan_ttl`.
pub fn start_scans(
    station: &Station,
    options: &AgentOptions,
    devices: &Devices,
    events: &EventBus,
    dir: std::path::PathBuf,
) -> Result<ScanService, StartError> {
    let ttl = station.scan_retention.unwrap_or(options.scan_ttl);
    let scans = ScanService::new(devices.clone(), events.clone(), dir, ttl, options.scan_paused_idle)
        .map_err(StartError::Scans)?;
    scans.spawn_sweeper();
    Ok(scans)
}

/// A bound, fully started agent, ready to serve.
pub struct Agent {
    listener: TcpListener,
    state: AppState,
    sim: SimControl,
    /// Where scan sessions keep their pages; emptied when the agent stops.
    scans_dir: PathBuf,
}

impl Agent {
    /// Binds the listener (loopback only), opens storage and starts every device actor.
    pub async fn bind(station: Station, options: AgentOptions) -> Result<Agent, StartError> {
        if !station.listen.ip().is_loopback() {
            return Err(StartError::NotLoopback(station.listen));
        }
        let listener = TcpListener::bind(station.listen)
            .await
            .map_err(|source| StartError::Bind { addr: station.listen, source })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind { addr: station.listen, source })?;
        let store = Store::open(&station.data_dir)?;
        let events = EventBus::new(store.clone());
        let tokens = Tokens::load(store.clone())?;
        let audit = Audit::open(&station.data_dir).map_err(StartError::Audit)?;
        let (devices, sim) = start_devices(&station, &options, &events)?;
        let scans_dir = station.data_dir.join("scans");
        let scans = start_scans(&station, &options, &devices, &events, scans_dir.clone())?;
        let prints = PrintService::start(
            store.clone(),
            devices.clone(),
            events.clone(),
            station.data_dir.join("spool"),
            PrintConfig { office: station.office.clone(), max_pdf_pages: station.max_pdf_pages },
        )?;

        // The agent is reached at the address it is bound to (`127.0.0.1:7420`, `[::1]:7420`,
        // `127.0.0.2:…`) or as `localhost`; nothing else is its own origin or an acceptable Host.
        let port = local.port();
        let self_origin = format!("http://{local}");
        let self_origins = [self_origin.clone(), format!("http://localhost:{port}")];
        let mut allowed_origins: HashSet<String> = station.allowed_origins.iter().cloned().collect();
        let self_origin_allowed = options.demo || self_origins.iter().any(|o| allowed_origins.contains(o));
        if self_origin_allowed {
            allowed_origins.extend(self_origins.iter().cloned());
        }
        let allowed_hosts = [local.to_string(), format!("localhost:{port}")].into_iter().collect();
        let state = AppState {
            inner: Arc::new(AppInner {
                station_name: station.name.clone(),
                allowed_origins,
                allowed_hosts,
                self_origin,
                self_origin_allowed,
                own_origins: self_origins.into_iter().collect(),
                tokens,
                pairings: Pairings::new(),
                tickets: Tickets::new(),
                audit,
                devices,
                events,
                scans,
                prints,
                limiter: RateLimiter::new(options.read_rate, options.write_rate),
                // Denials are audited up to 20 per second per origin, so a flood cannot fill the disk.
                deny_audit_limiter: RateLimiter::new(
                    Rate { per_second: 20.0, burst: 100.0 },
                    Rate { per_second: 20.0, burst: 100.0 },
                ),
                max_print_body: MAX_PRINT_BODY,
                demo_sim: options.demo.then(|| sim.clone()),
            }),
        };
        Ok(Agent { listener, state, sim, scans_dir })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound TCP listener has a local address")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn self_origin(&self) -> String {
        self.state.inner.self_origin.clone()
    }

    /// Fault injection for the simulated devices (demo and tests).
    pub fn sim_control(&self) -> SimControl {
        self.sim.clone()
    }

    pub fn tokens(&self) -> Tokens {
        self.state.inner.tokens.clone()
    }

    /// Serves until `shutdown` resolves, then stops the device actors and deletes every scanned
    /// page (scans do not outlive the agent: they are citizen data, and no session survives a
    /// restart to claim them).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let devices = self.state.inner.devices.clone();
        let router = crate::api::router(self.state);
        let result = axum::serve(self.listener, router).with_graceful_shutdown(shutdown).await;
        devices.shutdown();
        if let Err(error) = std::fs::remove_dir_all(&self.scans_dir) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(message = "Cannot delete scanned pages at shutdown.", %error);
            }
        }
        result
    }
}
