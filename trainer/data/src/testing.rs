//! Helpers for tests that read the real datasets in `shared/data`.
//!
//! Those tests find the data through `SSMVAE_SHARED_DATA` (CI exports it). When it is unset they
//! skip with a printed notice; but when `CI=true` a missing variable or folder is a failure, so
//! the tests cannot silently stop running in CI.

use std::path::PathBuf;

/// The `shared/data` folder, or `None` (after printing why) when a local run has no data.
///
/// # Panics
/// When `CI=true` and the data is not available: in CI these tests must run.
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match std::env::var_os("SSMVAE_SHARED_DATA").map(PathBuf::from) {
        Some(dir) if dir.is_dir() => Some(dir),
        Some(dir) => {
            assert!(
                !in_ci,
                "{test}: SSMVAE_SHARED_DATA={} is not a folder (CI=true, so this is a failure)",
                dir.display()
            );
            eprintln!(
                "skipping {test}: SSMVAE_SHARED_DATA={} is not a folder",
                dir.display()
            );
            None
        }
        None => {
            assert!(
                !in_ci,
                "{test}: SSMVAE_SHARED_DATA is not set (CI=true, so this is a failure)"
            );
            eprintln!(
                "skipping {test}: set SSMVAE_SHARED_DATA to the shared/data folder to run it"
            );
            None
        }
    }
}
