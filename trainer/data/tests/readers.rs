//! Readers against the real files in shared/data (their READMEs give the shapes and per-class
//! counts pinned here) and against small fixtures written by NumPy/SciPy
//! (`fixtures/formats/make_fixtures.py`), so no reader is only tested against our own writer.

use ssmvae_data::csv::{read_mfeat, read_mogonet};
use ssmvae_data::mat::read_svhn;
use ssmvae_data::npz::read_npz_dataset;
use ssmvae_data::source::{read_idx_pair, DatasetName};
use ssmvae_data::testing::shared_data;
use ssmvae_data::{ModalityKind, MultimodalDataset};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn counts(ds: &MultimodalDataset) -> Vec<usize> {
    ds.labeled_counts()
}

#[test]
fn mnist_matches_its_readme() {
    let Some(data) = shared_data("mnist_matches_its_readme") else {
        return;
    };
    let (train, test) = read_idx_pair(
        &DatasetName::MnistFashion,
        &data.join("MNIST/raw"),
        "mnist",
        (0..10).map(|c| c.to_string()).collect(),
    )
    .unwrap();
    assert_eq!(train.modalities()[0].data().dim(), (60000, 784));
    assert_eq!(test.modalities()[0].data().dim(), (10000, 784));
    assert_eq!(
        counts(&train),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        counts(&test),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let max = train.modalities()[0]
        .data()
        .iter()
        .fold(0f32, |a, &b| a.max(b));
    assert_eq!(max, 255.0, "raw intensities are kept 0..=255");
    assert_eq!(train.modalities()[0].kind(), ModalityKind::Pixels);
}

#[test]
fn fashion_mnist_matches_its_readme() {
    let Some(data) = shared_data("fashion_mnist_matches_its_readme") else {
        return;
    };
    let (train, test) = read_idx_pair(
        &DatasetName::MnistFashion,
        &data.join("FashionMNIST/raw"),
        "fashion",
        (0..10).map(|c| c.to_string()).collect(),
    )
    .unwrap();
    assert_eq!(train.modalities()[0].data().dim(), (60000, 784));
    assert_eq!(counts(&train), [6000; 10]);
    assert_eq!(counts(&test), [1000; 10]);
}

#[test]
fn mfeat_matches_its_readme() {
    let Some(data) = shared_data("mfeat_matches_its_readme") else {
        return;
    };
    let ds = read_mfeat(&data.join("UCI_mfeat")).unwrap();
    check_mfeat(&ds);
}

#[test]
fn embedded_mfeat_fixture_matches_the_readme() {
    check_mfeat(&read_mfeat(&fixtures().join("data/UCI_mfeat")).unwrap());
}

fn check_mfeat(ds: &MultimodalDataset) {
    assert_eq!(ds.len(), 2000);
    let dims: Vec<(String, usize)> = ds
        .modalities()
        .iter()
        .map(|m| (m.name().to_string(), m.dim()))
        .collect();
    let want = [
        ("fac", 216),
        ("fou", 76),
        ("kar", 64),
        ("mor", 6),
        ("pix", 240),
        ("zer", 47),
    ];
    assert_eq!(dims, want.map(|(n, d)| (n.to_string(), d)));
    assert_eq!(counts(ds), [200; 10]);
    // Rows are ordered by class: the first 200 are class 0.
    assert!(ds.labels()[..200].iter().all(|y| *y == Some(0)));
    assert_eq!(ds.labels()[1999], Some(9));
}

#[test]
fn rosmap_matches_its_readme() {
    let Some(data) = shared_data("rosmap_matches_its_readme") else {
        return;
    };
    let (train, test) = read_mogonet(&data.join("MOGONET/ROSMAP"), None).unwrap();
    assert_eq!(train.modality_names(), ["1", "2", "3"]);
    for m in train.modalities() {
        assert_eq!(m.data().dim(), (245, 200));
    }
    for m in test.modalities() {
        assert_eq!(m.data().dim(), (106, 200));
    }
    assert_eq!(counts(&train), [118, 127]);
    assert_eq!(counts(&test), [51, 55]);
    // Features are min-max scaled to [0, 1] upstream.
    let (lo, hi) = train.modalities()[0]
        .data()
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    assert!(lo >= 0.0 && hi <= 1.0 && hi > lo);
}

/// SVHN is not on this machine. `fixtures/formats/svhn_tiny*.mat` were written by
/// `scipy.io.savemat` (compressed and plain) from a seeded 32×32×3×5 uint8 `X` and
/// `y = [1, 10, 3, 10, 7]`; `svhn_tiny_expected.txt` holds X[4,7,2,1], X[0,0,0,0] and
/// X[31,31,2,4] as SciPy indexed them (see `make_fixtures.py`).
#[test]
fn svhn_reader_on_scipy_written_fixtures() {
    let expected: Vec<f32> =
        std::fs::read_to_string(fixtures().join("formats/svhn_tiny_expected.txt"))
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
    for file in ["svhn_tiny.mat", "svhn_tiny_plain.mat"] {
        let ds = read_svhn(&fixtures().join("formats").join(file), "svhn").unwrap();
        let x = ds.modalities()[0].data();
        assert_eq!(x.dim(), (5, 3072), "{file}");
        // Label 10 means digit 0.
        assert_eq!(
            ds.labels(),
            [Some(1), Some(0), Some(3), Some(0), Some(7)],
            "{file}"
        );
        // Channel-major: feature c·1024 + h·32 + w holds X[h, w, c, i].
        assert_eq!(x[[1, 2 * 1024 + 4 * 32 + 7]], expected[0], "{file}");
        assert_eq!(x[[0, 0]], expected[1], "{file}");
        assert_eq!(x[[4, 3071]], expected[2], "{file}");
    }
}

#[test]
fn numpy_dataset_with_unlabeled_rows_masks_and_dtypes() {
    for file in ["tiny_dataset.npz", "tiny_dataset_compressed.npz"] {
        let ds = read_npz_dataset(&fixtures().join("formats").join(file), "", None, true).unwrap();
        assert_eq!(ds.modality_names(), ["a", "b"]);
        assert_eq!(ds.modalities()[0].kind(), ModalityKind::Tabular);
        assert_eq!(
            ds.modalities()[1].kind(),
            ModalityKind::Pixels,
            "uint8 means pixels"
        );
        assert_eq!(
            ds.labels(),
            [Some(0), Some(1), None, Some(2), None, Some(1)]
        );
        assert_eq!(ds.num_classes(), 3);
        let a = &ds.modalities()[0];
        assert_eq!(a.present(), [true, true, false, true, true, true]);
        // The NaN row is declared missing: accepted and zeroed, never passed on.
        assert!(a.data().row(2).iter().all(|&v| v == 0.0));
        assert_eq!(ds.modalities()[1].data()[[0, 2]], 197.0);
    }
}
