//! A realistic day of work generated around a given time: for the demo, the benchmarks and
//! tests. Appointment windows, SLA deadlines and job types vary like a real schedule.

use chrono::{Duration, DurationRound};
use onsite_model::clock::IdSource;
use onsite_model::entities::{Asset, Customer, JobType, Priority, User, WorkOrder};
use onsite_model::ids::{AssetId, CustomerId, UserId, WorkOrderId};
use onsite_model::ops::Role;
use onsite_model::sla::SlaPolicy;
use onsite_model::status::WorkOrderStatus;
use onsite_model::time::Timestamp;

use crate::import::ImportFile;

const CUSTOMERS: &[(&str, &str, &str, f64, f64)] = &[
    (
        "Harbour View Dental",
        "+86 21 5555 0101",
        "88 Zhongshan East 1st Rd, Shanghai",
        31.2397,
        121.4906,
    ),
    (
        "Li Na",
        "+86 138 0000 1234",
        "12 Wulumuqi Rd, Apt 5B, Shanghai",
        31.2108,
        121.4452,
    ),
    (
        "Green Leaf Cafe",
        "+86 21 5555 0177",
        "255 Fumin Rd, Shanghai",
        31.2230,
        121.4494,
    ),
    (
        "Zhang Wei",
        "+86 139 0000 5678",
        "7 Hengshan Rd, Shanghai",
        31.2052,
        121.4430,
    ),
    (
        "Riverside Hotel",
        "+86 21 5555 0300",
        "1 Huangpu Rd, Shanghai",
        31.2467,
        121.4930,
    ),
    (
        "Mary Thompson",
        "+86 135 0000 2468",
        "40 Anfu Rd, Shanghai",
        31.2183,
        121.4441,
    ),
    (
        "Peak Fitness",
        "+86 21 5555 0420",
        "1266 Nanjing West Rd, Shanghai",
        31.2290,
        121.4541,
    ),
    (
        "Chen Jie",
        "+86 137 0000 1357",
        "9 Julu Rd, Shanghai",
        31.2241,
        121.4560,
    ),
];

const PRODUCTS: &[(&str, &str)] = &[
    ("AquaHeat 300 boiler", "AH3"),
    ("FrostLine FL-2 fridge", "FL2"),
    ("ClimaAir 12k air conditioner", "CA12"),
    ("PureFlow RO water purifier", "PF-RO"),
];

const PROBLEMS: &[(JobType, &str)] = &[
    (
        JobType::Repair,
        "No hot water since this morning; error code E4 on the display",
    ),
    (
        JobType::Install,
        "Install and commission the new unit; old unit to be taken away",
    ),
    (
        JobType::Maintenance,
        "Annual maintenance under the service contract",
    ),
    (
        JobType::Repair,
        "Unit is noisy and leaks water onto the floor",
    ),
    (
        JobType::Inspection,
        "Pre-warranty-expiry inspection requested by the customer",
    ),
    (
        JobType::Repair,
        "Cooling stopped; customer reports a burning smell",
    ),
];

