fn main() {
    // The config sits at the repository root beside the workspace Cargo.toml, so the
    // capabilities are looked up under src-tauri/ explicitly.
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("tauri build script");
}
