//! The report as a self-contained printable HTML page: English and Chinese labels, photos
//! and signatures inline as `data:` URLs.

use std::fmt::Write as _;

use base64::Engine as _;
use onsite_model::checklist::Phase;
use onsite_model::entities::TimeKind;

use super::data::{
    ReportData, answer_text, minutes, opt_time, phase_labels, photo_kind_labels, serial_text, time,
};

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

pub(super) fn render_html(r: &ReportData) -> String {
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
        let (s_en, s_zh) = serial_text(a.serial.as_deref(), wo.plate_serial.as_deref());
        let serial = if s_en == s_zh {
            esc(&s_en)
        } else {
            format!("{}<span class=\"zh\">{}</span>", esc(&s_en), esc(&s_zh))
        };
        let _ = writeln!(
            h,
            "<dt>Serial<span class=\"zh\">序列号</span></dt><dd>{serial}</dd>"
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
