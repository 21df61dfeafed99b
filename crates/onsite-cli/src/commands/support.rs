//! The support bundle: what to send support when something is wrong on this device.

use std::path::Path;

use onsite_client::{BundleSource, Replica};

use crate::output::Output;

/// Writes the bundle to `out`, or, when `out` is a folder, to a new file named after the
/// device and the time inside it.
pub fn bundle(r: &Replica, out: Output, path: &Path) -> anyhow::Result<()> {
    let source = BundleSource {
        program: "onsite".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let written = if path.is_dir() {
        let stamp = r.now().format("%Y%m%d-%H%M%S");
        r.write_support_bundle(&path.join(format!("onsite-support-{stamp}.zip")), &source)?
    } else {
        r.write_support_bundle(path, &source)?
    };
    out.print(&written, |b| {
        let mut text = format!("support bundle written: {} ({} bytes)\n", b.path, b.bytes);
        for e in &b.entries {
            text.push_str(&format!("  {:<40} {:>9} bytes\n", e.name, e.bytes));
        }
        text.push_str("  manifest.json\nno photos, signatures, token or customer details\n");
        text
    })
}
