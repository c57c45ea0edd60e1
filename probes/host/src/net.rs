//! Which process listens on a TCP port, read straight from `/proc`.
//!
//! Two steps, both plain file reads, so no extra dependency (procfs, listeners) is needed and
//! every failure can be classified exactly:
//!
//! 1. `/proc/net/tcp` and `/proc/net/tcp6` list this network namespace's sockets; a row in
//!    state `0A` (LISTEN) with our local port gives the bound address and the socket inode.
//!    These files are readable by everyone.
//! 2. The owner of an inode is a process with an fd linking to `socket:[inode]` under
//!    `/proc/<pid>/fd`. Another user's fd directory is unreadable without root (or
//!    `CAP_DAC_READ_SEARCH`/`CAP_SYS_PTRACE`), so "a socket listens but we saw no owner while
//!    some fd directories were closed to us" is a permission problem, never "not listening".
//!
//! Step 1 goes through `sock_diag` netlink when it can (see that module): same answer, without
//! the kernel walking its established-connection table.
//!
//! No LISTEN row at all is the only real "nothing listens on port N". Sockets of other network
//! namespaces (another container) are not in these files.

use crate::Roots;
use crate::observed::{Observed, PERMISSION_HINT};
use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The LISTEN sockets on one port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Listeners {
    /// Bound addresses, `127.0.0.1:8000` or `[::]:8000`.
    pub(crate) addresses: Vec<String>,
    /// Socket inodes.
    pub(crate) inodes: BTreeSet<u64>,
}

/// Reads the LISTEN sockets on `port` from `tcp` and `tcp6`; a file that cannot be read is an
/// error unless the other one could (a kernel without IPv6 has no `tcp6`).
pub(crate) fn listeners(roots: &Roots, port: u16) -> Result<Listeners, String> {
    // The live system answers faster through sock_diag; fake trees (tests) have only files.
    if roots.proc == std::path::Path::new("/proc")
        && let Some(found) = crate::sock_diag::listening(port)
    {
        return Ok(found);
    }
    let mut found = Listeners::default();
    let mut errors = Vec::new();
    let mut read_any = false;
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let path = roots.proc.join("net").join(file);
        match fs::read_to_string(&path) {
            Ok(text) => {
                read_any = true;
                parse_listeners(&text, v6, port, &mut found);
            }
            Err(error) => errors.push(format!("{}: {error}", path.display())),
        }
    }
    if read_any {
        Ok(found)
    } else {
        Err(format!("could not read the socket tables: {}", errors.join("; ")))
    }
}

fn parse_listeners(text: &str, v6: bool, port: u16, found: &mut Listeners) {
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
            continue;
        };
        if *state != "0A" {
            continue;
        }
        let Some((address, local_port)) = local.split_once(':') else {
            continue;
        };
        if u16::from_str_radix(local_port, 16).ok() != Some(port) {
            continue;
        }
        let Ok(inode) = inode.parse::<u64>() else { continue };
        if let Some(shown) = format_address(address, v6, port)
            && !found.addresses.contains(&shown)
        {
            found.addresses.push(shown);
        }
        if inode != 0 {
            found.inodes.insert(inode);
        }
    }
}

/// The kernel prints each 32-bit word of the address in host byte order.
pub(crate) fn parse_address(hex: &str, v6: bool) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let text = hex.get(i * 8..i * 8 + 8)?;
        u32::from_str_radix(text, 16).ok().map(u32::to_ne_bytes)
    };
    if v6 {
        if hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for i in 0..4 {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
        }
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    } else {
        if hex.len() != 8 {
            return None;
        }
        Some(IpAddr::V4(Ipv4Addr::from(word(0)?)))
    }
}

fn format_address(hex: &str, v6: bool, port: u16) -> Option<String> {
    parse_address(hex, v6).map(|ip| crate::netns::show(ip, port))
}

/// The processes holding any of `inodes`, or why they could not be told.
pub(crate) fn owners(roots: &Roots, inodes: &BTreeSet<u64>) -> Result<Vec<u32>, String> {
    let targets: BTreeSet<String> = inodes.iter().map(|inode| format!("socket:[{inode}]")).collect();
    let entries = fs::read_dir(&roots.proc).map_err(|e| format!("could not list {}: {e}", roots.proc.display()))?;
    let mut owners = Vec::new();
    let mut denied = 0usize;
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let fds = match fs::read_dir(entry.path().join("fd")) {
            Ok(fds) => fds,
            Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
                denied += 1;
                continue;
            }
            // Exited meanwhile, or a kernel thread: nothing to see.
            Err(_) => continue,
        };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .ok()
                .and_then(|link| link.to_str().map(|link| targets.contains(link)))
                .unwrap_or(false)
        });
        if holds {
            owners.push(pid);
        }
    }
    if owners.is_empty() && denied > 0 {
        return Err(format!(
            "{PERMISSION_HINT} (the socket exists but the file descriptors of {denied} processes could not be read)"
        ));
    }
    if owners.is_empty() {
        return Err(format!(
            "the listening socket belongs to no visible process: it may have just closed, its owner may be in \
             another PID namespace, or /proc hides other users' processes (hidepid); if so, {PERMISSION_HINT}"
        ));
    }
    owners.sort_unstable();
    Ok(owners)
}

/// Finds the socket owners of `port`: `Absent` when nothing listens, `Unknown` when we cannot tell.
pub(crate) fn port_owners(roots: &Roots, port: u16) -> Observed<(Listeners, Vec<u32>)> {
    let found = match listeners(roots, port) {
        Ok(found) => found,
        Err(reason) => return Observed::unknown(reason),
    };
    if found.addresses.is_empty() {
        return Observed::absent(format!("nothing listens on port {port}"));
    }
    match owners(roots, &found.inodes) {
        Ok(pids) => Observed::Ok { value: (found, pids) },
        Err(reason) => Observed::unknown(format!(
            "port {port} is listening, but its process is unknown: {reason}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 100 0 0 10 0
   3: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6666 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn finds_listen_rows_on_the_port_only() {
        let mut found = Listeners::default();
        parse_listeners(TCP, false, 8080, &mut found);
        parse_listeners(TCP6, true, 8080, &mut found);
        if cfg!(target_endian = "little") {
            assert_eq!(
                found.addresses,
                ["127.0.0.1:8080", "0.0.0.0:8080", "[::1]:8080", "[::]:8080"]
            );
        }
        assert_eq!(found.inodes, BTreeSet::from([1111, 2222, 5555, 6666]));
        let mut none = Listeners::default();
        parse_listeners(TCP, false, 9999, &mut none);
        assert!(none.addresses.is_empty());
    }
}
