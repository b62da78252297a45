//! Hostile input, tried the way users break things: every subcommand on a table of bad files,
//! bad flags and bad destinations. Each case must exit non-zero with one `error:` line that names
//! the problem, print no panic and no backtrace, and leave no output file behind.
//!
//! The fixtures are written once into a temporary folder (NumPy arrays through `ndarray-npy`, a
//! tiny checkpoint trained for one epoch); the cases then run on four threads, so the whole table
//! takes seconds.
//!
//! Over 500 lines on purpose: it is one table (fixtures, then one line per case) that reads best
//! top to bottom; split across files, a case would sit far from the fixture it breaks.
//!
//! `fixtures` and `cases` are over 120 lines for the same reason: each is that table, one row per
//! fixture or case.

use ndarray::{Array1, Array2};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ssmvae(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssmvae"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("SSMVAE_DATA_DIR")
        // The user's default: no backtrace requested (CI machines may set it globally).
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("run ssmvae")
}

/// An `.npz` from named f32/f64 matrices, i64 vectors, bool masks, raw entries.
enum Arr {
    F32(Array2<f32>),
    F64(Array2<f64>),
    I64(Array1<i64>),
    Bool(Array1<bool>),
    Raw(Vec<u8>),
}

fn npz(path: &Path, arrays: Vec<(&str, Arr)>) {
    let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(path).unwrap());
    let mut raws = Vec::new();
    for (name, a) in arrays {
        match a {
            Arr::F32(a) => w.add_array(name, &a).unwrap(),
            Arr::F64(a) => w.add_array(name, &a).unwrap(),
            Arr::I64(a) => w.add_array(name, &a).unwrap(),
            Arr::Bool(a) => w.add_array(name, &a).unwrap(),
            Arr::Raw(b) => raws.push((name.to_string(), b)),
        }
    }
    let file = w.finish().unwrap();
    drop(file);
    if !raws.is_empty() {
        // Append raw entries (hand-made `.npy` bytes) to the archive.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut z = zip::ZipWriter::new_append(f).unwrap();
        for (name, bytes) in raws {
            z.start_file(
                format!("{name}.npy"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            std::io::Write::write_all(&mut z, &bytes).unwrap();
        }
        z.finish().unwrap();
    }
}

/// `n × d` values that vary by row and column (standardisation needs some spread).
fn values(n: usize, d: usize, shift: f32) -> Array2<f32> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 + shift * (i % 2) as f32
    })
}

fn alternating(n: usize) -> Array1<i64> {
    Array1::from_shape_fn(n, |i| (i % 2) as i64)
}

/// A hand-made `.npy` entry: a header claiming `shape` and `data` bytes after it.
fn npy_bytes(descr: &str, shape: &str, data: usize) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend(std::iter::repeat_n(0u8, data));
    b
}

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

