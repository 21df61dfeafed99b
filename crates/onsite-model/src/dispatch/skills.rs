//! How a technician's skills meet a job: skill tags against the job type and the product
//! (the asset's model).
//!
//! A skill is a short tag the office gives a technician (`repair`, `boiler`, `daikin`,
//! `water heater`, `锅炉`). Tags are compared case-insensitively, and `-`, `_`, `/` and other
//! punctuation separate words like spaces do, so `Water_Heater`, `water-heater` and
//! `water heater` are one tag.
//!
//! - **Job type**: a tag naming the job's type matches it: `install` (or `installation`,
//!   `安装`), `repair` (`维修`), `maintenance` (`保养`), `inspection` (`巡检`, `检查`).
//! - **Product**: a tag matches when its words appear, in order and as whole words, in the
//!   asset's model: `boiler` and `vaillant` match "Vaillant ecoTEC plus 832 boiler",
//!   `water heater` matches "Rinnai RL94 tankless water heater", `heat` does not. A tag
//!   holding characters outside ASCII (Chinese has no spaces between words) matches as a
//!   piece of the model's text: `锅炉` matches "威能壁挂锅炉".

use serde::{Deserialize, Serialize};

use crate::kinds::JobType;

/// The tags that name each job type.
fn job_type_tags(job_type: JobType) -> &'static [&'static str] {
    match job_type {
        JobType::Install => &["install", "installation", "安装"],
        JobType::Repair => &["repair", "维修"],
        JobType::Maintenance => &["maintenance", "保养"],
        JobType::Inspection => &["inspection", "巡检", "检查"],
    }
}

/// The lower-case words of `text`: runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A tag in its compared form: lower-case words joined by one space.
pub fn normalise_tag(tag: &str) -> String {
    words(tag).join(" ")
}

/// Whether `tag` (normalised) names the product `model`.
fn names_product(tag: &str, model: &str) -> bool {
    if tag.is_empty() {
        return false;
    }
    if !tag.is_ascii() {
        return model.to_lowercase().contains(tag);
    }
    let tag_words: Vec<&str> = tag.split(' ').collect();
    let model_words = words(model);
    model_words
        .windows(tag_words.len())
        .any(|w| w.iter().zip(&tag_words).all(|(a, b)| a == b))
}

/// How one technician's skills meet one job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SkillFit {
    /// A skill names the job type.
    pub job_type: bool,
    /// A skill names the product.
    pub product: bool,
    /// The skills that matched, in their compared form, in the technician's order.
    pub matched: Vec<String>,
}

/// How `skills` meet a job of `job_type` on the product `model` (none: no asset recorded).
pub fn skill_fit(skills: &[String], job_type: JobType, model: Option<&str>) -> SkillFit {
    let mut fit = SkillFit::default();
    for skill in skills {
        let tag = normalise_tag(skill);
        let is_type = job_type_tags(job_type).contains(&tag.as_str());
        let is_product = model.is_some_and(|m| names_product(&tag, m));
        fit.job_type |= is_type;
        fit.product |= is_product;
        if (is_type || is_product) && !fit.matched.contains(&tag) {
            fit.matched.push(tag);
        }
    }
    fit
}
