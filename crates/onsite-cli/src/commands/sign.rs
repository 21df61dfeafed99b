//! The customer's sign-off and the service report it is bound to.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Local;
use onsite_client::report::ReportLanguage;
use onsite_client::{Error, Replica};
use onsite_model::entities::StrokePoint;

use crate::output::Output;

pub fn sign_off_text(r: &Replica, out: Output, job: &str) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let text = r.sign_off_text(id)?;
    out.print(&text, |t| t.clone())
}

/// Records the signature drawn in `strokes_file` over the job's current sign-off text.
pub fn sign(
    r: &mut Replica,
    out: Output,
    job: &str,
    signer: &str,
    strokes_file: &Path,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let text = std::fs::read_to_string(strokes_file).map_err(|e| Error::File {
        path: strokes_file.to_owned(),
        source: e,
    })?;
    let strokes: Vec<Vec<StrokePoint>> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a list of strokes of {{x, y, t}} points",
            strokes_file.display()
        )
    })?;
    let sig = r.sign_current(id, signer, strokes)?;
    out.print(&sig, |s| {
        format!(
            "signed by {} at {}\n",
            s.signer_name,
            s.signed_at.with_timezone(&Local).format("%H:%M")
        )
    })
}

/// Prints each signature's check; fails (exit 4) when the report changed after one.
pub fn verify_signature(r: &Replica, out: Output, job: &str) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let check = r.verify_signature(id)?;
    out.print(&check, |c| {
        if c.signatures.is_empty() {
            return "not signed\n".into();
        }
        c.signatures
            .iter()
            .map(|s| {
                format!(
                    "signed by {} at {}: {}\n",
                    s.signer_name,
                    s.signed_at.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
                    if s.matches {
                        "report unchanged since signing"
                    } else {
                        "REPORT CHANGED AFTER SIGNING"
                    }
                )
            })
            .collect()
    })?;
    if check.signatures.iter().any(|s| !s.matches) {
        return Err(Error::Invalid(
            "the report changed after it was signed; show the customer the new text and sign again"
                .into(),
        )
        .into());
    }
    Ok(())
}

/// Writes the service report to the files asked for; without any, prints the HTML.
pub fn report(
    r: &Replica,
    out: Output,
    job: &str,
    html: Option<PathBuf>,
    pdf: Option<PathBuf>,
    lang: ReportLanguage,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let write = |path: &PathBuf, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| Error::File {
            path: path.clone(),
            source: e,
        })
    };
    let mut written = Vec::new();
    if let Some(path) = html {
        write(&path, r.service_report_html(id)?.as_bytes())?;
        written.push(path);
    }
    if let Some(path) = pdf {
        write(&path, &r.service_report_pdf(id, lang)?)?;
        written.push(path);
    }
    if written.is_empty() {
        print!("{}", r.service_report_html(id)?);
        return Ok(());
    }
    out.print(&serde_json::json!({ "written": written }), |_| {
        written
            .iter()
            .map(|p| format!("report written to {}\n", p.display()))
            .collect()
    })
}
