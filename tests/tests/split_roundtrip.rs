//! A split written with `write_split_npz` and read back as a dataset is the same split: every raw
//! value, mask, label and true label, and the same fitted transforms. This is the path by which a
//! user hands a split to another tool and back.

use std::path::Path;
use trainer::data::source::{load, DatasetName};
use trainer::protocol::{build_split, write_split_npz, Missing, Protocol};

#[test]
fn written_split_reads_back_identical() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data");
    let p = Protocol {
        n_max: Some(140),
        seed: 9,
        missing: Missing::Half,
        ..Protocol::default()
    };
    let split = build_split(load(&DatasetName::Mfeat, &data, None).unwrap(), &p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("split.npz");
    write_split_npz(&split, &file).unwrap();

    let name = DatasetName::Npz(file.clone());
    let back = build_split(load(&name, &data, None).unwrap(), &Protocol::default()).unwrap();
    assert!(!back.protocol_applied, "a ready split is taken as given");
    assert_eq!(back.train.labels(), split.train.labels());
    assert_eq!(back.train_true_labels, split.train_true_labels);
    assert_eq!(back.test.labels(), split.test.labels());
    for (a, b) in split.train.modalities().iter().zip(back.train.modalities()) {
        assert_eq!(a.name(), b.name());
        assert_eq!(a.data(), b.data(), "{}", a.name());
        assert_eq!(a.present(), b.present(), "{}", a.name());
    }
    for (a, b) in split.test.modalities().iter().zip(back.test.modalities()) {
        assert_eq!(a.data(), b.data(), "{}", a.name());
    }
    assert_eq!(back.transforms, split.transforms);
}
