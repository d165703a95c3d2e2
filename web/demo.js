// @ts-check
/**
 * The clerk demo page: pairing, live device status, scanning with thumbnails, printing.
 *
 * Which agent: `?agent=http://127.0.0.1:PORT` when given; the page's own origin when the agent
 * itself serves the page (at /web/demo.html); otherwise http://127.0.0.1:7420. The client is imported from
 * beside this file ("./counter-agent.js" resolves against this module's own URL), which is
 * /web/counter-agent.js on the agent and the same folder anywhere else.
 *
 * Everything the clerk reads is Vietnamese; the API's English message and hint are shown small,
 * as technical detail for the technician.
 */

import {
  CounterAgent,
  CounterAgentError,
  DEFAULT_AGENT_URL,
  errorTextVi,
  megabytesVi,
  reasonTextVi,
  unknownCodeTextVi,
} from "./counter-agent.js";

/** @typedef {import("./counter-agent.js").Device} Device */
/** @typedef {import("./counter-agent.js").Scan} Scan */
/** @typedef {import("./counter-agent.js").ScanPage} ScanPage */
/**
 * The scan on screen. `version` counts the state events applied, so an HTTP answer that was on its
 * way while an event arrived does not overwrite the newer state with an older one. `pages` is the
 * agent's list in document order; `thumbs` holds thumbnail object URLs by `pageId:rotation`.
 * @typedef {{ id: string, device: string, state: string, reason: string | null, failedPage: number | null,
 *             version: number, pages: ScanPage[], thumbs: Map<string, string>, loading: Set<string>,
 *             failedThumbs: Set<string>, progress: { page: number, percent: number | null } | null,
 *             pdf: { key: string, blob: Blob } | null }} ScanView
 */

/** @param {Scan} scan @returns {ScanView} */
function newScanView(scan) {
  return {
    id: scan.id,
    device: scan.device,
    state: scan.state,
    reason: scan.reason,
    failedPage: scan.failed_page ?? null,
    version: 0,
    pages: [],
    thumbs: new Map(),
    loading: new Set(),
    failedThumbs: new Set(),
    progress: null,
    pdf: null,
  };
}

/** What a page holds, as its badge says. @param {string} pageClass */
function classTextVi(pageClass) {
  switch (pageClass) {
    case "text":
      return "văn bản";
    case "color":
      return "màu";
    case "gray":
      return "ảnh xám";
    case "blank":
      return "trang trắng";
    default:
      return unknownCodeTextVi(pageClass);
  }
}
/** @typedef {import("./counter-agent.js").PrintJob} PrintJob */

// ── small DOM helpers ──────────────────────────────────────────────────────────────────────

/** @param {string} id @returns {any} */
const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo.html lacks #${id}`);
  return element;
};

/**
 * @param {string} tag @param {Record<string, string>} [attributes] @param {(Node | string)[]} [children]
 * @returns {HTMLElement}
 */
function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") element.className = value;
    else element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/** A message for the clerk that the page itself words (already Vietnamese). */
class ClerkError extends Error {
  /** @param {string} textVi */
  constructor(textVi) {
    super(textVi);
    this.name = "ClerkError";
  }
}

// ── texts ──────────────────────────────────────────────────────────────────────────────────

/** @type {Record<string, string>} */
const STATE_TEXT = { ready: "Sẵn sàng", busy: "Đang bận", offline: "Ngoại tuyến", error: "Lỗi" };

/** A condition a clerk fixes by hand reads as what it is, not as a fault of the device. */
const REASON_BADGE_TEXT = { paper_out: "Hết giấy", cover_open: "Nắp mở", jammed: "Kẹt giấy", feeder_empty: "Khay trống" };

/** @param {string} state @param {string | null | undefined} [reason] */
function deviceStateText(state, reason) {
  const fixable = state === "error" && reason ? REASON_BADGE_TEXT[/** @type {keyof typeof REASON_BADGE_TEXT} */ (reason)] : undefined;
  return fixable ?? STATE_TEXT[state] ?? unknownCodeTextVi(state);
}

/** Why the agent refuses this page: it serves it, but outside demo mode (or the origin is not listed). */
const BLOCKED_TEXT =
  "Trang thử này chỉ dùng được khi phần mềm máy quầy chạy ở chế độ demo (counter-agent serve --demo), " +
  "hoặc khi kỹ thuật viên thêm địa chỉ của trang vào allowed_origins.";

/** What the clerk can do when the agent does not answer at all. */
const UNREACHABLE_STEPS = [
  "Kiểm tra phần mềm máy quầy (counter-agent) đang chạy trên máy tính này; nếu không, khởi động lại máy tính hoặc báo kỹ thuật viên.",
  "Nếu trình duyệt hỏi có cho trang web truy cập các thiết bị trong mạng cục bộ không, hãy bấm “Cho phép”.",
  "Sau đó bấm “Thử lại”. Nếu vẫn không được, có thể trang web này chưa được kỹ thuật viên cho phép trong cấu hình máy quầy.",
];

/** @param {Device} device */
function kindText(device) {
  const printer = device.capabilities.printer;
  if (device.kind === "scanner") return "Máy quét";
  if (printer?.formats.includes("pdf")) return "Máy in A4";
  if (printer) return `Máy in nhiệt ${printer.paper_width_mm} mm`;
  return "Thiết bị";
}

/** Two digits. @param {number} n */
const pad2 = (n) => String(n).padStart(2, "0");

/**
 * `YYYYMMDD-HHmmss` in the PC's own time zone (the counter PC's clock is Vietnamese time), for
 * file names: what the clerk's wall clock said when the file was saved.
 * @param {Date} [date]
 */
export function fileStamp(date = new Date()) {
  return (
    `${date.getFullYear()}${pad2(date.getMonth() + 1)}${pad2(date.getDate())}-` +
    `${pad2(date.getHours())}${pad2(date.getMinutes())}${pad2(date.getSeconds())}`
  );
}

/** @param {string | null} reason */
function pausedText(reason) {
  switch (reason) {
    case "jammed":
      return "kẹt giấy — gỡ giấy rồi bấm Tiếp tục quét";
    case "cover_open":
      return "nắp máy quét đang mở — đóng nắp rồi bấm Tiếp tục quét";
    case "feeder_empty":
      return "khay nạp hết giấy — đặt thêm giấy rồi bấm Tiếp tục quét";
    default:
      return `${reasonTextVi(reason) || "máy quét báo lỗi"} — xử lý xong rồi bấm Tiếp tục quét, hoặc bấm Huỷ để bỏ lượt quét`;
  }
}

/** @param {{ state: string, reason: string | null, pages: number, failedPage?: number | null }} scan */
function scanStateText(scan) {
  switch (scan.state) {
    case "scanning":
      return scan.pages === 0 ? "Đang quét…" : `Đang quét… (đã có ${scan.pages} trang)`;
    case "paused":
      return scan.failedPage
        ? `Tạm dừng ở trang ${scan.failedPage}: ${pausedText(scan.reason)}`
        : `Tạm dừng: ${pausedText(scan.reason)}`;
    case "completed":
      // A reason on a completed scan says why it stopped early (e.g. the page limit).
      return scan.reason ? `Hoàn tất — ${scan.pages} trang. ${reasonTextVi(scan.reason)}` : `Hoàn tất — ${scan.pages} trang`;
    case "failed":
      return scan.failedPage
        ? `Quét không thành công ở trang ${scan.failedPage}: ${reasonTextVi(scan.reason) || "lỗi không rõ"}`
        : `Quét không thành công: ${reasonTextVi(scan.reason) || "lỗi không rõ"}`;
    case "cancelled":
      return "Đã huỷ lượt quét.";
    default:
      return unknownCodeTextVi(scan.state);
  }
}

