//! The only module that calls into libsane, and the only one allowed `unsafe`.
//!
//! It owns the C declarations (from `sane/sane.h`, SANE standard 1), opening the shared library at
//! run time with `libloading`, and one safe operation: init → list → copy → exit. Everything libsane
//! hands out is copied into owned Rust values before `sane_exit` frees it.
//!
//! libsane is not thread-safe between `sane_init` and `sane_exit`, so the calls take a
//! [`Permit`]: proof that the caller holds the process-wide SANE gate (see `worker`). This module
//! must not spawn threads, wait, or decide timeouts; it must not panic.

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use libloading::Library;

use crate::error::{SaneError, Stage};
use crate::frame::FrameParams;
use crate::options::{Constraint, OptionDescriptor, OptionValue, ValueType};
use crate::status::SaneStatus;
use crate::worker::{Permit, StageCell};
use crate::{SaneDevice, INSTALL_HINT};

/// `SANE_Int` and `SANE_Word`: a 32-bit signed word (`SANE_Bool` is one too, not a C `bool`).
type SaneInt = i32;
/// `SANE_Status`, read as a plain integer because backends return codes the C enum lacks.
type RawStatus = i32;

/// `SANE_Device`: four borrowed C strings owned by libsane.
#[repr(C)]
struct RawDevice {
    name: *const c_char,
    vendor: *const c_char,
    model: *const c_char,
    kind: *const c_char,
}

/// `SANE_Auth_Callback`; we pass none (NULL), which `Option<fn>` represents exactly.
type AuthCallback = Option<unsafe extern "C" fn(*const c_char, *mut c_char, *mut c_char)>;
/// `SANE_Status sane_init(SANE_Int *version_code, SANE_Auth_Callback authorize)`.
type InitFn = unsafe extern "C" fn(*mut SaneInt, AuthCallback) -> RawStatus;
/// `SANE_Status sane_get_devices(const SANE_Device ***device_list, SANE_Bool local_only)`.
type GetDevicesFn = unsafe extern "C" fn(*mut *const *const RawDevice, SaneInt) -> RawStatus;
/// `void sane_exit(void)`.
type ExitFn = unsafe extern "C" fn();
/// `SANE_Handle`: an opaque pointer owned by the backend.
type RawHandle = *mut c_void;
/// `SANE_Status sane_open(SANE_String_Const name, SANE_Handle *h)`.
type OpenFn = unsafe extern "C" fn(*const c_char, *mut RawHandle) -> RawStatus;
/// `void sane_close(SANE_Handle h)`.
type CloseFn = unsafe extern "C" fn(RawHandle);
/// `const SANE_Option_Descriptor *sane_get_option_descriptor(SANE_Handle h, SANE_Int n)`.
type GetOptionDescriptorFn = unsafe extern "C" fn(RawHandle, SaneInt) -> *const RawOptionDescriptor;
/// `SANE_Status sane_control_option(SANE_Handle h, SANE_Int n, SANE_Action a, void *v, SANE_Int *i)`.
type ControlOptionFn = unsafe extern "C" fn(RawHandle, SaneInt, SaneInt, *mut c_void, *mut SaneInt) -> RawStatus;
/// `SANE_Status sane_get_parameters(SANE_Handle h, SANE_Parameters *p)`.
type GetParametersFn = unsafe extern "C" fn(RawHandle, *mut RawParameters) -> RawStatus;
/// `SANE_Status sane_start(SANE_Handle h)`.
type StartFn = unsafe extern "C" fn(RawHandle) -> RawStatus;
/// `SANE_Status sane_read(SANE_Handle h, SANE_Byte *buf, SANE_Int maxlen, SANE_Int *len)`.
type ReadFn = unsafe extern "C" fn(RawHandle, *mut u8, SaneInt, *mut SaneInt) -> RawStatus;
/// `void sane_cancel(SANE_Handle h)`.
type CancelFn = unsafe extern "C" fn(RawHandle);

/// `SANE_Range`: three words, FIXED or INT as the option's type says.
#[repr(C)]
struct RawRange {
    min: SaneInt,
    max: SaneInt,
    quant: SaneInt,
}

