//! Training: the loop, model selection on an optional validation split, per-epoch logs and
//! checkpoints, evaluation and prediction. The model and its objective live in [`crate::model`]
//! and [`crate::objective`]; this module only drives them.

pub mod adam;
pub mod checkpoint;
pub mod config;
pub mod ensemble;
pub mod tensors;

use crate::data::MultimodalDataset;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::ModalitySpec;
use crate::objective::ldam::{drw_weights, ldam_margins};
use crate::protocol::Split;
use adam::Adam;
use checkpoint::{CheckpointMeta, CHECKPOINT_VERSION};
use config::{ClassifierLoss, Fusion, LabelPrior, Mode, TrainConfig};
use ensemble::{ClassTerm, Ensemble, EnsembleSpec, StepTerms};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Kind, Tensor};
use tensors::{index_tensor, DataTensors, LabeledCycle};

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

/// The scores of one evaluation, without the confusion matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Overall accuracy.
    pub overall_acc: f64,
    /// Minority-class accuracy.
    pub minority_acc: f64,
    /// Balanced accuracy.
    pub balanced_acc: f64,
    /// Macro-F1.
    pub macro_f1: f64,
    /// G-mean.
    pub g_mean: f64,
}

impl From<&Metrics> for Scores {
    fn from(m: &Metrics) -> Self {
        Scores {
            overall_acc: m.overall_acc,
            minority_acc: m.minority_acc,
            balanced_acc: m.balanced_acc,
            macro_f1: m.macro_f1,
            g_mean: m.g_mean,
        }
    }
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
    /// Mean labeled γ-loss L_γ.
    pub loss_labeled: f64,
    /// Mean unlabeled U.
    pub loss_unlabeled: f64,
    /// Mean cross-entropy.
    pub loss_ce: f64,
    /// Mean minimised objective Ĵ.
    pub loss_total: f64,
    /// Scores on the labeled training samples.
    pub train: Scores,
    /// Scores on the test set.
    pub test: Scores,
    /// Scores on the validation split, if any.
    pub validation: Option<Scores>,
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
}

/// What every training loop starts from, prepared once from the configuration: the split, the
/// fused training data and its labeled/unlabeled rows, and the evaluation sets, on the device.
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
}

/// The fused view the model reads (early fusion concatenates; the others keep the modalities).
pub fn fused(ds: &MultimodalDataset, fusion: Fusion) -> MultimodalDataset {
    match fusion {
        Fusion::Early => ds.concatenated(),
        Fusion::Poe | Fusion::Late => ds.clone(),
    }
}

fn modality_specs(ds: &MultimodalDataset) -> Vec<ModalitySpec> {
    ds.modalities()
        .iter()
        .map(|m| ModalitySpec {
            name: m.name().to_string(),
            dim: m.dim(),
            kind: m.kind(),
        })
        .collect()
}

