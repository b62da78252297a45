//! One module per subcommand. These are the only places (with `main.rs`) that use `anyhow`.

pub mod bench;
pub mod bench_epoch;
pub mod bench_jobs;
pub mod bench_predict;
pub mod bench_step;
pub mod data;
pub mod demo;
pub mod inspect;
pub mod predict;
pub mod train;

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, then a rename, so a
/// failure (full disk, read-only folder, Ctrl-C) never leaves a half-written output behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Appends `line` and a newline to the JSON-lines file `out` (created if missing), the whole file
/// rewritten atomically: the bench commands' one-line-per-sitting records.
pub fn append_line(out: &Path, line: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = std::fs::read_to_string(out).unwrap_or_default();
    text.push_str(&line.to_string());
    text.push('\n');
    write_atomic(out, text.as_bytes())
}

/// Fails with "cannot write PATH: why" unless a file can be created where `path` will go (which
/// is left untouched): long jobs check their outputs before they start. With `will_create_dirs`
/// the probe goes to the nearest folder that exists (the job creates the rest); nothing is created.
pub fn check_writable(path: &Path, will_create_dirs: bool) -> anyhow::Result<()> {
    let cannot = || format!("cannot write {}", path.display());
    let mut dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if will_create_dirs {
        while !dir.exists() {
            match dir.parent() {
                Some(up) if !up.as_os_str().is_empty() => dir = up.to_path_buf(),
                _ => {
                    dir = PathBuf::from(".");
                    break;
                }
            }
        }
    }
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("{}: {} is a file, not a folder", cannot(), dir.display());
    }
    let probe = dir.join(format!(".ssmvae-write-check{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(cannot)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
