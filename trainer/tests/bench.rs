//! The benchmark harness: experiment files, grid expansion, shards, resume, aggregation, the
//! report's tables, and the committed results regenerating byte for byte.
//!
//! `a_tiny_grid_runs_resumes_reuses_and_reports_reproducibly` is over 120 lines on purpose: it is
//! one grid's life in order (run, resume, reuse, report, regenerate), each step reading the files
//! the step before wrote.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use trainer::bench::aggregate::summarise;
use trainer::bench::epoch_logs;
use trainer::bench::experiment::{Experiment, RunSpec, Shard};
use trainer::bench::markdown::{render, Page};
use trainer::bench::report::{write_report, ReportOptions};
use trainer::bench::results::{pending, read_results, RunResult};
use trainer::bench::runner::{run_grid, shard_pending, GridOptions};
use trainer::metrics::Scores;
use trainer::protocol::Rho;
use trainer::train::config::TrainConfig;

/// libtorch's RNG is process-global: tests that train take turns.
static TRAINING: Mutex<()> = Mutex::new(());

fn write_experiment(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

const GRID: &str = r#"
name = "grid"
datasets = ["mfeat"]
rho = [10, 100]
beta = [0.1, 0.3]

[scales.small]
seeds = [0, 1, 2]
n_max = 140
epochs = 3

[[models]]
name = "A"

[[models]]
name = "B"
fusion = "early"
epochs = 7
sweep = { alpha_a = [0.3, 1.0], sigma = [1.0, 0.5] }
"#;

fn grid() -> (tempfile::TempDir, PathBuf, Experiment, Vec<RunSpec>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(dir.path(), GRID);
    let exp = Experiment::from_file(&path).unwrap();
    let runs = exp.runs(&path, "small").unwrap();
    (dir, path, exp, runs)
}

#[test]
fn the_grid_expands_sweeps_and_layers_the_configuration() {
    let (_d, path, exp, runs) = grid();
    let models: Vec<String> = exp
        .model_entries(&path)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        models,
        [
            "A",
            "B [alpha_a=0.3, sigma=1.0]",
            "B [alpha_a=0.3, sigma=0.5]",
            "B [alpha_a=1.0, sigma=1.0]",
            "B [alpha_a=1.0, sigma=0.5]"
        ]
    );
    // 5 models × 2 rho × 2 beta × 3 seeds, indices in order, ids unique.
    assert_eq!(runs.len(), 60);
    assert!(runs.iter().enumerate().all(|(i, r)| r.index == i));
    let mut ids: Vec<String> = runs.iter().map(RunSpec::id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60);
    // Scale keys apply, model keys win over them, sweep points over the model.
    let a = &runs[0];
    assert_eq!(
        (a.config.optim.epochs, a.config.protocol.n_max),
        (3, Some(140))
    );
    assert_eq!(a.config.model.fusion, TrainConfig::default().model.fusion);
    let b = runs
        .iter()
        .find(|r| {
            r.model == "B [alpha_a=1.0, sigma=0.5]" && r.rho == Rho::Ratio(100.0) && r.seed == 2
        })
        .unwrap();
    assert_eq!(b.config.optim.epochs, 7);
    assert_eq!(
        (b.config.objective.alpha_a, b.config.model.sigma),
        (1.0, 0.5)
    );
    assert_eq!(
        (
            b.config.protocol.rho,
            b.config.protocol.beta,
            b.config.run.seed
        ),
        (Rho::Ratio(100.0), 0.1, 2)
    );
    // Canonical order: beta outside rho outside model outside seed.
    assert_eq!(
        (runs[0].beta, runs[0].rho, runs[0].seed, runs[1].seed),
        (0.1, Rho::Ratio(10.0), 0, 1)
    );
    assert_eq!(runs[15].rho, Rho::Ratio(100.0));
    assert_eq!(runs[30].beta, 0.3);
}

#[test]
fn a_misspelt_key_or_a_missing_scale_fails_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad = GRID.replace("fusion = \"early\"", "fushion = \"early\"");
    let path = write_experiment(dir.path(), &bad);
    let err = Experiment::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("model `B") && err.contains("fushion"), "{err}");
    let path = write_experiment(dir.path(), GRID);
    let exp = Experiment::from_file(&path).unwrap();
    let err = exp.runs(&path, "paper").unwrap_err().to_string();
    assert!(
        err.contains("no scale `paper`") && err.contains("small"),
        "{err}"
    );
    let dup = format!("{GRID}\n[[models]]\nname = \"A\"\n");
    let path = write_experiment(dir.path(), &dup);
    let err = Experiment::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("`A` is used twice"), "{err}");
}

