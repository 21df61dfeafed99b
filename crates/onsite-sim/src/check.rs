//! What must hold at the end of every scenario, after the network delivered what it held
//! and every device synced without faults. Each check names what it found and where.

use std::collections::{BTreeMap, BTreeSet};

use onsite_client::LoggedOp;
use onsite_model::hlc::bound_remote;
use onsite_model::merge::FIELD_RULE;
use onsite_model::wire::{ConflictRecord, OpResult};
use onsite_model::{Change, DeviceId, EntityKind, Op};
use onsite_server::store::backend::Backend;
use onsite_server::store::{Store, WorkOrderDetail};
use serde_json::Value;

use crate::world::World;

/// Counts from the checks, for the run's figures.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub ops: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub values_checked: u64,
}

/// An op as the server stored it, with the device that wrote it.
struct Logged<'a> {
    op: &'a Op,
    outcome: OpResult,
}

/// The unique tag the workload puts in every value it writes (`… [17]`).
fn tags(v: &Value) -> Vec<String> {
    let s = v.to_string();
    let mut out = Vec::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find('[') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find(']')
            && rest[..j].bytes().all(|b| b.is_ascii_digit())
            && j > 0
        {
            out.push(format!("[{}]", &rest[..j]));
            rest = &rest[j..];
        }
    }
    out
}

fn contains_tag(v: &Value, tag: &str) -> bool {
    v.to_string().contains(tag)
}

pub fn check(world: &World) -> Result<Checked, String> {
    let store = world.server.store();
    let fail = |what: String| Err(format!("seed {}: {what}", world.seed));
    if let Some(e) = world.net.server_faults.first() {
        return fail(format!(
            "the server failed {} time(s) (an HTTP 500): {e}",
            world.net.server_faults.len()
        ));
    }
    let mut checked = Checked::default();
    let mut logs: Vec<(DeviceId, Vec<LoggedOp>)> = Vec::new();
    let mut checksums: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for dev in &world.devices {
        let r = dev.replica();
        let pending = r.pending_op_count().map_err(|e| e.to_string())?;
        if pending != 0 {
            return fail(format!("{} still has {pending} pending ops", dev.name));
        }
        let log = r.oplog(usize::MAX >> 1).map_err(|e| e.to_string())?;
        let id = r.device_id();
        let last = log.iter().map(|l| l.op.device_seq).max().unwrap_or(0);
        let acked = store
            .backend()
            .read(|tx| tx.device_acked_seq(id))
            .map_err(|e| e.to_string())?;
        if acked != last {
            return fail(format!(
                "{}: the server acknowledged up to #{acked}, the device wrote up to #{last}",
                dev.name
            ));
        }
        for l in &log {
            let on_server = store
                .backend()
                .read(|tx| tx.stored_outcome(id, l.op.device_seq))
                .map_err(|e| e.to_string())?
                .map(|s| serde_json::from_str::<Value>(&s).expect("stored outcome is JSON"));
            if on_server.is_none() || on_server != l.outcome {
                return fail(format!(
                    "{} op {}: the server stored {:?}, the device heard {:?}",
                    dev.name, l.op, on_server, l.outcome
                ));
            }
        }
        checked.ops += log.len() as u64;
        let who = store.authenticate(&dev.token).map_err(|e| e.to_string())?;
        let snapshot = store.snapshot(&who).map_err(|e| e.to_string())?;
        let (rows, local) = r.visible_state().map_err(|e| e.to_string())?;
        if snapshot.checksum != local {
            let diff = snapshot
                .rows
                .iter()
                .find(|s| {
                    !rows
                        .iter()
                        .any(|l| l.kind == s.kind && l.id == s.id && l.row == s.row)
                })
                .map(|s| {
                    format!(
                        "server row {} {} is missing or differs locally",
                        s.kind, s.id
                    )
                })
                .or_else(|| {
                    rows.iter()
                        .find(|l| {
                            !snapshot
                                .rows
                                .iter()
                                .any(|s| s.kind == l.kind && s.id == l.id)
                        })
                        .map(|l| format!("{} {} is on the device only", l.kind, l.id))
                })
                .unwrap_or_default();
            return fail(format!(
                "{} does not converge to the server's view of it: {diff}",
                dev.name
            ));
        }
        checksums
            .entry(dev.user)
            .or_default()
            .push((dev.name.clone(), local));
        logs.push((id, log));
    }
    for (user, sums) in &checksums {
        if sums.windows(2).any(|w| w[0].1 != w[1].1) {
            return fail(format!("{user}'s devices disagree: {sums:?}"));
        }
    }

    let mut details: BTreeMap<String, WorkOrderDetail> = BTreeMap::new();
    for job in &world.jobs {
        let d = store.work_order_detail(*job).map_err(|e| e.to_string())?;
        let mut seen = BTreeSet::new();
        for ev in &d.history {
            if !seen.insert(ev.id) {
                return fail(format!(
                    "job {}: status event {} recorded twice",
                    d.work_order.number, ev.id
                ));
            }
        }
        let notes: BTreeSet<_> = d.notes.iter().map(|n| n.id).collect();
        if notes.len() != d.notes.len() {
            return fail(format!(
                "job {}: a note is there twice",
                d.work_order.number
            ));
        }
        details.insert(job.to_string(), d);
    }
    let conflicts = store.list_conflicts(false).map_err(|e| e.to_string())?;
    checked.conflicts = conflicts.len() as u64;

    let all: Vec<Logged<'_>> = logs
        .iter()
        .flat_map(|(_, log)| log.iter())
        .map(|l| Logged {
            op: &l.op,
            outcome: serde_json::from_value(l.outcome.clone().expect("checked above"))
                .expect("an outcome"),
        })
        .collect();
    let mut by_tag: BTreeMap<String, &Logged<'_>> = BTreeMap::new();
    for l in &all {
        if let Change::Set { new, .. } = &l.op.change {
            for t in tags(new) {
                by_tag.insert(t, l);
            }
        }
    }
    for l in &all {
        let wo = &details[&l.op.work_order_id.to_string()];
        let number = &wo.work_order.number;
        match (&l.outcome, &l.op.change) {
            (OpResult::Rejected { reason, .. }, _) => {
                checked.rejected += 1;
                if reason.trim().is_empty() {
                    return fail(format!("op {} was rejected without a reason", l.op));
                }
            }
            (
                OpResult::Applied { .. } | OpResult::Merged { .. },
                Change::Transition { event_id, .. },
            ) if !wo.history.iter().any(|e| e.id == *event_id) => {
                return fail(format!(
                    "job {number}: the applied step {} is not in its history",
                    l.op
                ));
            }
            (OpResult::Conflict { conflict_id, .. }, _)
                if !conflicts.iter().any(|c| c.id == *conflict_id) =>
            {
                return fail(format!(
                    "op {}: conflict {conflict_id} is not on the server",
                    l.op
                ));
            }
            (OpResult::Applied { .. } | OpResult::Merged { .. }, Change::Insert { .. })
                if l.op.entity == EntityKind::Note
                    && !wo.notes.iter().any(|n| n.id.to_string() == l.op.entity_id) =>
            {
                return fail(format!("job {number}: note {} was lost", l.op.entity_id));
            }
            _ => {}
        }
        if let Change::Set { field, new, .. } = &l.op.change
            && !matches!(l.outcome, OpResult::Rejected { .. })
        {
            for tag in tags(new) {
                checked.values_checked += 1;
                if !value_kept(l, field, &tag, wo, &conflicts, &all) {
                    return fail(format!(
                        "job {number}: the value {new} of {} {} (op {}) was lost: not current, not in a conflict, not replaced by a write that saw it",
                        l.op.entity, field, l.op
                    ));
                }
            }
        }
    }
    for c in conflicts.iter().filter(|c| c.rule == FIELD_RULE) {
        let (Some(kept), Some(lost)) = (
            tags(&c.kept).first().and_then(|t| by_tag.get(t)),
            tags(&c.lost).first().and_then(|t| by_tag.get(t)),
        ) else {
            continue;
        };
        // The server orders a device's op by its HLC bounded to the server's clock when the
        // op arrived, so a clock a year fast does not win for a year.
        let received = |l: &Logged<'_>| {
            world
                .net
                .received
                .get(&(l.op.device_id, l.op.device_seq))
                .copied()
        };
        let rank = |l: &Logged<'_>| {
            let hlc = match received(l) {
                Some(at) => bound_remote(l.op.hlc, at),
                None => l.op.hlc,
            };
            (hlc, l.op.device_id)
        };
        if rank(kept) <= rank(lost) {
            return fail(format!(
                "conflict {} on {}: kept {} ({}) over {} ({}), against \"{FIELD_RULE}\"",
                c.id, c.field, c.kept, kept.op.hlc, c.lost, lost.op.hlc
            ));
        }
    }
    Ok(checked)
}