/** @param {PrintJob} job */
function printStateText(job) {
  switch (job.state) {
    case "queued":
      return "Đang chờ in";
    case "printing":
      return "Đang in…";
    case "waiting":
      // The reason is the printer's (paper out, cover open, offline…): the job goes on by itself.
      return job.reason
        ? `Đang chờ máy in: ${reasonTextVi(job.reason)}. Lệnh in sẽ tự in tiếp khi máy sẵn sàng.`
        : "Đang chờ máy in sẵn sàng — lệnh in sẽ tự in tiếp.";
    case "printed":
      return "Đã in xong";
    case "failed":
      return `In không được: ${reasonTextVi(job.reason) || "lỗi không rõ"}`;
    case "cancelled":
      return "Đã huỷ lệnh in";
    default:
      return unknownCodeTextVi(job.state);
  }
}

// ── the page ───────────────────────────────────────────────────────────────────────────────

function pageAgentUrl() {
  const fromQuery = new URLSearchParams(location.search).get("agent");
  if (fromQuery) return fromQuery;
  if (location.pathname === "/web/demo.html") return location.origin;
  return DEFAULT_AGENT_URL;
}

class DemoPage {
  constructor() {
    /** @type {CounterAgent | null} */
    this.agent = null;
    /** @type {Map<string, Device>} */
    this.devices = new Map();
    /**
     * `device.status` events applied, per device: a device list fetched while one arrived must
     * not put the older status back.
     * @type {Map<string, number>}
     */
    this.deviceVersions = new Map();
    /** @type {{ close(): void } | null} */
    this.stream = null;
    /** @type {ScanView | null} */
    this.scan = null;
    /** @type {Map<string, PrintJob & { label: string, version: number }>} */
    this.jobs = new Map();
    /**
     * The latest `print.state` of jobs not tracked yet: a job's events can overtake the answer to
     * the request that queued it.
     * @type {Map<string, { state: any, reason: string | null }>}
     */
    this.untrackedPrints = new Map();
    /** @type {import("./counter-agent.js").Pairing | null} */
    this.pairing = null;
    /** The agent refuses this page's origin: nothing works until it is restarted differently. */
    this.blocked = false;
    /** Sample documents printed in this page's life: the next queue number and dossier sequence. */
    this.sampleCounts = { tickets: 0, receipts: 0 };
    /** The preview on screen. @type {{ blob: Blob, url: string, alt: string } | null} */
    this.preview = null;
    /** Whether the agent simulates printer faults (the demo station); null until known. @type {boolean | null} */
    this.demoFaults = null;
    /** @type {Promise<void> | null} */
    this.demoProbe = null;
    /**
     * Faults this page set, per device, until the device's status event shows them.
     * @type {Map<string, string | null>}
     */
    this.demoFaultSet = new Map();
  }

  start() {
    try {
      this.agent = new CounterAgent({ agentUrl: pageAgentUrl() });
    } catch (error) {
      this.showError(error);
      this.setConnection("error", "Địa chỉ phần mềm máy quầy không hợp lệ");
      return;
    }
    $("agent-url").textContent = this.agent.agentUrl;
    this.wire();
    this.connect();
  }

  /** @returns {CounterAgent} */
  get client() {
    if (!this.agent) throw new Error("agent not set");
    return this.agent;
  }

  /** Whether the agent itself serves this page (same origin), as in demo mode. */
  get servedByAgent() {
    return location.origin === this.client.agentUrl;
  }

  /**
   * Checks that the agent answers and accepts this page, then shows pairing or the session.
   * Run at start and by the “Thử lại” button; never throws.
   */
  async connect() {
    this.setConnection("starting", "Đang kết nối với máy quầy…");
    try {
      // A page of another origin that the agent refuses cannot even read health (no CORS grant);
      // the agent's own pages can, so they ask a question the origin check answers.
      if (this.servedByAgent) await this.client.checkAccess();
      else await this.client.health();
    } catch (error) {
      if (error instanceof CounterAgentError && error.code === "agent_unreachable") {
        this.setConnection("error", "Không kết nối được máy quầy");
      }
      this.showError(error);
      return;
    }
    this.blocked = false;
    this.clearError();
    this.setConnection("ok", "Máy quầy đang chạy");
    if (this.client.isPaired()) this.enterSession();
    else this.enterPairing();
  }

  wire() {
    $("error-close").addEventListener("click", () => this.clearError());
    $("error-retry").addEventListener("click", () => this.act($("error-retry"), () => this.connect()));
    $("pair-start").addEventListener("click", () => this.act($("pair-start"), () => this.startPairing()));
    $("pair-form").addEventListener("submit", (/** @type {Event} */ event) => {
      event.preventDefault();
      this.act($("pair-submit"), () => this.completePairing());
    });
    $("unpair").addEventListener("click", () =>
      this.act($("unpair"), async () => {
        await this.client.unpair();
        this.leaveSession();
        this.enterPairing();
      }),
    );
    $("scan-device").addEventListener("change", () => this.fillDpi());
    $("scan-form").addEventListener("submit", (/** @type {Event} */ event) => {
      event.preventDefault();
      this.act($("scan-start"), () => this.startScan());
    });
    $("scan-continue").addEventListener("click", () => this.act($("scan-continue"), () => this.continueScan()));
    $("scan-cancel").addEventListener("click", () => this.act($("scan-cancel"), () => this.discardScan()));
    $("scan-download").addEventListener("click", () => this.act($("scan-download"), () => this.downloadPdf()));
    $("print-scan").addEventListener("click", () => this.act($("print-scan"), () => this.printScan()));
    for (const [id, what] of /** @type {const} */ ([
      ["print-receipt-a4", "receipt-a4"],
      ["print-receipt-thermal", "receipt-thermal"],
      ["print-ticket", "ticket"],
    ])) {
      $(id).addEventListener("click", () => this.act($(id), () => this.printSample(what)));
    }
    $("print-thermal-device").addEventListener("change", () => this.renderDemoControls());
    $("print-demo-paper").addEventListener("click", () => this.act($("print-demo-paper"), () => this.toggleDemoPaper()));
    $("print-preview-open").addEventListener("click", () => this.viewPreview());
    $("thumbs").addEventListener("click", (/** @type {MouseEvent} */ event) => this.onThumbsClick(event));
    this.wireDragAndDrop();
  }