fn fixtures() -> Fixtures {
    let f = Fixtures {
        dir: tempfile::tempdir().unwrap(),
    };
    let d = |name: &str| f.dir.path().join(name);
    let good = |n: usize| {
        vec![
            ("a", Arr::F32(values(n, 3, 5.0))),
            ("b", Arr::F32(values(n, 2, -4.0))),
            ("labels", Arr::I64(alternating(n))),
        ]
    };
    npz(&d("good.npz"), good(60));
    npz(&d("good_test.npz"), good(20));
    npz(
        &d("one_labeled.npz"),
        vec![
            ("a", Arr::F32(values(20, 3, 1.0))),
            (
                "labels",
                Arr::I64(Array1::from_shape_fn(20, |i| if i == 0 { 0 } else { -1 })),
            ),
        ],
    );
    npz(
        &d("all_unlabeled.npz"),
        vec![
            ("a", Arr::F32(values(20, 3, 1.0))),
            ("b", Arr::F32(values(20, 2, 1.0))),
            ("labels", Arr::I64(Array1::from_elem(20, -1))),
        ],
    );
    let mut with_mask = good(10);
    with_mask.push(("mask_c", Arr::Bool(Array1::from_elem(10, true))));
    npz(&d("mask_unknown.npz"), with_mask);
    npz(
        &d("empty.npz"),
        vec![
            ("a", Arr::F32(Array2::zeros((0, 3)))),
            ("labels", Arr::I64(Array1::zeros(0))),
        ],
    );
    npz(
        &d("frac_labels.npz"),
        vec![
            ("a", Arr::F32(values(4, 3, 0.0))),
            ("labels", Arr::F64(Array2::from_elem((4, 1), 0.5))),
        ],
    );
    npz(
        &d("frac_labels_1d.npz"),
        vec![
            ("a", Arr::F32(values(4, 3, 0.0))),
            (
                "labels",
                Arr::Raw({
                    let mut b = npy_bytes("<f8", "(4,)", 0);
                    for v in [0.0f64, 1.0, 0.5, 1.0] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                    b
                }),
            ),
        ],
    );
    npz(
        &d("negative_label.npz"),
        vec![
            ("a", Arr::F32(values(4, 3, 0.0))),
            ("labels", Arr::I64(Array1::from(vec![0, 1, -3, 1]))),
        ],
    );
    let mut nan = values(6, 3, 0.0);
    nan[[4, 2]] = f32::NAN;
    npz(
        &d("nan.npz"),
        vec![("a", Arr::F32(nan)), ("labels", Arr::I64(alternating(6)))],
    );
    let mut inf = values(6, 3, 0.0);
    inf[[1, 0]] = f32::INFINITY;
    npz(
        &d("inf.npz"),
        vec![("a", Arr::F32(inf)), ("labels", Arr::I64(alternating(6)))],
    );
    let mut masked = good(6);
    masked.push((
        "mask_a",
        Arr::Bool(Array1::from(vec![true, true, false, true, true, true])),
    ));
    masked.push((
        "mask_b",
        Arr::Bool(Array1::from(vec![true, true, false, true, true, true])),
    ));
    npz(&d("row_without_modality.npz"), masked);
    npz(
        &d("rows_mismatch.npz"),
        vec![
            ("a", Arr::F32(values(5, 3, 0.0))),
            ("labels", Arr::I64(alternating(4))),
        ],
    );
    npz(
        &d("three_d.npz"),
        vec![
            ("a", Arr::Raw(npy_bytes("<f4", "(2, 2, 2)", 32))),
            ("labels", Arr::I64(alternating(2))),
        ],
    );
    npz(
        &d("lying_header.npz"),
        vec![
            ("a", Arr::Raw(npy_bytes("<f8", "(100000, 100000)", 64))),
            ("labels", Arr::I64(alternating(4))),
        ],
    );
    npz(
        &d("string_labels.npz"),
        vec![
            ("a", Arr::F32(values(2, 3, 0.0))),
            ("labels", Arr::Raw(npy_bytes("<U3", "(2,)", 24))),
        ],
    );
    npz(
        &d("no_class0.npz"),
        vec![
            ("a", Arr::F32(values(6, 3, 0.0))),
            ("labels", Arr::I64(Array1::from(vec![1, 2, 1, 2, 1, 2]))),
        ],
    );
    npz(
        &d("only_labels.npz"),
        vec![("labels", Arr::I64(alternating(4)))],
    );
    npz(
        &d("no_labels.npz"),
        vec![("a", Arr::F32(values(4, 3, 0.0)))],
    );
    npz(
        &d("labels_2d.npz"),
        vec![
            ("a", Arr::F32(values(4, 3, 0.0))),
            ("labels", Arr::F64(Array2::zeros((4, 2)))),
        ],
    );
    npz(
        &d("other_mods_test.npz"),
        vec![
            ("a", Arr::F32(values(10, 3, 5.0))),
            ("c", Arr::F32(values(10, 2, 1.0))),
            ("labels", Arr::I64(alternating(10))),
        ],
    );
    // Prediction inputs.
    npz(
        &d("wrong_dims.npz"),
        vec![
            ("a", Arr::F32(values(4, 4, 0.0))),
            ("b", Arr::F32(values(4, 2, 0.0))),
        ],
    );
    npz(
        &d("unknown_modality.npz"),
        vec![
            ("a", Arr::F32(values(4, 3, 0.0))),
            ("c", Arr::F32(values(4, 2, 0.0))),
        ],
    );
    npz(
        &d("a_masked_b_absent.npz"),
        vec![
            ("a", Arr::F32(values(3, 3, 0.0))),
            ("mask_a", Arr::Bool(Array1::from(vec![true, false, true]))),
        ],
    );
    // Damaged files.
    let good_bytes = std::fs::read(d("good.npz")).unwrap();
    std::fs::write(d("truncated.npz"), &good_bytes[..good_bytes.len() / 2]).unwrap();
    std::fs::write(d("garbage.npz"), b"this is not a zip archive at all").unwrap();
    std::fs::create_dir(d("npy_dir")).unwrap();
    std::fs::write(d("npy_dir/a.npy"), npy_bytes("<f4", "(3, 2)", 5)).unwrap();
    std::fs::write(d("npy_dir/labels.npy"), npy_bytes("<i8", "(3,)", 24)).unwrap();
    std::fs::write(d("a_file"), b"a file, not a folder").unwrap();
    std::fs::write(d("unknown_key.toml"), "epochs = 1\nlearning_rate = 0.1\n").unwrap();
    std::fs::write(d("bad_syntax.toml"), "epochs = = 1\n").unwrap();
    std::fs::write(d("bad_hidden.toml"), "hidden = \"wide\"\n").unwrap();
    std::fs::write(d("bench_unknown_key.toml"), "name = \"x\"\nbogus = 1\n").unwrap();
    std::fs::write(d("truncated.jsonl"), "{\"model\": \"ssmvae\", \"seed\": ").unwrap();
    std::fs::write(d("empty.jsonl"), "").unwrap();

    // Study manifests (issue 33): a good one, and one folder per malformed variant, each the good
    // study with one file replaced.
    let base: Vec<(&str, String)> = vec![
        ("study.toml", "labels = \"labels.csv\"\n[modalities]\nrna = \"rna.csv\"\nprot = { path = \"prot.tsv\", samples_in = \"columns\" }\n".into()),
        ("labels.csv", "id,class\n".to_string() + &(0..12).map(|i| format!("s{i},{}\n", ["A", "B"][i % 2])).collect::<String>()),
        ("rna.csv", "id,g1,g2\n".to_string() + &(0..12).map(|i| format!("s{i},{},{}\n", i, i % 3)).collect::<String>()),
        ("prot.tsv", "feature\t".to_string() + &(0..12).map(|i| format!("s{i}")).collect::<Vec<_>>().join("\t") + "\np1\t" + &(0..12).map(|i| format!("{}", i * 2)).collect::<Vec<_>>().join("\t") + "\n"),
    ];
    let variants: Vec<(&str, &str, &str)> = vec![
        ("study", "", ""),
        (
            "study_dup_id",
            "rna.csv",
            "id,g1,g2\ns0,1,2\ns1,1,2\ns0,3,4\n",
        ),
        (
            "study_unknown_id",
            "labels.csv",
            "id,class\ns0,A\ns1,B\ns99,A\n",
        ),
        ("study_short_row", "rna.csv", "id,g1,g2\ns0,1,2\ns1,3\n"),
        (
            "study_text_cell",
            "rna.csv",
            "id,g1,g2\ns0,1,2\ns1,3,high\n",
        ),
        ("study_no_common", "rna.csv", "id,g1,g2\nx0,1,2\nx1,3,4\n"),
        ("study_unseen_class", "labels.csv", "id,class\ns0,A\ns1,C\n"),
        ("study_missing_feature", "rna.csv", "id,g1\ns0,1\ns1,3\n"),
    ];
    for (folder, file, text) in variants {
        std::fs::create_dir_all(d(folder)).unwrap();
        for (name, body) in &base {
            std::fs::write(d(folder).join(name), body).unwrap();
        }
        if !file.is_empty() {
            std::fs::write(d(folder).join(file), text).unwrap();
        }
    }
    let out = ssmvae(&[
        "train".into(),
        "--dataset".into(),
        f.p("study/study.toml"),
        "--epochs".into(),
        "1".into(),
        "--hidden".into(),
        "8".into(),
        "--checkpoint".into(),
        f.p("study.st"),
        "--no-progress".into(),
        "-q".into(),
    ]);
    assert!(
        out.status.success(),
        "training the study checkpoint: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A tiny checkpoint trained on good.npz (modalities a, b).
    let out = ssmvae(&[
        "train".into(),
        "--dataset".into(),
        f.p("good.npz"),
        "--test".into(),
        f.p("good_test.npz"),
        "--rho".into(),
        "1".into(),
        "--beta".into(),
        "0.5".into(),
        "--epochs".into(),
        "1".into(),
        "--hidden".into(),
        "8".into(),
        "--latent-dim".into(),
        "2".into(),
        "--checkpoint".into(),
        f.p("m.st"),
        "--no-progress".into(),
        "-q".into(),
    ]);
    assert!(
        out.status.success(),
        "training the fixture checkpoint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ckpt = std::fs::read(d("m.st")).unwrap();
    std::fs::write(d("truncated.st"), &ckpt[..ckpt.len() * 2 / 3]).unwrap();
    std::fs::write(d("not_a_checkpoint.st"), b"{\"just\": \"json\"}").unwrap();
    // The same checkpoint claiming a newer metadata version (same length, so offsets hold).
    let needle = b"\\\"version\\\":1,";
    let pos = ckpt
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("metadata version in the header");
    let mut newer = ckpt.clone();
    newer[pos + needle.len() - 2] = b'9';
    std::fs::write(d("newer.st"), newer).unwrap();
    f
}

/// One hostile case: arguments, what the message must say, files that must not exist afterwards.
struct Case {
    args: Vec<String>,
    says: Vec<&'static str>,
    leaves_no: Vec<String>,
}

fn case(args: &[&str], says: &[&'static str]) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        says: says.to_vec(),
        leaves_no: Vec::new(),
    }
}

fn cases(f: &Fixtures) -> Vec<Case> {
    let p = |n: &str| f.p(n);
    let data = |file: &str, says: &[&'static str]| case(&["data", "--dataset", &p(file)], says);
    let predict = |input: &str, says: &[&'static str]| {
        let out = p(&format!("pred-{input}"));
        let mut c = case(
            &[
                "predict",
                "--checkpoint",
                &p("m.st"),
                "--input",
                &p(input),
                "--out",
                &out,
            ],
            says,
        );
        c.leaves_no.push(out);
        c
    };
    let mut v = vec![
        // data: the readers and the protocol
        case(
            &["data", "--dataset", "no-such-dataset"],
            &["unknown dataset `no-such-dataset`"],
        ),
        data(
            "missing.npz",
            &["cannot read", "missing.npz", "No such file"],
        ),
        data("empty.npz", &["empty.npz", "0 rows"]),
        data("mask_unknown.npz", &["mask_c", "modality `c`", "a, b"]),
        data("frac_labels.npz", &["labels", "1-D"]),
        data(
            "frac_labels_1d.npz",
            &["row 3", "0.5 is not a whole number"],
        ),
        data("negative_label.npz", &["row 3", "label -3"]),
        data("nan.npz", &["nan.npz: a: row 5, column 3 is not finite"]),
        data("inf.npz", &["inf.npz: a: row 2, column 1 is not finite"]),
        data(
            "row_without_modality.npz",
            &["sample 3 has no observed modality"],
        ),
        data(
            "rows_mismatch.npz",
            &["rows_mismatch.npz: a", "5 rows", "4 expected"],
        ),
        data("three_d.npz", &["array `a`", "2-D"]),
        data(
            "lying_header.npz",
            &["array `a`", "needs 80000000000 data bytes"],
        ),
        data("string_labels.npz", &["labels", "numeric"]),
        data("no_class0.npz", &["class 0", "0 samples"]),
        data(
            "only_labels.npz",
            &["only_labels.npz", "no modality arrays"],
        ),
        data(
            "no_labels.npz",
            &["no_labels.npz", "no array named `labels`"],
        ),
        data("labels_2d.npz", &["labels", "1-D"]),
        data("truncated.npz", &["truncated.npz", "not a readable .npz"]),
        data("garbage.npz", &["garbage.npz", "not a readable .npz"]),
        data(
            "npy_dir",
            &["array `a`", "needs 24 data bytes, the array has 5"],
        ),
        case(&["data", "--beta", "0"], &["invalid --beta = 0"]),
        case(&["data", "--rho", "0.5"], &["invalid --rho = 0.5"]),
        case(&["data", "--n-max", "0"], &["invalid --n-max = 0"]),
        case(
            &["data", "--dataset", "mfeat", "--modalities", "fac,nope"],
            &["--modalities"],
        ),
        case(&["data", "--seed", "x"], &["invalid value 'x' for '--seed"]),
        // train
        case(
            &[
                "train",
                "--dataset",
                &p("one_labeled.npz"),
                "--agreement-gate",
                "true",
                "--unlabeled-form",
                "exact-gamma",
            ],
            &["agreement_gate", "needs unlabeled_form = entropy"],
        ),
        case(
            &[
                "train",
                "--dataset",
                &p("one_labeled.npz"),
                "--checkpoint",
                &p("t1.st"),
            ],
            &["test set is empty", "--test"],
        ),
        case(
            &[
                "train",
                "--dataset",
                &p("all_unlabeled.npz"),
                "--test",
                &p("good_test.npz"),
                "--checkpoint",
                &p("t2.st"),
            ],
            &["labeled training set is empty"],
        ),
        case(
            &["train", "--config", &p("unknown_key.toml")],
            &["unknown_key.toml", "learning_rate"],
        ),
        case(
            &["train", "--config", &p("bad_syntax.toml")],
            &["bad_syntax.toml"],
        ),
        case(
            &["train", "--config", &p("bad_hidden.toml")],
            &[
                "bad_hidden.toml",
                "hidden must be \"auto\" or a list of widths",
            ],
        ),
        case(
            &["train", "--method", "crest", "--fusion", "late", "--resume"],
            &["--resume", "method `crest` writes no checkpoint"],
        ),
        case(
            &["train", "--dataset", "mfeat", "--test", &p("x.npz")],
            &["--test", "`mfeat` brings its own test split"],
        ),
        case(
            &["train", "--rho", "nat"],
            &["--rho", "`nat` is neither a number", "natural"],
        ),
        case(
            &["train", "--transform", "log"],
            &["--transform", "expected auto, standardize or log1p"],
        ),
        case(
            &["train", "--target-prior", "test"],
            &["--target-prior", "uniform, train, estimated"],
        ),
        case(
            &["train", "--hidden", "512,0"],
            &["--hidden", "comma-separated widths ≥ 1, not `512,0`"],
        ),
        case(
            &["train", "--config", &p("nope.toml")],
            &["nope.toml", "No such file"],
        ),
        case(
            &[
                "train",
                "--dataset",
                &p("good.npz"),
                "--test",
                &p("other_mods_test.npz"),
            ],
            &["train and test sets disagree", "[a,b]", "[a,c]"],
        ),
        case(&["train", "--nu", "1"], &["invalid nu = 1"]),
        case(
            &[
                "train",
                "--latent",
                "gaussian",
                "--unlabeled-form",
                "exact-gamma",
            ],
            &["invalid unlabeled_form = exact-gamma", "student-t"],
        ),
        case(
            &["train", "--fusion", "sideways"],
            &["invalid value 'sideways' for '--fusion", "poe"],
        ),
        case(&["train", "--lr=-1"], &["invalid lr = -1"]),
        case(
            &["train", "--self-training-generations", "1"],
            &["invalid self_training_generations = 1", "at least 2"],
        ),
        case(
            &["train", "--self-training-cap", "maybe"],
            &["invalid value 'maybe' for '--self-training-cap", "head-gap"],
        ),
        case(
            &["train", "--self-training-select", "best"],
            &["invalid value 'best' for '--self-training-select", "quota"],
        ),
        case(
            &["train", "--self-training-restart", "sometimes"],
            &["invalid value 'sometimes' for '--self-training-restart"],
        ),
        case(
            &["train", "--precision", "fp8"],
            &["invalid value 'fp8' for '--precision", "bf16"],
        ),
        case(
            &["bench-step", "--precision", "f16"],
            &["invalid value 'f16' for '--precision", "f32"],
        ),
        case(
            &["train", "--enumeration-floor", "1"],
            &["invalid enumeration_floor = 1", "[0, 1)"],
        ),
        case(
            &[
                "train",
                "--enumeration-floor",
                "1e-4",
                "--unlabeled-form",
                "exact-gamma",
            ],
            &[
                "invalid enumeration_floor = 0.0001",
                "unlabeled_form = entropy",
            ],
        ),
        case(
            &["bench-step", "--no-pytorch", "--enumeration-floor=-0.1"],
            &["--enumeration-floor -0.1", "[0, 1)"],
        ),
        case(&["train", "--epochs", "0"], &["invalid epochs = 0"]),
        case(
            &[
                "train",
                "--dataset",
                &p("good.npz"),
                "--modalities",
                "a,zzz",
            ],
            &["--modalities", "a,b"],
        ),
        // eval
        case(
            &["eval", "--checkpoint", &p("m.st"), "--dataset", "mfeat"],
            &[
                "m.st",
                "trained on modalities [a, b]",
                "dataset `mfeat` has",
            ],
        ),
        case(
            &["eval", "--checkpoint", &p("nope.st")],
            &["nope.st", "No such file"],
        ),
        case(
            &["eval", "--checkpoint", &p("truncated.st")],
            &["truncated.st", "not a checkpoint"],
        ),
        case(
            &["eval", "--checkpoint", &p("not_a_checkpoint.st")],
            &["not_a_checkpoint.st", "not a checkpoint"],
        ),
        case(
            &["eval", "--checkpoint", &p("newer.st")],
            &["newer.st", "version 9"],
        ),
        // predict
        predict(
            "wrong_dims.npz",
            &["modality `a` had 3 features in training", "gives it 4"],
        ),
        predict(
            "unknown_modality.npz",
            &["has modality `c`", "trained on [a, b]"],
        ),
        predict("empty.npz", &["empty.npz", "0 rows"]),
        predict("nan.npz", &["not finite"]),
        predict("missing.npz", &["missing.npz", "No such file"]),
        predict(
            "a_masked_b_absent.npz",
            &["sample 2 has no observed modality"],
        ),
        // export
        case(
            &[
                "export",
                "--checkpoint",
                &p("truncated.st"),
                "--out",
                &p("b1.ssmv"),
            ],
            &["not a checkpoint"],
        ),
        // bench and report
        case(&["bench", &p("nope.toml")], &["nope.toml", "No such file"]),
        case(
            &["bench", &p("bench_unknown_key.toml")],
            &["bench_unknown_key.toml", "bogus"],
        ),
        case(&["bench", &p("bad_syntax.toml")], &["bad_syntax.toml"]),
        // bench-step
        case(
            &["bench-step", "--script", &p("nope.py"), "--steps", "1"],
            &["--script", "nope.py", "no such file"],
        ),
        case(
            &["bench-step", "--rounds", "0"],
            &["--rounds", "at least 1"],
        ),
        case(
            &["report", &p("truncated.jsonl")],
            &["truncated.jsonl", "line 1"],
        ),
        case(
            &["report", &p("empty.jsonl")],
            &["no results in", "empty.jsonl"],
        ),
        case(
            &["report", &p("nope.jsonl")],
            &["cannot read", "nope.jsonl"],
        ),
        case(
            &["bench-epoch", "--reference", &p("no_such_dir")],
            &["--reference", "no_such_dir", "no train.py there"],
        ),
        case(&["bench-epoch", "--epochs", "1"], &["--epochs at least 2"]),
        // study manifests: one line naming the file, the line and the sample
        data(
            "study_dup_id/study.toml",
            &["rna.csv, line 4", "sample id `s0` appears twice"],
        ),
        data(
            "study_unknown_id/study.toml",
            &["labels.csv, line 4", "`s99`", "no modality file holds it"],
        ),
        data(
            "study_short_row/study.toml",
            &["rna.csv, line 3", "`s1`: 2 cells, the header has 3"],
        ),
        data(
            "study_text_cell/study.toml",
            &[
                "rna.csv, line 3",
                "sample `s1`, feature `g2`: `high` is not a finite number",
            ],
        ),
        data(
            "study_no_common/study.toml",
            &[
                "rna.csv",
                "modality `rna` shares no sample id with the labels file",
            ],
        ),
        case(
            &[
                "train",
                "--dataset",
                &p("study/study.toml"),
                "--test",
                &p("study_unseen_class/study.toml"),
                "--checkpoint",
                &p("never.st"),
            ],
            &[
                "labels.csv, line 3",
                "sample `s1`: class `C` was never seen in training",
            ],
        ),
        case(
            &[
                "train",
                "--dataset",
                &p("study/study.toml"),
                "--test",
                &p("good_test.npz"),
                "--checkpoint",
                &p("never.st"),
            ],
            &[
                "good_test.npz",
                "the test set of a study is a study manifest too",
            ],
        ),
        case(
            &[
                "predict",
                "--checkpoint",
                &p("study.st"),
                "--input",
                &p("study_missing_feature/study.toml"),
                "--out",
                &p("pred-study.csv"),
            ],
            &["rna.csv", "modality `rna`: feature `g2` is missing"],
        ),
        case(
            &[
                "predict",
                "--checkpoint",
                &p("m.st"),
                "--input",
                &p("study/study.toml"),
                "--out",
                &p("pred-study.csv"),
            ],
            &["trained on data without feature names"],
        ),
    ];
    // Destinations that cannot be written: a folder that does not exist, a file used as a folder,
    // and /proc (not writable even by root). Nothing may be left behind.
    for dest in [
        p("no_such_dir/out"),
        p("a_file/out"),
        "/proc/ssmvae-hostile-out".to_string(),
    ] {
        // (flags before the output flag, output flag, extension)
        let writers: [(Vec<String>, &str, &str); 4] = [
            (vec!["data".into()], "--out", "npz"),
            (
                vec!["export".into(), "--checkpoint".into(), p("m.st")],
                "--out",
                "ssmv",
            ),
            (
                vec!["eval".into(), "--checkpoint".into(), p("m.st")],
                "--metrics-out",
                "json",
            ),
            (
                vec![
                    "train".into(),
                    "--dataset".into(),
                    p("good.npz"),
                    "--test".into(),
                    p("good_test.npz"),
                    "--checkpoint".into(),
                    p("never.st"),
                ],
                "--metrics-out",
                "json",
            ),
        ];
        for (mut args, flag, ext) in writers {
            let out = format!("{dest}.{ext}");
            args.extend([flag.to_string(), out.clone()]);
            let says: &'static str = match ext {
                "npz" => "out.npz",
                "ssmv" => "out.ssmv",
                _ => "out.json",
            };
            v.push(Case {
                args,
                says: vec!["cannot write", says],
                leaves_no: vec![out, p("never.st")],
            });
        }
    }
    for dest in [
        p("a_file/out.st"),
        "/proc/ssmvae-hostile-out.st".to_string(),
    ] {
        let mut c = case(
            &[
                "train",
                "--dataset",
                &p("good.npz"),
                "--test",
                &p("good_test.npz"),
                "--checkpoint",
                &dest,
            ],
            &["cannot write", "out.st"],
        );
        c.leaves_no.push(dest);
        v.push(c);
    }
    v
}

/// What every failure must look like; returns a description of what is wrong, if anything.
fn check(c: &Case, out: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.success() {
        problems.push("exited 0".to_string());
    }
    for bad in ["panicked", "stack backtrace", "frame #", "RUST_BACKTRACE"] {
        if stderr.contains(bad) {
            problems.push(format!("stderr contains `{bad}`"));
        }
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    match lines.last() {
        Some(last) if last.starts_with("error:") => {}
        _ => problems.push("last stderr line is not `error: …`".into()),
    }
    for want in &c.says {
        if !stderr.contains(want) {
            problems.push(format!("message lacks `{want}`"));
        }
    }
    for path in &c.leaves_no {
        if Path::new(path).exists() {
            problems.push(format!("left {path} behind"));
        }
        let dir = Path::new(path)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.contains(".tmp") {
                    problems.push(format!("left temporary {name} behind"));
                }
            }
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "ssmvae {}\n  {}\n  stderr: {stderr}",
            c.args.join(" "),
            problems.join("; ")
        )
    })
}

