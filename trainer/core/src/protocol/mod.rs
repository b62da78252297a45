//! The paper's class-imbalanced, semi-supervised protocol: long-tailed class sizes, a labeled
//! fraction per class, pairing of unimodal datasets by label, noisy two-view MNIST, missing-modality
//! corruption and stratified splits. Every random choice is seeded: the same seed gives the same
//! split, bit for bit.
//!
//! Each step draws from its own ChaCha8 stream (same seed, different stream id), so that adding
//! or changing one step never shifts the random numbers of another.

mod missing;
mod noisy;
mod params;
mod rho;
mod sizes;
mod split;
pub mod views;
mod write;

use missing::apply_missing;
use noisy::noisy_views;
pub(crate) use params::{rng, stream};
pub use params::{Missing, Protocol, UnlabeledProfile};
pub use rho::Rho;
use sizes::drawn_sizes;
pub use sizes::{labeled_counts, long_tail_sizes};
pub use split::Split;
pub use write::write_split_npz;

use crate::data::source::Source;
use crate::data::{fit_transforms, Modality, MultimodalDataset};
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Draws `sizes[k]` indices without replacement from each class pool (after a seeded shuffle).
fn draw_per_class(
    pools: &[Vec<usize>],
    sizes: &[usize],
    class_names: &[String],
    pool_name: &'static str,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<usize>>> {
    pools
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(k, (pool, &n))| {
            if pool.len() < n {
                return Err(DataError::NotEnoughSamples {
                    class: k,
                    class_name: class_names[k].clone(),
                    pool: pool_name,
                    needed: n,
                    available: pool.len(),
                }
                .into());
            }
            let mut p = pool.clone();
            p.shuffle(rng);
            p.truncate(n);
            Ok(p)
        })
        .collect()
}

/// Per class, the first l_k drawn samples are labeled, the rest unlabeled.
fn label_prefix(
    drawn: &[Vec<usize>],
    labeled: &[usize],
) -> (Vec<usize>, Vec<Option<usize>>, Vec<Option<usize>>) {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let mut truth = Vec::new();
    for (k, (idx, &l)) in drawn.iter().zip(labeled).enumerate() {
        for (t, &i) in idx.iter().enumerate() {
            rows.push(i);
            labels.push((t < l).then_some(k));
            truth.push(Some(k));
        }
    }
    (rows, labels, truth)
}

/// A seeded stratified split of the labeled rows: per class, round(train_fraction · n_c) to train
/// (mfeat: 140 of 200), the rest to test. Unlabeled rows all go to train.
pub fn stratified_split(
    ds: &MultimodalDataset,
    train_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut r = rng(seed, stream::STRATIFIED);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for mut pool in ds.indices_by_class() {
        pool.shuffle(&mut r);
        let n_train = (train_fraction * pool.len() as f64).round() as usize;
        train.extend_from_slice(&pool[..n_train]);
        test.extend_from_slice(&pool[n_train..]);
    }
    train.extend(ds.unlabeled_indices());
    (train, test)
}

fn labels_of(ds: &MultimodalDataset, idx: &[usize]) -> Vec<Option<usize>> {
    idx.iter().map(|&i| ds.labels()[i]).collect()
}

/// The training class sizes the protocol draws: the long tail of `p.rho` from `n_max`, or with
/// `rho = natural` every class's whole pool (the data's own imbalance; `n_max` then caps each
/// class, as it caps class 0 of a long tail).
fn class_sizes(p: &Protocol, n_max: usize, pools: &[Vec<usize>]) -> Result<Vec<usize>> {
    match p.rho {
        Rho::Ratio(rho) => long_tail_sizes(n_max, rho, pools.len()),
        Rho::Natural if p.n_max == Some(0) => Err(DataError::InvalidParameter {
            name: "--n-max",
            value: "0".into(),
            reason: "with rho = natural, n_max caps each class and must be ≥ 1".into(),
        }
        .into()),
        Rho::Natural => Ok(pools
            .iter()
            .map(|pool| match p.n_max {
                Some(cap) => pool.len().min(cap),
                None => pool.len(),
            })
            .collect()),
    }
}

/// `--n-max`, or by default the size of class 0 (the protocol's largest class). A class 0 with no
/// sample is an error that says so, rather than an "invalid --n-max = 0" for a flag never given.
fn resolve_n_max(p: &Protocol, pools: &[Vec<usize>], class_names: &[String]) -> Result<usize> {
    if let Some(n) = p.n_max {
        return Ok(n);
    }
    match pools.first() {
        Some(pool) if !pool.is_empty() => Ok(pool.len()),
        _ => Err(DataError::NotEnoughSamples {
            class: 0,
            class_name: class_names.first().cloned().unwrap_or_default(),
            pool: "train",
            needed: 1,
            available: 0,
        }
        .into()),
    }
}

