//! A CJK face from the system's fonts, embedded in the PDF as a subset of the glyphs the
//! report uses (a CID-keyed Type 0 font with a ToUnicode map, so the text can be copied and
//! searched). Noto Sans CJK SC (Debian `fonts-noto-cjk`, CFF outlines) is preferred, then
//! WenQuanYi (TrueType). Without one, text the built-in fonts cannot show prints as `?`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Finish, Name, Pdf, Rect, Ref, Str};

/// Font files and the family wanted in each (a collection holds several faces): the bold
/// faces, then the regular ones (WenQuanYi has no bold: its regular serves both).
const BOLD_CANDIDATES: &[(&str, &str)] = &[(
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "Noto Sans CJK SC",
)];
const CANDIDATES: &[(&str, &str)] = &[
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "Noto Sans CJK SC",
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "WenQuanYi Micro Hei",
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "WenQuanYi Zen Hei",
    ),
];

const SYSTEM_INFO: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

pub(super) struct CjkFont {
    family: String,
    data: Vec<u8>,
    index: u32,
    ps_name: String,
    cff: bool,
    units_per_em: f32,
    remapper: subsetter::GlyphRemapper,
    /// Per character: its glyph id in the subset and its advance in em.
    glyphs: HashMap<char, (u16, f32)>,
    /// Per glyph id in the subset: the character it shows and its advance in 1/1000 em.
    used: BTreeMap<u16, (char, f32)>,
}

impl CjkFont {
    /// The first candidate face present on this machine, regular and bold (the bold one
    /// only where the regular one comes from the same family).
    pub(super) fn find() -> (Option<CjkFont>, Option<CjkFont>) {
        let first = |list: &[(&str, &str)]| {
            list.iter()
                .find_map(|(path, family)| Self::load(Path::new(path), family))
        };
        let regular = first(CANDIDATES);
        let bold = first(BOLD_CANDIDATES)
            .filter(|b| regular.as_ref().is_some_and(|r| r.family == b.family));
        (regular, bold)
    }

    pub(super) fn load(path: &Path, family: &str) -> Option<CjkFont> {
        let data = std::fs::read(path).ok()?;
        let faces = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
        let index = (0..faces).find(|&i| {
            ttf_parser::Face::parse(&data, i).is_ok_and(|f| {
                f.names().into_iter().any(|n| {
                    (n.name_id == ttf_parser::name_id::FAMILY
                        || n.name_id == ttf_parser::name_id::TYPOGRAPHIC_FAMILY)
                        && n.to_string().as_deref() == Some(family)
                })
            })
        })?;
        let face = ttf_parser::Face::parse(&data, index).ok()?;
        let ps_name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .unwrap_or_else(|| family.replace(' ', ""));
        let cff = face.tables().cff.is_some();
        let units_per_em = f32::from(face.units_per_em());
        Some(CjkFont {
            family: family.to_string(),
            data,
            index,
            ps_name,
            cff,
            units_per_em,
            remapper: subsetter::GlyphRemapper::new(),
            glyphs: HashMap::new(),
            used: BTreeMap::new(),
        })
    }

    fn face(&self) -> ttf_parser::Face<'_> {
        ttf_parser::Face::parse(&self.data, self.index).expect("parsed when loaded")
    }

    /// The subset glyph id and advance (em) of `c`; `.notdef` when the face lacks it.
    fn glyph(&mut self, c: char) -> (u16, f32) {
        if let Some(g) = self.glyphs.get(&c) {
            return *g;
        }
        let face = self.face();
        let old = face.glyph_index(c).map_or(0, |g| g.0);
        let advance = face
            .glyph_hor_advance(ttf_parser::GlyphId(old))
            .map_or(0.0, |a| f32::from(a) / self.units_per_em);
        let new = self.remapper.remap(old);
        self.glyphs.insert(c, (new, advance));
        self.used.entry(new).or_insert((c, advance * 1000.0));
        (new, advance)
    }

    /// The width of `text` in em.
    pub(super) fn width(&mut self, text: &str) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum()
    }

    /// `text` as the font's two-byte codes (the subset's glyph ids).
    pub(super) fn encode(&mut self, text: &str) -> Vec<u8> {
        text.chars()
            .flat_map(|c| self.glyph(c).0.to_be_bytes())
            .collect()
    }

    pub(super) fn is_used(&self) -> bool {
        !self.used.is_empty()
    }

    /// Writes the Type 0 font `type0_id` with its subset embedded. A face that cannot be
    /// subset is left out (its text then shows as empty boxes in the reader).
    pub(super) fn write(&self, pdf: &mut Pdf, type0_id: Ref, mut alloc: impl FnMut() -> Ref) {
        let Ok(subset) = subsetter::subset(&self.data, self.index, &self.remapper) else {
            return;
        };
        let face = self.face();
        let scale = 1000.0 / self.units_per_em;
        let cid_id = alloc();
        let descriptor_id = alloc();
        let cmap_id = alloc();
        let file_id = alloc();
        // A subset's name carries a tag of six capitals (PDF 32000-1, 9.6.4).
        let tag: String = {
            let mut h: u32 = 2166136261;
            for g in self.used.keys() {
                h = (h ^ u32::from(*g)).wrapping_mul(16777619);
            }
            (0..6)
                .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
                .collect()
        };
        let base = format!("{tag}+{}", self.ps_name);
        let base = Name(base.as_bytes());

        pdf.type0_font(type0_id)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_id)
            .to_unicode(cmap_id);

        let mut cid = pdf.cid_font(cid_id);
        cid.subtype(if self.cff {
            CidFontType::Type0
        } else {
            CidFontType::Type2
        });
        cid.base_font(base);
        cid.system_info(SYSTEM_INFO);
        cid.font_descriptor(descriptor_id);
        cid.default_width(1000.0);
        if !self.cff {
            cid.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        let mut widths = cid.widths();
        for (gid, (_, w)) in &self.used {
            widths.consecutive(*gid, [*w]);
        }
        widths.finish();
        cid.finish();

        let bbox = face.global_bounding_box();
        let mut descriptor = pdf.font_descriptor(descriptor_id);
        descriptor
            .name(base)
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                f32::from(bbox.x_min) * scale,
                f32::from(bbox.y_min) * scale,
                f32::from(bbox.x_max) * scale,
                f32::from(bbox.y_max) * scale,
            ))
            .italic_angle(0.0)
            .ascent(f32::from(face.ascender()) * scale)
            .descent(f32::from(face.descender()) * scale)
            .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * scale)
            .stem_v(80.0);
        if self.cff {
            descriptor.font_file3(file_id);
        } else {
            descriptor.font_file2(file_id);
        }
        descriptor.finish();

        let mut cmap = UnicodeCmap::new(Name(b"Onsite-CJK-UCS"), SYSTEM_INFO);
        for (gid, (c, _)) in &self.used {
            cmap.pair(*gid, *c);
        }
        pdf.cmap(cmap_id, &cmap.finish());

        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&subset, 6);
        let mut file = pdf.stream(file_id, &packed);
        file.filter(pdf_writer::Filter::FlateDecode);
        if self.cff {
            file.pair(Name(b"Subtype"), Name(b"OpenType"));
        } else {
            file.pair(Name(b"Length1"), subset.len() as i32);
        }
        file.finish();
    }
}
