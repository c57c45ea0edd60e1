//! A small dynamic binding to AMD SMI (`libamd_smi.so`), loaded at run time.
//!
//! Why our own, and not a crate. `amd_smi_lib_sys`/`amd_smi_lib_rs` run bindgen on a vendored
//! header and link `-lamd_smi` at build time: building would need ROCm, and a node without it
//! could not run the binary at all. AMD's `amdsmi` 0.1 (the Rust interface in the ROCm
//! repository) loads the library at run time, which is what we need, but binds the struct
//! layouts of the one `amdsmi.h` it was generated from, while AMD SMI's structs change with
//! every ROCm release (`amdsmi_asic_info_t` is 448 bytes in ROCm 6.2, 456 in 6.3, 896 from 6.4;
//! `amdsmi_proc_info_t` grows from 224 to 704 bytes; `amdsmi_version_t` drops its `year` in
//! 7.0): against another release it would hand the library a struct of the wrong size. It is
//! also not among the crates this build can fetch. So this binding, about twenty functions:
//!
//! * resolves each symbol on its own (a missing one makes only its facts unsupported);
//! * reads the library's version first and picks the layouts of that generation
//!   ([`Layouts`]); a library newer than the newest known generation is read with the newest
//!   layouts only where they are known to hold, and says so;
//! * hands every struct whose size varies a zeroed buffer far larger than any known version of
//!   it, then reads the fields at that generation's offsets, so a library that writes a longer
//!   struct than we expect writes into our spare room, never past it. Only the process list, an
//!   array, needs the exact element size, and is refused for an unknown generation.
//!
//! Layouts are from AMD SMI's `amdsmi.h` of each ROCm release; `probes/fake-amdsmi` mirrors them as
//! `repr(C)` structs with their sizes and offsets asserted, so a wrong offset here fails its tests.

use std::ffi::{CStr, c_char, c_uint, c_void};
use std::fmt;
use std::path::Path;

use libloading::Library;

use crate::observed::Failure;

pub(crate) const SUCCESS: u32 = 0;
pub(crate) const NOT_SUPPORTED: u32 = 2;
pub(crate) const NO_PERM: u32 = 10;
pub(crate) const OUT_OF_RESOURCES: u32 = 15;
pub(crate) const DRIVER_NOT_LOADED: u32 = 34;

/// `AMDSMI_INIT_AMD_GPUS`.
pub(crate) const INIT_AMD_GPUS: u64 = 1 << 1;
/// `AMDSMI_PROCESSOR_TYPE_AMD_GPU`.
pub(crate) const PROCESSOR_AMD_GPU: u32 = 1;
/// `AMDSMI_TEMPERATURE_TYPE_EDGE`, `_HOTSPOT`, `_VRAM`; `AMDSMI_TEMP_CURRENT`.
pub(crate) const TEMP_EDGE: u32 = 0;
pub(crate) const TEMP_HOTSPOT: u32 = 1;
pub(crate) const TEMP_VRAM: u32 = 2;
pub(crate) const TEMP_CURRENT: u32 = 0;
type Handle = *mut c_void;

/// An `amdsmi_status_t`, with the library's words for it when it has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status(pub(crate) u32);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "AMDSMI_STATUS_SUCCESS",
            1 => "AMDSMI_STATUS_INVAL",
            2 => "AMDSMI_STATUS_NOT_SUPPORTED",
            3 => "AMDSMI_STATUS_NOT_YET_IMPLEMENTED",
            6 => "AMDSMI_STATUS_DRM_ERROR",
            7 => "AMDSMI_STATUS_API_FAILED",
            8 => "AMDSMI_STATUS_TIMEOUT",
            10 => "AMDSMI_STATUS_NO_PERM",
            12 => "AMDSMI_STATUS_IO",
            15 => "AMDSMI_STATUS_OUT_OF_RESOURCES",
            18 => "AMDSMI_STATUS_INIT_ERROR",
            30 => "AMDSMI_STATUS_BUSY",
            31 => "AMDSMI_STATUS_NOT_FOUND",
            32 => "AMDSMI_STATUS_NOT_INIT",
            34 => "AMDSMI_STATUS_DRIVER_NOT_LOADED",
            41 => "AMDSMI_STATUS_INSUFFICIENT_SIZE",
            _ => "",
        };
        if name.is_empty() {
            write!(f, "AMD SMI status {}", self.0)
        } else {
            write!(f, "{name} ({})", self.0)
        }
    }
}

