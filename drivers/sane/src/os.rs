//! Two Linux-only tunings of how page pixels move between the worker and the daemon; both are
//! hints, and everything works the same where they are refused or unavailable.

/// Pixels of a page cross the worker's stdout pipe; with the default 64 KiB pipe a 26 MB page takes
/// hundreds of writer/reader hand-overs. A 1 MiB pipe (the unprivileged maximum on Linux) cuts them
/// to a few dozen.
#[cfg(target_os = "linux")]
pub(crate) fn widen_pipe(pipe: &impl std::os::fd::AsRawFd) {
    // SAFETY: fcntl on a descriptor the caller owns; F_SETPIPE_SZ only resizes the pipe's buffer.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn widen_pipe<T>(_pipe: &T) {}

/// Asks for transparent huge pages behind a page-sized buffer that is about to be filled: 2 MiB
/// pages instead of thousands of 4 KiB page faults per page (where THP is set to `madvise`, the
/// usual default).
#[cfg(target_os = "linux")]
pub(crate) fn huge_pages(buffer: &mut [u8]) {
    const HUGE: usize = 2 << 20;
    let start = buffer.as_mut_ptr() as usize;
    let aligned = start.next_multiple_of(HUGE);
    let end = (start + buffer.len()) & !(HUGE - 1);
    if end > aligned {
        // SAFETY: the range lies inside `buffer`, which the caller owns; MADV_HUGEPAGE changes
        // neither the mapping nor its contents.
        unsafe { libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn huge_pages(_buffer: &mut [u8]) {}