/// `SANE_Option_Descriptor`. The enums (`type`, `unit`, `constraint_type`) are C enums, i.e. `int`;
/// they are read as plain integers because a backend may hand out any value.
#[repr(C)]
struct RawOptionDescriptor {
    name: *const c_char,
    title: *const c_char,
    desc: *const c_char,
    value_type: SaneInt,
    unit: SaneInt,
    size: SaneInt,
    cap: SaneInt,
    constraint_type: SaneInt,
    /// The union of `string_list`, `word_list` and `range`: all three are one pointer.
    constraint: *const c_void,
}

/// `SANE_Parameters`; `format` (`SANE_Frame`) is an open integer, `last_frame` a 4-byte `SANE_Bool`.
#[repr(C)]
#[derive(Default)]
struct RawParameters {
    format: SaneInt,
    last_frame: SaneInt,
    bytes_per_line: SaneInt,
    pixels_per_line: SaneInt,
    lines: SaneInt,
    depth: SaneInt,
}

/// `SANE_ACTION_GET_VALUE` and `SANE_ACTION_SET_VALUE`.
const ACTION_GET: SaneInt = 0;
const ACTION_SET: SaneInt = 1;
/// Constraint types of `sane/sane.h`.
const CONSTRAINT_RANGE: SaneInt = 1;
const CONSTRAINT_WORD_LIST: SaneInt = 2;
const CONSTRAINT_STRING_LIST: SaneInt = 3;
/// A word list or string list longer than this is a broken backend; we stop copying there.
const MAX_LIST: usize = 4096;
/// No option value is larger than this in any backend we know (gamma tables are 4096 words).
const MAX_OPTION_SIZE: usize = 1 << 20;

/// `SANE_FALSE` for `local_only`: include network scanners (`airscan:`, `net:`…), which the agent
/// must offer too.
const INCLUDE_NETWORK_DEVICES: SaneInt = 0;
/// The only SANE major version whose ABI these declarations describe.
const SANE_MAJOR: u8 = 1;

/// The entry points used for scanning (beyond listing devices).
struct ScanFns {
    open: OpenFn,
    close: CloseFn,
    get_option_descriptor: GetOptionDescriptorFn,
    control_option: ControlOptionFn,
    get_parameters: GetParametersFn,
    start: StartFn,
    read: ReadFn,
    cancel: CancelFn,
}

/// An opened libsane with the entry points this crate uses.
pub(crate) struct SaneLibrary {
    name: String,
    init: InitFn,
    get_devices: GetDevicesFn,
    exit: ExitFn,
    scan: ScanFns,
    /// Keeps the code behind the function pointers above mapped; never unloaded before them.
    _library: Library,
}

