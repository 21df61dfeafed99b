//! The photo pipeline on a generated 12-megapixel (4000×3000) JPEG: milliseconds per photo
//! through the whole of `attach_photo`, per stage, and bytes in versus bytes out.
//!
//! `cargo bench -p onsite-client --bench photo` (set ONSITE_BENCH_PHOTOS to change the count).

use std::time::{Duration, Instant};

use onsite_client::photo::{PhotoOptions, StageTimes, sample_photo};
use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{Replica, ReplicaOptions};
use onsite_model::clock::SystemIds;
use onsite_model::entities::PhotoKind;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::var("ONSITE_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Replica::open(&dir.path().join("replica"), ReplicaOptions::default()).expect("replica");
    let ids = SystemIds;
    let file = day_of_jobs(replica.now(), &sample_technician(&ids), 1, &ids);
    let job = file.work_orders[0].id;
    replica
        .import_json(&serde_json::to_string(&file).expect("json"))
        .expect("import");

    let photos: Vec<_> = (0..runs)
        .map(|i| {
            let path = dir.path().join(format!("p{i}.jpg"));
            std::fs::write(&path, sample_photo(4000, 3000, i as u8)).expect("write photo");
            path
        })
        .collect();

    let opts = PhotoOptions::default();
    let mut totals = Vec::new();
    let mut stages = Vec::<StageTimes>::new();
    let (mut bytes_in, mut bytes_out, mut thumb_px) = (0u64, 0u64, (0, 0));
    for path in &photos {
        let started = Instant::now();
        let a = replica
            .attach_photo_with(job, path, PhotoKind::Before, None, &opts)
            .expect("attach");
        totals.push(started.elapsed());
        stages.push(a.times);
        bytes_in += a.bytes_in;
        bytes_out += a.photo.size_bytes;
        thumb_px = (a.thumb_width, a.thumb_height);
    }
    totals.sort();
    let n = runs as f64;
    let avg = |f: fn(&StageTimes) -> Duration| stages.iter().map(|s| ms(f(s))).sum::<f64>() / n;
    println!(
        "photo pipeline, 4000x3000 JPEG -> 2048 px JPEG q{} + {}x{} thumbnail, {runs} photos",
        opts.jpeg_quality, thumb_px.0, thumb_px.1
    );
    println!(
        "  whole attach_photo: p50 {:.1} ms, max {:.1} ms",
        ms(totals[totals.len() / 2]),
        ms(totals[totals.len() - 1])
    );
    println!("  decode     {:>7.1} ms", avg(|s| s.decode));
    println!("  resize     {:>7.1} ms", avg(|s| s.resize));
    println!("  orient     {:>7.1} ms", avg(|s| s.orient));
    println!("  encode     {:>7.1} ms", avg(|s| s.encode));
    println!("  thumbnail  {:>7.1} ms", avg(|s| s.thumbnail));
    println!("  hash       {:>7.1} ms", avg(|s| s.hash));
    println!(
        "  store      {:>7.1} ms (blob files, original, transaction)",
        avg(|s| s.store)
    );
    println!(
        "  bytes in {:.2} MB/photo, out {:.2} MB/photo ({:.0} %)",
        bytes_in as f64 / n / 1e6,
        bytes_out as f64 / n / 1e6,
        bytes_out as f64 * 100.0 / bytes_in as f64
    );
}