/// `count` work orders for `technician` spread over the day of `now` (08:00 onwards, one
/// every 45 minutes, wrapping to the next days), with customers, assets and the technician.
pub fn day_of_jobs(
    now: Timestamp,
    technician: &User,
    count: usize,
    ids: &dyn IdSource,
) -> ImportFile {
    let day_start = now.duration_trunc(Duration::days(1)).expect("day") + Duration::hours(8);
    let customers: Vec<Customer> = CUSTOMERS
        .iter()
        .map(|(name, phone, address, lat, lon)| Customer {
            id: CustomerId::new(ids),
            name: (*name).into(),
            phone: Some((*phone).into()),
            address: Some((*address).into()),
            lat: Some(*lat),
            lon: Some(*lon),
            notes: None,
        })
        .collect();
    let assets: Vec<Asset> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (model, prefix) = PRODUCTS[i % PRODUCTS.len()];
            Asset {
                id: AssetId::new(ids),
                customer_id: c.id,
                model: model.into(),
                serial: Some(format!("{prefix}-{:06}", 204_117 + i * 7_919)),
                installed_on: Some(
                    chrono::NaiveDate::from_ymd_opt(2023, 3 + (i % 9) as u32, 10).expect("date"),
                ),
                warranty_end: Some(
                    chrono::NaiveDate::from_ymd_opt(2027, 3 + (i % 9) as u32, 10).expect("date"),
                ),
            }
        })
        .collect();
    let work_orders = (0..count)
        .map(|i| {
            let (job_type, problem) = PROBLEMS[i % PROBLEMS.len()];
            let priority = [
                Priority::Normal,
                Priority::High,
                Priority::Normal,
                Priority::Urgent,
                Priority::Low,
            ][i % 5];
            let reported_at = day_start - Duration::hours(2 + (i % 7) as i64);
            let (respond_by, resolve_by) = SlaPolicy::for_priority(priority).deadlines(reported_at);
            let slot = day_start + Duration::minutes(45 * i as i64);
            let customer = &customers[i % customers.len()];
            WorkOrder {
                asset_id: Some(assets[i % assets.len()].id),
                respond_by: Some(respond_by),
                resolve_by: Some(resolve_by),
                appointment_start: Some(slot),
                appointment_end: Some(slot + Duration::hours(2)),
                assignee_id: Some(technician.id),
                status: WorkOrderStatus::Assigned,
                ..WorkOrder::new_request(
                    WorkOrderId::new(ids),
                    format!("WO-{}-{:06}", now.format("%Y"), 100 + i),
                    customer.id,
                    job_type,
                    priority,
                    problem.into(),
                    reported_at,
                )
            }
        })
        .collect();
    ImportFile {
        users: vec![technician.clone()],
        customers,
        assets,
        work_orders,
    }
}

/// A technician to assign sample jobs to.
pub fn sample_technician(ids: &dyn IdSource) -> User {
    User {
        id: UserId::new(ids),
        username: "alice".into(),
        name: "Alice Chen".into(),
        role: Role::Technician,
        skills: vec!["boilers".into(), "air conditioning".into()],
        phone: Some("+86 136 0000 0001".into()),
    }
}

/// Takes a job through the visit up to "work in progress" and answers every required
/// checklist item as a careful technician would (ticks, the first choice, a reading), so
/// that only the evidence (photos, signature) is left. For the demo, benches and tests.
pub fn work_the_checklist(
    r: &mut crate::Replica,
    job: onsite_model::ids::WorkOrderId,
) -> crate::Result<()> {
    use onsite_model::checklist::{AnswerValue, ItemKind};
    let detail = r.job(job)?;
    match detail.work_order.status {
        WorkOrderStatus::Assigned => {
            r.start_travel(job)?;
            r.arrive(job)?;
            r.start_work(job)?;
        }
        WorkOrderStatus::EnRoute => {
            r.arrive(job)?;
            r.start_work(job)?;
        }
        WorkOrderStatus::OnSite | WorkOrderStatus::OnHold => {
            if detail.work_order.status == WorkOrderStatus::OnSite {
                r.start_work(job)?;
            } else {
                r.resume(job)?;
            }
        }
        _ => {}
    }
    for line in detail.checklist.iter().filter(|l| l.item.required) {
        let value = match &line.item.kind {
            ItemKind::Check | ItemKind::Conduct => AnswerValue::Check(true),
            ItemKind::Choice { options } => AnswerValue::Choice(options[0].key.clone()),
            ItemKind::Number { min, .. } => AnswerValue::Number(min.unwrap_or(0.0) + 1.0),
            ItemKind::Text => AnswerValue::Text("Checked, nothing to report".into()),
            ItemKind::Photo { .. } => continue,
        };
        r.answer(job, &line.item.key, value)?;
    }
    Ok(())
}

/// The customer signs the job's sign-off text with a short stroke.
pub fn sign_as_customer(
    r: &mut crate::Replica,
    job: onsite_model::ids::WorkOrderId,
) -> crate::Result<onsite_model::entities::Signature> {
    use onsite_model::entities::StrokePoint;
    let stroke = vec![
        StrokePoint {
            x: 10.0,
            y: 40.0,
            t: 0,
        },
        StrokePoint {
            x: 60.0,
            y: 12.0,
            t: 80,
        },
        StrokePoint {
            x: 110.0,
            y: 44.0,
            t: 160,
        },
    ];
    r.sign_current(job, "Customer", vec![stroke])
}
