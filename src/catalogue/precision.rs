//! Numeric precisions a model can be served in, and the minimum GPU compute
//! capability at which each is supported.
//!
//! A spec says `precision: bf16` (or `bfloat16`, `BF16`, `auto`, ...); this
//! module turns those spellings into one [`Precision`] so that lints and GPU
//! checks never compare raw strings. [`Precision::min_compute_capability`] is
//! the single answer to "can this GPU serve this precision", used together
//! with the GPU catalogue's compute capabilities
//! ([`GpuModel::supports`](super::gpu::GpuModel::supports)).

use std::fmt;

/// A CUDA compute capability (`major.minor`), e.g. 8.0 for an A100.
///
/// Ordering is by `major`, then `minor`, so `>=` answers "at least this
/// architecture".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComputeCapability {
    /// Major version (the architecture generation, e.g. 9 for Hopper).
    pub major: u8,
    /// Minor version within the generation.
    pub minor: u8,
}

impl ComputeCapability {
    /// Builds a compute capability from its two parts.
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// Parses `"8.0"`-style text (as `nvidia-smi --query-gpu=compute_cap`
    /// prints it); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.trim().split_once('.')?;
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(major) || !all_digits(minor) {
            return None;
        }
        Some(Self::new(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl fmt::Display for ComputeCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A numeric precision for model weights/activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    /// 32-bit float (also covers TF32 tensor-core math).
    Fp32,
    /// IEEE 16-bit float.
    Fp16,
    /// bfloat16.
    Bf16,
    /// 8-bit float (E4M3 or E5M2).
    Fp8,
    /// 4-bit float (NVFP4 / MXFP4).
    Fp4,
    /// 8-bit integer quantisation (e.g. W8A8).
    Int8,
    /// 4-bit integer weight quantisation (e.g. W4A16, AWQ, GPTQ).
    Int4,
}

/// The result of reading a precision spelling from a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrecisionSpelling {
    /// A recognised precision.
    Known(Precision),
    /// `auto` or an empty value: the serving engine picks.
    Auto,
    /// Not a spelling we recognise.
    Unknown,
}

impl Precision {
    /// Every precision, in declaration order.
    pub const ALL: [Precision; 7] = [
        Precision::Fp32,
        Precision::Fp16,
        Precision::Bf16,
        Precision::Fp8,
        Precision::Fp4,
        Precision::Int8,
        Precision::Int4,
    ];

