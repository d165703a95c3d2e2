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

use std::ffi::{c_char, CStr};
use std::ptr;

use libloading::Library;

use crate::error::{SaneError, Stage};
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

/// `SANE_FALSE` for `local_only`: include network scanners (`airscan:`, `net:`…), which the agent
/// must offer too.
const INCLUDE_NETWORK_DEVICES: SaneInt = 0;
/// The only SANE major version whose ABI these declarations describe.
const SANE_MAJOR: u8 = 1;

/// An opened libsane with the entry points this crate uses.
pub(crate) struct SaneLibrary {
    name: String,
    init: InitFn,
    get_devices: GetDevicesFn,
    exit: ExitFn,
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
        Ok(SaneLibrary { name: name.to_owned(), init, get_devices, exit, _library: library })
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
