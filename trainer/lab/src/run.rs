//! One place that prepares a run and hands it to its training loop: the split (data → protocol),
//! the labeled validation carve-out, the fusion view and the tensors are built once, then
//! SSMVAE-CI's loop ([`ssmvae_core::train::fit()`]) or a baseline's ([`ssmvae_baselines::fit::train`])
//! trains. This is the library's top floor: it imports both loops and neither imports it, so the
//! SSMVAE-CI path never sees the baselines.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ssmvae_core::data::source::{default_data_dir, load, DatasetName};
use ssmvae_core::data::MultimodalDataset;
use ssmvae_core::error::{DataError, Result};
use ssmvae_core::protocol::{build_split, Protocol, Split};
use ssmvae_core::train::config::{Method, Mode, RunConfig, TrainConfig};
use ssmvae_core::train::tensors::DataTensors;
use ssmvae_core::train::{fused, EpochRecord, Guard, Outcome, Prepared, Selection, TrainOptions};

/// Prepares the run a config describes (split, validation carve-out, fusion view, tensors, once)
/// and trains it with its method's loop, calling `on_epoch` after every epoch. With
/// `alpha_a_candidates`, the classification weight is chosen first ([`select_alpha_a`]) and only
/// the final run's epochs reach `on_epoch`.
pub fn train(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    if cfg.model.mode == Mode::Auto {
        cfg.validate()?;
        // A resumed run continues in the mode its checkpoint was trained in: choosing again could
        // pick the other one (with more epochs the candidates train differently) and mix them.
        if opts.resume && opts.checkpoint.exists() {
            let loaded = ssmvae_core::train::checkpoint::load(&opts.checkpoint)?;
            let mut chosen = cfg.clone();
            chosen.model.mode = loaded.meta.config.model.mode;
            return train_once(&chosen, opts, on_epoch);
        }
        let guard = guard_mode(cfg, opts)?;
        let mut chosen = cfg.clone();
        chosen.model.mode = guard.chosen;
        let mut outcome = train_once(&chosen, opts, on_epoch)?;
        outcome.guard = Some(guard);
        return Ok(outcome);
    }
    if cfg.objective.alpha_a_candidates.is_empty() {
        return train_once(cfg, opts, on_epoch);
    }
    let selection = select_alpha_a(cfg, opts)?;
    let mut chosen = cfg.clone();
    chosen.objective.alpha_a = selection.chosen;
    chosen.objective.alpha_a_candidates.clear();
    let mut outcome = train_once(&chosen, opts, on_epoch)?;
    outcome.selection = Some(selection);
    Ok(outcome)
}

/// The share of each class's labels the candidates of a are scored on (docs/model.md §12.8): the
/// tuning grids' mfeat share (`tune_rare_mfeat.toml`), fixed a priori; every class with two or
/// more labels keeps at least one for training and gives at least one.
pub const SELECTION_HOLDOUT: f64 = 0.3;

/// Chooses a (docs/model.md §12.8): each candidate trains the run's configuration on the labels
/// less a [`SELECTION_HOLDOUT`] share, seeded as the run, and is scored by balanced accuracy on
/// the held-out labels at its last epoch (the epoch a run without a validation split ships,
/// §12.5). The best wins; ties go to the earlier candidate. No test sample is read.
pub fn select_alpha_a(cfg: &TrainConfig, opts: &TrainOptions) -> Result<Selection> {
    let candidates = cfg.objective.alpha_a_candidates.clone();
    let mut scores = Vec::with_capacity(candidates.len());
    for &a in &candidates {
        let mut c = cfg.clone();
        c.objective.alpha_a = a;
        c.objective.alpha_a_candidates.clear();
        c.run.validation_fraction = SELECTION_HOLDOUT;
        c.run.validation_folds = 0;
        c.run.validation_fold = 0;
        let last = held_out_score(&c, opts, &format!("select-a{a}"))?;
        scores.push(last.ok_or_else(|| {
            DataError::Empty(
                "alpha_a_candidates: no class has two labels to hold one out; set alpha_a instead"
                    .into(),
            )
        })?);
    }
    let best = first_best(&scores);
    Ok(Selection {
        chosen: candidates[best],
        candidates,
        validation_balanced_acc: scores,
    })
}

