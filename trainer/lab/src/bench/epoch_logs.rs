//! Per-epoch logs of a grid, loose or packed. `bench` writes one JSON-lines log per run under
//! `epochs/<scale>/`; the committed record of a grid keeps them as **one zstd archive per
//! scale**, `epochs-<scale>.jsonl.zst` next to the results file ([`pack`]), because tens of
//! thousands of epoch lines would otherwise outweigh the code. The report reads a run's log from
//! its loose file when there is one and from the archive otherwise ([`EpochLogs`]); an archive of
//! the earlier gzip form, `epochs-<scale>.jsonl.gz`, is still read, and the next pack replaces it.
//! zstd at level 19 stores the same lines in 30 % less than gzip's best (issue 14's 5 MB budget
//! for `trainer/results`); the crate is already built for tch.
//!
//! The archive holds one line per run, `{"log": "epochs/cpu/<run>.jsonl", "records": […]}`, sorted
//! by log name, with every number kept to [`SIGNIFICANT_DIGITS`] significant digits: the logs
//! feed training curves and diagnostics, and the results line keeps the selected epoch's scores
//! at full precision.

use super::results::RunResult;
use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use ssmvae_core::error::{Error, Result};
use ssmvae_core::train::EpochRecord;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Significant digits the archive keeps of every number of an epoch record. Four resolve an
/// accuracy of 10 % or more to 10⁻⁴, finer than one test sample in every grid here (the largest
/// test set has a few thousand samples), and a loss or a timing to 0.01 %, below run-to-run
/// noise; two more digits cost a quarter of the archives' size (issue 14's budget for
/// `trainer/results` is 5 MB).
pub const SIGNIFICANT_DIGITS: usize = 4;

/// One run's line in the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ArchivedRun {
    log: String,
    records: Vec<EpochRecord>,
}

/// The archive's file name for a scale.
pub fn archive_name(scale: &str) -> String {
    format!("epochs-{scale}.jsonl.zst")
}

/// The earlier gzip archive's file name for a scale (read, never written).
fn legacy_archive_name(scale: &str) -> String {
    format!("epochs-{scale}.jsonl.gz")
}

fn round(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // Cannot fail on user input: `{:e}` of a finite f64 always parses back.
    format!("{:.*e}", SIGNIFICANT_DIGITS - 1, x)
        .parse()
        .expect("a formatted float parses")
}

fn rounded(r: &EpochRecord) -> EpochRecord {
    let s = |s: &ssmvae_core::metrics::Scores| ssmvae_core::metrics::Scores {
        overall_acc: round(s.overall_acc),
        minority_acc: round(s.minority_acc),
        balanced_acc: round(s.balanced_acc),
        macro_f1: round(s.macro_f1),
        g_mean: round(s.g_mean),
    };
    EpochRecord {
        epoch: r.epoch,
        seconds: round(r.seconds),
        samples_per_sec: round(r.samples_per_sec),
        loss_labeled: round(r.loss_labeled),
        loss_unlabeled: round(r.loss_unlabeled),
        loss_ce: round(r.loss_ce),
        loss_total: round(r.loss_total),
        train: s(&r.train),
        test: s(&r.test),
        validation: r.validation.as_ref().map(s),
        pseudo_labels: r.pseudo_labels.clone(),
        enumerated: r.enumerated.map(round),
    }
}

