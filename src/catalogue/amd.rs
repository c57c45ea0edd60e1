//! The AMD Instinct catalogue: one row per product, its memory per GPU as AMD SMI enumerates
//! it, its graphics target, and what a spec's `type` under `vendor: amd` declares.
//!
//! AMD SMI shows a GPU per GCD (an MI250X package is two GPUs of 64 GB) and per compute
//! partition (an MI300X in CPX mode is eight GPUs of an eighth of its memory), so a row's memory
//! is a GCD's in SPX mode, and `count` counts GPUs as AMD SMI lists them. A declared type is a
//! family (`mi300x`), optionally with its memory (`mi300x-192gb`) and partition modes
//! (`mi300x-cpx`, `mi300x-cpx-nps4`); the partition is compared by the partition check, the
//! family and memory by the type check.
//!
//! What a GPU runs natively follows its architecture ([`Gfx`]): bf16 on every CDNA (MI100 and
//! later), fp8 from CDNA3 (MI300: the FNUZ variant), fp4 from CDNA4 (MI350: MXFP4).
//!
//! Market names and memory totals of MI325X, MI250X, MI250, MI210, MI300A and the MI350 series
//! are from AMD's specifications, not yet from `amd-smi` on real hardware (rows marked
//! `nominal`); the MI300X's 196592 MiB is what AMD's documentation shows amd-smi reporting.

use super::precision::Precision;

/// An AMD graphics target (architecture), as AMD SMI's `target_graphics_version` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gfx {
    /// CDNA1: MI100.
    Gfx908,
    /// CDNA2: MI210, MI250, MI250X.
    Gfx90a,
    /// CDNA3: MI300A, MI300X, MI308X, MI325X.
    Gfx942,
    /// CDNA4: MI350X, MI355X.
    Gfx950,
}

impl Gfx {
    /// `gfx942`.
    pub fn target(self) -> &'static str {
        match self {
            Gfx::Gfx908 => "gfx908",
            Gfx::Gfx90a => "gfx90a",
            Gfx::Gfx942 => "gfx942",
            Gfx::Gfx950 => "gfx950",
        }
    }

    /// `CDNA3`.
    pub fn architecture(self) -> &'static str {
        match self {
            Gfx::Gfx908 => "CDNA1",
            Gfx::Gfx90a => "CDNA2",
            Gfx::Gfx942 => "CDNA3",
            Gfx::Gfx950 => "CDNA4",
        }
    }

    /// The target AMD SMI names (`gfx942`), when this version knows it.
    pub fn parse(target: &str) -> Option<Gfx> {
        [Gfx::Gfx908, Gfx::Gfx90a, Gfx::Gfx942, Gfx::Gfx950]
            .into_iter()
            .find(|g| g.target().eq_ignore_ascii_case(target.trim()))
    }

    /// Whether this architecture runs `p` natively: fp32, fp16, bf16, int8 and int4
    /// (weight-only kernels) on every CDNA; fp8 from CDNA3; fp4 from CDNA4.
    pub fn supports(self, p: Precision) -> bool {
        match p {
            Precision::Fp32 | Precision::Fp16 | Precision::Bf16 | Precision::Int8 | Precision::Int4 => true,
            Precision::Fp8 => self >= Gfx::Gfx942,
            Precision::Fp4 => self >= Gfx::Gfx950,
        }
    }

    /// The first architecture that runs `p`, for messages.
    pub fn first_supporting(p: Precision) -> &'static str {
        match p {
            Precision::Fp8 => "CDNA3 (gfx942: MI300 series)",
            Precision::Fp4 => "CDNA4 (gfx950: MI350 series)",
            _ => "CDNA1 (gfx908: MI100)",
        }
    }
}