impl SaneLibrary {
    /// Opens the shared library `name` (searched like `dlopen` does) and resolves its symbols.
    pub(crate) fn load(name: &str) -> Result<SaneLibrary, SaneError> {
        // SAFETY: opening a library runs its ELF initialisers. libsane's only set up static data
        // and have no preconditions on the caller; we hold the SANE gate, so no other thread of
        // ours is inside libsane meanwhile.
        let library = unsafe { Library::new(name) }.map_err(|source| SaneError::NotInstalled {
            library: name.to_owned(),
            hint: INSTALL_HINT,
            source,
        })?;
        let missing = |symbol: &'static str| {
            let library = name.to_owned();
            move |source| SaneError::MissingSymbol { library, symbol, hint: INSTALL_HINT, source }
        };
        // SAFETY: `InitFn` is the exact C prototype of `sane_init` in SANE 1's `sane/sane.h`. The
        // copied pointer stays valid because `_library` is stored beside it and outlives it.
        let init = unsafe { library.get::<InitFn>(b"sane_init\0") }.map(|symbol| *symbol);
        let init = init.map_err(missing("sane_init"))?;
        // SAFETY: as above, for `sane_get_devices`.
        let get_devices = unsafe { library.get::<GetDevicesFn>(b"sane_get_devices\0") }.map(|symbol| *symbol);
        let get_devices = get_devices.map_err(missing("sane_get_devices"))?;
        // SAFETY: as above, for `sane_exit`.
        let exit = unsafe { library.get::<ExitFn>(b"sane_exit\0") }.map(|symbol| *symbol);
        let exit = exit.map_err(missing("sane_exit"))?;
        // SAFETY: each type below is the exact C prototype of the symbol of the same name in SANE 1's
        // `sane/sane.h`; the pointers stay valid because `_library` is stored beside them.
        let scan = unsafe {
            ScanFns {
                open: *library.get::<OpenFn>(b"sane_open\0").map_err(missing("sane_open"))?,
                close: *library.get::<CloseFn>(b"sane_close\0").map_err(missing("sane_close"))?,
                get_option_descriptor: *library
                    .get::<GetOptionDescriptorFn>(b"sane_get_option_descriptor\0")
                    .map_err(missing("sane_get_option_descriptor"))?,
                control_option: *library
                    .get::<ControlOptionFn>(b"sane_control_option\0")
                    .map_err(missing("sane_control_option"))?,
                get_parameters: *library
                    .get::<GetParametersFn>(b"sane_get_parameters\0")
                    .map_err(missing("sane_get_parameters"))?,
                start: *library.get::<StartFn>(b"sane_start\0").map_err(missing("sane_start"))?,
                read: *library.get::<ReadFn>(b"sane_read\0").map_err(missing("sane_read"))?,
                cancel: *library.get::<CancelFn>(b"sane_cancel\0").map_err(missing("sane_cancel"))?,
            }
        };
        Ok(SaneLibrary { name: name.to_owned(), init, get_devices, exit, scan, _library: library })
    }

    /// The name this library was opened with.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `sane_init` → `sane_get_devices(&list, 0)` → copy every entry → `sane_exit`.
    ///
    /// `stage` is updated before each call so a caller that gives up can say where libsane hung.
    pub(crate) fn list_devices(&self, _permit: &Permit, stage: &StageCell) -> Result<Vec<SaneDevice>, SaneError> {
        stage.set(Stage::Init);
        let mut version_code: SaneInt = 0;
        // SAFETY: `version_code` is a valid, writable `SANE_Int`; a NULL auth callback is allowed
        // by the standard. The permit guarantees no other thread is between init and exit.
        let status = SaneStatus(unsafe { (self.init)(&mut version_code, None) });
        if !status.is_good() {
            // After a failed `sane_init` nothing is initialised, so there is nothing to exit.
            return Err(SaneError::Status { call: "sane_init", status });
        }
        // SANE_VERSION_MAJOR / SANE_VERSION_MINOR: the top two bytes of the code.
        let [major, minor, _, _] = version_code.to_be_bytes();
        let listed = if major == SANE_MAJOR {
            stage.set(Stage::GetDevices);
            // SAFETY: `sane_init` succeeded and `sane_exit` comes after; the permit is held.
            unsafe { self.copy_device_list() }
        } else {
            Err(SaneError::UnsupportedVersion { major, minor })
        };
        stage.set(Stage::Exit);
        // SAFETY: `sane_init` succeeded above and nothing of libsane's is used after this call:
        // every string was copied into `listed` first.
        unsafe { (self.exit)() };
        listed
    }

    /// Calls `sane_get_devices` and copies the list out.
    ///
    /// # Safety
    ///
    /// libsane must be initialised (a successful `sane_init` not yet followed by `sane_exit`) and
    /// the calling thread must hold the [`Permit`].
    unsafe fn copy_device_list(&self) -> Result<Vec<SaneDevice>, SaneError> {
        let mut list: *const *const RawDevice = ptr::null();
        // SAFETY: `list` is a valid place for libsane to store its pointer; libsane is initialised
        // (the caller checked `sane_init`) and the permit serialises access.
        let status = SaneStatus(unsafe { (self.get_devices)(&mut list, INCLUDE_NETWORK_DEVICES) });
        if !status.is_good() {
            return Err(SaneError::Status { call: "sane_get_devices", status });
        }
        let mut devices = Vec::new();
        if list.is_null() {
            return Ok(devices);
        }
        for index in 0.. {
            // SAFETY: on success `list` is a NULL-terminated array owned by libsane, valid until
            // the next `sane_get_devices` or `sane_exit`; we stop at the terminator, so `index`
            // never passes it.
            let entry = unsafe { *list.add(index) };
            if entry.is_null() {
                break;
            }
            // SAFETY: each non-NULL entry points to a `SANE_Device` valid as long as the list.
            let raw = unsafe { &*entry };
            // SAFETY: the four fields are NULL or NUL-terminated strings of that `SANE_Device`,
            // still valid here; `owned` copies them before libsane may free them.
            let device = unsafe {
                SaneDevice {
                    name: owned(raw.name),
                    vendor: owned(raw.vendor),
                    model: owned(raw.model),
                    kind: owned(raw.kind),
                }
            };
            devices.push(device);
        }
        Ok(devices)
    }
}

