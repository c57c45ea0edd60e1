//! LISTEN sockets on a port through the kernel's `sock_diag` netlink interface.
//!
//! Reading `/proc/net/tcp{,6}` makes the kernel walk its whole socket table, established
//! connections included, to print every row; on a busy node that is most of the cost of
//! finding the serving process. A `sock_diag` dump asking for LISTEN sockets only skips the
//! established table. Any failure here (no netlink, an old kernel, a seccomp filter) returns
//! `None` and the caller falls back to the files, so this is only ever a faster path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::netns::Socket;

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const TCP_LISTEN: u32 = 10;
/// `struct nlmsghdr`.
const HEADER: usize = 16;
/// `struct inet_diag_msg`.
const DIAG_MSG: usize = 72;

/// An owned netlink socket, closed on drop.
struct Netlink(libc::c_int);

impl Drop for Netlink {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

/// `struct inet_diag_req_v2` for every LISTEN TCP socket of `family`, in a netlink message.
fn request(family: u8) -> Vec<u8> {
    let len = (HEADER + 56) as u32;
    let mut m = Vec::with_capacity(len as usize);
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    m.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns it
    m.push(family);
    m.push(libc::IPPROTO_TCP as u8);
    m.push(0); // no extensions
    m.push(0); // pad
    m.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    m.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: unused in a dump
    m
}

/// One family's LISTEN sockets, added to `found`; `None` on any netlink failure.
fn dump(socket: &Netlink, family: u8, found: &mut Vec<Socket>) -> Option<()> {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value (port 0 = the kernel).
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let message = request(family);
    // SAFETY: a valid buffer and address of the stated lengths.
    let sent = unsafe {
        libc::sendto(
            socket.0,
            message.as_ptr().cast(),
            message.len(),
            0,
            (&raw const address).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent != message.len() as isize {
        return None;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: the buffer is valid for its length.
        let received = unsafe { libc::recv(socket.0, buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        let received = usize::try_from(received).ok().filter(|&n| n > 0)?;
        let mut at = 0;
        while at + HEADER <= received {
            let word = |i: usize| u32::from_ne_bytes([buffer[i], buffer[i + 1], buffer[i + 2], buffer[i + 3]]);
            let len = word(at) as usize;
            let kind = u16::from_ne_bytes([buffer[at + 4], buffer[at + 5]]);
            if len < HEADER || at + len > received {
                return None;
            }
            match kind {
                NLMSG_DONE => return Some(()),
                NLMSG_ERROR => return None,
                SOCK_DIAG_BY_FAMILY if len >= HEADER + DIAG_MSG => {
                    let msg = &buffer[at + HEADER..at + len];
                    let port = u16::from_be_bytes([msg[4], msg[5]]);
                    if u32::from(msg[1]) == TCP_LISTEN {
                        let ip = if msg[0] == libc::AF_INET6 as u8 {
                            let mut bytes = [0u8; 16];
                            bytes.copy_from_slice(&msg[8..24]);
                            IpAddr::V6(Ipv6Addr::from(bytes))
                        } else {
                            IpAddr::V4(Ipv4Addr::new(msg[8], msg[9], msg[10], msg[11]))
                        };
                        let inode = u32::from_ne_bytes([msg[68], msg[69], msg[70], msg[71]]);
                        if inode != 0 {
                            found.push(Socket {
                                ip,
                                port,
                                inode: u64::from(inode),
                            });
                        }
                    }
                }
                _ => {}
            }
            // Messages are 4-byte aligned.
            at += (len + 3) & !3;
        }
    }
}

/// The scanner's namespace's LISTEN sockets, IPv4 and IPv6, or `None` to say "use the files".
pub(crate) fn listening() -> Option<Vec<Socket>> {
    // SAFETY: plain socket creation; the descriptor is owned by `Socket`.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return None;
    }
    let socket = Netlink(fd);
    // A netlink answer never takes long; do not hang a scan if the kernel does not answer.
    let timeout = libc::timeval { tv_sec: 1, tv_usec: 0 };
    // SAFETY: a valid option value of the stated length.
    let set = unsafe {
        libc::setsockopt(
            socket.0,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if set != 0 {
        return None;
    }
    let mut found = Vec::new();
    dump(&socket, libc::AF_INET as u8, &mut found)?;
    // A kernel without IPv6 answers the IPv6 dump with an error: keep what IPv4 gave.
    let _ = dump(&socket, libc::AF_INET6 as u8, &mut found);
    Some(found)
}

/// The LISTEN sockets of other namespaces, each asked from inside it: `(index, pid)` names a
/// namespace by one of its processes. A thread made for it enters each namespace in turn
/// (`setns`, which needs `CAP_SYS_ADMIN`) and asks there; refused at the first, it stops, and
/// the caller reads the files for whatever is not answered.
pub(crate) fn listening_inside(namespaces: &[(usize, u32)]) -> Vec<(usize, Vec<Socket>)> {
    if namespaces.is_empty() {
        return Vec::new();
    }
    let work = namespaces.to_vec();
    // Its own thread, never reused: a thread that entered another namespace stays there.
    std::thread::Builder::new()
        .name("probe-host-netns".into())
        .spawn(move || {
            let mut answers = Vec::new();
            for (index, pid) in work {
                if crate::enter_network_namespace(pid).is_err() {
                    // The first refusal is the privilege: files for the rest. Later ones are a
                    // process that exited meanwhile: files for that one.
                    if answers.is_empty() {
                        break;
                    }
                    continue;
                }
                match listening() {
                    Some(sockets) => answers.push((index, sockets)),
                    None => break,
                }
            }
            answers
        })
        .ok()
        .and_then(|h| h.join().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_matches_the_kernel_structs() {
        let r = request(libc::AF_INET as u8);
        assert_eq!(r.len(), 72);
        assert_eq!(u32::from_ne_bytes([r[0], r[1], r[2], r[3]]), 72);
        assert_eq!(r[16], libc::AF_INET as u8);
        assert_eq!(u32::from_ne_bytes([r[20], r[21], r[22], r[23]]), 1 << 10);
    }

    #[test]
    fn finds_a_listener_of_this_process() {
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
            return;
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let Some(found) = listening() else {
            eprintln!("skipped: sock_diag is not available here");
            return;
        };
        let ours: Vec<&Socket> = found.iter().filter(|s| s.port == port).collect();
        assert_eq!(ours.len(), 1, "{found:?}");
        assert_eq!(ours[0].shown(), format!("127.0.0.1:{port}"));
        drop(listener);
        let after = listening().unwrap_or_default();
        assert!(after.iter().all(|s| s.port != port), "{after:?}");
    }
}