/// Whether the value tagged `tag` that op `l` wrote to `field` survives: current, kept in a
/// conflict row, or replaced by a later write of someone who had seen it.
fn value_kept(
    l: &Logged<'_>,
    field: &str,
    tag: &str,
    wo: &WorkOrderDetail,
    conflicts: &[ConflictRecord],
    all: &[Logged<'_>],
) -> bool {
    let current = match l.op.entity {
        EntityKind::WorkOrder => serde_json::to_value(&wo.work_order)
            .ok()
            .map(|v| v[field].clone()),
        _ => wo
            .checklist_answers
            .iter()
            .find(|a| {
                onsite_model::ops::checklist_answer_id(wo.work_order.id, &a.item_key)
                    == l.op.entity_id
            })
            .and_then(|a| serde_json::to_value(a).ok()),
    };
    if current.is_some_and(|v| contains_tag(&v, tag)) {
        return true;
    }
    if conflicts.iter().any(|c| {
        c.entity_id == l.op.entity_id && (contains_tag(&c.kept, tag) || contains_tag(&c.lost, tag))
    }) {
        return true;
    }
    let version = match l.outcome {
        OpResult::Applied { server_seq } | OpResult::Merged { server_seq } => Some(server_seq),
        _ => None,
    };
    all.iter().any(|o| {
        let same_field = matches!(&o.op.change, Change::Set { field: f, .. } if f == field)
            && o.op.entity_id == l.op.entity_id;
        let saw_it = (o.op.device_id == l.op.device_id && o.op.device_seq > l.op.device_seq)
            || version.is_some_and(|v| o.op.base_version.unwrap_or(0) >= v);
        same_field && saw_it && !matches!(o.outcome, OpResult::Rejected { .. })
    })
}