/// Copies a C string into an owned `String` (invalid UTF-8 replaced, NULL read as empty).
///
/// # Safety
///
/// `text` must be NULL or point to a NUL-terminated string that stays valid during the call.
unsafe fn owned(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller promises.
    unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
}

/// What one `sane_read` gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// `len` bytes were written at the start of the buffer (0 is legal).
    Data(usize),
    /// `SANE_STATUS_EOF`: the frame is complete.
    Eof,
    /// Any other status (the frame is broken off).
    Status(SaneStatus),
}

/// A `sane_read` that broke the C contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadReadLength {
    pub(crate) len: i32,
    pub(crate) max: usize,
}

/// Flags of `sane_control_option`'s `info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SetInfo {
    pub(crate) inexact: bool,
    pub(crate) reload_options: bool,
    pub(crate) reload_params: bool,
}

impl SetInfo {
    fn from_bits(bits: SaneInt) -> SetInfo {
        SetInfo { inexact: bits & 1 != 0, reload_options: bits & 2 != 0, reload_params: bits & 4 != 0 }
    }
}

impl SaneLibrary {
    /// `sane_init`; the returned value calls `sane_exit` when dropped. The permit is borrowed for the
    /// whole time libsane is initialised, so no other thread of this process can enter it.
    pub(crate) fn init<'a>(&'a self, permit: &'a Permit) -> Result<Initialised<'a>, SaneError> {
        let mut version_code: SaneInt = 0;
        // SAFETY: `version_code` is a valid, writable `SANE_Int`; a NULL auth callback is allowed
        // by the standard. The permit guarantees no other thread is between init and exit.
        let status = SaneStatus(unsafe { (self.init)(&mut version_code, None) });
        if !status.is_good() {
            return Err(SaneError::Status { call: "sane_init", status });
        }
        let initialised = Initialised { library: self, _permit: permit };
        let [major, minor, _, _] = version_code.to_be_bytes();
        if major != SANE_MAJOR {
            return Err(SaneError::UnsupportedVersion { major, minor });
        }
        Ok(initialised)
    }
}

/// libsane between a successful `sane_init` and its `sane_exit` (on drop).
pub(crate) struct Initialised<'a> {
    library: &'a SaneLibrary,
    _permit: &'a Permit,
}

impl Initialised<'_> {
    /// `sane_open(name)`. The handle is closed (`sane_close`) when dropped.
    pub(crate) fn open(&self, name: &str) -> Result<Handle<'_>, SaneStatus> {
        // A name with a NUL byte cannot name any device.
        let name = CString::new(name).map_err(|_| SaneStatus::INVAL)?;
        let mut handle: RawHandle = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated and outlives the call; `handle` is a valid place for
        // libsane to store the handle; libsane is initialised and the permit held.
        let status = SaneStatus(unsafe { (self.library.scan.open)(name.as_ptr(), &mut handle) });
        if !status.is_good() {
            return Err(status);
        }
        if handle.is_null() {
            return Err(SaneStatus::INVAL);
        }
        Ok(Handle { fns: &self.library.scan, raw: handle })
    }
}

impl Drop for Initialised<'_> {
    fn drop(&mut self) {
        // SAFETY: `sane_init` succeeded; every handle borrows `self`, so all were closed before
        // this runs, and nothing libsane owns is used afterwards.
        unsafe { (self.library.exit)() };
    }
}

/// An open SANE device. Single-threaded by construction (not `Send`: it holds a raw pointer).
pub(crate) struct Handle<'a> {
    fns: &'a ScanFns,
    raw: RawHandle,
}

