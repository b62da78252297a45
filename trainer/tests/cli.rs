//! The `ssmvae` binary as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn ssmvae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssmvae"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("SSMVAE_DATA_DIR")
        .output()
        .expect("run ssmvae")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn counts(v: &serde_json::Value, key: &str) -> Vec<u64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

#[test]
fn data_json_on_the_embedded_fixture() {
    let v = json(&ssmvae(&[
        "data",
        "--dataset",
        "mfeat",
        "--rho",
        "10",
        "--beta",
        "0.1",
        "--n-max",
        "140",
        "--json",
    ]));
    assert_eq!(counts(&v, "labeled"), [14, 11, 8, 6, 5, 4, 3, 2, 2, 1]);
    assert_eq!(counts(&v, "test"), [60; 10]);
    let total: Vec<u64> = counts(&v, "labeled")
        .iter()
        .zip(counts(&v, "unlabeled"))
        .map(|(l, u)| l + u)
        .collect();
    assert_eq!(total, [140, 108, 83, 64, 50, 38, 30, 23, 18, 14]);
    assert_eq!(v["beta"], 0.1);
}

#[test]
fn data_out_npz_reads_back_as_the_same_split() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("split.npz");
    let out_s = out.to_str().unwrap();
    let a = json(&ssmvae(&[
        "data",
        "--seed",
        "4",
        "--missing",
        "half",
        "--json",
        "--out",
        out_s,
    ]));
    assert!(out.exists());
    let b = json(&ssmvae(&["data", "--dataset", out_s, "--json"]));
    for key in ["labeled", "unlabeled", "test"] {
        assert_eq!(counts(&a, key), counts(&b, key), "{key}");
    }
    assert_eq!(
        b["protocol_applied"], false,
        "a written split is taken as given"
    );
    assert_eq!(
        a["modalities"], b["modalities"],
        "names, dims, kinds and missing counts survive"
    );
}

#[test]
fn user_errors_exit_1_with_a_message() {
    let out = ssmvae(&[
        "data",
        "--dataset",
        "mnist+fashion",
        "--data-dir",
        "/nonexistent",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/MNIST/raw not found"), "{err}");
    let out = ssmvae(&["data", "--beta", "10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 0.1"));
}

#[test]
fn demo_prints_the_fixture_split_and_trains() {
    let out = ssmvae(&["demo", "--no-progress"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dataset mfeat | rho 10 | beta 0.1 | n_max 140"),
        "{text}"
    );
    assert!(text.contains("total"), "{text}");
    assert!(
        text.contains("SSMVAE-CI (t + PoE)") && text.contains("supervised-only (PoE)"),
        "{text}"
    );
    assert!(text.contains("minority"), "{text}");
    assert!(
        text.contains("runtime F32 bundle") && text.contains("runtime F16 bundle"),
        "{text}"
    );
}

/// Issue 15's promise: `ssmvae train --dataset X.npz --test Y.npz`, no other flag, trains the
/// default (the rare-class objective, 30 epochs) on a user's file and leaves its checkpoint in
/// a run folder under the working directory.
#[test]
fn train_on_a_users_npz_with_no_other_flag_trains_the_default() {
    use ndarray::{Array1, Array2};
    let dir = tempfile::tempdir().unwrap();
    // Two views of three separable classes, 20 / 8 / 4 samples, two labels per class.
    let write = |name: &str, sizes: &[usize], labeled: usize| {
        let n: usize = sizes.iter().sum();
        let mut a = Array2::<f32>::zeros((n, 4));
        let mut b = Array2::<f32>::zeros((n, 3));
        let mut labels = Array1::<i64>::zeros(n);
        let mut row = 0;
        for (class, &size) in sizes.iter().enumerate() {
            for i in 0..size {
                let wobble = (i as f32 * 0.37).sin() * 0.3;
                a.row_mut(row).fill(wobble);
                a[[row, class]] += 2.0;
                b.row_mut(row).fill(-wobble);
                b[[row, class]] += 2.0;
                labels[row] = if i < labeled { class as i64 } else { -1 };
                row += 1;
            }
        }
        let path = dir.path().join(name);
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&path).unwrap());
        npz.add_array("a", &a).unwrap();
        npz.add_array("b", &b).unwrap();
        npz.add_array("labels", &labels).unwrap();
        npz.finish().unwrap();
        path
    };
    let train = write("mine.npz", &[20, 8, 4], 2);
    let test = write("mine_test.npz", &[5, 5, 5], 5);
    let out = Command::new(env!("CARGO_BIN_EXE_ssmvae"))
        .args([
            "train",
            "--dataset",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .env_remove("SSMVAE_DATA_DIR")
        .output()
        .expect("run ssmvae");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("test (epoch 30)"), "{text}");
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path().join("checkpoint.safetensors"))
        .collect();
    assert!(runs.len() == 1 && runs[0].exists(), "{runs:?}");
}

/// `eval --bundle` scores what a device would: the committed golden bundles, run by the runtime
/// on the raw test rows of the checkpoint's split, score exactly what the checkpoint scores
/// (every dtype predicts the same classes on this model); a bad path is named with its flag.
#[test]
fn eval_scores_a_bundle_with_the_runtime() {
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--checkpoint",
            "fixtures/golden/checkpoint.safetensors",
            "--data-dir",
            "fixtures/data",
            "--json",
        ];
        args.extend_from_slice(extra);
        ssmvae(&args)
    };
    let tch = json(&eval(&[]));
    for dtype in ["f32", "f16", "int8"] {
        let path = format!("fixtures/golden/model-{dtype}.ssmv");
        let rt = json(&eval(&["--bundle", &path]));
        assert_eq!(rt["per_class_acc"], tch["per_class_acc"], "{dtype}");
        assert_eq!(rt["overall_acc"], tch["overall_acc"], "{dtype}");
    }
    let out = eval(&["--bundle", "/nonexistent/model.ssmv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--bundle /nonexistent/model.ssmv"), "{err}");
}

