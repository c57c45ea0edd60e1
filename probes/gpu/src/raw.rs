//! NVML calls that nvml-wrapper 0.13 does not offer, or offers only in a newer version.
//!
//! nvml-wrapper loads every symbol at `Nvml::init` and keeps each as a `Result` on the public
//! `NvmlLib` (`Nvml::lib()`); a missing one only fails when used. These few functions call such
//! symbols directly with the device's raw handle (`Device::handle()`): the v1 memory and
//! process queries older drivers have, remapped rows, the GPU-instance id, and the
//! clock-event mask with its unknown bits kept. Every C result goes through nvml-wrapper's own
//! `nvml_try`, and a missing symbol becomes `NvmlError::FailedToLoadSymbol` exactly as in
//! nvml-wrapper, so callers classify both paths the same way.

use std::fmt::Display;
use std::mem;
use std::os::raw::{c_uint, c_ulonglong};
use std::ptr;

use nvml_wrapper::error::{NvmlError, nvml_try};
use nvml_wrapper::{Device, Nvml};
use nvml_wrapper_sys::bindings::{
    nvmlMemory_t, nvmlProcessInfo_v1_t, nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE, nvmlReturn_enum_NVML_SUCCESS,
};

/// Extra room for processes that start between the count and the read (as nvml-wrapper does).
const PROCESS_HEADROOM: c_uint = 5;

/// A symbol from `NvmlLib`, or the error nvml-wrapper itself would give for a missing one.
fn loaded<T, E: Display>(symbol: &Result<T, E>) -> Result<&T, NvmlError> {
    symbol
        .as_ref()
        .map_err(|error| NvmlError::FailedToLoadSymbol(error.to_string()))
}

/// Framebuffer memory from `nvmlDeviceGetMemoryInfo` (v1: no "reserved").
pub(crate) struct MemoryV1 {
    pub(crate) total: u64,
    pub(crate) free: u64,
    pub(crate) used: u64,
}

/// `nvmlDeviceGetMemoryInfo`, for drivers older than `nvmlDeviceGetMemoryInfo_v2` (R510).
pub(crate) fn memory_info_v1(nvml: &Nvml, device: &Device) -> Result<MemoryV1, NvmlError> {
    let function = loaded(&nvml.lib().nvmlDeviceGetMemoryInfo)?;
    // SAFETY: the handle comes from this `Nvml`, which is alive; the struct is plain data that
    // NVML fills in.
    unsafe {
        let mut memory: nvmlMemory_t = mem::zeroed();
        nvml_try(function(device.handle(), &mut memory))?;
        Ok(MemoryV1 {
            total: memory.total,
            free: memory.free,
            used: memory.used,
        })
    }
}

/// A process from the v1 process query.
pub(crate) struct ProcessV1 {
    pub(crate) pid: u32,
    pub(crate) used_gpu_memory: u64,
}

/// `nvmlDeviceGetComputeRunningProcesses` (v1), for drivers older than `_v2`/`_v3`.
pub(crate) fn compute_processes_v1(nvml: &Nvml, device: &Device) -> Result<Vec<ProcessV1>, NvmlError> {
    let function = loaded(&nvml.lib().nvmlDeviceGetComputeRunningProcesses)?;
    // SAFETY: as above; `count` tells NVML the buffer's length, and we read back only the
    // `count` entries it says it wrote.
    unsafe {
        let handle = device.handle();
        let mut count: c_uint = 0;
        match function(handle, &mut count, ptr::null_mut()) {
            code if code == nvmlReturn_enum_NVML_SUCCESS => return Ok(Vec::new()),
            code if code == nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE => {}
            code => return Err(code.into()),
        }
        count = count.saturating_add(PROCESS_HEADROOM);
        let mut processes: Vec<nvmlProcessInfo_v1_t> = vec![mem::zeroed(); count as usize];
        nvml_try(function(handle, &mut count, processes.as_mut_ptr()))?;
        processes.truncate(count as usize);
        Ok(processes
            .into_iter()
            .map(|process| ProcessV1 {
                pid: process.pid,
                used_gpu_memory: process.usedGpuMemory,
            })
            .collect())
    }
}

/// Row-remapping counters, as NVML returns them.
pub(crate) struct RemappedRowsRaw {
    pub(crate) correctable: u32,
    pub(crate) uncorrectable: u32,
    pub(crate) pending: bool,
    pub(crate) failed: bool,
}

