//! A realistic day of demo data, relative to the current time.

use chrono::{Duration, NaiveDate, Timelike};
use onsite_model::{JobType, Priority, Role, User};

use crate::error::Result;
use crate::store::{NewAsset, NewCustomer, NewUser, NewWorkOrder, Password, Store};

pub const DEMO_PASSWORD: &str = "onsite-demo";

/// What `demo load` created.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub users_created: usize,
    pub customers: usize,
    pub assets: usize,
    pub work_orders: usize,
}

const CUSTOMERS: &[(&str, &str, &str, f64, f64)] = &[
    (
        "Harbour View Dental",
        "+1 415 555 0101",
        "220 Embarcadero, San Francisco, CA",
        37.7936,
        -122.3930,
    ),
    (
        "Mission Street Bakery",
        "+1 415 555 0102",
        "2401 Mission St, San Francisco, CA",
        37.7577,
        -122.4188,
    ),
    (
        "Nob Hill Apartments (Bldg B)",
        "+1 415 555 0103",
        "1150 Jones St, San Francisco, CA",
        37.7930,
        -122.4150,
    ),
    (
        "Sunset Family Clinic",
        "+1 415 555 0104",
        "1800 Irving St, San Francisco, CA",
        37.7637,
        -122.4777,
    ),
    (
        "Castro Fitness Club",
        "+1 415 555 0105",
        "4050 18th St, San Francisco, CA",
        37.7609,
        -122.4350,
    ),
    (
        "Dogpatch Coffee Roasters",
        "+1 415 555 0106",
        "900 Tennessee St, San Francisco, CA",
        37.7590,
        -122.3890,
    ),
    (
        "Richmond Public Library",
        "+1 415 555 0107",
        "351 9th Ave, San Francisco, CA",
        37.7822,
        -122.4675,
    ),
    (
        "Bayview Auto Repair",
        "+1 415 555 0108",
        "4900 3rd St, San Francisco, CA",
        37.7330,
        -122.3905,
    ),
    (
        "Pacific Heights Residence (Lee)",
        "+1 415 555 0109",
        "2600 Pacific Ave, San Francisco, CA",
        37.7925,
        -122.4380,
    ),
    (
        "SoMa Co-working Loft",
        "+1 415 555 0110",
        "600 Folsom St, San Francisco, CA",
        37.7845,
        -122.3970,
    ),
    (
        "Glen Park Pharmacy",
        "+1 415 555 0111",
        "2800 Diamond St, San Francisco, CA",
        37.7340,
        -122.4340,
    ),
    (
        "Marina Yacht Club Office",
        "+1 415 555 0112",
        "1 Yacht Rd, San Francisco, CA",
        37.8070,
        -122.4420,
    ),
];

const MODELS: &[(&str, &str)] = &[
    ("Daikin FTXM35 split air conditioner", "DK35-"),
    ("Bosch WAT28400 washing machine", "BW28-"),
    ("Rinnai RL94 tankless water heater", "RN94-"),
    ("Carrier 24ACC6 condensing unit", "CA24-"),
];

/// (customer index, job type, priority, problem, technician ("" for nobody), appointment hour
/// offset from 8:00)
const JOBS: &[(usize, JobType, Priority, &str, &str, i64)] = &[
    (
        0,
        JobType::Repair,
        Priority::High,
        "Air conditioner in surgery room blows warm air",
        "alice",
        0,
    ),
    (
        1,
        JobType::Maintenance,
        Priority::Normal,
        "Quarterly service of the proofing room cooling",
        "alice",
        1,
    ),
    (
        2,
        JobType::Repair,
        Priority::Urgent,
        "No hot water in building B since last night",
        "bob",
        0,
    ),
    (
        3,
        JobType::Inspection,
        Priority::Low,
        "Annual safety inspection of HVAC units",
        "bob",
        2,
    ),
    (
        4,
        JobType::Install,
        Priority::Normal,
        "Install new split unit in spin studio",
        "alice",
        3,
    ),
    (
        5,
        JobType::Repair,
        Priority::High,
        "Condensing unit trips breaker on start",
        "bob",
        1,
    ),
    (
        6,
        JobType::Maintenance,
        Priority::Low,
        "Filter replacement, reading room units",
        "alice",
        5,
    ),
    (
        7,
        JobType::Inspection,
        Priority::Normal,
        "Pre-warranty-expiry inspection",
        "bob",
        4,
    ),
    (
        8,
        JobType::Install,
        Priority::Normal,
        "Replace tankless water heater",
        "alice",
        6,
    ),
    (
        9,
        JobType::Repair,
        Priority::Normal,
        "Washing machine leaks during spin",
        "bob",
        6,
    ),
    (
        10,
        JobType::Maintenance,
        Priority::Normal,
        "Service the cold-storage condensing unit",
        "alice",
        7,
    ),
    (
        11,
        JobType::Repair,
        Priority::Urgent,
        "Office AC failed, server closet overheating",
        "bob",
        2,
    ),
    (
        0,
        JobType::Inspection,
        Priority::Low,
        "Follow-up check after compressor repair",
        "alice",
        8,
    ),
    (
        2,
        JobType::Maintenance,
        Priority::Normal,
        "Descale water heaters, units 1-4",
        "bob",
        8,
    ),
    (
        5,
        JobType::Install,
        Priority::High,
        "Install second condensing unit for roastery",
        "alice",
        4,
    ),
    (
        9,
        JobType::Inspection,
        Priority::Normal,
        "Inspect shared-kitchen appliances",
        "bob",
        5,
    ),
    // Nobody's yet: the dispatch board's queue, with suggestions to act on.
    (
        8,
        JobType::Repair,
        Priority::Urgent,
        "Split unit in the nursery blows warm air",
        "",
        2,
    ),
    (
        6,
        JobType::Repair,
        Priority::High,
        "Tankless water heater shows error 11",
        "",
        3,
    ),
];

