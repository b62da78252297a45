//! SSMVAE-CI as a [`Learner`]: its networks, Adam, the per-dataset constants (docs/model.md §8)
//! and the checkpoints. Its configurations (SSVAE, the supervised floor, LDAM-DRW) are settings
//! of the same learner. The epochs themselves are the shared driver's ([`super::driver`]).

use super::adam::Adam;
use super::checkpoint::{self, CheckpointMeta, CHECKPOINT_VERSION};
use super::config::{ClassifierLoss, LabelPrior, Method, TrainConfig};
use super::driver::{
    drive, Batch, EpochRecord, Learner, Outcome, Prepared, Schedule, Start, TrainOptions,
};
use super::ensemble::{
    Alignment, ClassTerm, Constants, Ensemble, EnsembleSpec, StepInputs, UnlabeledControl,
};
use super::evaluate::modality_specs;
use super::self_training::SelfTraining;
use super::tensors::{index_tensor, DataTensors};
use crate::error::{Error, Result};
use crate::objective::ldam::{drw_weights, ldam_margins};
use crate::objective::rebalance::{
    em_prior, label_prior, logit_bias, rampup, target_bias, RunningMean,
};
use crate::objective::StepTerms;
use crate::objective::TargetPrior;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// Trains SSMVAE-CI (or one of its configurations) on a run that `trainer::run::train` (ssmvae-lab) prepared,
/// calling `on_epoch` after every epoch.
pub fn fit(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    p: Prepared,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    let (mut learner, start) = SsmvaeLearner::new(cfg, opts, &p)?;
    drive(&mut learner, p, &Schedule::of(cfg, opts), start, on_epoch)
}

impl Schedule {
    /// The schedule a configuration asks for.
    pub fn of(cfg: &TrainConfig, opts: &TrainOptions) -> Self {
        Schedule {
            seed: cfg.run.seed,
            epochs: cfg.optim.epochs,
            batch_labeled: cfg.optim.batch_labeled,
            batch_unlabeled: cfg.optim.batch_unlabeled,
            progress: opts.progress,
            // §12.9 is SSMVAE-CI's: the baselines keep the uniform labeled batches they were
            // published with, whatever the key says.
            labeled_class_power: Some(cfg.rare_class())
                .filter(|rc| cfg.run.method == Method::Ssmvae && rc.balanced_labeled)
                .map(|rc| rc.labeled_class_power),
        }
    }
}

struct SsmvaeLearner {
    cfg: TrainConfig,
    ens: Ensemble,
    adam: Adam,
    meta: CheckpointMeta,
    checkpoint: PathBuf,
    best_path: PathBuf,
    has_validation: bool,
    /// Whether `select` restored the best validation epoch (whose file `finish` then updates).
    selected: bool,
    consts: Constants,
    /// −ln π_y of the labeled class frequencies, when the empirical label prior is asked for.
    neg_log_prior: Option<Tensor>,
    /// LDAM's margins Δ_k, when the classifier loss is LDAM.
    margins: Option<Tensor>,
    /// DRW's class weights and the first epoch they apply to.
    drw: Option<(Tensor, usize)>,
    /// This epoch's classification term.
    class_term: ClassTerm,
    /// This epoch's unlabeled weight and the alignment state (docs/model.md §12).
    control: UnlabeledControl,
    labels: Tensor,
    /// Self-training generations (docs/model.md §12.12), when on.
    self_training: Option<SelfTraining>,
    n_labeled: usize,
    n_unlabeled: usize,
    device: Device,
}

