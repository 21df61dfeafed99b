//! The record a customer signs and the report it is bound to, on the device: signatures
//! drawn, stored and checked against the sign-off text, and the service report in HTML and
//! PDF (English and Chinese, with the subset CJK font).

use std::path::Path;

use onsite_client::photo::sample_photo;
use onsite_client::report::ReportLanguage;
use onsite_model::entities::{PhotoKind, StrokePoint};
use sha2::{Digest, Sha256};

mod common;

use common::{fixture, fixture_with};

fn stroke(points: &[(f32, f32)]) -> Vec<StrokePoint> {
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| StrokePoint {
            x,
            y,
            t: i as u32 * 16,
        })
        .collect()
}

fn signature_strokes() -> Vec<Vec<StrokePoint>> {
    vec![
        stroke(&[
            (10.0, 80.0),
            (40.0, 20.0),
            (70.0, 90.0),
            (100.0, 30.0),
            (140.0, 70.0),
        ]),
        stroke(&[(160.0, 40.0), (220.0, 45.0)]),
    ]
}

#[test]
fn a_signature_is_rendered_stored_and_bound_to_the_report_text() {
    let mut f = fixture();
    let job = f.jobs[0];
    f.replica.set_diagnosis(job, "Worn pump seal").unwrap();
    let text = f.replica.sign_off_text(job).unwrap();
    let sig = f
        .replica
        .add_signature(job, " Li Na ", signature_strokes(), &text)
        .unwrap();
    assert_eq!(sig.signer_name, "Li Na");
    let png_sha = sig.png_sha256.clone().expect("rendered");
    let png = f.replica.read_blob(&png_sha).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(hex::encode(Sha256::digest(&png)), png_sha);
    let image = image::load_from_memory(&png).unwrap();
    assert_eq!((image.width(), image.height()), (600, 200));
    let media: String = f
        .replica
        .connection()
        .query_row(
            "SELECT media_type FROM blob WHERE sha256 = ?1",
            [&png_sha],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(media, "image/png");

    let check = f.replica.verify_signature(job).unwrap();
    assert!(check.all_match());
    assert_eq!(check.signatures.len(), 1);
    assert_eq!(check.signatures[0].signer_name, "Li Na");
    assert_eq!(check.signatures[0].signed_at, sig.signed_at);

    // The report changes after signing: the check says so.
    f.clock.advance_ms(60_000);
    f.replica.set_diagnosis(job, "Cracked impeller").unwrap();
    let check = f.replica.verify_signature(job).unwrap();
    assert!(!check.signatures[0].matches);
    assert!(!check.all_match());
    // Putting the text back makes it match again: the hash is of the text, not of time.
    f.replica.set_diagnosis(job, "Worn pump seal").unwrap();
    assert!(f.replica.verify_signature(job).unwrap().all_match());
}

#[test]
fn strokes_off_the_pad_are_refused_and_store_nothing() {
    let mut f = fixture();
    let job = f.jobs[0];
    let before = f.stored();
    for bad in [f32::NAN, f32::INFINITY, 1e12] {
        let mut strokes = signature_strokes();
        strokes[1].push(StrokePoint {
            x: bad,
            y: 3.0,
            t: 99,
        });
        let err = f
            .replica
            .add_signature(job, "Li Na", strokes, "text")
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input");
        assert!(
            err.to_string().contains("outside any signature pad"),
            "{err}"
        );
    }
    let err = f
        .replica
        .add_signature(job, "Li Na", vec![stroke(&[(1.0, 1.0)])], "text")
        .unwrap_err();
    assert!(err.to_string().contains("signature is empty"), "{err}");
    assert_eq!(f.stored(), before);
    let blobs: i64 = f
        .replica
        .connection()
        .query_row(
            "SELECT count(*) FROM job_record WHERE kind = 'signature'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(blobs, 0);
}

#[test]
fn the_service_report_holds_the_record_with_photos_and_signature_in_html_and_pdf() {
    let mut f = fixture();
    let job = f.jobs[0];
    f.replica
        .set_diagnosis(job, "Seal worn <inside> & leaking")
        .unwrap();
    f.replica.set_work_done(job, "Replaced the seal").unwrap();
    f.replica
        .add_part(job, "SEAL-42", "Pump seal", 1.0)
        .unwrap();
    let photo = f.write("before.jpg", &sample_photo(800, 600, 9));
    f.replica
        .attach_photo(job, &photo, PhotoKind::Before, Some("leak"))
        .unwrap();
    let text = f.replica.sign_off_text(job).unwrap();
    let sig = f
        .replica
        .add_signature(job, "Wang Fang", signature_strokes(), &text)
        .unwrap();
    f.replica
        .add_feedback(job, 5, Some(9), Some("Quick & tidy"))
        .unwrap();
    let d = f.replica.job(job).unwrap();

    let html = f.replica.service_report_html(job).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("@media print") && html.contains("size: A4"));
    assert!(html.contains(&d.work_order.number));
    assert!(html.contains(&d.customer.as_ref().unwrap().name));
    assert!(
        html.contains("Seal worn &lt;inside&gt; &amp; leaking"),
        "escaped"
    );
    assert!(!html.contains("<inside>"));
    assert!(html.contains("SEAL-42") && html.contains("Replaced the seal"));
    assert!(html.contains("Quick &amp; tidy"));
    assert!(html.contains("检查清单") && html.contains("Arrival"));
    assert!(html.contains("data:image/jpeg;base64,"), "thumbnail inline");
    assert!(html.contains("data:image/png;base64,"), "signature inline");
    assert!(html.contains("Wang Fang"));
    assert!(html.contains("unchanged since signing"));
    assert!(!html.contains("src=\"http"), "self-contained");
    let _ = sig;

    let pdf = f
        .replica
        .service_report_pdf(job, ReportLanguage::English)
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert!(pdf.len() > 10_000, "{} bytes", pdf.len());
    let body = String::from_utf8_lossy(&pdf);
    assert!(body.contains("/DCTDecode") && body.contains("/FlateDecode"));
    assert!(body.contains("SEAL-42"));

    // Changing the report after signing shows in the report itself.
    f.replica.set_diagnosis(job, "Something else").unwrap();
    let html = f.replica.service_report_html(job).unwrap();
    assert!(html.contains("changed after signing"));
    let pdf = f
        .replica
        .service_report_pdf(job, ReportLanguage::English)
        .unwrap();
    assert!(String::from_utf8_lossy(&pdf).contains("CHANGED AFTER SIGNING"));
}

/// The text `pdftotext` extracts from `pdf`, or `None` (and a note) without poppler-utils.
fn pdf_text(dir: &Path, name: &str, pdf: &[u8]) -> Option<String> {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pdftotext: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(_) => {
            eprintln!(
                "skipped: pdftotext is missing (Debian poppler-utils; scripts/setup installs it)"
            );
            None
        }
    }
}