/// One AMD Instinct product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AmdGpuModel {
    /// The canonical `type` (`mi300x`).
    pub canonical: &'static str,
    /// The family; every row is its own family except the MI250 and MI250X, which are two.
    pub family: &'static str,
    /// Memory of one GPU as AMD SMI enumerates it in SPX mode (a GCD of an MI250X), MiB.
    pub memory_mib: u64,
    /// The marketed memory of one such GPU, GB.
    pub nominal_gb: u32,
    /// Market names as AMD SMI reports them.
    pub market_names: &'static [&'static str],
    /// PCI device ids.
    pub device_ids: &'static [u64],
    /// Other spellings, normalized.
    pub aliases: &'static [&'static str],
    pub gfx: Gfx,
}

impl AmdGpuModel {
    pub fn supports(&self, p: Precision) -> bool {
        self.gfx.supports(p)
    }
}

/// The catalogue.
#[rustfmt::skip]
pub static AMD_GPUS: &[AmdGpuModel] = &[
    AmdGpuModel { canonical: "mi100",  family: "mi100",  memory_mib: 32_768,  nominal_gb: 32,  market_names: &["AMD Instinct MI100"],  device_ids: &[0x738c, 0x738e], aliases: &["mi100-32gb"], gfx: Gfx::Gfx908 },  // nominal
    AmdGpuModel { canonical: "mi210",  family: "mi210",  memory_mib: 65_536,  nominal_gb: 64,  market_names: &["AMD Instinct MI210"],  device_ids: &[0x740f],         aliases: &["mi210-64gb"], gfx: Gfx::Gfx90a },  // nominal
    AmdGpuModel { canonical: "mi250",  family: "mi250",  memory_mib: 65_536,  nominal_gb: 64,  market_names: &["AMD Instinct MI250"],  device_ids: &[],               aliases: &["mi250-64gb"], gfx: Gfx::Gfx90a },  // nominal: a GCD
    AmdGpuModel { canonical: "mi250x", family: "mi250x", memory_mib: 65_536,  nominal_gb: 64,  market_names: &["AMD Instinct MI250X"], device_ids: &[0x7408],         aliases: &["mi250x-64gb"], gfx: Gfx::Gfx90a }, // nominal: a GCD
    AmdGpuModel { canonical: "mi300a", family: "mi300a", memory_mib: 98_304,  nominal_gb: 96,  market_names: &["AMD Instinct MI300A"], device_ids: &[0x74a0],         aliases: &[], gfx: Gfx::Gfx942 },             // nominal: VRAM carved from its 128 GB of unified memory
    AmdGpuModel { canonical: "mi300x", family: "mi300x", memory_mib: 196_592, nominal_gb: 192, market_names: &["AMD Instinct MI300X"], device_ids: &[0x74a1],         aliases: &["mi300x-192gb", "mi300x-oam"], gfx: Gfx::Gfx942 }, // documented
    AmdGpuModel { canonical: "mi308x", family: "mi308x", memory_mib: 196_592, nominal_gb: 192, market_names: &["AMD Instinct MI308X"], device_ids: &[0x74a2],         aliases: &["mi308x-192gb"], gfx: Gfx::Gfx942 }, // nominal
    AmdGpuModel { canonical: "mi325x", family: "mi325x", memory_mib: 262_144, nominal_gb: 256, market_names: &["AMD Instinct MI325X"], device_ids: &[0x74a5],         aliases: &["mi325x-256gb"], gfx: Gfx::Gfx942 }, // nominal
    AmdGpuModel { canonical: "mi350x", family: "mi350x", memory_mib: 294_912, nominal_gb: 288, market_names: &["AMD Instinct MI350X"], device_ids: &[],               aliases: &["mi350x-288gb"], gfx: Gfx::Gfx950 }, // nominal
    AmdGpuModel { canonical: "mi355x", family: "mi355x", memory_mib: 294_912, nominal_gb: 288, market_names: &["AMD Instinct MI355X"], device_ids: &[],               aliases: &["mi355x-288gb"], gfx: Gfx::Gfx950 }, // nominal
];

