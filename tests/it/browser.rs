//! A real browser against a real agent (DESIGN §7): Debian's headless Chromium, driven over the
//! DevTools protocol, loads the clerk demo page from `web/` and acts through its UI as a clerk
//! would — pairing with the code read off the agent's `/pair` page, watching device status change
//! live over the WebSocket, scanning, printing. CORS, pairing and WebSockets are exercised for
//! real, including a page from an origin the station file does not allow.
//!
//! A missing Chromium fails these tests; it never skips them.

mod cdp;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use counter_agent_driver_api::{DocumentFormat, StatusReason};

use cdp::{Chromium, Page};

use crate::harness::TestAgent;

const WAIT: Duration = Duration::from_secs(10);
const SCAN_WAIT: Duration = Duration::from_secs(40);

/// Serves `web/` from disk, as a province web app's server would serve the page and the client,
/// with a strict CSP (no inline script or style) whose `connect-src` names the agent.
struct WebServer {
    origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The agent's port, known only once the agent (which must allow the web origin) has started.
type AgentPort = Arc<OnceLock<u16>>;

async fn web_file(State(agent_port): State<AgentPort>, Path(name): Path<String>) -> Response {
    let content_type = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let body = if name == "blank.html" {
        "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>probe</title></html>".to_string()
    } else if ["demo.html", "demo.js", "demo.css", "counter-agent.js"].contains(&name.as_str()) {
        match std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web").join(&name)) {
            Ok(text) => text,
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        }
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let port = agent_port.get().copied().unwrap_or(0);
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
         connect-src 'self' http://127.0.0.1:{port} ws://127.0.0.1:{port}; frame-ancestors 'none'"
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("ascii CSP"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl WebServer {
    async fn start(agent_port: AgentPort) -> WebServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind web server");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let router = Router::new().route("/{file}", get(web_file)).with_state(agent_port);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        WebServer { origin, task }
    }
}

/// An agent that allows one web origin, that origin's server, and a browser.
struct Setup {
    agent: TestAgent,
    web: WebServer,
    browser: Chromium,
    page: Page,
}

impl Setup {
    async fn start() -> Setup {
        let agent_port: AgentPort = Arc::default();
        let web = WebServer::start(agent_port.clone()).await;
        let allowed = web.origin.clone();
        let agent = TestAgent::start_with(move |station, _| station.allowed_origins.push(allowed)).await;
        agent_port.set(agent.addr.port()).expect("set once");
        let browser = Chromium::launch().await;
        let page = browser.page().await;
        Setup { agent, web, browser, page }
    }
}

/// JS string literal.
fn js(text: &str) -> String {
    serde_json::to_string(text).expect("string")
}

/// The code the agent's pairing page shows for `origin`, read the way a clerk reads it: from the
/// page itself, fetched without an Origin header as a local browser tab would.
async fn pairing_code(pair_page: &str, origin: &str) -> String {
    let html = TestAgent::client().get(pair_page).send().await.expect("pair page").text().await.expect("html");
    let request = html
        .split("<li class=\"request\">")
        .find(|item| item.contains(&format!(">{origin}<")))
        .unwrap_or_else(|| panic!("the pairing page lists no request from {origin}:\n{html}"));
    let start = request.find("data-code=\"").expect("a data-code attribute") + "data-code=\"".len();
    let code: String = request[start..].chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "{request}");
    code
}

/// Clicks through the pairing panel and types the code from the agent's page.
async fn pair_through_the_page(page: &Page, agent: &TestAgent, origin: &str, screenshot: Option<&str>) {
    page.wait_for("the pairing panel", "!document.getElementById('pairing').hidden", WAIT).await;
    page.eval("document.getElementById('pair-start').click()").await;
    let link = page
        .wait_for(
            "the pairing instructions",
            "!document.getElementById('pair-form').hidden && document.getElementById('pair-link').href",
            WAIT,
        )
        .await;
    let instruction = page.eval("document.querySelector('#pair-form .instruction').textContent").await;
    assert!(
        instruction
            .as_str()
            .is_some_and(|t| t.starts_with("Mở trang ghép nối trên máy này:") && t.ends_with("và nhập mã 6 số")),
        "{instruction}"
    );
    let link = link.as_str().expect("link").to_string();
    assert_eq!(link, agent.url("/pair"));
    let code = pairing_code(&link, origin).await;
    // The clerk reads "123 456" and types it with the space.
    page.eval("document.getElementById('pair-code').focus()").await;
    page.type_text(&format!("{} {}", &code[..3], &code[3..])).await;
    if let Some(name) = screenshot {
        page.screenshot_to(name).await;
    }
    page.eval("document.getElementById('pair-submit').click()").await;
    page.wait_for(
        "the page to leave pairing",
        "document.getElementById('pairing').hidden && !document.getElementById('paired').hidden",
        WAIT,
    )
    .await;
}

/// `[[device id, badge text, reason text], …]` as the page shows them.
const DEVICES_JS: &str = "[...document.querySelectorAll('#device-list .device')].map(d => \
    [d.dataset.device, d.querySelector('.badge').textContent, d.querySelector('.device-reason').textContent])";

async fn wait_for_device(page: &Page, device: &str, badge: &str, reason: &str) {
    let expression = format!(
        "(() => {{ const d = document.querySelector('[data-device={}]'); \
           return d && d.querySelector('.badge').textContent === {} && d.querySelector('.device-reason').textContent === {}; }})()",
        js(device),
        js(badge),
        js(reason)
    );
    page.wait_for(&format!("{device} to show “{badge}” {reason}"), &expression, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_from_another_origin_pairs_watches_scans_and_prints() {
    let Setup { agent, web, browser, page } = Setup::start().await;
    let demo = format!("{}/demo.html?agent={}", web.origin, agent.self_origin);
    page.navigate(&demo).await;
    pair_through_the_page(&page, &agent, &web.origin, Some("demo-pairing")).await;

    // The four simulated devices, all ready.
    let devices = page
        .wait_for(
            "four devices",
            &format!("(() => {{ const d = {DEVICES_JS}; return d.length === 4 && d.every(x => x[1] === 'Sẵn sàng') && d; }})()"),
            WAIT,
        )
        .await;
    let ids: Vec<&str> = devices.as_array().expect("array").iter().filter_map(|d| d[0].as_str()).collect();
    assert_eq!(ids, ["scanner", "a4", "receipt", "ticket"]);

    // A fault shows up live, through the event stream (the page does not poll).
    page.wait_for("the event stream", "document.getElementById('connection').dataset.state === 'ok'", WAIT).await;
    agent.sim.set_fault("receipt", Some(StatusReason::PaperOut));
    wait_for_device(&page, "receipt", "Lỗi", StatusReason::PaperOut.message_vi()).await;
    agent.sim.set_fault("receipt", None);
    wait_for_device(&page, "receipt", "Sẵn sàng", "").await;

    // An ADF batch at 100 dpi: four thumbnails, then "completed".
    page.eval(
        "document.getElementById('scan-device').value = 'scanner'; \
         document.querySelector('input[name=source][value=adf]').click(); \
         document.querySelector('input[name=color][value=auto]').click(); \
         const dpi = document.getElementById('scan-dpi'); dpi.value = '100'; \
         dpi.dispatchEvent(new Event('change', { bubbles: true })); \
         document.getElementById('scan-start').click()",
    )
    .await;
    let state = page
        .wait_for(
            "four thumbnails and a completed scan",
            "(() => { const imgs = [...document.querySelectorAll('#thumbs img')]; \
               const s = document.getElementById('scan-state'); \
               return imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 0) \
                 && s.dataset.state === 'completed' && s.textContent; })()",
            SCAN_WAIT,
        )
        .await;
    assert_eq!(state, "Hoàn tất — 4 trang");
    let shot = page.screenshot_to("demo-after-scan").await;
    eprintln!("screenshot of the demo page after the scan: {}", shot.display());

    // Print the scanned PDF on the A4 printer, then the ESC/POS test receipt.
    assert_eq!(page.eval("document.getElementById('print-pdf-device').value").await, "a4");
    page.wait_for("the print button", "!document.getElementById('print-scan').disabled", WAIT).await;
    page.eval("document.getElementById('print-scan').click()").await;
    page.wait_for(
        "the PDF job to print",
        "(() => { const j = document.querySelector('#jobs .job'); return j && j.dataset.state === 'printed' && j.querySelector('.job-state').textContent === 'Đã in xong'; })()",
        WAIT,
    )
    .await;
    let printed = agent.sim.printed("a4");
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(printed[0].format, DocumentFormat::Pdf);
    assert!(std::fs::read(&printed[0].path).expect("kept PDF").starts_with(b"%PDF-"));

    assert_eq!(page.eval("document.getElementById('print-receipt-device').value").await, "receipt");
    page.eval("document.getElementById('print-receipt').click()").await;
    page.wait_for(
        "the receipt job to print",
        "document.querySelectorAll('#jobs .job[data-state=printed]').length === 2",
        WAIT,
    )
    .await;
    let receipts = agent.sim.printed("receipt");
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(receipts[0].format, DocumentFormat::EscPos);
    assert_eq!(receipts[0].preview_error, None, "the test receipt is valid ESC/POS");
    assert!(receipts[0].preview.is_some());
    page.screenshot_to("demo-after-print").await;

    // The token stays in the page's storage: never in the agent's audit log.
    let token = page
        .eval(&format!(
            "JSON.parse(localStorage.getItem({})).token",
            js(&format!("counter-agent.token:{}", agent.self_origin))
        ))
        .await;
    let token = token.as_str().expect("a stored token").to_string();
    assert!(!page.console().contains(&token), "the token was logged to the console");

    // A page from an origin the station file does not list gets nothing: the fetch is refused
    // (no CORS grant) and the WebSocket closes without opening. The demo page there tells the
    // clerk it cannot reach the agent.
    let foreign = WebServer::start(Arc::new(OnceLock::from(agent.addr.port()))).await;
    page.navigate(&format!("{}/demo.html?agent={}", foreign.origin, agent.self_origin)).await;
    let title = page
        .wait_for(
            "the unreachable-agent error",
            "document.getElementById('error').dataset.code === 'agent_unreachable' && document.getElementById('error-title').textContent",
            WAIT,
        )
        .await;
    assert_eq!(title, "Không kết nối được với phần mềm máy quầy (counter-agent).");
    page.screenshot_to("demo-foreign-origin").await;
    page.navigate(&format!("{}/blank.html", foreign.origin)).await;
    let probe = page
        .eval(&format!(
            "(async () => {{
               const agent = {agent};
               let fetched;
               try {{ const r = await fetch(agent + '/v1/health'); fetched = 'resolved ' + r.status; }}
               catch (e) {{ fetched = 'rejected ' + e.name; }}
               const socket = await new Promise(resolve => {{
                 let opened = false;
                 const ws = new WebSocket(agent.replace('http', 'ws') + '/v1/events?ticket=probe');
                 ws.onopen = () => {{ opened = true; }};
                 ws.onclose = e => resolve({{ opened, closed: true, code: e.code }});
                 setTimeout(() => resolve({{ opened, closed: false }}), 5000);
               }});
               return {{ fetched, socket }};
             }})()",
            agent = js(&agent.self_origin)
        ))
        .await;
    assert_eq!(probe["fetched"], "rejected TypeError", "{probe}");
    assert_eq!(probe["socket"]["opened"], false, "{probe}");
    assert_eq!(probe["socket"]["closed"], true, "{probe}");

