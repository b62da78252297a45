//! The protocol: class sizes and labeled counts, seeding, pairing, noisy views, missing modalities.

use std::path::{Path, PathBuf};
use trainer::data::source::{load, DatasetName};
use trainer::protocol::{
    build_split, labeled_counts, long_tail_sizes, Missing, Protocol, Split, UnlabeledProfile,
};
use trainer::testing::shared_data;
use trainer::{DataError, Error};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")
}

fn split(name: &str, dir: &Path, p: &Protocol) -> Split {
    let name: DatasetName = name.parse().unwrap();
    build_split(load(&name, dir, None).unwrap(), p).unwrap()
}

/// Labeled + unlabeled training samples per class.
fn class_sizes(s: &Split) -> Vec<usize> {
    s.labeled_counts()
        .iter()
        .zip(s.unlabeled_counts())
        .map(|(l, u)| l + u)
        .collect()
}

fn mfeat(seed: u64) -> Split {
    let p = Protocol {
        n_max: Some(140),
        seed,
        ..Protocol::default()
    };
    split("mfeat", &fixture_dir(), &p)
}

#[test]
fn paper_class_sizes_and_labeled_counts() {
    let sizes = long_tail_sizes(4500, 100.0, 10).unwrap();
    assert_eq!(sizes, [4500, 2697, 1617, 969, 581, 348, 208, 125, 75, 45]);
    assert_eq!(
        labeled_counts(&sizes, 0.1).unwrap(),
        [450, 270, 162, 97, 58, 35, 21, 13, 8, 5]
    );
    // mfeat at rho 10: n_9 = 140/10 = 14 exactly, which the +1e-9 keeps from flooring to 13.
    assert_eq!(long_tail_sizes(140, 10.0, 10).unwrap()[9], 14);
    // ROSMAP (K = 2) at rho 2: 118 and 59.
    assert_eq!(long_tail_sizes(118, 2.0, 2).unwrap(), [118, 59]);
}

#[test]
fn labeled_counts_round_half_away_from_zero_and_keep_one() {
    assert_eq!(labeled_counts(&[3, 5, 1, 4], 0.5).unwrap(), [2, 3, 1, 2]);
    assert_eq!(
        labeled_counts(&[14, 4], 0.1).unwrap(),
        [1, 1],
        "at least one labeled per class"
    );
    assert_eq!(labeled_counts(&[10], 1.0).unwrap(), [10]);
}

#[test]
fn beta_is_a_fraction_and_rho_at_least_one() {
    let err = labeled_counts(&[10], 10.0).unwrap_err();
    assert!(matches!(
        err,
        Error::Data(DataError::InvalidParameter { name: "--beta", .. })
    ));
    assert!(err.to_string().contains("did you mean 0.1"), "{err}");
    assert!(labeled_counts(&[10], 0.0).is_err());
    assert!(long_tail_sizes(100, 0.5, 10).is_err());
    assert!(
        long_tail_sizes(5, 100.0, 10).is_err(),
        "n_max 5 at rho 100 leaves classes empty"
    );
}

#[test]
fn mfeat_split_follows_the_protocol() {
    let s = mfeat(0);
    let sizes = long_tail_sizes(140, 10.0, 10).unwrap();
    let total = class_sizes(&s);
    assert_eq!(total, sizes);
    assert_eq!(s.labeled_counts(), labeled_counts(&sizes, 0.1).unwrap());
    assert_eq!(
        s.test_counts(),
        [60; 10],
        "stratified 70/30 of 200 per class"
    );
    assert_eq!(
        s.train.modality_names(),
        ["fac", "fou", "kar", "mor", "pix", "zer"]
    );
    assert!(s.protocol_applied);
}

