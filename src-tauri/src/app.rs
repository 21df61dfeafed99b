//! The command bodies, written against [`Host`] so they run (and are tested) without Tauri.
//! Each is a few lines over the [`Replica`] facade: no SQL and no business rule here.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use onsite_client::photo::PhotoOptions;
use onsite_client::{
    Day, JobDetail, JobScope, JobSummary, Replica, ReplicaOptions, SerialScan, SyncReport,
    end_of_local_day, media_type_of,
};
use onsite_model::checklist::AnswerValue;
use onsite_model::entities::{PhotoKind, StrokePoint};
use onsite_model::ids::{PartUsedId, PhotoId, WorkOrderId};

use crate::background_sync::{BackgroundSync, SyncSchedule};
use crate::error::UiError;
use crate::host::Host;
use crate::wire::{
    AppSyncStatus, NoteLanguage, SerialOffer, Session, StepAction, TextField, events,
};

/// The device as the UI sees it: the replica behind a mutex for commands, and the sync
/// thread with its own connection to the same replica.
pub struct AppState {
    replica: Mutex<Replica>,
    host: Arc<dyn Host>,
    sync: BackgroundSync,
}

impl AppState {
    /// Opens (or creates) the replica in `dir` and starts the background sync on it.
    pub fn open(dir: &Path, schedule: SyncSchedule, host: Arc<dyn Host>) -> Result<Self, UiError> {
        let replica = Replica::open(dir, ReplicaOptions::default())?;
        let sync = BackgroundSync::start(dir.to_owned(), schedule, host.clone())?;
        let state = AppState {
            replica: Mutex::new(replica),
            host,
            sync,
        };
        if state.session()?.signed_in {
            state.sync.kick();
        }
        Ok(state)
    }

    pub(crate) fn replica(&self) -> MutexGuard<'_, Replica> {
        // A panic while holding the lock leaves the replica consistent (writes are
        // transactions), so a poisoned lock is still safe to use.
        self.replica.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_then_detail(
        &self,
        job_id: &str,
        f: impl FnOnce(&mut Replica, WorkOrderId) -> onsite_client::Result<()>,
    ) -> Result<JobDetail, UiError> {
        let detail = {
            let mut r = self.replica();
            let id = r.resolve_job(job_id)?;
            f(&mut r, id)?;
            r.job(id)?
        };
        self.emit_status();
        Ok(detail)
    }

    fn emit_status(&self) {
        if let Ok(s) = self.sync_status() {
            self.host.emit(
                events::SYNC_STATUS,
                serde_json::to_value(s).unwrap_or_default(),
            );
        }
    }

    pub fn stop(&self) {
        self.sync.stop();
    }

    // ---- commands --------------------------------------------------------------------

    pub fn session(&self) -> Result<Session, UiError> {
        let r = self.replica();
        let status = r.sync_status()?;
        let user = r.signed_in_user()?;
        Ok(Session {
            device_id: r.device_id().to_string(),
            signed_in: status.signed_in,
            username: status.username,
            user_name: user.as_ref().map(|u| u.name.clone()),
            role: user.map(|u| u.role),
            server_url: status.server_url,
        })
    }

    /// Signs this device in, then starts the first sync in the background.
    pub fn login(
        &self,
        server_url: &str,
        username: &str,
        password: &str,
    ) -> Result<Session, UiError> {
        self.replica()
            .login(server_url.trim(), username.trim(), password, &device_name())?;
        self.emit_status();
        self.sync.kick();
        self.session()
    }

    pub fn jobs(&self, scope: JobScope) -> Result<Vec<JobSummary>, UiError> {
        let r = self.replica();
        let end = end_of_local_day(r.now());
        Ok(r.jobs(scope, Day { end })?)
    }

    /// The technician's own KPIs over the jobs on this device, days and weeks in the
    /// device's local time zone.
    pub fn my_kpis(&self) -> Result<onsite_client::MyKpis, UiError> {
        let offset_minutes = chrono::Local::now().offset().local_minus_utc() / 60;
        Ok(self.replica().my_kpis(offset_minutes)?)
    }

