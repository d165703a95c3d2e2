// @ts-check
/**
 * counter-agent browser client: an ES module with no dependencies and no build step.
 *
 *     import { CounterAgent } from "http://127.0.0.1:7420/web/counter-agent.js";
 *     const agent = new CounterAgent({ agentUrl: "http://127.0.0.1:7420" });
 *     if (!agent.isPaired()) {
 *       const pairing = await agent.pair({ label: "Một cửa — quầy 3" });
 *       // The clerk opens pairing.pairPage on the counter PC and reads the 6-digit code.
 *       await pairing.complete(codeTypedByTheClerk);
 *     }
 *     const devices = await agent.devices();
 *
 * Wire objects (devices, scans, print jobs, events) keep the API's snake_case field names, exactly
 * as `GET /v1/openapi.json` documents them. Every failure is thrown as a {@link CounterAgentError}.
 *
 * The bearer token lives in `storage` (default `localStorage`) under a key that names the agent
 * URL, is sent only to that agent, and is never logged by this module.
 */

export const DEFAULT_AGENT_URL = "http://127.0.0.1:7420";

const STORAGE_PREFIX = "counter-agent.token:";
const DEFAULT_TIMEOUT_MS = 30_000;
const PRINT_TIMEOUT_MS = 120_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** The agent pings every 25 s; silence for this long means the connection is dead. */
const SILENCE_LIMIT_MS = 70_000;

/**
 * @typedef {"ready" | "busy" | "offline" | "error"} DeviceState
 * @typedef {{ state: DeviceState, reason: string | null, message: string | null }} DeviceStatus
 * @typedef {{ sources: string[], max_dpi: number, default_dpi: number }} ScannerCapabilities
 * @typedef {{ paper_width_mm: number, printable_dots: number, dpi: number, cutter: boolean,
 *             formats: string[] }} PrinterCapabilities
 * @typedef {{ id: string, kind: "scanner" | "printer", profile: string, display_name: string,
 *             connection_scheme: string, status: DeviceStatus,
 *             capabilities: { scanner?: ScannerCapabilities, printer?: PrinterCapabilities } }} Device
 * @typedef {{ index: number, id: string, width: number, height: number, dpi: number,
 *             class: "text" | "color" | "gray" | "blank", blank: boolean, skew_corrected: boolean,
 *             skew_degrees: number, cropped: boolean, encoding: "g4" | "jpeg-gray" | "jpeg-color",
 *             rotation: 0 | 90 | 180 | 270, bytes: number, sha256: string, url: string,
 *             thumbnail_url: string }} ScanPage
 *   `index` is the 1-based position (changes on reorder/delete); `id` never changes.
 * @typedef {"scanning" | "paused" | "completed" | "failed" | "cancelled"} ScanState
 * @typedef {{ id: string, device: string, source: string, color: string, dpi: number,
 *             state: ScanState, reason: string | null, detail: string | null, failed_page: number | null,
 *             pages: ScanPage[],
 *             document_url: string,
 *             created_at: string, updated_at: string }} Scan
 * @typedef {"queued" | "printing" | "waiting" | "printed" | "failed" | "cancelled"} PrintState
 * @typedef {{ id: string, device: string, state: PrintState, reason: string | null, format: string,
 *             bytes: number, created_at: string, updated_at: string }} PrintJob
 *   `reason` says why a job is `waiting` (the printer's status reason: `paper_out`, `cover_open`,
 *   `offline`…; it prints by itself once the printer is ready) or `failed`; see {@link reasonTextVi}.
 * @typedef {"dossier-receipt" | "queue-ticket"} PrintTemplate
 *   Documents the agent draws itself, in Vietnamese with the office's header from the station file:
 *   `dossier-receipt` (“Giấy tiếp nhận hồ sơ và hẹn trả kết quả”) as a PDF on an A4 printer or as
 *   ESC/POS on an 80 mm or 58 mm thermal printer; `queue-ticket` on a thermal printer only.
 * @typedef {{ name: string, copy: "original" | "copy" | "certified_copy", count: number }} ReceivedDocument
 *   One kind of paper handed in: bản chính, bản sao, bản sao có chứng thực.
 * @typedef {{ dossier_code: string, copy_label?: string | null, applicant_name: string,
 *             applicant_address: string, applicant_phone?: string | null, applicant_email?: string | null,
 *             procedure: string, documents: ReceivedDocument[], sets?: number, processing_time: string,
 *             received_at: string, appointment_at: string, collect_at: string, receiver_name: string,
 *             lookup_url: string }} DossierReceiptData
 *   `dossier_code` is `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX` (e.g. `000.00.31.H26-261204-0001`); times
 *   are the office's local time, `YYYY-MM-DDTHH:MM` (`appointment_at` may be a date alone and is never
 *   before `received_at`); `lookup_url`, printed as a QR code, is `https://`.
 * @typedef {{ number: string, service: string, issued_at: string, waiting_ahead: number,
 *             counters?: string[], follow_url?: string | null, priority?: string | null }} QueueTicketData
 *   `number` is ASCII letters and digits (`A1023`); `issued_at` is local `YYYY-MM-DDTHH:MM`;
 *   `follow_url` (a QR code, `https://`) and `priority` are printed only when given.
 * @typedef {{ device: string, pdf?: Document, escpos?: Document, template?: PrintTemplate,
 *             data?: DossierReceiptData | QueueTicketData, fitToWidth?: boolean }} PrintDocument
 *   Exactly one of `pdf`, `escpos` or `template`; `data` goes with `template` (and only with it).
 *   A PDF for a thermal printer prints as an image at the paper's width; one wider than the paper
 *   (A4 on 80 mm) only with `fitToWidth: true`, else `unsupported_format`.
 * @typedef {"paper_out" | "cover_open" | "paper_near_end" | "jammed" | "offline"} DemoFault
 *   A condition the demo station can simulate on one of its devices; `offline` unplugs it.
 * @typedef {{ seq: number, at: string, type: string, data: any }} AgentEvent
 *   `type` is `device.status`, `scan.state`, `scan.page`, `scan.progress` (the page being scanned:
 *   `page`, `bytes`, `expected_bytes`), `scan.pages` (pages reordered, rotated or deleted) or
 *   `print.state`; the client adds
 *   `{ type: "resync", reason: "connected" | "gap" }` when the page should refetch its state.
 * @typedef {{ tokenId: string, origin: string, scopes: string[] }} PairingInfo
 * @typedef {{ pairingId: string, pairPage: string, codeLength: number, expiresInS: number,
 *             complete: (code: string) => Promise<PairingInfo> }} Pairing
 * @typedef {"connecting" | "open" | "reconnecting" | "unauthorized" | "closed"} StreamState
 * @typedef {{ getItem(key: string): string | null, setItem(key: string, value: string): void,
 *             removeItem(key: string): void }} TokenStorage
 * @typedef {Uint8Array | ArrayBuffer | Blob | string} Document
 *   Bytes, a Blob, or a string that is already base64.
 */