/// Which generation of struct layouts a library version means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layouts {
    /// Library 24.6 (ROCm 6.2): no compute units or graphics target in `asic_info`.
    Rocm62,
    /// 24.7 (ROCm 6.3).
    Rocm63,
    /// 25.x (ROCm 6.4): strings of 256.
    Rocm64,
    /// 26.0 to 26.2 (ROCm 7.0 to 7.2): no `year` in the version.
    Rocm7,
    /// Newer than 26.2: ROCm 7's layouts, where they are known to hold.
    Rocm7Assumed,
}

impl Layouts {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Layouts::Rocm62 => "rocm-6.2",
            Layouts::Rocm63 => "rocm-6.3",
            Layouts::Rocm64 => "rocm-6.4",
            Layouts::Rocm7 => "rocm-7",
            Layouts::Rocm7Assumed => "rocm-7-assumed",
        }
    }

    /// From the first words of `amdsmi_version_t`: `{year, major, minor, release}` before 26,
    /// `{major, minor, release}` from 26 (ROCm 7 dropped the year).
    pub(crate) fn of_version(words: [u32; 4]) -> Result<(String, Layouts), String> {
        let [first, second, third, fourth] = words;
        if first >= 26 {
            let version = format!("{first}.{second}.{third}");
            let layouts = if first == 26 && second <= 2 {
                Layouts::Rocm7
            } else {
                Layouts::Rocm7Assumed
            };
            return Ok((version, layouts));
        }
        // 6.x: the year, then major.minor.release (6.4.0 reports 25.25.3.0: year 25, 25.3.0).
        let version = match first {
            25 => format!("{second}.{third}.{fourth}"),
            _ => format!("{first}.{second}.{third}"),
        };
        match (first, second) {
            (25, _) => Ok((version, Layouts::Rocm64)),
            (24, 7..) => Ok((version, Layouts::Rocm63)),
            (24, 6) => Ok((version, Layouts::Rocm62)),
            _ => Err(format!(
                "AMD SMI {version} is older than this version reads (24.6, ROCm 6.2): update ROCm"
            )),
        }
    }

    /// `amdsmi_asic_info_t`: offsets of market_name, vendor_id, device_id, rev_id, compute
    /// units and graphics target (the last two absent in 24.6).
    fn asic(self) -> AsicLayout {
        match self {
            Layouts::Rocm62 => AsicLayout {
                vendor_id: 256,
                device_id: 328,
                rev_id: 336,
                compute_units: None,
                gfx: None,
            },
            Layouts::Rocm63 => AsicLayout {
                vendor_id: 256,
                device_id: 328,
                rev_id: 336,
                compute_units: Some(376),
                gfx: Some(384),
            },
            Layouts::Rocm64 | Layouts::Rocm7 | Layouts::Rocm7Assumed => AsicLayout {
                vendor_id: 256,
                device_id: 520,
                rev_id: 528,
                compute_units: Some(792),
                gfx: Some(800),
            },
        }
    }

    /// `amdsmi_proc_info_t`: element size, and offsets of pid and the VRAM it holds (bytes).
    fn process(self) -> Option<ProcessLayout> {
        match self {
            Layouts::Rocm62 | Layouts::Rocm63 => Some(ProcessLayout {
                size: 224,
                name_len: 32,
                pid: 32,
                vram: 128,
            }),
            Layouts::Rocm64 | Layouts::Rocm7 => Some(ProcessLayout {
                size: 704,
                name_len: 256,
                pid: 256,
                vram: 352,
            }),
            // An array: a wrong element size would read garbage, so a newer library is not
            // asked until its layout is known.
            Layouts::Rocm7Assumed => None,
        }
    }

    /// `amdsmi_driver_info_t`'s string length (its first member is the version).
    fn driver_string(self) -> usize {
        match self {
            Layouts::Rocm62 | Layouts::Rocm63 => 64,
            _ => 256,
        }
    }
}

