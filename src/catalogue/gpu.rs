//! The GPU catalogue: one row per NVIDIA datacenter/workstation product, and
//! the rules for matching a spec's declared `type` against what NVML reports.
//!
//! A spec declares `gpu.type: a100-80gb`; a node reports
//! `NVIDIA A100 80GB PCIe` with 81920 MiB. Both the spec lints (is this a
//! type we know?) and the GPU checks (is this the GPU that was declared?) need
//! to agree on what those strings mean, so the answer lives here, in
//! [`GPUS`], and nowhere else.
//!
//! # Declared types
//!
//! A declared type is read by [`parse_declared_type`] into a
//! [`DeclaredGpuType`]: a *family* (always), plus an optional *memory size*
//! and an optional *form factor*. The spelling decides which constraints are
//! declared:
//!
//! * a family alone (`a100`, `h100`, `l40s`) constrains only the family. Note
//!   that `h100` is also the canonical type of the SXM part, but users write
//!   `h100` meaning "any H100", so a spelling without a form-factor token
//!   never declares a form factor;
//! * a memory token (`80gb`, `80g`, `80gib`) declares the memory size, so
//!   `a100-80gb` accepts both the SXM4 and the PCIe A100 80GB;
//! * a form-factor token (`sxm`, `sxm4`, `sxm5`, `pcie`, `nvl`) declares the
//!   form factor, so `h100-pcie` rejects an SXM H100;
//! * a catalogue spelling (canonical type, alias, or NVML product name) of a
//!   concrete row declares that row's family, plus that row's nominal memory
//!   if the spelling carries a memory token and that row's form factor if it
//!   carries a form-factor token (so `gh200-480gb`, the product name, declares
//!   the GPU's 96 GB, not the superchip's 480 GB of CPU+GPU memory).
//!
//! A declaration that no catalogue row satisfies (`a100-48gb`, `t4-sxm`) is
//! rejected, with a "did you mean" suggestion when one is close.
//!
//! # Matching
//!
//! [`DeclaredGpuType::matches`] identifies the observed GPU by its exact NVML
//! product name ([`by_nvml_name`]; never by substring, because
//! `NVIDIA A100` contains `A10`), then checks family, form factor (only if
//! declared) and memory (only if declared) in that order.
//!
//! Memory is compared with a 10% relative tolerance because NVML's total
//! never equals the marketing size: a T4 "16GB" reports 15360 MiB, an H100
//! NVL "94GB" reports 95830 MiB and an H200 "141GB" reports 143771 MiB. Ten
//! percent absorbs those differences while still separating every pair of
//! sizes a family ships in (40/80 GB A100, 16/32 GB V100, 80/94 GB H100).

use std::fmt;

use super::precision::{ComputeCapability, Precision};

/// The physical packaging of a GPU, which decides interconnect and power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FormFactor {
    /// SXM module on an HGX/DGX baseboard (SXM2/SXM4/SXM5/...).
    Sxm,
    /// PCIe add-in card.
    Pcie,
    /// PCIe card sold in NVLink-bridged pairs (H100 NVL, H200 NVL).
    Nvl,
    /// GPU packaged with a Grace CPU on one module (GH200, GB200).
    Superchip,
}

impl FormFactor {
    /// The lowercase name (`"sxm"`, `"pcie"`, `"nvl"`, `"superchip"`).
    pub fn as_str(self) -> &'static str {
        match self {
            FormFactor::Sxm => "sxm",
            FormFactor::Pcie => "pcie",
            FormFactor::Nvl => "nvl",
            FormFactor::Superchip => "superchip",
        }
    }
}

