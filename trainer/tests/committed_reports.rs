//! The committed record: every results file under `trainer/results` regenerates its committed
//! report (and the README's block of it) byte for byte, so a number in the README can always be
//! traced to the JSON lines that produced it.

use std::path::Path;
use trainer::bench::report::{write_report, ReportOptions};

/// Every committed results file regenerates its committed Markdown byte for byte.
#[test]
fn committed_reports_regenerate_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let results_dir = root.join("results");
    let mut checked = 0;
    for entry in std::fs::read_dir(&results_dir).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let experiment = root.join("experiments").join(format!("{name}.toml"));
        if !experiment.exists() {
            continue;
        }
        for scale in ["cpu", "paper"] {
            let (jsonl, md) = (
                dir.join(format!("{scale}.jsonl")),
                dir.join(format!("{scale}.md")),
            );
            // A finished tuning grid's lines may be sealed (`<scale>.jsonl.zst`); the reader
            // takes either form from the plain name.
            let sealed = dir.join(format!("{scale}.jsonl.zst"));
            if !((jsonl.exists() || sealed.exists()) && md.exists()) {
                continue;
            }
            let tmp = tempfile::tempdir().unwrap();
            // The README's generated block (if it has one for this report) must be current too.
            let readme = root.parent().unwrap().join("README.md");
            let readme_text = std::fs::read_to_string(&readme).unwrap();
            let has_block = readme_text.contains(&format!("<!-- ssmvae-report {name}/{scale} -->"));
            let readme_copy = tmp.path().join("README.md");
            std::fs::write(&readme_copy, &readme_text).unwrap();
            let files = write_report(&ReportOptions {
                results: vec![jsonl.clone()],
                experiment: Some(experiment.clone()),
                scale: Some(scale.into()),
                out: Some(tmp.path().to_path_buf()),
                plots: true,
                readme: has_block.then(|| readme_copy.clone()),
                cell: None,
            })
            .unwrap();
            assert!(
                std::fs::read_to_string(&readme_copy).unwrap() == readme_text,
                "README.md's {name}/{scale} block is stale: rerun `ssmvae report … --readme README.md`"
            );
            let regenerated = std::fs::read_to_string(files.markdown).unwrap();
            let committed = std::fs::read_to_string(&md).unwrap();
            assert!(
                regenerated == committed,
                "{} differs from what `ssmvae report` makes of {}",
                md.display(),
                jsonl.display()
            );
            checked += 1;
        }
    }
    eprintln!("{checked} committed reports checked");
}