/// Parses a loose JSON-lines epoch log.
pub fn parse_log(path: &Path, text: &str) -> Result<Vec<EpochRecord>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| Error::Config {
                file: path.to_path_buf(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// The runs of a results folder's archive for `scale`: the zstd archive, else the legacy gzip
/// one, else none.
fn read_archive(dir: &Path, scale: &str) -> Result<BTreeMap<String, Vec<EpochRecord>>> {
    let mut runs = BTreeMap::new();
    let (zst, gz) = (
        dir.join(archive_name(scale)),
        dir.join(legacy_archive_name(scale)),
    );
    let (path, bytes) = if zst.exists() {
        let file = std::fs::File::open(&zst).map_err(|e| Error::io(&zst, e))?;
        let bytes = zstd::decode_all(file).map_err(|e| Error::io(&zst, e))?;
        (zst, bytes)
    } else if gz.exists() {
        let file = std::fs::File::open(&gz).map_err(|e| Error::io(&gz, e))?;
        let mut bytes = Vec::new();
        GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&gz, e))?;
        (gz, bytes)
    } else {
        return Ok(runs);
    };
    let path = path.as_path();
    let text = String::from_utf8(bytes).map_err(|e| Error::Config {
        file: path.to_path_buf(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let run: ArchivedRun = serde_json::from_str(line).map_err(|e| Error::Config {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        runs.insert(run.log, run.records);
    }
    Ok(runs)
}

/// The epoch logs of one results folder: loose files first, then the archives.
#[derive(Debug, Default)]
pub struct EpochLogs {
    archives: BTreeMap<PathBuf, BTreeMap<String, Vec<EpochRecord>>>,
}

impl EpochLogs {
    /// The records of the run whose loose log would be `loose`
    /// (`<results folder>/epochs/<scale>/<run>.jsonl`, as a results line names it), from that
    /// file or else from the scale's archive in the results folder; None when neither has it.
    pub fn records(&mut self, loose: &Path) -> Result<Option<Vec<EpochRecord>>> {
        if loose.exists() {
            let text = std::fs::read_to_string(loose).map_err(|e| Error::io(loose, e))?;
            return parse_log(loose, &text).map(Some);
        }
        let name = |p: Option<&Path>| {
            p.and_then(Path::file_name)
                .and_then(|s| s.to_str())
                .map(str::to_string)
        };
        let scale_dir = loose.parent();
        let (Some(file), Some(scale)) = (name(Some(loose)), name(scale_dir)) else {
            return Ok(None);
        };
        let dir = scale_dir
            .and_then(Path::parent)
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let archive = dir.join(archive_name(&scale));
        if !self.archives.contains_key(&archive) {
            let runs = read_archive(dir, &scale)?;
            self.archives.insert(archive.clone(), runs);
        }
        Ok(self.archives[&archive]
            .get(&format!("epochs/{scale}/{file}"))
            .cloned())
    }
}

/// What [`pack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The archive written.
    pub archive: PathBuf,
    /// Runs in it.
    pub runs: usize,
    /// Loose files removed (now in the archive).
    pub removed: usize,
}

/// Packs the epoch logs of every run of `scale` in `results` (loose files, and runs already in
/// the archive) into the scale's archive, written whole or not at all, then removes the loose
/// files it packed. Logs of runs no longer in the results file are dropped from the archive.
pub fn pack(results: &[RunResult], dir: &Path, scale: &str) -> Result<Packed> {
    let archive = dir.join(archive_name(scale));
    let mut logs = EpochLogs::default();
    let mut runs: BTreeMap<String, Vec<EpochRecord>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.scale == scale) {
        if let Some(records) = logs.records(&dir.join(&r.epoch_log))? {
            runs.insert(r.epoch_log.clone(), records.iter().map(rounded).collect());
        }
    }
    let mut text = Vec::new();
    for (log, records) in &runs {
        let line = serde_json::to_string(&ArchivedRun {
            log: log.clone(),
            records: records.clone(),
        })
        .map_err(|e| Error::Write {
            path: archive.clone(),
            message: e.to_string(),
        })?;
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
    }
    super::zst::write_atomically(&archive, &text)?;
    // Its runs are in the new archive now.
    let legacy = dir.join(legacy_archive_name(scale));
    if legacy.exists() {
        std::fs::remove_file(&legacy).map_err(|e| Error::io(&legacy, e))?;
    }
    let mut removed = 0;
    for log in runs.keys() {
        let loose = dir.join(log);
        if loose.exists() {
            std::fs::remove_file(&loose).map_err(|e| Error::io(&loose, e))?;
            removed += 1;
        }
    }
    // The scale's folder goes when empty (a leftover file keeps it).
    let _ = std::fs::remove_dir(dir.join("epochs").join(scale));
    let _ = std::fs::remove_dir(dir.join("epochs"));
    Ok(Packed {
        archive,
        runs: runs.len(),
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_four_significant_digits() {
        assert_eq!(round(0.9349775784753364), 0.935);
        assert_eq!(round(0.9344775784753364), 0.9345);
        assert_eq!(round(1234.56789), 1235.0);
        assert_eq!(round(-3.0e-7), -3.0e-7);
        assert_eq!(round(0.0), 0.0);
        assert!(round(f64::NAN).is_nan());
    }
}
