//! The sign-off text a customer reads before signing, and whether a signature still matches
//! it. A signature binds the sha256 of this text (`Signature::report_sha256`), so the device
//! that takes the signature and the office that reviews the record must build the text the
//! same way: this module is that one way.

use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::entities::{Asset, Customer, PartUsed, Signature, WorkOrder};
use crate::ids::SignatureId;
use crate::time::{Timestamp, serde_ts};

/// The plain-text summary a customer reads before signing: who, what, what was done, with
/// which parts (in the order of their ids, the order they were added in, whatever order the
/// caller holds them in).
pub fn sign_off_text(
    wo: &WorkOrder,
    customer: Option<&Customer>,
    asset: Option<&Asset>,
    parts: &[PartUsed],
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: &str| {
        out.push_str(label);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    };
    line(&mut out, "Job", &wo.number);
    if let Some(c) = customer {
        line(&mut out, "Customer", &c.name);
        if let Some(a) = &c.address {
            line(&mut out, "Address", a);
        }
    }
    if let Some(a) = asset {
        line(
            &mut out,
            "Product",
            &format!(
                "{} (serial {})",
                a.model,
                a.serial.as_deref().unwrap_or("-")
            ),
        );
    }
    line(&mut out, "Problem", &wo.problem);
    line(
        &mut out,
        "Diagnosis",
        wo.diagnosis.as_deref().unwrap_or("-"),
    );
    line(
        &mut out,
        "Work done",
        wo.work_done.as_deref().unwrap_or("-"),
    );
    let mut parts: Vec<&PartUsed> = parts.iter().collect();
    parts.sort_by_key(|p| p.id);
    for p in parts {
        line(
            &mut out,
            "Part",
            &format!("{} x {} {}", p.quantity, p.part_no, p.description),
        );
    }
    if let Some(r) = &wo.result {
        line(&mut out, "Result", r);
    }
    out
}

/// What a signature bound, checked against the sign-off text as the record reads now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureVerdict {
    pub signature_id: SignatureId,
    pub signer_name: String,
    #[serde(with = "serde_ts")]
    pub signed_at: Timestamp,
    pub png_sha256: Option<String>,
    /// The sha256 of the text the signer was shown.
    pub signed_report_sha256: String,
    /// The text the signer saw is the text now: nothing on the report changed since.
    pub matches: bool,
}

/// The sign-off text as the record reads now, its sha256 and each signature's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOffCheck {
    pub text: String,
    pub report_sha256: String,
    pub signatures: Vec<SignatureVerdict>,
}

impl SignOffCheck {
    /// Checks each of `signatures` against `text`, the sign-off text as it reads now.
    pub fn of(text: String, signatures: &[Signature]) -> Self {
        let report_sha256 = sha256_hex(text.as_bytes());
        let signatures = signatures
            .iter()
            .map(|s| SignatureVerdict {
                signature_id: s.id,
                signer_name: s.signer_name.clone(),
                signed_at: s.signed_at,
                png_sha256: s.png_sha256.clone(),
                signed_report_sha256: s.report_sha256.clone(),
                matches: s.report_sha256 == report_sha256,
            })
            .collect();
        Self {
            text,
            report_sha256,
            signatures,
        }
    }

    /// Signed at least once, and every signature matches the text now.
    pub fn all_match(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(|s| s.matches)
    }
}