struct AsicLayout {
    vendor_id: usize,
    device_id: usize,
    rev_id: usize,
    compute_units: Option<usize>,
    gfx: Option<usize>,
}

struct ProcessLayout {
    size: usize,
    name_len: usize,
    pid: usize,
    vram: usize,
}

/// Room handed to the library for a struct whose size varies by version: more than twice the
/// largest known (`amdsmi_gpu_metrics_t` is 4,544 bytes in ROCm 7.1).
const ROOM: usize = 16 * 1024;

/// A zeroed, 8-aligned buffer of `bytes`.
struct Buffer(Vec<u64>);

impl Buffer {
    fn new(bytes: usize) -> Self {
        Buffer(vec![0u64; bytes.div_ceil(8)])
    }

    fn ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr().cast()
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: a Vec<u64>'s storage is that many initialized bytes, u8 has no alignment.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast(), self.0.len() * 8) }
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = self.bytes();
        b.get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u32::from_ne_bytes)
    }

    fn u64_at(&self, at: usize) -> u64 {
        let b = self.bytes();
        b.get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    }

    /// A NUL-terminated string in a `len`-byte field at `at`.
    fn str_at(&self, at: usize, len: usize) -> String {
        let b = self.bytes();
        let field = b.get(at..(at + len).min(b.len())).unwrap_or_default();
        let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).trim().to_string()
    }
}

macro_rules! symbols {
    ($($name:ident ( $($arg:ty),* );)*) => {
        /// Every function this binding calls, each resolved on its own.
        #[allow(non_snake_case)]
        struct Symbols {
            $($name: Option<unsafe extern "C" fn($($arg),*) -> u32>,)*
        }

        impl Symbols {
            fn load(lib: &Library) -> Symbols {
                Symbols {
                    // SAFETY: each symbol is declared with the C signature of AMD SMI's header.
                    $($name: unsafe { lib.get::<unsafe extern "C" fn($($arg),*) -> u32>(concat!(stringify!($name), "\0").as_bytes()) }
                        .ok()
                        .map(|symbol| *symbol),)*
                }
            }
        }
    };
}

symbols! {
    amdsmi_init(u64);
    amdsmi_shut_down();
    amdsmi_status_code_to_string(u32, *mut *const c_char);
    amdsmi_get_lib_version(*mut u8);
    amdsmi_get_socket_handles(*mut u32, *mut Handle);
    amdsmi_get_processor_handles(Handle, *mut u32, *mut Handle);
    amdsmi_get_processor_type(Handle, *mut u32);
    amdsmi_get_gpu_asic_info(Handle, *mut u8);
    amdsmi_get_gpu_device_uuid(Handle, *mut c_uint, *mut c_char);
    amdsmi_get_gpu_device_bdf(Handle, *mut u64);
    amdsmi_get_gpu_vram_usage(Handle, *mut u8);
    amdsmi_get_gpu_compute_partition(Handle, *mut c_char, u32);
    amdsmi_get_gpu_memory_partition(Handle, *mut c_char, u32);
    amdsmi_get_gpu_total_ecc_count(Handle, *mut u8);
    amdsmi_get_power_cap_info(Handle, u32, *mut u8);
    amdsmi_get_gpu_metrics_info(Handle, *mut u8);
    amdsmi_get_temp_metric(Handle, u32, u32, *mut i64);
    amdsmi_get_gpu_activity(Handle, *mut u8);
    amdsmi_get_gpu_process_list(Handle, *mut u32, *mut u8);
    amdsmi_get_gpu_driver_info(Handle, *mut u8);
}

/// A loaded, initialized AMD SMI. Shut down (once) when dropped.
pub(crate) struct AmdSmi {
    symbols: Symbols,
    pub(crate) layouts: Layouts,
    pub(crate) version: String,
    initialized: bool,
    // Last: dropped after the shutdown above has used its symbols.
    _lib: Library,
}

