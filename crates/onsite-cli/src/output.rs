//! Where a command's result goes: pretty JSON with `--json`, else the human text.

use serde::Serialize;

#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn print<T: Serialize>(
        self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            print!("{}", human(value));
        }
        Ok(())
    }

    /// A change that has nothing to show but that it was made.
    pub fn done(self, msg: &str) -> anyhow::Result<()> {
        self.print(&serde_json::json!({ "ok": true, "message": msg }), |_| {
            format!("{msg}\n")
        })
    }
}