impl SsmvaeLearner {
    /// Builds the networks (seeded), resumes from the checkpoint when asked, and returns where
    /// training starts.
    fn new(cfg: &TrainConfig, opts: &TrainOptions, p: &Prepared) -> Result<(Self, Start)> {
        let device = p.device;
        tch::manual_seed(cfg.run.seed as i64);
        let labeled_counts = p.train_ds.labeled_counts();
        let mut spec = EnsembleSpec::from_config(
            cfg,
            &p.hidden,
            &modality_specs(&p.train_ds),
            p.train_ds.num_classes(),
        );
        let rare = cfg.rare_class();
        // §12.1: while training (the pseudo-labels of self-training read the shifted q, and the
        // epochs' records score it) the shift is the uniform target's whatever `target_prior`
        // says, so every target scores the same trained model; `finish` applies the target.
        if rare.logit_adjust > 0.0 {
            spec.logit_bias = logit_bias(&labeled_counts, rare.logit_adjust);
        }
        spec.class_prior_labels = label_prior(&labeled_counts);
        let ens = Ensemble::new(spec.clone(), device);
        let mut adam = Adam::new(&ens.vs, cfg.optim.lr);
        let mut meta = CheckpointMeta {
            version: CHECKPOINT_VERSION,
            config: cfg.clone(),
            ensemble: spec.clone(),
            modality_names: p.split.train.modality_names(),
            modality_dims: p.split.train.modalities().iter().map(|m| m.dim()).collect(),
            transforms: p.split.transforms.clone(),
            class_names: p.split.train.class_names().to_vec(),
            feature_names: feature_names(&p.split.train),
            train_class_sizes: p.train_sizes.clone(),
            epoch: 0,
            best_validation: None,
            align_running: Vec::new(),
            pseudo_labels: Vec::new(),
        };
        if opts.resume && opts.checkpoint.exists() {
            resume(&opts.checkpoint, &ens, &mut adam, &mut meta)?;
        }
        let start = Start {
            epoch: meta.epoch,
            best_validation: meta.best_validation,
        };
        let consts = ens.constants(&p.data, cfg);
        let (neg_log_prior, margins, drw) = class_term_tensors(cfg, &labeled_counts, device);
        let class_tensor = |v: Vec<f64>| {
            Tensor::from_slice(&v.iter().map(|&x| x as f32).collect::<Vec<_>>()).to_device(device)
        };
        let semi = cfg.model.mode.uses_unlabeled() && !p.unlabeled_rows.is_empty();
        let align = rare.align_unlabeled.then(|| {
            Alignment {
                // ln π: the same labeled frequencies as the logit adjustment, −(−ln π).
                log_target: class_tensor(
                    logit_bias(&labeled_counts, 1.0)
                        .iter()
                        .map(|b| -b)
                        .collect(),
                ),
                running: (0..spec.members.len())
                    .map(|i| {
                        RunningMean::resume(
                            meta.align_running
                                .get(i)
                                .map(|v| Tensor::from_slice(v).to_device(device)),
                        )
                    })
                    .collect(),
            }
        });
        let self_training = (semi && rare.self_training_generations >= 2).then(|| {
            SelfTraining::new(
                p,
                rare.self_training_generations,
                rare.self_training_cap,
                rare.self_training_select,
                cfg.optim.epochs,
                meta.pseudo_labels.clone(),
            )
        });
        let labels = match &self_training {
            Some(s) => s.label_codes(),
            None => p.label_codes(),
        };
        let learner = SsmvaeLearner {
            cfg: cfg.clone(),
            ens,
            adam,
            meta,
            checkpoint: opts.checkpoint.clone(),
            best_path: opts.checkpoint.with_extension("best.safetensors"),
            selected: false,
            has_validation: p.val.is_some(),
            consts,
            neg_log_prior,
            margins,
            drw,
            class_term: ClassTerm::default(),
            control: UnlabeledControl { weight: 1.0, align },
            labels: Tensor::from_slice(&labels).to_device(device),
            self_training,
            n_labeled: p.labeled_rows.len(),
            n_unlabeled: if semi { p.unlabeled_rows.len() } else { 0 },
            device,
        };
        Ok((learner, start))
    }
}

/// The classification term's per-class tensors for the labeled counts: −ln π_y under the
/// empirical label prior, LDAM's margins Δ_k, and deferred re-weighting's class weights with the
/// first epoch they apply to (Cao et al. switch it on for their epochs 161–200 of 200).
#[allow(clippy::type_complexity)]
fn class_term_tensors(
    cfg: &TrainConfig,
    labeled_counts: &[usize],
    device: Device,
) -> (Option<Tensor>, Option<Tensor>, Option<(Tensor, usize)>) {
    let class_tensor = |v: Vec<f64>| {
        Tensor::from_slice(&v.iter().map(|&x| x as f32).collect::<Vec<_>>()).to_device(device)
    };
    let neg_log_prior = (cfg.model.label_prior == LabelPrior::Empirical).then(|| {
        let total: usize = labeled_counts.iter().sum();
        class_tensor(
            labeled_counts
                .iter()
                .map(|&c| -((c.max(1) as f64) / total as f64).ln())
                .collect(),
        )
    });
    let margins = (cfg.objective.classifier_loss == ClassifierLoss::Ldam)
        .then(|| class_tensor(ldam_margins(labeled_counts, cfg.objective.ldam_max_margin)));
    let drw_from = (cfg.objective.drw_start * cfg.optim.epochs as f64).round() as usize;
    let drw = (cfg.objective.drw_beta > 0.0).then(|| {
        (
            class_tensor(drw_weights(labeled_counts, cfg.objective.drw_beta)),
            drw_from + 1,
        )
    });
    (neg_log_prior, margins, drw)
}

