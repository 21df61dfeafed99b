//! The report as a PDF (A4), with the photo thumbnails and signature images embedded. Text
//! the built-in Helvetica fonts can show is set in them; any other line (Chinese labels, a
//! customer's Chinese name) in a CJK face from the system, embedded as a subset.

use onsite_model::checklist::Phase;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};

use onsite_model::entities::TimeKind;

use super::cjk_font::CjkFont;
use super::data::{
    ReportData, ReportLanguage, answer_text, minutes, opt_time, phase_labels, photo_kind_labels,
    serial_text, time,
};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const CJK: Name<'static> = Name(b"F3");
const CJK_BOLD: Name<'static> = Name(b"F4");

/// Whether the Helvetica fonts' WinAnsi encoding shows all of `s`.
fn is_win_ansi(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, ' '..='~' | '\u{a0}'..='\u{ff}' | '€' | '‘' | '’' | '“' | '”' | '•' | '–' | '—' | '\t')
    })
}

/// Where a line may break: at spaces, and around each wide (CJK) character.
fn break_tokens(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in line.chars() {
        if c == ' ' || c >= '\u{2e80}' {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            tokens.push(c.to_string());
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

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
    cjk: Option<CjkFont>,
    cjk_bold: Option<CjkFont>,
}

impl Layout {
    fn new((cjk, cjk_bold): (Option<CjkFont>, Option<CjkFont>)) -> Self {
        Layout {
            pages: vec![Content::new()],
            y: PAGE_H - MARGIN,
            cjk,
            cjk_bold,
        }
    }

    /// The CJK face standing in for `font` (Helvetica or Helvetica-Bold), and its name.
    fn cjk_for(&mut self, font: Name<'_>) -> Option<(&mut CjkFont, Name<'static>)> {
        match (&mut self.cjk_bold, &mut self.cjk) {
            (Some(bold), _) if font == BOLD => Some((bold, CJK_BOLD)),
            (_, Some(regular)) => Some((regular, CJK)),
            _ => None,
        }
    }

    /// The width of `text` at `size`; Helvetica averages about half an em per character.
    fn measure(&mut self, font: Name<'_>, size: f32, text: &str) -> f32 {
        match self.cjk_for(font) {
            Some((cjk, _)) if !is_win_ansi(text) => cjk.width(text) * size,
            _ => text.chars().count() as f32 * size * 0.5,
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
        let (font, bytes) = match self.cjk_for(font) {
            Some((cjk, name)) if !is_win_ansi(text) => (name, cjk.encode(text)),
            _ => (font, win_ansi(text)),
        };
        let y = self.y;
        let c = self.page();
        c.begin_text();
        c.set_font(font, size);
        c.next_line(x, y);
        c.show(Str(&bytes));
        c.end_text();
    }

    /// Writes text wrapped to the right margin.
    fn paragraph(&mut self, x: f32, font: Name<'_>, size: f32, text: &str) {
        let max_width = (PAGE_W - MARGIN - x).max(size * 5.0);
        for line in text.lines() {
            let mut current = String::new();
            for token in break_tokens(line) {
                let candidate = format!("{current}{token}");
                if !current.trim().is_empty()
                    && self.measure(font, size, candidate.trim_end()) > max_width
                {
                    self.room(size * 1.35);
                    self.y -= size * 1.35;
                    self.text_at(x, font, size, current.trim_end());
                    current = token.trim_start().to_string();
                } else {
                    current = candidate;
                }
            }
            self.room(size * 1.35);
            self.y -= size * 1.35;
            self.text_at(x, font, size, current.trim_end());
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

pub(super) fn render_pdf(
    r: &ReportData,
    lang: ReportLanguage,
    cjk: (Option<CjkFont>, Option<CjkFont>),
) -> Vec<u8> {
    let zh = lang == ReportLanguage::Chinese;
    let tr = |en: &'static str, zh_text: &'static str| if zh { zh_text } else { en };
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
    let cjk_id = alloc();
    let cjk_bold_id = alloc();
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

    let mut l = Layout::new(cjk);
    l.y -= 18.0;
    l.text_at(
        MARGIN,
        BOLD,
        18.0,
        &format!("{} {}", tr("Service report", "服务报告"), wo.number),
    );
    l.y -= 16.0;
    l.text_at(
        MARGIN,
        REGULAR,
        10.0,
        &format!(
            "{} - {} {} - {} {} - {} {}",
            wo.job_type,
            tr("priority", "优先级"),
            wo.priority,
            tr("reported", "报修"),
            time(&wo.reported_at),
            tr("status", "状态"),
            wo.status
        ),
    );

    l.heading(tr("Customer and product", "客户与产品"));
    if let Some(c) = &d.customer {
        l.field(tr("Customer", "客户"), &c.name);
        l.field(tr("Phone", "电话"), c.phone.as_deref().unwrap_or("-"));
        l.field(tr("Address", "地址"), c.address.as_deref().unwrap_or("-"));
    }
    if let Some(a) = &d.asset {
        l.field(tr("Model", "型号"), &a.model);
        let (en, zh_serial) = serial_text(a.serial.as_deref(), wo.plate_serial.as_deref());
        l.field(tr("Serial", "序列号"), if zh { &zh_serial } else { &en });
        if let Some(w) = a.warranty_end {
            l.field(tr("Warranty until", "保修期至"), &w.to_string());
        }
    }

    l.heading(tr("Service", "服务内容"));
    l.field(tr("Problem", "故障描述"), &wo.problem);
    l.field(
        tr("Diagnosis", "诊断"),
        wo.diagnosis.as_deref().unwrap_or("-"),
    );
    l.field(
        tr("Work done", "处理措施"),
        wo.work_done.as_deref().unwrap_or("-"),
    );
    l.field(tr("Result", "结果"), wo.result.as_deref().unwrap_or("-"));
    l.field(
        tr("Follow-up needed", "需要回访"),
        if wo.follow_up_needed {
            tr("Yes", "是")
        } else {
            tr("No", "否")
        },
    );

    l.heading(tr("Times", "时间"));
    l.field(tr("Reported", "报修时间"), &time(&wo.reported_at));
    l.field(tr("Respond by", "响应时限"), &opt_time(&wo.respond_by));
    l.field(tr("Resolve by", "解决时限"), &opt_time(&wo.resolve_by));
    l.field(tr("Arrived", "到达时间"), &opt_time(&wo.arrived_at));
    l.field(tr("Work started", "开始作业"), &opt_time(&wo.started_at));
    l.field(tr("Completed", "完成时间"), &opt_time(&wo.completed_at));
    for t in &d.time_entries {
        l.field(
            match t.kind {
                TimeKind::Travel => tr("travel", "路途"),
                TimeKind::Work => tr("work", "作业"),
            },
            &format!(
                "{} {} {} ({} {})",
                time(&t.started_at),
                tr("to", "至"),
                time(&t.ended_at),
                minutes(&t.started_at, &t.ended_at),
                tr("min", "分钟")
            ),
        );
    }

    l.heading(tr("Parts used", "使用配件"));
    if d.parts.is_empty() {
        l.field(tr("Parts", "配件"), tr("None", "无"));
    }
    for p in &d.parts {
        l.field(&p.part_no, &format!("{} x {}", p.quantity, p.description));
    }

    l.heading(tr("Checklist", "检查清单"));
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
        let (en, zh_label) = phase_labels(*phase);
        l.text_at(MARGIN, BOLD, 10.5, tr(en, zh_label));
        for line in lines {
            let (en_answer, zh_answer) = answer_text(&line.item, line.answer.as_ref(), &d.photos);
            let answer = if zh { zh_answer } else { en_answer };
            let label = match (&line.item.label.zh, zh) {
                (z, true) if !z.is_empty() => z,
                _ => &line.item.label.en,
            };
            let req = if line.item.required { " *" } else { "" };
            l.room(14.0);
            let top = l.y;
            l.y -= 13.5;
            l.text_at(MARGIN + 10.0, REGULAR, 9.5, &format!("{label}{req}"));
            l.y = top;
            l.paragraph(MARGIN + 330.0, REGULAR, 9.5, &answer);
        }
    }

    l.heading(tr("Photos", "照片"));
    if r.photo_images.is_empty() {
        l.field(tr("Photos", "照片"), tr("None", "无"));
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
        let (en, zh_kind) = photo_kind_labels(p.kind);
        let mut caption = format!("{}. {}", i + 1, tr(en, zh_kind));
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

    l.heading(tr("Customer signature", "客户签字"));
    if d.signatures.is_empty() {
        l.field(tr("Signature", "签字"), tr("Not signed", "未签字"));
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
            tr("Signed by", "签字人"),
            &format!(
                "{} {} {}",
                s.signer_name,
                tr("at", "于"),
                time(&s.signed_at)
            ),
        );
        l.field(
            tr("Report", "报告"),
            if status.matches {
                tr("unchanged since signing", "签字后未被修改")
            } else {
                tr("CHANGED AFTER SIGNING", "签字后已被修改")
            },
        );
    }

    l.heading(tr("Customer feedback", "客户评价"));
    if d.feedback.is_empty() {
        l.field(tr("Feedback", "评价"), tr("None", "无"));
    }
    for f in &d.feedback {
        l.field(tr("Rating", "评分"), &format!("{}/5", f.rating));
        if let Some(nps) = f.nps {
            l.field(tr("Would recommend", "推荐意愿"), &format!("{nps}/10"));
        }
        if let Some(c) = &f.comment {
            l.field(tr("Comment", "意见"), c);
        }
    }
    l.room(30.0);
    l.y -= 24.0;
    l.text_at(
        MARGIN,
        REGULAR,
        8.0,
        &format!(
            "{} {}{}",
            tr("Generated", "生成于"),
            time(&r.generated_at),
            tr(" from the technician's device.", "，由技术员设备生成。")
        ),
    );

    let page_ids: Vec<(Ref, Ref)> = l.pages.iter().map(|_| (alloc(), alloc())).collect();
    let cjk = l.cjk.take().filter(CjkFont::is_used);
    if let Some(cjk) = &cjk {
        cjk.write(&mut pdf, cjk_id, &mut alloc);
    }
    let cjk_bold = l.cjk_bold.take().filter(CjkFont::is_used);
    if let Some(bold) = &cjk_bold {
        bold.write(&mut pdf, cjk_bold_id, &mut alloc);
    }
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
        let mut fonts = resources.fonts();
        fonts.pair(REGULAR, regular_id).pair(BOLD, bold_id);
        if cjk.is_some() {
            fonts.pair(CJK, cjk_id);
        }
        if cjk_bold.is_some() {
            fonts.pair(CJK_BOLD, cjk_bold_id);
        }
        fonts.finish();
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
