//! A fake `libamd_smi` for tests: a cdylib exporting the AMD SMI C functions the AMD probe
//! calls, answering from the JSON profile named by `FAKE_AMDSMI_PROFILE` (read at every
//! `amdsmi_init`). See `README.md` for the profile format.
//!
//! The structs it writes are `#[repr(C)]` mirrors of AMD SMI's headers, one per ROCm release
//! the profile's `abi` names, declared here independently of the probe's binding (which reads
//! fields at offsets): a binding that read the wrong offset would fail against this fake. Their
//! sizes and offsets are asserted at compile time against the header's.
//!
//! Every export is `unsafe extern "C"` with AMD SMI's contract (out-pointers to writable memory
//! of the documented type); null pointers and unknown handles answer AMD SMI error codes, and
//! no export panics across the boundary.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod profile;

use std::ffi::{CStr, c_char, c_uint, c_void};
use std::mem::{offset_of, size_of};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard};

use profile::{Abi, Device, InitOutcome, Profile};

type Status = u32;
const SUCCESS: Status = 0;
const INVAL: Status = 1;
const NOT_SUPPORTED: Status = 2;
const NO_PERM: Status = 10;
const OUT_OF_RESOURCES: Status = 15;
const INIT_ERROR: Status = 18;
const NOT_INIT: Status = 32;
const DRIVER_NOT_LOADED: Status = 34;
const INSUFFICIENT_SIZE: Status = 41;
const UNKNOWN_ERROR: Status = 0xFFFF_FFFF;

type Ret = Result<(), Status>;
type Handle = *mut c_void;

// ---------------------------------------------------------------------------------------------
// AMD SMI's structs, per ROCm release
// ---------------------------------------------------------------------------------------------

#[repr(C)]
struct version_6 {
    year: u32,
    major: u32,
    minor: u32,
    release: u32,
    build: *const c_char,
}

#[repr(C)]
struct version_7 {
    major: u32,
    minor: u32,
    release: u32,
    build: *const c_char,
}

#[repr(C)]
struct asic_info_62 {
    market_name: [c_char; 256],
    vendor_id: u32,
    vendor_name: [c_char; 64],
    subvendor_id: u32,
    device_id: u64,
    rev_id: u32,
    asic_serial: [c_char; 32],
    oam_id: u32,
    reserved: [u32; 18],
}

#[repr(C)]
struct asic_info_63 {
    market_name: [c_char; 256],
    vendor_id: u32,
    vendor_name: [c_char; 64],
    subvendor_id: u32,
    device_id: u64,
    rev_id: u32,
    asic_serial: [c_char; 32],
    oam_id: u32,
    num_of_compute_units: u32,
    target_graphics_version: u64,
    reserved: [u32; 15],
}

/// ROCm 6.4 and 7.x (7.x names the first reserved word `subsystem_id`).
#[repr(C)]
struct asic_info_64 {
    market_name: [c_char; 256],
    vendor_id: u32,
    vendor_name: [c_char; 256],
    subvendor_id: u32,
    device_id: u64,
    rev_id: u32,
    asic_serial: [c_char; 256],
    oam_id: u32,
    num_of_compute_units: u32,
    target_graphics_version: u64,
    subsystem_id: u32,
    reserved: [u32; 21],
}

#[repr(C)]
struct engine_usage_t {
    gfx: u64,
    enc: u64,
    reserved: [u32; 12],
}

#[repr(C)]
struct memory_usage_t {
    gtt_mem: u64,
    cpu_mem: u64,
    vram_mem: u64,
    reserved: [u32; 10],
}

#[repr(C)]
struct proc_info_62 {
    name: [c_char; 32],
    pid: u32,
    mem: u64,
    engine_usage: engine_usage_t,
    memory_usage: memory_usage_t,
    container_name: [c_char; 32],
    reserved: [u32; 4],
}

/// ROCm 6.4 and 7.x (6.4.2 and 7.x name the first reserved word `cu_occupancy`).
#[repr(C)]
struct proc_info_64 {
    name: [c_char; 256],
    pid: u32,
    mem: u64,
    engine_usage: engine_usage_t,
    memory_usage: memory_usage_t,
    container_name: [c_char; 256],
    cu_occupancy: u32,
    reserved: [u32; 11],
}

