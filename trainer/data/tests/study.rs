//! Study manifests (issue 33): alignment by sample id, layouts, missing modalities, names, and a
//! one-line error for each malformed input the issue lists.

use ssmvae_data::study::{read_study, split_fields, Labels, StudySchema};
use std::io::Write;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn write_gz(dir: &Path, name: &str, text: &str) {
    let f = std::fs::File::create(dir.join(name)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

const MANIFEST: &str = r#"
labels = "labels.csv"
[modalities]
rna = "rna.csv"
prot = "prot.tsv"
meth = { path = "meth.tsv.gz", samples_in = "columns" }
"#;

/// A study of five samples: `rna` holds all five, `prot` lacks s4, `meth` (omics layout) lacks s2;
/// s5 is unlabeled. `rows` reverses the row order of every file when true.
fn study(dir: &Path, reversed: bool) {
    let order = |mut v: Vec<&str>| {
        if reversed {
            v.reverse();
        }
        v.join("\n") + "\n"
    };
    write(dir, "study.toml", MANIFEST);
    write(
        dir,
        "labels.csv",
        &("id,subtype\n".to_string()
            + &order(vec!["s1,LumA", "s2,Basal", "s3,LumA", "s4,Her2", "s5,"])),
    );
    write(
        dir,
        "rna.csv",
        &("id,g1,g2\n".to_string()
            + &order(vec!["s1,1,2", "s2,3,4", "s3,5,6", "s4,7,8", "s5,9,10"])),
    );
    write(
        dir,
        "prot.tsv",
        &("id\tp1\n".to_string() + &order(vec!["s5\t0.5", "s1\t0.1", "s2\t0.2", "s3\t0.3"])),
    );
    // Omics layout: features in rows, samples in columns (s2 absent).
    let header = if reversed {
        "feature\ts5\ts4\ts3\ts1\n"
    } else {
        "feature\ts1\ts3\ts4\ts5\n"
    };
    let rows = if reversed {
        "m2\t-5\t-4\t-3\t-1\nm1\t50\t40\t30\t10\n"
    } else {
        "m1\t10\t30\t40\t50\nm2\t-1\t-3\t-4\t-5\n"
    };
    write_gz(dir, "meth.tsv.gz", &(header.to_string() + rows));
}

#[test]
fn a_study_is_aligned_by_id_whatever_the_row_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    study(a.path(), false);
    study(b.path(), true);
    let sa = read_study(&a.path().join("study.toml"), None, Labels::Required).unwrap();
    let sb = read_study(&b.path().join("study.toml"), None, Labels::Required).unwrap();
    assert_eq!(sa.sample_ids, ["s1", "s2", "s3", "s4", "s5"]);
    assert_eq!(sa.dataset.class_names(), ["Basal", "Her2", "LumA"]);
    assert_eq!(
        sa.dataset.labels(),
        [Some(2), Some(0), Some(2), Some(1), None]
    );
    assert_eq!(sa.dataset.modality_names(), ["meth", "prot", "rna"]);
    let meth = &sa.dataset.modalities()[0];
    assert_eq!(meth.feature_names(), ["m1", "m2"]);
    assert_eq!(meth.present(), [true, false, true, true, true]);
    assert_eq!(meth.data().row(3).to_vec(), [40.0, -4.0]);
    let prot = &sa.dataset.modalities()[1];
    assert_eq!(prot.present(), [true, true, true, false, true]);
    assert_eq!(prot.data().row(4).to_vec(), [0.5]);
    // The reversed files give the same dataset, value for value (m1/m2 in file order differ, so
    // the reversed study's meth features come as m2, m1).
    assert_eq!(sb.sample_ids, sa.sample_ids);
    assert_eq!(sb.dataset.labels(), sa.dataset.labels());
    for j in 1..3 {
        assert_eq!(
            sb.dataset.modalities()[j].data(),
            sa.dataset.modalities()[j].data()
        );
        assert_eq!(
            sb.dataset.modalities()[j].present(),
            sa.dataset.modalities()[j].present()
        );
    }
    assert_eq!(sb.dataset.modalities()[0].feature_names(), ["m2", "m1"]);
}

#[test]
fn a_schema_matches_features_by_name_and_completes_modalities() {
    let d = tempfile::tempdir().unwrap();
    study(d.path(), true);
    let schema = StudySchema {
        class_names: vec![
            "Basal".into(),
            "Her2".into(),
            "LumA".into(),
            "Normal".into(),
        ],
        modalities: vec![
            ("meth".into(), vec!["m1".into(), "m2".into()]),
            ("prot".into(), vec!["p1".into()]),
            ("rna".into(), vec!["g2".into(), "g1".into()]),
            ("cnv".into(), vec!["c1".into(), "c2".into(), "c3".into()]),
        ],
    };
    let s = read_study(
        &d.path().join("study.toml"),
        Some(&schema),
        Labels::Required,
    )
    .unwrap();
    let names = s.dataset.modality_names();
    assert_eq!(names, ["meth", "prot", "rna", "cnv"]);
    assert_eq!(
        s.dataset.modalities()[0].data().row(0).to_vec(),
        [10.0, -1.0]
    );
    assert_eq!(s.dataset.modalities()[2].data().row(0).to_vec(), [2.0, 1.0]);
    assert_eq!(s.dataset.modalities()[3].dim(), 3);
    assert!(s.dataset.modalities()[3].present().iter().all(|p| !p));
    assert_eq!(s.dataset.num_classes(), 4);
    // Prediction inputs ignore the labels entirely.
    let p = read_study(&d.path().join("study.toml"), Some(&schema), Labels::Ignored).unwrap();
    assert!(p.dataset.labels().iter().all(Option::is_none));
}

/// Builds the good study, applies `edit` to one file, and returns the error's text.
fn error_after(file: &str, text: &str, schema: Option<&StudySchema>) -> String {
    let d = tempfile::tempdir().unwrap();
    study(d.path(), false);
    write(d.path(), file, text);
    let e = read_study(&d.path().join("study.toml"), schema, Labels::Required)
        .expect_err("a malformed study is refused");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    msg
}

#[test]
fn every_malformed_study_gets_a_one_line_error_naming_file_line_and_id() {
    let cases: Vec<(&str, &str, &[&str])> = vec![
        ("rna.csv", "id,g1,g2\ns1,1,2\ns2,3,4\ns1,5,6\n", &["rna.csv, line 4", "`s1` appears twice"]),
        ("labels.csv", "id,c\ns1,LumA\ns9,LumA\n", &["labels.csv, line 3", "`s9`", "no modality file"]),
        ("rna.csv", "id,g1,g2\ns1,1,2\ns2,3\n", &["rna.csv, line 3", "`s2`", "2 cells", "3"]),
        ("rna.csv", "id,g1,g2\ns1,1,2\ns2,3,abc\n", &["rna.csv, line 3", "`s2`", "`g2`", "`abc`"]),
        ("rna.csv", "id,g1,g2\ns1,1,2\ns2,3,\n", &["line 3", "`s2`", "not a finite number"]),
        ("rna.csv", "id,g1,g2\ns1,1,nan\n", &["line 2", "not a finite number"]),
        // Found by the fuzz target: finite as f64, infinite as the f32 it is stored as.
        ("rna.csv", "id,g1,g2\ns1,1,1e39\n", &["line 2", "`1e39` is not a finite number"]),
        ("prot.tsv", "id\tp1\nx1\t1\nx2\t2\n", &["prot.tsv", "shares no sample id", "labels.csv"]),
        ("rna.csv", "id,g1,g1\ns1,1,2\n", &["rna.csv, line 1", "feature name `g1` appears twice"]),
        ("rna.csv", "id,g1,g2,\ns1,1,2,\n", &["rna.csv, line 1", "an empty feature name"]),
        ("rna.csv", "", &["rna.csv", "empty file"]),
        ("rna.csv", "id,g1\n\"s1,1\n", &["line 2", "quoted field"]),
        ("labels.csv", "id,c,extra\ns1,LumA,x\n", &["labels.csv, line 2", "3 cells"]),
        ("study.toml", "labels = \"labels.csv\"\n", &["study.toml", "no modality"]),
        ("study.toml", "label = \"labels.csv\"\n[modalities]\nrna = \"rna.csv\"\n", &["study.toml", "unknown key `label`"]),
        ("study.toml", "labels = \"labels.csv\"\n[modalities]\nrna = { path = \"rna.csv\", samples_in = \"diagonal\" }\n", &["samples_in"]),
        ("study.toml", "[modalities]\nrna = \"rna.csv\"\n", &["study.toml", "no `labels`"]),
        ("study.toml", "labels = \"labels.csv\"\n[modalities]\nrna = \"nowhere.csv\"\n", &["nowhere.csv"]),
    ];
    for (file, text, wanted) in cases {
        let msg = error_after(file, text, None);
        for w in wanted {
            assert!(msg.contains(w), "{file}: `{w}` not in `{msg}`");
        }
    }
}

#[test]
fn a_test_study_must_use_the_trained_classes_and_features() {
    let schema = StudySchema {
        class_names: vec!["Basal".into(), "LumA".into()],
        modalities: vec![
            ("meth".into(), vec!["m1".into(), "m2".into()]),
            ("prot".into(), vec!["p1".into()]),
            ("rna".into(), vec!["g1".into(), "g2".into()]),
        ],
    };
    let msg = error_after("labels.csv", "id,c\ns1,LumA\ns4,Her2\n", Some(&schema));
    for w in [
        "labels.csv, line 3",
        "`s4`",
        "class `Her2` was never seen in training",
    ] {
        assert!(msg.contains(w), "`{w}` not in `{msg}`");
    }
    let schema = StudySchema {
        class_names: vec!["Basal".into(), "Her2".into(), "LumA".into()],
        ..schema
    };
    let msg = error_after("rna.csv", "id,g1,g3\ns1,1,2\n", Some(&schema));
    assert!(msg.contains("feature `g3` was not trained on"), "{msg}");
    let msg = error_after("rna.csv", "id,g1\ns1,1\n", Some(&schema));
    assert!(msg.contains("feature `g2` is missing"), "{msg}");
    let narrow = StudySchema {
        modalities: schema.modalities[1..].to_vec(),
        ..schema.clone()
    };
    let msg = error_after("labels.csv", "id,c\ns1,LumA\n", Some(&narrow));
    assert!(msg.contains("modality `meth` was not trained on"), "{msg}");
}

#[test]
fn fields_follow_rfc_4180_quotes() {
    assert_eq!(
        split_fields(" a , \"b,c\" ,\"d\"\"e\"", ',').unwrap(),
        ["a", "b,c", "d\"e"]
    );
    assert_eq!(split_fields("a\t\tb", '\t').unwrap(), ["a", "", "b"]);
    assert!(split_fields("\"a\" x,b", ',').is_err());
}