    for path in ["/v1/health", "/v1/events"] {
        agent
            .audit_until(|l| {
                l["decision"] == "deny"
                    && l["reason"] == "origin_not_allowed"
                    && l["origin"] == foreign.origin.as_str()
                    && l["path"] == path
            })
            .await;
    }
    assert!(!agent.audit_text().contains(&token), "the token is in the audit log");

    drop(page);
    drop(browser);
    agent.stop().await;
}

/// Test instrumentation: keeps every WebSocket the page opens in `window.__sockets`.
const RECORD_SOCKETS_JS: &str = "(() => { const Native = window.WebSocket; window.__sockets = []; \
    window.WebSocket = class extends Native { constructor(...args) { super(...args); window.__sockets.push(this); } }; })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_served_by_the_agent_finds_its_files_and_pairs() {
    let agent = TestAgent::start_with(|_, options| options.demo = true).await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    page.add_init_script(RECORD_SOCKETS_JS).await;
    page.navigate(&agent.url("/web/demo.html")).await;
    assert_eq!(page.eval("document.getElementById('agent-url').textContent").await, agent.self_origin.as_str());
    pair_through_the_page(&page, &agent, &agent.self_origin, None).await;
    let devices = page
        .wait_for(
            "four devices",
            &format!("(() => {{ const d = {DEVICES_JS}; return d.length === 4 && d.every(x => x[1] === 'Sẵn sàng') && d; }})()"),
            WAIT,
        )
        .await;
    assert_eq!(devices.as_array().map(Vec::len), Some(4));
    page.wait_for("the event stream", "document.getElementById('connection').dataset.state === 'ok'", WAIT).await;
    agent.sim.set_fault("a4", Some(StatusReason::CoverOpen));
    wait_for_device(&page, "a4", "Lỗi", StatusReason::CoverOpen.message_vi()).await;
    // When the stream drops, the client reconnects with a fresh ticket and `since`, so the
    // status change published while it was away still arrives (replayed, not refetched).
    page.eval("window.__sockets[0].close()").await;
    agent.sim.set_fault("a4", None);
    wait_for_device(&page, "a4", "Sẵn sàng", "").await;
    let url = page
        .wait_for(
            "a second event socket",
            "window.__sockets.length === 2 && window.__sockets[1].readyState === WebSocket.OPEN && window.__sockets[1].url",
            WAIT,
        )
        .await;
    assert!(url.as_str().is_some_and(|u| u.contains("&since=")), "{url}");
    // The stylesheet applied (the primary button is the agent's blue), so /web/demo.css loaded.
    let color = page.eval("getComputedStyle(document.getElementById('scan-start')).backgroundColor").await;
    assert_eq!(color, "rgb(10, 79, 163)");
    drop(page);
    drop(browser);
    agent.stop().await;
}