  /**
   * Runs a clerk action with its button disabled (no double submissions) and errors shown.
   * @param {HTMLButtonElement} button @param {() => Promise<void>} action
   */
  async act(button, action) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    this.clearError();
    try {
      await action();
    } catch (error) {
      this.showError(error);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
      this.renderScan();
    }
  }

  // ── errors and connection ─────────────────────────────────────────────────────────────

  /**
   * Shows an error to the clerk: a Vietnamese title (and, where there is one, what to do), with
   * the API's English message and hint only as small technical detail for the technician.
   * @param {unknown} error
   */
  showError(error) {
    if (error instanceof ClerkError) {
      this.renderError({ code: "page", title: error.message });
      return;
    }
    if (!(error instanceof CounterAgentError)) {
      this.renderError({
        code: "internal",
        title: "Trang gặp lỗi ngoài dự kiến — tải lại trang; nếu vẫn lỗi, báo kỹ thuật viên.",
        detail: String(error),
      });
      return;
    }
    const code = error.code;
    const technical = [`Mã lỗi: ${code}`, error.message];
    if (error.hint && code !== "agent_unreachable" && code !== "not_paired") technical.push(`Gợi ý: ${error.hint}`);
    const detail = technical.join(" · ");
    switch (code) {
      case "origin_not_allowed":
      case "origin_required":
        this.block(detail);
        return;
      case "agent_unreachable": {
        const timedOut = error.cause instanceof DOMException && error.cause.name === "TimeoutError";
        this.renderError({
          code,
          title: errorTextVi(error),
          // The client's hints for its own codes are Vietnamese.
          hint: timedOut ? error.hint ?? "" : "",
          steps: timedOut ? [] : UNREACHABLE_STEPS,
          detail,
          retry: true,
        });
        return;
      }
      case "unauthorized":
      case "not_paired":
        this.renderError({ code, title: errorTextVi(error), hint: code === "not_paired" ? error.hint ?? "" : "", detail });
        this.leaveSession();
        this.enterPairing();
        return;
      default:
        this.renderError({ code, title: errorTextVi(error), detail });
    }
  }

  /**
   * @param {{ code: string, title: string, hint?: string, steps?: string[], detail?: string,
   *           retry?: boolean }} shown
   */
  renderError({ code, title, hint = "", steps = [], detail = "", retry = false }) {
    $("error-title").textContent = title;
    $("error-hint").textContent = hint;
    $("error-steps").replaceChildren(...steps.map((step) => el("li", {}, [step])));
    $("error-detail").textContent = detail;
    $("error-retry").hidden = !retry;
    $("error").dataset.code = code;
    $("error").hidden = false;
  }

  clearError() {
    $("error").hidden = true;
    delete $("error").dataset.code;
  }

  /**
   * The agent refuses this page's origin (it serves the page outside demo mode, or the origin is
   * not in allowed_origins): say so instead of waiting for answers that will never come.
   * @param {string} detail
   */
  block(detail) {
    this.blocked = true;
    this.leaveSession();
    for (const id of ["pairing", "paired", "scan", "devices", "print"]) $(id).hidden = true;
    this.setConnection("error", "Trang chưa được phép dùng máy quầy");
    this.renderError({
      code: "origin_not_allowed",
      title: BLOCKED_TEXT,
      hint: `Địa chỉ của trang này: ${location.origin}`,
      detail,
      retry: true,
    });
  }

  /** @param {string} state @param {string} text */
  setConnection(state, text) {
    $("connection").dataset.state = state;
    $("connection").textContent = text;
  }

  // ── pairing ───────────────────────────────────────────────────────────────────────────

  enterPairing() {
    if (this.blocked) return;
    $("pairing").hidden = false;
    $("pair-form").hidden = true;
    $("pair-start").hidden = false;
    $("pair-start").textContent = "Ghép nối với máy quầy";
    for (const id of ["paired", "scan", "devices", "print"]) $(id).hidden = true;
  }

  async startPairing() {
    this.pairing = await this.client.pair({ label: "Trang thử máy quầy" });
    $("pair-link").href = this.pairing.pairPage;
    $("pair-link").textContent = this.pairing.pairPage;
    $("pair-code").value = "";
    $("pair-code").maxLength = this.pairing.codeLength + 3;
    $("pair-form").hidden = false;
    $("pair-start").textContent = "Lấy mã mới";
    $("pair-code").focus();
  }

  async completePairing() {
    if (!this.pairing) return;
    const code = String($("pair-code").value).replace(/\D/g, "");
    if (code.length !== this.pairing.codeLength) {
      throw new ClerkError(`Mã ghép nối gồm ${this.pairing.codeLength} chữ số — kiểm tra lại mã trên trang ghép nối.`);
    }
    await this.pairing.complete(code);
    this.pairing = null;
    this.enterSession();
  }

  // ── session: devices and the event stream ─────────────────────────────────────────────

  enterSession() {
    if (this.blocked) return;
    $("pairing").hidden = true;
    for (const id of ["paired", "scan", "devices", "print"]) $(id).hidden = false;
    this.stream?.close();
    this.stream = this.client.events({
      onEvent: (event) => this.onEvent(event),
      onStatus: (state, detail) => this.onStreamStatus(state, detail),
    });
    this.refreshAll().catch((error) => this.showError(error));
  }

  leaveSession() {
    this.stream?.close();
    this.stream = null;
  }

  /**
   * @param {import("./counter-agent.js").StreamState} state
   * @param {{ delayMs?: number, error?: CounterAgentError }} [detail]
   */
  onStreamStatus(state, detail) {
    switch (state) {
      case "connecting":
        if ($("connection").dataset.state !== "reconnecting") this.setConnection("connecting", "Đang kết nối…");
        break;
      case "open":
        this.setConnection("ok", "Đã kết nối — cập nhật trực tiếp");
        break;
      case "reconnecting": {
        const code = detail?.error?.code;
        if (detail?.error && (code === "origin_not_allowed" || code === "origin_required")) {
          this.showError(detail.error);
          break;
        }
        this.setConnection(
          "reconnecting",
          `Mất kết nối — thử lại sau ${Math.max(1, Math.round((detail?.delayMs ?? 0) / 1000))} giây`,
        );
        break;
      }
      case "unauthorized":
        this.setConnection("error", "Cần ghép nối lại");
        if (detail?.error) this.showError(detail.error);
        break;
      case "closed":
        break;
    }
  }

  /** @param {any} event */
  onEvent(event) {
    switch (event.type) {
      case "resync":
        this.refreshAll().catch((error) => this.showError(error));
        break;
      case "device.status":
        this.onDeviceStatus(event.data);
        break;
      case "scan.page":
        this.onPageEvent(event.data);
        break;
      case "scan.progress":
        if (this.scan && event.data.scan_id === this.scan.id) {
          const { page, bytes, expected_bytes: expected } = event.data;
          const percent = expected ? Math.min(100, Math.floor((100 * bytes) / expected)) : null;
          this.scan.progress = { page, percent };
          this.renderProgress();
        }
        break;
      case "scan.pages":
        if (this.scan && event.data.scan_id === this.scan.id) this.refreshScan().catch((error) => this.showError(error));
        break;
      case "scan.state":
        if (this.scan && event.data.scan_id === this.scan.id) {
          this.scan.state = event.data.state;
          this.scan.reason = event.data.reason;
          this.scan.failedPage = event.data.failed_page ?? null;
          if (event.data.state !== "scanning") this.scan.progress = null;
          this.scan.version += 1;
          if (event.data.state === "completed") this.refreshScan().catch((error) => this.showError(error));
          this.renderScan();
        }
        break;
      case "print.state": {
        const job = this.jobs.get(event.data.print_id);
        if (job) {
          job.state = event.data.state;
          job.reason = event.data.reason;
          job.version += 1;
          this.renderJobs();
        } else {
          this.untrackedPrints.set(event.data.print_id, { state: event.data.state, reason: event.data.reason });
          if (this.untrackedPrints.size > 100) {
            const oldest = this.untrackedPrints.keys().next().value;
            if (oldest !== undefined) this.untrackedPrints.delete(oldest);
          }
        }
        break;
      }
    }
  }

  /** Refetches everything; on the first connection and after a gap in the event stream. */
  async refreshAll() {
    const versions = new Map(this.deviceVersions);
    const devices = await this.client.devices();
    for (const device of devices) {
      const current = this.devices.get(device.id);
      if (current && this.deviceVersions.get(device.id) !== versions.get(device.id)) device.status = current.status;
    }
    this.devices = new Map(devices.map((d) => [d.id, d]));
    this.fillSelects();
    this.renderDevices();
    this.probeDemoFaults();
    // After a reload the page has forgotten its scan, the agent has not: take it up again
    // instead of letting the clerk run into “device busy”.
    if (!this.scan) {
      const active = await this.findActiveScan();
      if (active && !this.scan) this.attachScan(active);
    }
    if (this.scan) await this.refreshScan();
    this.renderDevices();
    for (const [id, job] of this.jobs) {
      const version = job.version;
      const fresh = await this.client.printJob(id);
      if (job.version === version) Object.assign(job, fresh);
    }
    this.renderJobs();
  }

  /** @param {{ device: string, state: string, reason: string | null, message?: string | null }} data */
  onDeviceStatus(data) {
    this.deviceVersions.set(data.device, (this.deviceVersions.get(data.device) ?? 0) + 1);
    const device = this.devices.get(data.device);
    if (!device) return;
    // The event carries the agent's Vietnamese message; the client's table covers older agents.
    device.status = {
      state: /** @type {any} */ (data.state),
      reason: data.reason,
      message: data.message ?? (data.reason ? reasonTextVi(data.reason) : null),
    };
    // A fault this page set is now what the device says: its status rules the toggle again.
    if (this.demoFaultSet.has(data.device) && (this.demoFaultSet.get(data.device) ?? null) === (data.reason ?? null)) {
      this.demoFaultSet.delete(data.device);
    }
    this.renderDevices();
    this.renderDemoControls();
  }

  renderDevices() {
    const scan = this.scan;
    const items = [...this.devices.values()].map((device) => {
      const state = device.status.state;
      const badge = el("span", { class: `badge badge-${state}` }, [deviceStateText(state, device.status.reason)]);
      const reason = device.status.message ?? (device.status.reason ? reasonTextVi(device.status.reason) : "");
      // What this page is doing with the device, so “Đang bận” is not a mystery.
      let note = "";
      if (scan && scan.device === device.id && scan.state === "paused") {
        note = "Lượt quét của trang này đang tạm dừng — bấm “Tiếp tục quét” hoặc “Huỷ” ở phần Quét hồ sơ.";
      } else if (scan && scan.device === device.id && scan.state === "scanning") {
        note = "Đang quét hồ sơ cho trang này.";
      }
      return el("li", { class: "device", "data-device": device.id, "data-state": state }, [
        el("div", { class: "device-head" }, [
          el("div", { class: "device-names" }, [
            el("div", { class: "device-kind" }, [kindText(device)]),
            el("div", { class: "device-name" }, [`${device.display_name} · ${device.id}`]),
          ]),
          badge,
        ]),
        el("div", { class: "device-reason" }, [reason]),
        el("div", { class: "device-note" }, [note]),
      ]);
    });
    $("device-list").replaceChildren(...items);
  }

  fillSelects() {
    const devices = [...this.devices.values()];
    /** @param {HTMLSelectElement} select @param {Device[]} list */
    const fill = (select, list) => {
      const previous = select.value;
      // A thermal printer's paper width first: a long name is cut off at the end.
      /** @param {Device} d */
      const text = (d) => {
        const printer = d.capabilities.printer;
        const width = printer && !printer.formats.includes("pdf") ? ` (${printer.paper_width_mm} mm)` : "";
        return `${d.id}${width} — ${d.display_name}`;
      };
      select.replaceChildren(...list.map((d) => el("option", { value: d.id }, [text(d)])));
      if (list.some((d) => d.id === previous)) select.value = previous;
    };
    fill($("scan-device"), devices.filter((d) => d.kind === "scanner"));
    fill($("print-pdf-device"), devices.filter((d) => d.capabilities.printer?.formats.includes("pdf")));
    fill($("print-thermal-device"), devices.filter((d) => d.capabilities.printer?.formats.includes("escpos")));
    this.fillDpi();
    this.renderDemoControls();
  }

  fillDpi() {
    const scanner = this.devices.get($("scan-device").value)?.capabilities.scanner;
    const select = $("scan-dpi");
    if (!scanner) {
      select.replaceChildren();
      return;
    }
    const previous = Number(select.value) || scanner.default_dpi;
    const choices = [...new Set([100, 150, 200, 300, 400, 600, scanner.default_dpi])]
      .filter((dpi) => dpi <= scanner.max_dpi)
      .sort((a, b) => a - b);
    select.replaceChildren(
      ...choices.map((dpi) => el("option", { value: String(dpi) }, [dpi === scanner.default_dpi ? `${dpi} (mặc định)` : String(dpi)])),
    );
    select.value = String(choices.includes(previous) ? previous : scanner.default_dpi);
  }

  // ── scanning ──────────────────────────────────────────────────────────────────────────

  async startScan() {
    const form = /** @type {HTMLFormElement} */ ($("scan-form"));
    const data = new FormData(form);
    const device = $("scan-device").value;
    if (!device) throw new ClerkError("Chưa chọn máy quét.");
    const source = /** @type {any} */ (data.get("source"));
    /** @type {Scan} */
    let scan;
    try {
      scan = await this.client.startScan({
        device,
        source,
        color: /** @type {any} */ (data.get("color")),
        dpi: Number($("scan-dpi").value) || undefined,
        deskew: $("scan-deskew").checked,
        // Cropping to the ID card is a flatbed feature; the box is ignored for the feeder.
        cropIdCard: source === "flatbed" && $("scan-crop").checked,
      });
    } catch (error) {
      // Busy with a batch of this page's own (started before a reload, say): take that one up.
      if (error instanceof CounterAgentError && error.code === "device_busy") {
        const mine = await this.findActiveScan(device).catch(() => null);
        if (mine) {
          this.attachScan(mine);
          await this.refreshScan();
          return;
        }
      }
      throw error;
    }
    this.forgetScan();
    this.scan = newScanView(scan);
    this.renderScan();
    // Pages that arrived before we knew the scan's id come with the resource.
    await this.refreshScan();
  }

  /**
   * This origin's newest scanning or paused batch on the agent (on `device` when given), or null.
   * Agents without `GET /v1/scans`, and pairings without the `scan` scope, have none to offer.
   * @param {string} [device]
   * @returns {Promise<Scan | null>}
   */
  async findActiveScan(device) {
    /** @type {Scan[]} */
    let scans;
    try {
      scans = await this.client.scans();
    } catch (error) {
      const none = ["method_not_allowed", "not_found", "insufficient_scope"];
      if (error instanceof CounterAgentError && none.includes(error.code)) return null;
      throw error;
    }
    return scans.find((s) => (s.state === "scanning" || s.state === "paused") && (!device || s.device === device)) ?? null;
  }

  /**
   * Shows a batch the page did not start in this life (it was reloaded) as the current scan.
   * @param {Scan} scan
   */
  attachScan(scan) {
    if (this.scan?.id === scan.id) return;
    this.forgetScan();
    this.scan = newScanView(scan);
    this.scan.pages = scan.pages;
    if ([...$("scan-device").options].some((/** @type {HTMLOptionElement} */ o) => o.value === scan.device)) {
      $("scan-device").value = scan.device;
      this.fillDpi();
    }
    $("scan-note").textContent = "Đã mở lại lượt quét đang dở của trang này.";
    $("scan-note").hidden = false;
    this.renderScan();
  }

  async refreshScan() {
    if (!this.scan) return;
    const { id, version } = this.scan;
    /** @type {Scan} */
    let scan;
    try {
      scan = await this.client.scan(id);
    } catch (error) {
      if (error instanceof CounterAgentError && error.code === "not_found") {
        if (this.scan?.id === id) this.forgetScan();
        this.renderScan();
        return;
      }
      throw error;
    }
    if (!this.scan || this.scan.id !== id) return;
    if (this.scan.version === version) {
      this.scan.state = scan.state;
      this.scan.reason = scan.reason;
      this.scan.failedPage = scan.failed_page ?? null;
    }
    this.scan.pages = scan.pages;
    this.renderScan();
  }

  /**
   * A `scan.page` event: the page is appended when it is the next one; anything else (the list
   * changed meanwhile) refetches the list.
   * @param {any} data
   */
  onPageEvent(data) {
    const scan = this.scan;
    if (!scan || data.scan_id !== scan.id) return;
    scan.progress = null;
    if (scan.pages.some((p) => p.id === data.page_id)) return;
    if (data.index !== scan.pages.length + 1) {
      this.refreshScan().catch((error) => this.showError(error));
      return;
    }
    scan.pages.push({
      index: data.index,
      id: data.page_id,
      width: data.width,
      height: data.height,
      dpi: data.dpi,
      class: data.class,
      blank: data.blank,
      skew_corrected: data.skew_corrected,
      skew_degrees: 0,
      cropped: data.cropped,
      encoding: data.encoding,
      rotation: 0,
      bytes: data.n_bytes,
      url: "",
      thumbnail_url: data.thumbnail_url,
    });
    this.renderScan();
  }

  /** Drops the current scan from the page (not from the agent): the panel is as at the start. */
  forgetScan() {
    if (this.scan) for (const url of this.scan.thumbs.values()) URL.revokeObjectURL(url);
    this.scan = null;
    $("thumbs").replaceChildren();
    $("scan-note").hidden = true;
    $("scan-note").textContent = "";
  }

  async continueScan() {
    const current = this.scan;
    if (!current) return;
    const version = current.version;
    const scan = await this.client.continueScan(current.id);
    if (current.version === version) {
      current.state = scan.state;
      current.reason = scan.reason;
      current.failedPage = scan.failed_page ?? null;
    }
  }

  /** “Huỷ” during a batch, “Xoá bản quét” after it: deletes it on the agent, then from the page. */
  async discardScan() {
    if (!this.scan) return;
    const id = this.scan.id;
    try {
      await this.client.deleteScan(id);
    } catch (error) {
      // Already gone (expired, or deleted from another tab): what the clerk wanted.
      if (!(error instanceof CounterAgentError && error.code === "not_found")) throw error;
    }
    if (this.scan?.id === id) this.forgetScan();
    this.renderScan();
  }

  // ── page edits ────────────────────────────────────────────────────────────────────────

  /**
   * Moves page `from` (1-based) to position `to`; the agent checks the order against its list.
   * @param {number} from @param {number} to
   */
  async movePage(from, to) {
    const scan = this.scan;
    if (!scan || from === to || to < 1 || to > scan.pages.length) return;
    const order = scan.pages.map((p) => p.index);
    const [moved] = order.splice(from - 1, 1);
    order.splice(to - 1, 0, moved);
    const fresh = await this.client.reorderPages(scan.id, order);
    if (this.scan === scan) scan.pages = fresh.pages;
  }

  /** @param {number} index */
  async rotatePage(index) {
    const scan = this.scan;
    if (!scan) return;
    const page = await this.client.rotatePage(scan.id, index, 90);
    if (this.scan !== scan) return;
    scan.pages = scan.pages.map((p) => (p.id === page.id ? page : p));
  }

  /** @param {number} index */
  async deletePage(index) {
    const scan = this.scan;
    if (!scan) return;
    const fresh = await this.client.deletePage(scan.id, index);
    if (this.scan === scan) scan.pages = fresh.pages;
  }

  /**
   * A click in the page list: a page tool, or the image (opens the full page).
   * @param {MouseEvent} event
   */
  onThumbsClick(event) {
    const target = /** @type {HTMLElement} */ (event.target);
    const item = /** @type {HTMLElement | null} */ (target.closest("li[data-page-id]"));
    if (!item) return;
    const index = Number(item.dataset.index);
    const button = /** @type {HTMLButtonElement | null} */ (target.closest("button[data-action]"));
    if (button) {
      const action = button.dataset.action;
      this.act(button, async () => {
        if (action === "left") await this.movePage(index, index - 1);
        else if (action === "right") await this.movePage(index, index + 1);
        else if (action === "rotate") await this.rotatePage(index);
        else if (action === "delete") await this.deletePage(index);
      });
      return;
    }
    if (target.closest("img")) this.viewPage(index).catch((error) => this.showError(error));
  }

  /** Opens one page at full size in the viewer. @param {number} index */
  async viewPage(index) {
    const scan = this.scan;
    if (!scan) return;
    const url = await this.client.pageUrl(scan.id, index);
    const image = $("viewer-image");
    if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
    image.src = url;
    image.alt = `Trang ${index}`;
    $("viewer").dataset.kind = "page";
    $("viewer").showModal();
  }

  /** Drag and drop between thumbnails reorders pages. */
  wireDragAndDrop() {
    const list = $("thumbs");
    list.addEventListener("dragstart", (/** @type {DragEvent} */ event) => {
      const item = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest?.("li[data-page-id]"));
      if (!item || !event.dataTransfer) return;
      event.dataTransfer.setData("text/plain", item.dataset.index ?? "");
      event.dataTransfer.effectAllowed = "move";
      item.classList.add("dragging");
    });
    list.addEventListener("dragend", (/** @type {DragEvent} */ event) => {
      /** @type {HTMLElement} */ (event.target).closest?.("li")?.classList.remove("dragging");
    });
    list.addEventListener("dragover", (/** @type {DragEvent} */ event) => {
      if (/** @type {HTMLElement} */ (event.target).closest?.("li[data-page-id]")) event.preventDefault();
    });
    list.addEventListener("drop", (/** @type {DragEvent} */ event) => {
      const item = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest?.("li[data-page-id]"));
      const from = Number(event.dataTransfer?.getData("text/plain"));
      if (!item || !from) return;
      event.preventDefault();
      const to = Number(item.dataset.index);
      this.clearError();
      this.movePage(from, to)
        .catch((error) => this.showError(error))
        .finally(() => this.renderScan());
    });
  }

  /** Loads the thumbnail of `page` (as it is now, rotation included) once. @param {ScanPage} page */
  loadThumb(page) {
    const scan = this.scan;
    if (!scan) return;
    const key = `${page.id}:${page.rotation}`;
    if (scan.thumbs.has(key) || scan.loading.has(key)) return;
    scan.loading.add(key);
    const index = page.index;
    this.client
      .thumbnailUrl(scan.id, index)
      .then((url) => {
        scan.loading.delete(key);
        const now = scan.pages.find((p) => p.id === page.id);
        // Gone, turned again or moved while loading (the index named another page): not this one.
        if (this.scan !== scan || !now || now.rotation !== page.rotation || now.index !== index) {
          URL.revokeObjectURL(url);
          if (this.scan === scan) this.renderThumbs();
          return;
        }
        scan.thumbs.set(key, url);
        this.renderThumbs();
      })
      .catch((error) => {
        scan.loading.delete(key);
        if (this.scan !== scan) return;
        if (error instanceof CounterAgentError && error.code === "page_not_found") {
          this.refreshScan().catch((e) => this.showError(e));
          return;
        }
        scan.failedThumbs.add(key);
        this.renderThumbs();
        this.showError(error);
      });
  }

  /** The page list as the agent has it: thumbnails, class badges, flags and tools. */
  renderThumbs() {
    const scan = this.scan;
    const list = $("thumbs");
    if (!scan) {
      list.replaceChildren();
      return;
    }
    /** @type {Map<string, HTMLElement>} */
    const existing = new Map([...list.children].map((li) => [li.dataset.pageId, li]));
    const count = scan.pages.length;
    const items = scan.pages.map((page) => {
      const key = `${page.id}:${page.rotation}`;
      const url = scan.thumbs.get(key);
      let item = existing.get(page.id);
      if (!item) {
        item = el("li", { class: "thumb", "data-page-id": page.id, draggable: "true" });
      }
      item.dataset.index = String(page.index);
      item.dataset.class = page.class;
      const image = item.querySelector("img");
      let picture;
      if (url && image?.getAttribute("src") === url) picture = image;
      else if (url) picture = el("img", { src: url, alt: `Trang ${page.index}`, draggable: "false" });
      else picture = el("div", { class: "thumb-loading" }, [scan.failedThumbs.has(key) ? "Không tải được" : "Đang tải…"]);
      const flags = [];
      if (page.skew_corrected) flags.push("đã làm thẳng");
      if (page.cropped) flags.push("đã cắt theo thẻ");
      if (page.rotation) flags.push(`xoay ${page.rotation}°`);
      const tool = (/** @type {string} */ action, /** @type {string} */ text, /** @type {string} */ label, disabled = false) => {
        const button = el("button", { type: "button", class: "btn btn-tool", "data-action": action, title: label, "aria-label": `${label} (trang ${page.index})` }, [text]);
        if (disabled) button.setAttribute("disabled", "");
        return button;
      };
      item.replaceChildren(
        picture,
        el("div", { class: "thumb-meta" }, [
          el("span", { class: "thumb-label" }, [`Trang ${page.index}`]),
          el("span", { class: `page-class page-class-${page.class}` }, [classTextVi(page.class)]),
        ]),
        el("div", { class: "thumb-flags" }, [flags.join(" · ")]),
        el("div", { class: "thumb-tools" }, [
          tool("left", "◀", "Chuyển lên trước", page.index === 1),
          tool("rotate", "↻", "Xoay 90°"),
          tool("delete", "✕", "Xoá trang"),
          tool("right", "▶", "Chuyển ra sau", page.index === count),
        ]),
      );
      if (!url && !scan.failedThumbs.has(key)) this.loadThumb(page);
      return item;
    });
    list.replaceChildren(...items);
    // Thumbnails of pages that are gone, or of a rotation no longer shown, are released.
    const shown = new Set(scan.pages.map((p) => `${p.id}:${p.rotation}`));
    for (const [key, url] of scan.thumbs) {
      if (!shown.has(key)) {
        URL.revokeObjectURL(url);
        scan.thumbs.delete(key);
      }
    }
  }

  /** The size limit the clerk typed, in bytes; undefined when empty. */
  maxBytes() {
    const text = String($("scan-max-mb").value ?? "").trim().replace(",", ".");
    if (!text) return undefined;
    const mb = Number(text);
    if (!Number.isFinite(mb) || mb <= 0) {
      throw new ClerkError("Giới hạn dung lượng không hợp lệ — nhập số MB, ví dụ 2 hoặc 0,5; để trống nếu không giới hạn.");
    }
    return Math.floor(mb * 1_000_000);
  }

  /**
   * The document of the pages as they are now (cached until they change).
   * @param {number} [maxBytes]
   * @returns {Promise<Blob>}
   */
  async scanPdf(maxBytes) {
    const scan = this.scan;
    if (!scan) throw new CounterAgentError({ status: 0, code: "no_pages", message: "nothing scanned yet" });
    const key = JSON.stringify([scan.pages.map((p) => [p.id, p.rotation]), maxBytes ?? null]);
    if (scan.pdf?.key !== key) scan.pdf = { key, blob: await this.client.documentBlob(scan.id, { maxBytes }) };
    return scan.pdf.blob;
  }

  async downloadPdf() {
    const pdf = await this.scanPdf(this.maxBytes());
    const url = URL.createObjectURL(pdf);
    const link = el("a", { href: url, download: `ho-so-${fileStamp()}.pdf` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    $("scan-note").textContent = `Đã tải tệp PDF (${megabytesVi(pdf.size)}).`;
    $("scan-note").hidden = false;
  }

  renderScan() {
    const scan = this.scan;
    const state = $("scan-state");
    const pages = scan?.pages.length ?? 0;
    if (scan) {
      state.dataset.state = scan.state;
      state.textContent = scanStateText({ state: scan.state, reason: scan.reason, pages, failedPage: scan.failedPage });
    } else {
      state.dataset.state = "idle";
      state.textContent = "Chưa quét.";
    }
    const active = scan?.state === "scanning" || scan?.state === "paused";
    const done = scan?.state === "completed" || (scan?.state === "failed" && pages > 0);
    const paused = scan?.state === "paused";
    $("scan-paused").hidden = !paused;
    $("scan-continue").hidden = !paused;
    if (scan && paused) {
      $("scan-paused-title").textContent = scan.failedPage
        ? `Máy quét tạm dừng ở trang ${scan.failedPage}`
        : "Máy quét tạm dừng";
      $("scan-paused-reason").textContent = pausedText(scan.reason);
    }
    this.renderProgress();
    // Any scan can go: during a batch that cancels it, after it that deletes the pages.
    $("scan-cancel").hidden = !scan;
    $("scan-cancel").textContent = active ? "Huỷ" : "Xoá bản quét";
    $("scan-download").hidden = !done || pages === 0;
    $("scan-limit").hidden = !done || pages === 0;
    $("scan-edit-help").hidden = pages === 0;
    if ($("scan-start").getAttribute("aria-busy") !== "true") $("scan-start").disabled = active;
    if ($("print-scan").getAttribute("aria-busy") !== "true") $("print-scan").disabled = !done || pages === 0;
    $("print-scan-note").hidden = done && pages > 0;
    this.renderThumbs();
    this.renderDevices();
  }

  /** The bar of the page being scanned (the feeder's next sheet). */
  renderProgress() {
    const scan = this.scan;
    const box = $("scan-progress");
    if (!scan || scan.state !== "scanning") {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const progress = scan.progress;
    const page = progress?.page ?? scan.pages.length + 1;
    const percent = progress?.percent;
    box.dataset.known = String(percent !== null && percent !== undefined);
    $("scan-progress-fill").style.width = percent === null || percent === undefined ? "" : `${percent}%`;
    $("scan-progress-text").textContent =
      percent === null || percent === undefined ? `Đang quét trang ${page}…` : `Đang quét trang ${page} — ${percent}%`;
  }

  // ── printing ──────────────────────────────────────────────────────────────────────────

  async printScan() {
    const device = $("print-pdf-device").value;
    if (!device) throw new ClerkError("Chưa chọn máy in.");
    const pdf = await this.scanPdf();
    // One key per click: the button is disabled while the request runs, so a double click
    // cannot print twice; a second click later is a second copy on purpose.
    const job = await this.client.printPdf(device, pdf, `demo-${crypto.randomUUID()}`);
    this.trackJob(job, "Bản quét (PDF)");
  }

  /**
   * Prints one of the agent's templates with sample data (see {@link SAMPLES}) and shows what it
   * looks like: the preview is drawn by the agent from the same data, while the job prints.
   * @param {"receipt-a4" | "receipt-thermal" | "ticket"} what
   */
  async printSample(what) {
    const onA4 = what === "receipt-a4";
    const device = onA4 ? $("print-pdf-device").value : $("print-thermal-device").value;
    if (!device) throw new ClerkError(onA4 ? "Chưa chọn máy in A4." : "Chưa chọn máy in nhiệt.");
    const now = new Date();
    const width = this.devices.get(device)?.capabilities.printer?.paper_width_mm;
    const where = onA4 ? `máy in A4 ${device}` : `máy in nhiệt ${device}${width ? ` (khổ ${width} mm)` : ""}`;
    /** @type {{ template: import("./counter-agent.js").PrintTemplate, data: any, label: string, alt: string }} */
    let sample;
    if (what === "ticket") {
      const number = ticketNumber(this.sampleCounts.tickets + 1);
      sample = {
        template: "queue-ticket",
        data: queueTicketData(number, this.sampleCounts.tickets, now),
        label: `Số thứ tự ${number}`,
        alt: `Phiếu số thứ tự ${number}, dịch vụ Hộ tịch, in trên ${where}`,
      };
    } else {
      const data = dossierReceiptData(this.sampleCounts.receipts + 1, now);
      sample = {
        template: "dossier-receipt",
        data,
        label: onA4 ? "Giấy tiếp nhận (A4)" : "Giấy tiếp nhận (khổ nhỏ)",
        alt: `Giấy tiếp nhận hồ sơ và hẹn trả kết quả số ${data.dossier_code} của bà ${data.applicant_name}, in trên ${where}`,
      };
    }
    const request = { device, template: sample.template, data: sample.data };
    // Drawn while the job is queued; its failure is shown in the preview box, not as a failed print.
    const preview = this.client.previewPrint(request).then(
      (blob) => ({ blob, error: null }),
      (/** @type {unknown} */ error) => ({ blob: null, error }),
    );
    // One key per click: the button is disabled while the request runs, so a double click
    // cannot print twice; a second click later is a second copy on purpose.
    const job = await this.client.print({ ...request, idempotencyKey: `demo-${crypto.randomUUID()}` });
    if (what === "ticket") this.sampleCounts.tickets += 1;
    else this.sampleCounts.receipts += 1;
    this.trackJob(job, sample.label);
    const drawn = await preview;
    this.showPreview(drawn.blob, drawn.error, `${sample.label} — ${where}`, sample.alt);
  }

  /**
   * Shows the last preview (or why there is none) under the print buttons.
   * @param {Blob | null} blob @param {unknown} error @param {string} caption @param {string} alt
   */
  showPreview(blob, error, caption, alt) {
    if (this.preview) URL.revokeObjectURL(this.preview.url);
    this.preview = null;
    const image = $("print-preview-image");
    $("print-preview").hidden = false;
    $("print-preview").dataset.state = blob ? "ready" : "failed";
    if (blob) {
      const url = URL.createObjectURL(blob);
      this.preview = { blob, url, alt };
      image.src = url;
      image.alt = `Hình xem trước: ${alt}`;
      $("print-preview-open").hidden = false;
      $("print-preview-caption").textContent = caption;
    } else {
      image.removeAttribute("src");
      image.alt = "";
      $("print-preview-open").hidden = true;
      const why = error instanceof CounterAgentError ? errorTextVi(error) : String(error);
      $("print-preview-caption").textContent = `${caption}: không vẽ được hình xem trước (${why}). Lệnh in vẫn được gửi.`;
    }
  }

  /** Opens the preview at full size in the viewer (its own object URL: the viewer revokes what it shows). */
  viewPreview() {
    const preview = this.preview;
    if (!preview) return;
    const image = $("viewer-image");
    if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(preview.blob);
    image.alt = `Hình xem trước: ${preview.alt}`;
    const shown = $("print-preview-image");
    $("viewer").dataset.kind = shown.naturalHeight > 2 * shown.naturalWidth ? "strip" : "page";
    $("viewer").showModal();
  }

  // ── demo station: simulated printer faults ────────────────────────────────────────────

  /**
   * Whether the agent offers fault simulation (the demo station does; every other agent answers
   * 404), asked once per page life. The question re-states the condition a thermal printer shows
   * now, so asking changes nothing.
   */
  async probeDemoFaults() {
    if (this.demoFaults !== null || this.demoProbe) return;
    const printer = [...this.devices.values()].find((d) => d.capabilities.printer?.formats.includes("escpos"));
    if (!printer) return;
    this.demoProbe = this.client
      .demoFault(printer.id, currentFault(printer))
      .then(
        () => {
          this.demoFaults = true;
        },
        (/** @type {unknown} */ error) => {
          // 404: not the demo station. Anything else (unreachable, no print scope): ask again later.
          if (error instanceof CounterAgentError && error.status === 404) this.demoFaults = false;
        },
      )
      .finally(() => {
        this.demoProbe = null;
        this.renderDemoControls();
      });
  }

  /** “Mô phỏng hết giấy” / “Nạp giấy” for the chosen thermal printer: a toggle that follows its status. */
  renderDemoControls() {
    const box = $("print-demo");
    const device = this.devices.get($("print-thermal-device").value);
    box.hidden = this.demoFaults !== true || !device;
    if (box.hidden || !device) return;
    const paperOut = this.simulatedPaperOut(device);
    const button = $("print-demo-paper");
    button.setAttribute("aria-pressed", String(paperOut));
    button.textContent = paperOut ? "Nạp giấy" : "Mô phỏng hết giấy";
    $("print-demo-note").textContent = paperOut
      ? `${kindText(device)} đang “hết giấy”: lệnh in gửi tới sẽ chờ. Bấm “Nạp giấy” để máy tự in tiếp.`
      : `Giả lập ${kindText(device).toLowerCase()} hết giấy để xem lệnh in chờ rồi tự in tiếp khi nạp giấy.`;
  }

  /**
   * Whether the page shows `device` as out of paper: what the page last set, until the device's
   * status event confirms it; the device's status otherwise.
   * @param {Device} device
   */
  simulatedPaperOut(device) {
    const set = this.demoFaultSet.get(device.id);
    if (set !== undefined) return set === "paper_out";
    return device.status.reason === "paper_out";
  }

  async toggleDemoPaper() {
    const device = this.devices.get($("print-thermal-device").value);
    if (!device) throw new ClerkError("Chưa chọn máy in nhiệt.");
    const fault = this.simulatedPaperOut(device) ? null : "paper_out";
    await this.client.demoFault(device.id, fault);
    this.demoFaultSet.set(device.id, fault);
    this.renderDemoControls();
  }

  /** @param {PrintJob} job @param {string} label */
  trackJob(job, label) {
    const early = this.untrackedPrints.get(job.id);
    this.untrackedPrints.delete(job.id);
    this.jobs.set(job.id, { ...job, ...early, label, version: 0 });
    this.renderJobs();
  }

  renderJobs() {
    const jobs = [...this.jobs.values()].reverse().slice(0, 6);
    $("jobs-title").hidden = jobs.length === 0;
    $("jobs").replaceChildren(
      ...jobs.map((job) => {
        const children = [
          el("div", { class: "job-what" }, [`${job.label} → ${job.device}`]),
          el("div", { class: "job-state" }, [printStateText(job)]),
        ];
        if (job.state === "queued" || job.state === "waiting") {
          const cancel = /** @type {HTMLButtonElement} */ (el("button", { type: "button", class: "btn btn-small" }, ["Huỷ lệnh in"]));
          cancel.addEventListener("click", () =>
            this.act(cancel, async () => {
              const version = job.version;
              const fresh = await this.client.cancelPrint(job.id);
              if (job.version === version) Object.assign(job, fresh);
              this.renderJobs();
            }),
          );
          children.push(cancel);
        }
        return el("li", { class: "job", "data-job": job.id, "data-state": job.state }, children);
      }),
    );
  }
}

// ── sample print data ─────────────────────────────────────────────────────────────────────

/**
 * The demo's made-up office data. Times are the counter PC's local time (Vietnamese time at a
 * real counter), as the templates want them.
 */
const SAMPLES = Object.freeze({
  agencyCode: "000.00.31.H26",
  counters: ["1", "2"],
  followBase: "https://motcua.example.gov.vn/hang-doi/",
  lookupBase: "https://dichvucong.example.gov.vn/tra-cuu?ma=",
});

/** `YYYY-MM-DDTHH:MM` in the PC's time zone. @param {Date} date */
export function localMinute(date) {
  return (
    `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}` +
    `T${pad2(date.getHours())}:${pad2(date.getMinutes())}`
  );
}

/**
 * The appointment for a dossier received at `received`: `workingDays` later (Saturdays and
 * Sundays not counted) at 14:00.
 * @param {Date} received @param {number} workingDays
 */
export function appointmentAfter(received, workingDays) {
  const day = new Date(received.getFullYear(), received.getMonth(), received.getDate(), 14, 0);
  for (let left = workingDays; left > 0; ) {
    day.setDate(day.getDate() + 1);
    if (day.getDay() !== 0 && day.getDay() !== 6) left -= 1;
  }
  return day;
}

/** The page's n-th queue number: A0001, A0002… @param {number} n */
export function ticketNumber(n) {
  return `A${String(n).padStart(4, "0")}`;
}

/**
 * A queue ticket for the civil-status (hộ tịch) service; a few people ahead, a few more the more
 * tickets the page has issued.
 * @param {string} number @param {number} issuedBefore @param {Date} now
 * @returns {import("./counter-agent.js").QueueTicketData}
 */
export function queueTicketData(number, issuedBefore, now) {
  return {
    number,
    service: "Hộ tịch",
    issued_at: localMinute(now),
    waiting_ahead: 3 + (issuedBefore % 5),
    counters: [...SAMPLES.counters],
    follow_url: `${SAMPLES.followBase}${number}`,
  };
}

/**
 * The receipt of a birth registration dossier handed in now, the `sequence`-th of the day.
 * @param {number} sequence @param {Date} now
 * @returns {import("./counter-agent.js").DossierReceiptData}
 */
export function dossierReceiptData(sequence, now) {
  const yymmdd = `${String(now.getFullYear()).slice(2)}${pad2(now.getMonth() + 1)}${pad2(now.getDate())}`;
  const code = `${SAMPLES.agencyCode}-${yymmdd}-${String(sequence).padStart(4, "0")}`;
  return {
    dossier_code: code,
    copy_label: "Liên 1: Giao người nộp hồ sơ",
    applicant_name: "Nguyễn Thị Hằng",
    applicant_address: "Số 5 ngõ 12 Đào Tấn, phường Kim Mã, quận Ba Đình, Hà Nội",
    applicant_phone: "0912 345 678",
    applicant_email: "hang.nguyen@example.vn",
    procedure: "Đăng ký khai sinh",
    documents: [
      { name: "Tờ khai đăng ký khai sinh", copy: "original", count: 1 },
      { name: "Giấy chứng sinh", copy: "original", count: 1 },
      { name: "Căn cước công dân của người đi đăng ký", copy: "certified_copy", count: 1 },
      { name: "Giấy chứng nhận kết hôn của cha, mẹ", copy: "copy", count: 1 },
    ],
    sets: 1,
    processing_time: "03 ngày làm việc",
    received_at: localMinute(now),
    appointment_at: localMinute(appointmentAfter(now, 3)),
    collect_at: "Quầy số 1, Bộ phận tiếp nhận và trả kết quả",
    receiver_name: "Trần Văn Bình",
    lookup_url: `${SAMPLES.lookupBase}${code}`,
  };
}

/**
 * The demo fault that describes `device` as it is now: telling the agent this changes nothing.
 * @param {Device} device
 * @returns {import("./counter-agent.js").DemoFault | null}
 */
function currentFault(device) {
  const { state, reason } = device.status;
  if (state === "offline") return "offline";
  const faults = ["paper_out", "cover_open", "paper_near_end", "jammed"];
  return reason && faults.includes(reason) ? /** @type {any} */ (reason) : null;
}

// Both <script> tags in demo.html may find a copy of this file; only the first one runs.
if (!document.documentElement.dataset.demoStarted) {
  document.documentElement.dataset.demoStarted = "true";
  new DemoPage().start();
}