    /// The canonical lowercase spelling (`"fp32"`, `"bf16"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Fp8 => "fp8",
            Precision::Fp4 => "fp4",
            Precision::Int8 => "int8",
            Precision::Int4 => "int4",
        }
    }

    /// Reads a spelling, case-insensitively and ignoring surrounding
    /// whitespace; `""` and `"auto"` give [`PrecisionSpelling::Auto`].
    pub fn parse(s: &str) -> PrecisionSpelling {
        let s = s.trim().to_ascii_lowercase();
        let p = match s.as_str() {
            "" | "auto" => return PrecisionSpelling::Auto,
            "fp32" | "float32" | "float" | "f32" | "tf32" => Precision::Fp32,
            "fp16" | "float16" | "half" | "f16" => Precision::Fp16,
            "bf16" | "bfloat16" => Precision::Bf16,
            "fp8" | "float8" | "fp8_e4m3" | "fp8-e4m3" | "e4m3" | "fp8_e5m2" | "fp8-e5m2" | "e5m2" => Precision::Fp8,
            "fp4" | "nvfp4" | "mxfp4" | "float4" => Precision::Fp4,
            "int8" | "w8a8" | "i8" => Precision::Int8,
            "int4" | "w4a16" | "awq" | "gptq" | "i4" => Precision::Int4,
            _ => return PrecisionSpelling::Unknown,
        };
        PrecisionSpelling::Known(p)
    }

    /// The lowest compute capability on which this precision runs natively.
    ///
    /// fp32 runs everywhere; fp16 needs Pascal (6.0); int8 needs the DP4A instructions of
    /// 6.1; int4 weight-only kernels run from 6.0; bf16 needs Ampere (8.0), fp8 Ada/Hopper
    /// (8.9) and fp4 Blackwell (10.0). The lint only errs on a precision below these floors,
    /// so it never rejects a pairing that a serving engine can run.
    pub fn min_compute_capability(self) -> ComputeCapability {
        match self {
            Precision::Fp32 => ComputeCapability::new(5, 0),
            Precision::Fp16 | Precision::Int4 => ComputeCapability::new(6, 0),
            Precision::Int8 => ComputeCapability::new(6, 1),
            Precision::Bf16 => ComputeCapability::new(8, 0),
            Precision::Fp8 => ComputeCapability::new(8, 9),
            Precision::Fp4 => ComputeCapability::new(10, 0),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(s: &str) -> Precision {
        match Precision::parse(s) {
            PrecisionSpelling::Known(p) => p,
            other => panic!("{s:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn every_listed_spelling_parses() {
        let table: &[(Precision, &[&str])] = &[
            (Precision::Fp32, &["fp32", "float32", "float", "f32", "tf32"]),
            (Precision::Fp16, &["fp16", "float16", "half", "f16"]),
            (Precision::Bf16, &["bf16", "bfloat16"]),
            (
                Precision::Fp8,
                &[
                    "fp8", "float8", "fp8_e4m3", "fp8-e4m3", "e4m3", "fp8_e5m2", "fp8-e5m2", "e5m2",
                ],
            ),
            (Precision::Fp4, &["fp4", "nvfp4", "mxfp4", "float4"]),
            (Precision::Int8, &["int8", "w8a8", "i8"]),
            (Precision::Int4, &["int4", "w4a16", "awq", "gptq", "i4"]),
        ];
        for (p, spellings) in table {
            for s in *spellings {
                assert_eq!(known(s), *p, "{s}");
                assert_eq!(known(&s.to_ascii_uppercase()), *p, "{s} upper");
                assert_eq!(known(&format!("  {s}\t\n")), *p, "{s} padded");
            }
        }
    }

    #[test]
    fn canonical_spelling_round_trips() {
        for p in Precision::ALL {
            assert_eq!(known(p.as_str()), p);
            assert_eq!(p.to_string(), p.as_str());
        }
    }

    #[test]
    fn all_is_complete_and_distinct() {
        let mut all = Precision::ALL.to_vec();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 7);
    }

    #[test]
    fn auto_and_unknown() {
        for s in ["auto", "AUTO", " Auto ", "", "   "] {
            assert_eq!(Precision::parse(s), PrecisionSpelling::Auto, "{s:?}");
        }
        for s in ["fp64", "int2", "bf-16", "fp 16", "f p16", "ünïcode", "\u{0}"] {
            assert_eq!(Precision::parse(s), PrecisionSpelling::Unknown, "{s:?}");
        }
    }

    #[test]
    fn minimum_compute_capabilities() {
        let cc = ComputeCapability::new;
        assert_eq!(Precision::Fp32.min_compute_capability(), cc(5, 0));
        assert_eq!(Precision::Fp16.min_compute_capability(), cc(6, 0));
        assert_eq!(Precision::Int8.min_compute_capability(), cc(6, 1));
        assert_eq!(Precision::Int4.min_compute_capability(), cc(6, 0));
        assert_eq!(Precision::Bf16.min_compute_capability(), cc(8, 0));
        assert_eq!(Precision::Fp8.min_compute_capability(), cc(8, 9));
        assert_eq!(Precision::Fp4.min_compute_capability(), cc(10, 0));
    }

    #[test]
    fn compute_capability_orders_major_then_minor() {
        let cc = ComputeCapability::new;
        assert!(cc(8, 9) > cc(8, 6));
        assert!(cc(9, 0) > cc(8, 9));
        assert!(cc(10, 0) > cc(9, 9));
        assert!(cc(12, 0) > cc(10, 0));
        assert!(cc(7, 5) < cc(8, 0));
        assert_eq!(cc(8, 0).to_string(), "8.0");
        assert_eq!(cc(12, 0).to_string(), "12.0");
    }

    #[test]
    fn compute_capability_parses() {
        let cc = ComputeCapability::new;
        assert_eq!(ComputeCapability::parse("8.0"), Some(cc(8, 0)));
        assert_eq!(ComputeCapability::parse(" 12.0\n"), Some(cc(12, 0)));
        for bad in ["", "8", "8.", ".0", "8.0.1", "a.b", "+8.0", "999.0", "8,0"] {
            assert_eq!(ComputeCapability::parse(bad), None, "{bad:?}");
        }
    }
}