/// The row AMD SMI's market name names: exactly (trimmed, case-insensitive); else the one
/// family named as a word in it (`AMD Instinct MI300X OAM`; not `MI250X/MI250`, which names
/// two); else the row of a PCI device id that only one product has. Several market names are
/// not yet confirmed on real hardware, so the word and the id are the fallbacks.
pub fn by_market_name(name: &str, device_id: Option<u64>) -> Option<&'static AmdGpuModel> {
    let name = name.trim();
    let unique = |mut rows: Box<dyn Iterator<Item = &'static AmdGpuModel>>| {
        let row = rows.next()?;
        rows.all(|other| other.family == row.family).then_some(row)
    };
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    AMD_GPUS
        .iter()
        .find(|m| m.market_names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .or_else(|| {
            unique(Box::new(
                AMD_GPUS.iter().filter(move |m| words.iter().any(|w| w == m.family)),
            ))
        })
        .or_else(|| {
            let id = device_id?;
            unique(Box::new(AMD_GPUS.iter().filter(move |m| m.device_ids.contains(&id))))
        })
}

/// A compute partition mode.
pub const COMPUTE_PARTITIONS: &[&str] = &["spx", "dpx", "tpx", "qpx", "cpx"];
/// A memory partition mode.
pub const MEMORY_PARTITIONS: &[&str] = &["nps1", "nps2", "nps4", "nps8"];

/// What an AMD `type` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAmdType {
    pub family: &'static str,
    /// Declared memory per GPU, GB (taken as GiB), within 10%.
    pub memory_gib: Option<u32>,
    /// `SPX`, `CPX`..., uppercase as AMD SMI reports it.
    pub compute_partition: Option<String>,
    /// `NPS1`, `NPS4`.
    pub memory_partition: Option<String>,
    pub spelling: String,
}

impl DeclaredAmdType {
    /// The rows this declaration accepts.
    pub fn candidates(&self) -> impl Iterator<Item = &'static AmdGpuModel> + use<> {
        let family = self.family;
        AMD_GPUS.iter().filter(move |m| m.family == family)
    }

    /// Whether `observed_mib` is the declared memory (when declared), within 10%.
    pub fn memory_matches(&self, observed_mib: u64) -> bool {
        self.memory_gib.is_none_or(|gib| {
            let expected = u64::from(gib) * 1024;
            expected.abs_diff(observed_mib).saturating_mul(10) <= expected
        })
    }
}

/// Reads an AMD `type`: `mi300x`, `MI300X`, `instinct-mi300x`, `mi300x-192gb`, `mi300x-cpx`,
/// `mi300x-cpx-nps4`. `None` when no family is named.
pub fn parse_declared_amd_type(s: &str) -> Option<DeclaredAmdType> {
    let spelling: String = s
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '_'], "-")
        .trim_start_matches("amd-")
        .trim_start_matches("instinct-")
        .to_string();
    let mut family = None;
    let mut memory_gib = None;
    let mut compute_partition = None;
    let mut memory_partition = None;
    for token in spelling.split('-').filter(|t| !t.is_empty()) {
        if let Some(row) = AMD_GPUS.iter().find(|m| m.family == token) {
            family = family.or(Some(row.family));
        } else if let Some(gb) = token.strip_suffix("gb").and_then(|n| n.parse::<u32>().ok()) {
            memory_gib = Some(gb);
        } else if COMPUTE_PARTITIONS.contains(&token) {
            compute_partition = Some(token.to_ascii_uppercase());
        } else if MEMORY_PARTITIONS.contains(&token) {
            memory_partition = Some(token.to_ascii_uppercase());
        } else if token != "oam" {
            return None;
        }
    }
    let family = family?;
    // `mi300x-192gb` is the row's own alias; a memory no row of the family has is no product.
    if let Some(gib) = memory_gib
        && !AMD_GPUS
            .iter()
            .filter(|m| m.family == family)
            .any(|m| m.nominal_gb == gib || m.memory_mib.abs_diff(u64::from(gib) * 1024) * 10 <= m.memory_mib)
    {
        return None;
    }
    Some(DeclaredAmdType {
        family,
        memory_gib,
        compute_partition,
        memory_partition,
        spelling,
    })
}

