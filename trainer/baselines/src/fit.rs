//! The discriminative baselines (CReST, Adsh, CMML, SMLN, GAMO) as one [`Learner`] on the shared
//! epoch driver: the same split, fused data, batches, epochs and evaluation as SSMVAE-CI
//! (`trainer::run::train`, in ssmvae-lab, prepares them). Every baseline trains the [`Backbone`] on the labeled
//! cross-entropy; what differs is a [`Recipe`], one per method in its own file: the unlabeled
//! term, an epoch hook (CReST's generations, Adsh's thresholds), CMML's extra labeled terms and
//! GAMO's adversarial rounds.
//!
//! Baseline models are benchmark subjects only: they are scored in memory (CReST and Adsh with
//! the moving average of their weights, as FixMatch; best validation epoch restored when a
//! validation split is carved) and not written as checkpoints or bundles.

use super::backbone::{ce, masked_mean, Backbone};
use super::ema::{restore, snapshot, with_weights, zero_grads, Ema, Snapshot};
use super::recipe::{Pool, Recipe, UnlabeledBatch};
use super::{adsh::Adsh, cmml::Cmml, crest::Crest, gamo::Gamo, smln::Smln};
use rand_chacha::ChaCha8Rng;
use ssmvae_core::augment::{augment, Strength};
use ssmvae_core::data::ModalityKind;
use ssmvae_core::error::{DataError, Result};
use ssmvae_core::objective::StepTerms;
use ssmvae_core::train::adam::Adam;
use ssmvae_core::train::config::{Method, TrainConfig};
use ssmvae_core::train::driver::{
    drive, Batch, EpochRecord, Learner, Outcome, Prepared, Schedule, Start, TrainOptions,
};
use ssmvae_core::train::tensors::{index_tensor, DataTensors};
use tch::{Device, Kind, Tensor};

/// Trains the baseline `cfg.run.method` on prepared data.
pub fn train(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    p: Prepared,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    let schedule = Schedule::of(cfg, opts);
    let kinds: Vec<ModalityKind> = p.train_ds.modalities().iter().map(|m| m.kind()).collect();
    let classes = p.train_ds.num_classes();
    match cfg.run.method {
        Method::Crest => {
            let mut l = BaselineLearner::new(cfg, &p, |p| Ok(Crest::recipe(cfg, p, kinds)))?;
            drive(&mut l, p, &schedule, Start::default(), on_epoch)
        }
        Method::Adsh => {
            let mut l = BaselineLearner::new(cfg, &p, |p| Ok(Adsh::recipe(cfg, p, kinds)))?;
            drive(&mut l, p, &schedule, Start::default(), on_epoch)
        }
        Method::Cmml => {
            let mut l = BaselineLearner::new(cfg, &p, |_| Ok(Cmml::new(cfg)))?;
            drive(&mut l, p, &schedule, Start::default(), on_epoch)
        }
        Method::Smln => {
            let mut l = BaselineLearner::new(cfg, &p, |p| Smln::new(cfg, p))?;
            drive(&mut l, p, &schedule, Start::default(), on_epoch)
        }
        Method::Gamo => {
            let mut l = BaselineLearner::new(cfg, &p, |p| Ok(Gamo::new(cfg, p, classes)))?;
            drive(&mut l, p, &schedule, Start::default(), on_epoch)
        }
        Method::Ssmvae => Err(DataError::InvalidParameter {
            name: "method",
            value: "ssmvae".into(),
            reason: "SSMVAE-CI is not a baseline; it trains with its own learner (train::fit)"
                .into(),
        }
        .into()),
    }
}

struct BaselineLearner<R: Recipe> {
    recipe: R,
    net: Backbone,
    adam: Adam,
    ema: Option<Ema>,
    kinds: Vec<ModalityKind>,
    pool: Pool,
    labels_t: Tensor,
    unlabeled_weight: f64,
    best: Option<(usize, Snapshot)>,
    device: Device,
}

impl<R: Recipe> BaselineLearner<R> {
    /// Seeds libtorch, builds the backbone, then the recipe (so GAMO's networks draw their
    /// initial weights after the backbone's, from the same seeded stream).
    fn new(
        cfg: &TrainConfig,
        p: &Prepared,
        make_recipe: impl FnOnce(&Prepared) -> Result<R>,
    ) -> Result<Self> {
        let device = p.device;
        tch::manual_seed(cfg.run.seed as i64);
        let net = Backbone::new(
            device,
            &p.data.dims,
            &p.hidden,
            p.train_ds.num_classes(),
            cfg.run.method == Method::Cmml,
        );
        let adam = Adam::new(&net.vs, cfg.optim.lr);
        let recipe = make_recipe(p)?;
        let labels = p.label_codes();
        let ema = (recipe.fixmatch_family() && cfg.baseline.ema_decay > 0.0)
            .then(|| Ema::new(&net.vs, cfg.baseline.ema_decay));
        Ok(BaselineLearner {
            recipe,
            adam,
            ema,
            kinds: p.train_ds.modalities().iter().map(|m| m.kind()).collect(),
            labels_t: Tensor::from_slice(&labels).to_device(device),
            pool: Pool {
                labels,
                rows: p.labeled_rows.clone(),
            },
            unlabeled_weight: cfg.baseline.unlabeled_weight,
            best: None,
            net,
            device,
        })
    }