/** An error from the agent (`{"error":{code,message,hint}}`) or from reaching it. */
export class CounterAgentError extends Error {
  /**
   * @param {{ status: number, code: string, message: string, hint?: string | null, cause?: unknown }} init
   *   `status` is 0 when no HTTP answer arrived. Client-side codes: `agent_unreachable`,
   *   `not_paired`, `unexpected_response`.
   */
  constructor({ status, code, message, hint = null, cause }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "CounterAgentError";
    /** @type {number} */
    this.status = status;
    /** @type {string} */
    this.code = code;
    /** @type {string | null} */
    this.hint = hint;
  }
}

/**
 * Vietnamese text for every error code of the API (`ErrorCode` in `GET /v1/openapi.json`) and of
 * this client, for pages that show errors to clerks. Each says what happened and, where the clerk
 * can do something, what to do. Use {@link errorTextVi}, which also reads details out of the message.
 */
export const ERROR_TEXT_VI = Object.freeze({
  // This client's own codes.
  agent_unreachable: "Không kết nối được với phần mềm máy quầy (counter-agent).",
  not_paired: "Trình duyệt này chưa được ghép nối với máy quầy.",
  unexpected_response: "Phần mềm máy quầy trả lời không như mong đợi — thử lại; nếu vẫn lỗi, báo kỹ thuật viên.",
  // The API's codes.
  host_not_allowed: "Địa chỉ truy cập máy quầy không hợp lệ — trang phải gọi máy quầy qua http://127.0.0.1.",
  origin_not_allowed:
    "Trang web này chưa được phép dùng máy quầy — báo kỹ thuật viên thêm địa chỉ của trang vào danh sách được phép (allowed_origins).",
  origin_required: "Yêu cầu không cho biết trang web gửi đi nên bị từ chối — báo kỹ thuật viên.",
  unsupported_media_type: "Dữ liệu gửi lên không đúng định dạng — báo kỹ thuật viên.",
  body_too_large: "Tài liệu quá lớn để gửi tới máy quầy.",
  invalid_json: "Dữ liệu gửi lên bị lỗi — báo kỹ thuật viên.",
  invalid_request: "Yêu cầu không hợp lệ — kiểm tra lại lựa chọn rồi thử lại.",
  invalid_base64: "Tài liệu gửi lên bị hỏng — thử lại.",
  invalid_document: "Tài liệu không hợp lệ (không phải tệp PDF hoặc lệnh in đúng chuẩn), không in được.",
  unauthorized: "Phiên ghép nối không còn hiệu lực — hãy ghép nối lại.",
  insufficient_scope: "Ghép nối hiện tại không có quyền làm việc này — báo kỹ thuật viên.",
  unknown_scope: "Quyền yêu cầu không tồn tại — báo kỹ thuật viên.",
  rate_limited: "Thao tác quá nhanh — đợi vài giây rồi thử lại.",
  pairing_locked: "Nhập sai mã quá nhiều lần — ghép nối bị tạm khoá 5 phút.",
  pairing_failed: "Mã ghép nối không đúng hoặc đã hết hạn — kiểm tra lại mã trên trang ghép nối.",
  ticket_invalid: "Không mở được kênh cập nhật trực tiếp — trang sẽ tự thử lại.",
  not_found: "Không tìm thấy (có thể đã bị xoá hoặc hết hạn).",
  unknown_device: "Máy quầy không có thiết bị này — tải lại trang.",
  wrong_device_kind: "Thiết bị đã chọn không làm được việc này.",
  unsupported_format: "Định dạng không được hỗ trợ (máy in không in được loại tài liệu này, hoặc định dạng ảnh không đúng).",
  device_busy: "Thiết bị đang bận với việc khác — đợi xong rồi thử lại.",
  device_unavailable: "Thiết bị chưa sẵn sàng — kiểm tra nguồn điện, cáp và giấy rồi thử lại.",
  scan_not_paused: "Lượt quét không ở trạng thái tạm dừng.",
  scan_in_progress: "Máy đang quét — đợi quét xong (hoặc tạm dừng) rồi lấy tài liệu.",
  no_pages: "Chưa có trang nào được quét.",
  page_not_found: "Không có trang này (có thể vừa bị xoá) — tải lại danh sách trang.",
  invalid_page_order: "Thứ tự trang không hợp lệ (danh sách trang vừa thay đổi) — thử lại.",
  invalid_rotation: "Chỉ xoay được 90, 180 hoặc 270 độ.",
  document_too_large: "Không nén được tệp PDF xuống dưới giới hạn dung lượng — tăng giới hạn hoặc xoá bớt trang.",
  idempotency_conflict: "Lệnh in này đã được gửi với tài liệu khác — bấm in lại.",
  unknown_template: "Máy quầy không có mẫu in này — có thể cần cập nhật phần mềm; báo kỹ thuật viên.",
  invalid_template_data: "Thông tin để in còn thiếu hoặc chưa đúng — kiểm tra lại rồi in lại.",
  job_not_cancellable: "Lệnh in đã bắt đầu, không huỷ được nữa.",
  method_not_allowed: "Phần mềm máy quầy không hỗ trợ thao tác này — có thể cần cập nhật phần mềm; báo kỹ thuật viên.",
  storage_full: "Ổ đĩa máy tính đã đầy — báo kỹ thuật viên giải phóng dung lượng.",
  internal: "Phần mềm máy quầy gặp lỗi nội bộ — báo kỹ thuật viên.",
});

