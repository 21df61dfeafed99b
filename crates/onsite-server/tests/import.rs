//! The office's bulk import: checked whole before anything is stored, stored in chunks, on
//! every backend.

mod common;

use common::{TestBackend, World, world_on};
use onsite_model::{JobType, Priority};
use onsite_server::Error;
use onsite_server::store::NewWorkOrder;

/// More rows than several chunks hold.
const ROWS: usize = 340;

fn rows(w: &World) -> Vec<NewWorkOrder> {
    (0..ROWS)
        .map(|i| NewWorkOrder {
            customer_id: w.customer.id,
            asset_id: (i % 2 == 0).then_some(w.asset.id),
            job_type: JobType::Maintenance,
            priority: Priority::Normal,
            problem: format!("Yearly service {i}"),
            reported_at: None,
            respond_by: None,
            resolve_by: None,
            appointment_start: None,
            appointment_end: None,
            assignee_id: [Some(w.alice.id), Some(w.bob.id), None][i % 3],
            revisit_of: None,
        })
        .collect()
}

fn a_bad_row_late_in_a_large_import_stores_nothing<B: TestBackend>() {
    let w = world_on::<B>();
    let mut new = rows(&w);
    new[ROWS - 7].problem = "   ".into();
    let err = w.store.import_work_orders(&new).unwrap_err();
    let Error::Refused { code, message, .. } = err else {
        panic!("expected a refusal, got {err}")
    };
    assert_eq!(code, "invalid_value");
    assert!(
        message.starts_with(&format!("row {}:", ROWS - 6)),
        "{message}"
    );
    assert!(
        w.store
            .list_work_orders(&Default::default())
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
}

fn a_large_import_stores_every_row_once_in_order<B: TestBackend>() {
    let w = world_on::<B>();
    let stored = w.store.import_work_orders(&rows(&w)).unwrap();
    assert_eq!(stored.len(), ROWS);
    let listed = w.store.list_work_orders(&Default::default()).unwrap();
    assert_eq!(listed.len(), ROWS);
    let mut numbers: Vec<&str> = stored.iter().map(|wo| wo.number.as_str()).collect();
    assert!(
        numbers.windows(2).all(|p| p[0] < p[1]),
        "numbered in file order"
    );
    numbers.dedup();
    assert_eq!(numbers.len(), ROWS);
    for (i, wo) in stored.iter().enumerate() {
        assert_eq!(wo.problem, format!("Yearly service {i}"));
    }
    // Alice's device sees exactly her share, assigned.
    let dev = w.device(&w.alice);
    let page = w.store.pull(&dev.principal, 0, 1000).unwrap();
    let hers = page
        .changes
        .iter()
        .filter(|c| c.kind == onsite_model::wire::RowKind::WorkOrder)
        .count();
    assert_eq!(hers, ROWS.div_ceil(3));
}

for_each_backend!(
    a_bad_row_late_in_a_large_import_stores_nothing,
    a_large_import_stores_every_row_once_in_order,
);