#[repr(C)]
pub struct vram_usage_t {
    vram_total: u32,
    vram_used: u32,
    reserved: [u32; 2],
}

#[repr(C)]
pub struct error_count_t {
    correctable_count: u64,
    uncorrectable_count: u64,
    deferred_count: u64,
    reserved: [u64; 5],
}

#[repr(C)]
pub struct power_cap_info_t {
    power_cap: u64,
    default_power_cap: u64,
    dpm_cap: u64,
    min_power_cap: u64,
    max_power_cap: u64,
    reserved: [u64; 3],
}

#[repr(C)]
pub struct engine_activity_t {
    gfx_activity: u32,
    umc_activity: u32,
    mm_activity: u32,
    reserved: [u32; 13],
}

// The headers' sizes and offsets (x86_64), so a mirror cannot drift unnoticed.
const _: () = {
    assert!(size_of::<version_6>() == 24 && size_of::<version_7>() == 24);
    assert!(size_of::<asic_info_62>() == 448);
    assert!(offset_of!(asic_info_62, device_id) == 328 && offset_of!(asic_info_62, oam_id) == 372);
    assert!(size_of::<asic_info_63>() == 456);
    assert!(offset_of!(asic_info_63, num_of_compute_units) == 376);
    assert!(offset_of!(asic_info_63, target_graphics_version) == 384);
    assert!(size_of::<asic_info_64>() == 896);
    assert!(offset_of!(asic_info_64, device_id) == 520 && offset_of!(asic_info_64, target_graphics_version) == 800);
    assert!(size_of::<proc_info_62>() == 224 && offset_of!(proc_info_62, container_name) == 176);
    assert!(size_of::<proc_info_64>() == 704 && offset_of!(proc_info_64, container_name) == 400);
    assert!(size_of::<vram_usage_t>() == 16);
    assert!(size_of::<error_count_t>() == 64);
    assert!(size_of::<power_cap_info_t>() == 64);
    assert!(size_of::<engine_activity_t>() == 64);
};

/// The GPU metrics table's size in each release (it only grows), and where its throttle masks
/// sit.
fn metrics_size(abi: Abi) -> usize {
    match abi {
        Abi::Rocm62 => 424,
        Abi::Rocm63 => 1832,
        Abi::Rocm64 => 2368,
        Abi::Rocm72 | Abi::Rocm75 => 4544,
    }
}
const THROTTLE_STATUS_AT: usize = 68;
const INDEP_THROTTLE_STATUS_AT: usize = 112;

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

struct State {
    profile: Option<Profile>,
    refcount: u32,
}

static STATE: Mutex<State> = Mutex::new(State {
    profile: None,
    refcount: 0,
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn guard(f: impl FnOnce() -> Ret) -> Status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => SUCCESS,
        Ok(Err(code)) => code,
        Err(_) => UNKNOWN_ERROR,
    }
}

fn with_profile(f: impl FnOnce(&Profile) -> Ret) -> Status {
    guard(|| {
        let st = state();
        let profile = st.profile.as_ref().ok_or(NOT_INIT)?;
        f(profile)
    })
}

const SOCKET_TAG: usize = 0x50C_0000;
const GPU_TAG: usize = 0x6B0_0000;

fn socket_of(profile: &Profile, index: usize) -> u32 {
    profile
        .devices
        .get(index)
        .and_then(|d| d.socket)
        .unwrap_or(index as u32 + 1000)
}