/// `nvmlDeviceGetRemappedRows` (not wrapped by nvml-wrapper 0.13).
pub(crate) fn remapped_rows(nvml: &Nvml, device: &Device) -> Result<RemappedRowsRaw, NvmlError> {
    let function = loaded(&nvml.lib().nvmlDeviceGetRemappedRows)?;
    // SAFETY: as above; four plain out-parameters.
    unsafe {
        let (mut correctable, mut uncorrectable, mut pending, mut failed): (c_uint, c_uint, c_uint, c_uint) =
            (0, 0, 0, 0);
        nvml_try(function(
            device.handle(),
            &mut correctable,
            &mut uncorrectable,
            &mut pending,
            &mut failed,
        ))?;
        Ok(RemappedRowsRaw {
            correctable,
            uncorrectable,
            pending: pending != 0,
            failed: failed != 0,
        })
    }
}

/// `nvmlDeviceGetGpuInstanceId` of a MIG device handle (not wrapped by nvml-wrapper 0.13).
pub(crate) fn gpu_instance_id(nvml: &Nvml, device: &Device) -> Result<u32, NvmlError> {
    let function = loaded(&nvml.lib().nvmlDeviceGetGpuInstanceId)?;
    // SAFETY: as above; one plain out-parameter.
    unsafe {
        let mut id: c_uint = 0;
        nvml_try(function(device.handle(), &mut id))?;
        Ok(id)
    }
}

/// The current clock-event bitmask, all bits kept (nvml-wrapper's `current_throttle_reasons`
/// drops unknown bits). Asks `nvmlDeviceGetCurrentClocksEventReasons` (R535 and later), then the
/// older name `nvmlDeviceGetCurrentClocksThrottleReasons` when the driver lacks it.
pub(crate) fn clock_event_reasons(nvml: &Nvml, device: &Device) -> Result<u64, NvmlError> {
    let lib = nvml.lib();
    let function = match (
        &lib.nvmlDeviceGetCurrentClocksEventReasons,
        &lib.nvmlDeviceGetCurrentClocksThrottleReasons,
    ) {
        (Ok(function), _) | (Err(_), Ok(function)) => function,
        (Err(newer), Err(older)) => {
            return Err(NvmlError::FailedToLoadSymbol(format!("{newer}; {older}")));
        }
    };
    // SAFETY: as above; one plain out-parameter.
    unsafe {
        let mut mask: c_ulonglong = 0;
        nvml_try(function(device.handle(), &mut mask))?;
        Ok(mask)
    }
}

/// The fabric registration as NVML returns it.
pub(crate) struct FabricRaw {
    pub(crate) state: u8,
    pub(crate) status: u32,
    pub(crate) clique_id: u32,
    pub(crate) cluster_uuid: [u8; 16],
}

/// `nvmlDeviceGetGpuFabricInfo` (R535 and later; not wrapped by nvml-wrapper 0.13).
pub(crate) fn fabric_info(nvml: &Nvml, device: &Device) -> Result<FabricRaw, NvmlError> {
    let function = loaded(&nvml.lib().nvmlDeviceGetGpuFabricInfo)?;
    // SAFETY: as above; one plain struct NVML fills in.
    unsafe {
        let mut info: nvml_wrapper_sys::bindings::nvmlGpuFabricInfo_t = mem::zeroed();
        nvml_try(function(device.handle(), &mut info))?;
        Ok(FabricRaw {
            state: info.state,
            status: info.status,
            clique_id: info.cliqueId,
            cluster_uuid: info.clusterUuid,
        })
    }
}

/// `nvmlDeviceRegisterEvents` for XID errors, leaving the set as it was when the GPU refuses
/// (nvml-wrapper's `register_events` frees the set, and the GPUs already registered with it).
pub(crate) fn register_xid_events(
    nvml: &Nvml,
    device: &Device,
    set: &nvml_wrapper::EventSet<'_>,
) -> Result<(), NvmlError> {
    let function = loaded(&nvml.lib().nvmlDeviceRegisterEvents)?;
    // SAFETY: both handles come from this `Nvml`, which is alive; the set is not freed here.
    unsafe {
        nvml_try(function(
            device.handle(),
            c_ulonglong::from(nvml_wrapper_sys::bindings::nvmlEventTypeXidCriticalError),
            set.handle(),
        ))
    }
}
