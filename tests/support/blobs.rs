//! Blob-transfer test utilities: real PNG images (noise, so they stay large through any
//! re-encoding), and a proxy that cuts blob uploads after a random number of body bytes.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A deterministic pseudo-random sequence (xorshift64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A PNG of noise pixels that does not compress (see `sample_noise_png`).
pub fn noise_png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    onsite_client::photo::sample_noise_png(w, h, seed)
}

/// Writes a noise PNG into `dir` and returns its path.
pub fn photo_file(
    dir: &std::path::Path,
    name: &str,
    w: u32,
    h: u32,
    seed: u64,
) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, noise_png(w, h, seed)).unwrap();
    path
}

/// What the cutting proxy saw and did.
#[derive(Clone, Debug, Default)]
pub struct CutStats {
    /// Blob chunk uploads cut part-way through their body.
    pub cuts: u32,
    /// Body bytes of blob chunk uploads forwarded in full.
    pub chunk_bytes_forwarded: u64,
    /// `Upload-Offset` of every chunk forwarded in full, in order.
    pub chunk_offsets: Vec<u64>,
    /// `Range` headers of downloads.
    pub ranges: Vec<String>,
    /// Blob requests refused by [`CutProxy::block_blobs`].
    pub blocked: u32,
}

#[derive(Default)]
struct Rules {
    /// Cut this many of the next chunk uploads, each after a random part of its body.
    cut_next: u32,
    /// Let this many chunk uploads through, then cut every one.
    cut_all_after: Option<u32>,
    /// Drop every blob request (HEAD, PATCH, finish, GET).
    block_blobs: bool,
    rng: Option<Rng>,
    stats: CutStats,
}

/// An HTTP/1.1 proxy for blob tests: passes everything through, except that chunk uploads
/// (`PATCH /api/v1/blobs/…`) can be cut after a random number of body bytes, the way a
/// mobile connection drops mid-request.
pub struct CutProxy {
    pub url: String,
    rules: Arc<Mutex<Rules>>,
    stop: Arc<AtomicBool>,
}

impl CutProxy {
    pub fn start(upstream: &str) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let rules: Arc<Mutex<Rules>> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (r, s) = (rules.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, up) = (r.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &up, &r);
                });
            }
        });
        CutProxy { url, rules, stop }
    }

    /// Cuts the next `n` chunk uploads at random body offsets (seeded).
    pub fn cut_next_chunks(&self, n: u32, seed: u64) {
        let mut r = self.rules.lock().unwrap();
        r.cut_next = n;
        r.rng = Some(Rng::new(seed));
    }

    /// Lets `n` chunk uploads through, then cuts every later one (the connection is gone).
    pub fn cut_all_chunks_after(&self, n: u32, seed: u64) {
        let mut r = self.rules.lock().unwrap();
        r.cut_all_after = Some(n);
        r.rng = Some(Rng::new(seed));
    }

    pub fn block_blobs(&self, on: bool) {
        self.rules.lock().unwrap().block_blobs = on;
    }

    /// Passes everything through again; the statistics are kept.
    pub fn heal(&self) {
        let mut r = self.rules.lock().unwrap();
        r.cut_next = 0;
        r.cut_all_after = None;
        r.block_blobs = false;
    }

    pub fn stats(&self) -> CutStats {
        self.rules.lock().unwrap().stats.clone()
    }

    pub fn reset_stats(&self) {
        self.rules.lock().unwrap().stats = CutStats::default();
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Message {
    fn head_text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head_text().lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
    fn start_line(&self) -> String {
        self.head_text()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// One message by Content-Length; `bodyless` for answers to HEAD and 204/304.
fn read_message(
    s: &mut TcpStream,
    request_method: Option<&str>,
) -> std::io::Result<Option<Message>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
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
    let mut m = Message {
        head: buf[..head_end].to_vec(),
        body: buf[head_end..].to_vec(),
    };
    let status = m.start_line().split(' ').nth(1).unwrap_or("").to_owned();
    let bodyless = request_method == Some("HEAD") || matches!(status.as_str(), "204" | "304");
    let len = if bodyless {
        0
    } else {
        m.header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    };
    while m.body.len() < len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        m.body.extend_from_slice(&chunk[..n]);
    }
    m.body.truncate(len);
    Ok(Some(m))
}

fn serve(mut client: TcpStream, upstream: &str, rules: &Mutex<Rules>) -> std::io::Result<()> {
    let mut up: Option<TcpStream> = None;
    while let Some(req) = read_message(&mut client, None)? {
        let start = req.start_line();
        let method = start.split(' ').next().unwrap_or("").to_owned();
        let is_blob = start.contains("/api/v1/blobs/");
        let is_chunk = is_blob && method == "PATCH";
        let cut_at = {
            let mut r = rules.lock().unwrap();
            if is_blob && r.block_blobs {
                r.stats.blocked += 1;
                drop(r);
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            if method == "GET"
                && is_blob
                && let Some(range) = req.header("range")
            {
                r.stats.ranges.push(range);
            }
            let cut = is_chunk
                && !req.body.is_empty()
                && (r.cut_next > 0 || r.cut_all_after.is_some_and(|n| n == 0));
            if is_chunk && let Some(n) = r.cut_all_after.as_mut() {
                *n = n.saturating_sub(1);
            }
            if cut {
                r.cut_next = r.cut_next.saturating_sub(1);
                r.stats.cuts += 1;
                let n = req.body.len() as u64;
                let rng = r.rng.get_or_insert_with(|| Rng::new(7));
                Some(rng.below(n) as usize)
            } else {
                if is_chunk {
                    r.stats.chunk_bytes_forwarded += req.body.len() as u64;
                    if let Some(o) = req.header("upload-offset").and_then(|v| v.parse().ok()) {
                        r.stats.chunk_offsets.push(o);
                    }
                }
                None
            }
        };
        if let Some(cut) = cut_at {
            // Head and part of the body reach the server, then the connection is gone.
            if let Ok(mut s) = TcpStream::connect(upstream) {
                let _ = s.write_all(&req.head);
                let _ = s.write_all(&req.body[..cut]);
                std::thread::sleep(Duration::from_millis(20));
                let _ = s.shutdown(Shutdown::Both);
            }
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        let mut conn = match up.take() {
            Some(c) => c,
            None => {
                let c = TcpStream::connect(upstream)?;
                c.set_read_timeout(Some(Duration::from_secs(30)))?;
                c
            }
        };
        conn.write_all(&req.head)?;
        conn.write_all(&req.body)?;
        let Some(resp) = read_message(&mut conn, Some(&method))? else {
            return Ok(());
        };
        client.write_all(&resp.head)?;
        client.write_all(&resp.body)?;
        up = Some(conn);
    }
    Ok(())
}