#[test]
fn hostile_inputs_fail_cleanly() {
    let f = fixtures();
    let all = cases(&f);
    assert!(all.len() >= 40, "the suite has {} cases", all.len());
    let failures: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<&[Case]> = all.chunks(all.len().div_ceil(4)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|c| check(c, &ssmvae(&c.args)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// `ssmvae export` on a missing checkpoint says the OS error once, not twice.
#[test]
fn a_missing_checkpoint_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("nope.st");
    let out = ssmvae(&[
        "export".into(),
        "--checkpoint".into(),
        ck.to_str().unwrap().into(),
        "--out".into(),
        dir.path().join("b.ssmv").to_str().unwrap().into(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A device that lost a sensor: `predict` on inputs without modality `b` predicts from `a` alone.
#[test]
fn predict_treats_an_absent_modality_as_missing_for_every_row() {
    let f = fixtures();
    npz(
        &f.dir.path().join("only_a.npz"),
        vec![("a", Arr::F32(values(5, 3, 5.0)))],
    );
    let out_path = f.p("pred.npz");
    let out = ssmvae(&[
        "predict".into(),
        "--checkpoint".into(),
        f.p("m.st"),
        "--input".into(),
        f.p("only_a.npz"),
        "--out".into(),
        out_path.clone(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(&out_path).unwrap()).unwrap();
    let probs: Array2<f32> = r.by_name("probs").unwrap();
    assert_eq!(probs.dim(), (5, 2));
    for row in probs.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5, "{row}");
    }
    // The same as giving `b` explicitly as missing for every row.
    npz(
        &f.dir.path().join("b_masked.npz"),
        vec![
            ("a", Arr::F32(values(5, 3, 5.0))),
            ("b", Arr::F32(Array2::zeros((5, 2)))),
            ("mask_b", Arr::Bool(Array1::from_elem(5, false))),
        ],
    );
    let out2 = f.p("pred2.npz");
    let o = ssmvae(&[
        "predict".into(),
        "--checkpoint".into(),
        f.p("m.st"),
        "--input".into(),
        f.p("b_masked.npz"),
        "--out".into(),
        out2.clone(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(&out2).unwrap()).unwrap();
    let probs2: Array2<f32> = r.by_name("probs").unwrap();
    assert_eq!(probs, probs2);
}

/// Without `--checkpoint`, a run keeps its checkpoint in its own folder under `runs/`, not in
/// whatever folder the user stands in.
#[test]
fn the_default_checkpoint_goes_to_a_run_folder() {
    let f = fixtures();
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ssmvae"))
        .args([
            "train",
            "--dataset",
            &f.p("good.npz"),
            "--test",
            &f.p("good_test.npz"),
            "--rho",
            "1",
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--latent-dim",
            "2",
            "--seed",
            "3",
            "-q",
        ])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top: Vec<String> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, ["runs"]);
    assert!(cwd
        .path()
        .join("runs/good-ssmvae-seed3/checkpoint.safetensors")
        .is_file());
}
