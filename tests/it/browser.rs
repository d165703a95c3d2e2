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
    // The request has been answered once the button is idle again (the form may still show an
    // earlier request's instructions).
    let link = page
        .wait_for(
            "the pairing instructions",
            "!document.getElementById('pair-start').hasAttribute('aria-busy') \
               && !document.getElementById('pair-form').hidden && document.getElementById('pair-link').href",
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

/// What the error box shows: `[code, title, hint, steps…, detail, retry visible]`.
const ERROR_JS: &str = "(() => { const e = document.getElementById('error'); return !e.hidden && { \
    code: e.dataset.code, title: document.getElementById('error-title').textContent, \
    hint: document.getElementById('error-hint').textContent, \
    steps: [...document.querySelectorAll('#error-steps li')].map(li => li.textContent), \
    detail: document.getElementById('error-detail').textContent, \
    retry: !document.getElementById('error-retry').hidden }; })()";

/// Waits until the error box shows `code` and returns what it shows (see [`ERROR_JS`]).
async fn wait_for_error(page: &Page, code: &str) -> serde_json::Value {
    page.wait_for(
        &format!("the “{code}” error"),
        &format!("(() => {{ const e = {ERROR_JS}; return e && e.code === {} && e; }})()", js(code)),
        WAIT,
    )
    .await
}

/// The clerk types a wrong code once: the page says so in Vietnamese, with the attempts left.
async fn type_a_wrong_code(page: &Page, origin: &str) {
    page.wait_for("the pairing panel", "!document.getElementById('pairing').hidden", WAIT).await;
    page.eval("document.getElementById('pair-start').click()").await;
    let link = page
        .wait_for(
            "the pairing instructions",
            "!document.getElementById('pair-form').hidden && document.getElementById('pair-link').href",
            WAIT,
        )
        .await;
    let code = pairing_code(link.as_str().expect("link"), origin).await;
    let wrong: String = code.bytes().map(|b| char::from(b'0' + (b - b'0' + 1) % 10)).collect();
    page.eval("document.getElementById('pair-code').focus()").await;
    page.type_text(&wrong).await;
    page.eval("document.getElementById('pair-submit').click()").await;
    let error = wait_for_error(page, "pairing_failed").await;
    assert_eq!(error["title"], "Mã ghép nối không đúng hoặc đã hết hạn — còn 4 lần thử trước khi bị tạm khoá 5 phút.");
    // The agent's English message is there for the technician, small.
    assert!(error["detail"].as_str().is_some_and(|d| d.contains("wrong or expired code")), "{error}");
    let sizes = page
        .eval(
            "['error-title', 'error-detail'].map(id => parseFloat(getComputedStyle(document.getElementById(id)).fontSize))",
        )
        .await;
    assert!(sizes[0].as_f64() > sizes[1].as_f64(), "the Vietnamese title is the big text: {sizes}");
}

/// Starts an ADF batch at 100 dpi on `scanner`, as a clerk would.
const START_ADF_SCAN_JS: &str = "document.getElementById('scan-device').value = 'scanner'; \
    document.querySelector('input[name=source][value=adf]').click(); \
    document.querySelector('input[name=color][value=auto]').click(); \
    const dpi = document.getElementById('scan-dpi'); dpi.value = '100'; \
    dpi.dispatchEvent(new Event('change', { bubbles: true })); \
    document.getElementById('scan-start').click()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_from_another_origin_pairs_watches_scans_and_prints() {
    let Setup { agent, web, browser, page } = Setup::start().await;
    let demo = format!("{}/demo.html?agent={}", web.origin, agent.self_origin);
    page.navigate(&demo).await;
    type_a_wrong_code(&page, &web.origin).await;
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
    wait_for_device(&page, "receipt", "Hết giấy", StatusReason::PaperOut.message_vi()).await;
    agent.sim.set_fault("receipt", None);
    wait_for_device(&page, "receipt", "Sẵn sàng", "").await;

    // An ADF batch at 100 dpi: four thumbnails, then "completed".
    page.eval(START_ADF_SCAN_JS).await;
    assert_eq!(completed_with_thumbnails(&page, 4).await, "Hoàn tất — 4 trang");
    let shot = page.screenshot_to("demo-after-scan").await;
    eprintln!("screenshot of the demo page after the scan: {}", shot.display());

    // Print the scanned PDF on the A4 printer, then the agent's dossier receipt on the thermal one.
    assert_eq!(page.eval("document.getElementById('print-pdf-device').value").await, "a4");
    page.wait_for("the print button", "!document.getElementById('print-scan').disabled", WAIT).await;
    page.eval("document.getElementById('print-scan').click()").await;
    assert_eq!(wait_for_job(&page, "Bản quét (PDF) → a4", "printed").await, "Đã in xong");
    let printed = agent.sim.printed("a4");
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(printed[0].format, DocumentFormat::Pdf);
    assert!(std::fs::read(&printed[0].path).expect("kept PDF").starts_with(b"%PDF-"));

    assert_eq!(page.eval("document.getElementById('print-thermal-device').value").await, "receipt");
    page.eval("document.getElementById('print-receipt-thermal').click()").await;
    assert_eq!(wait_for_job(&page, "Giấy tiếp nhận (khổ nhỏ) → receipt", "printed").await, "Đã in xong");
    let receipts = agent.sim.printed("receipt");
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(receipts[0].format, DocumentFormat::EscPos);
    assert_eq!(receipts[0].preview_error, None, "the agent's receipt is valid ESC/POS");
    assert!(receipts[0].preview.is_some());
    // Text arrives as raster images (GS v 0), so Vietnamese keeps its diacritics on any printer.
    let bytes = std::fs::read(&receipts[0].path).expect("kept receipt");
    assert!(bytes.windows(3).any(|w| w == [0x1D, b'v', b'0']), "no raster image in the receipt");
    // This agent is not the demo station: it does not answer the fault route, so the page offers
    // no simulation (the probe was answered long ago: the page asked when the devices first came).
    assert_eq!(page.eval("document.getElementById('print-demo').hidden").await, true);

    // A job the printer cannot take waits, in Vietnamese; one that cannot be printed any more
    // (its spooled bytes are gone) fails with a Vietnamese reason, never a bare code.
    agent.sim.set_fault("receipt", Some(StatusReason::PaperOut));
    wait_for_device(&page, "receipt", "Hết giấy", StatusReason::PaperOut.message_vi()).await;
    page.eval("document.getElementById('print-receipt-thermal').click()").await;
    let waiting = page
        .wait_for(
            "the receipt job to wait",
            "(() => { const j = document.querySelector('#jobs .job'); \
               return j && j.dataset.state === 'waiting' && j.querySelector('.job-state').textContent; })()",
            WAIT,
        )
        .await;
    assert_eq!(waiting, PAPER_OUT_WAITING);
    for entry in std::fs::read_dir(agent.data_dir.path().join("spool")).expect("spool folder") {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove spooled job");
    }
    agent.sim.set_fault("receipt", None);
    let failed = page
        .wait_for(
            "the receipt job to fail",
            "(() => { const j = document.querySelector('#jobs .job'); \
               return j && j.dataset.state === 'failed' && j.querySelector('.job-state').textContent; })()",
            WAIT,
        )
        .await;
    assert_eq!(failed, "In không được: Mất dữ liệu của lệnh in trên máy tính — hãy in lại");
    assert_eq!(agent.sim.printed("receipt").len(), 1);
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
    let error = wait_for_error(&page, "agent_unreachable").await;
    assert_eq!(error["title"], "Không kết nối được với phần mềm máy quầy (counter-agent).");
    assert_eq!(error["retry"], true, "{error}");
    assert!(error["steps"].as_array().is_some_and(|s| s.len() == 3), "{error}");
    assert_eq!(page.eval("document.getElementById('pairing').hidden").await, true);
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
    wait_for_device(&page, "a4", "Nắp mở", StatusReason::CoverOpen.message_vi()).await;
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
    check_vietnamese_texts(&page).await;
    drop(page);
    drop(browser);
    agent.stop().await;
}