    pub fn job(&self, job_id: &str) -> Result<JobDetail, UiError> {
        let r = self.replica();
        let id = r.resolve_job(job_id)?;
        Ok(r.job(id)?)
    }

    pub fn step(
        &self,
        job_id: &str,
        action: StepAction,
        reason: Option<&str>,
    ) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| {
            match action {
                StepAction::StartTravel => r.start_travel(id),
                StepAction::Arrive => r.arrive(id),
                StepAction::StartWork => r.start_work(id),
                StepAction::Hold => r.hold(id, reason.unwrap_or_default()),
                StepAction::Resume => r.resume(id),
                StepAction::Complete => r.complete(id),
            }
            .map(drop)
        })
    }

    pub fn answer(
        &self,
        job_id: &str,
        item_key: &str,
        value: AnswerValue,
    ) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| r.answer(id, item_key, value))
    }

    pub fn set_text(
        &self,
        job_id: &str,
        field: TextField,
        text: &str,
    ) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| match field {
            TextField::Diagnosis => r.set_diagnosis(id, text),
            TextField::WorkDone => r.set_work_done(id, text),
            TextField::Result => r.set_result(id, text),
        })
    }

    pub fn set_follow_up(&self, job_id: &str, needed: bool) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| r.set_follow_up_needed(id, needed))
    }

    pub fn add_note(&self, job_id: &str, body: &str) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| r.add_note(id, body).map(drop))
    }

    pub fn add_part(
        &self,
        job_id: &str,
        part_no: &str,
        description: &str,
        quantity: f64,
    ) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| {
            r.add_part(id, part_no, description, quantity).map(drop)
        })
    }

    pub fn remove_part(&self, job_id: &str, part_id: &str) -> Result<JobDetail, UiError> {
        let part: PartUsedId = part_id
            .parse()
            .map_err(|_| UiError::new("invalid_input", format!("{part_id:?} is not a part id")))?;
        self.write_then_detail(job_id, |r, id| r.remove_part(id, part))
    }

    /// Takes a photo the UI read from a file picker or a drop: the bytes go straight into
    /// the photo pipeline.
    pub fn add_photo(
        &self,
        job_id: &str,
        file_name: &str,
        data_base64: &str,
        kind: PhotoKind,
        caption: Option<&str>,
    ) -> Result<JobDetail, UiError> {
        let payload = data_base64
            .split_once("base64,")
            .map_or(data_base64, |(_, b)| b);
        // Refused before decoding: the pipeline's own size limit, applied to the payload.
        let max_bytes = PhotoOptions::default().max_file_bytes;
        if (payload.len() / 4 * 3) as u64 > max_bytes {
            return Err(UiError::new(
                "invalid_input",
                format!(
                    "{file_name} is larger than {} MB; choose a smaller photo",
                    max_bytes / (1024 * 1024)
                ),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|_| {
                UiError::new(
                    "invalid_input",
                    format!("{file_name} did not arrive intact; add it again"),
                )
            })?;
        self.write_then_detail(job_id, |r, id| {
            r.attach_photo_bytes(id, file_name, &bytes, kind, caption)
                .map(drop)
        })
    }

    /// Reads the serial off a serial-plate photo (on this device) and checks it against the
    /// asset's recorded serial. Writes nothing.
    pub fn scan_serial(&self, photo_id: &str) -> Result<SerialScan, UiError> {
        let photo = photo_id_of(photo_id)?;
        Ok(self.replica().scan_serial_plate(photo)?)
    }

    /// Records the plate's serial on the job, where the asset has none recorded.
    pub fn accept_plate_serial(&self, photo_id: &str) -> Result<SerialOffer, UiError> {
        let photo = photo_id_of(photo_id)?;
        let offer = {
            let mut r = self.replica();
            let scan = r.accept_plate_serial(photo)?;
            let job = r.job(scan.work_order_id)?;
            SerialOffer { scan, job }
        };
        self.emit_status();
        Ok(offer)
    }

    /// Leaves the office a note that the plate differs from the record (which stays).
    pub fn note_serial_mismatch(
        &self,
        photo_id: &str,
        lang: NoteLanguage,
    ) -> Result<SerialOffer, UiError> {
        let photo = photo_id_of(photo_id)?;
        let offer = {
            let mut r = self.replica();
            r.note_serial_mismatch(photo, lang.into())?;
            let scan = r.scan_serial_plate(photo)?;
            let job = r.job(scan.work_order_id)?;
            SerialOffer { scan, job }
        };
        self.emit_status();
        Ok(offer)
    }

    /// The stored bytes of a blob as a `data:` URL the webview can show.
    pub fn photo_data(&self, sha256: &str) -> Result<String, UiError> {
        let bytes = self.replica().read_blob(sha256).map_err(|e| match e {
            onsite_client::Error::File { .. } => UiError::new(
                "photo_not_here",
                "this photo is not on this device yet; it will be fetched on the next sync",
            ),
            other => other.into(),
        })?;
        Ok(format!(
            "data:{};base64,{}",
            media_type_of(&bytes),
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        ))
    }

    pub fn sign_off_text(&self, job_id: &str) -> Result<String, UiError> {
        let r = self.replica();
        let id = r.resolve_job(job_id)?;
        Ok(r.sign_off_text(id)?)
    }

    /// Records the signature over the sign-off text as it is now.
    pub fn sign(
        &self,
        job_id: &str,
        signer_name: &str,
        strokes: Vec<Vec<StrokePoint>>,
    ) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| {
            r.sign_current(id, signer_name, strokes).map(drop)
        })
    }

    pub fn add_feedback(
        &self,
        job_id: &str,
        rating: u8,
        nps: Option<u8>,
        comment: Option<&str>,
    ) -> Result<JobDetail, UiError> {
        self.write_then_detail(job_id, |r, id| {
            r.add_feedback(id, rating, nps, comment).map(drop)
        })
    }

    pub fn sync_status(&self) -> Result<AppSyncStatus, UiError> {
        let status = self.replica().sync_status()?;
        let flags = self.sync.flags();
        Ok(AppSyncStatus {
            status,
            online: flags.online.load(std::sync::atomic::Ordering::SeqCst),
            syncing: flags.syncing.load(std::sync::atomic::Ordering::SeqCst),
            live: flags.live.load(std::sync::atomic::Ordering::SeqCst),
        })
    }

    /// Syncs now and waits for the outcome (events report progress meanwhile).
    pub fn sync_now(&self) -> Result<SyncReport, UiError> {
        self.sync.sync_now()
    }

    /// The printable service report, signature and photos embedded, made offline.
    pub fn service_report_html(&self, job_id: &str) -> Result<String, UiError> {
        let r = self.replica();
        let id = r.resolve_job(job_id)?;
        Ok(r.service_report_html(id)?)
    }

    /// Signs in from `ONSITE_SERVER`, `ONSITE_USERNAME` and `ONSITE_PASSWORD` when this
    /// device is not signed in yet (first run of a demo or a provisioned tablet).
    pub fn sign_in_from_env(&self) -> Option<Result<Session, UiError>> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (server, username, password) = (
            var("ONSITE_SERVER")?,
            var("ONSITE_USERNAME")?,
            var("ONSITE_PASSWORD")?,
        );
        match self.session() {
            Ok(s) if s.signed_in => None,
            _ => Some(self.login(&server, &username, &password)),
        }
    }
}