/**
 * Vietnamese text for every reason the agent gives: device status reasons (`paper_out`, `jammed`,
 * … — the same texts as the agent's own `message`), and the reasons of failed or waiting print
 * jobs and of paused, failed or completed scans. Use {@link reasonTextVi}.
 */
export const REASON_TEXT_VI = Object.freeze({
  // Device status (StatusReason in the driver API).
  not_found: "Không tìm thấy thiết bị — kiểm tra cáp và nguồn điện",
  offline: "Thiết bị đang ngoại tuyến",
  paper_out: "Hết giấy — hãy nạp thêm giấy",
  paper_near_end: "Giấy sắp hết",
  cover_open: "Nắp thiết bị đang mở — hãy đóng nắp",
  jammed: "Kẹt giấy — gỡ giấy kẹt rồi tiếp tục",
  feeder_empty: "Khay nạp giấy trống — đặt tài liệu vào khay",
  cutter_error: "Lỗi dao cắt giấy",
  io_error: "Lỗi truyền dữ liệu với thiết bị",
  protocol_error: "Thiết bị trả lời không đúng giao thức",
  status_unknown: "Máy in không trả lời khi hỏi trạng thái — chưa biết còn giấy hay không",
  unreadable_file:
    "Có tệp trong thư mục quét không đọc được — tệp đã được chuyển vào thư mục rejected; bấm Tiếp tục để lấy các tệp sau",
  // Print jobs.
  interrupted: "Lệnh in bị gián đoạn khi phần mềm khởi động lại — kiểm tra giấy đã in, nếu chưa có thì in lại",
  unsupported: "Thiết bị không làm được việc này — báo kỹ thuật viên",
  device_unavailable: "Không dùng được thiết bị — kiểm tra nguồn điện và cáp rồi thử lại",
  spool_missing: "Mất dữ liệu của lệnh in trên máy tính — hãy in lại",
  cancelled: "Đã bị huỷ",
  // Scans (and anything kept on disk).
  storage_full: "Ổ đĩa máy tính đã đầy — báo kỹ thuật viên giải phóng dung lượng",
  storage_error: "Không ghi được dữ liệu vào ổ đĩa máy tính",
  too_many_pages: "Đã đạt số trang tối đa của một lượt quét — quét phần còn lại ở lượt mới",
  abandoned: "Lượt quét tạm dừng quá lâu nên đã được đóng lại — quét lại ở lượt mới",
  internal: "Lỗi nội bộ của phần mềm máy quầy — báo kỹ thuật viên",
});

/**
 * What the page shows for a code it has no text for: never the bare code.
 * @param {string} code
 * @returns {string}
 */
export function unknownCodeTextVi(code) {
  return `Lỗi không rõ (mã: ${code}) — báo kỹ thuật viên`;
}

/**
 * Vietnamese text for an error, for the clerk. Takes the {@link CounterAgentError} (or any
 * `{ code, message, status }`) or just its code. From the error's message it reads what the code
 * alone does not say: the attempts left after a wrong pairing code, the minutes of a lockout.
 * For `invalid_template_data` it names the wrong fields of the print data in Vietnamese.
 * Unknown codes get {@link unknownCodeTextVi}.
 * @param {string | { code?: string, message?: string, status?: number } | null | undefined} error
 * @returns {string}
 */
export function errorTextVi(error) {
  const code = typeof error === "string" ? error : String(error?.code ?? "internal");
  const message = typeof error === "string" ? "" : String(error?.message ?? "");
  if (code === "pairing_failed") {
    if (/already completed/i.test(message)) {
      return "Yêu cầu ghép nối này đã được dùng rồi — bấm “Lấy mã mới” để ghép nối lại.";
    }
    // "wrong or expired code; N attempts left before a 5-minute lockout"
    const left = /(\d+)\s+attempts?\s+left/i.exec(message);
    if (left) {
      return `Mã ghép nối không đúng hoặc đã hết hạn — còn ${Number(left[1])} lần thử trước khi bị tạm khoá 5 phút.`;
    }
  }
  if (code === "pairing_locked") {
    // "too many wrong codes; pairing is locked for N more seconds"
    const seconds = /locked for (\d+)/i.exec(message);
    if (seconds) {
      const minutes = Math.max(1, Math.ceil(Number(seconds[1]) / 60));
      return `Nhập sai mã quá nhiều lần — ghép nối bị tạm khoá, thử lại sau ${minutes} phút.`;
    }
  }
  if (code === "invalid_template_data") {
    const fields = templateFieldsVi(message);
    if (fields.length > 0) {
      return `Thông tin để in còn thiếu hoặc chưa đúng: ${fields.join("; ")} — sửa lại rồi in lại.`;
    }
  }
  if (code === "document_too_large") {
    // "cannot fit the document in N bytes: the smallest reached is M bytes"
    const sizes = /in (\d+) bytes.*smallest reached is (\d+) bytes/i.exec(message);
    if (sizes) {
      return `Không nén được tệp PDF xuống dưới ${megabytesVi(Number(sizes[1]))} — nhỏ nhất đạt được là ${megabytesVi(Number(sizes[2]))}. Tăng giới hạn hoặc xoá bớt trang.`;
    }
  }
  return /** @type {Record<string, string>} */ (ERROR_TEXT_VI)[code] ?? unknownCodeTextVi(code);
}

