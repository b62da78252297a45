//! Issue 33's end-to-end path, as a user with a CSV study walks it: the fixture study
//! (`fixtures/study`: a samples-in-rows table in shuffled order, one in the omics layout, one
//! lacking a fifth of the samples, class names as strings) → `train` → `predict` to a CSV with
//! sample ids and class names → `export` → `inspect` naming modalities and classes → a C program
//! (`runtime/capi/examples/c/classify.c`) printing each sample's class name from the bundle.
//!
//! `a_csv_study_trains_predicts_exports_and_names_its_classes_down_to_c` is over 120 lines on
//! purpose: one user's path from tables to a C program, each step reading what the step before
//! wrote.

use std::path::{Path, PathBuf};
use std::process::Command;
use trainer::data::study::{read_study, Labels};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ssmvae(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ssmvae"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ssmvae");
    assert!(
        out.status.success(),
        "ssmvae {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The C API's static library of this build: beside the test binary's folder (`cargo test
/// --workspace` builds it), else built now with the same profile.
fn static_lib() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let profile_dir = deps.parent().unwrap().to_path_buf();
    let found = || {
        [
            deps.join("libssmvae_capi.a"),
            profile_dir.join("libssmvae_capi.a"),
        ]
        .into_iter()
        .find(|p| p.exists())
    };
    if let Some(p) = found() {
        return p;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "ssmvae-capi"])
        .current_dir(root());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success(), "building ssmvae-capi");
    found().expect("libssmvae_capi.a after building ssmvae-capi")
}

#[test]
fn a_csv_study_trains_predicts_exports_and_names_its_classes_down_to_c() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let train = "fixtures/study/train/study.toml";
    let test = "fixtures/study/test/study.toml";
    ssmvae(&[
        "train",
        "--dataset",
        train,
        "--test",
        test,
        "--epochs",
        "4",
        "--threads",
        "1",
        "--checkpoint",
        &t("m.st"),
        "--no-progress",
        "-q",
    ]);

    // predict: a CSV keyed by the test study's sample ids, with class-named columns.
    ssmvae(&[
        "predict",
        "--checkpoint",
        &t("m.st"),
        "--input",
        test,
        "--out",
        &t("p.csv"),
    ]);
    let csv = std::fs::read_to_string(t("p.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let names = [
        "eight", "five", "four", "nine", "one", "seven", "six", "three", "two", "zero",
    ];
    assert_eq!(header[..2], ["sample", "predicted"]);
    assert_eq!(
        header[2..12],
        names,
        "classes in sorted order of their names"
    );
    assert_eq!(header[12], "modalities");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let study = read_study(&root().join(test), None, Labels::Required).unwrap();
    assert_eq!(rows.len(), study.sample_ids.len());
    let zer = study
        .dataset
        .modality_names()
        .iter()
        .position(|n| n == "zer")
        .unwrap();
    for (r, row) in rows.iter().enumerate() {
        assert_eq!(row[0], study.sample_ids[r]);
        assert!(names.contains(&row[1]), "{}", row[1]);
        let p: f64 = row[2..12].iter().map(|v| v.parse::<f64>().unwrap()).sum();
        assert!((p - 1.0).abs() < 1e-4, "row {r} sums to {p}");
        let used = if study.dataset.modalities()[zer].present()[r] {
            "fou+kar+zer"
        } else {
            "fou+kar"
        };
        assert_eq!(row[12], used, "row {r}");
    }
    assert!(
        rows.iter().any(|r| r[12] == "fou+kar"),
        "the fixture lacks some zer rows"
    );
    let correct = rows
        .iter()
        .enumerate()
        .filter(|(r, row)| {
            let y = study.dataset.labels()[*r].unwrap();
            study.dataset.class_names()[y] == row[1]
        })
        .count();
    assert!(
        correct * 10 > rows.len() * 6,
        "{correct} of {} right",
        rows.len()
    );

    // export and inspect: the names travel in the bundle.
    ssmvae(&["export", "--checkpoint", &t("m.st"), "--out", &t("m.ssmv")]);
    let inspect = ssmvae(&["inspect", &t("m.ssmv")]);
    for m in ["fou", "kar", "zer"] {
        assert!(inspect.contains(m), "{inspect}");
    }
    assert!(
        inspect.contains(&format!("classes (10): {}", names.join(", "))),
        "{inspect}"
    );

    // A C program names each prediction from the bundle; it agrees with `predict`.
    let lib = static_lib();
    let exe = t("classify");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let capi = root().join("runtime/capi");
    let status = Command::new(&cc)
        .args(["-O1", "-Wall", "-Werror", "-I"])
        .arg(capi.join("include"))
        .arg(capi.join("examples/c/classify.c"))
        .arg(&lib)
        .args(["-lm", "-lpthread", "-ldl", "-o", &exe])
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling classify.c");
    let n = 25;
    let mut input = format!("{n}\n");
    for r in 0..n {
        for m in study.dataset.modalities() {
            if m.present()[r] {
                let v: Vec<String> = m.data().row(r).iter().map(|x| x.to_string()).collect();
                input.push_str(&v.join(" "));
            } else {
                input.push('-');
            }
            input.push('\n');
        }
    }
    std::fs::write(t("inputs.txt"), input).unwrap();
    let out = Command::new(&exe)
        .args([&t("m.ssmv"), &t("inputs.txt")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("modalities: fou kar zer"));
    for (r, line) in lines.enumerate() {
        let class = line.split(' ').next().unwrap();
        assert_eq!(class, rows[r][1], "sample {}: C says {line}", rows[r][0]);
    }
    assert_eq!(text.lines().count(), n + 1);
}
