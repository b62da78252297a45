//! The epoch driver every model trains under: SSMVAE-CI and its configurations
//! ([`mod@super::fit`]) and the discriminative baselines (`ssmvae_baselines::fit`) plug into it
//! through [`Learner`], so the steps per epoch, the batch order, the NaN stop, the epoch records,
//! the validation selection and the final scoring are written once.
//!
//! One epoch: reseed ([`epoch_rng`]), let the learner prepare the epoch (CReST's new generation,
//! Adsh's thresholds, LDAM-DRW's re-weighting), shuffle its labeled pool and the unlabeled rows,
//! then take one step per unlabeled batch (a labeled batch each, the labeled pool cycled) or, for
//! a learner that ignores unlabeled data, one step per labeled batch; then score on the labeled
//! training rows, the test set and the validation split, and keep the best validation epoch.

use super::tensors::{DataTensors, LabeledCycle};
use crate::data::MultimodalDataset;
use crate::error::{Error, Result};
use crate::metrics::{Metrics, Scores};
use crate::objective::{StepTerms, TargetPrior};
use crate::protocol::Split;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use tch::Tensor;

/// How a training run reports and where it writes.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Checkpoint file, rewritten atomically after every epoch.
    pub checkpoint: PathBuf,
    /// Continue from `checkpoint` if it exists.
    pub resume: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// CPU threads for libtorch (None = libtorch's default).
    pub threads: Option<usize>,
}

/// One epoch's log line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Wall seconds of the epoch's training steps.
    pub seconds: f64,
    /// Training samples per second.
    pub samples_per_sec: f64,
    /// Mean labeled γ-loss L_γ (baselines: their labeled loss).
    pub loss_labeled: f64,
    /// Mean unlabeled U (baselines: their unlabeled loss).
    pub loss_unlabeled: f64,
    /// Mean cross-entropy (baselines: their labeled loss).
    pub loss_ce: f64,
    /// Mean minimised objective Ĵ.
    pub loss_total: f64,
    /// Scores on the labeled training samples.
    pub train: Scores,
    /// Scores on the test set.
    pub test: Scores,
    /// Scores on the validation split, if any.
    pub validation: Option<Scores>,
    /// How many pseudo-labeled rows of each class joined the labeled batches this epoch
    /// (self-training, docs/model.md §12.12); absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_labels: Option<Vec<usize>>,
    /// The mean share of U's class copies enumerated under `enumeration_floor` (docs/model.md
    /// §6.5); absent when every class was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enumerated: Option<f64>,
}

/// What a finished run returns.
#[derive(Debug)]
pub struct Outcome {
    /// One record per epoch run in this call.
    pub history: Vec<EpochRecord>,
    /// Test metrics of the final model (the best validation epoch when a validation split is used).
    pub test: Metrics,
    /// The epoch those metrics come from.
    pub selected_epoch: usize,
    /// The split trained on.
    pub split: Split,
    /// The hidden widths the networks were built with (the size rule's when `hidden = auto`).
    pub hidden: Vec<usize>,
    /// How the classification weight a was chosen, when the run chose it
    /// (`trainer::run::train` (ssmvae-lab), docs/model.md §12.8).
    pub selection: Option<Selection>,
    /// The test scores under each target prior (docs/model.md §12.1); empty for the baselines.
    pub target_priors: Vec<(TargetPrior, Scores)>,
    /// How `mode = auto` chose the mode, when the run chose it (`trainer::run::train` (ssmvae-lab),
    /// docs/model.md §12.13).
    pub guard: Option<Guard>,
}

/// `mode = auto`'s per-run choice between `semi` and `decoupled` on held-out folds of the labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    /// The candidates, in the order tried (a tie keeps the first).
    pub candidates: Vec<crate::train::config::Mode>,
    /// Each candidate's mean over the folds of its last-epoch balanced accuracy on the held-out
    /// labels; `None` when no class has two labels to hold one out (the first candidate is kept).
    pub validation_balanced_acc: Vec<Option<f64>>,
    /// How many folds of the labels each candidate trained and was scored on.
    pub folds: usize,
    /// The mode the run was trained with.
    pub chosen: crate::train::config::Mode,
}

/// A per-run choice of the classification weight a on a held-out part of the labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The candidates, in the order tried (ties go to the earlier one).
    pub candidates: Vec<f64>,
    /// Each candidate's last-epoch balanced accuracy on the held-out labels.
    pub validation_balanced_acc: Vec<f64>,
    /// The value the run was trained with.
    pub chosen: f64,
}

