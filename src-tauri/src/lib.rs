//! The app shell's library: placeholder until the Tauri shell lands.
