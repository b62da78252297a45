//! The committed record: every results file under `trainer/results` regenerates its committed
//! report (and the generated block of it in README.md or a page of docs/, if one has it) byte for
//! byte, so a number in the documentation can always be traced to the JSON lines that produced it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use trainer::bench::report::{write_report, ReportOptions};

/// Grids whose experiment file exists but whose lines have no report: rounds 11–13 of the
/// self-training tuning (docs/model.md §12.12) were stopped once they had failed in another cell,
/// and these cells were left "not run"; the lines of the runs that had already finished were
/// committed as they were, without a report.
const UNREPORTED: &[&str] = &[
    "tune_selftrain_cap",
    "tune_consistency_rho100",
    "tune_restart",
];

/// Results folders with no experiment file: measurements `ssmvae report` does not make, each
/// read where it is reported (`bench-epoch`, `bench-predict` and `bench-step` lines in docs/performance.md, the
/// model check's metrics in docs/results.md). A new folder must be a grid or join this list.
const MEASUREMENTS: &[&str] = &["epoch", "model-check", "predict", "step"];

/// The Markdown pages that may hold a generated block: README.md and every docs/*.md.
fn pages(repo: &Path) -> Vec<(PathBuf, String)> {
    let mut files = vec![repo.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

/// The scales a results folder has lines for: `<scale>.jsonl` or, sealed, `<scale>.jsonl.zst`
/// (not the epoch archives, `epochs-<scale>.jsonl.zst`).
fn scales(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("epochs-") {
                return None;
            }
            let stem = name
                .strip_suffix(".jsonl.zst")
                .or_else(|| name.strip_suffix(".jsonl"))?;
            Some(stem.to_owned())
        })
        .collect()
}

/// Copies the files of `scale` a clone of the repository has — `<scale>.jsonl`, its sealed
/// `<scale>.jsonl.zst`, the epoch archive `epochs-<scale>.jsonl.{zst,gz}` — from `dir` into
/// `into`, and returns the lines' plain path there.
fn committed_copy(dir: &Path, scale: &str, into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    for name in [
        format!("{scale}.jsonl"),
        format!("{scale}.jsonl.zst"),
        format!("epochs-{scale}.jsonl.zst"),
        format!("epochs-{scale}.jsonl.gz"),
    ] {
        let from = dir.join(&name);
        if from.exists() {
            std::fs::copy(&from, into.join(&name)).unwrap();
        }
    }
    into.join(format!("{scale}.jsonl"))
}

/// Every committed results file regenerates its committed Markdown byte for byte.
#[test]
fn committed_reports_regenerate_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = root.parent().unwrap();
    let pages = pages(repo);
    let results_dir = root.join("results");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&results_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut checked = 0;
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let experiment = root.join("experiments").join(format!("{name}.toml"));
        // Folders without an experiment file (`model-check`, `step`) hold measurements that
        // `ssmvae report` does not make; they have their own Markdown or none.
        if !experiment.exists() {
            assert!(
                MEASUREMENTS.contains(&name.as_str()),
                "{} has no experiment file {}: a grid's lines need one to be reported",
                dir.display(),
                experiment.display()
            );
            continue;
        }
        for scale in scales(&dir) {
            // A finished tuning grid's lines may be sealed (`<scale>.jsonl.zst`); the reader
            // takes either form from the plain name.
            let (jsonl, md) = (
                dir.join(format!("{scale}.jsonl")),
                dir.join(format!("{scale}.md")),
            );
            if !md.exists() {
                assert!(
                    UNREPORTED.contains(&name.as_str()),
                    "{} has results lines but no report {} beside them: run `ssmvae report {} \
                     --experiment {}` and commit the Markdown",
                    dir.display(),
                    md.display(),
                    jsonl.display(),
                    experiment.display()
                );
                continue;
            }
            let tmp = tempfile::tempdir().unwrap();
            // A fresh clone has only the committed forms — the lines (plain or sealed) and the
            // epoch archive — never the loose `epochs/` logs git ignores: the report is made
            // from a copy of just those, so a grid whose logs were not packed fails here, not
            // first on CI.
            let lines = committed_copy(&dir, &scale, &tmp.path().join("grid"));
            // The page holding this report's generated block, if any, must be current too.
            let marker = format!("<!-- ssmvae-report {name}/{scale} -->");
            let holders: Vec<&(PathBuf, String)> = pages
                .iter()
                .filter(|(_, text)| text.contains(&marker))
                .collect();
            assert!(
                holders.len() <= 1,
                "{marker} is in several pages: {:?}",
                holders.iter().map(|(f, _)| f).collect::<Vec<_>>()
            );
            let page = holders.first().map(|(file, text)| {
                let copy = tmp.path().join(file.file_name().unwrap());
                std::fs::write(&copy, text).unwrap();
                (file, text, copy)
            });
            let files = write_report(&ReportOptions {
                results: vec![lines],
                experiment: Some(experiment.clone()),
                scale: Some(scale.clone()),
                out: Some(tmp.path().to_path_buf()),
                plots: true,
                readme: page.as_ref().map(|(_, _, copy)| copy.clone()),
                cell: None,
            })
            .unwrap();
            if let Some((file, text, copy)) = &page {
                let shown = file.strip_prefix(repo).unwrap_or(file.as_path()).display();
                assert!(
                    std::fs::read_to_string(copy).unwrap() == **text,
                    "{shown}'s {name}/{scale} block is stale: rerun `ssmvae report … --readme {shown}`"
                );
            }
            let regenerated = std::fs::read_to_string(files.markdown).unwrap();
            let committed = std::fs::read_to_string(&md).unwrap();
            assert!(
                regenerated == committed,
                "{} differs from what `ssmvae report` makes of {} and its epoch archive \
                 (loose epoch logs are not committed: `ssmvae report … --pack-epochs`)",
                md.display(),
                jsonl.display()
            );
            checked += 1;
        }
    }
    eprintln!("{checked} committed reports checked");
    // Every grid folder but the unreported ones has a report; all were checked.
    assert!(
        checked >= 40,
        "only {checked} committed reports were checked"
    );
}
