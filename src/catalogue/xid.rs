//! What NVIDIA's XID numbers mean, and what to do about each: the `gpu-xid` check's table.
//!
//! Facts from NVIDIA's XID catalogue (the driver's error numbers), in our words. An XID is
//! either the GPU's trouble (critical: the node needs an operator) or an application's (a
//! fault the driver contained: worth attention, not a broken node). Numbers not listed here
//! are worth looking up, and the check says so rather than guessing.

/// How bad an XID is for the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The GPU (or its memory, link or firmware) is in trouble: drain, reset, or service.
    Critical,
    /// An application's fault the driver contained, or a warning sign.
    Attention,
}

/// One XID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xid {
    pub number: u64,
    pub severity: Severity,
    /// What it means, in a few words.
    pub meaning: &'static str,
    /// What to do.
    pub remedy: &'static str,
}

const RESET: &str = "drain the node's work from this GPU and reset it (`nvidia-smi -r -i N`, or reboot)";

/// The XIDs this version knows, by number.
pub const XIDS: &[Xid] = &[
    Xid {
        number: 13,
        severity: Severity::Attention,
        meaning: "graphics engine exception (an application's illegal instruction or out-of-range access)",
        remedy: "look at the application that ran on the GPU (compute-sanitizer); the GPU itself is usually fine",
    },
    Xid {
        number: 31,
        severity: Severity::Attention,
        meaning: "GPU memory page fault (an application read or wrote an address it does not own)",
        remedy: "look at the application that ran on the GPU (compute-sanitizer); repeated on several GPUs, suspect the driver",
    },
    Xid {
        number: 43,
        severity: Severity::Attention,
        meaning: "GPU stopped processing (an application's fault; the GPU stays healthy)",
        remedy: "look at the application that was stopped",
    },
    Xid {
        number: 45,
        severity: Severity::Attention,
        meaning: "preemptive cleanup (the driver ended a process's GPU work, after an earlier error or a kill)",
        remedy: "look for an earlier XID on this GPU; alone, it follows a process being killed",
    },
    Xid {
        number: 48,
        severity: Severity::Critical,
        meaning: "double-bit (uncorrectable) ECC error",
        remedy: "drain the node's work from this GPU and reset it; if it recurs, have the GPU serviced",
    },
    Xid {
        number: 61,
        severity: Severity::Attention,
        meaning: "internal micro-controller breakpoint or warning",
        remedy: "update the driver; if XID 62 follows, reset the GPU",
    },
    Xid {
        number: 62,
        severity: Severity::Critical,
        meaning: "internal micro-controller halt",
        remedy: RESET,
    },
    Xid {
        number: 63,
        severity: Severity::Critical,
        meaning: "ECC page retirement or row remapping recorded (memory went bad; the fix takes effect at the next reset)",
        remedy: "reset the GPU when its work is drained, so the retired pages or remapped rows take effect",
    },
    Xid {
        number: 64,
        severity: Severity::Critical,
        meaning: "ECC page retirement or row remapping could not be recorded",
        remedy: "drain the node's work from this GPU and have it serviced (its memory cannot be repaired in place)",
    },
    Xid {
        number: 69,
        severity: Severity::Attention,
        meaning: "graphics engine class error",
        remedy: "look at the application that ran on the GPU; if it recurs, update the driver",
    },
    Xid {
        number: 74,
        severity: Severity::Critical,
        meaning: "NVLink error",
        remedy: "check the NVLink links (`nvidia-smi nvlink -s`, `-e`) and the NVSwitch fabric; reset the GPU; if it recurs, have the baseboard serviced",
    },
    Xid {
        number: 79,
        severity: Severity::Critical,
        meaning: "the GPU has fallen off the bus (it stopped answering on PCIe)",
        remedy: "drain the node and reboot it; check power, cooling and the PCIe/riser seating; if it recurs, have the GPU serviced",
    },
    Xid {
        number: 92,
        severity: Severity::Attention,
        meaning: "high single-bit ECC error rate",
        remedy: "watch the GPU's correctable ECC counts; plan to service it if they keep rising",
    },
    Xid {
        number: 94,
        severity: Severity::Critical,
        meaning: "contained ECC error (an uncorrectable error the GPU confined to the applications using that memory)",
        remedy: "restart the applications that used the GPU; reset it when drained, so the bad memory is remapped",
    },
    Xid {
        number: 95,
        severity: Severity::Critical,
        meaning: "uncontained ECC error (every application on the GPU is affected)",
        remedy: RESET,
    },
    Xid {
        number: 109,
        severity: Severity::Attention,
        meaning: "context switch timeout",
        remedy: "look at the application that ran on the GPU; if it recurs without one, reset the GPU",
    },
    Xid {
        number: 119,
        severity: Severity::Critical,
        meaning: "GSP RPC timeout (the GPU's system processor firmware stopped answering the driver)",
        remedy: "drain the node's work from this GPU and reset it (or reboot); update the driver if it recurs",
    },
    Xid {
        number: 120,
        severity: Severity::Critical,
        meaning: "GSP error (the GPU's system processor firmware failed)",
        remedy: "drain the node's work from this GPU and reset it (or reboot); update the driver if it recurs",
    },
    Xid {
        number: 121,
        severity: Severity::Critical,
        meaning: "C2C link error (the chip-to-chip link of a Grace Hopper or Grace Blackwell module)",
        remedy: RESET,
    },
    Xid {
        number: 140,
        severity: Severity::Critical,
        meaning: "unrecovered ECC error",
        remedy: RESET,
    },
    Xid {
        number: 154,
        severity: Severity::Critical,
        meaning: "GPU recovery action changed (the driver asks for a reset, a reboot or a drain)",
        remedy: "read the recovery action the driver asks for (`nvidia-smi -q`, GPU Recovery Action) and carry it out",
    },
];

/// The XID numbered `number`, when this version knows it.
pub fn xid(number: u64) -> Option<&'static Xid> {
    XIDS.iter().find(|x| x.number == number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_without_duplicates_and_names_the_critical_ones() {
        assert!(XIDS.windows(2).all(|w| w[0].number < w[1].number));
        for critical in [48, 63, 64, 74, 79, 94, 95, 119] {
            assert_eq!(
                xid(critical).map(|x| x.severity),
                Some(Severity::Critical),
                "{critical}"
            );
        }
        assert_eq!(xid(13).map(|x| x.severity), Some(Severity::Attention));
        assert!(xid(79).is_some_and(|x| x.meaning.contains("fallen off the bus")));
        assert_eq!(xid(1), None);
    }
}
