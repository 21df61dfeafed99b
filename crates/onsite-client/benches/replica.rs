//! Figures for the replica: one facade write (data change + ops, committed) and the job
//! list over 1,000 work orders. Run with `cargo bench -p onsite-client`.

use std::time::{Duration, Instant};

use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{Day, JobScope, Replica, ReplicaOptions};
use onsite_model::checklist::AnswerValue;
use onsite_model::clock::{Clock, SystemClock, SystemIds};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<5} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Replica::open(dir.path(), ReplicaOptions::default()).unwrap();
    let ids = SystemIds;
    let file = day_of_jobs(SystemClock.now(), &sample_technician(&ids), 1000, &ids);
    let jobs: Vec<_> = file.work_orders.iter().map(|w| w.id).collect();
    let t = Instant::now();
    r.import_json(&serde_json::to_string(&file).unwrap())
        .unwrap();
    println!(
        "import of 1,000 work orders: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let mut notes = Vec::new();
    for (i, job) in jobs.iter().cycle().take(2000).enumerate() {
        let t = Instant::now();
        r.add_note(*job, &format!("note {i}")).unwrap();
        notes.push(t.elapsed());
    }
    report("facade write: add_note (1 op)", notes);

    let mut answers = Vec::new();
    for (i, job) in jobs.iter().cycle().take(2000).enumerate() {
        let t = Instant::now();
        r.answer(*job, "shoe_covers", AnswerValue::Check(i % 2 == 0))
            .unwrap();
        answers.push(t.elapsed());
    }
    report("facade write: answer checklist item (1 op)", answers);

    let mut steps = Vec::new();
    for job in jobs.iter().take(500) {
        let t = Instant::now();
        r.start_travel(*job).unwrap();
        steps.push(t.elapsed());
        let t = Instant::now();
        r.arrive(*job).unwrap();
        steps.push(t.elapsed());
    }
    report("facade write: status step (+ time entry)", steps);

    let end = SystemClock.now() + chrono::Duration::days(30);
    let mut lists = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let list = r.jobs(JobScope::All, Day { end }).unwrap();
        lists.push(t.elapsed());
        assert_eq!(list.len(), 1000);
    }
    report("job list, 1,000 work orders with SLA state", lists);

    let mut details = Vec::new();
    for job in jobs.iter().take(200) {
        let t = Instant::now();
        r.job(*job).unwrap();
        details.push(t.elapsed());
    }
    report("job detail", details);
    println!("ops in the change log: {}", r.pending_op_count().unwrap());
}
