//! Checklist templates per job type and the completion guard.
//!
//! Every default template carries the conduct items of the service standard: appointment
//! confirmed in advance, shoe covers worn, work area cleaned up, fault and fix explained.
//! They are [`ItemKind::Conduct`]: each must be answered, yes or no, and a "no" takes a short
//! reason. A "no" never blocks completion; it is a conduct exception that counts against the
//! conduct KPIs and sends the job to quality review ([`ChecklistTemplate::conduct_exceptions`]).
//! Work steps whose "no" means the work is not done (the test run after a repair, say) are
//! [`ItemKind::Check`] and keep blocking: such a job is put on hold or left for a revisit.
//! Required items, the customer's signature (unless waived with a reason) and the photos a
//! template asks for all block completion, and the refusal names each missing thing.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::PhotoId;
use crate::kinds::{JobType, PhotoKind};
use crate::text_enum::text_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Arrival,
    Work,
    Departure,
}
text_enum!(Phase { Arrival => "arrival", Work => "work", Departure => "departure" });

/// Text in the two languages the app ships with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Label {
    pub en: String,
    pub zh: String,
}

fn label(en: &str, zh: &str) -> Label {
    Label {
        en: en.to_owned(),
        zh: zh.to_owned(),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChoiceOption {
    pub key: String,
    pub label: Label,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    /// Done or not; a required check must be ticked.
    Check,
    /// A standard of conduct: answered yes ([`AnswerValue::Check`]`(true)`) or no with a
    /// short reason ([`AnswerValue::No`]). A "no" is recorded truthfully and never blocks.
    Conduct,
    Text,
    Number {
        #[serde(default)]
        unit: Option<String>,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// Answered by a photo of the job, of the given kind.
    Photo {
        kind: PhotoKind,
    },
    Choice {
        options: Vec<ChoiceOption>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChecklistItem {
    pub key: String,
    pub phase: Phase,
    pub kind: ItemKind,
    pub required: bool,
    pub label: Label,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum SignatureRule {
    Required,
    Waived { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChecklistTemplate {
    pub key: String,
    pub job_type: JobType,
    pub version: u32,
    pub items: Vec<ChecklistItem>,
    pub required_photos: Vec<PhotoKind>,
    pub signature: SignatureRule,
}

/// An answer to one checklist item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    Check(bool),
    Text(String),
    Number(f64),
    Photo(PhotoId),
    Choice(String),
    /// A conduct item not met, with the technician's reason.
    No(String),
}

/// Longest reason for a conduct "no", in characters.
pub const NO_REASON_MAX_CHARS: usize = 500;

/// A conduct item answered "no": what the office's quality review is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConductException {
    pub key: String,
    pub label: Label,
    pub reason: String,
}

impl ChecklistTemplate {
    pub fn item(&self, key: &str) -> Option<&ChecklistItem> {
        self.items.iter().find(|i| i.key == key)
    }

    /// Checks that `value` fits item `key`: the kind matches, numbers are in range,
    /// choices are among the options.
    pub fn validate_answer(&self, key: &str, value: &AnswerValue) -> Result<(), String> {
        let item = self.item(key).ok_or_else(|| {
            let keys: Vec<&str> = self.items.iter().map(|i| i.key.as_str()).collect();
            format!(
                "checklist {} has no item {key:?}; items are: {}",
                self.key,
                keys.join(", ")
            )
        })?;
        match (&item.kind, value) {
            (ItemKind::Check, AnswerValue::Check(_)) => Ok(()),
            (ItemKind::Conduct, AnswerValue::Check(true)) => Ok(()),
            (ItemKind::Conduct, AnswerValue::Check(false)) => Err(format!(
                "a \"no\" to {key:?} takes a short reason: answer no with the reason why"
            )),
            (ItemKind::Conduct, AnswerValue::No(reason)) => {
                if reason.trim().is_empty() {
                    Err(format!(
                        "a \"no\" to {key:?} takes a short reason: say why it was not done"
                    ))
                } else if reason.chars().count() > NO_REASON_MAX_CHARS {
                    Err(format!(
                        "the reason for {key:?} is longer than {NO_REASON_MAX_CHARS} characters; shorten it"
                    ))
                } else {
                    Ok(())
                }
            }
            (ItemKind::Conduct, _) => Err(format!(
                "item {key:?} is a conduct item: answer yes, or no with a short reason"
            )),
            (_, AnswerValue::No(_)) => Err(format!(
                "{key:?} is not a conduct item: only conduct items take a \"no\" with a reason"
            )),
            (ItemKind::Text, AnswerValue::Text(t)) if t.chars().count() <= 4000 => Ok(()),
            (ItemKind::Text, AnswerValue::Text(_)) => Err(format!(
                "answer to {key:?} is longer than 4000 characters; shorten it"
            )),
            (ItemKind::Number { min, max, unit }, AnswerValue::Number(n)) => {
                let unit = unit.as_deref().unwrap_or("");
                if !n.is_finite() {
                    return Err(format!("answer to {key:?} must be a number"));
                }
                if let Some(min) = min
                    && n < min
                {
                    return Err(format!(
                        "{n}{unit} is below the minimum {min}{unit} for {key:?}"
                    ));
                }
                if let Some(max) = max
                    && n > max
                {
                    return Err(format!(
                        "{n}{unit} is above the maximum {max}{unit} for {key:?}"
                    ));
                }
                Ok(())
            }
            (ItemKind::Photo { .. }, AnswerValue::Photo(_)) => Ok(()),
            (ItemKind::Choice { options }, AnswerValue::Choice(c)) => {
                if options.iter().any(|o| &o.key == c) {
                    Ok(())
                } else {
                    let keys: Vec<&str> = options.iter().map(|o| o.key.as_str()).collect();
                    Err(format!(
                        "{c:?} is not a choice for {key:?}; choose one of: {}",
                        keys.join(", ")
                    ))
                }
            }
            (kind, _) => Err(format!(
                "item {key:?} expects a {} answer",
                match kind {
                    ItemKind::Check => "yes/no",
                    ItemKind::Conduct => "conduct",
                    ItemKind::Text => "text",
                    ItemKind::Number { .. } => "number",
                    ItemKind::Photo { .. } => "photo",
                    ItemKind::Choice { .. } => "choice",
                }
            )),
        }
    }

    /// Whether an item counts as answered for completion: a conduct "no" with its reason
    /// does; an unticked check does not.
    pub fn satisfied(item: &ChecklistItem, answer: Option<&AnswerValue>) -> bool {
        match answer {
            None => false,
            Some(AnswerValue::Check(done)) => *done,
            Some(AnswerValue::No(reason)) => {
                matches!(item.kind, ItemKind::Conduct) && !reason.trim().is_empty()
            }
            Some(AnswerValue::Text(t)) => !t.trim().is_empty(),
            Some(AnswerValue::Choice(c)) => !c.is_empty(),
            Some(AnswerValue::Number(_) | AnswerValue::Photo(_)) => {
                !matches!(item.kind, ItemKind::Check)
            }
        }
    }

    /// The completion guard: everything still missing, in template order, or `Ok`.
    pub fn check_completion(
        &self,
        evidence: &CompletionEvidence<'_>,
    ) -> Result<(), CompletionBlocked> {
        let mut missing = Vec::new();
        for item in self.items.iter().filter(|i| i.required) {
            if !Self::satisfied(item, evidence.answers.get(item.key.as_str()).copied()) {
                missing.push(Missing::ChecklistItem {
                    key: item.key.clone(),
                    label: item.label.clone(),
                });
            }
        }
        for kind in &self.required_photos {
            if !evidence.photo_kinds.contains(kind) {
                missing.push(Missing::Photo { kind: *kind });
            }
        }
        if self.signature == SignatureRule::Required && !evidence.signed {
            missing.push(Missing::Signature);
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CompletionBlocked { missing })
        }
    }
}

impl ChecklistTemplate {
    /// The conduct items answered "no", in template order: a job with any goes to quality
    /// review, and each counts against its conduct KPI.
    pub fn conduct_exceptions(
        &self,
        answers: &HashMap<&str, &AnswerValue>,
    ) -> Vec<ConductException> {
        self.items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Conduct))
            .filter_map(|i| match answers.get(i.key.as_str()) {
                Some(AnswerValue::No(reason)) => Some(ConductException {
                    key: i.key.clone(),
                    label: i.label.clone(),
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

/// What a job has recorded, as the completion guard reads it.
#[derive(Debug, Default)]
pub struct CompletionEvidence<'a> {
    pub answers: HashMap<&'a str, &'a AnswerValue>,
    pub photo_kinds: Vec<PhotoKind>,
    pub signed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Missing {
    ChecklistItem { key: String, label: Label },
    Photo { kind: PhotoKind },
    Signature,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::ChecklistItem { key, label } => {
                write!(f, "checklist item \"{}\" ({key})", label.en)
            }
            Missing::Photo { kind } => write!(f, "{} photo", kind.as_str().replace('_', " ")),
            Missing::Signature => f.write_str("customer signature"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("cannot complete the job yet; still missing: {}", self.missing.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("; "))]
pub struct CompletionBlocked {
    pub missing: Vec<Missing>,
}

fn item(
    key: &str,
    phase: Phase,
    kind: ItemKind,
    required: bool,
    en: &str,
    zh: &str,
) -> ChecklistItem {
    ChecklistItem {
        key: key.to_owned(),
        phase,
        kind,
        required,
        label: label(en, zh),
    }
}

fn choice(options: &[(&str, &str, &str)]) -> ItemKind {
    ItemKind::Choice {
        options: options
            .iter()
            .map(|(key, en, zh)| ChoiceOption {
                key: (*key).to_owned(),
                label: label(en, zh),
            })
            .collect(),
    }
}

/// The conduct items every visit carries, per the service standard: required answers whose
/// "no" (with a reason) is recorded and never blocks.
fn conduct_items() -> (Vec<ChecklistItem>, Vec<ChecklistItem>) {
    let arrival = vec![
        item(
            "appointment_confirmed",
            Phase::Arrival,
            ItemKind::Conduct,
            true,
            "Appointment confirmed with the customer in advance",
            "已提前与客户确认预约",
        ),
        item(
            "shoe_covers",
            Phase::Arrival,
            ItemKind::Conduct,
            true,
            "Shoe covers worn on entering",
            "进门已穿戴鞋套",
        ),
    ];
    let departure = vec![
        item(
            "site_cleaned",
            Phase::Departure,
            ItemKind::Conduct,
            true,
            "Work area cleaned up",
            "工作区域已清理干净",
        ),
        item(
            "fault_explained",
            Phase::Departure,
            ItemKind::Conduct,
            true,
            "Fault and fix explained to the customer",
            "已向客户说明故障原因及处理方法",
        ),
    ];
    (arrival, departure)
}

fn template(
    job_type: JobType,
    work: Vec<ChecklistItem>,
    required_photos: Vec<PhotoKind>,
    signature: SignatureRule,
) -> ChecklistTemplate {
    let (mut items, departure) = conduct_items();
    items.extend(work);
    items.extend(departure);
    ChecklistTemplate {
        key: job_type.as_str().to_owned(),
        job_type,
        version: 2,
        items,
        required_photos,
        signature,
    }
}

/// The templates a new company starts with, one per job type.
pub fn default_templates() -> Vec<ChecklistTemplate> {
    JobType::ALL.iter().map(|t| template_for(*t)).collect()
}

pub fn template_for(job_type: JobType) -> ChecklistTemplate {
    use Phase::Work;
    match job_type {
        JobType::Repair => template(
            job_type,
            vec![
                item(
                    "fault_confirmed",
                    Work,
                    ItemKind::Check,
                    true,
                    "Reported fault reproduced or confirmed",
                    "已复现或确认报修故障",
                ),
                item(
                    "root_cause",
                    Work,
                    choice(&[
                        ("wear", "Wear and tear", "自然磨损"),
                        ("defect", "Manufacturing defect", "产品缺陷"),
                        ("installation", "Installation fault", "安装问题"),
                        ("misuse", "Misuse or damage", "使用不当或损坏"),
                        ("other", "Other", "其他"),
                    ]),
                    true,
                    "Root cause",
                    "故障原因",
                ),
                item(
                    "test_run_ok",
                    Work,
                    ItemKind::Check,
                    true,
                    "Test run after repair passed",
                    "维修后试机正常",
                ),
            ],
            vec![PhotoKind::Before, PhotoKind::After],
            SignatureRule::Required,
        ),
        JobType::Install => template(
            job_type,
            vec![
                item(
                    "site_suitable",
                    Work,
                    ItemKind::Check,
                    true,
                    "Site checked: space, power and water supply suitable",
                    "已检查安装环境（空间、电源、水源）",
                ),
                item(
                    "unit_level",
                    Work,
                    ItemKind::Check,
                    true,
                    "Unit installed level and secured",
                    "设备已水平安装并固定",
                ),
                item(
                    "test_run_ok",
                    Work,
                    ItemKind::Check,
                    true,
                    "Commissioning test run passed",
                    "调试试机正常",
                ),
                item(
                    "customer_instructed",
                    Work,
                    ItemKind::Check,
                    true,
                    "Customer shown how to use the product",
                    "已向客户演示产品使用方法",
                ),
            ],
            vec![PhotoKind::After, PhotoKind::SerialPlate],
            SignatureRule::Required,
        ),
        JobType::Maintenance => template(
            job_type,
            vec![
                item(
                    "filters_cleaned",
                    Work,
                    ItemKind::Check,
                    true,
                    "Filters cleaned or replaced",
                    "滤网已清洁或更换",
                ),
                item(
                    "pressure_reading",
                    Work,
                    ItemKind::Number {
                        unit: Some("bar".into()),
                        min: Some(0.0),
                        max: Some(50.0),
                    },
                    false,
                    "Operating pressure reading",
                    "运行压力读数",
                ),
                item(
                    "test_run_ok",
                    Work,
                    ItemKind::Check,
                    true,
                    "Test run after maintenance passed",
                    "保养后试机正常",
                ),
            ],
            vec![PhotoKind::After],
            SignatureRule::Required,
        ),
        JobType::Inspection => template(
            job_type,
            vec![
                item(
                    "condition",
                    Work,
                    choice(&[
                        ("good", "Good", "良好"),
                        ("fair", "Fair, monitor", "一般，需关注"),
                        ("poor", "Poor, repair needed", "较差，需维修"),
                    ]),
                    true,
                    "Overall condition",
                    "整体状况",
                ),
                item(
                    "findings",
                    Work,
                    ItemKind::Text,
                    false,
                    "Findings",
                    "检查发现",
                ),
            ],
            vec![],
            SignatureRule::Waived {
                reason: "Routine inspections may be done while the customer is away".into(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeqIds;

    #[test]
    fn every_default_template_carries_the_conduct_items_in_both_languages() {
        for t in default_templates() {
            for key in [
                "appointment_confirmed",
                "shoe_covers",
                "site_cleaned",
                "fault_explained",
            ] {
                let item = t
                    .item(key)
                    .unwrap_or_else(|| panic!("{} lacks {key}", t.key));
                assert!(item.required);
                assert_eq!(item.kind, ItemKind::Conduct, "{key} in {}", t.key);
                assert!(!item.label.en.is_empty() && !item.label.zh.is_empty());
            }
            assert_eq!(t.items.first().unwrap().phase, Phase::Arrival);
            assert_eq!(t.items.last().unwrap().phase, Phase::Departure);
        }
    }

    #[test]
    fn completion_names_each_missing_thing() {
        let t = template_for(JobType::Repair);
        let ticked = AnswerValue::Check(true);
        let unticked = AnswerValue::Check(false);
        let mut ev = CompletionEvidence::default();
        for i in &t.items {
            ev.answers.insert(i.key.as_str(), &ticked);
        }
        let cause = AnswerValue::Choice("wear".into());
        ev.answers.insert("root_cause", &cause);
        ev.answers.insert("test_run_ok", &unticked);
        ev.answers.remove("site_cleaned");
        ev.photo_kinds = vec![PhotoKind::Before];
        let err = t.check_completion(&ev).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot complete the job yet; still missing: checklist item \"Test run after repair passed\" (test_run_ok); \
             checklist item \"Work area cleaned up\" (site_cleaned); after photo; customer signature"
        );
        ev.answers.insert("test_run_ok", &ticked);
        ev.answers.insert("site_cleaned", &ticked);
        ev.photo_kinds.push(PhotoKind::After);
        ev.signed = true;
        t.check_completion(&ev).unwrap();
    }

    #[test]
    fn a_conduct_no_with_its_reason_completes_and_is_an_exception() {
        let t = template_for(JobType::Repair);
        let yes = AnswerValue::Check(true);
        let cause = AnswerValue::Choice("wear".into());
        let no = AnswerValue::No("Customer asked us not to, the floor was being replaced".into());
        let mut ev = CompletionEvidence {
            photo_kinds: vec![PhotoKind::Before, PhotoKind::After],
            signed: true,
            ..Default::default()
        };
        for i in &t.items {
            ev.answers.insert(i.key.as_str(), &yes);
        }
        ev.answers.insert("root_cause", &cause);
        ev.answers.insert("shoe_covers", &no);
        t.check_completion(&ev).unwrap();
        assert_eq!(
            t.conduct_exceptions(&ev.answers),
            vec![ConductException {
                key: "shoe_covers".into(),
                label: t.item("shoe_covers").unwrap().label.clone(),
                reason: "Customer asked us not to, the floor was being replaced".into(),
            }]
        );
        // Unanswered still blocks: a conduct standard must be answered.
        ev.answers.remove("fault_explained");
        let err = t.check_completion(&ev).unwrap_err();
        assert_eq!(
            err.missing,
            vec![Missing::ChecklistItem {
                key: "fault_explained".into(),
                label: t.item("fault_explained").unwrap().label.clone(),
            }]
        );
    }

    #[test]
    fn a_conduct_no_takes_a_reason_and_only_conduct_items_take_a_no() {
        let t = template_for(JobType::Repair);
        t.validate_answer("shoe_covers", &AnswerValue::Check(true))
            .unwrap();
        t.validate_answer("shoe_covers", &AnswerValue::No("forgot them".into()))
            .unwrap();
        let e = t
            .validate_answer("shoe_covers", &AnswerValue::Check(false))
            .unwrap_err();
        assert!(e.contains("takes a short reason"), "{e}");
        let e = t
            .validate_answer("shoe_covers", &AnswerValue::No("   ".into()))
            .unwrap_err();
        assert!(e.contains("say why it was not done"), "{e}");
        let long = "x".repeat(NO_REASON_MAX_CHARS + 1);
        let e = t
            .validate_answer("site_cleaned", &AnswerValue::No(long))
            .unwrap_err();
        assert!(e.contains("longer than 500 characters"), "{e}");
        let e = t
            .validate_answer("test_run_ok", &AnswerValue::No("no power".into()))
            .unwrap_err();
        assert!(e.contains("not a conduct item"), "{e}");
    }

    #[test]
    fn a_waived_signature_does_not_block() {
        let t = template_for(JobType::Inspection);
        let yes = AnswerValue::Check(true);
        let good = AnswerValue::Choice("good".into());
        let mut ev = CompletionEvidence::default();
        for i in &t.items {
            ev.answers.insert(i.key.as_str(), &yes);
        }
        ev.answers.insert("condition", &good);
        t.check_completion(&ev).unwrap();
    }

    #[test]
    fn answers_are_validated_against_the_item() {
        let t = template_for(JobType::Maintenance);
        t.validate_answer("pressure_reading", &AnswerValue::Number(2.5))
            .unwrap();
        let e = t
            .validate_answer("pressure_reading", &AnswerValue::Number(80.0))
            .unwrap_err();
        assert_eq!(
            e,
            "80bar is above the maximum 50bar for \"pressure_reading\""
        );
        let e = t
            .validate_answer("test_run_ok", &AnswerValue::Text("yes".into()))
            .unwrap_err();
        assert_eq!(e, "item \"test_run_ok\" expects a yes/no answer");
        let e = t
            .validate_answer("shoe_covers", &AnswerValue::Text("yes".into()))
            .unwrap_err();
        assert_eq!(
            e,
            "item \"shoe_covers\" is a conduct item: answer yes, or no with a short reason"
        );
        let e = t
            .validate_answer("nope", &AnswerValue::Check(true))
            .unwrap_err();
        assert!(
            e.starts_with("checklist maintenance has no item \"nope\""),
            "{e}"
        );
        let r = template_for(JobType::Repair);
        let e = r
            .validate_answer("root_cause", &AnswerValue::Choice("aliens".into()))
            .unwrap_err();
        assert!(e.contains("choose one of: wear, defect"), "{e}");
        r.validate_answer("root_cause", &AnswerValue::Choice("wear".into()))
            .unwrap();
        let photo = AnswerValue::Photo(PhotoId::new(&SeqIds::new(1)));
        assert!(r.validate_answer("fault_confirmed", &photo).is_err());
    }
}
