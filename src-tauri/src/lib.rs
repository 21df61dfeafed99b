//! The app shell's library: what the UI receives from the client core.
//!
//! Errors reach the UI as `{ code, message }`: a stable code the UI can branch on (and
//! translate), and a message that says what was wrong and what to do.

pub mod app;
pub mod background_sync;
#[cfg(test)]
mod bindings;
mod commands;
pub mod error;
pub mod host;
pub mod support;
pub mod wire;

use std::sync::Arc;

use tauri::{Emitter, Manager};

pub use app::AppState;
pub use error::UiError;
pub use host::Host;

/// Events reach the webview through the app handle.
struct TauriHost(tauri::AppHandle);

impl Host for TauriHost {
    fn emit(&self, event: &str, payload: serde_json::Value) {
        if let Err(e) = self.0.emit(event, payload) {
            tracing::warn!("could not emit {event}: {e}");
        }
    }
}

/// Starts the app: the replica in the app's data folder (`$XDG_DATA_HOME/<identifier>` on
/// Linux), background sync, the commands, and the window from `tauri.conf.json`.
pub fn run(context: tauri::Context<tauri::Wry>) {
    let app = tauri::Builder::default()
        .invoke_handler(commands::handler())
        .setup(|app| {
            let dir = app.path().app_data_dir()?;
            support::init_logging(&dir);
            let host = Arc::new(TauriHost(app.handle().clone()));
            let state = AppState::open(&dir, background_sync::SyncSchedule::from_env(), host)
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
            if let Some(Err(e)) = state.sign_in_from_env() {
                tracing::warn!("automatic sign-in failed ({}): {}", e.code, e.message);
            }
            tracing::info!("replica in {}", dir.display());
            app.manage(Arc::new(state));
            Ok(())
        })
        .build(context)
        .expect("error while building Onsite");
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(state) = handle.try_state::<Arc<AppState>>()
        {
            state.stop();
        }
    });
}
