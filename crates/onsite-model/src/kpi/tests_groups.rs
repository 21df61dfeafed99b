//! Grouping: by technician, by period, and the revisit link across groups.

use chrono::NaiveDate;

use super::tests::{done, job, opts, tech};
use super::*;
use crate::kinds::Priority;

#[test]
fn by_technician_each_sees_their_own_and_a_revisit_counts_against_the_first_visit() {
    let d = |n, who: Option<u128>| {
        let mut j = done(
            n,
            "2026-11-22T08:00:00Z",
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        );
        j.assignee_id = who.map(tech);
        j
    };
    let mut a1 = d(1, Some(1));
    a1.rating = Some(5);
    let mut a2 = d(2, Some(1));
    a2.rating = Some(3);
    // Technician 2 revisits technician 1's job a1 a week later: a1 loses its first-time fix
    // on technician 1's figures, and the revisit is technician 2's.
    let mut b1 = done(
        3,
        "2026-11-29T08:00:00Z",
        "2026-11-29T09:00:00Z",
        "2026-11-29T10:00:00Z",
    );
    b1.assignee_id = Some(tech(2));
    b1.revisit_of = Some(a1.id);
    b1.rating = Some(4);
    let unassigned = job(4, Priority::Low, "2026-11-22T08:00:00Z");
    let facts = [a1, a2, b1, unassigned];
    let now = opts("2026-11-30T00:00:00Z");
    let groups = compute_by(&facts, &now, Group::Technician);

    let keys: Vec<GroupKey> = groups.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            GroupKey::Technician { id: None },
            GroupKey::Technician { id: Some(tech(1)) },
            GroupKey::Technician { id: Some(tech(2)) },
        ]
    );
    let (nobody, first, second) = (&groups[0].1, &groups[1].1, &groups[2].1);
    assert_eq!((nobody.jobs, nobody.completed), (1, 0));
    assert_eq!(nobody.first_time_fix.ratio, None);
    // Technician 1: a1 revisited, a2 fixed first time → 1 of 2; ratings 5, 3 → 4.0, 1 of 2
    // satisfied.
    assert_eq!((first.jobs, first.completed), (2, 2));
    assert_eq!(first.first_time_fix, Rate::of(1, 2));
    assert_eq!(first.repeat_visit, Rate::of(1, 2));
    assert_eq!(first.csat.average_rating, Some(4.0));
    assert_eq!(first.csat.satisfied, Rate::of(1, 2));
    // Technician 2: only a revisit, so no first visits to rate a first-time fix on.
    assert_eq!((second.completed, second.revisits), (1, 1));
    assert_eq!(second.first_time_fix, Rate::of(0, 0));
    assert_eq!(second.csat.satisfied, Rate::of(1, 1));

    // The groups add up to the whole.
    let all = compute(&facts, &now);
    let jobs: u32 = groups.iter().map(|(_, k)| k.jobs).sum();
    assert_eq!(jobs, all.jobs);
    assert_eq!(all.first_time_fix, Rate::of(1, 2));
}

#[test]
fn by_iso_week_and_day_in_the_given_utc_offset() {
    // Completed Sunday 29 November 20:00 UTC: ISO week 48 in UTC, but Monday 30 November
    // 04:00 in UTC+8, week 49.
    let sunday_evening = done(
        1,
        "2026-11-29T08:00:00Z",
        "2026-11-29T09:00:00Z",
        "2026-11-29T20:00:00Z",
    );
    // Completed Monday 23 November: week 48 either way.
    let monday = done(
        2,
        "2026-11-23T08:00:00Z",
        "2026-11-23T09:00:00Z",
        "2026-11-23T10:00:00Z",
    );
    // Not completed: placed by when it was reported, Friday 1 January 2027, which belongs
    // to ISO week 53 of 2026.
    let new_year = job(3, Priority::Normal, "2027-01-01T10:00:00Z");
    let facts = [sunday_evening, monday, new_year];
    let utc = opts("2027-01-02T00:00:00Z");

    let week = |year, week| GroupKey::IsoWeek { year, week };
    let summary = |groups: Vec<(GroupKey, Kpis)>| -> Vec<(GroupKey, u32, u32)> {
        groups
            .into_iter()
            .map(|(k, kpis)| (k, kpis.jobs, kpis.completed))
            .collect()
    };
    assert_eq!(
        summary(compute_by(&facts, &utc, Group::IsoWeek)),
        [(week(2026, 48), 2, 2), (week(2026, 53), 1, 0)]
    );
    let china = KpiOptions {
        utc_offset_minutes: 8 * 60,
        ..utc.clone()
    };
    assert_eq!(
        summary(compute_by(&facts, &china, Group::IsoWeek)),
        [
            (week(2026, 48), 1, 1),
            (week(2026, 49), 1, 1),
            (week(2026, 53), 1, 0)
        ]
    );

    let day = |y, m, d| GroupKey::Day {
        date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
    };
    assert_eq!(
        summary(compute_by(&facts, &china, Group::Day)),
        [
            (day(2026, 11, 23), 1, 1),
            (day(2026, 11, 30), 1, 1),
            (day(2027, 1, 1), 1, 0)
        ]
    );
}

#[test]
fn by_job_type_priority_and_customer() {
    use crate::ids::CustomerId;
    use crate::kinds::JobType;
    use uuid::Uuid;

    let mut install = job(1, Priority::High, "2026-11-22T08:00:00Z");
    install.job_type = JobType::Install;
    let mut other = job(2, Priority::Low, "2026-11-22T08:00:00Z");
    other.customer_id = CustomerId(Uuid::from_u128(0x2000));
    let facts = [
        install,
        other,
        job(3, Priority::Low, "2026-11-22T08:00:00Z"),
    ];
    let now = opts("2026-11-22T09:00:00Z");
    let counts = |g| -> Vec<(GroupKey, u32)> {
        compute_by(&facts, &now, g)
            .into_iter()
            .map(|(k, kpis)| (k, kpis.jobs))
            .collect()
    };
    assert_eq!(
        counts(Group::JobType),
        [
            (
                GroupKey::JobType {
                    job_type: JobType::Install
                },
                1
            ),
            (
                GroupKey::JobType {
                    job_type: JobType::Repair
                },
                2
            )
        ]
    );
    assert_eq!(
        counts(Group::Priority),
        [
            (
                GroupKey::Priority {
                    priority: Priority::Low
                },
                2
            ),
            (
                GroupKey::Priority {
                    priority: Priority::High
                },
                1
            )
        ]
    );
    assert_eq!(counts(Group::Customer).len(), 2);
    assert!(compute_by(&[], &now, Group::Customer).is_empty());
}

#[test]
fn group_keys_and_kpis_serialise_for_the_ui() {
    let key = GroupKey::IsoWeek {
        year: 2026,
        week: 48,
    };
    assert_eq!(
        serde_json::to_string(&key).unwrap(),
        r#"{"group":"iso_week","year":2026,"week":48}"#
    );
    assert_eq!(
        serde_json::to_string(&Rate::of(1, 4)).unwrap(),
        r#"{"numerator":1,"denominator":4,"ratio":0.25}"#
    );
    let k = compute(
        &[done(
            1,
            "2026-11-22T08:00:00Z",
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        )],
        &opts("2026-11-23T00:00:00Z"),
    );
    let back: Kpis = serde_json::from_str(&serde_json::to_string(&k).unwrap()).unwrap();
    assert_eq!(back, k);
}