/// How many folds of the labels `mode = auto` scores each candidate on (docs/model.md §12.13),
/// fixed a priori by the cost the issue allows: two candidates on two folds and the final run
/// are five trainings, the most a default may cost (5× one run). Each fold trains on half of the
/// labels and is scored on the other half; a class with one label keeps it and is not scored.
pub const GUARD_FOLDS: usize = 2;

/// `mode = auto` (docs/model.md §12.13): `semi` and `decoupled` each train on
/// [`GUARD_FOLDS`] folds of the run's training labels (after its own validation carve-out, whose
/// labels are never read), seeded as the run, and are scored by the mean of their last-epoch
/// balanced accuracies on the held-out folds. `decoupled` is chosen only when strictly higher:
/// the semi-supervised model is the default, and the guard moves off it only on evidence. Where
/// no class has two labels to hold one out there is no evidence, and `semi` stays.
pub fn guard_mode(cfg: &TrainConfig, opts: &TrainOptions) -> Result<Guard> {
    let candidates = vec![Mode::Semi, Mode::Decoupled];
    let mut scores = Vec::with_capacity(candidates.len());
    for &mode in &candidates {
        let mut folds = Vec::with_capacity(GUARD_FOLDS);
        for fold in 0..GUARD_FOLDS {
            let mut c = cfg.clone();
            c.model.mode = mode;
            c.inner_fold = Some((fold, GUARD_FOLDS));
            folds.push(held_out_score(&c, opts, &format!("guard-{mode}-{fold}"))?);
        }
        let scored: Vec<f64> = folds.iter().flatten().copied().collect();
        scores.push((!scored.is_empty()).then(|| scored.iter().sum::<f64>() / scored.len() as f64));
    }
    let chosen = match (scores[0], scores[1]) {
        (Some(semi), Some(decoupled)) if decoupled > semi => Mode::Decoupled,
        _ => Mode::Semi,
    };
    Ok(Guard {
        candidates,
        validation_balanced_acc: scores,
        folds: GUARD_FOLDS,
        chosen,
    })
}

/// Trains a candidate configuration that holds labels out and returns its last-epoch balanced
/// accuracy on them (None when no label could be held out). The candidate writes its own
/// checkpoint files, named by `tag` beside the run's and removed after, and is never resumed: a
/// resumed run chooses again, deterministically, the same way.
fn held_out_score(c: &TrainConfig, opts: &TrainOptions, tag: &str) -> Result<Option<f64>> {
    let checkpoint = opts.checkpoint.with_extension(format!("{tag}.safetensors"));
    let o = TrainOptions {
        checkpoint: checkpoint.clone(),
        resume: false,
        ..opts.clone()
    };
    let mut last = None;
    let result = train_once(c, &o, |r| {
        last = r.validation.as_ref().map(|v| v.balanced_acc)
    });
    for f in [checkpoint.with_extension("best.safetensors"), checkpoint] {
        let _ = std::fs::remove_file(f);
    }
    result?;
    Ok(last)
}