/// Joins one-modality datasets with equal rows and labels into one multimodal dataset.
fn join(parts: Vec<MultimodalDataset>, labels: Vec<Option<usize>>) -> Result<MultimodalDataset> {
    let class_names = parts[0].class_names().to_vec();
    let modalities: Vec<Modality> = parts
        .into_iter()
        .flat_map(|d| d.into_modalities())
        .collect();
    Ok(MultimodalDataset::new(modalities, labels, class_names)?)
}

/// Builds the split the protocol describes from a loaded [`Source`].
pub fn build_split(source: Source, p: &Protocol) -> Result<Split> {
    labeled_counts(&[1], p.beta)?; // validate beta up front, whatever the source
    let (train, truth, test, drawn, applied) = match source {
        Source::Multimodal {
            train: pool,
            test,
            true_labels,
            labels_as_given,
        } => {
            let (pool, test) = match test {
                Some(test) => (pool, test),
                None => {
                    let (tr, te) = stratified_split(&pool, 0.7, p.seed);
                    let pool_truth = true_labels
                        .as_ref()
                        .map(|t| tr.iter().map(|&i| t[i]).collect::<Vec<_>>());
                    let sel = pool.select(&tr, labels_of(&pool, &tr));
                    let test = pool.select(&te, labels_of(&pool, &te));
                    return finish_multimodal(sel, pool_truth, test, labels_as_given, p);
                }
            };
            return finish_multimodal(pool, true_labels, test, labels_as_given, p);
        }
        Source::Paired { left, right } => {
            check_pairable(&left.0, &right.0)?;
            let pools_l = left.0.indices_by_class();
            let pools_r = right.0.indices_by_class();
            let n_max = resolve_n_max(p, &pools_l, left.0.class_names())?;
            let sizes = class_sizes(p, n_max, &pools_l)?;
            let tail = sizes.clone();
            let labeled = labeled_counts(&sizes, p.beta)?;
            let counts = drawn_sizes(p.unlabeled_rho, &sizes, &labeled);
            let names = left.0.class_names().to_vec();
            let mut r = rng(p.seed, stream::LONG_TAIL);
            let drawn_l = draw_per_class(&pools_l, &counts, &names, "train", &mut r)?;
            let drawn_r =
                draw_per_class(&pools_r, &counts, right.0.class_names(), "train", &mut r)?;
            let (rows_l, labels, truth) = label_prefix(&drawn_l, &labeled);
            let (rows_r, _, _) = label_prefix(&drawn_r, &labeled);
            let train = join(
                vec![
                    left.0.select(&rows_l, labels.clone()),
                    right.0.select(&rows_r, labels.clone()),
                ],
                labels,
            )?;
            // Balanced test set: as many pairs per class as the smallest test class of either side.
            let tl = left.1.indices_by_class();
            let tr = right.1.indices_by_class();
            let per_class = tl.iter().chain(&tr).map(Vec::len).min().unwrap_or(0);
            let sizes = vec![per_class; tl.len()];
            let mut r = rng(p.seed, stream::TEST);
            let (rows_l, labels, _) = label_prefix(
                &draw_per_class(&tl, &sizes, &names, "test", &mut r)?,
                &sizes,
            );
            let (rows_r, _, _) = label_prefix(
                &draw_per_class(&tr, &sizes, &names, "test", &mut r)?,
                &sizes,
            );
            let test = join(
                vec![
                    left.1.select(&rows_l, labels.clone()),
                    right.1.select(&rows_r, labels.clone()),
                ],
                labels,
            )?;
            (train, truth, test, Some((n_max, tail)), true)
        }
        Source::NoisyMnist {
            train: mnist_train,
            test: mnist_test,
        } => {
            let pools = mnist_train.indices_by_class();
            let n_max = resolve_n_max(p, &pools, mnist_train.class_names())?;
            let sizes = class_sizes(p, n_max, &pools)?;
            let tail = sizes.clone();
            let labeled = labeled_counts(&sizes, p.beta)?;
            let counts = drawn_sizes(p.unlabeled_rho, &sizes, &labeled);
            let names = mnist_train.class_names().to_vec();
            let mut r = rng(p.seed, stream::LONG_TAIL);
            let drawn = draw_per_class(&pools, &counts, &names, "train", &mut r)?;
            let (rows, labels, truth) = label_prefix(&drawn, &labeled);
            let train = noisy_views(&mnist_train, &rows, labels, p.seed, 0)?;
            let tp = mnist_test.indices_by_class();
            let per_class = tp.iter().map(Vec::len).min().unwrap_or(0);
            let sizes = vec![per_class; tp.len()];
            let mut r = rng(p.seed, stream::TEST);
            let (rows, labels, _) = label_prefix(
                &draw_per_class(&tp, &sizes, &names, "test", &mut r)?,
                &sizes,
            );
            let test = noisy_views(&mnist_test, &rows, labels, p.seed, 1)?;
            (train, truth, test, Some((n_max, tail)), true)
        }
    };
    finish_split(train, truth, test, drawn, applied, p)
}