impl fmt::Display for FormFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One concrete GPU product: a row of [`GPUS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GpuModel {
    /// The canonical ModelSpec `type`, unique across the catalogue (e.g. `a100-80gb`).
    pub canonical: &'static str,
    /// The product family; families never overlap (`a10` ≠ `a10g` ≠ `a100`).
    pub family: &'static str,
    /// Physical packaging.
    pub form_factor: FormFactor,
    /// Total memory as NVML reports it (`nvmlDeviceGetMemoryInfo` total / 2^20).
    pub memory_mib: u64,
    /// Marketed GPU memory in GB (80 for an "A100 80GB"), used when a catalogue spelling declares memory.
    pub nominal_gb: u32,
    /// Product names exactly as NVML / `nvidia-smi` report them.
    pub nvml_names: &'static [&'static str],
    /// Other spellings users write in a spec, already normalized.
    pub aliases: &'static [&'static str],
    /// CUDA compute capability.
    pub compute_capability: ComputeCapability,
}

impl GpuModel {
    /// Whether this GPU supports serving in precision `p`.
    pub fn supports(&self, p: Precision) -> bool {
        self.compute_capability >= p.min_compute_capability()
    }
}

const fn cc(major: u8, minor: u8) -> ComputeCapability {
    ComputeCapability::new(major, minor)
}

#[allow(clippy::too_many_arguments)]
const fn row(
    canonical: &'static str,
    family: &'static str,
    form_factor: FormFactor,
    memory_mib: u64,
    nominal_gb: u32,
    compute_capability: ComputeCapability,
    nvml_names: &'static [&'static str],
    aliases: &'static [&'static str],
) -> GpuModel {
    GpuModel {
        canonical,
        family,
        form_factor,
        memory_mib,
        nominal_gb,
        nvml_names,
        aliases,
        compute_capability,
    }
}

use FormFactor::{Nvl, Pcie, Superchip, Sxm};

/// The RTX PRO 6000 Blackwell ships in three editions that NVML names apart.
const RTX_PRO_6000_NAMES: &[&str] = &[
    "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition",
    "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
];

/// The catalogue: one row per concrete product.
///
/// Rows marked `observed` carry an NVML name and memory total seen on real
/// hardware; rows marked `nominal` are best knowledge (NVML name as NVIDIA
/// documents it, memory as commonly reported) and should be corrected when a
/// real node says otherwise. The memory tolerance makes small errors in
/// `nominal` totals harmless. Aliases are written in normalized form
/// (lowercase, `-`-separated, no `nvidia-`/`tesla-` prefix).
#[rustfmt::skip]
pub static GPUS: &[GpuModel] = &[
    //  canonical          family           form        MiB      GB    cc          NVML names                                           aliases
    // Pascal: below 7.0, so they support no precision (see `Precision::min_compute_capability`); listed so specs naming them still parse
    row("p100",            "p100",          Pcie,       16384,   16,   cc(6, 0),   &["Tesla P100-PCIE-16GB"],                           &["p100-pcie-16gb"]),                                                             // nominal
    row("p100-12gb",       "p100",          Pcie,       12288,   12,   cc(6, 0),   &["Tesla P100-PCIE-12GB"],                           &["p100-pcie-12gb"]),                                                             // nominal
    row("p100-sxm2",       "p100",          Sxm,        16384,   16,   cc(6, 0),   &["Tesla P100-SXM2-16GB"],                           &["p100-sxm2-16gb"]),                                                             // nominal
    row("p40",             "p40",           Pcie,       24576,   24,   cc(6, 1),   &["Tesla P40"],                                      &["p40-24gb"]),                                                                   // nominal
    // Volta
    row("v100-16gb",       "v100",          Sxm,        16384,   16,   cc(7, 0),   &["Tesla V100-SXM2-16GB"],                           &["v100-sxm2-16gb", "v100-16g"]),                                                 // nominal
    row("v100-pcie-16gb",  "v100",          Pcie,       16384,   16,   cc(7, 0),   &["Tesla V100-PCIE-16GB"],                           &["v100-16gb-pcie"]),                                                             // nominal
    row("v100-32gb",       "v100",          Sxm,        32768,   32,   cc(7, 0),   &["Tesla V100-SXM2-32GB", "Tesla V100-SXM3-32GB"],   &["v100-sxm2-32gb", "v100-sxm3-32gb", "v100-32g"]),                               // observed (SXM2)
    row("v100-pcie-32gb",  "v100",          Pcie,       32768,   32,   cc(7, 0),   &["Tesla V100-PCIE-32GB"],                           &["v100-32gb-pcie"]),                                                             // nominal
    // Turing
    row("t4",              "t4",            Pcie,       15360,   16,   cc(7, 5),   &["Tesla T4"],                                       &["t4-16gb"]),                                                                    // observed
    // Ampere
    row("a2",              "a2",            Pcie,       15356,   16,   cc(8, 6),   &["NVIDIA A2"],                                      &["a2-16gb"]),                                                                    // nominal
    row("a10",             "a10",           Pcie,       23028,   24,   cc(8, 6),   &["NVIDIA A10"],                                     &["a10-24gb"]),                                                                   // observed
    row("a10g",            "a10g",          Pcie,       23028,   24,   cc(8, 6),   &["NVIDIA A10G"],                                    &["a10g-24gb"]),                                                                  // observed
    row("a16",             "a16",           Pcie,       15356,   16,   cc(8, 6),   &["NVIDIA A16"],                                     &["a16-16gb"]),                                                                   // nominal
    row("a30",             "a30",           Pcie,       24576,   24,   cc(8, 0),   &["NVIDIA A30"],                                     &["a30-24gb"]),                                                                   // nominal
    row("a40",             "a40",           Pcie,       46068,   48,   cc(8, 6),   &["NVIDIA A40"],                                     &["a40-48gb"]),                                                                   // nominal
    row("a100-40gb",       "a100",          Sxm,        40960,   40,   cc(8, 0),   &["NVIDIA A100-SXM4-40GB"],                          &["a100-sxm4-40gb", "a100-sxm-40gb", "a100-40g"]),                                // observed
    row("a100-pcie-40gb",  "a100",          Pcie,       40960,   40,   cc(8, 0),   &["NVIDIA A100-PCIE-40GB"],                          &["a100-40gb-pcie", "a100-pcie-40g"]),                                            // observed
    row("a100-80gb",       "a100",          Sxm,        81920,   80,   cc(8, 0),   &["NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM-80GB"],  &["a100-sxm4-80gb", "a100-sxm-80gb", "a100-80g"]),                                // observed (SXM4 name)
    row("a100-pcie-80gb",  "a100",          Pcie,       81920,   80,   cc(8, 0),   &["NVIDIA A100 80GB PCIe"],                          &["a100-80gb-pcie", "a100-pcie-80g"]),                                            // observed
    row("rtx-a6000",       "rtx-a6000",     Pcie,       49140,   48,   cc(8, 6),   &["NVIDIA RTX A6000"],                               &["a6000", "rtxa6000", "rtx-a6000-48gb"]),                                        // nominal
    // Ada Lovelace
    row("l4",              "l4",            Pcie,       23034,   24,   cc(8, 9),   &["NVIDIA L4"],                                      &["l4-24gb"]),                                                                    // observed
    row("l40",             "l40",           Pcie,       46068,   48,   cc(8, 9),   &["NVIDIA L40"],                                     &["l40-48gb"]),                                                                   // nominal
    row("l40s",            "l40s",          Pcie,       46068,   48,   cc(8, 9),   &["NVIDIA L40S"],                                    &["l40-s", "l40s-48gb"]),                                                         // observed
    row("rtx-6000-ada",    "rtx-6000-ada",  Pcie,       49140,   48,   cc(8, 9),   &["NVIDIA RTX 6000 Ada Generation"],                 &["rtx6000-ada", "rtx6000ada", "rtx-6000ada", "6000-ada"]),                       // nominal
    // Hopper
    row("h100",            "h100",          Sxm,        81559,   80,   cc(9, 0),   &["NVIDIA H100 80GB HBM3"],                          &["h100-sxm", "h100-sxm5", "h100-80gb", "h100-sxm-80gb", "h100-sxm5-80gb"]),      // observed
    row("h100-pcie",       "h100",          Pcie,       81559,   80,   cc(9, 0),   &["NVIDIA H100 PCIe"],                               &["h100-pcie-80gb", "h100-80gb-pcie"]),                                           // observed
    row("h100-nvl",        "h100",          Nvl,        95830,   94,   cc(9, 0),   &["NVIDIA H100 NVL"],                                &["h100-nvl-94gb", "h100-94gb"]),                                                 // observed
    row("h800",            "h800",          Sxm,        81559,   80,   cc(9, 0),   &["NVIDIA H800"],                                    &["h800-sxm", "h800-80gb"]),                                                      // nominal
    row("h800-pcie",       "h800",          Pcie,       81559,   80,   cc(9, 0),   &["NVIDIA H800 PCIe"],                               &["h800-pcie-80gb"]),                                                             // nominal
    row("h20",             "h20",           Sxm,        97871,   96,   cc(9, 0),   &["NVIDIA H20"],                                     &["h20-96gb"]),                                                                   // nominal
    row("h200",            "h200",          Sxm,        143771,  141,  cc(9, 0),   &["NVIDIA H200"],                                    &["h200-sxm", "h200-141gb", "h200-sxm-141gb"]),                                   // observed
    row("h200-nvl",        "h200",          Nvl,        143771,  141,  cc(9, 0),   &["NVIDIA H200 NVL"],                                &["h200-nvl-141gb"]),                                                             // nominal
    row("gh200",           "gh200",         Superchip,  97871,   96,   cc(9, 0),   &["NVIDIA GH200 480GB"],                             &["gh200-96gb"]),                                                                 // nominal
    row("gh200-144gb",     "gh200",         Superchip,  147456,  144,  cc(9, 0),   &["NVIDIA GH200 144G HBM3e"],                        &["gh200-624gb"]),                                                                // nominal (marketing size)
    // Blackwell
    row("b100",            "b100",          Sxm,        183359,  192,  cc(10, 0),  &["NVIDIA B100"],                                    &["b100-sxm", "b100-192gb"]),                                                     // nominal (assumed as B200)
    row("b200",            "b200",          Sxm,        183359,  180,  cc(10, 0),  &["NVIDIA B200"],                                    &["b200-sxm", "b200-180gb", "b200-192gb"]),                                       // observed
    row("gb200",           "gb200",         Superchip,  189471,  186,  cc(10, 0),  &["NVIDIA GB200"],                                   &["gb200-186gb", "gb200-nvl72"]),                                                 // nominal
    row("rtx-pro-6000",    "rtx-pro-6000",  Pcie,       97887,   96,   cc(12, 0),  RTX_PRO_6000_NAMES,                                  &["rtx-pro-6000-blackwell", "rtxpro6000", "rtx-pro6000", "rtx-pro-6000-96gb"]),   // nominal
];

/// Every distinct family name, in catalogue order.
pub fn families() -> impl Iterator<Item = &'static str> {
    GPUS.iter()
        .enumerate()
        .filter(|(i, m)| !GPUS.iter().take(*i).any(|p| p.family == m.family))
        .map(|(_, m)| m.family)
}

/// Every canonical type and alias, in catalogue order (for error messages).
pub fn known_type_spellings() -> impl Iterator<Item = &'static str> {
    GPUS.iter()
        .flat_map(|m| std::iter::once(m.canonical).chain(m.aliases.iter().copied()))
}

/// The row whose NVML product name is `name` (trimmed, ASCII case-insensitive, exact otherwise).
pub fn by_nvml_name(name: &str) -> Option<&'static GpuModel> {
    let name = name.trim();
    GPUS.iter()
        .find(|m| m.nvml_names.iter().any(|n| n.eq_ignore_ascii_case(name)))
}

/// The shortest of a row's spellings (canonical first, then aliases) that declares that row
/// alone: what a drafted spec writes, so that another product of the family (an H100 NVL
/// where an SXM ran) is drift. `h100` declares every H100, `h100-sxm` only the SXM.
pub fn exact_spelling(model: &'static GpuModel) -> &'static str {
    std::iter::once(model.canonical)
        .chain(model.aliases.iter().copied())
        .filter(|s| {
            parse_declared_type(s).is_ok_and(|d| {
                let mut rows = d.candidates();
                rows.next().is_some_and(|r| r.canonical == model.canonical) && rows.next().is_none()
            })
        })
        .min_by_key(|s| s.len())
        .unwrap_or(model.canonical)
}

/// The concrete row named by a canonical type, alias or NVML product name, after normalization.
///
/// A bare family that is not itself a canonical type (`a100`, `v100`) names
/// no single row and gives `None`; `h100` gives the SXM row because that is
/// its canonical type (use [`parse_declared_type`] for declaration semantics).
pub fn by_type(s: &str) -> Option<&'static GpuModel> {
    by_normalized_type(&normalize(s))
}

fn by_normalized_type(n: &str) -> Option<&'static GpuModel> {
    if n.is_empty() {
        return None;
    }
    GPUS.iter()
        .find(|m| m.canonical == n || m.aliases.contains(&n))
        .or_else(|| {
            GPUS.iter()
                .find(|m| m.nvml_names.iter().any(|name| normalize(name) == n))
        })
}

/// Normalizes a type spelling: lowercase, trimmed, `_` and whitespace as `-`
/// (runs collapsed), and a leading `nvidia-` and/or `tesla-` removed.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        let c = if c == '_' || c.is_whitespace() { '-' } else { c };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    let mut rest = out.as_str();
    for prefix in ["nvidia-", "tesla-"] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.to_string()
}

/// Reads a memory token (`80gb`, `80g`, `80gib`) as GB.
fn memory_token(t: &str) -> Option<u32> {
    let digits = ["gib", "gb", "g"].iter().find_map(|unit| t.strip_suffix(unit))?;
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&gb| gb > 0)
}

/// Reads a form-factor token (`sxm`, `sxm2`..`sxm6`, `pcie`, `nvl`).
fn form_factor_token(t: &str) -> Option<FormFactor> {
    match t {
        "sxm" | "sxm2" | "sxm3" | "sxm4" | "sxm5" | "sxm6" => Some(Sxm),
        "pcie" => Some(Pcie),
        "nvl" => Some(Nvl),
        _ => None,
    }
}

/// What a GPU `type` in a spec declares: a family, and optionally memory and form factor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeclaredGpuType {
    /// The family every accepted GPU must belong to.
    pub family: &'static str,
    /// Declared memory size (the marketed GB figure, taken as GiB), matched against NVML's total within 10%.
    pub memory_gib: Option<u32>,
    /// Declared form factor, if the spelling names one.
    pub form_factor: Option<FormFactor>,
    /// The normalized spelling the declaration was read from.
    pub spelling: String,
    /// The MIG profile the type names (`a100-80gb-mig-3g.40gb` -> `3g.40gb`): the model is
    /// served from MIG slices of such GPUs, not from whole ones.
    pub mig_profile: Option<String>,
}

/// A GPU `type` that names nothing in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownGpuType {
    /// The spelling as written in the spec.
    pub given: String,
    /// The closest known spelling, when one is reasonably close.
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownGpuType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown GPU type `{}`", self.given)?;
        if let Some(s) = self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownGpuType {}

/// The outcome of comparing a declared type with an observed GPU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GpuMatch {
    /// The observed GPU satisfies the declaration.
    Matches {
        /// The catalogue row of the observed GPU.
        model: &'static GpuModel,
    },
    /// The observed GPU belongs to another family.
    WrongFamily {
        /// The declared family.
        expected: &'static str,
        /// The observed GPU's family (its NVML name is what the caller passed in).
        observed: String,
    },
    /// The observed total memory is outside the tolerance around the declared size.
    WrongMemory {
        /// The declared memory in GB.
        expected_gib: u32,
        /// The observed NVML total in MiB.
        observed_mib: u64,
    },
    /// The observed GPU has another form factor than the declared one.
    WrongFormFactor {
        /// The declared form factor.
        expected: FormFactor,
        /// The observed GPU's form factor.
        observed: FormFactor,
    },
    /// The observed NVML name is not in the catalogue; never a match.
    UnknownObservedGpu {
        /// The observed NVML name, trimmed.
        observed: String,
    },
}

impl GpuMatch {
    /// Whether this is [`GpuMatch::Matches`].
    pub fn is_match(&self) -> bool {
        matches!(self, GpuMatch::Matches { .. })
    }
}

impl fmt::Display for GpuMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuMatch::Matches { model } => write!(f, "matches `{}`", model.canonical),
            GpuMatch::WrongFamily { expected, observed } => {
                write!(f, "expected a GPU of family `{expected}`, found family `{observed}`")
            }
            GpuMatch::WrongMemory {
                expected_gib,
                observed_mib,
            } => write!(
                f,
                "expected about {expected_gib} GB of GPU memory (within {MEMORY_TOLERANCE_PERCENT}%), found {observed_mib} MiB"
            ),
            GpuMatch::WrongFormFactor { expected, observed } => {
                write!(f, "expected form factor `{expected}`, found `{observed}`")
            }
            GpuMatch::UnknownObservedGpu { observed } => {
                write!(f, "observed GPU `{observed}` is not in the GPU catalogue")
            }
        }
    }
}

/// Relative tolerance, in percent, between a declared memory size and NVML's total.
const MEMORY_TOLERANCE_PERCENT: u64 = 10;

/// Whether an NVML total (MiB) is within the tolerance of a declared size (GB, taken as GiB).
fn memory_within_tolerance(declared_gib: u32, observed_mib: u64) -> bool {
    let expected_mib = u64::from(declared_gib) * 1024;
    expected_mib.abs_diff(observed_mib).saturating_mul(100) <= expected_mib.saturating_mul(MEMORY_TOLERANCE_PERCENT)
}

impl DeclaredGpuType {
    /// The catalogue rows this declaration accepts.
    pub fn candidates(&self) -> impl Iterator<Item = &'static GpuModel> + use<> {
        let (family, memory_gib, form_factor) = (self.family, self.memory_gib, self.form_factor);
        GPUS.iter().filter(move |m| {
            m.family == family
                && form_factor.is_none_or(|ff| ff == m.form_factor)
                && memory_gib.is_none_or(|gib| memory_within_tolerance(gib, m.memory_mib))
        })
    }

    /// Compares this declaration with an observed GPU (NVML name and total memory in MiB).
    pub fn matches(&self, observed_nvml_name: &str, observed_total_mib: u64) -> GpuMatch {
        let Some(model) = by_nvml_name(observed_nvml_name) else {
            return GpuMatch::UnknownObservedGpu {
                observed: observed_nvml_name.trim().to_string(),
            };
        };
        if model.family != self.family {
            return GpuMatch::WrongFamily {
                expected: self.family,
                observed: model.family.to_string(),
            };
        }
        if let Some(expected) = self.form_factor
            && expected != model.form_factor
        {
            return GpuMatch::WrongFormFactor {
                expected,
                observed: model.form_factor,
            };
        }
        if let Some(expected_gib) = self.memory_gib
            && !memory_within_tolerance(expected_gib, observed_total_mib)
        {
            return GpuMatch::WrongMemory {
                expected_gib,
                observed_mib: observed_total_mib,
            };
        }
        GpuMatch::Matches { model }
    }
}

impl fmt::Display for DeclaredGpuType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelling)
    }
}

/// Reads a spec's GPU `type` into what it declares; see the module docs for the rules.
pub fn parse_declared_type(s: &str) -> Result<DeclaredGpuType, UnknownGpuType> {
    let spelling = normalize(s);
    let (base, mig_profile) = split_mig_profile(&spelling);
    let parsed = declare_from_row(base).or_else(|| declare_from_parts(base));
    if let Some((family, memory_gib, form_factor)) = parsed {
        let declared = DeclaredGpuType {
            family,
            memory_gib,
            form_factor,
            mig_profile: mig_profile.map(str::to_string),
            spelling,
        };
        if declared.candidates().next().is_some() {
            return Ok(declared);
        }
        return Err(UnknownGpuType {
            given: s.to_string(),
            suggestion: suggest(&declared.spelling),
        });
    }
    Err(UnknownGpuType {
        given: s.to_string(),
        suggestion: suggest(&spelling),
    })
}

/// A MIG profile as NVIDIA names it: `<n>g.<m>gb`, optionally with `+me` (media extensions)
/// or `+gfx`.
fn is_mig_profile(p: &str) -> bool {
    let core = p
        .split_once('+')
        .map_or(p, |(core, ext)| if matches!(ext, "me" | "gfx") { core } else { "" });
    let Some((slices, memory)) = core.split_once("g.") else {
        return false;
    };
    let Some(gb) = memory.strip_suffix("gb") else {
        return false;
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(slices) && digits(gb)
}

/// A normalized spelling without its MIG suffix (`a100-80gb-mig-3g.40gb` -> `a100-80gb`,
/// `3g.40gb`); unchanged, with no profile, when it names none.
fn split_mig_profile(n: &str) -> (&str, Option<&str>) {
    match n.rsplit_once("-mig-") {
        Some((base, profile)) if is_mig_profile(profile) => (base, Some(profile)),
        _ => (n, None),
    }
}

type Declaration = (&'static str, Option<u32>, Option<FormFactor>);

/// A catalogue spelling of a concrete row: the row's values, for the constraints the spelling names.
fn declare_from_row(n: &str) -> Option<Declaration> {
    let m = by_normalized_type(n)?;
    let has_memory = n.split('-').any(|t| memory_token(t).is_some());
    let has_form_factor = n.split('-').any(|t| form_factor_token(t).is_some());
    Some((
        m.family,
        has_memory.then_some(m.nominal_gb),
        has_form_factor.then_some(m.form_factor),
    ))
}

/// `<family>[-<token>]...` where each token is a memory size or a form factor, each at most once.
fn declare_from_parts(n: &str) -> Option<Declaration> {
    let family = families()
        .filter(|f| n == *f || (n.starts_with(f) && n.as_bytes().get(f.len()) == Some(&b'-')))
        .max_by_key(|f| f.len())?;
    let mut memory_gib = None;
    let mut form_factor = None;
    let rest = n.get(family.len()..)?;
    for token in rest.split('-').filter(|t| !t.is_empty()) {
        if let Some(gb) = memory_token(token) {
            if memory_gib.replace(gb).is_some() {
                return None;
            }
        } else if let Some(ff) = form_factor_token(token) {
            if form_factor.replace(ff).is_some() {
                return None;
            }
        } else {
            return None;
        }
    }
    Some((family, memory_gib, form_factor))
}

/// The closest known spelling to `n`, if within `max(2, len/3)` edits.
///
/// Candidates are canonical types, aliases and families. Ties go to a
/// candidate that extends what was typed (so `h10` suggests `h100`, not
/// `h20` or `a10`), then to the earlier one in catalogue order.
fn suggest(n: &str) -> Option<&'static str> {
    let typed: Vec<char> = n.chars().collect();
    if typed.is_empty() {
        return None;
    }
    let limit = (typed.len() / 3).max(2);
    let mut best: Option<((usize, bool), &'static str)> = None;
    for candidate in known_type_spellings().chain(families()) {
        if candidate.chars().count().abs_diff(typed.len()) > limit {
            continue;
        }
        let distance = crate::suggest::distance(n, candidate);
        if distance > limit {
            continue;
        }
        let key = (distance, !candidate.starts_with(n));
        if best.is_none_or(|(best_key, _)| key < best_key) {
            best = Some((key, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn declared(s: &str) -> DeclaredGpuType {
        match parse_declared_type(s) {
            Ok(d) => d,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    fn row_named(canonical: &str) -> &'static GpuModel {
        match GPUS.iter().find(|m| m.canonical == canonical) {
            Some(m) => m,
            None => panic!("no row {canonical}"),
        }
    }

    fn same(a: &GpuModel, b: &GpuModel) -> bool {
        std::ptr::eq(a, b)
    }

    fn assert_matches(decl: &str, nvml: &str, mib: u64) {
        let got = declared(decl).matches(nvml, mib);
        assert!(got.is_match(), "{decl} vs {nvml}/{mib}: {got:?}");
    }

    #[test]
    fn mig_profile_types_name_their_parent_and_profile() {
        let d = declared("a100-80gb-mig-3g.40gb");
        assert_eq!(
            (d.family, d.memory_gib, d.mig_profile.as_deref()),
            ("a100", Some(80), Some("3g.40gb"))
        );
        assert_eq!(
            declared("H100_MIG_1g.10gb+me").mig_profile.as_deref(),
            Some("1g.10gb+me")
        );
        assert_eq!(declared("a100-80gb").mig_profile, None);
        assert_matches("a100-80gb-mig-3g.40gb", "NVIDIA A100-SXM4-80GB", 81920);
        // Not a profile: the type stays unknown rather than silently whole-GPU.
        assert!(parse_declared_type("a100-mig-3x").is_err());
        assert!(parse_declared_type("a100-mig-g.gb").is_err());
    }

    #[test]
    fn required_canonical_types_exist() {
        for t in [
            "a2",
            "a10",
            "a10g",
            "a16",
            "a30",
            "a40",
            "a100-40gb",
            "a100-80gb",
            "h100",
            "h100-pcie",
            "h100-nvl",
            "h800",
            "h20",
            "h200",
            "h200-nvl",
            "gh200",
            "b200",
            "b100",
            "gb200",
            "l4",
            "l40",
            "l40s",
            "t4",
            "v100-16gb",
            "v100-32gb",
            "p100",
            "p40",
            "rtx-a6000",
            "rtx-6000-ada",
            "rtx-pro-6000",
        ] {
            let m = by_type(t).unwrap_or_else(|| panic!("missing {t}"));
            assert_eq!(m.canonical, t);
        }
    }

    #[test]
    fn observed_facts_are_recorded_exactly() {
        for (name, mib) in [
            ("NVIDIA A10", 23028),
            ("NVIDIA A10G", 23028),
            ("NVIDIA A100-SXM4-40GB", 40960),
            ("NVIDIA A100-PCIE-40GB", 40960),
            ("NVIDIA A100-SXM4-80GB", 81920),
            ("NVIDIA A100 80GB PCIe", 81920),
            ("NVIDIA H100 80GB HBM3", 81559),
            ("NVIDIA H100 PCIe", 81559),
            ("NVIDIA H100 NVL", 95830),
            ("NVIDIA H200", 143771),
            ("NVIDIA L4", 23034),
            ("NVIDIA L40S", 46068),
            ("Tesla T4", 15360),
            ("Tesla V100-SXM2-32GB", 32768),
            ("NVIDIA B200", 183359),
        ] {
            let m = by_nvml_name(name).unwrap_or_else(|| panic!("missing {name}"));
            assert_eq!(m.memory_mib, mib, "{name}");
            assert!(m.nvml_names.contains(&name), "{name} spelled exactly");
        }
    }

    #[test]
    fn every_nvml_name_finds_its_row() {
        for m in GPUS {
            assert!(!m.nvml_names.is_empty(), "{}", m.canonical);
            for name in m.nvml_names {
                let found = by_nvml_name(name).unwrap_or_else(|| panic!("{name}"));
                assert!(same(found, m), "{name}");
                let shouted = format!("  {}\n", name.to_uppercase());
                assert!(by_nvml_name(&shouted).is_some_and(|f| same(f, m)), "{shouted:?}");
            }
        }
    }

    #[test]
    fn every_canonical_and_alias_finds_its_row() {
        for m in GPUS {
            for s in std::iter::once(&m.canonical).chain(m.aliases) {
                assert!(by_type(s).is_some_and(|f| same(f, m)), "{s}");
            }
        }
    }

    #[test]
    fn spellings_are_unique_across_the_table() {
        let mut seen: HashSet<String> = HashSet::new();
        for m in GPUS {
            for s in std::iter::once(&m.canonical).chain(m.aliases) {
                assert!(seen.insert(s.to_string()), "duplicate spelling {s}");
            }
        }
        let mut names = HashSet::new();
        for m in GPUS {
            for n in m.nvml_names {
                assert!(names.insert(n.to_ascii_lowercase()), "duplicate NVML name {n}");
            }
        }
        // A normalized NVML name may repeat its own row's spelling, never another row's.
        for m in GPUS {
            for n in m.nvml_names {
                let n = normalize(n);
                for other in GPUS.iter().filter(|o| !same(o, m)) {
                    assert!(
                        other.canonical != n && !other.aliases.contains(&n.as_str()),
                        "{n} of {} collides with {}",
                        m.canonical,
                        other.canonical
                    );
                }
            }
        }
    }

    #[test]
    fn spellings_are_stored_normalized() {
        for s in known_type_spellings().chain(families()) {
            assert_eq!(normalize(s), s, "{s} is not normalized");
        }
    }

    #[test]
    fn family_spellings_belong_to_their_family() {
        for f in families() {
            if let Some(m) = by_type(f) {
                assert_eq!(m.family, f, "{f} names a row of another family");
            }
            assert!(declared(f).form_factor.is_none() && declared(f).memory_gib.is_none());
        }
    }

    #[test]
    fn families_are_deduplicated() {
        let all: Vec<_> = families().collect();
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), unique.len());
        for f in [
            "a10", "a10g", "a100", "l4", "l40", "l40s", "h100", "h200", "gh200", "v100",
        ] {
            assert!(all.contains(&f), "{f}");
        }
        assert_eq!(all.iter().filter(|f| **f == "a100").count(), 1);
    }

    #[test]
    fn exact_spellings_declare_their_row_alone() {
        assert_eq!(by_type("h100").map(exact_spelling), Some("h100-sxm"));
        assert_eq!(by_type("l4").map(exact_spelling), Some("l4"));
        for m in GPUS {
            let spelling = exact_spelling(m);
            let rows: Vec<&str> = parse_declared_type(spelling)
                .map(|d| d.candidates().map(|r| r.canonical).collect())
                .unwrap_or_default();
            // Two rows that no spelling tells apart keep their canonical name.
            if rows.len() == 1 {
                assert_eq!(rows, [m.canonical], "{spelling}");
            }
        }
    }

    #[test]
    fn known_spellings_cover_canonicals_and_aliases() {
        let all: Vec<_> = known_type_spellings().collect();
        assert_eq!(all.len(), GPUS.iter().map(|m| 1 + m.aliases.len()).sum::<usize>());
        assert!(all.contains(&"a100-80gb") && all.contains(&"h100-sxm") && all.contains(&"l40-s"));
    }

    #[test]
    fn every_row_matches_its_own_spellings() {
        for m in GPUS {
            let spellings = std::iter::once(&m.canonical).chain(m.aliases).chain(m.nvml_names);
            for s in spellings {
                let d = declared(s);
                assert_eq!(d.family, m.family, "{s}");
                assert!(d.candidates().any(|c| same(c, m)), "{s} excludes its own row");
                for name in m.nvml_names {
                    match d.matches(name, m.memory_mib) {
                        GpuMatch::Matches { model } => assert!(same(model, m), "{s} vs {name}"),
                        other => panic!("{s} vs {name}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn memory_bearing_canonicals_have_memory_bearing_aliases() {
        for m in GPUS {
            let has_memory = |s: &str| s.split('-').any(|t| memory_token(t).is_some());
            if has_memory(m.canonical) {
                assert_eq!(declared(m.canonical).memory_gib, Some(m.nominal_gb));
                for a in m.aliases {
                    assert!(has_memory(a), "{a} drops the memory of {}", m.canonical);
                }
            }
        }
    }

    #[test]
    fn nominal_size_is_within_tolerance_of_nvml_total() {
        for m in GPUS {
            assert!(
                memory_within_tolerance(m.nominal_gb, m.memory_mib),
                "{}: {} GB vs {} MiB",
                m.canonical,
                m.nominal_gb,
                m.memory_mib
            );
        }
    }

    #[test]
    fn tolerance_separates_sizes_within_a_family() {
        for a in GPUS {
            for b in GPUS
                .iter()
                .filter(|b| b.family == a.family && b.nominal_gb != a.nominal_gb)
            {
                assert!(
                    !memory_within_tolerance(a.nominal_gb, b.memory_mib),
                    "{} GB would accept {} ({} MiB)",
                    a.nominal_gb,
                    b.canonical,
                    b.memory_mib
                );
            }
        }
    }

    #[test]
    fn tolerance_examples_from_the_docs() {
        assert!(memory_within_tolerance(16, 15360)); // T4
        assert!(memory_within_tolerance(94, 95830)); // H100 NVL
        assert!(memory_within_tolerance(141, 143771)); // H200
        assert!(memory_within_tolerance(24, 23028)); // A10
        assert!(!memory_within_tolerance(40, 81920));
        assert!(!memory_within_tolerance(80, 95830));
        assert!(!memory_within_tolerance(80, 0));
        assert!(!memory_within_tolerance(80, u64::MAX));
        assert!(!memory_within_tolerance(u32::MAX, 0));
    }

    #[test]
    fn families_are_never_confused_by_substrings() {
        let wrong = |decl: &str, nvml: &str, observed: &str| {
            let m = by_nvml_name(nvml).map_or(0, |m| m.memory_mib);
            assert_eq!(
                declared(decl).matches(nvml, m),
                GpuMatch::WrongFamily {
                    expected: declared(decl).family,
                    observed: observed.to_string()
                },
                "{decl} vs {nvml}"
            );
        };
        wrong("a10", "NVIDIA A10G", "a10g");
        wrong("a10g", "NVIDIA A10", "a10");
        wrong("a10", "NVIDIA A100-SXM4-80GB", "a100");
        wrong("a100", "NVIDIA A10", "a10");
        wrong("l4", "NVIDIA L40S", "l40s");
        wrong("l4", "NVIDIA L40", "l40");
        wrong("l40", "NVIDIA L40S", "l40s");
        wrong("l40s", "NVIDIA L40", "l40");
        wrong("h100", "NVIDIA GH200 480GB", "gh200");
        wrong("gh200", "NVIDIA H100 80GB HBM3", "h100");
        wrong("h100", "NVIDIA H200", "h200");
        wrong("h200", "NVIDIA GH200 480GB", "gh200");
        wrong("h200", "NVIDIA H20", "h20");
        wrong("b200", "NVIDIA GB200", "gb200");
        wrong("rtx-a6000", "NVIDIA RTX 6000 Ada Generation", "rtx-6000-ada");
        // Same family, different form factor.
        assert_eq!(
            declared("h200").matches("NVIDIA H200 NVL", 143771),
            GpuMatch::Matches {
                model: row_named("h200-nvl")
            }
        );
        assert_eq!(
            declared("h200-nvl").matches("NVIDIA H200", 143771),
            GpuMatch::WrongFormFactor {
                expected: Nvl,
                observed: Sxm
            }
        );
    }

    #[test]
    fn memory_qualified_types() {
        assert_eq!(
            declared("a100-40gb").matches("NVIDIA A100-SXM4-80GB", 81920),
            GpuMatch::WrongMemory {
                expected_gib: 40,
                observed_mib: 81920
            }
        );
        assert_eq!(
            declared("a100-80gb").matches("NVIDIA A100 80GB PCIe", 81920),
            GpuMatch::Matches {
                model: row_named("a100-pcie-80gb")
            }
        );
        assert_matches("a100-80gb", "NVIDIA A100-SXM4-80GB", 81920);
        assert_matches("a100-80g", "NVIDIA A100-SXM4-80GB", 81920);
        assert_matches("v100-32gb", "Tesla V100-PCIE-32GB", 32768);
        assert!(!declared("v100-32gb").matches("Tesla V100-SXM2-16GB", 16384).is_match());
        assert_matches("t4-16gb", "Tesla T4", 15360);
        assert_matches("h100-94gb", "NVIDIA H100 NVL", 95830);
        assert!(!declared("h100-80gb").matches("NVIDIA H100 NVL", 95830).is_match());
        assert_matches("h200-141gb", "NVIDIA H200", 143771);
        // The product name "GH200 480GB" declares the GPU's 96 GB, not 480.
        assert_eq!(declared("NVIDIA GH200 480GB").memory_gib, Some(96));
        assert_matches("gh200-480gb", "NVIDIA GH200 480GB", 97871);
        // The observed total, not the catalogue's, is what gets checked.
        assert_eq!(
            declared("a100-80gb").matches("NVIDIA A100-SXM4-80GB", 40960),
            GpuMatch::WrongMemory {
                expected_gib: 80,
                observed_mib: 40960
            }
        );
    }

    #[test]
    fn form_factor_is_checked_only_when_declared() {
        for (name, mib) in [
            ("NVIDIA H100 80GB HBM3", 81559),
            ("NVIDIA H100 PCIe", 81559),
            ("NVIDIA H100 NVL", 95830),
        ] {
            assert_matches("h100", name, mib);
        }
        assert_eq!(
            declared("h100-pcie").matches("NVIDIA H100 80GB HBM3", 81559),
            GpuMatch::WrongFormFactor {
                expected: Pcie,
                observed: Sxm
            }
        );
        assert_eq!(
            declared("h100-sxm").matches("NVIDIA H100 PCIe", 81559),
            GpuMatch::WrongFormFactor {
                expected: Sxm,
                observed: Pcie
            }
        );
        assert_eq!(
            declared("h100-pcie").matches("NVIDIA H100 NVL", 95830),
            GpuMatch::WrongFormFactor {
                expected: Pcie,
                observed: Nvl
            }
        );
        assert_matches("h100-sxm", "NVIDIA H100 80GB HBM3", 81559);
        assert_matches("a100-sxm4", "NVIDIA A100-SXM4-40GB", 40960);
        assert!(!declared("a100-sxm4").matches("NVIDIA A100-PCIE-40GB", 40960).is_match());
        // Form factor is checked before memory.
        assert_eq!(
            declared("a100-pcie-40gb").matches("NVIDIA A100-SXM4-80GB", 81920),
            GpuMatch::WrongFormFactor {
                expected: Pcie,
                observed: Sxm
            }
        );
    }

    #[test]
    fn declaration_shapes() {
        let shape = |s: &str| {
            let d = declared(s);
            (d.family, d.memory_gib, d.form_factor)
        };
        assert_eq!(shape("a100"), ("a100", None, None));
        assert_eq!(shape("h100"), ("h100", None, None));
        assert_eq!(shape("gh200"), ("gh200", None, None));
        assert_eq!(shape("a100-80gb"), ("a100", Some(80), None));
        assert_eq!(shape("a100-80g"), ("a100", Some(80), None));
        assert_eq!(shape("a100-80gib"), ("a100", Some(80), None));
        assert_eq!(shape("v100-32gb"), ("v100", Some(32), None));
        assert_eq!(shape("h100-pcie"), ("h100", None, Some(Pcie)));
        assert_eq!(shape("h100-sxm"), ("h100", None, Some(Sxm)));
        assert_eq!(shape("h100-sxm5"), ("h100", None, Some(Sxm)));
        assert_eq!(shape("h100-nvl"), ("h100", None, Some(Nvl)));
        assert_eq!(shape("a100-sxm4"), ("a100", None, Some(Sxm)));
        assert_eq!(shape("a100-pcie-80gb"), ("a100", Some(80), Some(Pcie)));
        assert_eq!(shape("a100-80gb-pcie"), ("a100", Some(80), Some(Pcie)));
        assert_eq!(shape("a100-sxm4-40gb"), ("a100", Some(40), Some(Sxm)));
        assert_eq!(shape("h100-sxm-80gb"), ("h100", Some(80), Some(Sxm)));
        assert_eq!(shape("h100-pcie-80gb"), ("h100", Some(80), Some(Pcie)));
        assert_eq!(shape("l40-s"), ("l40s", None, None));
        assert_eq!(shape("rtx6000-ada"), ("rtx-6000-ada", None, None));
        assert_eq!(shape("rtx-pro-6000"), ("rtx-pro-6000", None, None));
        assert_eq!(shape("gb200-nvl72"), ("gb200", None, None));
        // Normalization: case, `_`, spaces, vendor prefixes.
        assert_eq!(shape("NVIDIA A100_80GB"), ("a100", Some(80), None));
        assert_eq!(shape("nvidia-a100-80gb"), ("a100", Some(80), None));
        assert_eq!(shape("  H100 PCIe "), ("h100", None, Some(Pcie)));
        assert_eq!(shape("Tesla T4"), ("t4", None, None));
        assert_eq!(shape("tesla-v100--sxm2__32gb"), ("v100", Some(32), Some(Sxm)));
        assert_eq!(shape("NVIDIA H100 80GB HBM3"), ("h100", Some(80), None));
        assert_eq!(declared(" A100_80GB ").spelling, "a100-80gb");
        assert_eq!(declared("A100_80GB").to_string(), "a100-80gb");
    }

    #[test]
    fn candidates_follow_the_constraints() {
        let names = |s: &str| declared(s).candidates().map(|m| m.canonical).collect::<Vec<_>>();
        assert_eq!(
            names("a100"),
            ["a100-40gb", "a100-pcie-40gb", "a100-80gb", "a100-pcie-80gb"]
        );
        assert_eq!(names("a100-80gb"), ["a100-80gb", "a100-pcie-80gb"]);
        assert_eq!(names("a100-sxm4"), ["a100-40gb", "a100-80gb"]);
        assert_eq!(names("h100"), ["h100", "h100-pcie", "h100-nvl"]);
        assert_eq!(names("h100-pcie"), ["h100-pcie"]);
        assert_eq!(names("h100-80gb"), ["h100", "h100-pcie"]);
        assert_eq!(names("h100-nvl"), ["h100-nvl"]);
        assert_eq!(names("a10"), ["a10"]);
        assert_eq!(names("l4"), ["l4"]);
    }

    #[test]
    fn by_type_names_rows_not_families() {
        assert!(by_type("a100").is_none());
        assert!(by_type("v100").is_none());
        assert_eq!(by_type("h100").map(|m| m.form_factor), Some(Sxm));
        assert_eq!(by_type("NVIDIA A100-SXM4-80GB").map(|m| m.canonical), Some("a100-80gb"));
        assert_eq!(by_type("A100 80GB PCIe").map(|m| m.canonical), Some("a100-pcie-80gb"));
        assert_eq!(by_type("nvidia_L4").map(|m| m.canonical), Some("l4"));
        assert_eq!(by_type("tesla-t4").map(|m| m.canonical), Some("t4"));
        assert!(by_type("").is_none());
        assert!(by_type("nvidia").is_none());
    }

    #[test]
    fn unknown_observed_gpus_never_match() {
        for (name, mib) in [
            ("NVIDIA A100", 81920),
            ("A100-SXM4-80GB", 81920),
            ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", 4864),
            ("NVIDIA GeForce RTX 4090", 24564),
            ("", 0),
            ("   ", u64::MAX),
            ("\u{0}\u{ffff}", 1),
        ] {
            assert_eq!(
                declared("a100").matches(name, mib),
                GpuMatch::UnknownObservedGpu {
                    observed: name.trim().to_string()
                },
                "{name:?}"
            );
        }
        assert_eq!(
            declared("a100-80gb").matches("  NVIDIA A100-SXM4-80GB\n", u64::MAX),
            GpuMatch::WrongMemory {
                expected_gib: 80,
                observed_mib: u64::MAX
            }
        );
    }

    #[test]
    fn unknown_types_get_close_suggestions() {
        let err = |s: &str| match parse_declared_type(s) {
            Ok(d) => panic!("{s:?} parsed as {d:?}"),
            Err(e) => e,
        };
        assert_eq!(err("a100-80gbb").suggestion, Some("a100-80gb"));
        assert_eq!(err("a100-80gbb").given, "a100-80gbb");
        assert_eq!(err("h10").suggestion, Some("h100"));
        assert_eq!(err("tpu-v5").suggestion, None);
        assert_eq!(err("a100-48gb").suggestion, Some("a100-40gb"));
        assert_eq!(err("l40ss").suggestion, Some("l40s"));
        assert_eq!(err("h1oo").suggestion, Some("h100"));
        assert_eq!(err("a10-0-80gb").suggestion, Some("a100-80gb"));
        assert_eq!(err("gh-200").suggestion, Some("gh200"));
        assert_eq!(err("NVIDIA A100 80GB PCIE 2").suggestion, Some("a100-80gb-pcie"));
        // Declarations that no row satisfies are unknown too.
        for s in ["t4-sxm", "a10-80gb", "h100-80gb-80gb", "h100-pcie-sxm", "a100-0gb"] {
            err(s);
        }
        assert_eq!(declared("-a100-").spelling, "a100", "stray dashes are trimmed");
        for s in [
            "",
            "   ",
            "nvidia",
            "gpu",
            "tpu-v5",
            "a100-80",
            "a100-pci-e",
            "🙂",
            "a100-99999999999gb",
        ] {
            let e = err(s);
            assert_eq!(e.given, s);
        }
        assert_eq!(err("").suggestion, None);
        assert_eq!(
            err("a100-80gbb").to_string(),
            "unknown GPU type `a100-80gbb`; did you mean `a100-80gb`?"
        );
        assert_eq!(err("tpu-v5").to_string(), "unknown GPU type `tpu-v5`");
    }

    #[test]
    fn huge_and_odd_inputs_do_not_panic() {
        let long = "a".repeat(100_000);
        assert!(parse_declared_type(&long).is_err_and(|e| e.suggestion.is_none()));
        let long_dashes = "-".repeat(10_000);
        assert!(parse_declared_type(&long_dashes).is_err());
        for s in ["İ", "ß-80gb", "a100-٨٠gb", "h100\u{200b}", "NVIDIA\tH100\u{a0}PCIe"] {
            let _ = parse_declared_type(s);
            let _ = by_type(s);
            let _ = by_nvml_name(s);
        }
        assert_eq!(declared("NVIDIA\tH100\u{a0}PCIe").form_factor, Some(Pcie));
    }

    #[test]
    fn precision_support() {
        let supports = |t: &str, p| row_named(t).supports(p);
        assert!(!supports("t4", Precision::Bf16));
        assert!(!supports("v100-32gb", Precision::Bf16));
        assert!(!supports("v100-16gb", Precision::Bf16));
        assert!(supports("a100-80gb", Precision::Bf16));
        assert!(supports("a10g", Precision::Bf16));
        assert!(!supports("a100-80gb", Precision::Fp8));
        assert!(!supports("a10g", Precision::Fp8));
        assert!(supports("l4", Precision::Fp8));
        assert!(supports("h100", Precision::Fp8));
        assert!(supports("t4", Precision::Fp16));
        assert!(supports("t4", Precision::Int8));
        let fp4: Vec<_> = GPUS
            .iter()
            .filter(|m| m.supports(Precision::Fp4))
            .map(|m| m.canonical)
            .collect();
        assert_eq!(fp4, ["b100", "b200", "gb200", "rtx-pro-6000"]);
    }

    #[test]
    fn compute_capabilities() {
        let cc_of = |t: &str| row_named(t).compute_capability.to_string();
        for (t, want) in [
            ("v100-32gb", "7.0"),
            ("t4", "7.5"),
            ("a100-40gb", "8.0"),
            ("a30", "8.0"),
            ("a10", "8.6"),
            ("a10g", "8.6"),
            ("a40", "8.6"),
            ("a2", "8.6"),
            ("a16", "8.6"),
            ("rtx-a6000", "8.6"),
            ("l4", "8.9"),
            ("l40", "8.9"),
            ("l40s", "8.9"),
            ("rtx-6000-ada", "8.9"),
            ("h100", "9.0"),
            ("h200", "9.0"),
            ("gh200", "9.0"),
            ("h800", "9.0"),
            ("h20", "9.0"),
            ("b200", "10.0"),
            ("b100", "10.0"),
            ("gb200", "10.0"),
            ("rtx-pro-6000", "12.0"),
            ("p100", "6.0"),
            ("p40", "6.1"),
        ] {
            assert_eq!(cc_of(t), want, "{t}");
        }
        // Every product of a family is the same silicon generation.
        for a in GPUS {
            for b in GPUS.iter().filter(|b| b.family == a.family) {
                assert_eq!(a.compute_capability, b.compute_capability, "{}", a.family);
            }
        }
    }

    #[test]
    fn displays() {
        assert_eq!(Sxm.to_string(), "sxm");
        assert_eq!(Pcie.to_string(), "pcie");
        assert_eq!(Nvl.to_string(), "nvl");
        assert_eq!(Superchip.to_string(), "superchip");
        assert_eq!(
            declared("a10").matches("NVIDIA A10G", 23028).to_string(),
            "expected a GPU of family `a10`, found family `a10g`"
        );
        assert_eq!(
            declared("a100-40gb")
                .matches("NVIDIA A100-SXM4-80GB", 81920)
                .to_string(),
            "expected about 40 GB of GPU memory (within 10%), found 81920 MiB"
        );
        assert_eq!(
            declared("h100-pcie")
                .matches("NVIDIA H100 80GB HBM3", 81559)
                .to_string(),
            "expected form factor `pcie`, found `sxm`"
        );
        assert_eq!(
            declared("h100").matches("NVIDIA H100 PCIe", 81559).to_string(),
            "matches `h100-pcie`"
        );
        assert_eq!(
            declared("h100").matches("Nope", 1).to_string(),
            "observed GPU `Nope` is not in the GPU catalogue"
        );
    }
}
