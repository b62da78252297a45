//! The runtime's core builds as a `#![no_std]` library that links neither std nor an allocator:
//! `runtime/no-std-check` (a cdylib with its own panic handler and no global allocator, using
//! `Model::from_bytes`, `predict_into` and `impute_into`) must compile. Linking std would clash
//! with its panic handler and linking alloc would fail for want of a global allocator, so a
//! dependency that starts needing either fails this test (both failures were checked by hand
//! when the check was written: `--features ssmvae-runtime/std` gives "duplicate lang item
//! `panic_impl`", an `alloc` feature on the format crate gives "no global memory allocator").

use std::path::Path;
use std::process::Command;

#[test]
fn core_builds_without_std_or_an_allocator() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-std-check/Cargo.toml");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-std-check");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "the no_std build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