/// Scores of `ens` on `data` (all rows labeled).
pub fn evaluate(ens: &Ensemble, data: &DataTensors, train_sizes: &[usize]) -> Result<Metrics> {
    score_probs(&ens.predict_probs(data), data, train_sizes)
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

/// SSMVAE-CI's training loop (and its configurations: SSVAE, the supervised floor, LDAM-DRW) on a
/// run that [`crate::run::train`] prepared, calling `on_epoch` after every epoch.
pub fn fit(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    p: Prepared,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    let Prepared {
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
    } = p;
    tch::manual_seed(cfg.seed as i64);
    let spec = EnsembleSpec::from_config(cfg, &modality_specs(&train_ds), train_ds.num_classes());
    let ens = Ensemble::new(spec.clone(), device);
    let mut adam = Adam::new(&ens.vs, cfg.lr);
    let mut meta = CheckpointMeta {
        version: CHECKPOINT_VERSION,
        config: cfg.clone(),
        ensemble: spec.clone(),
        modality_names: split.train.modality_names(),
        modality_dims: split.train.modalities().iter().map(|m| m.dim()).collect(),
        transforms: split.transforms.clone(),
        class_names: split.train.class_names().to_vec(),
        train_class_sizes: train_sizes.clone(),
        epoch: 0,
        best_validation: None,
    };
    if opts.resume && opts.checkpoint.exists() {
        let loaded = checkpoint::load(&opts.checkpoint)?;
        if loaded.meta.ensemble != spec {
            return Err(Error::Checkpoint {
                path: opts.checkpoint.clone(),
                message: "was trained with a different model shape or data; it cannot be resumed with this configuration".into(),
            });
        }
        loaded.restore(&opts.checkpoint, &ens, Some(&mut adam))?;
        meta.epoch = loaded.meta.epoch;
        meta.best_validation = loaded.meta.best_validation;
    }
    let best_path = opts.checkpoint.with_extension("best.safetensors");

    let consts = ens.constants(&data, cfg);
    let neg_log_prior = (cfg.label_prior == LabelPrior::Empirical).then(|| {
        let counts = train_ds.labeled_counts();
        let total: usize = counts.iter().sum();
        let v: Vec<f32> = counts
            .iter()
            .map(|&c| -((c.max(1) as f64) / total as f64).ln() as f32)
            .collect();
        Tensor::from_slice(&v).to_device(device)
    });
    let labeled_counts = train_ds.labeled_counts();
    let class_tensor = |v: Vec<f64>| {
        Tensor::from_slice(&v.iter().map(|&x| x as f32).collect::<Vec<_>>()).to_device(device)
    };
    let margins = (cfg.classifier_loss == ClassifierLoss::Ldam)
        .then(|| class_tensor(ldam_margins(&labeled_counts, cfg.ldam_max_margin)));
    // Deferred re-weighting: Cao et al. switch it on for the last epochs (their 161–200 of 200).
    let drw_from = (cfg.drw_start * cfg.epochs as f64).round() as usize;
    let drw =
        (cfg.drw_beta > 0.0).then(|| class_tensor(drw_weights(&labeled_counts, cfg.drw_beta)));
    let semi = cfg.mode == Mode::Semi && !unlabeled_rows.is_empty();
    let (n_l, n_u) = (
        labeled_rows.len(),
        if semi { unlabeled_rows.len() } else { 0 },
    );
    let steps = if semi {
        n_u.div_ceil(cfg.batch_unlabeled)
    } else {
        n_l.div_ceil(cfg.batch_labeled)
    };
    let labels_all: Vec<i64> = train_ds
        .labels()
        .iter()
        .map(|y| y.map_or(-1, |v| v as i64))
        .collect();
    let labels_t = Tensor::from_slice(&labels_all).to_device(device);

    let mut history = Vec::new();
    for epoch in meta.epoch + 1..=cfg.epochs {
        let mut rng = epoch_rng(cfg.seed, epoch);
        let class_term = ClassTerm {
            margins: margins.as_ref().map(Tensor::shallow_clone),
            weights: drw
                .as_ref()
                .filter(|_| epoch > drw_from)
                .map(Tensor::shallow_clone),
        };
        let mut lab = labeled_rows.clone();
        lab.shuffle(&mut rng);
        let mut unl = unlabeled_rows.clone();
        unl.shuffle(&mut rng);
        let bar = progress_bar(opts.progress, steps as u64, epoch, cfg.epochs);
        let start = Instant::now();
        let mut sum = StepTerms::default();
        let mut lab = LabeledCycle::new(lab);
        let mut seen = 0usize;
        for step in 0..steps {
            let bl = lab.next_batch(cfg.batch_labeled, &mut rng);
            let bl_t = index_tensor(&bl, device);
            let y = labels_t.index_select(0, &bl_t);
            let bu = semi.then(|| {
                let s = step * cfg.batch_unlabeled;
                index_tensor(&unl[s..(s + cfg.batch_unlabeled).min(unl.len())], device)
            });
            let (loss, terms) = ens.loss(
                cfg,
                &data,
                &consts,
                &bl_t,
                &y,
                bu.as_ref(),
                n_l,
                n_u,
                neg_log_prior.as_ref(),
                &class_term,
            );
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
            loss.backward();
            adam.step(&ens.vs);
            sum.labeled += terms.labeled;
            sum.unlabeled += terms.unlabeled;
            sum.ce += terms.ce;
            sum.total += terms.total;
            seen += bl.len() + bu.as_ref().map_or(0, |b| b.size()[0] as usize);
            if let Some(b) = &bar {
                b.inc(1);
                b.set_message(format!(
                    "J {:.3} L {:.2} U {:.2} CE {:.3} | {:.0} samples/s",
                    sum.total / (step + 1) as f64,
                    sum.labeled / (step + 1) as f64,
                    sum.unlabeled / (step + 1) as f64,
                    sum.ce / (step + 1) as f64,
                    seen as f64 / start.elapsed().as_secs_f64()
                ));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let n = steps.max(1) as f64;
        let val_scores = match &val {
            Some(v) => Some(Scores::from(&evaluate(&ens, v, &train_sizes)?)),
            None => None,
        };
        let record = EpochRecord {
            epoch,
            seconds,
            samples_per_sec: seen as f64 / seconds.max(1e-9),
            loss_labeled: sum.labeled / n,
            loss_unlabeled: sum.unlabeled / n,
            loss_ce: sum.ce / n,
            loss_total: sum.total / n,
            train: Scores::from(&evaluate(&ens, &labeled_data, &train_sizes)?),
            test: Scores::from(&evaluate(&ens, &test, &train_sizes)?),
            validation: val_scores.clone(),
        };
        meta.epoch = epoch;
        if let Some(v) = &val_scores {
            if meta.best_validation.is_none_or(|b| v.balanced_acc > b) {
                meta.best_validation = Some(v.balanced_acc);
                checkpoint::save(&best_path, &ens, &adam, &meta)?;
            }
        }
        checkpoint::save(&opts.checkpoint, &ens, &adam, &meta)?;
        on_epoch(&record);
        history.push(record);
    }
    // Model selection: with a validation split the reported model is the best validation epoch.
    let (test_metrics, selected) = if val.is_some() && best_path.exists() {
        let loaded = checkpoint::load(&best_path)?;
        loaded.restore(&best_path, &ens, None)?;
        (evaluate(&ens, &test, &train_sizes)?, loaded.meta.epoch)
    } else {
        (evaluate(&ens, &test, &train_sizes)?, meta.epoch)
    };
    Ok(Outcome {
        history,
        test: test_metrics,
        selected_epoch: selected,
        split,
    })
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

/// A trained model read back from a checkpoint, ready to predict on raw data.
pub struct TrainedModel {
    /// The networks with the checkpoint's weights.
    pub ensemble: Ensemble,
    /// The checkpoint's metadata.
    pub meta: CheckpointMeta,
    /// The checkpoint file (named in errors).
    pub path: std::path::PathBuf,
}

impl TrainedModel {
    /// Loads a checkpoint on the CPU.
    pub fn load(path: &Path) -> Result<Self> {
        let loaded = checkpoint::load(path)?;
        let ensemble = Ensemble::new(loaded.meta.ensemble.clone(), tch::Device::Cpu);
        loaded.restore(path, &ensemble, None)?;
        Ok(TrainedModel {
            ensemble,
            meta: loaded.meta,
            path: path.to_path_buf(),
        })
    }

    /// Checks that `raw` has the checkpoint's modalities, by name, order and width; `what` names
    /// the data in the error ("dataset `mfeat`", "inputs.npz").
    pub fn check_modalities(&self, raw: &MultimodalDataset, what: &str) -> Result<()> {
        let bad = |message: String| Error::Checkpoint {
            path: self.path.clone(),
            message,
        };
        let names = raw.modality_names();
        if names != self.meta.modality_names {
            return Err(bad(format!(
                "trained on modalities [{}]; {what} has [{}]: use data with the modalities it was trained on",
                self.meta.modality_names.join(", "),
                names.join(", ")
            )));
        }
        for (m, &d) in raw.modalities().iter().zip(&self.meta.modality_dims) {
            if m.dim() != d {
                return Err(bad(format!(
                    "modality `{}` had {d} features in training; {what} gives it {}",
                    m.name(),
                    m.dim()
                )));
            }
        }
        Ok(())
    }

    /// Completes prediction inputs: a modality of the checkpoint that `raw` lacks entirely is
    /// added as missing for every row (the PoE leaves its expert out), and the modalities are put
    /// in the checkpoint's order. A modality the checkpoint does not know is an error, never
    /// silently ignored.
    pub fn complete_inputs(&self, raw: MultimodalDataset, what: &str) -> Result<MultimodalDataset> {
        let mut ds = raw;
        if let Some(extra) = ds
            .modality_names()
            .into_iter()
            .find(|n| !self.meta.modality_names.contains(n))
        {
            return Err(Error::Checkpoint {
                path: self.path.clone(),
                message: format!(
                    "{what} has modality `{extra}`, but the model was trained on [{}]",
                    self.meta.modality_names.join(", ")
                ),
            });
        }
        let have = ds.modality_names();
        for (name, &dim) in self
            .meta
            .modality_names
            .iter()
            .zip(&self.meta.modality_dims)
        {
            if !have.contains(name) {
                ds.add_absent_modality(name, crate::data::ModalityKind::Tabular, dim)?;
            }
        }
        ds.reorder_modalities(&self.meta.modality_names)?;
        Ok(ds)
    }

    /// A raw (untransformed) dataset as the model's input tensors: modalities checked against the
    /// checkpoint's by name and dimension, the checkpoint's transforms applied, fused as trained.
    pub fn tensors(&self, raw: &MultimodalDataset) -> Result<DataTensors> {
        self.check_modalities(raw, "the data")?;
        let mut ds = raw.clone();
        ds.apply_transforms(&self.meta.transforms)?;
        let ds = fused(&ds, self.meta.ensemble.fusion);
        Ok(DataTensors::new(&ds, tch::Device::Cpu))
    }

    /// Class probabilities (N×K, f32) for a raw (untransformed) dataset whose modalities match
    /// the checkpoint's by name and dimension.
    pub fn predict(&self, raw: &MultimodalDataset) -> Result<Vec<Vec<f32>>> {
        let data = self.tensors(raw)?;
        let probs = self.ensemble.predict_probs(&data).to_kind(Kind::Float);
        Ok(Vec::<Vec<f32>>::try_from(probs)?)
    }
}