/// What every learner starts from, prepared once by `trainer::run::prepare` (ssmvae-lab): the split, the fused
/// training data and its labeled/unlabeled rows, and the evaluation sets, on the device.
pub struct Prepared {
    /// The split trained on.
    pub split: Split,
    /// Training samples per class (for the minority classes).
    pub train_sizes: Vec<usize>,
    /// The fused training set (validation rows removed).
    pub train_ds: MultimodalDataset,
    /// Labeled rows of `train_ds`.
    pub labeled_rows: Vec<usize>,
    /// Unlabeled rows of `train_ds`.
    pub unlabeled_rows: Vec<usize>,
    /// `train_ds` as tensors.
    pub data: DataTensors,
    /// The labeled rows as tensors (for training scores).
    pub labeled_data: DataTensors,
    /// The test set.
    pub test: DataTensors,
    /// The validation split, if carved.
    pub val: Option<DataTensors>,
    /// Where the tensors live.
    pub device: tch::Device,
    /// The hidden widths of every network of the run: `hidden` resolved for the training set's
    /// size (docs/model.md §11.1).
    pub hidden: Vec<usize>,
}

impl Prepared {
    /// Every training row's label as libtorch wants it (−1 for an unlabeled row).
    pub fn label_codes(&self) -> Vec<i64> {
        label_codes(self.train_ds.labels())
    }
}

/// Row labels as libtorch wants them: the class, or −1 for none.
pub fn label_codes(labels: &[Option<usize>]) -> Vec<i64> {
    labels.iter().map(|y| y.map_or(-1, |v| v as i64)).collect()
}

/// One step's rows.
pub struct Batch<'a> {
    /// 1-based epoch.
    pub epoch: usize,
    /// Labeled rows of the training set.
    pub labeled: &'a [usize],
    /// Unlabeled rows (None when the learner ignores unlabeled data).
    pub unlabeled: Option<&'a [usize]>,
}

/// Where a run starts: epoch 0, or the epoch and best validation score of a resumed checkpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Start {
    /// The last epoch already trained.
    pub epoch: usize,
    /// The best validation balanced accuracy so far.
    pub best_validation: Option<f64>,
}

/// The batch schedule of a run.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Seeds each epoch's random streams ([`epoch_rng`]).
    pub seed: u64,
    /// Epochs in all (a resumed run stops at the same last epoch).
    pub epochs: usize,
    /// Labeled samples per step.
    pub batch_labeled: usize,
    /// Unlabeled samples per step.
    pub batch_unlabeled: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Draw labeled batches by class, class y with probability ∝ n_y^q for `Some(q)`
    /// (docs/model.md §12.9, §12.10); None = uniform over the labels.
    pub labeled_class_power: Option<f64>,
}

/// What a model must do to be trained by [`drive`].
pub trait Learner {
    /// Whether the steps use the unlabeled rows (then an epoch is one pass over them).
    fn uses_unlabeled(&self) -> bool;

    /// Prepares epoch `epoch` before its batches are drawn.
    fn begin_epoch(&mut self, _p: &Prepared, _epoch: usize) -> Result<()> {
        Ok(())
    }

    /// The labeled rows this epoch's labeled batches cycle through.
    fn labeled_pool(&self, p: &Prepared) -> Vec<usize>;

    /// Each training row's class as the labeled batches see it (class-balanced batches group the
    /// pool by it): the labels, or, for a learner that pseudo-labels rows into its pool, those
    /// too.
    fn row_labels<'a>(&'a self, p: &'a Prepared) -> &'a [Option<usize>] {
        p.train_ds.labels()
    }

    /// One optimisation step. A non-finite `total` must leave the weights as they were: the
    /// driver stops the run with [`Error::NanLoss`].
    fn step(&mut self, p: &Prepared, batch: &Batch, rng: &mut ChaCha8Rng) -> Result<StepTerms>;

    /// Class probabilities (N×K) of each set with the weights that are evaluated.
    fn predict(&self, sets: &[&DataTensors]) -> Vec<Tensor>;

    /// After epoch `epoch` was scored: persist it; `improved` says it is the best validation
    /// epoch so far (`best_validation` its score).
    fn end_epoch(
        &mut self,
        epoch: usize,
        best_validation: Option<f64>,
        improved: bool,
    ) -> Result<()>;