/// Loads the checkpoint at `path` into the networks and Adam, and its progress (epoch, best
/// validation, alignment and self-training state) into `meta`, when it was trained with the same
/// networks (`meta.ensemble`).
fn resume(path: &Path, ens: &Ensemble, adam: &mut Adam, meta: &mut CheckpointMeta) -> Result<()> {
    let loaded = checkpoint::load(path)?;
    // What `finish` writes after training (the EM estimate, the target's shift) is not part of
    // the model being trained: a finished run resumes into more epochs with the training shift,
    // which τ alone decides (checked below); checkpoints from before the priors have none.
    let trained = |s: &EnsembleSpec| EnsembleSpec {
        logit_bias: Vec::new(),
        class_prior_estimate: Vec::new(),
        class_prior_labels: Vec::new(),
        ..s.clone()
    };
    let tau = |c: &crate::train::config::TrainConfig| c.rare_class().logit_adjust;
    if loaded.meta.config.model.mode != meta.config.model.mode {
        return Err(Error::Checkpoint {
            path: path.to_path_buf(),
            message: format!(
                "was trained with mode = {}; it cannot be resumed with mode = {} (docs/model.md §12.13)",
                loaded.meta.config.model.mode, meta.config.model.mode
            ),
        });
    }
    if trained(&loaded.meta.ensemble) != trained(&meta.ensemble)
        || tau(&loaded.meta.config) != tau(&meta.config)
    {
        return Err(Error::Checkpoint {
            path: path.to_path_buf(),
            message: "was trained with a different model shape or data; it cannot be resumed with this configuration".into(),
        });
    }
    loaded.restore(path, ens, Some(adam))?;
    meta.epoch = loaded.meta.epoch;
    meta.best_validation = loaded.meta.best_validation;
    meta.align_running = loaded.meta.align_running;
    meta.pseudo_labels = loaded.meta.pseudo_labels;
    Ok(())
}

impl Learner for SsmvaeLearner {
    fn uses_unlabeled(&self) -> bool {
        self.cfg.model.mode.uses_unlabeled()
    }

    fn begin_epoch(&mut self, p: &Prepared, epoch: usize) -> Result<()> {
        // §12.12: a new generation pseudo-labels the unlabeled samples with the current model.
        if let Some(st) = self
            .self_training
            .as_mut()
            .filter(|s| s.starts_generation(epoch))
        {
            let rows = index_tensor(&p.unlabeled_rows, self.device);
            let probs = self.ens.predict_probs(&p.data).index_select(0, &rows);
            st.relabel(p, &probs)?;
            self.labels = Tensor::from_slice(&st.label_codes()).to_device(self.device);
            // CReST retrains a new model per generation: the fresh networks draw from this
            // epoch's seed (reseeded before this call), so a resumed run restarts identically.
            if self.cfg.rare_class().self_training_restart {
                self.ens = Ensemble::new(self.ens.spec.clone(), self.device);
                self.adam = Adam::new(&self.ens.vs, self.cfg.optim.lr);
            }
        }
        self.class_term = ClassTerm {
            margins: self.margins.as_ref().map(Tensor::shallow_clone),
            weights: self
                .drw
                .as_ref()
                .filter(|(_, from)| epoch >= *from)
                .map(|(w, _)| w.shallow_clone()),
        };
        // §12.3: U ramps up over the first `unlabeled_rampup` of the epochs.
        let ramp_epochs = self.cfg.rare_class().unlabeled_rampup * self.cfg.optim.epochs as f64;
        self.control.weight = if ramp_epochs > 0.0 {
            rampup((epoch - 1) as f64 / ramp_epochs)
        } else {
            1.0
        };
        Ok(())
    }

    fn labeled_pool(&self, p: &Prepared) -> Vec<usize> {
        match &self.self_training {
            Some(st) => st.pool(p),
            None => p.labeled_rows.clone(),
        }
    }

    fn row_labels<'a>(&'a self, p: &'a Prepared) -> &'a [Option<usize>] {
        match &self.self_training {
            Some(st) => st.row_labels(),
            None => p.train_ds.labels(),
        }
    }