fn photo_id_of(photo_id: &str) -> Result<PhotoId, UiError> {
    photo_id
        .parse()
        .map_err(|_| UiError::new("invalid_input", format!("{photo_id:?} is not a photo id")))
}

/// How this device is listed in the office: the machine's name.
fn device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok());
    match host {
        Some(h) => format!("Onsite app on {h}"),
        None => "Onsite app".to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex as StdMutex;
    use std::time::Duration as StdDuration;

    use chrono::Utc;
    use onsite_client::RetryPolicy;
    use onsite_client::sample::{day_of_jobs, sample_technician};
    use onsite_model::checklist::ItemKind;
    use onsite_model::clock::SystemIds;

    use super::*;

    /// Records what the shell emits.
    #[derive(Default)]
    pub struct RecordingHost {
        pub events: StdMutex<Vec<(String, serde_json::Value)>>,
    }

    impl Host for RecordingHost {
        fn emit(&self, event: &str, payload: serde_json::Value) {
            self.events
                .lock()
                .unwrap()
                .push((event.to_owned(), payload));
        }
    }

    impl RecordingHost {
        pub fn named(&self, event: &str) -> Vec<serde_json::Value> {
            self.events
                .lock()
                .unwrap()
                .iter()
                .filter(|(e, _)| e == event)
                .map(|(_, p)| p.clone())
                .collect()
        }
    }

    pub fn quiet_schedule() -> SyncSchedule {
        SyncSchedule {
            interval: StdDuration::from_secs(3600),
            probe_interval: StdDuration::from_secs(3600),
            retry: RetryPolicy {
                attempts: 1,
                first_backoff: StdDuration::from_millis(10),
                max_backoff: StdDuration::from_millis(10),
                request_timeout: StdDuration::from_secs(2),
            },
            live: None,
        }
    }

    /// A device with a sample day of `count` jobs in a temporary folder.
    pub fn device(count: usize) -> (tempfile::TempDir, AppState, Arc<RecordingHost>) {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut r = Replica::open(dir.path(), ReplicaOptions::default()).unwrap();
            let ids = SystemIds;
            let file = day_of_jobs(Utc::now(), &sample_technician(&ids), count, &ids);
            r.import_json(&serde_json::to_string(&file).unwrap())
                .unwrap();
        }
        let host = Arc::new(RecordingHost::default());
        let app = AppState::open(dir.path(), quiet_schedule(), host.clone()).unwrap();
        (dir, app, host)
    }

    /// A real PNG (stored deflate blocks, no compression library needed).
    pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut crc = 0xFFFF_FFFFu32;
            for &b in data {
                crc ^= b as u32;
                for _ in 0..8 {
                    crc = if crc & 1 != 0 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend((data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend(data);
            out.extend(&body);
            out.extend(crc32(&body).to_be_bytes());
        }
        let mut raw = Vec::new();
        for y in 0..height {
            raw.push(0);
            for x in 0..width {
                let shade = ((x + y) % 32) as u8;
                raw.extend(rgb.map(|c| c.saturating_add(shade)));
            }
        }
        let mut z = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
        for (i, block) in blocks.iter().enumerate() {
            z.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            z.extend(len.to_le_bytes());
            z.extend((!len).to_le_bytes());
            z.extend(*block);
        }
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in &raw {
            a = (a + byte as u32) % 65_521;
            b = (b + a) % 65_521;
        }
        z.extend(((b << 16) | a).to_be_bytes());
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &z);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn strokes() -> Vec<Vec<StrokePoint>> {
        vec![vec![
            StrokePoint {
                x: 10.0,
                y: 40.0,
                t: 0,
            },
            StrokePoint {
                x: 60.0,
                y: 10.0,
                t: 90,
            },
            StrokePoint {
                x: 110.0,
                y: 42.0,
                t: 180,
            },
        ]]
    }

    /// Answers every required item the way a technician would, photos included.
    fn work_checklist(app: &AppState, job: &str) -> JobDetail {
        let mut detail = app.job(job).unwrap();
        for line in detail.checklist.clone() {
            if !line.item.required {
                continue;
            }
            let value = match &line.item.kind {
                ItemKind::Check | ItemKind::Conduct => AnswerValue::Check(true),
                ItemKind::Text => AnswerValue::Text("done".into()),
                ItemKind::Number { min, .. } => AnswerValue::Number(min.unwrap_or(1.0)),
                ItemKind::Choice { options } => AnswerValue::Choice(options[0].key.clone()),
                ItemKind::Photo { .. } => continue,
            };
            detail = app.answer(job, &line.item.key, value).unwrap();
        }
        detail
    }

    #[test]
    fn a_visit_is_worked_through_the_commands() {
        let (dir, app, host) = device(4);
        let session = app.session().unwrap();
        assert!(!session.signed_in);
        assert_eq!(session.device_id.len(), 36);

        let all = app.jobs(JobScope::All).unwrap();
        assert_eq!(all.len(), 4);
        let today = app.jobs(JobScope::Today).unwrap();
        assert!(!today.is_empty(), "a sample day has jobs today");
        let job = all[0].id.to_string();

        app.step(&job, StepAction::StartTravel, None).unwrap();
        let d = app.step(&job, StepAction::Arrive, None).unwrap();
        assert_eq!(d.work_order.status.as_str(), "on_site");
        app.step(&job, StepAction::StartWork, None).unwrap();

        // Completing too early is refused with each missing thing named.
        let e = app.step(&job, StepAction::Complete, None).unwrap_err();
        assert_eq!(e.code, "completion_blocked");
        assert!(e.message.contains("signature"), "{}", e.message);

        work_checklist(&app, &job);
        let before = app
            .add_photo(
                &job,
                "before.png",
                &b64(&png(64, 48, [120, 80, 60])),
                PhotoKind::Before,
                Some("as found"),
            )
            .unwrap();
        assert_eq!(before.photos.len(), 1);
        let after = app
            .add_photo(
                &job,
                "after.png",
                &format!(
                    "data:image/png;base64,{}",
                    b64(&png(64, 48, [60, 140, 200]))
                ),
                PhotoKind::After,
                None,
            )
            .unwrap();
        assert_eq!(after.photos.len(), 2);
        // Photos go from memory into the pipeline: no temporary files are left behind (the
        // folder once used for them is never created).
        let incoming = dir.path().join("incoming");
        assert_eq!(
            std::fs::read_dir(&incoming).map_or(0, |d| d.count()),
            0,
            "temporary files are removed"
        );

        let url = app.photo_data(&after.photos[1].sha256).unwrap();
        assert!(url.starts_with("data:image/"), "{}", &url[..30]);

        let text = app.sign_off_text(&job).unwrap();
        assert!(text.contains(&all[0].number));
        app.set_text(&job, TextField::Diagnosis, "Scale on the exchanger")
            .unwrap();
        app.set_text(&job, TextField::WorkDone, "Descaled").unwrap();
        let d = app.add_part(&job, "HX-3", "Gasket", 1.0).unwrap();
        let d = app.remove_part(&job, &d.parts[0].id.to_string()).unwrap();
        assert!(d.parts.is_empty());
        app.add_note(&job, "Customer asked about a service plan")
            .unwrap();
        let d = app.sign(&job, "Li Na", strokes()).unwrap();
        assert_eq!(d.signatures.len(), 1);
        app.add_feedback(&job, 5, Some(9), Some("Quick and tidy"))
            .unwrap();
        let d = app.step(&job, StepAction::Complete, None).unwrap();
        assert!(d.missing_for_completion.is_empty());
        assert_eq!(d.work_order.status.as_str(), "completed");
        assert!(d.pending_ops > 0);
        let done = app.jobs(JobScope::Done).unwrap();
        assert!(done.iter().any(|j| j.id.to_string() == job));

        // Every write told the UI the pending count moved.
        let statuses = host.named(crate::wire::events::SYNC_STATUS);
        assert!(statuses.len() >= 10);
        assert!(statuses.last().unwrap()["pending_ops"].as_u64().unwrap() > 0);
        app.stop();
    }

    #[test]
    fn bad_input_comes_back_as_code_and_message() {
        let (_dir, app, _host) = device(1);
        let job = app.jobs(JobScope::All).unwrap()[0].id.to_string();
        let e = app.job("WO-0000-999999").unwrap_err();
        assert_eq!(e.code, "unknown_job");
        let e = app
            .add_photo(
                &job,
                "../../etc/x.png",
                "not base64!",
                PhotoKind::Before,
                None,
            )
            .unwrap_err();
        assert_eq!(e.code, "invalid_input");
        assert!(e.message.contains("x.png"));
        let e = app
            .add_photo(
                &job,
                "notes.txt",
                &b64(b"just text"),
                PhotoKind::Before,
                None,
            )
            .unwrap_err();

        assert!(e.message.contains("notes.txt"), "{}", e.message);
        assert!(!e.message.contains("incoming"), "{}", e.message);
        assert_eq!(
            app.photo_data("../secret").unwrap_err().code,
            "invalid_input"
        );
        assert_eq!(
            app.photo_data(&"a".repeat(64)).unwrap_err().code,
            "photo_not_here"
        );
        assert_eq!(
            app.step(&job, StepAction::Hold, Some(" "))
                .unwrap_err()
                .code,
            "invalid_input"
        );
        assert_eq!(
            app.remove_part(&job, "nope").unwrap_err().code,
            "invalid_input"
        );
        let report = app.service_report_html(&job).unwrap();
        assert!(report.to_ascii_lowercase().contains("<html"), "{report}");
        app.stop();
    }

    #[test]
    fn sync_without_sign_in_says_so_and_reports_done() {
        let (_dir, app, host) = device(1);
        let e = app.sync_now().unwrap_err();
        assert_eq!(e.code, "not_signed_in");
        let done = host.named(crate::wire::events::SYNC_DONE);
        assert_eq!(done.last().unwrap()["error"]["code"], "not_signed_in");
        let status = app.sync_status().unwrap();
        assert!(!status.syncing);
        assert!(!status.status.signed_in);
        let json = serde_json::to_value(&status).unwrap();
        assert!(json.get("pending_ops").is_some() && json.get("online").is_some());
        app.stop();
    }

    #[test]
    fn an_unreachable_server_refuses_sign_in_with_a_clear_message() {
        let (_dir, app, _host) = device(1);
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = app
            .login(&format!("http://127.0.0.1:{port}"), "alice", "x")
            .unwrap_err();
        assert_eq!(e.code, "server_unreachable");
        assert!(e.message.contains("cannot reach the server"));
        app.stop();
    }

    #[test]
    fn a_serial_plate_photo_is_scanned_and_nothing_is_offered_without_a_code() {
        let (_dir, app, _host) = device(1);
        let job = app.jobs(JobScope::All).unwrap()[0].id.to_string();
        let d = app
            .add_photo(
                &job,
                "plate.png",
                &b64(&png(320, 240, [150, 150, 150])),
                PhotoKind::SerialPlate,
                None,
            )
            .unwrap();
        let photo = d.photos[0].id.to_string();
        let scan = app.scan_serial(&photo).unwrap();
        assert_eq!(scan.verdict, onsite_client::SerialVerdict::NoCode);
        assert!(scan.recorded.is_some(), "the sample asset has a serial");
        assert!(!scan.may_accept && !scan.may_note_mismatch);
        let json = serde_json::to_value(&scan).unwrap();
        assert_eq!(json["verdict"], "no_code");
        let refused = app.accept_plate_serial(&photo).unwrap_err();
        assert_eq!(refused.code, "invalid_input");
        let refused = app
            .note_serial_mismatch(&photo, NoteLanguage::Zh)
            .unwrap_err();
        assert_eq!(refused.code, "invalid_input");
        assert_eq!(
            app.scan_serial("not-a-photo").unwrap_err().code,
            "invalid_input"
        );
        app.stop();
    }
}