/** What the clerk calls each field of the print templates ({@link DossierReceiptData}, {@link QueueTicketData}). */
const TEMPLATE_FIELD_VI = Object.freeze({
  dossier_code: "mã hồ sơ",
  copy_label: "dòng ghi liên",
  applicant_name: "họ tên người nộp",
  applicant_address: "địa chỉ người nộp",
  applicant_phone: "số điện thoại",
  applicant_email: "thư điện tử",
  procedure: "tên thủ tục",
  documents: "danh sách giấy tờ",
  sets: "số bộ hồ sơ",
  processing_time: "thời hạn giải quyết",
  received_at: "thời điểm tiếp nhận",
  appointment_at: "thời điểm hẹn trả kết quả",
  collect_at: "nơi nhận kết quả",
  receiver_name: "cán bộ tiếp nhận",
  lookup_url: "đường dẫn tra cứu (mã QR)",
  number: "số thứ tự",
  service: "dịch vụ",
  issued_at: "thời điểm lấy số",
  waiting_ahead: "số người chờ trước",
  counters: "quầy phục vụ",
  follow_url: "đường dẫn theo dõi (mã QR)",
  priority: "nhóm ưu tiên",
});

/** The same for the fields of one entry of `documents`. */
const DOCUMENT_FIELD_VI = Object.freeze({ name: "tên giấy tờ", copy: "bản chính hay bản sao", count: "số lượng" });

/**
 * The fields an `invalid_template_data` message names, in Vietnamese, each once. The agent's message
 * is "template data is invalid: `field` problem; `field` problem…", field paths such as
 * `documents[1].count` (0-based); fields a template does not have keep their own name.
 * @param {string} message
 * @returns {string[]}
 */
