//! The office console (`ui/dist-console/site`, built by `npm run build:console`) is embedded
//! by `rust-embed`, which does not notice files that appear after a compile: this makes
//! cargo compile the server again whenever the console's build folder changes. The folder's
//! committed README keeps it present, so a checkout without a console build is not rebuilt
//! every time.

fn main() {
    println!("cargo:rerun-if-changed=../../ui/dist-console");
    println!("cargo:rerun-if-changed=build.rs");
}
