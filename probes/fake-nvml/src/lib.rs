//! A fake `libnvidia-ml` for tests: a cdylib exporting the NVML C functions that `nvml-wrapper`
//! 0.13 calls, answering from the JSON GPU profile named by the `FAKE_NVML_PROFILE` environment
//! variable (read at every `nvmlInit`). See `README.md` for the profile format.
//!
//! Every export is `unsafe extern "C"`: the safety contract is NVML's own (out-pointers point to
//! writable memory of the documented type and length). Null out-pointers, unknown handles and
//! short buffers are answered with NVML error codes; no export panics across the boundary.

// The exported names are NVML's.
#![allow(non_snake_case)]
// The safety contract of every export is NVML's C API documentation.
#![allow(clippy::missing_safety_doc)]

mod profile;

use std::ffi::{CStr, c_char, c_int, c_uint, c_ulonglong};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard};

use nvml_wrapper_sys::bindings as sys;
use sys::{
    nvmlComputeMode_t, nvmlDevice_t, nvmlEccCounterType_t, nvmlEnableState_t, nvmlMemory_t, nvmlMemory_v2_t,
    nvmlMemoryErrorType_t, nvmlPageRetirementCause_t, nvmlPciInfo_t, nvmlProcessInfo_t, nvmlProcessInfo_v1_t,
    nvmlReturn_t, nvmlTemperatureSensors_t, nvmlUtilization_t,
};

use profile::{DeviceProfile, MigInstance, Profile};

const SUCCESS: nvmlReturn_t = sys::nvmlReturn_enum_NVML_SUCCESS;
const UNINITIALIZED: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_UNINITIALIZED;
const INVALID_ARGUMENT: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT;
const NOT_SUPPORTED: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_NOT_SUPPORTED;
const NOT_FOUND: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_NOT_FOUND;
const INSUFFICIENT_SIZE: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE;
const GPU_IS_LOST: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_GPU_IS_LOST;
const ARGUMENT_VERSION_MISMATCH: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
const UNKNOWN: nvmlReturn_t = sys::nvmlReturn_enum_NVML_ERROR_UNKNOWN;

const MIB: u64 = 1024 * 1024;
/// NVML reports this for a process's GPU/compute instance id when the GPU is not in MIG mode.
const NO_INSTANCE: c_uint = 0xFFFF_FFFF;

type Ret = Result<(), nvmlReturn_t>;

// ---------------------------------------------------------------------------------------------
// Global state
// ---------------------------------------------------------------------------------------------

struct State {
    profile: Option<Profile>,
    /// NVML reference-counts init/shutdown; so does the fake.
    refcount: u32,
}