function templateFieldsVi(message) {
  const table = /** @type {Record<string, string>} */ (TEMPLATE_FIELD_VI);
  const documentTable = /** @type {Record<string, string>} */ (DOCUMENT_FIELD_VI);
  /** @type {string[]} */
  const names = [];
  for (const match of message.matchAll(/(?:^|: |; )`([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?`/g)) {
    const [, field, index, part] = match;
    let name = table[field] ?? `trường “${field}” (mẫu in không có)`;
    if (index !== undefined) {
      const which = field === "documents" ? `giấy tờ thứ ${Number(index) + 1}` : `${name} thứ ${Number(index) + 1}`;
      name = part === undefined ? which : `${which} (${documentTable[part] ?? `trường “${part}”`})`;
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * A size in megabytes (1 MB = 1 000 000 bytes) as Vietnamese write it: "1,5 MB"; under 0,1 MB in
 * kilobytes ("85 KB").
 * @param {number} bytes
 * @returns {string}
 */
export function megabytesVi(bytes) {
  if (bytes < 100_000) return `${Math.ceil(bytes / 1000)} KB`;
  const mb = bytes / 1_000_000;
  const text = mb.toFixed(mb < 10 ? 2 : 1).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  return `${text.replace(".", ",")} MB`;
}

/**
 * Vietnamese text for a status, print or scan reason code; "" for none. Unknown codes get
 * {@link unknownCodeTextVi}, so a page never shows a bare code.
 * @param {string | null | undefined} reason
 * @returns {string}
 */
export function reasonTextVi(reason) {
  if (!reason) return "";
  return /** @type {Record<string, string>} */ (REASON_TEXT_VI)[reason] ?? unknownCodeTextVi(reason);
}

/** @implements {TokenStorage} */
class MemoryStorage {
  constructor() {
    /** @type {Map<string, string>} */
    this.map = new Map();
  }
  /** @param {string} key */
  getItem(key) {
    return this.map.get(key) ?? null;
  }
  /** @param {string} key @param {string} value */
  setItem(key, value) {
    this.map.set(key, value);
  }
  /** @param {string} key */
  removeItem(key) {
    this.map.delete(key);
  }
}

/** @returns {TokenStorage} */
function defaultStorage() {
  try {
    // Throws in sandboxed frames and some privacy modes.
    if (globalThis.localStorage) return globalThis.localStorage;
  } catch {
    // Fall through to memory: pairing then lasts as long as the page.
  }
  return new MemoryStorage();
}

/**
 * @param {string} url
 * @returns {string} the URL's origin, e.g. `http://127.0.0.1:7420`
 */
function normaliseAgentUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new CounterAgentError({ status: 0, code: "invalid_request", message: `agentUrl is not a URL: ${url}`, cause });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CounterAgentError({ status: 0, code: "invalid_request", message: "agentUrl must be http:// or https://" });
  }
  return parsed.origin;
}

/**
 * Base64 of a document; strings are taken as base64 already.
 * @param {Document} data
 * @returns {Promise<string>}
 */
export async function toBase64(data) {
  if (typeof data === "string") return data.replace(/^data:[^,]*;base64,/, "");
  /** @type {Uint8Array | null} */
  let bytes = null;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes && typeof (/** @type {any} */ (bytes).toBase64) === "function") {
    return /** @type {any} */ (bytes).toBase64();
  }
  // FileReader encodes natively, without building a huge binary string in JS.
  const blob = data instanceof Blob ? data : new Blob([/** @type {Uint8Array} */ (bytes)]);
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(/** @type {string} */ (reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  return url.slice(url.indexOf(",") + 1);
}

/** @returns {string} */
function randomKey() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The document part of a print or preview request, checked as the agent checks it: exactly one of
 * `pdf`, `escpos` or `template`, and `data` with a template only.
 * @param {PrintDocument} request
 * @returns {Promise<Record<string, unknown>>}
 */
async function documentBody({ device, pdf, escpos, template, data, fitToWidth }) {
  const given = [pdf, escpos, template].filter((part) => part !== undefined).length;
  if (given !== 1) {
    throw new CounterAgentError({ status: 0, code: "invalid_request", message: "pass exactly one of pdf, escpos or template" });
  }
  /** @type {Record<string, unknown>} */
  const body = { device };
  if (template !== undefined) {
    if (data === undefined || data === null) {
      throw new CounterAgentError({ status: 0, code: "invalid_template_data", message: "`data` is missing" });
    }
    body.template = template;
    body.data = data;
    return body;
  }
  if (data !== undefined) {
    throw new CounterAgentError({ status: 0, code: "invalid_request", message: "`data` goes with `template` only" });
  }
  if (pdf !== undefined) body.pdf = await toBase64(pdf);
  if (escpos !== undefined) body.escpos = await toBase64(escpos);
  if (fitToWidth) body.fit_to_width = true;
  return body;
}

/** Talks to one counter-agent. */
export class CounterAgent {
  /** @type {string} */
  #agentUrl;
  /** @type {TokenStorage} */
  #storage;
  /** @type {number} */
  #timeoutMs;

  /**
   * @param {{ agentUrl?: string, storage?: TokenStorage, timeoutMs?: number }} [options]
   */
  constructor({ agentUrl = DEFAULT_AGENT_URL, storage = defaultStorage(), timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    this.#agentUrl = normaliseAgentUrl(agentUrl);
    this.#storage = storage;
    this.#timeoutMs = timeoutMs;
  }

  /** The agent's origin, e.g. `http://127.0.0.1:7420`. */
  get agentUrl() {
    return this.#agentUrl;
  }

  /** Where the token is stored: one key per agent URL. */
  get storageKey() {
    return STORAGE_PREFIX + this.#agentUrl;
  }

  // ── pairing ────────────────────────────────────────────────────────────────────────────

  /** @returns {{ token: string, tokenId: string, origin: string, scopes: string[] } | null} */
  #stored() {
    let text = null;
    try {
      text = this.#storage.getItem(this.storageKey);
    } catch {
      return null;
    }
    if (!text) return null;
    try {
      const value = JSON.parse(text);
      return typeof value?.token === "string" ? value : null;
    } catch {
      return null;
    }
  }

  /** Whether a token for this agent is stored (it may still have been revoked on the agent). */
  isPaired() {
    return this.#stored() !== null;
  }

  /** What the stored pairing allows, without the secret; `null` when not paired. @returns {PairingInfo | null} */
  pairingInfo() {
    const stored = this.#stored();
    return stored ? { tokenId: stored.tokenId, origin: stored.origin, scopes: stored.scopes } : null;
  }

  /** Drops the stored token (the agent's technician can also revoke it). */
  forget() {
    try {
      this.#storage.removeItem(this.storageKey);
    } catch {
      // Nothing stored, nothing to forget.
    }
  }

  /**
   * Revokes this page's token on the agent, then forgets it. Works even when the agent is
   * unreachable (the token is forgotten locally; a technician can revoke it later).
   * @returns {Promise<void>}
   */
  async unpair() {
    try {
      if (this.isPaired()) await this.#fetch("DELETE", "/v1/tokens/self");
    } catch {
      // Already revoked or agent unreachable: forgetting locally is all that is left to do.
    } finally {
      this.forget();
    }
  }

  /**
   * Asks the agent for a pairing code. The agent shows the code on its own page, `pairPage`, on
   * the counter PC; the clerk types it in and the page calls `complete(code)`.
   * @param {{ label?: string, scopes?: string[] }} [options]
   * @returns {Promise<Pairing>}
   */
  async pair({ label, scopes } = {}) {
    /** @type {Record<string, unknown>} */
    const body = {};
    if (label !== undefined) body.label = label;
    if (scopes !== undefined) body.scopes = scopes;
    const started = await this.#json("POST", "/v1/pairing/start", { json: body, auth: false });
    const pairingId = started.pairing_id;
    return {
      pairingId,
      pairPage: started.pair_page,
      codeLength: started.code_length,
      expiresInS: started.expires_in_s,
      complete: async (code) => {
        const cleaned = String(code).replace(/[\s-]/g, "");
        const token = await this.#json("POST", "/v1/pairing/complete", {
          json: { pairing_id: pairingId, code: cleaned },
          auth: false,
        });
        const stored = { token: token.token, tokenId: token.token_id, origin: token.origin, scopes: token.scopes };
        this.#storage.setItem(this.storageKey, JSON.stringify(stored));
        return { tokenId: stored.tokenId, origin: stored.origin, scopes: stored.scopes };
      },
    };
  }

  // ── calls ──────────────────────────────────────────────────────────────────────────────

  /** Liveness; needs no pairing. @returns {Promise<{ status: string }>} */
  health() {
    return this.#json("GET", "/v1/health", { auth: false });
  }

  /**
   * Whether the agent takes calls from this page's origin at all; needs no pairing. Resolves when
   * it does. Throws `agent_unreachable` when the agent cannot be reached (or, for a page of
   * another origin, refuses it: the browser then hides the answer), and `origin_not_allowed` or
   * `origin_required` when a page of the agent's own origin is refused (the agent's own pages
   * outside demo mode). `health()` cannot tell the last case: it answers every origin.
   * @returns {Promise<void>}
   */
  async checkAccess() {
    try {
      // Past the origin check, a call without a token is refused as `unauthorized`.
      await this.#fetch("GET", "/v1/devices", { auth: false });
    } catch (error) {
      if (error instanceof CounterAgentError && error.code === "unauthorized") return;
      throw error;
    }
  }

  /** @returns {Promise<Device[]>} */
  async devices() {
    const list = await this.#json("GET", "/v1/devices");
    return list.devices;
  }

  /** @param {string} id @returns {Promise<Device>} */
  device(id) {
    return this.#json("GET", `/v1/devices/${encodeURIComponent(id)}`);
  }

  /**
   * Starts a scan session; pages then arrive as `scan.page` events, progress of the page being
   * scanned as `scan.progress`. `deskew` defaults to true; `cropIdCard` (flatbed only) crops to
   * the ID card on the glass.
   * @param {{ device: string, source: "flatbed" | "adf" | "adf-duplex", color?: "auto" | "color" | "gray" | "bw",
   *           dpi?: number, deskew?: boolean, cropIdCard?: boolean }} request
   * @returns {Promise<Scan>}
   */
  startScan({ device, source, color, dpi, deskew, cropIdCard }) {
    /** @type {Record<string, unknown>} */
    const body = { device, source };
    if (color !== undefined) body.color = color;
    if (dpi !== undefined) body.dpi = dpi;
    if (deskew !== undefined) body.deskew = deskew;
    if (cropIdCard !== undefined) body.crop_id_card = cropIdCard;
    return this.#json("POST", "/v1/scans", { json: body });
  }

  /**
   * This origin's scan sessions (other origins' are never listed), newest first: a page that was
   * reloaded finds its scanning or paused batch here and continues it. Agents older than this
   * route answer `method_not_allowed`.
   * @returns {Promise<Scan[]>}
   */
  async scans() {
    const list = await this.#json("GET", "/v1/scans");
    return list.scans;
  }

  /** @param {string} id @returns {Promise<Scan>} */
  scan(id) {
    return this.#json("GET", `/v1/scans/${encodeURIComponent(id)}`);
  }

  /** Resumes a paused batch once the jam or open cover is dealt with. @param {string} id @returns {Promise<Scan>} */
  continueScan(id) {
    return this.#json("POST", `/v1/scans/${encodeURIComponent(id)}/continue`, { json: {} });
  }

  /** Cancels the scan and deletes every page. @param {string} id @returns {Promise<void>} */
  async deleteScan(id) {
    await this.#fetch("DELETE", `/v1/scans/${encodeURIComponent(id)}`);
  }

  /**
   * One page as a JPEG (default) or PNG Blob, with its rotation applied (1-based `n`).
   * @param {string} id @param {number} n @param {{ format?: "jpeg" | "png" }} [options] @returns {Promise<Blob>}
   */
  async pageBlob(id, n, { format } = {}) {
    const query = format === undefined ? undefined : { format };
    const response = await this.#fetch("GET", `${this.#pagePath(id, n)}`, { query });
    return response.blob();
  }

  /** A small JPEG of one page (longer side 256 px). @param {string} id @param {number} n @returns {Promise<Blob>} */
  async thumbnailBlob(id, n) {
    const response = await this.#fetch("GET", `${this.#pagePath(id, n)}/thumbnail`);
    return response.blob();
  }

  /** An object URL of a page's thumbnail, for `<img src>`. @param {string} id @param {number} n @returns {Promise<string>} */
  async thumbnailUrl(id, n) {
    return URL.createObjectURL(await this.thumbnailBlob(id, n));
  }

  /**
   * Puts the pages in a new order: every current index once, e.g. `[3, 1, 2]`. Pages scanned
   * later are appended. @param {string} id @param {number[]} order @returns {Promise<Scan>}
   */
  reorderPages(id, order) {
    return this.#json("POST", `/v1/scans/${encodeURIComponent(id)}/pages/order`, { json: { order } });
  }

  /**
   * Turns a page clockwise (90, 180 or 270, added to its rotation); nothing is re-encoded.
   * @param {string} id @param {number} n @param {90 | 180 | 270} degrees @returns {Promise<ScanPage>}
   */
  rotatePage(id, n, degrees) {
    return this.#json("POST", `${this.#pagePath(id, n)}/rotate`, { json: { degrees } });
  }

  /** Deletes one page (its file at once); later pages move up. @param {string} id @param {number} n @returns {Promise<Scan>} */
  deletePage(id, n) {
    return this.#json("DELETE", this.#pagePath(id, n));
  }

  /** @param {string} id @param {number} n */
  #pagePath(id, n) {
    return `/v1/scans/${encodeURIComponent(id)}/pages/${encodeURIComponent(String(n))}`;
  }

  /**
   * An object URL (`blob:…`) of one page, for `<img src>`. Pages need the bearer token, so they
   * cannot be linked directly. Call `URL.revokeObjectURL` when the image is gone.
   * @param {string} id @param {number} n @returns {Promise<string>}
   */
  async pageUrl(id, n) {
    return URL.createObjectURL(await this.pageBlob(id, n));
  }

  /**
   * The assembled PDF. With `maxBytes` the agent re-encodes pages smaller until the file fits,
   * or answers `document_too_large` with the smallest size it reached (see {@link errorTextVi}).
   * @param {string} id @param {{ maxBytes?: number }} [options] @returns {Promise<Blob>}
   */
  async documentBlob(id, { maxBytes } = {}) {
    const query = maxBytes === undefined ? undefined : { max_bytes: String(maxBytes) };
    const response = await this.#fetch("GET", `/v1/scans/${encodeURIComponent(id)}/document`, { query });
    return response.blob();
  }

  /**
   * Queues a print job as JSON: a PDF or ESC/POS document (sent as base64), or a template the agent
   * draws for the chosen printer (see {@link PrintTemplate}). Template data the agent refuses
   * throws `invalid_template_data`, whose message names every wrong field ({@link errorTextVi}
   * lists them for the clerk); an unknown template `unknown_template`; a template the printer
   * cannot take (a queue ticket on an A4 printer) `unsupported_format`.
   *
   * The same `idempotencyKey` from this origin always means the same job, so a retried request
   * never prints twice: keep the key with the document and reuse it when retrying. Without one, a
   * random key is used (no retry safety).
   * @param {PrintDocument & { idempotencyKey?: string }} request
   * @returns {Promise<PrintJob>}
   */
  async print({ idempotencyKey = randomKey(), ...document }) {
    const body = { idempotency_key: idempotencyKey, ...(await documentBody(document)) };
    return this.#json("POST", "/v1/prints", { json: body, timeoutMs: PRINT_TIMEOUT_MS });
  }

  /**
   * What the printer would print, as a PNG, without printing anything: ESC/POS (given, or a
   * template drawn for a thermal printer) at the printer's paper width, or the first page of a
   * PDF (given, or a template drawn for an A4 printer). Takes the same documents as {@link print}
   * and throws the same errors. Show it with `URL.createObjectURL(blob)`.
   * @param {PrintDocument} request
   * @returns {Promise<Blob>}
   */
  async previewPrint(request) {
    const body = await documentBody(request);
    const response = await this.#fetch("POST", "/v1/prints/preview", { json: body, timeoutMs: PRINT_TIMEOUT_MS });
    const blob = await response.blob();
    if (!blob.type.startsWith("image/png")) {
      throw new CounterAgentError({
        status: response.status,
        code: "unexpected_response",
        message: `POST /v1/prints/preview: the answer is ${blob.type || "untyped"}, not a PNG image`,
      });
    }
    return blob;
  }

  /**
   * Demo station only (`counter-agent serve --demo`): makes a simulated device report `fault`
   * (e.g. `paper_out`), or clears every simulated fault with `null`. A job sent to a printer out of
   * paper waits (`waiting`, reason `paper_out`) and prints by itself once the fault is cleared.
   * Any other agent answers `not_found` (HTTP 404): the demo controls are then not offered.
   * @param {string} device @param {DemoFault | null} fault @returns {Promise<void>}
   */
  async demoFault(device, fault) {
    await this.#fetch("POST", `/v1/demo/devices/${encodeURIComponent(device)}/fault`, { json: { fault } });
  }

  /**
   * Queues a PDF sent as a raw `application/pdf` body (no base64 overhead). `fitToWidth`: see
   * {@link PrintDocument}.
   * @param {string} device @param {Blob | Uint8Array | ArrayBuffer} pdf @param {string} [idempotencyKey]
   * @param {{ fitToWidth?: boolean }} [options]
   * @returns {Promise<PrintJob>}
   */
  printPdf(device, pdf, idempotencyKey = randomKey(), { fitToWidth = false } = {}) {
    const body = pdf instanceof Blob ? pdf : new Blob([pdf], { type: "application/pdf" });
    return this.#json("POST", "/v1/prints", {
      body,
      contentType: "application/pdf",
      query: fitToWidth
        ? { device, idempotency_key: idempotencyKey, fit_to_width: "true" }
        : { device, idempotency_key: idempotencyKey },
      timeoutMs: PRINT_TIMEOUT_MS,
    });
  }

  /** @param {string} id @returns {Promise<PrintJob>} */
  printJob(id) {
    return this.#json("GET", `/v1/prints/${encodeURIComponent(id)}`);
  }

  /** Cancels a job that has not started printing. @param {string} id @returns {Promise<PrintJob>} */
  cancelPrint(id) {
    return this.#json("DELETE", `/v1/prints/${encodeURIComponent(id)}`);
  }

  // ── events ─────────────────────────────────────────────────────────────────────────────

  /**
   * A reconnecting event stream. Each connection trades the token for a single-use ticket and
   * passes the last `seq` seen as `since`, so the agent replays what was missed. `onEvent` also
   * receives `{ type: "resync" }` on the first connection and when the agent's journal no longer
   * reaches back far enough (`gap`): refetch devices, scans and jobs then.
   * @param {{ onEvent: (event: AgentEvent | { type: "resync", reason: string }) => void,
   *           onStatus?: (state: StreamState, detail?: { delayMs?: number, error?: CounterAgentError }) => void,
   *           since?: number }} handlers
   * @returns {{ close(): void, readonly lastSeq: number | null }}
   */
  events({ onEvent, onStatus = () => {}, since }) {
    /** @type {number | null} */
    let lastSeq = since ?? null;
    let closed = false;
    let delay = BACKOFF_FIRST_MS;
    /** @type {WebSocket | null} */
    let socket = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let retryTimer;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let silenceTimer;
    const wsBase = this.#agentUrl.replace(/^http/, "ws");

    /** @param {unknown} event */
    const deliver = (event) => {
      try {
        onEvent(/** @type {any} */ (event));
      } catch (error) {
        // A bug in the page's handler must not kill the stream.
        console.error("counter-agent: onEvent threw", error);
      }
    };

    /** @param {CounterAgentError} [error] */
    const retry = (error) => {
      if (closed) return;
      const wait = Math.min(delay, BACKOFF_MAX_MS);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
      onStatus("reconnecting", { delayMs: wait, error });
      retryTimer = setTimeout(connect, wait * (0.8 + Math.random() * 0.4));
    };

    const watchSilence = () => {
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(() => socket?.close(), SILENCE_LIMIT_MS);
    };

    const connect = async () => {
      if (closed) return;
      onStatus("connecting");
      let ticket;
      try {
        ticket = await this.#json("POST", "/v1/events/ticket", { json: {} });
      } catch (error) {
        const agentError = /** @type {CounterAgentError} */ (error);
        if (agentError.code === "unauthorized" || agentError.code === "not_paired") {
          closed = true;
          onStatus("unauthorized", { error: agentError });
        } else {
          retry(agentError);
        }
        return;
      }
      if (closed) return;
      let url = `${wsBase}/v1/events?ticket=${encodeURIComponent(ticket.ticket)}`;
      if (lastSeq !== null) url += `&since=${lastSeq}`;
      const ws = new WebSocket(url);
      socket = ws;
      let first = lastSeq === null;
      ws.onmessage = (message) => {
        watchSilence();
        let event;
        try {
          event = JSON.parse(String(message.data));
        } catch {
          return;
        }
        switch (event.type) {
          case "hello":
            delay = BACKOFF_FIRST_MS;
            if (lastSeq === null) lastSeq = event.seq;
            onStatus("open");
            if (first) {
              first = false;
              deliver({ type: "resync", reason: "connected" });
            }
            break;
          case "gap":
            deliver({ type: "resync", reason: "gap" });
            break;
          case "ping":
            break;
          default:
            if (typeof event.seq === "number") {
              if (lastSeq !== null && event.seq <= lastSeq) return;
              lastSeq = event.seq;
            }
            deliver(event);
        }
      };
      ws.onclose = () => {
        clearTimeout(silenceTimer);
        if (socket === ws) socket = null;
        retry();
      };
      watchSilence();
    };

    connect();
    return {
      close() {
        closed = true;
        clearTimeout(retryTimer);
        clearTimeout(silenceTimer);
        socket?.close(1000);
        socket = null;
        onStatus("closed");
      },
      get lastSeq() {
        return lastSeq;
      },
    };
  }

  // ── plumbing ───────────────────────────────────────────────────────────────────────────

  /**
   * @param {string} method @param {string} path
   * @param {{ json?: unknown, body?: Blob, contentType?: string, auth?: boolean,
   *           query?: Record<string, string>, timeoutMs?: number }} [options]
   * @returns {Promise<any>}
   */
  async #json(method, path, options) {
    const response = await this.#fetch(method, path, options);
    try {
      return await response.json();
    } catch (cause) {
      throw new CounterAgentError({
        status: response.status,
        code: "unexpected_response",
        message: `${method} ${path}: the answer is not JSON`,
        cause,
      });
    }
  }

  /**
   * @param {string} method @param {string} path
   * @param {{ json?: unknown, body?: Blob, contentType?: string, auth?: boolean,
   *           query?: Record<string, string>, timeoutMs?: number }} [options]
   * @returns {Promise<Response>}
   */
  async #fetch(method, path, { json, body, contentType, auth = true, query, timeoutMs = this.#timeoutMs } = {}) {
    const url = new URL(path, this.#agentUrl);
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    /** @type {Record<string, string>} */
    const headers = {};
    if (auth) {
      const stored = this.#stored();
      if (!stored) {
        throw new CounterAgentError({
          status: 0,
          code: "not_paired",
          message: "this browser is not paired with the agent",
          hint: "Bấm “Ghép nối với máy quầy” và nhập mã 6 số hiện trên máy này.",
        });
      }
      headers.Authorization = `Bearer ${stored.token}`;
    }
    /** @type {BodyInit | undefined} */
    let requestBody;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      requestBody = JSON.stringify(json);
    } else if (body !== undefined) {
      headers["Content-Type"] = contentType ?? "application/octet-stream";
      requestBody = body;
    }
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: requestBody,
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const timedOut = cause instanceof DOMException && cause.name === "TimeoutError";
      throw new CounterAgentError({
        status: 0,
        code: "agent_unreachable",
        message: timedOut
          ? `the agent at ${this.#agentUrl} did not answer within ${Math.round(timeoutMs / 1000)} s`
          : `cannot reach the agent at ${this.#agentUrl}`,
        hint: timedOut
          ? "Phần mềm máy quầy không trả lời. Thử lại; nếu vẫn lỗi, khởi động lại counter-agent hoặc gọi kỹ thuật viên."
          : "Kiểm tra phần mềm máy quầy (counter-agent) đang chạy trên máy này. Nếu trình duyệt hỏi quyền truy cập " +
            "thiết bị trong mạng cục bộ, hãy bấm “Cho phép”. Nếu vẫn lỗi, có thể trang web này chưa được kỹ thuật " +
            "viên cho phép trong cấu hình máy quầy.",
        cause,
      });
    }
    if (response.ok) return response;
    /** @type {any} */
    let detail = null;
    try {
      detail = (await response.json())?.error;
    } catch {
      // Not our error format; reported below.
    }
    if (response.status === 401 && detail?.code === "unauthorized" && auth) {
      // The token is unknown, revoked or belongs to another origin: it will never work again.
      this.forget();
    }
    throw new CounterAgentError({
      status: response.status,
      code: typeof detail?.code === "string" ? detail.code : "unexpected_response",
      message: typeof detail?.message === "string" ? detail.message : `${method} ${path}: HTTP ${response.status}`,
      hint: typeof detail?.hint === "string" ? detail.hint : null,
    });
  }
}