/// Why AMD SMI cannot be used at all.
pub(crate) enum Unusable {
    NoLibrary(String),
    NotAmdSmi(String),
    Init(Status),
    Version(String),
}

impl Drop for AmdSmi {
    fn drop(&mut self) {
        if self.initialized
            && let Some(shut_down) = self.symbols.amdsmi_shut_down
        {
            // SAFETY: initialized by this value, shut down once.
            let _ = unsafe { shut_down() };
        }
    }
}

impl AmdSmi {
    /// Loads the library at `path`, reads its version and initializes it for AMD GPUs.
    pub(crate) fn open(path: &std::ffi::OsStr) -> Result<AmdSmi, Unusable> {
        // SAFETY: loading a shared library runs its initializers; the user named it (or the
        // loader found the system's libamd_smi), as with any library a program links.
        let lib = unsafe { Library::new(path) }.map_err(|e| Unusable::NoLibrary(e.to_string()))?;
        let symbols = Symbols::load(&lib);
        let (Some(init), Some(get_version)) = (symbols.amdsmi_init, symbols.amdsmi_get_lib_version) else {
            return Err(Unusable::NotAmdSmi(format!(
                "{} has no amdsmi_init or amdsmi_get_lib_version: it is not AMD SMI, or one older than ROCm 6.2",
                Path::new(path).display()
            )));
        };
        // SAFETY: the flags are AMD SMI's.
        let status = unsafe { init(INIT_AMD_GPUS) };
        if status != SUCCESS {
            return Err(Unusable::Init(Status(status)));
        }
        let mut smi = AmdSmi {
            symbols,
            layouts: Layouts::Rocm7,
            version: String::new(),
            initialized: true,
            _lib: lib,
        };
        let mut version = Buffer::new(ROOM);
        // SAFETY: the buffer is larger than any amdsmi_version_t (24 bytes).
        let status = unsafe { get_version(version.ptr()) };
        if status != SUCCESS {
            return Err(Unusable::Version(format!(
                "amdsmi_get_lib_version failed: {}",
                smi.status(Status(status))
            )));
        }
        let words = [
            version.u32_at(0),
            version.u32_at(4),
            version.u32_at(8),
            version.u32_at(12),
        ];
        let (text, layouts) = Layouts::of_version(words).map_err(Unusable::Version)?;
        smi.version = text;
        smi.layouts = layouts;
        Ok(smi)
    }

