//! A device's view: pages of what changed since its cursor, and the whole visible state.

use onsite_model::Hlc;
use onsite_model::wire::{MAX_PULL_LIMIT, PullResponse, VisibleRow, page_checksum, state_checksum};

use super::super::backend::{Backend, Counter};
use super::super::interface::{Principal, Snapshot};
use super::context::Engine;
use crate::error::Result;

const DEFAULT_PULL_LIMIT: u32 = 500;

impl<B: Backend> Engine<B> {
    pub(super) fn pull(&self, who: &Principal, cursor: u64, limit: u32) -> Result<PullResponse> {
        let limit = if limit == 0 {
            DEFAULT_PULL_LIMIT
        } else {
            limit.min(MAX_PULL_LIMIT)
        };
        let now = self.clock.now();
        self.read(|tx| {
            let high_water = tx.counter(Counter::ServerSeq)?;
            let server_hlc = Hlc::from_u64(tx.counter(Counter::ServerHlc)?);
            let mut changes = tx.visible_rows(who.user.id, cursor, limit as u64 + 1, true)?;
            let has_more = changes.len() > limit as usize;
            changes.truncate(limit as usize);
            let next = if has_more {
                changes.last().map_or(cursor, |r| r.server_seq)
            } else {
                cursor.max(high_water)
            };
            let acked = tx.acked_through(who.device_id, next)?;
            Ok(PullResponse {
                checksum: page_checksum(&changes),
                changes,
                cursor: next,
                has_more,
                acked_device_seq: acked.unwrap_or(0),
                server_time: now,
                server_hlc,
                epoch: self.backend.epoch().to_owned(),
            })
        })
    }

    pub(super) fn snapshot(&self, who: &Principal) -> Result<Snapshot> {
        self.read(|tx| {
            let rows: Vec<VisibleRow> = tx
                .visible_rows(who.user.id, 0, u64::MAX >> 1, false)?
                .into_iter()
                .filter_map(|r| {
                    r.row.map(|row| VisibleRow {
                        kind: r.kind,
                        id: r.id,
                        row,
                    })
                })
                .collect();
            Ok(Snapshot {
                checksum: state_checksum(&rows),
                rows,
            })
        })
    }
}