fn same(a: &Split, b: &Split) -> bool {
    a.train.labels() == b.train.labels()
        && a.train_true_labels == b.train_true_labels
        && a.test.labels() == b.test.labels()
        && a.train
            .modalities()
            .iter()
            .zip(b.train.modalities())
            .all(|(x, y)| x.data() == y.data())
        && a.test
            .modalities()
            .iter()
            .zip(b.test.modalities())
            .all(|(x, y)| x.data() == y.data())
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let (a, b, c) = (mfeat(0), mfeat(0), mfeat(1));
    assert!(same(&a, &b), "seed 0 twice must give the identical split");
    assert!(!same(&a, &c), "seeds 0 and 1 must differ");
    // Same class sizes though: only which samples are drawn changes.
    assert_eq!(a.labeled_counts(), c.labeled_counts());
}

#[test]
fn modality_order_is_alphabetical_unless_given() {
    let p = Protocol {
        n_max: Some(140),
        modalities: Some(
            ["zer", "pix", "mor", "kar", "fou", "fac"]
                .map(String::from)
                .to_vec(),
        ),
        ..Protocol::default()
    };
    let s = split("mfeat", &fixture_dir(), &p);
    assert_eq!(
        s.train.modality_names(),
        ["zer", "pix", "mor", "kar", "fou", "fac"]
    );
    assert_eq!(s.test.modality_names(), s.train.modality_names());
    let bad = Protocol {
        modalities: Some(vec!["zer".into()]),
        ..p
    };
    let err = build_split(
        load(&DatasetName::Mfeat, &fixture_dir(), None).unwrap(),
        &bad,
    );
    assert!(matches!(
        err,
        Err(Error::Data(DataError::InvalidParameter {
            name: "--modalities",
            ..
        }))
    ));
}

#[test]
fn missing_half_drops_one_modality_from_half_of_the_training_samples() {
    let p = Protocol {
        n_max: Some(140),
        missing: Missing::Half,
        ..Protocol::default()
    };
    let s = split("mfeat", &fixture_dir(), &p);
    let m = s.train.modalities().len();
    let incomplete = (0..s.train.len())
        .filter(|&i| s.train.observed_count(i) < m)
        .count();
    assert_eq!(incomplete, s.train.len() / 2);
    assert!((0..s.train.len()).all(|i| s.train.observed_count(i) >= m - 1));
    assert!(
        (0..s.test.len()).all(|i| s.test.observed_count(i) == m),
        "test stays complete"
    );
    // Missing rows carry no data.
    for mo in s.train.modalities() {
        for (row, &p) in mo.data().rows().into_iter().zip(mo.present()) {
            if !p {
                assert!(row.iter().all(|&v| v == 0.0));
            }
        }
    }
}

#[test]
fn complete_half_keeps_exactly_the_samples_that_half_leaves_complete() {
    let base = Protocol {
        n_max: Some(140),
        ..Protocol::default()
    };
    let half = split(
        "mfeat",
        &fixture_dir(),
        &Protocol {
            missing: Missing::Half,
            ..base.clone()
        },
    );
    let complete = split(
        "mfeat",
        &fixture_dir(),
        &Protocol {
            missing: Missing::CompleteHalf,
            ..base
        },
    );
    let m = half.train.modalities().len();
    let kept: Vec<usize> = (0..half.train.len())
        .filter(|&i| half.train.observed_count(i) == m)
        .collect();
    assert_eq!(complete.train.len(), kept.len());
    assert_eq!(
        complete.train.len(),
        half.train.len() - half.train.len() / 2
    );
    assert!((0..complete.train.len()).all(|i| complete.train.observed_count(i) == m));
    for (new, &old) in kept.iter().enumerate() {
        assert_eq!(complete.train.labels()[new], half.train.labels()[old]);
        assert_eq!(complete.train_true_labels[new], half.train_true_labels[old]);
        assert_eq!(
            complete.train.modalities()[0].data().row(new),
            half.train.modalities()[0].data().row(old)
        );
    }
    assert_eq!(
        complete.test.len(),
        half.test.len(),
        "the test set is untouched"
    );
}

