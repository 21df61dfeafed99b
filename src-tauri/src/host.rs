//! What the shell needs from its surroundings, so the command bodies run (and are tested)
//! without Tauri.

/// A way to tell the UI that something happened.
pub trait Host: Send + Sync + 'static {
    fn emit(&self, event: &str, payload: serde_json::Value);
}
