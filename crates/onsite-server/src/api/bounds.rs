//! Numbers at the edge: every number a request carries in its query, headers or body is
//! checked against what the server can hold before it reaches the store. Counters and
//! offsets are stored as signed 64-bit integers, so a value past `i64::MAX` would wrap to a
//! negative number (a cursor of 2^63 would replay everything); such a value is refused with
//! 400 and a message naming the parameter and its range.

use onsite_model::wire::{MAX_BLOB_BYTES, MAX_PULL_LIMIT, PushRequest};

use crate::error::{Error, Result};
use crate::store::WorkOrderFilter;

/// The largest counter, seq or offset the stores hold (a SQL `BIGINT`).
pub const MAX_STORED: u64 = i64::MAX as u64;

/// A pull cursor: a `server_seq` the server handed out, so at most `MAX_STORED`.
pub fn cursor(cursor: u64) -> Result<u64> {
    if cursor > MAX_STORED {
        return Err(Error::bad_request(
            "cursor_out_of_range",
            format!(
                "cursor {cursor} is beyond any server_seq (0..={MAX_STORED}); send the cursor of the last page, or 0 to start over"
            ),
        ));
    }
    Ok(cursor)
}

/// A pull page size: absent or 0 for the default, else 1..=`MAX_PULL_LIMIT`.
pub fn pull_limit(limit: Option<u32>) -> Result<u32> {
    match limit {
        Some(n) if n > MAX_PULL_LIMIT => Err(Error::bad_request(
            "limit_out_of_range",
            format!(
                "limit {n} is over the largest page; ask for 1..={MAX_PULL_LIMIT} rows (or leave it out for the default)"
            ),
        )),
        Some(n) => Ok(n),
        None => Ok(0),
    }
}

/// The seqs and versions an op carries must fit the stores' counters.
pub fn push_numbers(req: &PushRequest) -> Result<()> {
    for (i, op) in req.ops.iter().enumerate() {
        if op.device_seq == 0 || op.device_seq > MAX_STORED {
            return Err(Error::bad_request(
                "seq_out_of_range",
                format!(
                    "op {} has device_seq {}; device seqs count from 1 and stay within 1..={MAX_STORED}",
                    i + 1,
                    op.device_seq
                ),
            ));
        }
        if let Some(base) = op.base_version.filter(|b| *b > MAX_STORED) {
            return Err(Error::bad_request(
                "version_out_of_range",
                format!(
                    "op {} (device_seq {}) has base_version {base}, beyond any server version (0..={MAX_STORED}); send the version the device last pulled",
                    i + 1,
                    op.device_seq
                ),
            ));
        }
    }
    Ok(())
}

/// `Upload-Offset`: where a chunk starts, within the largest blob.
pub fn upload_offset(header: Option<&str>) -> Result<u64> {
    let Some(value) = header.map(str::trim) else {
        return Err(Error::bad_request(
            "missing_offset",
            "send the chunk's start as an Upload-Offset header (HEAD the blob to learn it)",
        ));
    };
    match value.parse::<u64>() {
        Ok(offset) if offset <= MAX_BLOB_BYTES => Ok(offset),
        _ => Err(Error::bad_request(
            "bad_offset",
            format!(
                "Upload-Offset {value:?} is not a byte offset within a blob (0..={MAX_BLOB_BYTES}); HEAD the blob to learn where to resume"
            ),
        )),
    }
}

/// A `Range: bytes=…` header whose numbers do not fit, or whose end comes before its
/// start, is refused rather than silently answered in full.
pub fn range(header: Option<&str>) -> Result<()> {
    let Some(spec) = header.map(str::trim) else {
        return Ok(());
    };
    let bad = |why: &str| {
        Err(Error::bad_request(
            "bad_range",
            format!(
                "Range {spec:?} {why}; ask for one range such as bytes=0-1023, bytes=1024- or bytes=-512"
            ),
        ))
    };
    let Some(ranges) = spec.strip_prefix("bytes=") else {
        return bad("is not a byte range");
    };
    for one in ranges.split(',') {
        let Some((start, end)) = one.trim().split_once('-') else {
            return bad("is not START-END");
        };
        let number = |s: &str| -> std::result::Result<Option<u64>, ()> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            s.parse::<u64>()
                .ok()
                .filter(|n| *n <= MAX_STORED)
                .map(Some)
                .ok_or(())
        };
        match (number(start), number(end)) {
            (Ok(Some(s)), Ok(Some(e))) if e < s => return bad("ends before it starts"),
            (Ok(None), Ok(None)) => return bad("names no bytes"),
            (Ok(_), Ok(_)) => {}
            _ => return bad(&format!("has a number that is not within 0..={MAX_STORED}")),
        }
    }
    Ok(())
}

/// A work-order listing's appointment period must not end before it starts.
pub fn period(filter: &WorkOrderFilter) -> Result<()> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to < from
    {
        return Err(Error::bad_request(
            "bad_period",
            format!(
                "to ({}) is before from ({}); give from before to",
                onsite_model::time::format_ts(&to),
                onsite_model::time::format_ts(&from)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_with_numbers_that_do_not_fit_are_refused() {
        for ok in [None, Some("bytes=0-3"), Some("bytes=4-"), Some("bytes=-3")] {
            assert!(range(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "bytes=18446744073709551616-",
            "bytes=9223372036854775808-",
            "bytes=5-3",
            "bytes=-",
            "bytes=+1-2",
            "items=0-3",
        ] {
            assert_eq!(range(Some(bad)).unwrap_err().code(), "bad_range", "{bad}");
        }
    }

    #[test]
    fn offsets_cursors_and_limits_stay_within_what_is_stored() {
        assert_eq!(upload_offset(Some(" 42 ")).unwrap(), 42);
        assert_eq!(upload_offset(None).unwrap_err().code(), "missing_offset");
        for bad in [
            "-1",
            "1e3",
            "18446744073709551616",
            &(MAX_BLOB_BYTES + 1).to_string(),
        ] {
            assert_eq!(upload_offset(Some(bad)).unwrap_err().code(), "bad_offset");
        }
        assert_eq!(cursor(MAX_STORED).unwrap(), MAX_STORED);
        assert!(cursor(MAX_STORED + 1).is_err());
        assert_eq!(pull_limit(None).unwrap(), 0);
        assert_eq!(pull_limit(Some(MAX_PULL_LIMIT)).unwrap(), MAX_PULL_LIMIT);
        assert!(pull_limit(Some(MAX_PULL_LIMIT + 1)).is_err());
    }
}
