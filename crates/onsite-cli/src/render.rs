//! Human output: short, aligned, in the technician's local time.

use std::fmt::Write;

use chrono::Local;
use onsite_client::{JobDetail, JobSummary, LoggedOp};
use onsite_model::checklist::{AnswerValue, ChecklistTemplate};
use onsite_model::sla::SlaClock;
use onsite_model::time::Timestamp;

fn hm(t: &Timestamp) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

fn day_hm(t: &Timestamp) -> String {
    t.with_timezone(&Local).format("%a %d %b %H:%M").to_string()
}

pub fn job_list(jobs: &[JobSummary]) -> String {
    if jobs.is_empty() {
        return "no jobs\n".into();
    }
    let mut out = String::new();
    for j in jobs {
        let window = match (j.appointment_start, j.appointment_end) {
            (Some(s), Some(e)) => format!("{}-{}", hm(&s), hm(&e)),
            (Some(s), None) => hm(&s),
            _ => "unscheduled".into(),
        };
        let _ = writeln!(
            out,
            "{:<15} {:<11} {:<11} {:<8} {:<24} resolve: {}{}{}",
            j.number,
            window,
            j.status.as_str(),
            j.priority.as_str(),
            truncate(&j.customer_name, 24),
            sla_text(&j.sla.resolve),
            if j.needs_review { "  NEEDS REVIEW" } else { "" },
            if j.pending_ops > 0 {
                format!("  ({} unsynced)", j.pending_ops)
            } else {
                String::new()
            },
        );
        if let Some(a) = &j.address {
            let _ = writeln!(out, "{:<15} {}", "", a);
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn answer_text(a: &AnswerValue) -> String {
    match a {
        AnswerValue::Check(true) => "done".into(),
        AnswerValue::Check(false) => "NOT done".into(),
        AnswerValue::No(reason) => format!("no: {reason}"),
        AnswerValue::Text(t) => t.clone(),
        AnswerValue::Number(n) => n.to_string(),
        AnswerValue::Photo(p) => format!("photo {p}"),
        AnswerValue::Choice(c) => c.clone(),
    }
}

pub fn job_detail(d: &JobDetail) -> String {
    let wo = &d.work_order;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {}  {}",
        wo.number, wo.job_type, wo.priority, wo.status
    );
    if wo.needs_review {
        let _ = writeln!(
            out,
            "NEEDS REVIEW: the office must look at a conflict on this job"
        );
    }
    if let Some(c) = &d.customer {
        let _ = writeln!(
            out,
            "customer   {}  {}",
            c.name,
            c.phone.as_deref().unwrap_or("")
        );
        if let Some(a) = &c.address {
            let _ = writeln!(out, "address    {a}");
        }
    }
    if let Some(a) = &d.asset {
        let _ = writeln!(
            out,
            "product    {}  serial {}",
            a.model,
            a.serial.as_deref().unwrap_or("-")
        );
    }
    if let Some(serial) = &wo.plate_serial {
        let _ = writeln!(
            out,
            "plate      serial {serial} (read from the plate on this job)"
        );
    }
    if let (Some(s), Some(e)) = (wo.appointment_start, wo.appointment_end) {
        let _ = writeln!(out, "appointment {} - {}", day_hm(&s), hm(&e));
    }
    let _ = writeln!(out, "respond    {}", sla_text(&d.sla.respond));
    let _ = writeln!(out, "resolve    {}", sla_text(&d.sla.resolve));
    let _ = writeln!(out, "problem    {}", wo.problem);
    if let Some(t) = &wo.diagnosis {
        let _ = writeln!(out, "diagnosis  {t}");
    }
    if let Some(t) = &wo.work_done {
        let _ = writeln!(out, "work done  {t}");
    }
    let _ = writeln!(
        out,
        "\nchecklist ({}/{} required done)",
        d.progress.required_done, d.progress.required_total
    );
    for line in &d.checklist {
        let mark = if line.item.required { "*" } else { " " };
        let answer = line
            .answer
            .as_ref()
            .map(answer_text)
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            " {mark} [{:<9}] {:<22} {:<40} {}",
            line.item.phase.as_str(),
            line.item.key,
            line.item.label.en,
            answer
        );
    }
    for p in &d.parts {
        let _ = writeln!(
            out,
            "part       {} x {} {}  ({})",
            p.quantity, p.part_no, p.description, p.id
        );
    }
    for t in &d.time_entries {
        let _ = writeln!(
            out,
            "time       {} {}-{}",
            t.kind,
            hm(&t.started_at),
            hm(&t.ended_at)
        );
    }
    for p in &d.photos {
        let _ = writeln!(
            out,
            "photo      {} {} {}",
            p.kind,
            p.sha256.get(..12).unwrap_or(""),
            p.caption.as_deref().unwrap_or("")
        );
    }
    for s in &d.signatures {
        let _ = writeln!(
            out,
            "signed     by {} at {}",
            s.signer_name,
            day_hm(&s.signed_at)
        );
    }
    for f in &d.feedback {
        let _ = writeln!(
            out,
            "feedback   {} stars{}",
            f.rating,
            f.comment
                .as_ref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        );
    }
    for n in &d.notes {
        let _ = writeln!(out, "note       {} {}", day_hm(&n.created_at), n.body);
    }
    for e in &d.history {
        let _ = writeln!(
            out,
            "history    {} {} → {}{}",
            day_hm(&e.at),
            e.from,
            e.to,
            e.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    for c in &d.conflicts {
        let _ = writeln!(
            out,
            "conflict   {} {}: kept {} over {} ({})",
            c.entity, c.field, c.kept, c.lost, c.detail
        );
    }
    if wo.status.is_closed() {
        let _ = writeln!(out, "\njob {}", wo.status);
    } else if d.missing_for_completion.is_empty() {
        let _ = writeln!(out, "\nready to complete");
    } else {
        let _ = writeln!(out, "\nstill missing for completion:");
        for m in &d.missing_for_completion {
            let _ = writeln!(out, "  - {m}");
        }
    }
    if d.pending_ops > 0 {
        let _ = writeln!(out, "{} changes not yet synced", d.pending_ops);
    }
    out
}

pub fn oplog(log: &[LoggedOp]) -> String {
    let mut out = String::new();
    for l in log {
        let _ = writeln!(
            out,
            "{:<48} {} {}",
            l.op.to_string(),
            day_hm(&l.op.recorded_at),
            if l.acknowledged { "synced" } else { "pending" }
        );
    }
    if out.is_empty() {
        out.push_str("the change log is empty\n");
    }
    out
}

pub fn templates(templates: &[ChecklistTemplate]) -> String {
    let mut out = String::new();
    for t in templates {
        let _ = writeln!(
            out,
            "{} (v{}): photos {:?}, signature {:?}",
            t.key, t.version, t.required_photos, t.signature
        );
        for i in &t.items {
            let _ = writeln!(
                out,
                "  {} [{}] {:<22} {} / {}",
                if i.required { "*" } else { " " },
                i.phase.as_str(),
                i.key,
                i.label.en,
                i.label.zh
            );
        }
    }
    out
}

fn sla_text(c: &SlaClock) -> String {
    let fmt = |ms: i64| {
        let m = ms / 60_000;
        if m >= 60 {
            format!("{}h{:02}m", m / 60, m % 60)
        } else {
            format!("{m}m")
        }
    };
    match c {
        SlaClock::NotSet => "-".into(),
        SlaClock::NotApplicable => "n/a".into(),
        SlaClock::Running { left_ms, .. } => format!("{} left", fmt(*left_ms)),
        SlaClock::Breached { over_ms, .. } => format!("BREACHED {} ago", fmt(*over_ms)),
        SlaClock::Met { .. } => "met".into(),
        SlaClock::Missed { late_ms, .. } => format!("missed by {}", fmt(*late_ms)),
    }
}