#[test]
fn the_pdf_report_prints_chinese_labels_and_the_customers_chinese_text_with_a_subset_font() {
    let noto = Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    if !noto.exists() {
        eprintln!("skipped: no Noto Sans CJK (Debian fonts-noto-cjk; scripts/setup installs it)");
        return;
    }
    let mut f = fixture_with(|file| {
        let job = &file.work_orders[0];
        let customer = file
            .customers
            .iter_mut()
            .find(|c| c.id == job.customer_id)
            .unwrap();
        customer.name = "王芳".into();
        customer.address = Some("上海市浦东新区世纪大道 100 号".into());
    });
    let job = f.jobs[0];
    f.replica
        .set_diagnosis(job, "热交换器结垢，E4 过热保护")
        .unwrap();
    let text = f.replica.sign_off_text(job).unwrap();
    f.replica
        .add_signature(job, "王芳", signature_strokes(), &text)
        .unwrap();
    f.replica
        .add_feedback(job, 5, Some(10), Some("师傅很专业"))
        .unwrap();

    let zh = f
        .replica
        .service_report_pdf(job, ReportLanguage::Chinese)
        .unwrap();
    let body = String::from_utf8_lossy(&zh);
    assert!(body.contains("/Type0") && body.contains("/Identity-H"));
    assert!(body.contains("/ToUnicode") && body.contains("/FontFile3"));
    assert!(
        body.contains("+NotoSansCJKsc-Regular"),
        "a subset names itself"
    );
    assert!(
        body.contains("+NotoSansCJKsc-Bold"),
        "headings in the bold face"
    );
    // The whole face is 20 MB; the subset holds only the glyphs the report uses.
    assert!(zh.len() < 200_000, "{} bytes", zh.len());
    eprintln!("Chinese report: {} bytes", zh.len());
    let Some(extracted) = pdf_text(f.dir.path(), "zh.pdf", &zh) else {
        return;
    };
    for label in [
        "服务报告",
        "客户与产品",
        "客户",
        "检查清单",
        "到达",
        "客户签字",
        "客户评价",
    ] {
        assert!(extracted.contains(label), "label {label} in:\n{extracted}");
    }
    for entered in [
        "王芳",
        "上海市浦东新区世纪大道 100 号",
        "热交换器结垢，E4 过热保护",
        "师傅很专业",
    ] {
        assert!(extracted.contains(entered), "{entered} in:\n{extracted}");
    }
    assert!(
        !extracted.contains("??"),
        "nothing printed as ?:\n{extracted}"
    );

    // An English report still prints the customer's Chinese name, and Latin in Helvetica.
    let en = f
        .replica
        .service_report_pdf(job, ReportLanguage::English)
        .unwrap();
    let extracted = pdf_text(f.dir.path(), "en.pdf", &en).unwrap();
    assert!(extracted.contains("Customer and product") && extracted.contains("Checklist"));
    assert!(extracted.contains("王芳") && extracted.contains("师傅很专业"));
    assert!(!extracted.contains("服务报告"));
    assert!(String::from_utf8_lossy(&en).contains("/Helvetica"));
}