/// The index of the highest score, the earliest among equals.
fn first_best(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// One run of one configuration, prepared and trained by its method's loop.
fn train_once(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    let prepared = prepare(cfg, opts)?;
    if cfg.run.method == Method::Ssmvae {
        ssmvae_core::train::fit(cfg, opts, prepared, on_epoch)
    } else {
        ssmvae_baselines::fit::train(cfg, opts, prepared, on_epoch)
    }
}

/// Everything both kinds of loop start from. Sets libtorch's thread count first, so the data is
/// built under the same settings as the training.
pub fn prepare(cfg: &TrainConfig, opts: &TrainOptions) -> Result<Prepared> {
    cfg.validate()?;
    if let Some(t) = opts.threads {
        tch::set_num_threads(t as i32);
    }
    let device = cfg.run.device.resolve()?;
    let split = split_of(cfg)?;
    if split.train.labeled_counts().iter().sum::<usize>() == 0 {
        return Err(DataError::Empty(
            "the labeled training set is empty: raise --beta or label some samples".into(),
        )
        .into());
    }
    let train_sizes = split.train_class_sizes();
    let (train_raw, test_raw) = split.preprocessed();
    let (train_rows, val_rows) = carve_validation(&train_raw, &cfg.run);
    // The network width follows the run's training rows (§11.1), also in the guard's inner folds,
    // so a candidate is scored at the width the final run trains.
    let width_rows = train_rows.len();
    // §12.13: the guard's candidate holds out a fold of what is left; the run's own validation
    // rows are neither trained on nor scored.
    let (train_rows, val_rows) = match cfg.inner_fold {
        None => (train_rows, val_rows),
        Some((fold, k)) => {
            let inner = RunConfig {
                validation_folds: k,
                validation_fold: fold,
                validation_fraction: 0.0,
                ..cfg.run.clone()
            };
            let (tr, va) = carve(&subset(&train_raw, &train_rows), &inner, 102);
            (
                tr.iter().map(|&i| train_rows[i]).collect(),
                va.iter().map(|&i| train_rows[i]).collect(),
            )
        }
    };
    let train_ds = fused(&subset(&train_raw, &train_rows), cfg.model.fusion);
    let val_ds =
        (!val_rows.is_empty()).then(|| fused(&subset(&train_raw, &val_rows), cfg.model.fusion));
    let test_ds = fused(&test_raw, cfg.model.fusion);
    let labeled_rows: Vec<usize> = (0..train_ds.len())
        .filter(|&i| train_ds.labels()[i].is_some())
        .collect();
    let unlabeled_rows: Vec<usize> = train_ds.unlabeled_indices();
    let labeled_ds = subset(&train_ds, &labeled_rows);

    let data = DataTensors::new(&train_ds, device);
    let labeled_data = DataTensors::new(&labeled_ds, device);
    let test = DataTensors::new(&test_ds, device);
    let val = val_ds.as_ref().map(|v| DataTensors::new(v, device));
    let hidden = cfg.model.hidden.resolve(width_rows);
    Ok(Prepared {
        hidden,
        split,
        train_sizes,
        train_ds,
        labeled_rows,
        unlabeled_rows,
        data,
        labeled_data,
        test,
        val,
        device,
    })
}

/// The protocol parameters of a config.
pub fn protocol_of(cfg: &TrainConfig) -> Protocol {
    Protocol {
        seed: cfg.run.seed,
        ..cfg.protocol.clone()
    }
}

/// Loads the dataset a config names and draws its split.
pub fn split_of(cfg: &TrainConfig) -> Result<Split> {
    let name: DatasetName = cfg.data.dataset.parse()?;
    // A built-in dataset has its own test split: a --test file beside it would be ignored.
    let takes_test = matches!(name, DatasetName::Npz(_) | DatasetName::Study(_));
    if let (Some(test), false) = (&cfg.data.test, takes_test) {
        return Err(DataError::InvalidParameter {
            name: "--test",
            value: test.display().to_string(),
            reason: format!(
                "a test file goes with an .npz dataset; `{name}` brings its own test split"
            ),
        }
        .into());
    }
    let dir = cfg.data.data_dir.clone().unwrap_or_else(default_data_dir);
    build_split(
        load(&name, &dir, cfg.data.test.as_deref())?,
        &protocol_of(cfg),
    )
}

/// The validation rows of a run, seeded by its seed; a class with one label always keeps it.
/// With `validation_fraction`, that share of each class's labels (at least one, never the last).
/// With fold i of k (docs/model.md §12.11), each class's labels are shuffled (the same order for
/// every fold of a seed) and dealt round-robin into k folds, and fold i is held out: across the k
/// runs every label of a class with two or more is held out exactly once, and a fold never holds
/// a whole class (it takes at most ⌈n/2⌉ of n ≥ 2). Returns (train rows, validation rows).
fn carve_validation(ds: &MultimodalDataset, run: &RunConfig) -> (Vec<usize>, Vec<usize>) {
    carve(ds, run, 101)
}

/// [`carve_validation`] with its shuffle drawn from random stream `stream` of the run's seed
/// (the guard's inner folds use their own, so they do not follow the outer folds' order).
fn carve(ds: &MultimodalDataset, run: &RunConfig, stream: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(run.seed);
    rng.set_stream(stream);
    let mut val = Vec::new();
    if run.holds_out() {
        for mut pool in ds.indices_by_class() {
            pool.shuffle(&mut rng);
            if pool.len() < 2 {
                continue;
            }
            match run.fold() {
                Some((fold, k)) => val.extend(pool.iter().skip(fold).step_by(k)),
                None => {
                    let n = ((run.validation_fraction * pool.len() as f64).round() as usize).max(1);
                    val.extend_from_slice(&pool[..n.min(pool.len() - 1)]);
                }
            }
        }
    }
    val.sort_unstable();
    let train = (0..ds.len())
        .filter(|i| val.binary_search(i).is_err())
        .collect();
    (train, val)
}

fn subset(ds: &MultimodalDataset, rows: &[usize]) -> MultimodalDataset {
    ds.select(rows, rows.iter().map(|&i| ds.labels()[i]).collect())
}

#[cfg(test)]
mod tests {
    use super::{carve_validation, first_best};
    use ssmvae_core::data::{Modality, ModalityKind, MultimodalDataset};
    use ssmvae_core::train::config::RunConfig;

    /// Three folds over classes of 7, 2 and 1 labels and 3 unlabeled rows: across the folds every
    /// label of classes 0 and 1 is held out exactly once, no fold holds a whole class, the
    /// one-label class and the unlabeled rows are never held out, and each fold's train and
    /// validation rows partition the dataset.
    #[test]
    fn folds_hold_every_label_out_exactly_once() {
        let mut labels: Vec<Option<usize>> =
            [0; 7].iter().chain(&[1, 1, 2]).map(|&y| Some(y)).collect();
        labels.extend([None, None, None]);
        let n = labels.len();
        let x = ndarray::Array2::<f32>::zeros((n, 2));
        let ds = MultimodalDataset::new(
            vec![Modality::new("m", ModalityKind::Tabular, x)],
            labels.clone(),
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap();
        let mut held = vec![0usize; n];
        for fold in 0..3 {
            let run = RunConfig {
                seed: 4,
                validation_folds: 3,
                validation_fold: fold,
                ..RunConfig::default()
            };
            let (train, val) = carve_validation(&ds, &run);
            assert_eq!(train.len() + val.len(), n);
            for y in 0..3 {
                assert!(
                    train.iter().any(|&i| labels[i] == Some(y)),
                    "fold {fold} holds all of class {y}"
                );
            }
            for i in val {
                held[i] += 1;
            }
        }
        assert_eq!(held, [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    }

    /// The highest validation score wins; a tie keeps the earlier candidate.
    #[test]
    fn selection_takes_the_first_best() {
        assert_eq!(first_best(&[0.8, 0.9, 0.85]), 1);
        assert_eq!(first_best(&[0.8, 0.8, 0.7]), 0);
        assert_eq!(first_best(&[0.7, 0.9, 0.9]), 1);
        assert_eq!(first_best(&[0.5]), 0);
    }
}