/// `validation_folds = k` runs every fold of every seed (docs/model.md §12.11), each fold its own
/// id; setting `validation_fold` by hand, or folds together with a fraction, fails up front.
#[test]
fn k_fold_validation_runs_every_fold_of_every_seed() {
    let dir = tempfile::tempdir().unwrap();
    let folds = GRID.replace("epochs = 3", "epochs = 3\nvalidation_folds = 3");
    let path = write_experiment(dir.path(), &folds);
    let exp = Experiment::from_file(&path).unwrap();
    let runs = exp.runs(&path, "small").unwrap();
    assert_eq!(runs.len(), 60 * 3);
    let mut ids: Vec<String> = runs.iter().map(RunSpec::id).collect();
    assert_eq!(
        ids[0],
        "A|mfeat|rho=10|beta=0.1|missing=none|seed=0|fold=0/3"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 180);
    let first: Vec<(u64, usize)> = runs[..4]
        .iter()
        .map(|r| (r.seed, r.config.run.validation_fold))
        .collect();
    assert_eq!(first, [(0, 0), (0, 1), (0, 2), (1, 0)]);
    for bad in ["validation_fold = 1", "validation_fraction = 0.2"] {
        let text = folds.replace("n_max = 140", &format!("n_max = 140\n{bad}"));
        let path = write_experiment(dir.path(), &text);
        let err = Experiment::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("validation_fold"), "{bad}: {err}");
    }
}

#[test]
fn shards_cover_every_run_exactly_once() {
    let (_d, _p, _e, runs) = grid();
    for n in 1..=7 {
        let mut count = vec![0usize; runs.len()];
        for i in 1..=n {
            let shard: Shard = format!("{i}/{n}").parse().unwrap();
            for r in shard_pending(&runs, shard, &[]) {
                count[r.index] += 1;
            }
        }
        assert!(count.iter().all(|&c| c == 1), "n = {n}: {count:?}");
    }
    for bad in ["0/3", "4/3", "1/0", "a/b", "3"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}

fn result(spec: &RunSpec, overall: f64, minority: f64) -> RunResult {
    RunResult {
        experiment: "grid".into(),
        scale: "small".into(),
        model: spec.model.clone(),
        dataset: spec.dataset.clone(),
        rho: spec.rho,
        beta: spec.beta,
        seed: spec.seed,
        missing: spec.missing,
        scores: Scores {
            overall_acc: overall,
            minority_acc: minority,
            balanced_acc: overall,
            macro_f1: overall,
            g_mean: overall,
        },
        per_class_acc: vec![Some(overall), Some(minority)],
        minority_classes: vec![1],
        validation: None,
        last_validation: None,
        train_seconds: 2.0,
        epochs: spec.config.optim.epochs,
        selected_epoch: spec.config.optim.epochs,
        device: "cpu".into(),
        threads: 1,
        epoch_log: String::new(),
        config: spec.config.clone(),
        hidden: None,
        commit: None,
        cpu_kernels: None,
        selection: None,
        guard: None,
        class_names: None,
        reused_from: None,
        target_priors: None,
        cpu_model: None,
    }
}

#[test]
fn resume_skips_exactly_the_finished_runs() {
    let (_d, _p, _e, runs) = grid();
    let done: Vec<RunResult> = [0, 5, 59]
        .iter()
        .map(|&i| result(&runs[i], 0.5, 0.5))
        .collect();
    let todo: Vec<usize> = pending(&runs, &done).iter().map(|r| r.index).collect();
    assert_eq!(todo.len(), 57);
    assert!(!todo.contains(&0) && !todo.contains(&5) && !todo.contains(&59));
    // The same through a shard: shard 2/2 owns the 30 odd indices, of which 5 and 59 are done.
    let odd = shard_pending(&runs, "2/2".parse().unwrap(), &done);
    assert_eq!(odd.len(), 28);
    assert!(odd
        .iter()
        .all(|r| r.index % 2 == 1 && r.index != 5 && r.index != 59));
}

#[test]
fn cells_are_mean_and_standard_error_over_seeds() {
    let (_d, _p, _e, runs) = grid();
    // Cell of model A, rho 10, beta 0.1: seeds 0, 1, 2 = runs 0, 1, 2.
    let results = vec![
        result(&runs[0], 0.80, 0.50),
        result(&runs[1], 0.90, 0.70),
        result(&runs[2], 0.70, 0.60),
        // A duplicate (e.g. from two shards' files) counts once.
        result(&runs[2], 0.10, 0.10),
        // Another cell (model B…, rho 10, beta 0.1), one seed.
        result(&runs[3], 0.60, 0.40),
    ];
    let cells = summarise(&results, Some(&runs));
    assert_eq!(cells.len(), 20, "every expected cell is listed");
    let a = &cells[0];
    assert_eq!(
        (a.key.model.as_str(), a.key.rho, a.key.beta),
        ("A", Rho::Ratio(10.0), 0.1)
    );
    assert_eq!(a.seeds, vec![0, 1, 2]);
    // mean 0.8, sample s.d. 0.1, s.e. 0.1/√3.
    assert!((a.overall.mean - 0.8).abs() < 1e-12);
    assert!((a.overall.se - 0.1 / 3f64.sqrt()).abs() < 1e-12);
    assert!((a.minority.mean - 0.6).abs() < 1e-12);
    assert!((a.minority.se - 0.1 / 3f64.sqrt()).abs() < 1e-12);
    let pc: Vec<f64> = a.per_class.iter().map(|v| v.unwrap()).collect();
    assert!((pc[0] - 0.8).abs() < 1e-12 && (pc[1] - 0.6).abs() < 1e-12);
    let b = &cells[1];
    assert_eq!((b.seeds.len(), b.expected_seeds, b.overall.se), (1, 3, 0.0));
    assert!(cells[2..].iter().all(|c| c.seeds.is_empty()));
    // Without the experiment only observed cells appear, expected = most seeds seen.
    let cells = summarise(&results, None);
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[1].expected_seeds, 3);

    let page = Page {
        title: "t",
        description: "",
        command: "ssmvae report x.jsonl",
        reference: Some("A"),
        images: &[],
    };
    let md = render(&page, &summarise(&results, Some(&runs)));
    assert!(md.contains("| A | 10 | 80.00±5.77 / 60.00±5.77 |"), "{md}");
    assert!(md.contains("60.00±0.00 / 40.00±0.00 (1/3 seeds)"), "{md}");
    assert!(md.contains("missing (0/3 seeds)"), "{md}");
    // A minus B at rho 10, beta 0.1: +20 / +20 points, pooled s.e. √(5.77² + 0²).
    assert!(
        md.contains("| B [alpha_a=0.3, sigma=1.0] | 10 | +20.00±5.77 / +20.00±5.77 |"),
        "{md}"
    );
}