/// Reason codes the agent writes as string literals (`"spool_missing".into()`) in `file`.
fn reason_literals(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut codes: Vec<String> = source
        .split(".into()")
        .filter_map(|before| before.strip_suffix('"')?.rsplit_once('"').map(|(_, code)| code.to_string()))
        .filter(|code| !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// The client's tables give Vietnamese for every error code of the API and every reason the agent
/// gives, so a page never shows a bare code; unknown codes still read as Vietnamese.
async fn check_vietnamese_texts(page: &Page) {
    let error_codes: Vec<&str> = counter_agent::api::error::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let mut reasons: Vec<String> = [
        "interrupted",
        "unsupported",
        "device_unavailable",
        "spool_missing",
        "cancelled",
        "storage_full",
        "storage_error",
        "io_error",
        "internal",
        "offline",
    ]
    .map(String::from)
    .to_vec();
    for file in ["src/print/worker.rs", "src/print/job.rs", "src/scan/session.rs"] {
        reasons.extend(reason_literals(file));
    }
    reasons.extend(StatusReason::ALL.iter().map(|r| r.code().to_string()));
    reasons.sort();
    reasons.dedup();
    let texts = page
        .eval(&format!(
            "import('/web/counter-agent.js').then(m => ({{ \
               errors: {errors}.map(c => [c, m.errorTextVi(c)]), \
               reasons: {reasons}.map(c => [c, m.reasonTextVi(c)]), \
               unknownError: m.errorTextVi('frobnicated'), unknownReason: m.reasonTextVi('frobnicated'), \
               locked: m.errorTextVi({{ code: 'pairing_locked', message: 'too many wrong codes; pairing is locked for 290 more seconds' }}), \
               failed: m.errorTextVi(new m.CounterAgentError({{ status: 403, code: 'pairing_failed', \
                 message: 'wrong or expired code; 1 attempts left before a 5-minute lockout' }})) }}))",
            errors = serde_json::to_string(&error_codes).expect("json"),
            reasons = serde_json::to_string(&reasons).expect("json"),
        ))
        .await;
    let unknown = "Lỗi không rõ (mã: frobnicated) — báo kỹ thuật viên";
    assert_eq!(texts["unknownError"], unknown);
    assert_eq!(texts["unknownReason"], unknown);
    assert_eq!(texts["locked"], "Nhập sai mã quá nhiều lần — ghép nối bị tạm khoá, thử lại sau 5 phút.");
    assert_eq!(texts["failed"], "Mã ghép nối không đúng hoặc đã hết hạn — còn 1 lần thử trước khi bị tạm khoá 5 phút.");
    for (kind, list) in [("error", &texts["errors"]), ("reason", &texts["reasons"])] {
        for pair in list.as_array().expect("pairs") {
            let (code, text) = (pair[0].as_str().expect("code"), pair[1].as_str().expect("text"));
            assert!(
                !text.starts_with("Lỗi không rõ") && !text.contains(code) && !text.is_ascii(),
                "the {kind} code `{code}` has no Vietnamese text in web/counter-agent.js: “{text}”"
            );
        }
    }
    let reason_text =
        |code: &str| texts["reasons"].as_array().and_then(|l| l.iter().find(|p| p[0] == code)).map(|p| p[1].clone());
    for reason in StatusReason::ALL {
        assert_eq!(reason_text(reason.code()), Some(reason.message_vi().into()), "{reason:?}");
    }
    assert_eq!(
        reason_text("interrupted"),
        Some("Lệnh in bị gián đoạn khi phần mềm khởi động lại — kiểm tra giấy đã in, nếu chưa có thì in lại".into())
    );
    assert_eq!(
        reason_text("storage_full"),
        Some("Ổ đĩa máy tính đã đầy — báo kỹ thuật viên giải phóng dung lượng".into())
    );
    assert_eq!(reason_text("storage_error"), Some("Không ghi được dữ liệu vào ổ đĩa máy tính".into()));
}

/// The demo-mode explanation, shown instead of “Đang khởi động…”.
const BLOCKED_TITLE: &str = "Trang thử này chỉ dùng được khi phần mềm máy quầy chạy ở chế độ demo \
    (counter-agent serve --demo), hoặc khi kỹ thuật viên thêm địa chỉ của trang vào allowed_origins.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_served_by_an_agent_outside_demo_mode_says_why_it_cannot_work() {
    // Not demo mode: the agent serves its pages, but its own origin may not use the API.
    let agent = TestAgent::start().await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    let demo = agent.url("/web/demo.html");
    page.navigate(&demo).await;
    let error = wait_for_error(&page, "origin_not_allowed").await;
    assert_eq!(error["title"], BLOCKED_TITLE);
    assert_eq!(error["retry"], true, "{error}");
    assert_eq!(
        page.eval("document.getElementById('connection').textContent").await,
        "Trang chưa được phép dùng máy quầy"
    );
    for panel in ["pairing", "paired", "scan", "devices", "print"] {
        assert_eq!(page.eval(&format!("document.getElementById('{panel}').hidden")).await, true, "{panel}");
    }
    page.screenshot_to("demo-not-demo-mode").await;

    // A token kept from an earlier demo-mode run changes nothing: the same explanation, no
    // endless “reconnecting”.
    page.eval(&format!(
        "localStorage.setItem({}, JSON.stringify({{ token: 'kept', tokenId: 't1', origin: location.origin, scopes: ['scan'] }}))",
        js(&format!("counter-agent.token:{}", agent.self_origin))
    ))
    .await;
    page.navigate(&demo).await;
    let error = wait_for_error(&page, "origin_not_allowed").await;
    assert_eq!(error["title"], BLOCKED_TITLE);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(page.eval("document.getElementById('connection').dataset.state").await, "error");
    assert_eq!(page.eval("document.getElementById('error').dataset.code").await, "origin_not_allowed");
    drop(page);
    drop(browser);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_explains_an_agent_it_cannot_reach_and_retries() {
    // A port nobody listens on (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let web = WebServer::start(Arc::new(OnceLock::from(port))).await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    page.navigate(&format!("{}/demo.html?agent=http://127.0.0.1:{port}", web.origin)).await;
    let error = wait_for_error(&page, "agent_unreachable").await;
    assert_eq!(error["title"], "Không kết nối được với phần mềm máy quầy (counter-agent).");
    assert_eq!(error["retry"], true, "{error}");
    let steps = error["steps"].as_array().expect("steps");
    assert!(steps.iter().any(|s| s.as_str().is_some_and(|s| s.contains("“Cho phép”"))), "{error}");
    assert_eq!(page.eval("document.getElementById('connection').textContent").await, "Không kết nối được máy quầy");
    assert_eq!(page.eval("document.getElementById('pairing').hidden").await, true);

    // The agent starts; “Thử lại” finds it.
    let allowed = web.origin.clone();
    let agent = TestAgent::start_with(move |station, _| {
        station.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        station.allowed_origins.push(allowed);
    })
    .await;
    page.eval("document.getElementById('error-retry').click()").await;
    page.wait_for(
        "the pairing panel after retrying",
        "!document.getElementById('pairing').hidden && document.getElementById('error').hidden \
           && document.getElementById('connection').dataset.state === 'ok'",
        WAIT,
    )
    .await;
    drop(page);
    drop(browser);
    agent.stop().await;
}

/// Test instrumentation: a download link the page clicks is recorded in `window.__downloads`
/// (name, and the first bytes of what it points at) instead of saving a file.
const RECORD_DOWNLOADS_JS: &str = "(() => { window.__downloads = []; const blobs = new Map(); \
    const create = URL.createObjectURL; \
    URL.createObjectURL = blob => { const url = create(blob); blobs.set(url, blob); return url; }; \
    document.addEventListener('click', async event => { \
      const link = event.target.closest && event.target.closest('a[download]'); \
      if (!link) return; \
      event.preventDefault(); \
      const blob = blobs.get(link.href); \
      const head = blob ? await blob.slice(0, 5).text() : 'not a blob URL'; \
      window.__downloads.push({ name: link.download, head }); \
    }, true); })()";

/// The scan panel as it is before any scan.
const FRESH_SCAN_PANEL_JS: &str = "(() => { const s = document.getElementById('scan-state'); \
    const hidden = id => document.getElementById(id).hidden; \
    return s.dataset.state === 'idle' && s.textContent === 'Chưa quét.' \
      && document.querySelectorAll('#thumbs li').length === 0 \
      && hidden('scan-continue') && hidden('scan-download') && hidden('scan-cancel') && hidden('scan-note') \
      && !document.getElementById('scan-start').disabled && document.getElementById('print-scan').disabled \
      && !hidden('print-scan-note'); })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_pauses_on_a_jam_takes_its_scan_up_after_a_reload_and_discards_it() {
    let agent = TestAgent::start_with(|_, options| options.demo = true).await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    // The counter PC is in Vietnam, whatever the machine running the test says.
    page.call("Emulation.setTimezoneOverride", serde_json::json!({ "timezoneId": "Asia/Ho_Chi_Minh" })).await;
    let demo = agent.url("/web/demo.html");
    page.navigate(&demo).await;
    pair_through_the_page(&page, &agent, &agent.self_origin, None).await;
    page.wait_for("the event stream", "document.getElementById('connection').dataset.state === 'ok'", WAIT).await;
    wait_for_device(&page, "scanner", "Sẵn sàng", "").await;
    assert_eq!(page.eval(FRESH_SCAN_PANEL_JS).await, true);

    // Page 2 jams: the batch pauses with one page, the scanner stays busy, and the clerk is
    // offered “Tiếp tục quét” and “Huỷ”.
    agent.sim.jam_at_page("scanner", 2);
    page.eval(START_ADF_SCAN_JS).await;
    let paused_js = "(() => { const s = document.getElementById('scan-state'); \
        const imgs = [...document.querySelectorAll('#thumbs img')]; \
        return s.dataset.state === 'paused' && imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth > 0 \
          && { text: s.textContent, \
               continue: !document.getElementById('scan-continue').hidden && document.getElementById('scan-continue').textContent, \
               cancel: !document.getElementById('scan-cancel').hidden && document.getElementById('scan-cancel').textContent, \
               start: document.getElementById('scan-start').disabled, \
               note: document.querySelector('[data-device=scanner] .device-note').textContent }; })()";
    let paused = page.wait_for("a paused scan", paused_js, SCAN_WAIT).await;
    assert_eq!(paused["text"], "Tạm dừng ở trang 2: kẹt giấy — gỡ giấy rồi bấm Tiếp tục quét");
    assert_eq!(paused["continue"], "Tiếp tục quét");
    assert_eq!(paused["cancel"], "Huỷ");
    assert_eq!(paused["start"], true);
    assert_eq!(
        paused["note"],
        "Lượt quét của trang này đang tạm dừng — bấm “Tiếp tục quét” hoặc “Huỷ” ở phần Quét hồ sơ."
    );
    // The banner names the page that jammed and says why, in Vietnamese.
    assert_eq!(
        page.eval("[document.getElementById('scan-paused').hidden, document.getElementById('scan-paused-title').textContent, document.getElementById('scan-paused-reason').textContent]").await,
        serde_json::json!([false, "Máy quét tạm dừng ở trang 2", "kẹt giấy — gỡ giấy rồi bấm Tiếp tục quét"])
    );
    wait_for_device(&page, "scanner", "Đang bận", "").await;
    page.screenshot_to("demo-scan-paused").await;

    // A reload forgets the scan; the agent does not: the page takes it up again.
    page.navigate(&demo).await;
    let paused = page.wait_for("the paused scan after a reload", paused_js, SCAN_WAIT).await;
    assert_eq!(paused["text"], "Tạm dừng ở trang 2: kẹt giấy — gỡ giấy rồi bấm Tiếp tục quét");
    assert_eq!(
        page.eval("document.getElementById('scan-note').hidden || document.getElementById('scan-note').textContent")
            .await,
        "Đã mở lại lượt quét đang dở của trang này."
    );
    wait_for_device(&page, "scanner", "Đang bận", "").await;

    page.eval("document.getElementById('scan-continue').click()").await;
    assert_eq!(completed_with_thumbnails(&page, 4).await, "Hoàn tất — 4 trang");
    wait_for_device(&page, "scanner", "Sẵn sàng", "").await;

    // The PDF's file name is the PC's local (Vietnamese) time, YYYYMMDD-HHmmss.
    page.eval(RECORD_DOWNLOADS_JS).await;
    let before = page.eval("Date.now()").await.as_f64().expect("ms");
    page.eval("document.getElementById('scan-download').click()").await;
    let download =
        page.wait_for("the download", "window.__downloads.length === 1 && window.__downloads[0]", WAIT).await;
    let after = page.eval("Date.now()").await.as_f64().expect("ms");
    assert_eq!(download["head"], "%PDF-");
    let name = download["name"].as_str().expect("file name").to_string();
    let stamp = page
        .eval(&format!(
            "(() => {{ const m = /^ho-so-(\\d{{4}})(\\d{{2}})(\\d{{2}})-(\\d{{2}})(\\d{{2}})(\\d{{2}})\\.pdf$/.exec({}); \
               return m && Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - 7 * 3600 * 1000; }})()",
            js(&name)
        ))
        .await;
    let stamp = stamp.as_f64().unwrap_or_else(|| panic!("“{name}” is not ho-so-YYYYMMDD-HHmmss.pdf"));
    assert!(
        (before / 1000.0).floor() * 1000.0 <= stamp && stamp <= after,
        "“{name}” is not the time in Vietnam (UTC+7) when it was saved"
    );

    // “Xoá bản quét”: the panel is as before any scan, and the agent has no scan left.
    assert_eq!(page.eval("document.getElementById('scan-cancel').textContent").await, "Xoá bản quét");
    page.eval("document.getElementById('scan-cancel').click()").await;
    page.wait_for("a fresh scan panel", FRESH_SCAN_PANEL_JS, WAIT).await;
    let left = page
        .eval("import('/web/counter-agent.js').then(m => new m.CounterAgent({ agentUrl: location.origin }).scans())")
        .await;
    assert_eq!(left, serde_json::json!([]));
    assert_eq!(page.eval("document.getElementById('error').hidden").await, true);
    drop(page);
    drop(browser);
    agent.stop().await;
}

/// Waits until the scan is completed with `n` loaded thumbnails; the scan state's text.
async fn completed_with_thumbnails(page: &Page, n: usize) -> serde_json::Value {
    let expression = format!(
        "(() => {{ const imgs = [...document.querySelectorAll('#thumbs img')]; \
           const s = document.getElementById('scan-state'); \
           return imgs.length === {n} && imgs.every(i => i.complete && i.naturalWidth > 0) \
             && s.dataset.state === 'completed' && s.textContent; }})()"
    );
    page.wait_for(&format!("{n} thumbnails and a completed scan"), &expression, SCAN_WAIT).await
}

/// Issue 3's "done when" on the real SANE test device: the clerk scans a 10-page ADF batch from the
/// demo page, pages arrive one by one, a jam at page 4 pauses the batch with three pages kept,
/// “Tiếp tục quét” finishes it, and the downloaded PDF has every page for poppler's `pdfinfo`. The
/// test backend counts the jammed sheet as fed (FIELD-NOTES), so its 10-sheet feeder yields 9 pages;
/// at a real counter the clerk puts that sheet back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_scans_from_sane_survives_a_jam_and_downloads_every_page() {
    let script = "open set test-picture=Grid\npage 4 set read-return-value=SANE_STATUS_JAMMED\n\
                  continue set read-return-value=Default\n";
    let (agent, _scripts) = crate::sane::sane_agent_with(script, |options| options.demo = true).await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    page.navigate(&agent.url("/web/demo.html")).await;
    pair_through_the_page(&page, &agent, &agent.self_origin, None).await;
    page.wait_for("the event stream", "document.getElementById('connection').dataset.state === 'ok'", WAIT).await;
    wait_for_device(&page, "scanner", "Sẵn sàng", "").await;
    // Count thumbnails as they appear: more than one distinct count means pages came one by one.
    page.eval(
        "window.__counts = new Set(); new MutationObserver(() => \
           window.__counts.add(document.querySelectorAll('#thumbs li').length)) \
           .observe(document.getElementById('thumbs'), { childList: true, subtree: true })",
    )
    .await;
    page.eval(START_ADF_SCAN_JS).await;
    let paused = page
        .wait_for(
            "the jam at page 4",
            "(() => { const s = document.getElementById('scan-state'); \
               return s.dataset.state === 'paused' && document.querySelectorAll('#thumbs li').length === 3 \
                 && s.textContent; })()",
            SCAN_WAIT,
        )
        .await;
    assert_eq!(paused, "Tạm dừng ở trang 4: kẹt giấy — gỡ giấy rồi bấm Tiếp tục quét");
    page.eval("document.getElementById('scan-continue').click()").await;
    assert_eq!(completed_with_thumbnails(&page, 9).await, "Hoàn tất — 9 trang");
    let counts = page.eval("[...window.__counts].sort((a, b) => a - b)").await;
    let counts: Vec<u64> = counts.as_array().expect("counts").iter().filter_map(|c| c.as_u64()).collect();
    assert!(counts.iter().filter(|&&c| (1..9).contains(&c)).count() >= 3, "pages arrived one by one: {counts:?}");

    page.eval(RECORD_DOWNLOAD_BYTES_JS).await;
    page.eval("document.getElementById('scan-download').click()").await;
    let file = page.wait_for("the download", "window.__files.length === 1 && window.__files[0]", SCAN_WAIT).await;
    use base64::Engine;
    let pdf = base64::engine::general_purpose::STANDARD.decode(file["base64"].as_str().expect("base64")).expect("b64");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let info = std::process::Command::new("pdfinfo").arg(&path).output().expect("pdfinfo");
    assert!(info.status.success(), "pdfinfo refuses the PDF: {}", String::from_utf8_lossy(&info.stderr));
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.lines().any(|l| l.starts_with("Pages:") && l.ends_with(" 9")), "{info}");
    drop(page);
    drop(browser);
    agent.stop().await;
}