    /// The library's words for a status, with its name and number.
    pub(crate) fn status(&self, status: Status) -> String {
        let mut text: *const c_char = std::ptr::null();
        let words = self.symbols.amdsmi_status_code_to_string.and_then(|f| {
            // SAFETY: the library writes a pointer to a static string.
            let ok = unsafe { f(status.0, &mut text) } == SUCCESS && !text.is_null();
            // SAFETY: non-null, NUL-terminated, owned by the library.
            ok.then(|| unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
        });
        match words {
            Some(words) if !words.is_empty() => format!("{words} ({status})"),
            _ => status.to_string(),
        }
    }

    /// `function` answered `status`, classified: unsupported, refused, or failed in the
    /// library's own words.
    fn fail(&self, function: &str, status: u32) -> Failure {
        match status {
            NOT_SUPPORTED => Failure::unsupported(format!(
                "this GPU or driver does not support {function} (AMDSMI_STATUS_NOT_SUPPORTED)"
            )),
            NO_PERM => Failure::error(format!(
                "{function}: permission denied (AMDSMI_STATUS_NO_PERM): run as root, or as a member of the video and render groups"
            )),
            _ => Failure::error(format!("{function} failed: {}", self.status(Status(status)))),
        }
    }

    /// `function`'s symbol, or why it cannot be called.
    fn symbol<F: Copy>(symbol: Option<F>, function: &str) -> Result<F, Failure> {
        symbol.ok_or_else(|| {
            Failure::unsupported(format!(
                "the AMD SMI library has no {function}: it is older than this question needs"
            ))
        })
    }

    fn check(&self, function: &str, status: u32) -> Result<(), Failure> {
        if status == SUCCESS {
            Ok(())
        } else {
            Err(self.fail(function, status))
        }
    }

    /// Every AMD GPU: sockets in order, their processors in order.
    pub(crate) fn gpus(&self) -> Result<Vec<Gpu>, Failure> {
        let sockets = Self::symbol(self.symbols.amdsmi_get_socket_handles, "amdsmi_get_socket_handles")?;
        let processors = Self::symbol(
            self.symbols.amdsmi_get_processor_handles,
            "amdsmi_get_processor_handles",
        )?;
        let socket_handles = self.list("amdsmi_get_socket_handles", |count, out| {
            // SAFETY: `out` holds `*count` handles or is null with `*count` 0.
            unsafe { sockets(count, out) }
        })?;
        let mut gpus = Vec::new();
        for socket in socket_handles {
            let handles = self.list("amdsmi_get_processor_handles", |count, out| {
                // SAFETY: as above; the socket handle came from the library.
                unsafe { processors(socket, count, out) }
            })?;
            for handle in handles {
                let is_gpu = match self.symbols.amdsmi_get_processor_type {
                    Some(kind) => {
                        let mut t = 0u32;
                        // SAFETY: one u32 out.
                        let status = unsafe { kind(handle, &mut t) };
                        status != SUCCESS || t == PROCESSOR_AMD_GPU
                    }
                    None => true,
                };
                if is_gpu {
                    gpus.push(Gpu(handle));
                }
            }
        }
        Ok(gpus)
    }

    /// The count-then-fill protocol of the handle getters, bounded.
    fn list(&self, function: &str, call: impl Fn(*mut u32, *mut Handle) -> u32) -> Result<Vec<Handle>, Failure> {
        const MAX: u32 = 1024;
        let mut count = 0u32;
        let status = call(&mut count, std::ptr::null_mut());
        self.check(function, status)?;
        let mut handles: Vec<Handle> = vec![std::ptr::null_mut(); count.min(MAX) as usize];
        let mut filled = count.min(MAX);
        let status = call(&mut filled, handles.as_mut_ptr());
        self.check(function, status)?;
        handles.truncate(filled.min(count.min(MAX)) as usize);
        Ok(handles)
    }

    pub(crate) fn asic(&self, gpu: Gpu) -> Result<Asic, Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_asic_info, "amdsmi_get_gpu_asic_info")?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: ROOM is larger than any amdsmi_asic_info_t (896 bytes).
        self.check("amdsmi_get_gpu_asic_info", unsafe { f(gpu.0, buf.ptr()) })?;
        let layout = self.layouts.asic();
        let all_ones_u32 = |v: u32| (v != u32::MAX).then_some(v);
        Ok(Asic {
            market_name: buf.str_at(0, 256),
            vendor_id: buf.u32_at(layout.vendor_id),
            device_id: buf.u64_at(layout.device_id),
            rev_id: buf.u32_at(layout.rev_id),
            compute_units: layout.compute_units.and_then(|at| all_ones_u32(buf.u32_at(at))),
            gfx: layout.gfx.map(|at| buf.u64_at(at)).filter(|&v| v != u64::MAX && v != 0),
        })
    }

    pub(crate) fn uuid(&self, gpu: Gpu) -> Result<String, Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_device_uuid, "amdsmi_get_gpu_device_uuid")?;
        // At least AMDSMI_GPU_UUID_SIZE (38) bytes, as the library requires.
        let mut text = [0 as c_char; 128];
        let mut len = text.len() as c_uint;
        // SAFETY: `len` says how many bytes `text` holds.
        self.check("amdsmi_get_gpu_device_uuid", unsafe {
            f(gpu.0, &mut len, text.as_mut_ptr())
        })?;
        Ok(c_text(&text))
    }

    /// The PCI address, from `amdsmi_bdf_t`'s bits: function 3, device 5, bus 8, domain 48.
    pub(crate) fn bdf(&self, gpu: Gpu) -> Result<String, Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_device_bdf, "amdsmi_get_gpu_device_bdf")?;
        let mut bits = 0u64;
        // SAFETY: one 8-byte union out.
        self.check("amdsmi_get_gpu_device_bdf", unsafe { f(gpu.0, &mut bits) })?;
        Ok(format!(
            "{:04x}:{:02x}:{:02x}.{:x}",
            bits >> 16,
            (bits >> 8) & 0xff,
            (bits >> 3) & 0x1f,
            bits & 0x7
        ))
    }

    /// VRAM total and used, MiB.
    pub(crate) fn vram(&self, gpu: Gpu) -> Result<(u64, u64), Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_vram_usage, "amdsmi_get_gpu_vram_usage")?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: amdsmi_vram_usage_t is 16 bytes.
        self.check("amdsmi_get_gpu_vram_usage", unsafe { f(gpu.0, buf.ptr()) })?;
        Ok((u64::from(buf.u32_at(0)), u64::from(buf.u32_at(4))))
    }

    /// A partition mode's name (`SPX`, `NPS1`).
    pub(crate) fn partition(&self, gpu: Gpu, memory: bool) -> Result<String, Failure> {
        let (symbol, function) = if memory {
            (
                self.symbols.amdsmi_get_gpu_memory_partition,
                "amdsmi_get_gpu_memory_partition",
            )
        } else {
            (
                self.symbols.amdsmi_get_gpu_compute_partition,
                "amdsmi_get_gpu_compute_partition",
            )
        };
        let f = Self::symbol(symbol, function)?;
        let mut text = [0 as c_char; 64];
        // SAFETY: the length passed is the buffer's.
        self.check(function, unsafe { f(gpu.0, text.as_mut_ptr(), text.len() as u32) })?;
        Ok(c_text(&text))
    }

    /// Correctable, uncorrectable and deferred RAS errors.
    pub(crate) fn ecc(&self, gpu: Gpu) -> Result<[u64; 3], Failure> {
        let f = Self::symbol(
            self.symbols.amdsmi_get_gpu_total_ecc_count,
            "amdsmi_get_gpu_total_ecc_count",
        )?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: amdsmi_error_count_t is 64 bytes.
        self.check("amdsmi_get_gpu_total_ecc_count", unsafe { f(gpu.0, buf.ptr()) })?;
        Ok([buf.u64_at(0), buf.u64_at(8), buf.u64_at(16)])
    }

    /// Power cap, default cap and maximum cap, microwatts.
    pub(crate) fn power_cap(&self, gpu: Gpu) -> Result<[u64; 3], Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_power_cap_info, "amdsmi_get_power_cap_info")?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: amdsmi_power_cap_info_t is 64 bytes; sensor 0.
        self.check("amdsmi_get_power_cap_info", unsafe { f(gpu.0, 0, buf.ptr()) })?;
        Ok([buf.u64_at(0), buf.u64_at(8), buf.u64_at(32)])
    }

    /// `throttle_status` (offset 68) and `indep_throttle_status` (112) of the GPU metrics
    /// table, whose offsets hold in every version (versions only append).
    pub(crate) fn throttle(&self, gpu: Gpu) -> Result<(u32, u64), Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_metrics_info, "amdsmi_get_gpu_metrics_info")?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: ROOM is more than three times the largest known table (4,544 bytes).
        self.check("amdsmi_get_gpu_metrics_info", unsafe { f(gpu.0, buf.ptr()) })?;
        Ok((buf.u32_at(68), buf.u64_at(112)))
    }

    /// One sensor's current temperature, °C.
    pub(crate) fn temperature(&self, gpu: Gpu, sensor: u32) -> Result<i64, Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_temp_metric, "amdsmi_get_temp_metric")?;
        let mut value = 0i64;
        // SAFETY: one i64 out.
        self.check("amdsmi_get_temp_metric", unsafe {
            f(gpu.0, sensor, TEMP_CURRENT, &mut value)
        })?;
        Ok(value)
    }

    /// GFX, memory controller and multimedia activity, percent.
    pub(crate) fn activity(&self, gpu: Gpu) -> Result<[u32; 3], Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_activity, "amdsmi_get_gpu_activity")?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: amdsmi_engine_usage_t is 64 bytes.
        self.check("amdsmi_get_gpu_activity", unsafe { f(gpu.0, buf.ptr()) })?;
        Ok([buf.u32_at(0), buf.u32_at(4), buf.u32_at(8)])
    }

    /// The processes using the GPU: pid, name, VRAM bytes.
    pub(crate) fn processes(&self, gpu: Gpu) -> Result<Vec<(u32, String, u64)>, Failure> {
        const MAX: u32 = 4096;
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_process_list, "amdsmi_get_gpu_process_list")?;
        let Some(layout) = self.layouts.process() else {
            return Err(Failure::unsupported(format!(
                "AMD SMI {} is newer than this version knows: its process list's layout is not known",
                self.version
            )));
        };
        let mut count = 0u32;
        // SAFETY: a null list with a count of 0 asks for the count.
        let status = unsafe { f(gpu.0, &mut count, std::ptr::null_mut()) };
        if status != SUCCESS && status != OUT_OF_RESOURCES {
            return Err(self.fail("amdsmi_get_gpu_process_list", status));
        }
        // Room for processes that start between the two calls.
        let capacity = count.saturating_add(8).min(MAX);
        let mut buf = Buffer::new(capacity as usize * layout.size);
        let mut filled = capacity;
        // SAFETY: the buffer holds `capacity` elements of this generation's size.
        let status = unsafe { f(gpu.0, &mut filled, buf.ptr()) };
        if status != SUCCESS && status != OUT_OF_RESOURCES {
            return Err(self.fail("amdsmi_get_gpu_process_list", status));
        }
        Ok((0..filled.min(capacity) as usize)
            .map(|i| {
                let at = i * layout.size;
                (
                    buf.u32_at(at + layout.pid),
                    buf.str_at(at, layout.name_len),
                    buf.u64_at(at + layout.vram),
                )
            })
            .collect())
    }

    /// The amdgpu driver's version.
    pub(crate) fn driver_version(&self, gpu: Gpu) -> Result<String, Failure> {
        let f = Self::symbol(self.symbols.amdsmi_get_gpu_driver_info, "amdsmi_get_gpu_driver_info")?;
        let mut buf = Buffer::new(ROOM);
        // SAFETY: amdsmi_driver_info_t is at most 768 bytes.
        self.check("amdsmi_get_gpu_driver_info", unsafe { f(gpu.0, buf.ptr()) })?;
        Ok(buf.str_at(0, self.layouts.driver_string()))
    }
}