/// Each technician's skill tags, which the dispatch suggestions match against the job type
/// and the asset's model (docs/DISPATCH.md): Alice installs and repairs air conditioning,
/// Bob repairs and services water heaters and washing machines.
fn demo_skills(username: &str) -> Vec<String> {
    let tags: &[&str] = match username {
        "alice" => &[
            "install",
            "repair",
            "air conditioner",
            "condensing unit",
            "daikin",
        ],
        "bob" => &[
            "repair",
            "maintenance",
            "inspection",
            "water heater",
            "washing machine",
        ],
        _ => &[],
    };
    tags.iter().map(|t| (*t).to_owned()).collect()
}

pub fn load(store: &dyn Store, now: chrono::DateTime<chrono::Utc>) -> Result<DemoSummary> {
    let mut summary = DemoSummary::default();
    let mut users = store.list_users()?;
    for (username, name, role) in [
        ("alice", "Alice Chen", Role::Technician),
        ("bob", "Bob Martin", Role::Technician),
        ("dana", "Dana Okafor", Role::Dispatcher),
    ] {
        // Existing accounts keep their passwords.
        if users.iter().any(|u| u.username == username) {
            continue;
        }
        let phone = Some(format!("+1 415 555 02{:02}", users.len()));
        users.push(store.create_user(&NewUser {
            username: username.into(),
            name: name.into(),
            role,
            password: Password(DEMO_PASSWORD.into()),
            skills: demo_skills(username),
            phone,
        })?);
        summary.users_created += 1;
    }
    let tech = |name: &str| -> Option<&User> { users.iter().find(|u| u.username == name) };
    let day_start = now
        .with_hour(8)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let mut customers = Vec::new();
    let mut assets = Vec::new();
    for (i, (name, phone, address, lat, lon)) in CUSTOMERS.iter().enumerate() {
        let c = store.create_customer(&NewCustomer {
            name: (*name).into(),
            phone: Some((*phone).into()),
            address: Some((*address).into()),
            lat: Some(*lat),
            lon: Some(*lon),
            notes: (i % 3 == 0)
                .then(|| "Call 15 minutes before arrival; parking at the rear".to_owned()),
        })?;
        let (model, prefix) = MODELS[i % MODELS.len()];
        let installed = NaiveDate::from_ymd_opt(2021 + (i as i32 % 4), 1 + (i as u32 % 12), 10);
        let a = store.create_asset(&NewAsset {
            customer_id: c.id,
            model: model.into(),
            serial: Some(format!("{prefix}{:06}", 104_729 * (i + 1) % 1_000_000)),
            installed_on: installed,
            warranty_end: installed.and_then(|d| d.checked_add_signed(Duration::days(3 * 365))),
        })?;
        customers.push(c);
        assets.push(a);
    }
    summary.customers = customers.len();
    summary.assets = assets.len();
    let mut orders = Vec::new();
    for (ci, job_type, priority, problem, who, hour) in JOBS {
        let start = day_start + Duration::hours(*hour);
        orders.push(NewWorkOrder {
            customer_id: customers[*ci].id,
            asset_id: Some(assets[*ci].id),
            job_type: *job_type,
            priority: *priority,
            problem: (*problem).into(),
            reported_at: Some(day_start - Duration::hours(6 + *hour)),
            respond_by: None,
            resolve_by: None,
            appointment_start: Some(start),
            appointment_end: Some(start + Duration::hours(2)),
            assignee_id: tech(who).map(|u| u.id),
            revisit_of: None,
        });
    }
    summary.work_orders = store.create_work_orders(&orders)?.len();
    Ok(summary)
}
