//! The service report: the complete record of one visit, made offline from the replica, as a
//! printable HTML page (English and Chinese labels, images inline) or as a PDF.
//!
//! The PDF uses the standard Helvetica fonts every PDF reader has, so it needs no font file;
//! they cover Western European text only. Labels in the PDF are in English, and characters
//! those fonts cannot show (Chinese names, for instance) print as `?`. The HTML report shows
//! everything; print it to PDF from a browser when the record holds Chinese text.

use std::fmt::Write as _;

use base64::Engine as _;
use onsite_model::checklist::{AnswerValue, ChecklistItem, ItemKind, Phase};
use onsite_model::entities::{Photo, PhotoKind, TimeKind};
use onsite_model::ids::WorkOrderId;
use onsite_model::time::Timestamp;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};

use crate::error::Result;
use crate::queries::JobDetail;
use crate::replica::Replica;
use crate::signature::SignatureCheck;

/// Everything a report shows, gathered once for both renderings.
struct ReportData {
    detail: JobDetail,
    check: SignatureCheck,
    /// Per photo: the thumbnail (or the photo itself) when its bytes are on this device.
    photo_images: Vec<(Photo, Option<Vec<u8>>)>,
    /// Per signature: its PNG, when on this device.
    signature_images: Vec<Option<Vec<u8>>>,
    generated_at: Timestamp,
}

impl Replica {
    fn report_data(&self, job: WorkOrderId) -> Result<ReportData> {
        let detail = self.job(job)?;
        let check = self.verify_signature(job)?;
        let photo_images = detail
            .photos
            .iter()
            .map(|p| {
                let sha = p.thumb_sha256.as_deref().unwrap_or(&p.sha256);
                (p.clone(), self.read_blob(sha).ok())
            })
            .collect();
        let signature_images = detail
            .signatures
            .iter()
            .map(|s| {
                s.png_sha256
                    .as_deref()
                    .and_then(|sha| self.read_blob(sha).ok())
            })
            .collect();
        Ok(ReportData {
            detail,
            check,
            photo_images,
            signature_images,
            generated_at: self.now(),
        })
    }

    /// A self-contained printable HTML page (A4, inline CSS and images) of the job's record.
    pub fn service_report_html(&self, job: WorkOrderId) -> Result<String> {
        Ok(render_html(&self.report_data(job)?))
    }

    /// The same record as a PDF (A4), with the photo thumbnails and signature embedded.
    pub fn service_report_pdf(&self, job: WorkOrderId) -> Result<Vec<u8>> {
        Ok(render_pdf(&self.report_data(job)?))
    }
}

fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn opt_time(t: &Option<Timestamp>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "-".into())
}

fn phase_labels(p: Phase) -> (&'static str, &'static str) {
    match p {
        Phase::Arrival => ("Arrival", "到达"),
        Phase::Work => ("Work", "作业"),
        Phase::Departure => ("Departure", "离开"),
    }
}

fn photo_kind_labels(k: PhotoKind) -> (&'static str, &'static str) {
    match k {
        PhotoKind::Before => ("Before", "维修前"),
        PhotoKind::After => ("After", "维修后"),
        PhotoKind::SerialPlate => ("Serial plate", "铭牌"),
        PhotoKind::Part => ("Part", "配件"),
        PhotoKind::Other => ("Other", "其他"),
    }
}

/// An answer as words, in English and Chinese where the template has both.
fn answer_text(
    item: &ChecklistItem,
    answer: Option<&AnswerValue>,
    photos: &[Photo],
) -> (String, String) {
    let Some(answer) = answer else {
        return ("-".into(), "-".into());
    };
    match answer {
        AnswerValue::Check(true) => ("Yes".into(), "是".into()),
        AnswerValue::Check(false) => ("No".into(), "否".into()),
        AnswerValue::Number(n) => {
            let unit = match &item.kind {
                ItemKind::Number { unit: Some(u), .. } => format!(" {u}"),
                _ => String::new(),
            };
            let t = format!("{n}{unit}");
            (t.clone(), t)
        }
        AnswerValue::Text(t) => (t.clone(), t.clone()),
        AnswerValue::Choice(key) => match &item.kind {
            ItemKind::Choice { options } => options
                .iter()
                .find(|o| &o.key == key)
                .map(|o| (o.label.en.clone(), o.label.zh.clone()))
                .unwrap_or_else(|| (key.clone(), key.clone())),
            _ => (key.clone(), key.clone()),
        },
        AnswerValue::Photo(id) => {
            let n = photos.iter().position(|p| p.id == *id).map(|i| i + 1);
            match n {
                Some(n) => (format!("Photo {n}"), format!("照片 {n}")),
                None => ("Photo".into(), "照片".into()),
            }
        }
    }
}