/// A processor handle of a GPU.
#[derive(Clone, Copy)]
pub(crate) struct Gpu(Handle);

/// What `amdsmi_get_gpu_asic_info` says.
pub(crate) struct Asic {
    pub(crate) market_name: String,
    pub(crate) vendor_id: u32,
    pub(crate) device_id: u64,
    pub(crate) rev_id: u32,
    pub(crate) compute_units: Option<u32>,
    /// The graphics target's hex digits: 0x942 is gfx942.
    pub(crate) gfx: Option<u64>,
}

fn c_text(text: &[c_char]) -> String {
    let bytes: Vec<u8> = text.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_pick_their_layouts() {
        let of = |w| Layouts::of_version(w).map(|(v, l)| (v, l.name()));
        assert_eq!(of([26, 2, 1, 0]), Ok(("26.2.1".into(), "rocm-7")));
        assert_eq!(of([26, 3, 0, 0]), Ok(("26.3.0".into(), "rocm-7-assumed")));
        assert_eq!(of([27, 0, 0, 0]), Ok(("27.0.0".into(), "rocm-7-assumed")));
        assert_eq!(of([25, 25, 3, 0]), Ok(("25.3.0".into(), "rocm-6.4")));
        assert_eq!(of([24, 7, 1, 0]), Ok(("24.7.1".into(), "rocm-6.3")));
        assert_eq!(of([24, 6, 1, 0]), Ok(("24.6.1".into(), "rocm-6.2")));
        assert!(of([24, 5, 1, 0]).is_err_and(|e| e.contains("older than")));
        assert!(of([23, 1, 1, 0]).is_err());
    }

    #[test]
    fn statuses_have_names() {
        assert_eq!(Status(2).to_string(), "AMDSMI_STATUS_NOT_SUPPORTED (2)");
        assert_eq!(Status(9999).to_string(), "AMD SMI status 9999");
    }
}