    /// After the last epoch: loads the weights to report. Returns the epoch they come from when
    /// it is not the last one trained (a best validation epoch).
    fn select(&mut self) -> Result<Option<usize>>;

    /// After training and selection: `p.test`'s class probabilities under each target prior
    /// (docs/model.md §12.1), for the learners that have them (none by default). It also sets
    /// the shift of the configured target, which `predict` applies from then on.
    fn finish(&mut self, _p: &Prepared) -> Result<Vec<(TargetPrior, Tensor)>> {
        Ok(Vec::new())
    }
}

/// Trains `learner` on `p` from `start` to `schedule.epochs`, calling `on_epoch` after every
/// epoch, and scores the selected weights on the test set.
pub fn drive(
    learner: &mut impl Learner,
    p: Prepared,
    schedule: &Schedule,
    start: Start,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    let semi = learner.uses_unlabeled() && !p.unlabeled_rows.is_empty();
    let steps = if semi {
        p.unlabeled_rows.len().div_ceil(schedule.batch_unlabeled)
    } else {
        p.labeled_rows.len().div_ceil(schedule.batch_labeled)
    };
    let mut best = start.best_validation;
    let mut last = start.epoch;
    let mut history = Vec::new();
    for epoch in start.epoch + 1..=schedule.epochs {
        let mut rng = epoch_rng(schedule.seed, epoch);
        learner.begin_epoch(&p, epoch)?;
        let mut lab = learner.labeled_pool(&p);
        lab.shuffle(&mut rng);
        let mut unl = p.unlabeled_rows.clone();
        unl.shuffle(&mut rng);
        let mut lab = match schedule.labeled_class_power {
            Some(q) => LabeledCycle::by_class(lab, learner.row_labels(&p), q),
            None => LabeledCycle::new(lab),
        };
        let bar = progress_bar(schedule.progress, steps as u64, epoch, schedule.epochs);
        let started = Instant::now();
        let mut sum = StepTerms::default();
        let mut seen = 0usize;
        for step in 0..steps {
            let bl = lab.next_batch(schedule.batch_labeled, &mut rng);
            let bu = semi.then(|| {
                let s = step * schedule.batch_unlabeled;
                &unl[s..(s + schedule.batch_unlabeled).min(unl.len())]
            });
            let batch = Batch {
                epoch,
                labeled: &bl,
                unlabeled: bu,
            };
            let terms = learner.step(&p, &batch, &mut rng)?;
            if !terms.total.is_finite() {
                if let Some(b) = &bar {
                    b.abandon();
                }
                return Err(Error::NanLoss {
                    epoch,
                    step: step + 1,
                    value: terms.total,
                });
            }
            sum.labeled += terms.labeled;
            sum.unlabeled += terms.unlabeled;
            sum.ce += terms.ce;
            sum.total += terms.total;
            if let Some(s) = terms.enumerated {
                sum.enumerated = Some(sum.enumerated.unwrap_or(0.0) + s);
            }
            seen += bl.len() + bu.map_or(0, <[usize]>::len);
            if let Some(b) = &bar {
                let k = (step + 1) as f64;
                b.inc(1);
                b.set_message(format!(
                    "J {:.3} L {:.2} U {:.2} CE {:.3} | {:.0} samples/s",
                    sum.total / k,
                    sum.labeled / k,
                    sum.unlabeled / k,
                    sum.ce / k,
                    seen as f64 / started.elapsed().as_secs_f64()
                ));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let record = score_epoch(learner, &p, epoch, seconds, seen, &sum, steps)?;
        let improved = record
            .validation
            .as_ref()
            .is_some_and(|v| best.is_none_or(|b| v.balanced_acc > b));
        if improved {
            best = record.validation.as_ref().map(|v| v.balanced_acc);
        }
        learner.end_epoch(epoch, best, improved)?;
        last = epoch;
        on_epoch(&record);
        history.push(record);
    }
    // Model selection: with a validation split the reported model is the best validation epoch.
    let selected = learner.select()?.unwrap_or(last);
    let target_priors = learner
        .finish(&p)?
        .into_iter()
        .map(|(t, probs)| Ok((t, score_probs(&probs, &p.test, &p.train_sizes)?.scores)))
        .collect::<Result<Vec<_>>>()?;
    let test = score_probs(&learner.predict(&[&p.test])[0], &p.test, &p.train_sizes)?;
    Ok(Outcome {
        history,
        test,
        selected_epoch: selected,
        split: p.split,
        hidden: p.hidden,
        selection: None,
        target_priors,
        guard: None,
    })
}

/// The epoch's record: mean step terms, and scores on the labeled rows, the test set and the
/// validation split.
fn score_epoch(
    learner: &impl Learner,
    p: &Prepared,
    epoch: usize,
    seconds: f64,
    seen: usize,
    sum: &StepTerms,
    steps: usize,
) -> Result<EpochRecord> {
    let mut sets = vec![&p.labeled_data, &p.test];
    sets.extend(p.val.as_ref());
    let probs = learner.predict(&sets);
    let mut scores = Vec::with_capacity(sets.len());
    for (prob, set) in probs.iter().zip(&sets) {
        scores.push(Scores::from(&score_probs(prob, set, &p.train_sizes)?));
    }
    let validation = (scores.len() == 3).then(|| scores.pop()).flatten();
    let test = scores.pop();
    let train = scores.pop();
    let n = steps.max(1) as f64;
    Ok(EpochRecord {
        epoch,
        seconds,
        samples_per_sec: seen as f64 / seconds.max(1e-9),
        loss_labeled: sum.labeled / n,
        loss_unlabeled: sum.unlabeled / n,
        loss_ce: sum.ce / n,
        loss_total: sum.total / n,
        enumerated: sum.enumerated.map(|s| s / n),
        // Cannot fail on user input: one score per set, and the first two sets always exist.
        train: train.expect("scores of the labeled rows"),
        // Cannot fail on user input: as above.
        test: test.expect("scores of the test set"),
        validation,
        pseudo_labels: pseudo_label_counts(
            learner.row_labels(p),
            p.train_ds.labels(),
            p.train_ds.num_classes(),
        ),
    })
}

/// Per class, the rows `pool` labels that `labels` leaves unlabeled (the pseudo-labels), or None
/// when there are none.
fn pseudo_label_counts(
    pool: &[Option<usize>],
    labels: &[Option<usize>],
    classes: usize,
) -> Option<Vec<usize>> {
    let mut counts = vec![0; classes];
    for (&pooled, &label) in pool.iter().zip(labels) {
        if let (Some(class), None) = (pooled, label) {
            counts[class] += 1;
        }
    }
    counts.iter().any(|&c| c > 0).then_some(counts)
}

/// Scores class probabilities (N×K) against `data`'s labels (all rows labeled): the one place
/// predictions become metrics, for SSMVAE-CI and the baselines alike.
pub fn score_probs(probs: &Tensor, data: &DataTensors, train_sizes: &[usize]) -> Result<Metrics> {
    let pred: Vec<i64> = Vec::try_from(probs.argmax(1, false))?;
    let pred: Vec<usize> = pred.into_iter().map(|p| p as usize).collect();
    // Cannot fail on user input: evaluation sets are labeled: build_split rejects an unlabeled test row, validation rows are labeled by construction.
    let truth: Vec<usize> = data
        .labels
        .iter()
        .map(|y| y.expect("evaluation data is labeled"))
        .collect();
    Metrics::compute(&truth, &pred, train_sizes)
}

/// Reseeds libtorch's generator and returns the epoch's ChaCha8 stream. Every epoch reseeds both
/// random sources, so a resumed run repeats an uninterrupted one.
pub fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    tch::manual_seed(
        (seed as i64)
            .wrapping_mul(1_000_003)
            .wrapping_add(epoch as i64),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1000 + epoch as u64);
    rng
}

fn progress_bar(
    show: bool,
    steps: u64,
    epoch: usize,
    epochs: usize,
) -> Option<indicatif::ProgressBar> {
    if !show {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    bar.set_style(
        // Cannot fail on user input: a constant template string, checked by every run.
        indicatif::ProgressStyle::with_template("epoch {prefix} [{bar:25}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::pseudo_label_counts;

    #[test]
    fn pseudo_labels_are_the_pooled_rows_without_a_label() {
        let labels = [Some(0), None, None, Some(2), None];
        // Row 1 pseudo-labeled 2, row 4 pseudo-labeled 0; the labeled rows are not counted.
        let pool = [Some(0), Some(2), None, Some(2), Some(0)];
        assert_eq!(pseudo_label_counts(&pool, &labels, 3), Some(vec![1, 0, 1]));
        assert_eq!(pseudo_label_counts(&labels, &labels, 3), None);
    }
}