    /// The labeled part: every member's cross-entropy on the labeled samples that observe it
    /// (weakly augmented for the FixMatch family), plus the recipe's extra terms.
    fn labeled_loss(&self, p: &Prepared, rows: &[usize]) -> Tensor {
        let bl_t = index_tensor(rows, self.device);
        let y = self.labels_t.index_select(0, &bl_t);
        let present = p.data.present.index_select(0, &bl_t);
        let xs: Vec<Tensor> = p
            .data
            .xs
            .iter()
            .zip(&self.kinds)
            .map(|(x, &k)| {
                let x = x.index_select(0, &bl_t);
                if self.recipe.fixmatch_family() {
                    augment(&x, k, Strength::Weak)
                } else {
                    x
                }
            })
            .collect();
        let logits = self.net.logits(&xs);
        // Cannot fail on user input: a dataset always has at least one modality (MultimodalDataset::new).
        let loss = logits
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let mask = present.select(1, j as i64).to_kind(Kind::Float);
                masked_mean(&ce(l, &y), &mask)
            })
            .reduce(|a, b| a + b)
            .expect("one modality");
        self.recipe
            .add_labeled_terms(&self.net, &xs, &logits, &present, &y, loss)
    }
}

impl<R: Recipe> Learner for BaselineLearner<R> {
    fn uses_unlabeled(&self) -> bool {
        self.recipe.uses_unlabeled()
    }

    fn begin_epoch(&mut self, p: &Prepared, epoch: usize) -> Result<()> {
        self.recipe
            .begin_epoch(&self.net, p, epoch, &mut self.pool)?;
        self.labels_t = Tensor::from_slice(&self.pool.labels).to_device(self.device);
        Ok(())
    }

    fn labeled_pool(&self, _p: &Prepared) -> Vec<usize> {
        self.pool.rows.clone()
    }

    fn step(&mut self, p: &Prepared, batch: &Batch, rng: &mut ChaCha8Rng) -> Result<StepTerms> {
        let loss_l = self.labeled_loss(p, batch.labeled);
        let mut loss = loss_l.shallow_clone();
        let mut unlabeled = 0.0;
        if let Some(rows) = batch.unlabeled {
            let bu_t = index_tensor(rows, self.device);
            let ub = UnlabeledBatch {
                rows,
                labeled_rows: batch.labeled,
                raw: p.data.xs.iter().map(|x| x.index_select(0, &bu_t)).collect(),
                present: p.data.present.index_select(0, &bu_t),
            };
            let loss_u = self.recipe.unlabeled_loss(&self.net, p, &ub, rng)?;
            unlabeled = f64::try_from(&loss_u).unwrap_or(f64::NAN);
            loss += loss_u * self.unlabeled_weight;
        }
        let loss = self.recipe.finish_loss(&self.net, p, batch.labeled, loss)?;
        let total = f64::try_from(&loss).unwrap_or(f64::NAN);
        let labeled = f64::try_from(&loss_l).unwrap_or(f64::NAN);
        let terms = StepTerms {
            labeled,
            unlabeled,
            ce: labeled,
            total,
            enumerated: None,
        };
        if total.is_finite() {
            zero_grads(&self.net.vs);
            loss.backward();
            self.adam.step(&self.net.vs);
            if let Some(e) = self.ema.as_mut() {
                e.update(&self.net.vs);
            }
        }
        Ok(terms)
    }

    fn predict(&self, sets: &[&DataTensors]) -> Vec<Tensor> {
        with_weights(&self.net.vs, self.ema.as_ref(), || {
            sets.iter().map(|d| self.net.predict(d)).collect()
        })
    }

    fn end_epoch(&mut self, epoch: usize, _best: Option<f64>, improved: bool) -> Result<()> {
        if improved {
            let saved = with_weights(&self.net.vs, self.ema.as_ref(), || snapshot(&self.net.vs));
            self.best = Some((epoch, saved));
        }
        Ok(())
    }

    fn select(&mut self) -> Result<Option<usize>> {
        // From here on the raw weights are the reported ones: the best epoch's evaluated weights,
        // or the final average.
        let ema = self.ema.take();
        match &self.best {
            Some((epoch, saved)) => {
                restore(&self.net.vs, saved);
                Ok(Some(*epoch))
            }
            None => {
                if let Some(avg) = ema.as_ref().and_then(Ema::weights) {
                    restore(&self.net.vs, &avg);
                }
                Ok(None)
            }
        }
    }
}