#[test]
fn transforms_are_fitted_on_the_training_split_only() {
    let s = mfeat(0);
    let (train, test) = s.preprocessed();
    for m in train.modalities() {
        for col in m.data().columns() {
            let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / col.len() as f64;
            assert!(mean.abs() < 1e-4, "{}: training mean {mean}", m.name());
        }
    }
    // The test set is transformed with training statistics, so its means are not exactly zero.
    let test_mean: f64 = test.modalities()[0]
        .data()
        .column(0)
        .iter()
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / test.len() as f64;
    assert!(test_mean.abs() > 1e-6);
}

#[test]
fn mnist_fashion_split_from_the_issue() {
    let Some(data) = shared_data("mnist_fashion_split_from_the_issue") else {
        return;
    };
    let p = Protocol {
        rho: 100.0.into(),
        beta: 0.1,
        n_max: Some(4500),
        seed: 0,
        ..Protocol::default()
    };
    let s = split("mnist+fashion", &data, &p);
    let total = class_sizes(&s);
    assert_eq!(total, [4500, 2697, 1617, 969, 581, 348, 208, 125, 75, 45]);
    assert_eq!(
        s.labeled_counts(),
        [450, 270, 162, 97, 58, 35, 21, 13, 8, 5]
    );
    assert_eq!(
        s.test_counts(),
        [892; 10],
        "balanced test set, MNIST's smallest test class"
    );
    assert_eq!(s.train.modality_names(), ["fashion", "mnist"]);
    // Pixels are scaled to [0, 1] by the fitted transform.
    let (train, _) = s.preprocessed();
    let max = train.modalities()[1]
        .data()
        .iter()
        .fold(0f32, |a, &b| a.max(b));
    assert!((max - 1.0).abs() < 1e-6);
}

#[test]
fn noisy_mnist_views() {
    let Some(data) = shared_data("noisy_mnist_views") else {
        return;
    };
    let p = Protocol {
        rho: 10.0.into(),
        beta: 0.1,
        n_max: Some(200),
        seed: 3,
        ..Protocol::default()
    };
    let s = split("noisy-mnist", &data, &p);
    assert_eq!(s.train.modality_names(), ["view1", "view2"]);
    assert_eq!(s.test_counts(), [892; 10]);
    assert_eq!(
        s.labeled_counts().iter().sum::<usize>(),
        labeled_counts(&long_tail_sizes(200, 10.0, 10).unwrap(), 0.1)
            .unwrap()
            .iter()
            .sum::<usize>()
    );
    // View 2 has noise everywhere: its background is no longer black, unlike MNIST's.
    let v2 = s.train.modalities()[1].data();
    let zeros = v2.iter().filter(|&&v| v == 0.0).count() as f64 / v2.len() as f64;
    assert!(
        zeros < 0.01,
        "fraction of black pixels in the noisy view: {zeros}"
    );
    let v1 = s.train.modalities()[0].data();
    let zeros1 = v1.iter().filter(|&&v| v == 0.0).count() as f64 / v1.len() as f64;
    assert!(
        zeros1 > 0.5,
        "the rotated view keeps a black background: {zeros1}"
    );
    assert!(v1
        .iter()
        .chain(v2.iter())
        .all(|&v| (0.0..=255.0).contains(&v) && v.fract() == 0.0));
}

#[test]
fn rosmap_uses_its_shipped_test_split() {
    let Some(data) = shared_data("rosmap_uses_its_shipped_test_split") else {
        return;
    };
    let p = Protocol {
        rho: 2.0.into(),
        beta: 0.1,
        ..Protocol::default()
    };
    let s = split("rosmap", &data, &p);
    assert_eq!(s.n_max, Some(118));
    let total = class_sizes(&s);
    assert_eq!(total, [118, 59]);
    assert_eq!(s.labeled_counts(), [12, 6]);
    assert_eq!(s.test_counts(), [51, 55]);
    assert_eq!(s.train.class_names(), ["NC", "AD"]);
}