    fn step(&mut self, p: &Prepared, batch: &Batch, _rng: &mut ChaCha8Rng) -> Result<StepTerms> {
        let bl = index_tensor(batch.labeled, self.device);
        let y = self.labels.index_select(0, &bl);
        let bu = batch.unlabeled.map(|u| index_tensor(u, self.device));
        let inputs = StepInputs {
            data: &p.data,
            consts: &self.consts,
            labeled: &bl,
            y: &y,
            unlabeled: bu.as_ref(),
            n_labeled: self.n_labeled,
            n_unlabeled: self.n_unlabeled,
            neg_log_prior: self.neg_log_prior.as_ref(),
            class_term: &self.class_term,
        };
        let terms = self
            .ens
            .step(&mut self.adam, &self.cfg, &inputs, &mut self.control);
        Ok(terms)
    }

    fn predict(&self, sets: &[&DataTensors]) -> Vec<Tensor> {
        sets.iter().map(|d| self.ens.predict_probs(d)).collect()
    }

    fn end_epoch(
        &mut self,
        epoch: usize,
        best_validation: Option<f64>,
        improved: bool,
    ) -> Result<()> {
        self.meta.epoch = epoch;
        self.meta.best_validation = best_validation;
        if let Some(st) = &self.self_training {
            self.meta.pseudo_labels = st.pseudo_labels().to_vec();
        }
        if let Some(a) = &self.control.align {
            self.meta.align_running = a
                .running
                .iter()
                .map(|r| {
                    r.get()
                        .map(|t| Vec::<f32>::try_from(t.to_kind(tch::Kind::Float)))
                        .transpose()
                        .map(Option::unwrap_or_default)
                })
                .collect::<std::result::Result<_, _>>()?;
        }
        if improved {
            checkpoint::save(&self.best_path, &self.ens, &self.adam, &self.meta)?;
        }
        checkpoint::save(&self.checkpoint, &self.ens, &self.adam, &self.meta)
    }

    /// §12.1: the EM estimate of the unlabeled rows' class prior from the final model's
    /// unshifted q(y|x), kept in the checkpoint (and so the bundle); the shift toward the
    /// configured target with it; and the test set's probabilities under every target.
    fn finish(&mut self, p: &Prepared) -> Result<Vec<(TargetPrior, Tensor)>> {
        let rare = self.cfg.rare_class();
        let counts = &p.train_ds.labeled_counts();
        self.ens.spec.logit_bias = Vec::new();
        let estimate = if p.unlabeled_rows.is_empty() {
            None
        } else {
            let all = self.ens.predict_probs(&p.data);
            let rows = Tensor::from_slice(
                &p.unlabeled_rows
                    .iter()
                    .map(|&r| r as i64)
                    .collect::<Vec<_>>(),
            )
            .to_device(self.device);
            let q =
                Vec::<Vec<f32>>::try_from(all.index_select(0, &rows).to_kind(tch::Kind::Float))?;
            em_prior(&q, &self.ens.spec.class_prior_labels)
        };
        let mut per_target = Vec::new();
        for target in [
            TargetPrior::Uniform,
            TargetPrior::Train,
            TargetPrior::Estimated,
        ] {
            self.ens.spec.logit_bias =
                target_bias(target, counts, rare.logit_adjust, estimate.as_deref());
            per_target.push((target, self.ens.predict_probs(&p.test)));
        }
        self.ens.spec.logit_bias = target_bias(
            rare.target_prior,
            counts,
            rare.logit_adjust,
            estimate.as_deref(),
        );
        self.ens.spec.class_prior_estimate = estimate.unwrap_or_default();
        self.meta.ensemble = self.ens.spec.clone();
        // The file the reported model lives in: the best validation epoch's when one was chosen.
        let path = if self.selected {
            &self.best_path
        } else {
            &self.checkpoint
        };
        checkpoint::save(path, &self.ens, &self.adam, &self.meta)?;
        Ok(per_target)
    }

    fn select(&mut self) -> Result<Option<usize>> {
        if !(self.has_validation && self.best_path.exists()) {
            return Ok(None);
        }
        let loaded = checkpoint::load(&self.best_path)?;
        loaded.restore(&self.best_path, &self.ens, None)?;
        let epoch = loaded.meta.epoch;
        // `finish` rewrites the best epoch's file: with that epoch's record, not the last one's.
        self.meta = loaded.meta;
        self.selected = true;
        Ok(Some(epoch))
    }
}

/// The feature names of every modality, or none when some modality has none (arrays, images).
fn feature_names(ds: &crate::data::MultimodalDataset) -> Vec<Vec<String>> {
    let names: Vec<Vec<String>> = ds
        .modalities()
        .iter()
        .map(|m| m.feature_names().to_vec())
        .collect();
    if names.iter().any(Vec::is_empty) {
        Vec::new()
    } else {
        names
    }
}