/// The distinct sockets, in order of their first device.
fn sockets(profile: &Profile) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for i in 0..profile.devices.len() {
        let s = socket_of(profile, i);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn listed(list: &[String], function: &str) -> bool {
    list.iter().any(|f| f == function)
}

/// The device a processor handle names, after the profile's refusals for `function`.
fn with_gpu(handle: Handle, function: &str, f: impl FnOnce(&Profile, &Device) -> Ret) -> Status {
    with_profile(|profile| {
        let addr = handle.addr();
        if addr & !0xFFFF != GPU_TAG {
            return Err(INVAL);
        }
        let device = profile.devices.get(addr & 0xFFFF).ok_or(INVAL)?;
        if listed(&profile.unsupported, function) || listed(&device.unsupported, function) {
            return Err(NOT_SUPPORTED);
        }
        if listed(&device.no_permission, function) {
            return Err(NO_PERM);
        }
        f(profile, device)
    })
}

unsafe fn put<T>(out: *mut T, value: T) -> Ret {
    if out.is_null() {
        return Err(INVAL);
    }
    // SAFETY: non-null; the caller promises a writable T.
    unsafe { out.write(value) };
    Ok(())
}

/// `s` into a fixed C string field (cut to fit, always NUL-terminated).
fn c_field<const N: usize>(s: &str) -> [c_char; N] {
    let mut out = [0 as c_char; N];
    for (slot, byte) in out.iter_mut().zip(s.bytes().take(N.saturating_sub(1))) {
        *slot = byte as c_char;
    }
    out
}

/// `s` into the caller's `len`-byte buffer.
unsafe fn put_text(buf: *mut c_char, len: usize, s: &str) -> Ret {
    if buf.is_null() {
        return Err(INVAL);
    }
    if s.len() + 1 > len {
        return Err(INSUFFICIENT_SIZE);
    }
    // SAFETY: the caller promises `len` writable bytes; we write s.len() + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr().cast::<c_char>(), buf, s.len());
        buf.add(s.len()).write(0);
    }
    Ok(())
}