/// Records downloads with their whole content (base64), instead of saving them.
const RECORD_DOWNLOAD_BYTES_JS: &str = "(() => { window.__files = []; const blobs = new Map(); \
    const create = URL.createObjectURL; \
    URL.createObjectURL = blob => { const url = create(blob); blobs.set(url, blob); return url; }; \
    document.addEventListener('click', async event => { \
      const link = event.target.closest && event.target.closest('a[download]'); \
      if (!link) return; \
      event.preventDefault(); \
      const bytes = new Uint8Array(await blobs.get(link.href).arrayBuffer()); \
      let text = ''; for (const b of bytes) text += String.fromCharCode(b); \
      window.__files.push({ name: link.download, base64: btoa(text) }); \
    }, true); })()";

/// `[page id, label, class badge]` of each thumbnail, in order.
const THUMBS_JS: &str = "[...document.querySelectorAll('#thumbs li')].map(li => \
    [li.dataset.pageId, li.querySelector('.thumb-label').textContent, li.querySelector('.page-class').textContent])";

/// The clerk's whole ADF flow on the demo page: pages arrive one by one as thumbnails with their
/// class badge, one is deleted, two are swapped, one is turned, and the PDF (under a size limit)
/// has what the screen shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_scans_edits_pages_and_downloads_the_pdf() {
    let agent = TestAgent::start_with(|_, options| options.demo = true).await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    page.navigate(&agent.url("/web/demo.html")).await;
    pair_through_the_page(&page, &agent, &agent.self_origin, None).await;
    page.wait_for("the event stream", "document.getElementById('connection').dataset.state === 'ok'", WAIT).await;
    wait_for_device(&page, "scanner", "Sẵn sàng", "").await;
    page.eval(START_ADF_SCAN_JS).await;
    // While the batch runs, the progress line says which page is being scanned.
    let progress = page
        .wait_for(
            "the progress line",
            "(() => { const p = document.getElementById('scan-progress'); const s = document.getElementById('scan-state'); \
               return (!p.hidden && document.getElementById('scan-progress-text').textContent) \
                 || (s.dataset.state === 'completed' && 'done'); })()",
            SCAN_WAIT,
        )
        .await;
    let progress = progress.as_str().expect("text");
    assert!(progress == "done" || progress.starts_with("Đang quét trang "), "{progress}");
    let thumbs = page
        .wait_for(
            "four thumbnails with badges",
            &format!(
                "(() => {{ const imgs = [...document.querySelectorAll('#thumbs img')]; \
                   return imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 0) \
                     && document.getElementById('scan-state').dataset.state === 'completed' && {THUMBS_JS}; }})()"
            ),
            SCAN_WAIT,
        )
        .await;
    let rows = thumbs.as_array().expect("rows").clone();
    let labels: Vec<(&str, &str)> =
        rows.iter().map(|r| (r[1].as_str().expect("label"), r[2].as_str().expect("badge"))).collect();
    assert_eq!(labels, [("Trang 1", "màu"), ("Trang 2", "văn bản"), ("Trang 3", "trang trắng"), ("Trang 4", "màu")]);
    let ids: Vec<String> = rows.iter().map(|r| r[0].as_str().expect("id").to_string()).collect();
    assert_eq!(page.eval("document.getElementById('scan-download').hidden").await, false);
    page.screenshot_to("demo-scan-pages").await;

    // Delete the blank page (3) with its ✕ button.
    page.eval("document.querySelector('#thumbs li[data-index=\"3\"] button[data-action=delete]').click()").await;
    let after_delete = page
        .wait_for("three pages", &format!("(() => {{ const t = {THUMBS_JS}; return t.length === 3 && t; }})()"), WAIT)
        .await;
    let left: Vec<&str> = after_delete.as_array().expect("rows").iter().filter_map(|r| r[0].as_str()).collect();
    assert_eq!(left, [ids[0].as_str(), ids[1].as_str(), ids[3].as_str()]);
    // Move the text page to the front (◀ on page 2), then turn the new page 2.
    page.eval("document.querySelector('#thumbs li[data-index=\"2\"] button[data-action=left]').click()").await;
    page.wait_for(
        "the text page first",
        &format!("(() => {{ const t = {THUMBS_JS}; return t.length === 3 && t[0][0] === {}; }})()", js(&ids[1])),
        WAIT,
    )
    .await;
    page.eval("document.querySelector('#thumbs li[data-index=\"2\"] button[data-action=rotate]').click()").await;
    page.wait_for(
        "the turned page's landscape thumbnail",
        "(() => { const i = document.querySelector('#thumbs li[data-index=\"2\"] img'); \
           return !!i && i.complete && i.naturalWidth > i.naturalHeight \
             && document.querySelector('#thumbs li[data-index=\"2\"] .thumb-flags').textContent.includes('xoay 90°'); })()",
        WAIT,
    )
    .await;
    let scans = page
        .eval("import('/web/counter-agent.js').then(m => new m.CounterAgent({ agentUrl: location.origin }).scans())")
        .await;
    let pages = scans[0]["pages"].as_array().expect("pages");
    let on_agent: Vec<(&str, u64)> =
        pages.iter().map(|p| (p["id"].as_str().expect("id"), p["rotation"].as_u64().expect("rotation"))).collect();
    assert_eq!(on_agent, [(ids[1].as_str(), 0), (ids[0].as_str(), 90), (ids[3].as_str(), 0)]);

    // Download under a 5 MB limit: the PDF has the three pages, the second turned.
    page.eval(RECORD_DOWNLOAD_BYTES_JS).await;
    page.eval("document.getElementById('scan-max-mb').value = '5'").await;
    page.eval("document.getElementById('scan-download').click()").await;
    let file = page.wait_for("the download", "window.__files.length === 1 && window.__files[0]", SCAN_WAIT).await;
    assert!(file["name"].as_str().expect("name").starts_with("ho-so-"));
    use base64::Engine;
    let pdf = base64::engine::general_purpose::STANDARD.decode(file["base64"].as_str().expect("base64")).expect("b64");
    assert!(pdf.len() <= 5_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let info = std::process::Command::new("pdfinfo").args(["-f", "1", "-l", "3"]).arg(&path).output().expect("pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.lines().any(|l| l.starts_with("Pages:") && l.ends_with(" 3")), "{info}");
    let rotations: Vec<&str> = info.lines().filter_map(|l| l.split("rot:").nth(1)).map(str::trim).collect();
    assert_eq!(rotations, ["0", "90", "0"], "{info}");
    // An impossible limit: a Vietnamese message with the smallest size reached, nothing downloaded.
    page.eval("document.getElementById('scan-max-mb').value = '0.001'").await;
    page.eval("document.getElementById('scan-download').click()").await;
    let error = page
        .wait_for(
            "the size error",
            "!document.getElementById('error').hidden && document.getElementById('error-title').textContent",
            SCAN_WAIT,
        )
        .await;
    let error = error.as_str().expect("text");
    assert!(error.starts_with("Không nén được tệp PDF xuống dưới 1 KB — nhỏ nhất đạt được là "), "{error}");
    assert_eq!(page.eval("window.__files.length").await, 1);
    page.screenshot_to("demo-scan-edited").await;
    drop(page);
    drop(browser);
    agent.stop().await;
}

/// What a job waiting for paper says, in Vietnamese.
const PAPER_OUT_WAITING: &str =
    "Đang chờ máy in: Hết giấy — hãy nạp thêm giấy. Lệnh in sẽ tự in tiếp khi máy sẵn sàng.";

/// Waits until the job shown as `what` (“Số thứ tự A0001 → ticket”) is in `state`; its state text.
async fn wait_for_job(page: &Page, what: &str, state: &str) -> serde_json::Value {
    let expression = format!(
        "(() => {{ const j = [...document.querySelectorAll('#jobs .job')] \
             .find(j => j.querySelector('.job-what').textContent === {}); \
           return j && j.dataset.state === {} && j.querySelector('.job-state').textContent; }})()",
        js(what),
        js(state)
    );
    page.wait_for(&format!("“{what}” to be {state}"), &expression, WAIT).await
}

/// Chooses the thermal printer as a clerk does, in its drop-down.
async fn choose_thermal_printer(page: &Page, device: &str) {
    page.eval(&format!(
        "(() => {{ const s = document.getElementById('print-thermal-device'); s.value = {}; \
           s.dispatchEvent(new Event('change', {{ bubbles: true }})); return s.value; }})()",
        js(device)
    ))
    .await;
    assert_eq!(page.eval("document.getElementById('print-thermal-device').value").await, device);
}

/// Waits until the print preview shows a loaded image captioned `caption`, and returns
/// `{ width, height, alt, png }`: the image as the page holds it (`png`, a data URL drawn from
/// the image's own pixels).
async fn wait_for_preview(page: &Page, caption: &str) -> serde_json::Value {
    let expression = format!(
        "(() => {{ const i = document.getElementById('print-preview-image'); \
           if (document.getElementById('print-preview').hidden || !i.complete || i.naturalWidth === 0 \
               || document.getElementById('print-preview-caption').textContent !== {}) return false; \
           const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight; \
           c.getContext('2d').drawImage(i, 0, 0); \
           return {{ width: i.naturalWidth, height: i.naturalHeight, alt: i.alt, png: c.toDataURL('image/png') }}; }})()",
        js(caption)
    );
    page.wait_for(&format!("the preview of “{caption}”"), &expression, WAIT).await
}

/// The gray pixels of a `data:image/png;base64,…` URL.
fn data_url_image(url: &serde_json::Value) -> image::GrayImage {
    use base64::Engine;
    let base64 = url.as_str().and_then(|u| u.strip_prefix("data:image/png;base64,")).expect("a PNG data URL");
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64).expect("base64");
    image::load_from_memory(&bytes).expect("a PNG").to_luma8()
}