/// Every canonical AMD type, for messages.
pub fn known_amd_types() -> impl Iterator<Item = &'static str> {
    AMD_GPUS.iter().map(|m| m.canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_name_family_memory_and_partitions() {
        let d = parse_declared_amd_type("MI300X").unwrap_or_else(|| panic!("mi300x"));
        assert_eq!(
            (d.family, d.memory_gib, d.compute_partition.as_deref()),
            ("mi300x", None, None)
        );
        let d = parse_declared_amd_type("instinct-mi300x-192gb-cpx-nps4").unwrap_or_else(|| panic!("cpx"));
        assert_eq!(
            (
                d.family,
                d.memory_gib,
                d.compute_partition.as_deref(),
                d.memory_partition.as_deref()
            ),
            ("mi300x", Some(192), Some("CPX"), Some("NPS4"))
        );
        assert_eq!(parse_declared_amd_type("mi250x").map(|d| d.family), Some("mi250x"));
        assert_eq!(parse_declared_amd_type("mi250").map(|d| d.family), Some("mi250"));
        assert!(parse_declared_amd_type("mi300x-48gb").is_none(), "no MI300X has 48 GB");
        assert!(parse_declared_amd_type("h100").is_none());
        assert!(parse_declared_amd_type("mi300x-foo").is_none());
    }

    #[test]
    fn every_spelling_of_a_row_declares_it() {
        for m in AMD_GPUS {
            for spelling in std::iter::once(m.canonical).chain(m.aliases.iter().copied()) {
                let d = parse_declared_amd_type(spelling).unwrap_or_else(|| panic!("{spelling}"));
                assert_eq!(d.family, m.family, "{spelling}");
                assert!(d.memory_matches(m.memory_mib), "{spelling}");
            }
            assert_eq!(
                by_market_name(m.market_names[0], None).map(|r| r.canonical),
                Some(m.canonical)
            );
        }
    }

    #[test]
    fn market_names_and_device_ids_find_rows() {
        assert_eq!(
            by_market_name("AMD Instinct MI300X OAM", None).map(|m| m.canonical),
            Some("mi300x")
        );
        assert_eq!(
            by_market_name("Instinct MI250X/MI250", None),
            None,
            "names two products"
        );
        assert_eq!(
            by_market_name("Instinct MI250X/MI250", Some(0x7408)).map(|m| m.canonical),
            Some("mi250x")
        );
        assert_eq!(
            by_market_name(" AMD Instinct MI300X ", None).map(|m| m.canonical),
            Some("mi300x")
        );
        assert_eq!(by_market_name("", Some(0x74a5)).map(|m| m.canonical), Some("mi325x"));
        assert_eq!(
            by_market_name("Aldebaran", Some(0x740c)),
            None,
            "shared by MI250 and MI250X"
        );
    }

    #[test]
    fn architectures_decide_native_precisions() {
        assert!(Gfx::Gfx942.supports(Precision::Fp8) && !Gfx::Gfx90a.supports(Precision::Fp8));
        assert!(Gfx::Gfx90a.supports(Precision::Bf16) && Gfx::Gfx908.supports(Precision::Bf16));
        assert!(Gfx::Gfx950.supports(Precision::Fp4) && !Gfx::Gfx942.supports(Precision::Fp4));
        assert_eq!(Gfx::parse("GFX942"), Some(Gfx::Gfx942));
        // Every row's memory matches its own declaration with memory.
        for m in AMD_GPUS {
            let d = parse_declared_amd_type(&format!("{}-{}gb", m.family, m.nominal_gb))
                .unwrap_or_else(|| panic!("{}", m.canonical));
            assert!(d.memory_matches(m.memory_mib), "{}", m.canonical);
        }
    }
}