fn gfx_number(gfx: &str) -> u64 {
    gfx.strip_prefix("gfx")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Init, version, status strings
// ---------------------------------------------------------------------------------------------

fn load_profile() -> Result<Profile, String> {
    let path = std::env::var_os("FAKE_AMDSMI_PROFILE").ok_or("FAKE_AMDSMI_PROFILE is not set")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.to_string_lossy()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a valid AMD GPU profile: {e}", path.to_string_lossy()))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_init(_flags: u64) -> Status {
    guard(|| {
        let profile = load_profile().map_err(|why| {
            eprintln!("fake-amdsmi: amdsmi_init fails: {why}");
            INIT_ERROR
        })?;
        match profile.init {
            InitOutcome::Ok => {}
            InitOutcome::DriverNotLoaded => return Err(DRIVER_NOT_LOADED),
            InitOutcome::NoPerm => return Err(NO_PERM),
            InitOutcome::InitError => return Err(INIT_ERROR),
        }
        let mut st = state();
        st.profile = Some(profile);
        st.refcount = st.refcount.saturating_add(1);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_shut_down() -> Status {
    guard(|| {
        let mut st = state();
        if st.refcount == 0 {
            return Err(NOT_INIT);
        }
        st.refcount -= 1;
        if st.refcount == 0 {
            st.profile = None;
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_status_code_to_string(status: Status, text: *mut *const c_char) -> Status {
    let s: &'static CStr = match status {
        SUCCESS => c"Success",
        INVAL => c"Invalid parameters",
        NOT_SUPPORTED => c"Command not supported",
        NO_PERM => c"Permission Denied",
        INIT_ERROR => c"An error occurred during initialization",
        NOT_INIT => c"Device not initialized",
        DRIVER_NOT_LOADED => c"Driver not loaded",
        _ => c"An unknown error occurred",
    };
    guard(|| unsafe { put(text, s.as_ptr()) })
}

static BUILD: &CStr = c"fake";

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_lib_version(version: *mut c_void) -> Status {
    with_profile(|profile| unsafe {
        match profile.abi {
            Abi::Rocm62 => put(
                version.cast(),
                version_6 {
                    year: 24,
                    major: 6,
                    minor: 1,
                    release: 0,
                    build: BUILD.as_ptr(),
                },
            ),
            Abi::Rocm63 => put(
                version.cast(),
                version_6 {
                    year: 24,
                    major: 7,
                    minor: 1,
                    release: 0,
                    build: BUILD.as_ptr(),
                },
            ),
            Abi::Rocm64 => put(
                version.cast(),
                version_6 {
                    year: 25,
                    major: 25,
                    minor: 3,
                    release: 0,
                    build: BUILD.as_ptr(),
                },
            ),
            Abi::Rocm72 => put(
                version.cast(),
                version_7 {
                    major: 26,
                    minor: 2,
                    release: 1,
                    build: BUILD.as_ptr(),
                },
            ),
            Abi::Rocm75 => put(
                version.cast(),
                version_7 {
                    major: 26,
                    minor: 5,
                    release: 0,
                    build: BUILD.as_ptr(),
                },
            ),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Enumeration
// ---------------------------------------------------------------------------------------------

/// The count protocol: `*count` in is the room in `out` (or `out` is null); out, how many.
unsafe fn put_handles(count: *mut u32, out: *mut Handle, handles: &[Handle]) -> Ret {
    if count.is_null() {
        return Err(INVAL);
    }
    // SAFETY: non-null, caller's.
    let room = unsafe { count.read() } as usize;
    if out.is_null() {
        return unsafe { put(count, handles.len() as u32) };
    }
    let n = room.min(handles.len());
    // SAFETY: the caller promises `room` handles at `out`.
    unsafe {
        std::ptr::copy_nonoverlapping(handles.as_ptr(), out, n);
        put(count, n as u32)
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_socket_handles(count: *mut u32, out: *mut Handle) -> Status {
    with_profile(|profile| {
        let handles: Vec<Handle> = (0..sockets(profile).len())
            .map(|s| std::ptr::without_provenance_mut(SOCKET_TAG | s))
            .collect();
        unsafe { put_handles(count, out, &handles) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_processor_handles(socket: Handle, count: *mut u32, out: *mut Handle) -> Status {
    with_profile(|profile| {
        let addr = socket.addr();
        if addr & !0xFFFF != SOCKET_TAG {
            return Err(INVAL);
        }
        let wanted = *sockets(profile).get(addr & 0xFFFF).ok_or(INVAL)?;
        let handles: Vec<Handle> = (0..profile.devices.len())
            .filter(|&i| socket_of(profile, i) == wanted)
            .map(|i| std::ptr::without_provenance_mut(GPU_TAG | i))
            .collect();
        unsafe { put_handles(count, out, &handles) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_processor_type(handle: Handle, kind: *mut u32) -> Status {
    with_gpu(handle, "amdsmi_get_processor_type", |_, _| unsafe { put(kind, 1) })
}

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_asic_info(handle: Handle, info: *mut c_void) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_asic_info", |profile, d| unsafe {
        let cus = d.compute_units.unwrap_or(u32::MAX);
        match profile.abi {
            Abi::Rocm62 => put(
                info.cast(),
                asic_info_62 {
                    market_name: c_field(&d.market_name),
                    vendor_id: d.vendor_id,
                    vendor_name: c_field("Advanced Micro Devices Inc. [AMD/ATI]"),
                    subvendor_id: d.vendor_id,
                    device_id: d.device_id,
                    rev_id: d.rev_id,
                    asic_serial: c_field("0x1234567890ABCDEF"),
                    oam_id: 0xFFFF,
                    reserved: [0; 18],
                },
            ),
            Abi::Rocm63 => put(
                info.cast(),
                asic_info_63 {
                    market_name: c_field(&d.market_name),
                    vendor_id: d.vendor_id,
                    vendor_name: c_field("Advanced Micro Devices Inc. [AMD/ATI]"),
                    subvendor_id: d.vendor_id,
                    device_id: d.device_id,
                    rev_id: d.rev_id,
                    asic_serial: c_field("0x1234567890ABCDEF"),
                    oam_id: 0xFFFF,
                    num_of_compute_units: cus,
                    target_graphics_version: gfx_number(&d.gfx),
                    reserved: [0; 15],
                },
            ),
            Abi::Rocm64 | Abi::Rocm72 | Abi::Rocm75 => put(
                info.cast(),
                asic_info_64 {
                    market_name: c_field(&d.market_name),
                    vendor_id: d.vendor_id,
                    vendor_name: c_field("Advanced Micro Devices Inc. [AMD/ATI]"),
                    subvendor_id: d.vendor_id,
                    device_id: d.device_id,
                    rev_id: d.rev_id,
                    asic_serial: c_field("0x1234567890ABCDEF"),
                    oam_id: 0xFFFF,
                    num_of_compute_units: cus,
                    target_graphics_version: gfx_number(&d.gfx),
                    subsystem_id: 0,
                    reserved: [0; 21],
                },
            ),
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_device_uuid(handle: Handle, len: *mut c_uint, uuid: *mut c_char) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_device_uuid", |_, d| unsafe {
        if len.is_null() {
            return Err(INVAL);
        }
        let room = len.read() as usize;
        if room < 38 {
            return Err(INSUFFICIENT_SIZE);
        }
        put_text(uuid, room, &d.uuid)?;
        put(len, d.uuid.len() as c_uint)
    })
}

/// `amdsmi_bdf_t`: function 3 bits, device 5, bus 8, domain 48.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_device_bdf(handle: Handle, bdf: *mut u64) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_device_bdf", |_, d| {
        let parts: Vec<&str> = d.bdf.split([':', '.']).collect();
        let hex = |i: usize| parts.get(i).and_then(|p| u64::from_str_radix(p, 16).ok()).ok_or(INVAL);
        let (domain, bus, device, function) = (hex(0)?, hex(1)?, hex(2)?, hex(3)?);
        unsafe { put(bdf, (domain << 16) | (bus << 8) | (device << 3) | function) }
    })
}

// ---------------------------------------------------------------------------------------------
// Memory, partitions, RAS, power, throttling, temperature, activity
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_vram_usage(handle: Handle, info: *mut vram_usage_t) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_vram_usage", |_, d| {
        let used = if d.vram_mib.used > 0 {
            d.vram_mib.used
        } else {
            d.processes.iter().map(|p| p.vram_mib as u32).sum()
        };
        unsafe {
            put(
                info,
                vram_usage_t {
                    vram_total: d.vram_mib.total,
                    vram_used: used,
                    reserved: [0; 2],
                },
            )
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_compute_partition(handle: Handle, text: *mut c_char, len: u32) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_compute_partition", |_, d| unsafe {
        put_text(text, len as usize, d.compute_partition.as_deref().ok_or(NOT_SUPPORTED)?)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_memory_partition(handle: Handle, text: *mut c_char, len: u32) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_memory_partition", |_, d| unsafe {
        put_text(text, len as usize, d.memory_partition.as_deref().ok_or(NOT_SUPPORTED)?)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_total_ecc_count(handle: Handle, count: *mut error_count_t) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_total_ecc_count", |_, d| {
        let ecc = d.ecc.as_ref().ok_or(NOT_SUPPORTED)?;
        unsafe {
            put(
                count,
                error_count_t {
                    correctable_count: ecc.correctable,
                    uncorrectable_count: ecc.uncorrectable,
                    deferred_count: ecc.deferred,
                    reserved: [0; 5],
                },
            )
        }
    })
}

/// Microwatts, as AMD SMI has answered since ROCm 6.1.2.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_power_cap_info(handle: Handle, sensor: u32, info: *mut power_cap_info_t) -> Status {
    with_gpu(handle, "amdsmi_get_power_cap_info", |_, d| {
        if sensor != 0 {
            return Err(INVAL);
        }
        let w = d.power_cap_w.as_ref().ok_or(NOT_SUPPORTED)?;
        unsafe {
            put(
                info,
                power_cap_info_t {
                    power_cap: w.cap * 1_000_000,
                    default_power_cap: w.default * 1_000_000,
                    dpm_cap: 2100,
                    min_power_cap: 0,
                    max_power_cap: w.max * 1_000_000,
                    reserved: [0; 3],
                },
            )
        }
    })
}

/// The metrics table of the profile's release: all ones (not reported) but the throttle
/// masks the profile gives.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_metrics_info(handle: Handle, metrics: *mut u8) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_metrics_info", |profile, d| {
        if metrics.is_null() {
            return Err(INVAL);
        }
        let mut table = vec![0xFFu8; metrics_size(profile.abi)];
        let status = d.throttle_status.unwrap_or(u32::MAX).to_ne_bytes();
        table[THROTTLE_STATUS_AT..THROTTLE_STATUS_AT + 4].copy_from_slice(&status);
        let indep = d.indep_throttle_status.unwrap_or(u64::MAX).to_ne_bytes();
        table[INDEP_THROTTLE_STATUS_AT..INDEP_THROTTLE_STATUS_AT + 8].copy_from_slice(&indep);
        // SAFETY: the caller promises an amdsmi_gpu_metrics_t of this release.
        unsafe { std::ptr::copy_nonoverlapping(table.as_ptr(), metrics, table.len()) };
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_temp_metric(handle: Handle, sensor: u32, metric: u32, value: *mut i64) -> Status {
    with_gpu(handle, "amdsmi_get_temp_metric", |_, d| {
        if metric != 0 {
            return Err(NOT_SUPPORTED);
        }
        let t = match sensor {
            0 => d.temperature_c.edge,
            1 => d.temperature_c.hotspot,
            2 => d.temperature_c.vram,
            _ => None,
        };
        unsafe { put(value, t.ok_or(NOT_SUPPORTED)?) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_activity(handle: Handle, info: *mut engine_activity_t) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_activity", |_, d| {
        let a = d.activity.as_ref().ok_or(NOT_SUPPORTED)?;
        unsafe {
            put(
                info,
                engine_activity_t {
                    gfx_activity: a.gfx,
                    umc_activity: a.umc,
                    mm_activity: a.mm,
                    reserved: [0; 13],
                },
            )
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Processes, driver
// ---------------------------------------------------------------------------------------------

/// The process list protocol: `*max` in is the room in `list` (0 or a null list asks the
/// count); too little room fills what fits and answers OUT_OF_RESOURCES with the count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_process_list(handle: Handle, max: *mut u32, list: *mut c_void) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_process_list", |profile, d| unsafe {
        if max.is_null() {
            return Err(INVAL);
        }
        let room = max.read() as usize;
        let total = d.processes.len();
        if room == 0 || list.is_null() {
            return put(max, total as u32);
        }
        let n = room.min(total);
        for (i, p) in d.processes.iter().take(n).enumerate() {
            let bytes = p.vram_mib * 1024 * 1024;
            let usage = memory_usage_t {
                gtt_mem: 0,
                cpu_mem: 0,
                vram_mem: bytes,
                reserved: [0; 10],
            };
            let engines = engine_usage_t {
                gfx: 0,
                enc: 0,
                reserved: [0; 12],
            };
            match profile.abi {
                Abi::Rocm62 | Abi::Rocm63 => list.cast::<proc_info_62>().add(i).write(proc_info_62 {
                    name: c_field(&p.name),
                    pid: p.pid,
                    mem: bytes,
                    engine_usage: engines,
                    memory_usage: usage,
                    container_name: c_field(""),
                    reserved: [0; 4],
                }),
                _ => list.cast::<proc_info_64>().add(i).write(proc_info_64 {
                    name: c_field(&p.name),
                    pid: p.pid,
                    mem: bytes,
                    engine_usage: engines,
                    memory_usage: usage,
                    container_name: c_field(""),
                    cu_occupancy: 0,
                    reserved: [0; 11],
                }),
            }
        }
        put(max, total as u32)?;
        if n < total { Err(OUT_OF_RESOURCES) } else { Ok(()) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn amdsmi_get_gpu_driver_info(handle: Handle, info: *mut c_char) -> Status {
    with_gpu(handle, "amdsmi_get_gpu_driver_info", |profile, _| unsafe {
        let field = match profile.abi {
            Abi::Rocm62 | Abi::Rocm63 => 64,
            _ => 256,
        };
        put_text(info, field, &profile.driver_version)?;
        put_text(info.add(field), field, "2024/01/01")?;
        put_text(info.add(2 * field), field, "amdgpu")
    })
}
