//! Bad input gets a typed error naming the file and, where it applies, the row and column —
//! never a panic. One test per kind of damage the data issue lists.

use ssmvae_data::csv::read_mogonet;
use ssmvae_data::idx::{read_idx_dataset, read_idx_images};
use ssmvae_data::npz::read_npz_dataset;
use ssmvae_data::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

/// A MOGONET folder with one view whose training file is `view1`, and 3 samples.
fn mogonet(dir: &Path, view1: &str, labels: &str) {
    write(dir, "1_tr.csv", view1.as_bytes());
    write(dir, "1_te.csv", b"1,2,3\n");
    write(dir, "labels_tr.csv", labels.as_bytes());
    write(dir, "labels_te.csv", b"0\n");
}

#[test]
fn ragged_csv_row() {
    let dir = tempfile::tempdir().unwrap();
    mogonet(dir.path(), "1,2,3\n4,5\n7,8,9\n", "0\n1\n0\n");
    let err = read_mogonet(dir.path(), None).unwrap_err();
    assert!(
        matches!(&err, Error::RaggedRow { file, row: 2, expected: 3, found: 2 } if file.ends_with("1_tr.csv")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("1_tr.csv: row 2 has 2 fields, expected 3"),
        "{err}"
    );
}

#[test]
fn nan_in_a_view() {
    let dir = tempfile::tempdir().unwrap();
    mogonet(dir.path(), "1,2,3\n4,nan,6\n7,8,9\n", "0\n1\n0\n");
    let err = read_mogonet(dir.path(), None).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { row: 2, col: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("1_tr.csv: row 2, column 2 is not finite"),
        "{err}"
    );
}

#[test]
fn nan_in_an_observed_npz_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nan.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&p).unwrap());
    npz.add_array("x", &ndarray::array![[1.0f32, 2.0], [3.0, f32::NAN]])
        .unwrap();
    npz.add_array("labels", &ndarray::array![0i64, 1]).unwrap();
    npz.finish().unwrap();
    let err = read_npz_dataset(&p, "", None, true).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { row: 2, col: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("nan.npz: x: row 2, column 2"),
        "{err}"
    );
}

#[test]
fn label_outside_the_classes() {
    let dir = tempfile::tempdir().unwrap();
    mogonet(dir.path(), "1,2,3\n4,5,6\n7,8,9\n", "0\n2\n1\n");
    let err = read_mogonet(dir.path(), Some(vec!["NC".into(), "AD".into()])).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::LabelOutOfRange {
                row: 2,
                label: 2,
                classes: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("labels_tr.csv: row 2: label 2 is outside 0..2"),
        "{err}"
    );
}

#[test]
fn negative_label_in_npz_other_than_unlabeled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("neg.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&p).unwrap());
    npz.add_array("x", &ndarray::array![[1.0f32], [2.0], [3.0]])
        .unwrap();
    npz.add_array("labels", &ndarray::array![0i64, -1, -3])
        .unwrap();
    npz.finish().unwrap();
    let err = read_npz_dataset(&p, "", None, true).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::LabelOutOfRange {
                row: 3,
                label: -3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn npz_modalities_disagree_on_row_count() {
    // Written by NumPy (fixtures/formats/make_fixtures.py): a is 4×2, b is 5×2, 4 labels.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/formats/bad_rows.npz");
    let err = read_npz_dataset(&p, "", None, true).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::RowCountMismatch {
                expected: 4,
                found: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("bad_rows.npz: b: 5 rows, but 4 expected"),
        "{err}"
    );
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

#[test]
fn truncated_idx_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_header(0x803, &[3, 2, 2]);
    bytes.extend_from_slice(&[7; 10]); // 12 needed
    let p = write(dir.path(), "images-idx3-ubyte", &bytes);
    let err = read_idx_images(&p).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Truncated {
                expected: 28,
                found: 26,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("images-idx3-ubyte: truncated"),
        "{err}"
    );

    // A gzip stream cut short is reported too, naming the file.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut full = idx_header(0x803, &[3, 2, 2]);
    full.extend_from_slice(&[7; 12]);
    gz.write_all(&full).unwrap();
    let gz = gz.finish().unwrap();
    let p = write(dir.path(), "cut.gz", &gz[..gz.len() - 6]);
    let err = read_idx_images(&p).unwrap_err();
    assert!(err.to_string().contains("cut.gz"), "{err}");
}

#[test]
fn wrong_idx_magic() {
    let dir = tempfile::tempdir().unwrap();
    let mut images = idx_header(0x803, &[1, 1, 1]);
    images.push(9);
    let img = write(dir.path(), "img", &images);
    // A label file given where images are expected, and vice versa.
    let mut labels = idx_header(0x801, &[1]);
    labels.push(0);
    let lab = write(dir.path(), "lab", &labels);
    let err = read_idx_images(&lab).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::BadIdxMagic {
                expected: 0x803,
                found: 0x801,
                ..
            }
        ),
        "{err:?}"
    );
    let err = read_idx_dataset(&img, &img, "m", vec!["a".into()]).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::BadIdxMagic {
                expected: 0x801,
                found: 0x803,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("bad IDX magic number 0x00000803"),
        "{err}"
    );
}

#[test]
fn unknown_dataset_name_and_missing_folder() {
    use ssmvae_data::source::{load, DatasetName};
    assert!(matches!(
        "mnist-svhm".parse::<DatasetName>(),
        Err(Error::UnknownDataset(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let err = load(&DatasetName::Rosmap, dir.path(), None).unwrap_err();
    assert!(matches!(&err, Error::DatasetNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("MOGONET/ROSMAP"), "{err}");
}