#[test]
fn a_tiny_grid_runs_resumes_reuses_and_reports_reproducibly() {
    let _guard = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let exp_text = r#"
name = "tiny"
datasets = ["mfeat"]
rho = [10]
beta = [0.3]
missing = ["none"]

[base]
device = "cpu"
hidden = [16]
latent_dim = 4

[scales.small]
seeds = [0, 1]
n_max = 40
epochs = 1

[[models]]
name = "SSMVAE-CI"

[[models]]
name = "LDAM-DRW"
mode = "supervised"
fusion = "early"
classifier_loss = "ldam"
drw_beta = 0.9999
drw_start = 0.0
"#;
    let path = write_experiment(dir.path(), exp_text);
    let exp = Experiment::from_file(&path).unwrap();
    let runs = exp.runs(&path, "small").unwrap();
    assert_eq!(runs.len(), 4);
    let out = dir.path().join("results/small.jsonl");
    let opts = GridOptions {
        experiment: exp.name.clone(),
        scale: "small".into(),
        results: out.clone(),
        shard: "1/2".parse().unwrap(),
        threads: Some(1),
        max_runs: None,
        trust_pending: false,
        reuse: vec![],
    };
    assert_eq!(run_grid(&runs, &opts, |_| {}).unwrap(), 2);
    assert_eq!(
        run_grid(&runs, &opts, |_| {}).unwrap(),
        0,
        "resume: nothing left"
    );
    let two = GridOptions {
        shard: "2/2".parse().unwrap(),
        ..opts.clone()
    };
    assert_eq!(run_grid(&runs, &two, |_| {}).unwrap(), 2);
    let lines = read_results(&out).unwrap();
    assert_eq!(lines.len(), 4);
    for r in &lines {
        // Every line records the commit that produced it.
        assert!(r.commit.as_deref().is_some_and(|c| !c.is_empty()));
        assert!((0.0..=1.0).contains(&r.scores.overall_acc) && r.per_class_acc.len() == 10);
        let names: Vec<String> = (0..10).map(|k| k.to_string()).collect();
        assert_eq!(
            r.class_names.as_ref(),
            Some(&names),
            "mfeat's classes are its digits"
        );
        assert_eq!((r.epochs, r.device.as_str()), (1, "cpu"));
        assert!(out.parent().unwrap().join(&r.epoch_log).exists());
    }
    let text = std::fs::read_to_string(&out).unwrap();
    for key in [
        "\"model\"",
        "\"dataset\"",
        "\"rho\"",
        "\"beta\"",
        "\"seed\"",
        "\"missing\"",
        "\"overall_acc\"",
        "\"minority_acc\"",
        "\"balanced_acc\"",
        "\"macro_f1\"",
        "\"per_class_acc\"",
        "\"train_seconds\"",
        "\"epochs\"",
        "\"device\"",
        "\"config\"",
    ] {
        assert!(text.lines().all(|l| l.contains(key)), "{key} missing");
    }

    // Reuse: a second experiment with the same runs copies them instead of training.
    let other = dir.path().join("other/small.jsonl");
    let reuse = GridOptions {
        experiment: "other".into(),
        results: other.clone(),
        shard: Shard::ALL,
        reuse: vec![out.clone()],
        ..opts.clone()
    };
    assert_eq!(run_grid(&runs, &reuse, |_| {}).unwrap(), 0);
    let copied = read_results(&other).unwrap();
    assert_eq!(copied.len(), 4);
    assert!(copied
        .iter()
        .all(|r| r.reused_from.as_deref() == Some("tiny/small")));
    // A changed configuration is not reused.
    let mut changed = runs.clone();
    changed[0].config.optim.lr = 0.5;
    let fresh = GridOptions {
        results: dir.path().join("fresh/small.jsonl"),
        max_runs: Some(0),
        ..reuse.clone()
    };
    assert_eq!(run_grid(&changed, &fresh, |_| {}).unwrap(), 0);
    assert_eq!(read_results(&fresh.results).unwrap().len(), 3);

    // The report is a function of the files: a second rendering is byte-identical.
    let report = |out_dir: &Path| {
        let files = write_report(&ReportOptions {
            results: vec![out.clone()],
            experiment: Some(path.clone()),
            scale: None,
            out: Some(out_dir.to_path_buf()),
            plots: true,
            readme: None,
            cell: None,
        })
        .unwrap();
        for img in &files.images {
            assert!(
                std::fs::metadata(img).unwrap().len() > 1000,
                "{}",
                img.display()
            );
        }
        std::fs::read_to_string(files.markdown).unwrap()
    };
    let first = report(out.parent().unwrap());
    let second = report(&dir.path().join("again"));
    assert_eq!(first, second);

    // Packing: the loose epoch logs go into one archive, from which the report reads the same
    // records (to six significant digits) and renders the same page.
    let results_dir = out.parent().unwrap();
    let loose: Vec<Vec<trainer::train::EpochRecord>> = lines
        .iter()
        .map(|r| {
            let p = results_dir.join(&r.epoch_log);
            epoch_logs::parse_log(&p, &std::fs::read_to_string(&p).unwrap()).unwrap()
        })
        .collect();
    let packed = epoch_logs::pack(&lines, results_dir, "small").unwrap();
    assert_eq!((packed.runs, packed.removed), (4, 4));
    assert!(!results_dir.join("epochs").exists());
    let mut logs = epoch_logs::EpochLogs::default();
    for (r, want) in lines.iter().zip(&loose) {
        assert!(!results_dir.join(&r.epoch_log).exists());
        let got = logs
            .records(&results_dir.join(&r.epoch_log))
            .unwrap()
            .unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.epoch, w.epoch);
            // Four significant digits (epoch_logs::SIGNIFICANT_DIGITS): half a unit of the
            // fourth digit, relative.
            let close = |a: f64, b: f64| (a - b).abs() <= 5e-4 * b.abs();
            assert!(close(g.test.overall_acc, w.test.overall_acc));
            assert!(close(g.loss_total, w.loss_total));
        }
    }
    assert_eq!(report(&dir.path().join("packed")), first);
    // Packing again keeps every run (now read from the archive itself).
    assert_eq!(
        epoch_logs::pack(&lines, results_dir, "small").unwrap().runs,
        4
    );
    // An archive of the earlier gzip form is read the same, and the next pack replaces it.
    let zst = results_dir.join("epochs-small.jsonl.zst");
    let text = zstd::decode_all(std::fs::File::open(&zst).unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &text).unwrap();
    let legacy = results_dir.join("epochs-small.jsonl.gz");
    std::fs::write(&legacy, gz.finish().unwrap()).unwrap();
    std::fs::remove_file(&zst).unwrap();
    assert_eq!(report(&dir.path().join("legacy")), first);
    assert_eq!(
        epoch_logs::pack(&lines, results_dir, "small").unwrap().runs,
        4
    );
    assert!(zst.exists() && !legacy.exists());
    assert!(
        first.contains("| SSMVAE-CI | 30 |") && !first.contains("/2 seeds)"),
        "{first}"
    );
}