/// `rho = natural` on a naturally imbalanced set (3-sources, classes 56/21/11/18/51/12): every
/// class keeps its whole 70 % train pool, beta of it labeled, the rest held out for test; its
/// sparse word counts get ln(1 + x) before the standardisation (docs/model.md §11.3).
#[test]
fn natural_imbalance_keeps_every_class_and_logs_counts() {
    let Some(data) = shared_data("natural_imbalance_keeps_every_class_and_logs_counts") else {
        return;
    };
    let p = Protocol {
        rho: trainer::protocol::Rho::Natural,
        beta: 0.3,
        seed: 1,
        ..Protocol::default()
    };
    let path = data.join("MultiView/3-sources.npz");
    let s = split(path.to_str().unwrap(), &data, &p);
    let pool: Vec<usize> = [56usize, 21, 11, 18, 51, 12]
        .iter()
        .map(|&n| (0.7 * n as f64).round() as usize)
        .collect();
    assert_eq!(class_sizes(&s), pool);
    let labeled: Vec<usize> = pool
        .iter()
        .map(|&n| ((0.3 * n as f64).round() as usize).max(1))
        .collect();
    assert_eq!(s.labeled_counts(), labeled);
    let test: Vec<usize> = [56usize, 21, 11, 18, 51, 12]
        .iter()
        .zip(&pool)
        .map(|(n, t)| n - t)
        .collect();
    assert_eq!(s.test_counts(), test);
    assert!(s
        .transforms
        .iter()
        .all(|t| matches!(t, trainer::data::InputTransform::Log1pStandardize { .. })));
    // The same split with transform = standardize differs only in the transform.
    let q = Protocol {
        transform: trainer::data::TransformChoice::Standardize,
        ..p
    };
    let t = split(path.to_str().unwrap(), &data, &q);
    assert_eq!(t.labeled_counts(), s.labeled_counts());
    assert!(t
        .transforms
        .iter()
        .all(|t| matches!(t, trainer::data::InputTransform::Standardize { .. })));
}

/// `unlabeled_rho`: the labels (rows and classes) are the consistent profile's, the unlabeled
/// counts follow the profile, and the minority classes stay the labeled tail's.
#[test]
fn the_unlabeled_profile_moves_only_the_unlabeled_samples() {
    let draw = |profile: UnlabeledProfile| {
        let p = Protocol {
            n_max: Some(100),
            seed: 4,
            unlabeled_rho: profile,
            ..Protocol::default()
        };
        split("mfeat", &fixture_dir(), &p)
    };
    let consistent = draw(UnlabeledProfile::Consistent);
    let sizes = long_tail_sizes(100, 10.0, 10).unwrap();
    let labeled = labeled_counts(&sizes, 0.1).unwrap();
    assert_eq!(class_sizes(&consistent), sizes);
    let u: Vec<usize> = sizes.iter().zip(&labeled).map(|(n, l)| n - l).collect();
    // The labeled rows of a split, by the features of their first modality (rows are reordered
    // by nothing but the draw, which reads each class's shuffled pool from the front).
    let labeled_rows = |s: &Split| -> Vec<(usize, Vec<f32>)> {
        let m = &s.train.modalities()[0];
        (0..s.train.len())
            .filter_map(|i| s.train.labels()[i].map(|y| (y, m.data().row(i).to_vec())))
            .collect()
    };
    for (profile, unlabeled) in [
        (UnlabeledProfile::Uniform, vec![u[0]; 10]),
        (
            UnlabeledProfile::Reversed,
            u.iter().rev().copied().collect::<Vec<_>>(),
        ),
    ] {
        let s = draw(profile);
        assert_eq!(s.labeled_counts(), labeled, "{profile}");
        assert_eq!(s.unlabeled_counts(), unlabeled, "{profile}");
        assert_eq!(labeled_rows(&s), labeled_rows(&consistent), "{profile}");
        assert_eq!(
            s.train_class_sizes(),
            sizes,
            "{profile}: minority by the tail"
        );
    }
    assert_eq!(consistent.train_class_sizes(), sizes);
}