static STATE: Mutex<State> = Mutex::new(State {
    profile: None,
    refcount: 0,
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f`, turning a panic into NVML_ERROR_UNKNOWN.
fn guard(f: impl FnOnce() -> Ret) -> nvmlReturn_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => SUCCESS,
        Ok(Err(code)) => code,
        Err(_) => UNKNOWN,
    }
}

/// Runs `f` on the loaded profile, or answers UNINITIALIZED.
fn with_profile(f: impl FnOnce(&Profile) -> Ret) -> nvmlReturn_t {
    guard(|| {
        let st = state();
        let profile = st.profile.as_ref().ok_or(UNINITIALIZED)?;
        f(profile)
    })
}

/// Per-device calls answered since the last `nvmlInit`, for `lost_after_calls`. Outside the
/// state lock's data so that `resolve` can count through a shared `&Profile`.
static DEVICE_CALLS: [std::sync::atomic::AtomicU32; 256] = [const { std::sync::atomic::AtomicU32::new(0) }; 256];

fn load_profile() -> Result<Profile, String> {
    let path = std::env::var_os("FAKE_NVML_PROFILE").ok_or("FAKE_NVML_PROFILE is not set")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let profile: Profile =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a valid GPU profile: {e}", path.display()))?;
    profile.validate().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(profile)
}

fn init() -> nvmlReturn_t {
    guard(|| {
        let profile = match load_profile() {
            Ok(profile) => profile,
            Err(why) => {
                eprintln!("fake-nvml: nvmlInit fails: {why}");
                return Err(UNKNOWN);
            }
        };
        if profile.init_delay_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(profile.init_delay_ms));
        }
        let code = profile.init.code();
        if code != SUCCESS {
            return Err(code);
        }
        for calls in &DEVICE_CALLS {
            calls.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        let mut st = state();
        st.profile = Some(profile);
        st.refcount = st.refcount.saturating_add(1);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Device handles: small tagged integers, never dereferenced.
// handle = TAG | (device index << 8) | (MIG instance index + 1, or 0 for the GPU itself)
// ---------------------------------------------------------------------------------------------

const TAG: usize = 0x7E57_0000;

fn gpu_handle(index: usize) -> nvmlDevice_t {
    std::ptr::without_provenance_mut(TAG | (index << 8))
}

fn mig_handle(parent: usize, index: usize) -> nvmlDevice_t {
    std::ptr::without_provenance_mut(TAG | (parent << 8) | (index + 1))
}

/// What a handle names.
enum Target<'a> {
    Gpu {
        index: usize,
        dev: &'a DeviceProfile,
    },
    Mig {
        parent: usize,
        dev: &'a DeviceProfile,
        index: usize,
        mig: &'a MigInstance,
    },
}

impl Target<'_> {
    fn dev(&self) -> &DeviceProfile {
        match self {
            Target::Gpu { dev, .. } | Target::Mig { dev, .. } => dev,
        }
    }
}

/// `nvmlDeviceGetMemoryInfo_v2` → `nvmlDeviceGetMemoryInfo`; the event/throttle pair is one.
fn base_name(name: &str) -> &str {
    let name = match name.rfind("_v") {
        Some(at) if name[at + 2..].chars().all(|c| c.is_ascii_digit()) && at + 2 < name.len() => &name[..at],
        _ => name,
    };
    if name == "nvmlDeviceGetCurrentClocksEventReasons" {
        "nvmlDeviceGetCurrentClocksThrottleReasons"
    } else {
        name
    }
}

fn is_unsupported(list: &[String], func: &str) -> bool {
    let func = base_name(func);
    list.iter().any(|f| base_name(f) == func)
}

fn resolve<'a>(profile: &'a Profile, handle: nvmlDevice_t, func: &str) -> Result<Target<'a>, nvmlReturn_t> {
    let addr = handle.addr();
    if addr & !0xFFFF != TAG {
        return Err(INVALID_ARGUMENT);
    }
    let index = (addr >> 8) & 0xFF;
    let slot = addr & 0xFF;
    let dev = profile.devices.get(index).ok_or(INVALID_ARGUMENT)?;
    let target = if slot == 0 {
        Target::Gpu { index, dev }
    } else {
        let mig = dev
            .mig
            .as_ref()
            .filter(|m| m.current)
            .and_then(|m| m.instances.get(slot - 1))
            .ok_or(INVALID_ARGUMENT)?;
        Target::Mig {
            parent: index,
            dev,
            index: slot - 1,
            mig,
        }
    };
    if dev.lost || dev.lost_at_handle {
        return Err(GPU_IS_LOST);
    }
    if let Some(limit) = dev.lost_after_calls {
        let calls = DEVICE_CALLS
            .get(index)
            .map_or(u32::MAX, |c| c.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        if calls >= limit {
            return Err(GPU_IS_LOST);
        }
    }
    if is_unsupported(&profile.unsupported, func) || is_unsupported(&dev.unsupported, func) {
        return Err(NOT_SUPPORTED);
    }
    if is_unsupported(&dev.no_permission, func) {
        return Err(sys::nvmlReturn_enum_NVML_ERROR_NO_PERMISSION);
    }
    Ok(target)
}

/// Runs `f` on whatever the handle names (a GPU or a MIG device).
fn with_target(handle: nvmlDevice_t, func: &str, f: impl FnOnce(&Profile, Target<'_>) -> Ret) -> nvmlReturn_t {
    with_profile(|profile| {
        let target = resolve(profile, handle, func)?;
        f(profile, target)
    })
}

/// Runs `f` on a whole-GPU handle; MIG device handles answer NOT_SUPPORTED.
fn with_gpu(handle: nvmlDevice_t, func: &str, f: impl FnOnce(usize, &DeviceProfile) -> Ret) -> nvmlReturn_t {
    with_target(handle, func, |_, target| match target {
        Target::Gpu { index, dev } => f(index, dev),
        Target::Mig { .. } => Err(NOT_SUPPORTED),
    })
}

// ---------------------------------------------------------------------------------------------
// Out-parameter helpers
// ---------------------------------------------------------------------------------------------

/// Writes `value` through `out`, or answers INVALID_ARGUMENT for a null pointer.
unsafe fn put<T>(out: *mut T, value: T) -> Ret {
    if out.is_null() {
        return Err(INVALID_ARGUMENT);
    }
    // SAFETY: non-null; the caller promises it points to a writable T (NVML's contract).
    unsafe { out.write(value) };
    Ok(())
}

/// Copies `s` and a NUL into the caller's `length`-byte buffer.
unsafe fn put_str(buf: *mut c_char, length: c_uint, s: &str) -> Ret {
    if buf.is_null() {
        return Err(INVALID_ARGUMENT);
    }
    let bytes = s.as_bytes();
    if bytes.len() + 1 > length as usize {
        return Err(INSUFFICIENT_SIZE);
    }
    // SAFETY: the caller promises `length` writable bytes; we write len + 1 <= length.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, bytes.len());
        buf.add(bytes.len()).write(0);
    }
    Ok(())
}

/// Reads a caller's NUL-terminated string.
unsafe fn get_str<'a>(s: *const c_char) -> Result<&'a str, nvmlReturn_t> {
    if s.is_null() {
        return Err(INVALID_ARGUMENT);
    }
    // SAFETY: non-null; the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| INVALID_ARGUMENT)
}

/// The NVML list protocol: `*count` in = capacity of `out`; out = entries. Too small (or a null
/// `out` with entries to report) answers INSUFFICIENT_SIZE with `*count` set to what is needed.
unsafe fn put_list<T: Copy>(count: *mut c_uint, out: *mut T, items: &[T]) -> Ret {
    if count.is_null() {
        return Err(INVALID_ARGUMENT);
    }
    // SAFETY: non-null, caller-provided.
    let capacity = unsafe { count.read() } as usize;
    let needed = c_uint::try_from(items.len()).map_err(|_| UNKNOWN)?;
    // SAFETY: as above.
    unsafe { count.write(needed) };
    if items.is_empty() {
        return Ok(());
    }
    if out.is_null() || capacity < items.len() {
        return Err(INSUFFICIENT_SIZE);
    }
    // SAFETY: the caller promises `capacity` >= items.len() writable entries.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    Ok(())
}

fn enable_state(on: bool) -> nvmlEnableState_t {
    if on {
        sys::nvmlEnableState_enum_NVML_FEATURE_ENABLED
    } else {
        sys::nvmlEnableState_enum_NVML_FEATURE_DISABLED
    }
}

// ---------------------------------------------------------------------------------------------
// Init, shutdown, errors
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlInit_v2() -> nvmlReturn_t {
    init()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlInit() -> nvmlReturn_t {
    init()
}

/// Flags (NO_GPUS, NO_ATTACH) are accepted and ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlInitWithFlags(_flags: c_uint) -> nvmlReturn_t {
    init()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlShutdown() -> nvmlReturn_t {
    guard(|| {
        let mut st = state();
        if st.refcount == 0 {
            return Err(UNINITIALIZED);
        }
        st.refcount -= 1;
        if st.refcount == 0 {
            st.profile = None;
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlErrorString(result: nvmlReturn_t) -> *const c_char {
    let s: &'static CStr = match result {
        sys::nvmlReturn_enum_NVML_SUCCESS => c"Success",
        sys::nvmlReturn_enum_NVML_ERROR_UNINITIALIZED => c"Uninitialized",
        sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT => c"Invalid Argument",
        sys::nvmlReturn_enum_NVML_ERROR_NOT_SUPPORTED => c"Not Supported",
        sys::nvmlReturn_enum_NVML_ERROR_NO_PERMISSION => c"Insufficient Permissions",
        sys::nvmlReturn_enum_NVML_ERROR_ALREADY_INITIALIZED => c"Already Initialized",
        sys::nvmlReturn_enum_NVML_ERROR_NOT_FOUND => c"Not Found",
        sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE => c"Insufficient Size",
        sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_POWER => c"Insufficient External Power",
        sys::nvmlReturn_enum_NVML_ERROR_DRIVER_NOT_LOADED => c"Driver Not Loaded",
        sys::nvmlReturn_enum_NVML_ERROR_TIMEOUT => c"Timeout",
        sys::nvmlReturn_enum_NVML_ERROR_IRQ_ISSUE => c"Interrupt request issue",
        sys::nvmlReturn_enum_NVML_ERROR_LIBRARY_NOT_FOUND => c"NVML Shared Library Not Found",
        sys::nvmlReturn_enum_NVML_ERROR_FUNCTION_NOT_FOUND => c"Function Not Found",
        sys::nvmlReturn_enum_NVML_ERROR_CORRUPTED_INFOROM => c"Corrupted infoROM",
        sys::nvmlReturn_enum_NVML_ERROR_GPU_IS_LOST => c"GPU is lost",
        sys::nvmlReturn_enum_NVML_ERROR_RESET_REQUIRED => c"GPU requires restart",
        sys::nvmlReturn_enum_NVML_ERROR_OPERATING_SYSTEM => c"The operating system has blocked the request.",
        sys::nvmlReturn_enum_NVML_ERROR_LIB_RM_VERSION_MISMATCH => c"RM has detected an NVML/RM version mismatch.",
        sys::nvmlReturn_enum_NVML_ERROR_IN_USE => c"In use by another client",
        sys::nvmlReturn_enum_NVML_ERROR_MEMORY => c"Insufficient Memory",
        sys::nvmlReturn_enum_NVML_ERROR_NO_DATA => c"No data",
        sys::nvmlReturn_enum_NVML_ERROR_ARGUMENT_VERSION_MISMATCH => c"Argument version mismatch",
        _ => c"Unknown Error",
    };
    s.as_ptr()
}

// ---------------------------------------------------------------------------------------------
// System
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetDriverVersion(version: *mut c_char, length: c_uint) -> nvmlReturn_t {
    with_profile(|p| unsafe { put_str(version, length, &p.driver_version) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetNVMLVersion(version: *mut c_char, length: c_uint) -> nvmlReturn_t {
    with_profile(|p| unsafe { put_str(version, length, &p.nvml_version()) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetCudaDriverVersion(version: *mut c_int) -> nvmlReturn_t {
    with_profile(|p| unsafe { put(version, p.cuda_driver_version) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetCudaDriverVersion_v2(version: *mut c_int) -> nvmlReturn_t {
    with_profile(|p| unsafe { put(version, p.cuda_driver_version) })
}

/// Answers the `name` of a profile process with this pid, else NOT_FOUND.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetProcessName(pid: c_uint, name: *mut c_char, length: c_uint) -> nvmlReturn_t {
    with_profile(|p| {
        let found = p
            .devices
            .iter()
            .flat_map(|d| d.processes.iter())
            .find(|proc_| proc_.pid == pid)
            .and_then(|proc_| proc_.name.as_deref())
            .ok_or(NOT_FOUND)?;
        if length == 0 {
            return Err(INVALID_ARGUMENT);
        }
        unsafe { put_str(name, length, found) }
    })
}

// ---------------------------------------------------------------------------------------------
// Enumeration
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCount_v2(count: *mut c_uint) -> nvmlReturn_t {
    with_profile(|p| unsafe { put(count, p.devices.len() as c_uint) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCount(count: *mut c_uint) -> nvmlReturn_t {
    unsafe { nvmlDeviceGetCount_v2(count) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex_v2(index: c_uint, device: *mut nvmlDevice_t) -> nvmlReturn_t {
    with_profile(|p| {
        let dev = p.devices.get(index as usize).ok_or(INVALID_ARGUMENT)?;
        if device.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        if dev.lost_at_handle {
            return Err(GPU_IS_LOST);
        }
        unsafe { put(device, gpu_handle(index as usize)) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex(index: c_uint, device: *mut nvmlDevice_t) -> nvmlReturn_t {
    unsafe { nvmlDeviceGetHandleByIndex_v2(index, device) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByUUID(uuid: *const c_char, device: *mut nvmlDevice_t) -> nvmlReturn_t {
    with_profile(|p| {
        let wanted = unsafe { get_str(uuid) }?;
        let index = (0..p.devices.len())
            .find(|&i| p.devices[i].uuid(i) == wanted)
            .ok_or(NOT_FOUND)?;
        if p.devices[index].lost_at_handle {
            return Err(GPU_IS_LOST);
        }
        unsafe { put(device, gpu_handle(index)) }
    })
}

fn same_bus_id(a: &str, b: &str) -> bool {
    match (profile::parse_bus_id(a), profile::parse_bus_id(b)) {
        (Some(x), Some(y)) => x == y && a.rsplit('.').next() == b.rsplit('.').next(),
        _ => false,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByPciBusId_v2(
    bus_id: *const c_char,
    device: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    with_profile(|p| {
        let wanted = unsafe { get_str(bus_id) }?;
        profile::parse_bus_id(wanted).ok_or(INVALID_ARGUMENT)?;
        let index = (0..p.devices.len())
            .find(|&i| same_bus_id(&p.devices[i].pci_bus_id(i), wanted))
            .ok_or(NOT_FOUND)?;
        if p.devices[index].lost_at_handle {
            return Err(GPU_IS_LOST);
        }
        unsafe { put(device, gpu_handle(index)) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByPciBusId(
    bus_id: *const c_char,
    device: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    unsafe { nvmlDeviceGetHandleByPciBusId_v2(bus_id, device) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetIndex(device: nvmlDevice_t, index: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetIndex", |i, _| unsafe { put(index, i as c_uint) })
}

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetName(device: nvmlDevice_t, name: *mut c_char, length: c_uint) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetName", |_, t| {
        let s = match &t {
            Target::Gpu { dev, .. } => dev.name.clone(),
            Target::Mig { dev, mig, .. } => format!("{} MIG {}", dev.name, mig.profile),
        };
        unsafe { put_str(name, length, &s) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetUUID(device: nvmlDevice_t, uuid: *mut c_char, length: c_uint) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetUUID", |_, t| {
        let s = match &t {
            Target::Gpu { index, dev } => dev.uuid(*index),
            Target::Mig { parent, index, mig, .. } => mig.uuid(*parent, *index),
        };
        unsafe { put_str(uuid, length, &s) }
    })
}

fn pci_info(index: usize, dev: &DeviceProfile) -> nvmlPciInfo_t {
    let bus_id = dev.pci_bus_id(index);
    let (domain, bus, device) = profile::parse_bus_id(&bus_id).unwrap_or((0, 0, 0));
    let mut info = nvmlPciInfo_t {
        busIdLegacy: [0; 16],
        domain,
        bus,
        device,
        pciDeviceId: dev.pci_device_id,
        pciSubSystemId: dev.pci_subsystem_id,
        busId: [0; 32],
    };
    let legacy = format!(
        "{:04X}:{bus:02X}:{device:02X}.{}",
        domain & 0xFFFF,
        bus_id.rsplit('.').next().unwrap_or("0")
    );
    for (dst, src) in info.busId.iter_mut().zip(bus_id.bytes().take(31)) {
        *dst = src as c_char;
    }
    for (dst, src) in info.busIdLegacy.iter_mut().zip(legacy.bytes().take(15)) {
        *dst = src as c_char;
    }
    info
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPciInfo_v3(device: nvmlDevice_t, pci: *mut nvmlPciInfo_t) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPciInfo_v3", |i, d| unsafe {
        put(pci, pci_info(i, d))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPciInfo_v2(device: nvmlDevice_t, pci: *mut nvmlPciInfo_t) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPciInfo_v2", |i, d| unsafe {
        put(pci, pci_info(i, d))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPciInfo(device: nvmlDevice_t, pci: *mut nvmlPciInfo_t) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPciInfo", |i, d| unsafe {
        put(pci, pci_info(i, d))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCudaComputeCapability(
    device: nvmlDevice_t,
    major: *mut c_int,
    minor: *mut c_int,
) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetCudaComputeCapability", |_, t| {
        if major.is_null() || minor.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        let [ma, mi] = t.dev().compute_capability;
        unsafe {
            put(major, ma)?;
            put(minor, mi)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

/// (total, reserved, used) in bytes.
fn memory(t: &Target<'_>) -> (u64, u64, u64) {
    match t {
        Target::Gpu { dev, .. } => (
            dev.memory_mib.total * MIB,
            dev.memory_mib.reserved * MIB,
            dev.used_mib() * MIB,
        ),
        Target::Mig { mig, .. } => (mig.memory_mib * MIB, 0, mig.used_mib.min(mig.memory_mib) * MIB),
    }
}

/// v1 semantics: `used` includes the driver-reserved memory, as on real NVML.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMemoryInfo(device: nvmlDevice_t, mem: *mut nvmlMemory_t) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetMemoryInfo", |_, t| {
        let (total, reserved, used) = memory(&t);
        let used = used + reserved;
        unsafe {
            put(
                mem,
                nvmlMemory_t {
                    total,
                    free: total.saturating_sub(used),
                    used,
                },
            )
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMemoryInfo_v2(device: nvmlDevice_t, mem: *mut nvmlMemory_v2_t) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetMemoryInfo_v2", |_, t| {
        if mem.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        let expected = (std::mem::size_of::<nvmlMemory_v2_t>() | (2 << 24)) as c_uint;
        // SAFETY: non-null, caller-provided nvmlMemory_v2_t.
        if unsafe { (*mem).version } != expected {
            return Err(ARGUMENT_VERSION_MISMATCH);
        }
        let (total, reserved, used) = memory(&t);
        let free = total.saturating_sub(reserved + used);
        unsafe {
            put(
                mem,
                nvmlMemory_v2_t {
                    version: expected,
                    total,
                    reserved,
                    free,
                    used,
                },
            )
        }
    })
}

// ---------------------------------------------------------------------------------------------
// MIG
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMigMode(
    device: nvmlDevice_t,
    current: *mut c_uint,
    pending: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetMigMode", |_, d| {
        let mig = d.mig.as_ref().ok_or(NOT_SUPPORTED)?;
        if current.is_null() || pending.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        unsafe {
            put(current, c_uint::from(mig.current))?;
            put(pending, c_uint::from(mig.pending))
        }
    })
}

/// The number of MIG instances in the profile while MIG is on, 0 while it is off.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMaxMigDeviceCount(device: nvmlDevice_t, count: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetMaxMigDeviceCount", |_, d| {
        let mig = d.mig.as_ref().ok_or(NOT_SUPPORTED)?;
        let n = if mig.current { mig.instances.len() } else { 0 };
        unsafe { put(count, n as c_uint) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMigDeviceHandleByIndex(
    device: nvmlDevice_t,
    index: c_uint,
    mig_device: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetMigDeviceHandleByIndex", |parent, d| {
        let mig = d.mig.as_ref().ok_or(NOT_SUPPORTED)?;
        if mig_device.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        if !mig.current || index as usize >= mig.instances.len() {
            return Err(NOT_FOUND);
        }
        unsafe { put(mig_device, mig_handle(parent, index as usize)) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceIsMigDeviceHandle(device: nvmlDevice_t, is_mig: *mut c_uint) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceIsMigDeviceHandle", |_, t| unsafe {
        put(is_mig, c_uint::from(matches!(t, Target::Mig { .. })))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetDeviceHandleFromMigDeviceHandle(
    mig_device: nvmlDevice_t,
    device: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    with_target(
        mig_device,
        "nvmlDeviceGetDeviceHandleFromMigDeviceHandle",
        |_, t| match t {
            Target::Mig { parent, .. } => unsafe { put(device, gpu_handle(parent)) },
            Target::Gpu { .. } => Err(INVALID_ARGUMENT),
        },
    )
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetGpuInstanceId(device: nvmlDevice_t, id: *mut c_uint) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetGpuInstanceId", |_, t| match t {
        Target::Mig { index, mig, .. } => unsafe { put(id, mig.gpu_instance_id(index)) },
        Target::Gpu { .. } => Err(NOT_SUPPORTED),
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetComputeInstanceId(device: nvmlDevice_t, id: *mut c_uint) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetComputeInstanceId", |_, t| match t {
        Target::Mig { mig, .. } => unsafe { put(id, mig.compute_instance_id) },
        Target::Gpu { .. } => Err(NOT_SUPPORTED),
    })
}

// ---------------------------------------------------------------------------------------------
// ECC, retired pages, remapped rows
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetEccMode(
    device: nvmlDevice_t,
    current: *mut nvmlEnableState_t,
    pending: *mut nvmlEnableState_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetEccMode", |_, d| {
        let ecc = d.ecc.as_ref().ok_or(NOT_SUPPORTED)?;
        if current.is_null() || pending.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        unsafe {
            put(current, enable_state(ecc.enabled))?;
            put(pending, enable_state(ecc.pending.unwrap_or(ecc.enabled)))
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetTotalEccErrors(
    device: nvmlDevice_t,
    error_type: nvmlMemoryErrorType_t,
    counter_type: nvmlEccCounterType_t,
    count: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetTotalEccErrors", |_, d| {
        let ecc = d.ecc.as_ref().ok_or(NOT_SUPPORTED)?;
        let uncorrected = match error_type {
            sys::nvmlMemoryErrorType_enum_NVML_MEMORY_ERROR_TYPE_CORRECTED => false,
            sys::nvmlMemoryErrorType_enum_NVML_MEMORY_ERROR_TYPE_UNCORRECTED => true,
            _ => return Err(INVALID_ARGUMENT),
        };
        let aggregate = match counter_type {
            sys::nvmlEccCounterType_enum_NVML_VOLATILE_ECC => false,
            sys::nvmlEccCounterType_enum_NVML_AGGREGATE_ECC => true,
            _ => return Err(INVALID_ARGUMENT),
        };
        let n = match (uncorrected, aggregate) {
            (true, true) => ecc.aggregate_uncorrectable,
            (true, false) => ecc.volatile_uncorrectable,
            (false, true) => ecc.aggregate_correctable,
            (false, false) => ecc.volatile_correctable,
        };
        unsafe { put(count, n) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetRetiredPagesPendingStatus(
    device: nvmlDevice_t,
    is_pending: *mut nvmlEnableState_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetRetiredPagesPendingStatus", |_, d| unsafe {
        put(is_pending, enable_state(d.retired_pages.pending))
    })
}

/// Synthetic (address, timestamp) pairs for the profile's retired-page counts.
fn retired_pages(d: &DeviceProfile, cause: nvmlPageRetirementCause_t) -> Result<Vec<(u64, u64)>, nvmlReturn_t> {
    let (n, base) = match cause {
        sys::nvmlPageRetirementCause_enum_NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS => {
            (d.retired_pages.single_bit, 0x0010_0000_u64)
        }
        sys::nvmlPageRetirementCause_enum_NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR => {
            (d.retired_pages.double_bit, 0x0020_0000_u64)
        }
        _ => return Err(INVALID_ARGUMENT),
    };
    // 2024-01-01T00:00:00Z plus an hour per page.
    Ok((0..u64::from(n))
        .map(|i| (base + i * 0x1000, 1_704_067_200 + i * 3600))
        .collect())
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetRetiredPages(
    device: nvmlDevice_t,
    cause: nvmlPageRetirementCause_t,
    page_count: *mut c_uint,
    addresses: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetRetiredPages", |_, d| {
        let pages: Vec<u64> = retired_pages(d, cause)?.into_iter().map(|(a, _)| a).collect();
        unsafe { put_list(page_count, addresses, &pages) }
    })
}

/// Like `nvmlDeviceGetRetiredPages`, plus a timestamp per page; `timestamps` may be null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetRetiredPages_v2(
    device: nvmlDevice_t,
    cause: nvmlPageRetirementCause_t,
    page_count: *mut c_uint,
    addresses: *mut c_ulonglong,
    timestamps: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetRetiredPages_v2", |_, d| {
        let pairs = retired_pages(d, cause)?;
        let pages: Vec<u64> = pairs.iter().map(|&(a, _)| a).collect();
        unsafe { put_list(page_count, addresses, &pages) }?;
        if !timestamps.is_null() && !pairs.is_empty() {
            let times: Vec<u64> = pairs.iter().map(|&(_, t)| t).collect();
            // SAFETY: put_list succeeded, so the caller's capacity covers every entry.
            unsafe { std::ptr::copy_nonoverlapping(times.as_ptr(), timestamps, times.len()) };
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetRemappedRows(
    device: nvmlDevice_t,
    corr_rows: *mut c_uint,
    unc_rows: *mut c_uint,
    is_pending: *mut c_uint,
    failure_occurred: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetRemappedRows", |_, d| {
        if corr_rows.is_null() || unc_rows.is_null() || is_pending.is_null() || failure_occurred.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        let r = &d.remapped_rows;
        unsafe {
            put(corr_rows, r.correctable)?;
            put(unc_rows, r.uncorrectable)?;
            put(is_pending, c_uint::from(r.pending))?;
            put(failure_occurred, c_uint::from(r.failed))
        }
    })
}

/// `nvmlDeviceGetGpuFabricInfo`: the GPU's place in an NVLink fabric (NVSwitch systems).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetGpuFabricInfo(
    device: nvmlDevice_t,
    info: *mut sys::nvmlGpuFabricInfo_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetGpuFabricInfo", |_, d| {
        let fabric = d.fabric.as_ref().ok_or(NOT_SUPPORTED)?;
        let mut cluster = [0u8; 16];
        for (i, byte) in cluster.iter_mut().enumerate() {
            *byte = fabric
                .cluster_uuid
                .get(i * 2..i * 2 + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
        }
        unsafe {
            put(
                info,
                sys::nvmlGpuFabricInfo_t {
                    clusterUuid: cluster,
                    status: fabric.status,
                    cliqueId: fabric.clique_id,
                    state: fabric.state.code(),
                },
            )
        }
    })
}

/// `nvmlDeviceGetCpuAffinity`: the profile's cpulist as a bitmask of `cpuSetSize` words.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCpuAffinity(
    device: nvmlDevice_t,
    size: c_uint,
    set: *mut std::os::raw::c_ulong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetCpuAffinity", |_, d| {
        let list = d.cpu_affinity.as_deref().ok_or(NOT_SUPPORTED)?;
        if set.is_null() {
            return Err(INVALID_ARGUMENT);
        }
        let bits = std::os::raw::c_ulong::BITS as usize;
        let mut words = vec![0 as std::os::raw::c_ulong; size as usize];
        for cpu in cpulist(list) {
            if let Some(word) = words.get_mut(cpu / bits) {
                *word |= 1 << (cpu % bits);
            }
        }
        // SAFETY: NVML's contract: `set` holds `size` words.
        unsafe { std::ptr::copy_nonoverlapping(words.as_ptr(), set, words.len()) };
        Ok(())
    })
}

/// `0-3,8,10-11` as CPU ids.
fn cpulist(list: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(low), Ok(high)) = (low.parse::<usize>(), high.parse::<usize>()) {
            out.extend(low..=high.min(low + 4096));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Events: XID errors from the profile, each due `after_ms` after its set was created
// ---------------------------------------------------------------------------------------------

/// An event set: when it was made, the GPUs registered with it, the events it has delivered.
struct EventSetState {
    created: std::time::Instant,
    registered: Vec<usize>,
    /// (GPU index, position in its `xid_events`).
    delivered: Vec<(usize, usize)>,
}

static EVENT_SETS: Mutex<Vec<Option<EventSetState>>> = Mutex::new(Vec::new());
const SET_TAG: usize = 0x5E7_0000;

fn event_sets() -> MutexGuard<'static, Vec<Option<EventSetState>>> {
    EVENT_SETS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn set_slot(set: sys::nvmlEventSet_t) -> Result<usize, nvmlReturn_t> {
    let addr = set.addr();
    if addr & !0xFFFF != SET_TAG {
        return Err(INVALID_ARGUMENT);
    }
    Ok(addr & 0xFFFF)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlEventSetCreate(set: *mut sys::nvmlEventSet_t) -> nvmlReturn_t {
    with_profile(|_| {
        let mut sets = event_sets();
        let state = EventSetState {
            created: std::time::Instant::now(),
            registered: Vec::new(),
            delivered: Vec::new(),
        };
        let slot = match sets.iter().position(Option::is_none) {
            Some(free) => free,
            None if sets.len() < 0xFFFF => {
                sets.push(None);
                sets.len() - 1
            }
            None => return Err(sys::nvmlReturn_enum_NVML_ERROR_MEMORY),
        };
        sets[slot] = Some(state);
        unsafe { put(set, std::ptr::without_provenance_mut(SET_TAG | slot)) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlEventSetFree(set: sys::nvmlEventSet_t) -> nvmlReturn_t {
    guard(|| {
        let slot = set_slot(set)?;
        let mut sets = event_sets();
        match sets.get_mut(slot) {
            Some(entry @ Some(_)) => {
                *entry = None;
                Ok(())
            }
            _ => Err(INVALID_ARGUMENT),
        }
    })
}

/// Registers a GPU; only XID errors (`nvmlEventTypeXidCriticalError`) are ever delivered.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceRegisterEvents(
    device: nvmlDevice_t,
    types: c_ulonglong,
    set: sys::nvmlEventSet_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceRegisterEvents", |index, _| {
        let slot = set_slot(set)?;
        let mut sets = event_sets();
        let state = sets.get_mut(slot).and_then(Option::as_mut).ok_or(INVALID_ARGUMENT)?;
        if types & c_ulonglong::from(sys::nvmlEventTypeXidCriticalError) != 0 && !state.registered.contains(&index) {
            state.registered.push(index);
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetSupportedEventTypes(
    device: nvmlDevice_t,
    types: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetSupportedEventTypes", |_, _| unsafe {
        put(types, c_ulonglong::from(sys::nvmlEventTypeXidCriticalError))
    })
}

/// The next due, undelivered XID of a set, or how long until one is due.
fn next_xid(set: sys::nvmlEventSet_t) -> Result<Result<(usize, u64), Option<u64>>, nvmlReturn_t> {
    let slot = set_slot(set)?;
    // The profile first, then the sets: the one order both locks are taken in.
    let xids: Vec<(usize, usize, u64, u64)> = {
        let st = state();
        let profile = st.profile.as_ref().ok_or(UNINITIALIZED)?;
        profile
            .devices
            .iter()
            .enumerate()
            .flat_map(|(d, dev)| {
                dev.xid_events
                    .iter()
                    .enumerate()
                    .map(move |(i, e)| (d, i, e.after_ms, e.xid))
            })
            .collect()
    };
    let mut sets = event_sets();
    let state = sets.get_mut(slot).and_then(Option::as_mut).ok_or(INVALID_ARGUMENT)?;
    let elapsed = u64::try_from(state.created.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut waiting = xids
        .into_iter()
        .filter(|(d, i, _, _)| state.registered.contains(d) && !state.delivered.contains(&(*d, *i)))
        .collect::<Vec<_>>();
    waiting.sort_by_key(|(d, _, after, _)| (*after, *d));
    match waiting.first() {
        Some(&(d, i, after, xid)) if after <= elapsed => {
            state.delivered.push((d, i));
            Ok(Ok((d, xid)))
        }
        Some(&(_, _, after, _)) => Ok(Err(Some(after - elapsed))),
        None => Ok(Err(None)),
    }
}

/// Delivers the next due XID, waiting up to `timeout_ms` for one (the lock is not held while
/// waiting).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlEventSetWait_v2(
    set: sys::nvmlEventSet_t,
    data: *mut sys::nvmlEventData_t,
    timeout_ms: c_uint,
) -> nvmlReturn_t {
    guard(|| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(u64::from(timeout_ms));
        loop {
            match next_xid(set)? {
                Ok((index, xid)) => {
                    return unsafe {
                        put(
                            data,
                            sys::nvmlEventData_t {
                                device: gpu_handle(index),
                                eventType: c_ulonglong::from(sys::nvmlEventTypeXidCriticalError),
                                eventData: xid,
                                gpuInstanceId: NO_INSTANCE,
                                computeInstanceId: NO_INSTANCE,
                            },
                        )
                    };
                }
                Err(due_in) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(sys::nvmlReturn_enum_NVML_ERROR_TIMEOUT);
                    }
                    let nap = due_in.map_or(left, |ms| std::time::Duration::from_millis(ms.max(1)).min(left));
                    std::thread::sleep(nap.min(std::time::Duration::from_millis(50)));
                }
            }
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlEventSetWait(
    set: sys::nvmlEventSet_t,
    data: *mut sys::nvmlEventData_t,
    timeout_ms: c_uint,
) -> nvmlReturn_t {
    unsafe { nvmlEventSetWait_v2(set, data, timeout_ms) }
}

/// `nvmlDeviceGetNumaNodeId`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetNumaNodeId(device: nvmlDevice_t, node: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetNumaNodeId", |_, d| unsafe {
        put(node, d.numa_node.ok_or(NOT_SUPPORTED)?)
    })
}

// ---------------------------------------------------------------------------------------------
// Modes, power, clocks, PCIe, thermals, utilization
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPersistenceMode(
    device: nvmlDevice_t,
    mode: *mut nvmlEnableState_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPersistenceMode", |_, d| unsafe {
        put(mode, enable_state(d.persistence_mode))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetComputeMode(device: nvmlDevice_t, mode: *mut nvmlComputeMode_t) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetComputeMode", |_, d| unsafe {
        put(mode, d.compute_mode.code())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetEnforcedPowerLimit(device: nvmlDevice_t, limit: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetEnforcedPowerLimit", |_, d| unsafe {
        put(limit, d.power_limit_mw.enforced)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementDefaultLimit(
    device: nvmlDevice_t,
    limit: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPowerManagementDefaultLimit", |_, d| unsafe {
        put(limit, d.power_limit_mw.default.unwrap_or(d.power_limit_mw.enforced))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementLimit(device: nvmlDevice_t, limit: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPowerManagementLimit", |_, d| unsafe {
        put(limit, d.power_limit_mw.current.unwrap_or(d.power_limit_mw.enforced))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPowerUsage(device: nvmlDevice_t, power: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetPowerUsage", |_, d| unsafe {
        put(power, d.power_usage_mw)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCurrentClocksThrottleReasons(
    device: nvmlDevice_t,
    reasons: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetCurrentClocksThrottleReasons", |_, d| unsafe {
        put(reasons, d.throttle_mask())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCurrentClocksEventReasons(
    device: nvmlDevice_t,
    reasons: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetCurrentClocksEventReasons", |_, d| unsafe {
        put(reasons, d.throttle_mask())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCurrPcieLinkGeneration(
    device: nvmlDevice_t,
    link_gen: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetCurrPcieLinkGeneration", |_, d| unsafe {
        put(link_gen, d.pcie.r#gen)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMaxPcieLinkGeneration(
    device: nvmlDevice_t,
    link_gen: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetMaxPcieLinkGeneration", |_, d| unsafe {
        put(link_gen, d.pcie.max_gen.unwrap_or(d.pcie.r#gen))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCurrPcieLinkWidth(device: nvmlDevice_t, width: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetCurrPcieLinkWidth", |_, d| unsafe {
        put(width, d.pcie.width)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMaxPcieLinkWidth(device: nvmlDevice_t, width: *mut c_uint) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetMaxPcieLinkWidth", |_, d| unsafe {
        put(width, d.pcie.max_width.unwrap_or(d.pcie.width))
    })
}

/// Only the GPU core sensor exists.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetTemperature(
    device: nvmlDevice_t,
    sensor: nvmlTemperatureSensors_t,
    temp: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetTemperature", |_, d| {
        if sensor != sys::nvmlTemperatureSensors_enum_NVML_TEMPERATURE_GPU {
            return Err(INVALID_ARGUMENT);
        }
        unsafe { put(temp, d.temperature_c) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetUtilizationRates(
    device: nvmlDevice_t,
    utilization: *mut nvmlUtilization_t,
) -> nvmlReturn_t {
    with_gpu(device, "nvmlDeviceGetUtilizationRates", |_, d| unsafe {
        put(
            utilization,
            nvmlUtilization_t {
                gpu: d.utilization.gpu,
                memory: d.utilization.memory,
            },
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// The profile's processes on this device (for a MIG device: those whose `gpu_instance_id`
/// matches it).
fn processes(t: &Target<'_>) -> Vec<nvmlProcessInfo_t> {
    let wanted_gi = match t {
        Target::Gpu { .. } => None,
        Target::Mig { index, mig, .. } => Some(mig.gpu_instance_id(*index)),
    };
    t.dev()
        .processes
        .iter()
        .filter(|p| wanted_gi.is_none() || p.gpu_instance_id == wanted_gi)
        .map(|p| nvmlProcessInfo_t {
            pid: p.pid,
            usedGpuMemory: p.used_mib * MIB,
            gpuInstanceId: p.gpu_instance_id.unwrap_or(NO_INSTANCE),
            computeInstanceId: p.compute_instance_id.unwrap_or(NO_INSTANCE),
        })
        .collect()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetComputeRunningProcesses_v3(
    device: nvmlDevice_t,
    count: *mut c_uint,
    infos: *mut nvmlProcessInfo_t,
) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetComputeRunningProcesses_v3", |_, t| unsafe {
        put_list(count, infos, &processes(&t))
    })
}

/// Same layout as v3 (`nvmlProcessInfo_v2_t` is `nvmlProcessInfo_t`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetComputeRunningProcesses_v2(
    device: nvmlDevice_t,
    count: *mut c_uint,
    infos: *mut nvmlProcessInfo_t,
) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetComputeRunningProcesses_v2", |_, t| unsafe {
        put_list(count, infos, &processes(&t))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetComputeRunningProcesses(
    device: nvmlDevice_t,
    count: *mut c_uint,
    infos: *mut nvmlProcessInfo_v1_t,
) -> nvmlReturn_t {
    with_target(device, "nvmlDeviceGetComputeRunningProcesses", |_, t| {
        let v1: Vec<nvmlProcessInfo_v1_t> = processes(&t)
            .into_iter()
            .map(|p| nvmlProcessInfo_v1_t {
                pid: p.pid,
                usedGpuMemory: p.usedGpuMemory,
            })
            .collect();
        unsafe { put_list(count, infos, &v1) }
    })
}