/// `bench --jobs 2` (two processes, one run each at a time) writes the same runs, with the same
/// scores bit for bit, as the one-process grid: a run is the same run wherever it executes.
#[test]
fn bench_jobs_gives_the_one_process_results() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("tiny.toml");
    std::fs::write(
        &exp,
        r#"
name = "tiny"
datasets = ["mfeat"]
rho = [10]
beta = [0.3]

[base]
device = "cpu"
hidden = [16]
latent_dim = 4

[scales.small]
seeds = [0, 1, 2]
n_max = 40
epochs = 1

[[models]]
name = "SSMVAE-CI"
"#,
    )
    .unwrap();
    let run = |jobs: &str, out: &str| {
        let out = dir.path().join(out);
        let o = ssmvae(&[
            "bench",
            exp.to_str().unwrap(),
            "--scale",
            "small",
            "--data-dir",
            "fixtures/data",
            "--threads",
            "1",
            "--jobs",
            jobs,
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut lines: Vec<(String, Vec<u64>)> = trainer::bench::results::read_results(&out)
            .unwrap()
            .into_iter()
            .map(|r| {
                let mut bits = vec![r.scores.overall_acc.to_bits(), r.scores.macro_f1.to_bits()];
                bits.extend(
                    r.per_class_acc
                        .iter()
                        .map(|a| a.map_or(u64::MAX, f64::to_bits)),
                );
                (r.id(), bits)
            })
            .collect();
        lines.sort();
        lines
    };
    let parallel = run("2", "jobs2.jsonl");
    assert_eq!(parallel.len(), 3);
    assert_eq!(parallel, run("1", "jobs1.jsonl"));
}

/// `bench-step --no-pytorch` times the trainer's step alone, at f32 and bf16, and prints the medians.
#[test]
fn bench_step_runs_without_python() {
    let o = ssmvae(&[
        "bench-step",
        "--shape",
        "mfeat",
        "--no-pytorch",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--rounds",
        "1",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("ssmvae") && text.contains("median"), "{text}");
    // Both precisions by default, each timed in its own worker.
    assert!(
        text.contains("ssmvae (f32)") && text.contains("ssmvae (bf16)"),
        "{text}"
    );
}

/// `predict` writes what its extension says: a `.csv` with the class names as columns, whose
/// predicted class and probabilities are the `.npz`'s; `--json` prints the same as JSON lines;
/// an extension it cannot write is refused by name and writes nothing (it once wrote an `.npz`
/// under any name).
#[test]
fn predict_writes_a_table_named_by_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    // Raw rows for the golden checkpoint's six mfeat views (values need only be finite); the
    // `mor` view is absent, so every row is predicted from the other five.
    let input = dir.path().join("raw.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&input).unwrap());
    for (name, d) in [
        ("fac", 216),
        ("fou", 76),
        ("kar", 64),
        ("pix", 240),
        ("zer", 47),
    ] {
        let rows = ndarray::Array2::from_shape_fn((7, d), |(r, c)| ((r * 31 + c * 7) % 13) as f32);
        npz.add_array(name, &rows).unwrap();
    }
    npz.finish().unwrap();
    let input = input.to_str().unwrap().to_string();
    let predict = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--checkpoint",
            "fixtures/golden/checkpoint.safetensors",
            "--input",
            &input,
        ];
        let path = dir.path().join(out);
        let path = path.to_str().unwrap().to_string();
        if !out.is_empty() {
            args.extend(["--out", &path]);
        }
        args.extend_from_slice(extra);
        (ssmvae(&args), dir.path().join(out))
    };
    let (o, csv) = predict("p.csv", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (o, npz) = predict("p.npz", &[]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..2], ["sample", "predicted"]);
    assert_eq!(*header.last().unwrap(), "modalities");
    let classes = &header[2..header.len() - 1];
    let mut z = ndarray_npy::NpzReader::new(std::fs::File::open(&npz).unwrap()).unwrap();
    let pred: ndarray::Array1<i64> = z.by_name("pred").unwrap();
    let probs: ndarray::Array2<f32> = z.by_name("probs").unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), pred.len());
    for (r, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[0], r.to_string());
        assert_eq!(cells[1], classes[pred[r] as usize], "row {r}");
        let p: f32 = cells[2 + pred[r] as usize].parse().unwrap();
        assert_eq!(p, probs[[r, pred[r] as usize]]);
        assert_eq!(*cells.last().unwrap(), "fac+fou+kar+pix+zer");
    }
    let (o, _) = predict("", &["--json"]);
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["predicted"], classes[pred[0] as usize]);
    let (o, txt) = predict("p.txt", &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("p.txt") && err.contains(".csv, .tsv or .npz"),
        "{err}"
    );
    assert!(!txt.exists());
    let (o, _) = predict("", &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out"));
}