fn minutes(from: &Timestamp, to: &Timestamp) -> i64 {
    (*to - *from).num_minutes()
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn data_uri(media_type: &str, bytes: &[u8]) -> String {
    format!(
        "data:{media_type};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

const CSS: &str = r#"
@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 190mm; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; padding-bottom: 1mm; }
h3 { font-size: 10.5pt; margin: 3mm 0 1mm; }
.zh { color: #555; font-weight: normal; margin-left: .5em; }
.meta { color: #444; }
dl { display: grid; grid-template-columns: 38mm 1fr; gap: 1mm 4mm; margin: 0; }
dt { font-weight: bold; }
dd { margin: 0; white-space: pre-wrap; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; border-bottom: 1px solid #ddd; padding: 1mm 2mm; vertical-align: top; }
th { background: #f2f2f2; }
.photos { display: flex; flex-wrap: wrap; gap: 3mm; }
figure { margin: 0; width: 56mm; break-inside: avoid; }
figure img { width: 56mm; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 8.5pt; color: #333; }
.signature img { width: 90mm; border: 1px solid #ccc; }
.ok { color: #176317; font-weight: bold; }
.changed { color: #a00000; font-weight: bold; }
footer { margin-top: 8mm; font-size: 8pt; color: #666; }
@media print {
  body { padding: 0; max-width: none; }
  h2 { break-after: avoid; }
  tr, figure, .signature { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn render_html(r: &ReportData) -> String {
    let d = &r.detail;
    let wo = &d.work_order;
    let mut h = String::new();
    // `write!` to a String cannot fail; the results are ignored throughout.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Service report {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&wo.number)
    );
    let _ = write!(
        h,
        "<h1>Service report<span class=\"zh\">服务报告</span> — {}</h1>\n<p class=\"meta\">{} · {} · {} · status {}</p>\n",
        esc(&wo.number),
        esc(wo.job_type.as_str()),
        esc(wo.priority.as_str()),
        esc(&time(&wo.reported_at)),
        esc(wo.status.as_str()),
    );

    let row = |h: &mut String, en: &str, zh: &str, value: &str| {
        let _ = writeln!(
            h,
            "<dt>{en}<span class=\"zh\">{zh}</span></dt><dd>{}</dd>",
            esc(value)
        );
    };

    h.push_str("<h2>Customer and product<span class=\"zh\">客户与产品</span></h2>\n<dl>\n");
    if let Some(c) = &d.customer {
        row(&mut h, "Customer", "客户", &c.name);
        row(&mut h, "Phone", "电话", c.phone.as_deref().unwrap_or("-"));
        row(
            &mut h,
            "Address",
            "地址",
            c.address.as_deref().unwrap_or("-"),
        );
    }
    if let Some(a) = &d.asset {
        row(&mut h, "Model", "型号", &a.model);
        row(
            &mut h,
            "Serial",
            "序列号",
            a.serial.as_deref().unwrap_or("-"),
        );
        if let Some(w) = a.warranty_end {
            row(&mut h, "Warranty until", "保修期至", &w.to_string());
        }
    }
    h.push_str("</dl>\n");

    h.push_str("<h2>Service<span class=\"zh\">服务内容</span></h2>\n<dl>\n");
    row(&mut h, "Problem", "故障描述", &wo.problem);
    row(
        &mut h,
        "Diagnosis",
        "诊断",
        wo.diagnosis.as_deref().unwrap_or("-"),
    );
    row(
        &mut h,
        "Work done",
        "处理措施",
        wo.work_done.as_deref().unwrap_or("-"),
    );
    row(
        &mut h,
        "Result",
        "结果",
        wo.result.as_deref().unwrap_or("-"),
    );
    row(
        &mut h,
        "Follow-up needed",
        "需要回访",
        if wo.follow_up_needed {
            "Yes / 是"
        } else {
            "No / 否"
        },
    );
    h.push_str("</dl>\n");

    h.push_str("<h2>Times<span class=\"zh\">时间</span></h2>\n<dl>\n");
    row(&mut h, "Reported", "报修时间", &time(&wo.reported_at));
    row(&mut h, "Respond by", "响应时限", &opt_time(&wo.respond_by));
    row(&mut h, "Resolve by", "解决时限", &opt_time(&wo.resolve_by));
    row(&mut h, "Arrived", "到达时间", &opt_time(&wo.arrived_at));
    row(
        &mut h,
        "Work started",
        "开始作业",
        &opt_time(&wo.started_at),
    );
    row(&mut h, "Completed", "完成时间", &opt_time(&wo.completed_at));
    h.push_str("</dl>\n");
    if !d.time_entries.is_empty() {
        h.push_str("<table><tr><th>Kind <span class=\"zh\">类型</span></th><th>From <span class=\"zh\">开始</span></th><th>To <span class=\"zh\">结束</span></th><th>Minutes <span class=\"zh\">分钟</span></th></tr>\n");
        for t in &d.time_entries {
            let kind = match t.kind {
                TimeKind::Travel => "Travel / 路途",
                TimeKind::Work => "Work / 作业",
            };
            let _ = writeln!(
                h,
                "<tr><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&time(&t.started_at)),
                esc(&time(&t.ended_at)),
                minutes(&t.started_at, &t.ended_at)
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2>Parts used<span class=\"zh\">使用配件</span></h2>\n");
    if d.parts.is_empty() {
        h.push_str("<p>None<span class=\"zh\">无</span></p>\n");
    } else {
        h.push_str("<table><tr><th>Part no. <span class=\"zh\">编号</span></th><th>Description <span class=\"zh\">名称</span></th><th>Qty <span class=\"zh\">数量</span></th></tr>\n");
        for p in &d.parts {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.part_no),
                esc(&p.description),
                p.quantity
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2>Checklist<span class=\"zh\">检查清单</span></h2>\n");
    for phase in Phase::ALL {
        let lines: Vec<_> = d
            .checklist
            .iter()
            .filter(|l| l.item.phase == *phase)
            .collect();
        if lines.is_empty() {
            continue;
        }
        let (en, zh) = phase_labels(*phase);
        let _ = write!(
            h,
            "<h3>{en}<span class=\"zh\">{zh}</span></h3>\n<table><tr><th>Item <span class=\"zh\">项目</span></th><th>Answer <span class=\"zh\">结果</span></th></tr>\n"
        );
        for l in lines {
            let (a_en, a_zh) = answer_text(&l.item, l.answer.as_ref(), &d.photos);
            let required = if l.item.required { " *" } else { "" };
            let answer = if a_en == a_zh {
                esc(&a_en)
            } else {
                format!("{}<span class=\"zh\">{}</span>", esc(&a_en), esc(&a_zh))
            };
            let _ = writeln!(
                h,
                "<tr><td>{}{required}<span class=\"zh\">{}</span></td><td>{answer}</td></tr>",
                esc(&l.item.label.en),
                esc(&l.item.label.zh),
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<p class=\"meta\">* required<span class=\"zh\">必填</span></p>\n");

    h.push_str("<h2>Photos<span class=\"zh\">照片</span></h2>\n");
    if r.photo_images.is_empty() {
        h.push_str("<p>None<span class=\"zh\">无</span></p>\n");
    } else {
        h.push_str("<div class=\"photos\">\n");
        for (i, (p, bytes)) in r.photo_images.iter().enumerate() {
            let (en, zh) = photo_kind_labels(p.kind);
            h.push_str("<figure>");
            match bytes {
                Some(b) => {
                    let _ = write!(
                        h,
                        "<img src=\"{}\" alt=\"Photo {}\">",
                        data_uri("image/jpeg", b),
                        i + 1
                    );
                }
                None => h.push_str("<p>(image not on this device)</p>"),
            }
            let _ = write!(h, "<figcaption>{}. {en} / {zh}", i + 1);
            if let Some(c) = &p.caption {
                let _ = write!(h, " — {}", esc(c));
            }
            if let Some(t) = &p.taken_at {
                let _ = write!(h, "<br>taken {}", esc(&time(t)));
            }
            if let (Some(lat), Some(lon)) = (p.lat, p.lon) {
                let _ = write!(h, "<br>GPS {lat:.5}, {lon:.5}");
            }
            h.push_str("</figcaption></figure>\n");
        }
        h.push_str("</div>\n");
    }

    h.push_str("<h2>Customer signature<span class=\"zh\">客户签字</span></h2>\n");
    if d.signatures.is_empty() {
        h.push_str("<p>Not signed<span class=\"zh\">未签字</span></p>\n");
    }
    for ((s, png), status) in d
        .signatures
        .iter()
        .zip(&r.signature_images)
        .zip(&r.check.signatures)
    {
        h.push_str("<div class=\"signature\">");
        if let Some(png) = png {
            let _ = write!(
                h,
                "<img src=\"{}\" alt=\"Signature of {}\">",
                data_uri("image/png", png),
                esc(&s.signer_name)
            );
        }
        let _ = write!(
            h,
            "<p>Signed by <strong>{}</strong> at {}<br>",
            esc(&s.signer_name),
            esc(&time(&s.signed_at))
        );
        if status.matches {
            h.push_str("<span class=\"ok\">The report is unchanged since signing.<span class=\"zh\">签字后报告未被修改。</span></span>");
        } else {
            h.push_str("<span class=\"changed\">The report was changed after signing.<span class=\"zh\">签字后报告已被修改。</span></span>");
        }
        h.push_str("</p></div>\n");
    }

    h.push_str("<h2>Customer feedback<span class=\"zh\">客户评价</span></h2>\n");
    if d.feedback.is_empty() {
        h.push_str("<p>None<span class=\"zh\">无</span></p>\n");
    }
    for f in &d.feedback {
        h.push_str("<dl>\n");
        let stars = format!(
            "{}{} ({}/5)",
            "★".repeat(f.rating.into()),
            "☆".repeat(5usize.saturating_sub(f.rating.into())),
            f.rating
        );
        row(&mut h, "Rating", "评分", &stars);
        if let Some(nps) = f.nps {
            row(
                &mut h,
                "Would recommend (0-10)",
                "推荐意愿",
                &nps.to_string(),
            );
        }
        if let Some(c) = &f.comment {
            row(&mut h, "Comment", "意见", c);
        }
        h.push_str("</dl>\n");
    }

    let _ = write!(
        h,
        "<footer>Generated {} from the technician's device.<span class=\"zh\">由技术员设备生成。</span></footer>\n</body>\n</html>\n",
        esc(&time(&r.generated_at))
    );
    h
}

// ---- PDF -----------------------------------------------------------------------------------

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Text in the Helvetica fonts' WinAnsi encoding; what it cannot show becomes `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '\t' => b' ',
            _ => b'?',
        })
        .collect()
}

/// An image placed in the PDF.
struct PdfImage {
    id: Ref,
    name: Vec<u8>,
}

/// Writes an 8-bit RGB image XObject (`data` already encoded with `filter`) and lists it
/// for the page resources; returns its index in `images` and its size.
fn embed_rgb_image(
    pdf: &mut Pdf,
    images: &mut Vec<PdfImage>,
    id: Ref,
    data: &[u8],
    filter: Filter,
    w: u32,
    h: u32,
) -> (usize, u32, u32) {
    let mut x = pdf.image_xobject(id, data);
    x.filter(filter);
    x.width(w as i32);
    x.height(h as i32);
    x.color_space().device_rgb();
    x.bits_per_component(8);
    x.finish();
    images.push(PdfImage {
        id,
        name: format!("Im{}", images.len() + 1).into_bytes(),
    });
    (images.len() - 1, w, h)
}

/// A page being laid out top to bottom.
struct Layout {
    pages: Vec<Content>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Content::new()],
            y: PAGE_H - MARGIN,
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("at least one page")
    }

    /// Starts a new page when less than `height` is left.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.pages.push(Content::new());
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text_at(&mut self, x: f32, font: Name<'_>, size: f32, text: &str) {
        let y = self.y;
        let c = self.page();
        c.begin_text();
        c.set_font(font, size);
        c.next_line(x, y);
        c.show(Str(&win_ansi(text)));
        c.end_text();
    }

    /// Writes wrapped text; Helvetica averages about half an em per character.
    fn paragraph(&mut self, x: f32, font: Name<'_>, size: f32, text: &str) {
        let max_chars = (((PAGE_W - MARGIN - x) / (size * 0.5)) as usize).max(10);
        for line in text.lines() {
            let mut current = String::new();
            for word in line.split(' ') {
                if !current.is_empty()
                    && current.chars().count() + 1 + word.chars().count() > max_chars
                {
                    self.room(size * 1.35);
                    self.y -= size * 1.35;
                    self.text_at(x, font, size, &current);
                    current.clear();
                }
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(word);
            }
            self.room(size * 1.35);
            self.y -= size * 1.35;
            self.text_at(x, font, size, &current);
        }
    }

    fn heading(&mut self, text: &str) {
        self.room(40.0);
        self.y -= 22.0;
        self.text_at(MARGIN, BOLD, 12.5, text);
        self.y -= 4.0;
        let y = self.y;
        let c = self.page();
        c.set_line_width(0.6);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
    }

    fn field(&mut self, label: &str, value: &str) {
        self.room(14.0);
        let top = self.y;
        self.y -= 13.5;
        self.text_at(MARGIN, BOLD, 10.0, label);
        self.y = top;
        self.paragraph(MARGIN + 120.0, REGULAR, 10.0, value);
    }

    fn image(&mut self, img: &PdfImage, w: f32, h: f32, x: f32) {
        let y = self.y - h;
        let c = self.page();
        c.save_state();
        c.transform([w, 0.0, 0.0, h, x, y]);
        c.x_object(Name(&img.name));
        c.restore_state();
    }
}

fn render_pdf(r: &ReportData) -> Vec<u8> {
    let d = &r.detail;
    let wo = &d.work_order;
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let id = Ref::new(next);
        next += 1;
        id
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let regular_id = alloc();
    let bold_id = alloc();
    pdf.type1_font(regular_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut images: Vec<PdfImage> = Vec::new();
    let mut add_jpeg = |pdf: &mut Pdf, bytes: &[u8]| -> Option<(usize, u32, u32)> {
        let (w, h) =
            image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Jpeg)
                .into_dimensions()
                .ok()?;
        let id = alloc();
        Some(embed_rgb_image(
            pdf,
            &mut images,
            id,
            bytes,
            Filter::DctDecode,
            w,
            h,
        ))
    };
    let photo_refs: Vec<Option<(usize, u32, u32)>> = r
        .photo_images
        .iter()
        .map(|(_, b)| b.as_deref().and_then(|b| add_jpeg(&mut pdf, b)))
        .collect();
    let mut signature_refs: Vec<Option<(usize, u32, u32)>> = Vec::new();
    for png in &r.signature_images {
        let placed = png.as_deref().and_then(|png| {
            let rgb = image::load_from_memory_with_format(png, image::ImageFormat::Png)
                .ok()?
                .into_rgb8();
            let (w, h) = rgb.dimensions();
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(rgb.as_raw(), 6);
            let id = alloc();
            Some(embed_rgb_image(
                &mut pdf,
                &mut images,
                id,
                &packed,
                Filter::FlateDecode,
                w,
                h,
            ))
        });
        signature_refs.push(placed);
    }

    let mut l = Layout::new();
    l.y -= 18.0;
    l.text_at(MARGIN, BOLD, 18.0, &format!("Service report {}", wo.number));
    l.y -= 16.0;
    l.text_at(
        MARGIN,
        REGULAR,
        10.0,
        &format!(
            "{} - {} priority - reported {} - status {}",
            wo.job_type,
            wo.priority,
            time(&wo.reported_at),
            wo.status
        ),
    );

    l.heading("Customer and product");
    if let Some(c) = &d.customer {
        l.field("Customer", &c.name);
        l.field("Phone", c.phone.as_deref().unwrap_or("-"));
        l.field("Address", c.address.as_deref().unwrap_or("-"));
    }
    if let Some(a) = &d.asset {
        l.field("Model", &a.model);
        l.field("Serial", a.serial.as_deref().unwrap_or("-"));
        if let Some(w) = a.warranty_end {
            l.field("Warranty until", &w.to_string());
        }
    }

    l.heading("Service");
    l.field("Problem", &wo.problem);
    l.field("Diagnosis", wo.diagnosis.as_deref().unwrap_or("-"));
    l.field("Work done", wo.work_done.as_deref().unwrap_or("-"));
    l.field("Result", wo.result.as_deref().unwrap_or("-"));
    l.field(
        "Follow-up needed",
        if wo.follow_up_needed { "Yes" } else { "No" },
    );

    l.heading("Times");
    l.field("Reported", &time(&wo.reported_at));
    l.field("Respond by", &opt_time(&wo.respond_by));
    l.field("Resolve by", &opt_time(&wo.resolve_by));
    l.field("Arrived", &opt_time(&wo.arrived_at));
    l.field("Work started", &opt_time(&wo.started_at));
    l.field("Completed", &opt_time(&wo.completed_at));
    for t in &d.time_entries {
        l.field(
            t.kind.as_str(),
            &format!(
                "{} to {} ({} min)",
                time(&t.started_at),
                time(&t.ended_at),
                minutes(&t.started_at, &t.ended_at)
            ),
        );
    }

    l.heading("Parts used");
    if d.parts.is_empty() {
        l.field("Parts", "None");
    }
    for p in &d.parts {
        l.field(&p.part_no, &format!("{} x {}", p.quantity, p.description));
    }

    l.heading("Checklist");
    for phase in Phase::ALL {
        let lines: Vec<_> = d
            .checklist
            .iter()
            .filter(|x| x.item.phase == *phase)
            .collect();
        if lines.is_empty() {
            continue;
        }
        l.room(30.0);
        l.y -= 16.0;
        l.text_at(MARGIN, BOLD, 10.5, phase_labels(*phase).0);
        for line in lines {
            let (answer, _) = answer_text(&line.item, line.answer.as_ref(), &d.photos);
            let req = if line.item.required { " *" } else { "" };
            l.room(14.0);
            let top = l.y;
            l.y -= 13.5;
            l.text_at(
                MARGIN + 10.0,
                REGULAR,
                9.5,
                &format!("{}{req}", line.item.label.en),
            );
            l.y = top;
            l.paragraph(MARGIN + 330.0, REGULAR, 9.5, &answer);
        }
    }

    l.heading("Photos");
    if r.photo_images.is_empty() {
        l.field("Photos", "None");
    }
    let (cell_w, cell_h) = (150.0f32, 112.0f32);
    let mut col = 0;
    for (i, ((p, _), placed)) in r.photo_images.iter().zip(&photo_refs).enumerate() {
        if col == 0 {
            l.room(cell_h + 40.0);
            l.y -= 6.0;
        }
        let x = MARGIN + col as f32 * (cell_w + 12.0);
        let top = l.y;
        if let Some((idx, w, h)) = placed {
            let scale = (cell_w / *w as f32).min(cell_h / *h as f32);
            l.image(&images[*idx], *w as f32 * scale, *h as f32 * scale, x);
        }
        l.y = top - cell_h - 11.0;
        let mut caption = format!("{}. {}", i + 1, photo_kind_labels(p.kind).0);
        if let Some(c) = &p.caption {
            caption.push_str(" - ");
            caption.extend(c.chars().take(30));
        }
        l.text_at(x, REGULAR, 8.5, &caption);
        l.y = top;
        col += 1;
        if col == 3 || i + 1 == r.photo_images.len() {
            col = 0;
            l.y = top - cell_h - 18.0;
        }
    }

    l.heading("Customer signature");
    if d.signatures.is_empty() {
        l.field("Signature", "Not signed");
    }
    for ((s, placed), status) in d
        .signatures
        .iter()
        .zip(&signature_refs)
        .zip(&r.check.signatures)
    {
        if let Some((idx, w, h)) = placed {
            let width = 240.0f32;
            let height = width * *h as f32 / *w as f32;
            l.room(height + 40.0);
            l.y -= 6.0;
            l.image(&images[*idx], width, height, MARGIN);
            l.y -= height;
        }
        l.field(
            "Signed by",
            &format!("{} at {}", s.signer_name, time(&s.signed_at)),
        );
        l.field(
            "Report",
            if status.matches {
                "unchanged since signing"
            } else {
                "CHANGED AFTER SIGNING"
            },
        );
    }

    l.heading("Customer feedback");
    if d.feedback.is_empty() {
        l.field("Feedback", "None");
    }
    for f in &d.feedback {
        l.field("Rating", &format!("{}/5", f.rating));
        if let Some(nps) = f.nps {
            l.field("Would recommend", &format!("{nps}/10"));
        }
        if let Some(c) = &f.comment {
            l.field("Comment", c);
        }
    }
    l.room(30.0);
    l.y -= 24.0;
    l.text_at(
        MARGIN,
        REGULAR,
        8.0,
        &format!(
            "Generated {} from the technician's device.",
            time(&r.generated_at)
        ),
    );

    let page_ids: Vec<(Ref, Ref)> = l.pages.iter().map(|_| (alloc(), alloc())).collect();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(page_ids.len() as i32);
    for ((page_id, content_id), content) in page_ids.iter().zip(l.pages) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree_id);
        page.contents(*content_id);
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(REGULAR, regular_id)
            .pair(BOLD, bold_id);
        let mut x_objects = resources.x_objects();
        for img in &images {
            x_objects.pair(Name(&img.name), img.id);
        }
        x_objects.finish();
        resources.finish();
        page.finish();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}