impl Handle<'_> {
    /// Option 0 says how many options there are; every descriptor, copied. Indices are only
    /// valid until the next `RELOAD_OPTIONS`.
    pub(crate) fn descriptors(&self) -> Result<Vec<OptionDescriptor>, SaneStatus> {
        let count = match self.get_raw(0, 4)? {
            words if !words.is_empty() => words[0],
            _ => 0,
        };
        let count = count.clamp(0, MAX_LIST as i32);
        let mut descriptors = Vec::new();
        for index in 1..count {
            if let Some(descriptor) = self.descriptor(index) {
                descriptors.push(descriptor);
            }
        }
        Ok(descriptors)
    }

    /// One descriptor, or `None` when the backend returns NULL for it.
    fn descriptor(&self, index: SaneInt) -> Option<OptionDescriptor> {
        // SAFETY: the handle is open; any index is allowed (the backend returns NULL when invalid).
        let raw = unsafe { (self.fns.get_option_descriptor)(self.raw, index) };
        if raw.is_null() {
            return None;
        }
        // SAFETY: a non-NULL descriptor stays valid until the next option change on this handle;
        // we copy everything out before returning.
        let raw = unsafe { &*raw };
        // SAFETY: name/title/desc are NULL or NUL-terminated strings of the descriptor.
        let (name, title) = unsafe { (owned(raw.name), owned(raw.title)) };
        let value_type = ValueType::from_code(raw.value_type);
        // SAFETY: the constraint pointer matches `constraint_type`, as the standard requires.
        let constraint = unsafe { copy_constraint(raw.constraint_type, raw.constraint) };
        Some(OptionDescriptor {
            index,
            name,
            title,
            value_type,
            unit: raw.unit,
            size: raw.size,
            cap: raw.cap,
            constraint,
        })
    }

    /// Reads option `index` into a buffer of `size` bytes (whole words), as raw words.
    fn get_raw(&self, index: SaneInt, size: SaneInt) -> Result<Vec<SaneInt>, SaneStatus> {
        let size = usize::try_from(size).unwrap_or(0).clamp(4, MAX_OPTION_SIZE);
        let mut words = vec![0 as SaneInt; size.div_ceil(4)];
        // SAFETY: the buffer has at least `size` bytes, the size the descriptor declares; the handle
        // is open; `info` may be NULL for GET.
        let status = SaneStatus(unsafe {
            (self.fns.control_option)(self.raw, index, ACTION_GET, words.as_mut_ptr().cast(), ptr::null_mut())
        });
        if status.is_good() {
            Ok(words)
        } else {
            Err(status)
        }
    }

    /// The current value of the option `descriptor` describes.
    pub(crate) fn get(&self, descriptor: &OptionDescriptor) -> Result<OptionValue, SaneStatus> {
        let words = self.get_raw(descriptor.index, descriptor.size)?;
        let n_words = (usize::try_from(descriptor.size).unwrap_or(0) / 4).max(1).min(words.len());
        Ok(match descriptor.value_type {
            ValueType::Bool => OptionValue::Bool(words[0] != 0),
            ValueType::Int => OptionValue::Int(words[..n_words].to_vec()),
            ValueType::Fixed => OptionValue::Fixed(words[..n_words].to_vec()),
            ValueType::String => {
                let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_ne_bytes()).collect();
                let size = usize::try_from(descriptor.size).unwrap_or(0).min(bytes.len());
                let text = &bytes[..size];
                let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
                OptionValue::Text(String::from_utf8_lossy(&text[..end]).into_owned())
            }
            ValueType::Button | ValueType::Group | ValueType::Other(_) => return Err(SaneStatus::INVAL),
        })
    }

    /// Sets the option; the caller must read the value back (the backend may have changed it).
    pub(crate) fn set(&self, descriptor: &OptionDescriptor, value: &OptionValue) -> Result<SetInfo, SaneStatus> {
        let size = usize::try_from(descriptor.size).unwrap_or(0).clamp(4, MAX_OPTION_SIZE);
        let mut words = vec![0 as SaneInt; size.div_ceil(4)];
        match (descriptor.value_type, value) {
            (ValueType::Bool, OptionValue::Bool(on)) => words[0] = SaneInt::from(*on),
            (ValueType::Int, OptionValue::Int(values)) | (ValueType::Fixed, OptionValue::Fixed(values)) => {
                if values.is_empty() || values.len() > words.len() {
                    return Err(SaneStatus::INVAL);
                }
                // A shorter array keeps the other elements as they are now.
                if values.len() < words.len() {
                    words = self.get_raw(descriptor.index, descriptor.size)?;
                }
                words[..values.len()].copy_from_slice(values);
            }
            (ValueType::String, OptionValue::Text(text)) => {
                let bytes = text.as_bytes();
                // Room for the terminating NUL inside the declared size.
                if bytes.len() >= size || bytes.contains(&0) {
                    return Err(SaneStatus::INVAL);
                }
                let mut buffer = vec![0u8; words.len() * 4];
                buffer[..bytes.len()].copy_from_slice(bytes);
                for (word, chunk) in words.iter_mut().zip(buffer.chunks_exact(4)) {
                    *word = SaneInt::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
            _ => return Err(SaneStatus::INVAL),
        }
        let mut info: SaneInt = 0;
        // SAFETY: the buffer has at least the declared `size` bytes and holds a value of the
        // option's type; `info` is a valid place for the flags; the handle is open.
        let status = SaneStatus(unsafe {
            (self.fns.control_option)(self.raw, descriptor.index, ACTION_SET, words.as_mut_ptr().cast(), &mut info)
        });
        if status.is_good() {
            Ok(SetInfo::from_bits(info))
        } else {
            Err(status)
        }
    }

    /// `sane_start`.
    pub(crate) fn start(&self) -> Result<(), SaneStatus> {
        // SAFETY: the handle is open.
        let status = SaneStatus(unsafe { (self.fns.start)(self.raw) });
        if status.is_good() {
            Ok(())
        } else {
            Err(status)
        }
    }

    /// `sane_get_parameters` (call after `sane_start`: before it, values are estimates).
    pub(crate) fn parameters(&self) -> Result<FrameParams, SaneStatus> {
        let mut raw = RawParameters::default();
        // SAFETY: `raw` is a valid, writable `SANE_Parameters`; the handle is open.
        let status = SaneStatus(unsafe { (self.fns.get_parameters)(self.raw, &mut raw) });
        if !status.is_good() {
            return Err(status);
        }
        Ok(FrameParams {
            format: raw.format,
            last_frame: raw.last_frame != 0,
            bytes_per_line: raw.bytes_per_line,
            pixels_per_line: raw.pixels_per_line,
            lines: raw.lines,
            depth: raw.depth,
        })
    }

    /// `sane_read` into `buffer`; a length outside `0..=buffer.len()` is reported, not trusted.
    pub(crate) fn read(&self, buffer: &mut [u8]) -> Result<Read, BadReadLength> {
        let max = buffer.len().min(i32::MAX as usize);
        let mut len: SaneInt = 0;
        // SAFETY: `buffer` has at least `max` writable bytes; `len` is a valid place; the handle is open.
        let status = SaneStatus(unsafe { (self.fns.read)(self.raw, buffer.as_mut_ptr(), max as SaneInt, &mut len) });
        if status == SaneStatus::EOF {
            return Ok(Read::Eof);
        }
        if !status.is_good() {
            return Ok(Read::Status(status));
        }
        match usize::try_from(len) {
            Ok(len) if len <= max => Ok(Read::Data(len)),
            _ => Err(BadReadLength { len, max }),
        }
    }

    /// `sane_cancel`. Some backends hang here (see FIELD-NOTES); that is why this runs in a
    /// killable child process.
    pub(crate) fn cancel(&self) {
        // SAFETY: the handle is open; cancel is allowed at any time.
        unsafe { (self.fns.cancel)(self.raw) };
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle is open and is not used after this.
        unsafe { (self.fns.close)(self.raw) };
    }
}

/// Copies an option constraint.
///
/// # Safety
///
/// `pointer` must be what a `SANE_Option_Descriptor` with `constraint_type` holds in its union,
/// valid for the duration of the call.
unsafe fn copy_constraint(constraint_type: SaneInt, pointer: *const c_void) -> Constraint {
    if pointer.is_null() {
        return Constraint::None;
    }
    match constraint_type {
        CONSTRAINT_RANGE => {
            // SAFETY: a RANGE constraint points to a `SANE_Range`.
            let range = unsafe { &*pointer.cast::<RawRange>() };
            Constraint::Range { min: range.min, max: range.max, quant: range.quant }
        }
        CONSTRAINT_WORD_LIST => {
            let words = pointer.cast::<SaneInt>();
            // SAFETY: a WORD_LIST points to a count followed by that many words.
            let count = usize::try_from(unsafe { *words }).unwrap_or(0).min(MAX_LIST);
            // SAFETY: as above: `count` words follow the first.
            let list = (1..=count).map(|i| unsafe { *words.add(i) }).collect();
            Constraint::WordList(list)
        }
        CONSTRAINT_STRING_LIST => {
            let strings = pointer.cast::<*const c_char>();
            let mut list = Vec::new();
            for index in 0..MAX_LIST {
                // SAFETY: a STRING_LIST is a NULL-terminated array of strings; we stop at NULL.
                let entry = unsafe { *strings.add(index) };
                if entry.is_null() {
                    break;
                }
                // SAFETY: each entry is a NUL-terminated string.
                list.push(unsafe { owned(entry) });
            }
            Constraint::StringList(list)
        }
        _ => Constraint::None,
    }
}