/// The texts of the QR codes in an image.
fn qr_texts(image: &image::GrayImage) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width() as usize, image.height() as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    prepared.detect_grids().iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect()
}

/// The print panel on the demo station: the agent's own templates printed with the page's sample
/// Vietnamese data, a preview of each that is exactly what the printer got, and a simulated paper-out
/// that holds a job until the clerk presses “Nạp giấy”.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_prints_templates_with_previews_and_a_simulated_paper_out() {
    let agent = TestAgent::start_with(|_, options| options.demo = true).await;
    let browser = Chromium::launch().await;
    let page = browser.page().await;
    page.navigate(&agent.url("/web/demo.html")).await;
    pair_through_the_page(&page, &agent, &agent.self_origin, None).await;
    page.wait_for("the event stream", "document.getElementById('connection').dataset.state === 'ok'", WAIT).await;
    wait_for_device(&page, "ticket", "Sẵn sàng", "").await;
    // The demo station answers the fault route: the simulation controls appear.
    page.wait_for("the demo controls", "!document.getElementById('print-demo').hidden", WAIT).await;

    // A queue ticket on the 58 mm printer: the preview is what the printer got, dot for dot.
    choose_thermal_printer(&page, "ticket").await;
    page.eval("document.getElementById('print-ticket').click()").await;
    let preview = wait_for_preview(&page, "Số thứ tự A0001 — máy in nhiệt ticket (khổ 58 mm)").await;
    assert_eq!(wait_for_job(&page, "Số thứ tự A0001 → ticket", "printed").await, "Đã in xong");
    assert_eq!(
        preview["alt"],
        "Hình xem trước: Phiếu số thứ tự A0001, dịch vụ Hộ tịch, in trên máy in nhiệt ticket (khổ 58 mm)"
    );
    let shown = data_url_image(&preview["png"]);
    assert_eq!(shown.width(), 384, "58 mm paper is 384 dots wide");
    let tickets = agent.sim.printed("ticket");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].format, DocumentFormat::EscPos);
    let printed = image::open(tickets[0].preview.as_ref().expect("the simulator drew the ticket")).expect("PNG");
    assert!(printed.to_luma8() == shown, "the preview is not what the printer printed");
    assert_eq!(qr_texts(&shown), ["https://motcua.example.gov.vn/hang-doi/A0001"]);

    // The preview opens at full size in the viewer.
    page.eval("document.getElementById('print-preview-image').click()").await;
    page.wait_for(
        "the preview in the viewer",
        "(() => { const i = document.getElementById('viewer-image'); \
           return document.getElementById('viewer').open && i.complete && i.naturalWidth === 384; })()",
        WAIT,
    )
    .await;
    page.eval("document.querySelector('#viewer form button').click()").await;
    page.wait_for("the viewer to close", "!document.getElementById('viewer').open", WAIT).await;

    // “Mô phỏng hết giấy” on the 80 mm printer: a dossier receipt sent now waits, in Vietnamese.
    choose_thermal_printer(&page, "receipt").await;
    let toggle = "[document.getElementById('print-demo-paper').textContent, \
                  document.getElementById('print-demo-paper').getAttribute('aria-pressed')]";
    assert_eq!(page.eval(toggle).await, serde_json::json!(["Mô phỏng hết giấy", "false"]));
    page.eval("document.getElementById('print-demo-paper').click()").await;
    wait_for_device(&page, "receipt", "Hết giấy", StatusReason::PaperOut.message_vi()).await;
    assert_eq!(page.eval(toggle).await, serde_json::json!(["Nạp giấy", "true"]));
    page.eval("document.getElementById('print-receipt-thermal').click()").await;
    let waiting = wait_for_job(&page, "Giấy tiếp nhận (khổ nhỏ) → receipt", "waiting").await;
    assert_eq!(waiting, PAPER_OUT_WAITING);
    let preview = wait_for_preview(&page, "Giấy tiếp nhận (khổ nhỏ) — máy in nhiệt receipt (khổ 80 mm)").await;
    let alt = preview["alt"].as_str().expect("alt");
    assert!(
        alt.starts_with("Hình xem trước: Giấy tiếp nhận hồ sơ và hẹn trả kết quả số 000.00.31.H26-")
            && alt.ends_with(" của bà Nguyễn Thị Hằng, in trên máy in nhiệt receipt (khổ 80 mm)"),
        "{alt}"
    );
    assert!(agent.sim.printed("receipt").is_empty(), "printed without paper");
    page.screenshot_to("demo-print-paper-out").await;

    // “Nạp giấy”: the job prints by itself, and it is the receipt the preview showed.
    page.eval("document.getElementById('print-demo-paper').click()").await;
    assert_eq!(wait_for_job(&page, "Giấy tiếp nhận (khổ nhỏ) → receipt", "printed").await, "Đã in xong");
    wait_for_device(&page, "receipt", "Sẵn sàng", "").await;
    assert_eq!(page.eval(toggle).await, serde_json::json!(["Mô phỏng hết giấy", "false"]));
    let receipts = agent.sim.printed("receipt");
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    let printed = image::open(receipts[0].preview.as_ref().expect("the simulator drew the receipt")).expect("PNG");
    assert!(printed.to_luma8() == data_url_image(&preview["png"]), "the preview is not what the printer printed");
    let codes = qr_texts(&printed.to_luma8());
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert!(codes[0].starts_with("https://dichvucong.example.gov.vn/tra-cuu?ma=000.00.31.H26-"), "{codes:?}");

    // The A4 receipt: a PDF reaches the A4 printer, its first page is the preview.
    page.eval("document.getElementById('print-receipt-a4').click()").await;
    let preview = wait_for_preview(&page, "Giấy tiếp nhận (A4) — máy in A4 a4").await;
    assert_eq!(wait_for_job(&page, "Giấy tiếp nhận (A4) → a4", "printed").await, "Đã in xong");
    let (width, height) = (preview["width"].as_f64().expect("width"), preview["height"].as_f64().expect("height"));
    assert!((height / width - 297.0 / 210.0).abs() < 0.01, "not an A4 page: {width}×{height}");
    let a4 = agent.sim.printed("a4");
    assert_eq!(a4.len(), 1, "{a4:?}");
    assert_eq!(a4[0].format, DocumentFormat::Pdf);
    assert!(std::fs::read(&a4[0].path).expect("kept PDF").starts_with(b"%PDF-"));

    // Three jobs, newest first, as the clerk reads them; no error along the way.
    let jobs = page
        .eval("[...document.querySelectorAll('#jobs .job')].map(j => [j.querySelector('.job-what').textContent, j.dataset.state])")
        .await;
    assert_eq!(
        jobs,
        serde_json::json!([
            ["Giấy tiếp nhận (A4) → a4", "printed"],
            ["Giấy tiếp nhận (khổ nhỏ) → receipt", "printed"],
            ["Số thứ tự A0001 → ticket", "printed"]
        ])
    );
    assert_eq!(page.eval("document.getElementById('error').hidden").await, true, "{}", page.console());
    drop(page);
    drop(browser);
    agent.stop().await;
}
