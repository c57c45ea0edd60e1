//! The loopback server toolkit: an HTTP/1.1 server on 127.0.0.x whose every answer is scripted,
//! down to the byte and the second.
//!
//! The client under test is careful (deadlines, size caps, same-origin redirects), and the only
//! way to know it is careful is to be hostile to it on purpose: dribble bytes, stream bodies that
//! never end, lie about lengths, reset connections. A real HTTP server library would refuse to do
//! most of that, so this one writes raw bytes on a socket.
//!
//! Bounds, so a test can never hang the suite or the machine: the server accepts at most
//! [`MAX_CONNECTIONS`] connections, each connection lives at most [`MAX_CONNECTION_TIME`], and
//! dropping the [`Server`] stops the accept loop and every connection within a fraction of a
//! second (writes are bounded by a short timeout so a full socket buffer is noticed).

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections a server accepts before it stops accepting: more than a scan makes (a few dozen
/// requests, a few redirects each), far fewer than a runaway client would.
pub const MAX_CONNECTIONS: usize = 2_000;

/// How long one connection may be served: well past any scan's `--timeout` here, and short
/// enough that a forgotten server cannot outlive the suite by much.
pub const MAX_CONNECTION_TIME: Duration = Duration::from_secs(20);

/// How often a blocked writer looks at the stop flag.
const WRITE_POLL: Duration = Duration::from_millis(100);

/// A body produced on the fly: called with the chunk number (0, 1, ...) until it answers `None`,
/// so gigabytes can be served without ever being held.
pub type Generator = Box<dyn FnMut(u64) -> Option<Vec<u8>> + Send>;

/// How the server answers one request.
pub enum Behaviour {
    /// A complete response: status, extra headers, body (Content-Length is added).
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// `fast` at once, then `slow` one byte per `interval` (slowloris from the server's side).
    Dribble {
        fast: Vec<u8>,
        slow: Vec<u8>,
        interval: Duration,
    },
    /// `head` (status line and headers, written as given), then the generator's chunks.
    Stream { head: Vec<u8>, body: Generator },
    /// Read the request, then close with SO_LINGER 0: the client gets a TCP RST.
    Reset,
}

impl Behaviour {
    /// A JSON reply.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Behaviour {
        Behaviour::with_type(status, "application/json", body)
    }

    /// A reply with this content type.
    pub fn with_type(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Behaviour {
        Behaviour::Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// `404` with a JSON body, for every path a case does not care about.
    pub fn not_found() -> Behaviour {
        Behaviour::json(404, r#"{"detail":"Not Found"}"#)
    }
}

/// A running server; dropping it stops it.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// The paths asked, in order of arrival.
    requests: Arc<Mutex<Vec<String>>>,
    accept_loop: Option<JoinHandle<()>>,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The paths asked so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept_loop.take() {
            let _ = handle.join();
        }
    }
}

/// A server on 127.0.0.1 answering each path as `route` says.
pub fn serve(route: impl Fn(&str) -> Behaviour + Send + Sync + 'static) -> Server {
    serve_on(Ipv4Addr::LOCALHOST, route)
}

/// A server on another loopback address (127.0.0.0/8 is all loopback on Linux).
pub fn serve_on(ip: Ipv4Addr, route: impl Fn(&str) -> Behaviour + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), 0)).expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener's address");
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let route = Arc::new(route);
    let (stop_loop, requests_loop) = (stop.clone(), requests.clone());
    let accept_loop = std::thread::spawn(move || {
        let accepted = AtomicUsize::new(0);
        let mut handlers = Vec::new();
        for stream in listener.incoming() {
            if stop_loop.load(Ordering::SeqCst) || accepted.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                break;
            }
            let Ok(stream) = stream else { continue };
            let (route, stop, requests) = (route.clone(), stop_loop.clone(), requests_loop.clone());
            handlers.push(std::thread::spawn(move || handle(stream, &*route, &stop, &requests)));
        }
        stop_loop.store(true, Ordering::SeqCst);
        for handler in handlers {
            let _ = handler.join();
        }
    });
    Server {
        addr,
        stop,
        requests,
        accept_loop: Some(accept_loop),
    }
}

fn handle(stream: TcpStream, route: &dyn Fn(&str) -> Behaviour, stop: &AtomicBool, requests: &Mutex<Vec<String>>) {
    let until = Instant::now() + MAX_CONNECTION_TIME;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(WRITE_POLL));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
    }
    if let Ok(mut seen) = requests.lock() {
        seen.push(path.clone());
    }
    let live = || !stop.load(Ordering::SeqCst) && Instant::now() < until;
    match route(&path) {
        Behaviour::Reply { status, headers, body } => {
            let mut head = format!("HTTP/1.1 {status} X\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
            let _ = write_all(&mut writer, head.as_bytes(), &live) && write_all(&mut writer, &body, &live);
        }
        Behaviour::Dribble { fast, slow, interval } => {
            if write_all(&mut writer, &fast, &live) {
                for byte in slow {
                    if !sleep_while(interval, &live) || !write_all(&mut writer, &[byte], &live) {
                        break;
                    }
                }
            }
        }
        Behaviour::Stream { head, mut body } => {
            if write_all(&mut writer, &head, &live) {
                let mut n = 0;
                while let Some(chunk) = body(n) {
                    if !write_all(&mut writer, &chunk, &live) {
                        break;
                    }
                    n += 1;
                }
            }
        }
        Behaviour::Reset => {
            reset(&writer);
            return;
        }
    }
    let _ = writer.flush();
    // Lets the client finish reading before the socket closes.
    let _ = writer.shutdown(std::net::Shutdown::Write);
    sleep_while(Duration::from_millis(200), &live);
}

/// Writes everything unless the peer leaves or `live` turns false; true when all was written.
fn write_all(writer: &mut TcpStream, mut bytes: &[u8], live: &dyn Fn() -> bool) -> bool {
    while !bytes.is_empty() {
        if !live() {
            return false;
        }
        match writer.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Sleeps `time` in small steps; false when `live` turned false first.
fn sleep_while(time: Duration, live: &dyn Fn() -> bool) -> bool {
    let end = Instant::now() + time;
    while Instant::now() < end {
        if !live() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20).min(end.saturating_duration_since(Instant::now())));
    }
    true
}

/// Closes with SO_LINGER {on, 0}: the kernel discards the socket and sends RST, not FIN.
fn reset(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid, open socket descriptor and a correctly sized linger struct.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER) failed: {}",
        std::io::Error::last_os_error()
    );
    // Dropping the caller's handles closes the descriptor, which now resets.
}