fn check_pairable(left: &MultimodalDataset, right: &MultimodalDataset) -> Result<()> {
    if left.num_classes() != right.num_classes() {
        return Err(DataError::PairingMismatch {
            left: left.modality_names().join("+"),
            left_k: left.num_classes(),
            right: right.modality_names().join("+"),
            right_k: right.num_classes(),
        }
        .into());
    }
    Ok(())
}

/// The long-tail protocol on a pool; one with unlabeled rows, or a study's, is taken as given.
fn finish_multimodal(
    pool: MultimodalDataset,
    true_labels: Option<Vec<Option<usize>>>,
    test: MultimodalDataset,
    labels_as_given: bool,
    p: &Protocol,
) -> Result<Split> {
    if pool.is_empty() {
        return Err(DataError::Empty("the dataset has no samples".into()).into());
    }
    let draw = pool.unlabeled_indices().is_empty() && !labels_as_given;
    let (train, truth, drawn, applied) = if draw {
        let pools = pool.indices_by_class();
        let n_max = resolve_n_max(p, &pools, pool.class_names())?;
        let sizes = class_sizes(p, n_max, &pools)?;
        let labeled = labeled_counts(&sizes, p.beta)?;
        let counts = drawn_sizes(p.unlabeled_rho, &sizes, &labeled);
        let mut r = rng(p.seed, stream::LONG_TAIL);
        let drawn = draw_per_class(&pools, &counts, pool.class_names(), "train", &mut r)?;
        let (rows, labels, truth) = label_prefix(&drawn, &labeled);
        (
            pool.select(&rows, labels),
            truth,
            Some((n_max, sizes)),
            true,
        )
    } else {
        let truth = match true_labels {
            Some(t) => t,
            None => pool.labels().to_vec(),
        };
        (pool, truth, None, false)
    };
    if test.is_empty() {
        return Err(DataError::Empty(
            "the test set is empty: the automatic split holds out 30% of each class's labeled \
             samples, and there are too few labeled samples; label more, or give a test set with --test"
                .into(),
        )
        .into());
    }
    if let Some(row) = test.labels().iter().position(Option::is_none) {
        return Err(DataError::LabelOutOfRange {
            source_name: "test set".into(),
            row: row + 1,
            label: -1,
            classes: test.num_classes(),
        }
        .into());
    }
    finish_split(train, truth, test, drawn, applied, p)
}

/// The last steps of every split: missing-modality corruption, modality order, and the input
/// transforms fitted on the training split.
/// `drawn` is (n_max, the tail's class sizes n_k) when the protocol drew the training set.
fn finish_split(
    mut train: MultimodalDataset,
    mut truth: Vec<Option<usize>>,
    mut test: MultimodalDataset,
    drawn: Option<(usize, Vec<usize>)>,
    applied: bool,
    p: &Protocol,
) -> Result<Split> {
    apply_missing(&mut train, &mut truth, p)?;
    order_modalities(&mut train, &mut test, p)?;
    let transforms = fit_transforms(&train, p.transform)?;
    // Under another unlabeled profile the minority classes stay the labeled tail's rare ones,
    // whatever the unlabeled samples add to each class.
    let (n_max, tail) = match drawn {
        Some((n, tail)) => (
            Some(n),
            (p.unlabeled_rho != UnlabeledProfile::Consistent).then_some(tail),
        ),
        None => (None, None),
    };
    Ok(Split {
        train,
        train_true_labels: truth,
        test,
        transforms,
        n_max,
        protocol_applied: applied,
        tail_sizes: tail,
    })
}

/// Alphabetical modality order unless the protocol names one; the test set follows the train set
/// and must have the same modalities with the same dimensions.
fn order_modalities(
    train: &mut MultimodalDataset,
    test: &mut MultimodalDataset,
    p: &Protocol,
) -> Result<()> {
    match &p.modalities {
        Some(order) => {
            train.reorder_modalities(order)?;
            test.reorder_modalities(order)?;
        }
        None => {
            train.sort_modalities();
            test.sort_modalities();
        }
    }
    if train.modality_names() != test.modality_names() || train.num_classes() != test.num_classes()
    {
        return Err(DataError::ModalityMismatch(format!(
            "train has modalities [{}] and {} classes, test has [{}] and {} classes",
            train.modality_names().join(","),
            train.num_classes(),
            test.modality_names().join(","),
            test.num_classes()
        ))
        .into());
    }
    for (a, b) in train.modalities().iter().zip(test.modalities()) {
        if a.dim() != b.dim() {
            return Err(DataError::ModalityMismatch(format!(
                "modality `{}` has {} features in train, {} in test",
                a.name(),
                a.dim(),
                b.dim()
            ))
            .into());
        }
    }
    Ok(())
}