/// `inspect` reads a bundle as the runtime does and reports what flashing it needs: the inputs
/// by name and width, the classes, and an arena and arithmetic that match the runtime's own
/// figures; a bundle that does not exist or does not validate is refused by name.
#[test]
fn inspect_describes_a_bundle_as_the_runtime_reads_it() {
    let bundle = "fixtures/golden/model-f32-decoders.ssmv";
    let d = json(&ssmvae(&["inspect", bundle, "--json"]));
    let rt = runtime::Model::open(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(bundle),
    )
    .unwrap();
    assert_eq!(d["arena_floats_one"], rt.workspace_len());
    assert_eq!(d["arena_floats_batch64"], rt.batch_workspace_len(64));
    assert_eq!(d["format"], "2.1");
    assert_eq!(d["decoders"], true);
    let names: Vec<&str> = d["modalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fac", "fou", "kar", "mor", "pix", "zer"]);
    assert_eq!(d["modalities"][0]["dim"], 216);
    assert_eq!(d["classes"].as_array().unwrap().len(), 10);
    // Classifier experts (d_j → h → K) and latent experts (d_j + K → h → 2m), h = 64, m = 8.
    let dims = [216u64, 76, 64, 6, 240, 47];
    let (h, k, m) = (64u64, 10u64, 8u64);
    let want: u64 = dims
        .iter()
        .map(|d| d * h + h * k + (d + k) * h + h * 2 * m)
        .sum();
    assert_eq!(d["macs_per_prediction"], want);
    let text = ssmvae(&["inspect", bundle]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("pix") && text.contains("arena") && text.contains("KiB"),
        "{text}"
    );
    let bad = ssmvae(&["inspect", "/nonexistent/model.ssmv"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/model.ssmv"));
}

/// `eval --dataset X --test Y` takes a test file as `train` does: the golden checkpoint scores a
/// split written as two plain `.npz` files exactly as it scores the split file they came from.
#[test]
fn eval_takes_a_test_file_as_train_does() {
    let dir = tempfile::tempdir().unwrap();
    let split = dir.path().join("split.npz");
    let o = ssmvae(&[
        "data",
        "--dataset",
        "mfeat",
        "--data-dir",
        "fixtures/data",
        "--n-max",
        "140",
        "--out",
        split.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut z = ndarray_npy::NpzReader::new(std::fs::File::open(&split).unwrap()).unwrap();
    let names = z.names().unwrap();
    for part in ["train", "test"] {
        let path = dir.path().join(format!("{part}.npz"));
        let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(&path).unwrap());
        for name in names.iter().filter(|n| n.starts_with(&format!("{part}_"))) {
            let bare = name
                .trim_start_matches(&format!("{part}_"))
                .trim_end_matches(".npy");
            if bare == "true_labels" {
                continue;
            }
            if bare == "labels" {
                let a: ndarray::Array1<i64> = z.by_name(name).unwrap();
                w.add_array(bare, &a).unwrap();
            } else {
                let a: ndarray::Array2<f32> = z.by_name(name).unwrap();
                w.add_array(bare, &a).unwrap();
            }
        }
        w.finish().unwrap();
    }
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--checkpoint",
            "fixtures/golden/checkpoint.safetensors",
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&ssmvae(&args))
    };
    let whole = eval(&["--dataset", split.to_str().unwrap()]);
    let parts = eval(&[
        "--dataset",
        dir.path().join("train.npz").to_str().unwrap(),
        "--test",
        dir.path().join("test.npz").to_str().unwrap(),
    ]);
    assert_eq!(parts["per_class_acc"], whole["per_class_acc"]);
    assert_eq!(parts["overall_acc"], whole["overall_acc"]);
}
