//! Backup and restore of the embedded server, end to end: the real `onsite-server` binary
//! backs up while serving, a device goes on working, the server is restored from the backup
//! (a new epoch), and the device's next sync brings back everything the restore lost, once.

mod support;

use onsite_model::entities::PhotoKind;
use onsite_model::ids::WorkOrderId;
use support::{Device, Office, Server};

fn notes_on_server(office: &Office, job: WorkOrderId) -> Vec<String> {
    let mut notes: Vec<String> = office.job(job)["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap().to_owned())
        .collect();
    notes.sort();
    notes
}

#[test]
fn a_restored_server_gets_back_what_devices_pushed_after_the_backup() {
    let mut server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut tablet = Device::new("alice-tablet", &server.url, "alice", 0);
    tablet.sync_ok();
    let job = tablet.jobs()[0];
    tablet.replica.add_note(job, "A: gate code 4411").unwrap();
    tablet.sync_ok();

    let backups = tempfile::tempdir().unwrap();
    let monday = backups.path().join("monday");
    let out = server.admin(&["backup", "--to", monday.to_str().unwrap()], "");
    assert!(out.contains("backed up"), "{out}");

    // After the backup: a note and a photo reach the server, then the server is lost.
    tablet
        .replica
        .add_note(job, "B: replaced the fan motor")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("after.jpg");
    std::fs::write(&photo, onsite_client::photo::sample_photo(48, 32, 9)).unwrap();
    tablet
        .replica
        .attach_photo(job, &photo, PhotoKind::After, None)
        .unwrap();
    tablet.sync_ok();
    assert_eq!(
        notes_on_server(&office, job),
        ["A: gate code 4411", "B: replaced the fan motor"]
    );

    server.kill9();
    let out = server.admin(&["restore", "--from", monday.to_str().unwrap()], "");
    assert!(out.contains("new epoch"), "{out}");
    server.restart();
    let office = Office::login(&server.url);
    assert_eq!(
        notes_on_server(&office, job),
        ["A: gate code 4411"],
        "the restored server is the backup"
    );

    // The device notices the new epoch, pushes its log again and pulls its view afresh.
    let report = tablet.sync_ok();
    assert!(report.pushed >= 2, "{report:?}");
    assert_eq!(
        notes_on_server(&office, job),
        ["A: gate code 4411", "B: replaced the fan motor"],
        "B is back, and nothing is there twice"
    );
    let photos = office.job(job)["photos"].as_array().unwrap().clone();
    assert_eq!(photos.len(), 1, "{photos:?}");
    tablet.assert_converged();
    // A second sync finds nothing more to do.
    let again = tablet.sync_ok();
    assert_eq!(again.pushed, 0, "{again:?}");
    assert_eq!(notes_on_server(&office, job).len(), 2);
}
