//! The report as a PDF (A4) in the built-in Helvetica fonts, with the photo thumbnails and
//! signature images embedded.

use onsite_model::checklist::Phase;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};

use super::data::{
    ReportData, answer_text, minutes, opt_time, phase_labels, photo_kind_labels, time,
};

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

pub(super) fn render_pdf(r: &ReportData) -> Vec<u8> {
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
