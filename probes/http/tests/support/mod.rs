//! A tiny loopback HTTP server for tests: raw bytes, programmable misbehaviour.
//!
//! Real servers are too polite to test a careful client: they do not hang after accepting,
//! trickle bodies, close mid-headers or redirect elsewhere on request. This one does exactly
//! what each test says, on 127.0.0.x:0, records what it was asked, and stops (threads joined)
//! when dropped, so no test leaves a socket or a thread behind.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request head as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub head: String,
}

impl Recorded {
    /// The request target of the request line: "/v1/models".
    pub fn path(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or_default()
    }

    /// A header's value, name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

type Handler = dyn Fn(&mut TcpStream, &AtomicBool) + Send + Sync;

pub struct TestServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TestServer {
    /// Serves on 127.0.0.1: reads each request head, records it, then lets `behavior` answer.
    pub fn start(behavior: impl Fn(&Recorded, &mut TcpStream, &AtomicBool) + Send + Sync + 'static) -> TestServer {
        TestServer::start_on("127.0.0.1", behavior)
    }

    /// The same, on another loopback address (127.0.0.2 is "another host" to a client).
    pub fn start_on(
        ip: &str,
        behavior: impl Fn(&Recorded, &mut TcpStream, &AtomicBool) + Send + Sync + 'static,
    ) -> TestServer {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let log = Arc::clone(&requests);
        let mut server = TestServer::raw_on(ip, move |stream, stop| {
            let Some(request) = read_head(stream) else {
                return;
            };
            log.lock().expect("request log").push(request.clone());
            behavior(&request, stream, stop);
        });
        server.requests = requests;
        server
    }

    /// Serves on 127.0.0.1 without reading anything first: `behavior` owns the connection.
    pub fn raw(behavior: impl Fn(&mut TcpStream, &AtomicBool) + Send + Sync + 'static) -> TestServer {
        TestServer::raw_on("127.0.0.1", behavior)
    }

    fn raw_on(ip: &str, behavior: impl Fn(&mut TcpStream, &AtomicBool) + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let behavior: Arc<Handler> = Arc::new(behavior);
        let accept = {
            let stop = Arc::clone(&stop);
            let connections = Arc::clone(&connections);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let stop = Arc::clone(&stop);
                    let behavior = Arc::clone(&behavior);
                    let handle = std::thread::spawn(move || behavior(&mut stream, &stop));
                    connections.lock().expect("connections").push(handle);
                }
            })
        };
        TestServer {
            addr,
            stop,
            requests: Arc::default(),
            accept: Some(accept),
            connections,
        }
    }

    /// Answers every request with the same raw bytes, then closes.
    pub fn canned(response: Vec<u8>) -> TestServer {
        TestServer::start(move |_, stream, _| {
            let _ = stream.write_all(&response);
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    /// `http://ip:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("request log").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let handles: Vec<_> = self
            .connections
            .lock()
            .map(|mut all| all.drain(..).collect())
            .unwrap_or_default();
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// Reads up to the blank line ending the request head (bounded, as a server must).
fn read_head(stream: &mut TcpStream) -> Option<Recorded> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(Recorded {
        head: String::from_utf8_lossy(&head).into_owned(),
    })
}

/// A complete response with Content-Length, closing the connection after it.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON response.
pub fn json(status: &str, body: &str) -> Vec<u8> {
    response(status, &[("Content-Type", "application/json")], body.as_bytes())
}

/// Holds the connection open, answering nothing, until the server stops.
pub fn hang(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends headers for a body delimited by the end of the connection, then `byte` every
/// `interval` until the client goes away or the server stops.
pub fn trickle(stream: &mut TcpStream, stop: &AtomicBool, interval: Duration) {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[";
    if stream.write_all(head).is_err() {
        return;
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(interval);
        if stream.write_all(b"1").is_err() || stream.flush().is_err() {
            return;
        }
    }
}

/// Sends headers, then bytes as fast as the client takes them, until it goes away.
pub fn flood(stream: &mut TcpStream, stop: &AtomicBool) {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
    if stream.write_all(head).is_err() {
        return;
    }
    let chunk = vec![b'x'; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        match stream.write_all(&chunk) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return,
        }
    }
}
