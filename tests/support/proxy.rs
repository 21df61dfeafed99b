//! A fault-injecting HTTP/1.1 proxy for loopback tests. Each request passing through gets
//! the next fault from a script (or none): the request dropped, the response dropped after
//! the server committed, the request sent twice, a delay, or the connection cut mid-body.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the client's connection without forwarding the request.
    DropRequest,
    /// Forward, let the server answer (and commit), then close without replying.
    DropResponse,
    /// Send the request to the server twice; the client sees the second answer.
    Duplicate,
    /// Wait before forwarding.
    Delay(Duration),
    /// Forward only part of the request body, then cut both connections.
    CutBody,
    /// Pass the request through, and send a copy of it again after the next request: a
    /// stale duplicate arriving out of order.
    ReplayAfterNext,
}

pub struct Proxy {
    pub url: String,
    upstream: Arc<Mutex<String>>,
    script: Arc<Mutex<VecDeque<Option<Fault>>>>,
    random: Arc<Mutex<Option<(u64, u32)>>>,
    replay: Arc<Mutex<Option<Vec<u8>>>>,
    pub faults_injected: Arc<AtomicU64>,
    pub requests: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let p = Proxy {
            url,
            upstream: Arc::new(Mutex::new(
                upstream.trim_start_matches("http://").to_owned(),
            )),
            script: Arc::default(),
            random: Arc::default(),
            replay: Arc::default(),
            faults_injected: Arc::default(),
            requests: Arc::default(),
            stop: Arc::default(),
        };
        let replay = p.replay.clone();
        let (upstream, script, random, injected, requests, stop) = (
            p.upstream.clone(),
            p.script.clone(),
            p.random.clone(),
            p.faults_injected.clone(),
            p.requests.clone(),
            p.stop.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (upstream, script, random, injected, requests, replay) = (
                    upstream.clone(),
                    script.clone(),
                    random.clone(),
                    injected.clone(),
                    requests.clone(),
                    replay.clone(),
                );
                std::thread::spawn(move || {
                    let faults = Faults {
                        script: &script,
                        random: &random,
                        replay: &replay,
                    };
                    let _ = serve(conn, &upstream, &faults, &injected, &requests);
                });
            }
        });
        p
    }

    /// Faults for the next requests, in order (`None` passes a request through).
    pub fn script(&self, faults: impl IntoIterator<Item = Option<Fault>>) {
        self.script.lock().unwrap().extend(faults);
    }

    /// After the script: a fault on roughly one request in `one_in`, from a seeded sequence.
    pub fn random_faults(&self, seed: u64, one_in: u32) {
        *self.random.lock().unwrap() = Some((seed.max(1), one_in.max(1)));
    }

    pub fn clear(&self) {
        self.script.lock().unwrap().clear();
        *self.random.lock().unwrap() = None;
    }

    pub fn set_upstream(&self, upstream: &str) {
        *self.upstream.lock().unwrap() = upstream.trim_start_matches("http://").to_owned();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn next_fault(
    script: &Mutex<VecDeque<Option<Fault>>>,
    random: &Mutex<Option<(u64, u32)>>,
) -> Option<Fault> {
    if let Some(f) = script.lock().unwrap().pop_front() {
        return f;
    }
    let mut r = random.lock().unwrap();
    let (state, one_in) = r.as_mut()?;
    // xorshift64: deterministic per seed.
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let x = *state;
    if x % *one_in as u64 != 0 {
        return None;
    }
    Some(match (x >> 32) % 6 {
        0 => Fault::DropRequest,
        1 => Fault::DropResponse,
        2 => Fault::Duplicate,
        3 => Fault::Delay(Duration::from_millis(30 + (x >> 40) % 100)),
        4 => Fault::ReplayAfterNext,
        _ => Fault::CutBody,
    })
}

/// One HTTP message: head and body (by Content-Length; the server and client here never
/// use chunked bodies).
fn read_message(s: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(head_end + len);
    Ok(Some(buf))
}

fn round_trip(upstream: &str, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(30)))?;
    up.write_all(request)?;
    read_message(&mut up)?.ok_or_else(|| ErrorKind::UnexpectedEof.into())
}

struct Faults<'a> {
    script: &'a Mutex<VecDeque<Option<Fault>>>,
    random: &'a Mutex<Option<(u64, u32)>>,
    replay: &'a Mutex<Option<Vec<u8>>>,
}

fn serve(
    mut client: TcpStream,
    upstream: &Mutex<String>,
    faults: &Faults<'_>,
    injected: &AtomicU64,
    requests: &AtomicU64,
) -> std::io::Result<()> {
    while let Some(request) = read_message(&mut client)? {
        requests.fetch_add(1, Ordering::SeqCst);
        let upstream = upstream.lock().unwrap().clone();
        let stale = faults.replay.lock().unwrap().take();
        let fault = next_fault(faults.script, faults.random);
        if fault.is_some() {
            injected.fetch_add(1, Ordering::SeqCst);
        }
        let result = relay(&mut client, &upstream, &request, fault, faults.replay);
        if let Some(stale) = stale {
            let _ = round_trip(&upstream, &stale);
        }
        if !result? {
            return Ok(());
        }
    }
    Ok(())
}

/// Relays one request under `fault`; false when the client connection was closed.
fn relay(
    client: &mut TcpStream,
    upstream: &str,
    request: &[u8],
    fault: Option<Fault>,
    replay: &Mutex<Option<Vec<u8>>>,
) -> std::io::Result<bool> {
    match fault {
        None => {
            let resp = round_trip(upstream, request)?;
            client.write_all(&resp)?;
        }
        Some(Fault::ReplayAfterNext) => {
            let resp = round_trip(upstream, request)?;
            *replay.lock().unwrap() = Some(request.to_vec());
            client.write_all(&resp)?;
        }
        Some(Fault::DropRequest) => {
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
        Some(Fault::DropResponse) => {
            let _ = round_trip(upstream, request);
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
        Some(Fault::Duplicate) => {
            let _ = round_trip(upstream, request);
            let resp = round_trip(upstream, request)?;
            client.write_all(&resp)?;
        }
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            let resp = round_trip(upstream, request)?;
            client.write_all(&resp)?;
        }
        Some(Fault::CutBody) => {
            if let Ok(mut up) = TcpStream::connect(upstream) {
                let cut = request.len() * 2 / 3;
                let _ = up.write_all(&request[..cut]);
                let _ = up.shutdown(Shutdown::Both);
            }
            let _ = client.shutdown(Shutdown::Both);
            return Ok(false);
        }
    }
    Ok(true)
}
