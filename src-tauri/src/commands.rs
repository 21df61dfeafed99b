//! The Tauri commands: each one takes the state, runs its body off the UI thread, and maps
//! the error. The list the app registers is [`handler`], declared once.

use std::sync::Arc;

use onsite_client::{JobDetail, JobScope, JobSummary, SerialScan, SyncReport};
use onsite_model::checklist::AnswerValue;
use onsite_model::entities::{PhotoKind, StrokePoint};
use onsite_model::status::StatusAction;
use tauri::State;

use crate::UiError;
use crate::app::AppState;
use crate::wire::{AppSyncStatus, NoteLanguage, SerialOffer, Session, StepAction, TextField};

type App<'a> = State<'a, Arc<AppState>>;

/// Runs a body on the blocking pool: SQLite, photo processing and sync never hold up the
/// window's event loop.
async fn run<T: Send + 'static>(
    app: &Arc<AppState>,
    body: impl FnOnce(&AppState) -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || body(&app))
        .await
        .map_err(|e| UiError::new("internal", format!("the command did not finish: {e}")))?
}

#[tauri::command]
async fn session(app: App<'_>) -> Result<Session, UiError> {
    run(&app, |a| a.session()).await
}

#[tauri::command]
async fn login(
    app: App<'_>,
    server_url: String,
    username: String,
    password: String,
) -> Result<Session, UiError> {
    run(&app, move |a| a.login(&server_url, &username, &password)).await
}

#[tauri::command]
async fn jobs(app: App<'_>, scope: JobScope) -> Result<Vec<JobSummary>, UiError> {
    run(&app, move |a| a.jobs(scope)).await
}

#[tauri::command]
async fn job(app: App<'_>, job_id: String) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.job(&job_id)).await
}

#[tauri::command]
async fn step(
    app: App<'_>,
    job_id: String,
    action: StatusAction,
    reason: Option<String>,
) -> Result<JobDetail, UiError> {
    let action = StepAction::try_from(action)?;
    run(&app, move |a| a.step(&job_id, action, reason.as_deref())).await
}

#[tauri::command]
async fn answer(
    app: App<'_>,
    job_id: String,
    item_key: String,
    value: AnswerValue,
) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.answer(&job_id, &item_key, value)).await
}

#[tauri::command]
async fn set_text(
    app: App<'_>,
    job_id: String,
    field: TextField,
    text: String,
) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.set_text(&job_id, field, &text)).await
}

#[tauri::command]
async fn set_follow_up(app: App<'_>, job_id: String, needed: bool) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.set_follow_up(&job_id, needed)).await
}

#[tauri::command]
async fn add_note(app: App<'_>, job_id: String, body: String) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.add_note(&job_id, &body)).await
}

#[tauri::command]
async fn add_part(
    app: App<'_>,
    job_id: String,
    part_no: String,
    description: String,
    quantity: f64,
) -> Result<JobDetail, UiError> {
    run(&app, move |a| {
        a.add_part(&job_id, &part_no, &description, quantity)
    })
    .await
}

#[tauri::command]
async fn remove_part(app: App<'_>, job_id: String, part_id: String) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.remove_part(&job_id, &part_id)).await
}

#[tauri::command]
async fn add_photo(
    app: App<'_>,
    job_id: String,
    file_name: String,
    data_base64: String,
    kind: PhotoKind,
    caption: Option<String>,
) -> Result<JobDetail, UiError> {
    run(&app, move |a| {
        a.add_photo(&job_id, &file_name, &data_base64, kind, caption.as_deref())
    })
    .await
}

#[tauri::command]
async fn photo_data(app: App<'_>, sha256: String) -> Result<String, UiError> {
    run(&app, move |a| a.photo_data(&sha256)).await
}

#[tauri::command]
async fn scan_serial(app: App<'_>, photo_id: String) -> Result<SerialScan, UiError> {
    run(&app, move |a| a.scan_serial(&photo_id)).await
}

#[tauri::command]
async fn accept_plate_serial(app: App<'_>, photo_id: String) -> Result<SerialOffer, UiError> {
    run(&app, move |a| a.accept_plate_serial(&photo_id)).await
}

#[tauri::command]
async fn note_serial_mismatch(
    app: App<'_>,
    photo_id: String,
    lang: NoteLanguage,
) -> Result<SerialOffer, UiError> {
    run(&app, move |a| a.note_serial_mismatch(&photo_id, lang)).await
}

#[tauri::command]
async fn sign_off_text(app: App<'_>, job_id: String) -> Result<String, UiError> {
    run(&app, move |a| a.sign_off_text(&job_id)).await
}

#[tauri::command]
async fn sign(
    app: App<'_>,
    job_id: String,
    signer_name: String,
    strokes: Vec<Vec<StrokePoint>>,
) -> Result<JobDetail, UiError> {
    run(&app, move |a| a.sign(&job_id, &signer_name, strokes)).await
}

#[tauri::command]
async fn add_feedback(
    app: App<'_>,
    job_id: String,
    rating: u8,
    nps: Option<u8>,
    comment: Option<String>,
) -> Result<JobDetail, UiError> {
    run(&app, move |a| {
        a.add_feedback(&job_id, rating, nps, comment.as_deref())
    })
    .await
}

#[tauri::command]
async fn sync_status(app: App<'_>) -> Result<AppSyncStatus, UiError> {
    run(&app, |a| a.sync_status()).await
}

#[tauri::command]
async fn sync_now(app: App<'_>) -> Result<SyncReport, UiError> {
    run(&app, |a| a.sync_now()).await
}

#[tauri::command]
async fn service_report_html(app: App<'_>, job_id: String) -> Result<String, UiError> {
    run(&app, move |a| a.service_report_html(&job_id)).await
}

/// Writes a support bundle (log files, sync status, change-log summary; no photos, no
/// token) into the data folder and says where.
#[tauri::command]
async fn export_support_bundle(app: App<'_>) -> Result<onsite_client::SupportBundle, UiError> {
    run(&app, |a| a.export_support_bundle()).await
}

/// The technician's own service KPIs, computed on the device by the model.
#[tauri::command]
async fn my_kpis(app: App<'_>) -> Result<onsite_client::MyKpis, UiError> {
    run(&app, |a| a.my_kpis()).await
}

/// Every command the UI may call (ui/src/lib/api.ts calls them by these names).
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        session,
        login,
        jobs,
        job,
        step,
        answer,
        set_text,
        set_follow_up,
        add_note,
        add_part,
        remove_part,
        add_photo,
        photo_data,
        scan_serial,
        accept_plate_serial,
        note_serial_mismatch,
        sign_off_text,
        sign,
        add_feedback,
        sync_status,
        sync_now,
        service_report_html,
        export_support_bundle,
        my_kpis,
    ]
}
