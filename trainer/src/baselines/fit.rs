//! The training loop of the discriminative baselines (CReST, Adsh, CMML, SMLN, GAMO) on the same
//! split, fused data, batches, epochs and evaluation as SSMVAE-CI ([`crate::run::train`] calls
//! this with what it prepared). The backbone is the other baselines' classifier MLP (the
//! configuration's `hidden` widths, ReLU), one per fused modality: early fusion has one over the
//! concatenated modalities, late fusion one per modality with the probabilities averaged over the
//! observed ones, CMML one per modality fused by attention.
//!
//! Baseline models are benchmark subjects only: they are scored in memory (CReST and Adsh with
//! the moving average of their weights, as FixMatch; best validation epoch restored when a
//! validation split is carved) and not written as checkpoints or bundles.

use super::augment::{augment, Strength};
use super::{adsh, cmml, crest, gamo, smln};
use crate::data::ModalityKind;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::layers::Mlp;
use crate::train::adam::Adam;
use crate::train::config::{Method, TrainConfig};
use crate::train::tensors::{index_tensor, DataTensors, LabeledCycle};
use crate::train::{epoch_rng, score_probs, EpochRecord, Outcome, Prepared, Scores};
use rand::seq::SliceRandom;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

/// One classifier MLP per fused modality (+ CMML's attention scorers).
pub struct Backbone {
    /// The variables.
    pub vs: nn::VarStore,
    members: Vec<Mlp>,
    attention: Vec<Mlp>,
}

impl Backbone {
    /// Builds the classifiers for modalities of widths `dims`.
    pub fn new(
        device: Device,
        dims: &[usize],
        hidden: &[usize],
        classes: usize,
        attention: bool,
    ) -> Self {
        let vs = nn::VarStore::new(device);
        let h: Vec<i64> = hidden.iter().map(|&w| w as i64).collect();
        let members = dims
            .iter()
            .enumerate()
            .map(|(j, &d)| {
                Mlp::new(
                    &(vs.root() / "classifier" / j),
                    d as i64,
                    0,
                    &h,
                    classes as i64,
                )
            })
            .collect();
        let attention = if attention {
            dims.iter()
                .enumerate()
                .map(|(j, &d)| Mlp::new(&(vs.root() / "attention" / j), d as i64, 0, &h[..1], 1))
                .collect()
        } else {
            Vec::new()
        };
        Backbone {
            vs,
            members,
            attention,
        }
    }

    /// Per-modality logits (B×K each).
    pub fn logits(&self, xs: &[Tensor]) -> Vec<Tensor> {
        self.members
            .iter()
            .zip(xs)
            .map(|(m, x)| m.forward(x))
            .collect()
    }

    /// The fused class probabilities of per-modality logits: CMML's attention, else the mean of
    /// the observed modalities' softmax (one modality: its softmax).
    pub fn fuse(&self, xs: &[Tensor], logits: &[Tensor], present: &Tensor) -> Tensor {
        let probs: Vec<Tensor> = logits.iter().map(|l| l.softmax(1, Kind::Float)).collect();
        if self.attention.is_empty() {
            let mask = present.to_kind(Kind::Float);
            // Cannot fail on user input: a dataset always has at least one modality (MultimodalDataset::new).
            let sum = probs
                .iter()
                .enumerate()
                .map(|(j, p)| p * mask.select(1, j as i64).unsqueeze(1))
                .reduce(|a, b| a + b)
                .expect("one modality at least");
            sum / mask.sum_dim_intlist(1, true, None).clamp_min(1.0)
        } else {
            let scores = Tensor::cat(
                &self
                    .attention
                    .iter()
                    .zip(xs)
                    .map(|(a, x)| a.forward(x))
                    .collect::<Vec<_>>(),
                1,
            );
            cmml::fuse(&probs, &cmml::attention_weights(&scores, present))
        }
    }

    /// Fused probabilities for every row of `data` (no gradient, no augmentation).
    pub fn predict(&self, data: &DataTensors) -> Tensor {
        let _g = tch::no_grad_guard();
        let device = self.vs.device();
        let mut out = Vec::new();
        for start in (0..data.len()).step_by(1024) {
            let end = (start + 1024).min(data.len());
            let idx = Tensor::arange_start(start as i64, end as i64, (Kind::Int64, device));
            let xs: Vec<Tensor> = data.xs.iter().map(|x| x.index_select(0, &idx)).collect();
            let present = data.present.index_select(0, &idx);
            out.push(self.fuse(&xs, &self.logits(&xs), &present));
        }
        Tensor::cat(&out, 0)
    }
}

/// Cross-entropy of `logits` against `y`, per sample.
fn ce(logits: &Tensor, y: &Tensor) -> Tensor {
    -logits
        .log_softmax(1, Kind::Float)
        .gather(1, &y.unsqueeze(1), false)
        .squeeze_dim(1)
}

/// Mean of `v` over the samples where `mask` (float 0/1) is 1 (0 when none).
fn masked_mean(v: &Tensor, mask: &Tensor) -> Tensor {
    (v * mask).sum(Kind::Float) / mask.sum(Kind::Float).clamp_min(1.0)
}

fn scores(net: &Backbone, data: &DataTensors, train_sizes: &[usize]) -> Result<Metrics> {
    score_probs(&net.predict(data), data, train_sizes)
}

/// A copy of every variable, by name.
type Snapshot = Vec<(String, Tensor)>;

fn snapshot(vs: &nn::VarStore) -> Snapshot {
    let _g = tch::no_grad_guard();
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (k, t.detach().copy()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn restore(vs: &nn::VarStore, saved: &[(String, Tensor)]) {
    let _g = tch::no_grad_guard();
    let vars = vs.variables();
    for (k, t) in saved {
        if let Some(v) = vars.get(k) {
            v.shallow_clone().copy_(t);
        }
    }
}

/// The exponential moving average of the weights that FixMatch evaluates (Sohn et al. 2020,
/// decay 0.999 over 2^20 steps) and CReST and Adsh inherit. Our schedules are ~10^3 steps, so
/// the default decay is 0.99 (a window of ~100 steps): the same role — the average of the recent
/// tail of training — at our length. It smooths the step-to-step swings that hard pseudo-labels
/// cause, which a last-epoch evaluation would otherwise sample.
///
/// Bias-corrected as Adam's moments (the sum starts at zero and is divided by 1 − decay^t), so
/// after t steps it is a weighted mean of the t weights seen, never of the initialisation: a
/// short schedule (a few dozen steps) is evaluated on trained weights, not on a mix dominated by
/// the random start.
struct Ema {
    decay: f64,
    steps: i32,
    sum: Snapshot,
}

impl Ema {
    fn new(vs: &nn::VarStore, decay: f64) -> Self {
        let _g = tch::no_grad_guard();
        let sum = snapshot(vs)
            .into_iter()
            .map(|(k, t)| (k, t.zeros_like()))
            .collect();
        Ema {
            decay,
            steps: 0,
            sum,
        }
    }

    /// sum ← decay · sum + (1 − decay) · weights, after an optimiser step.
    fn update(&mut self, vs: &nn::VarStore) {
        let _g = tch::no_grad_guard();
        let vars = vs.variables();
        for (k, s) in &mut self.sum {
            if let Some(v) = vars.get(k) {
                let _ = s.g_mul_scalar_(self.decay);
                let _ = s.g_add_(&(v * (1.0 - self.decay)));
            }
        }
        self.steps = self.steps.saturating_add(1);
    }

    /// The bias-corrected average (None before the first step: the raw weights stand).
    fn weights(&self) -> Option<Snapshot> {
        if self.steps == 0 {
            return None;
        }
        let _g = tch::no_grad_guard();
        let scale = 1.0 / (1.0 - self.decay.powi(self.steps));
        Some(
            self.sum
                .iter()
                .map(|(k, s)| (k.clone(), s * scale))
                .collect(),
        )
    }
}

/// Runs `f` with the EMA weights loaded (if any), then puts the raw weights back.
fn with_weights<T>(vs: &nn::VarStore, ema: Option<&Ema>, f: impl FnOnce() -> T) -> T {
    match ema.and_then(Ema::weights) {
        None => f(),
        Some(avg) => {
            let raw = snapshot(vs);
            restore(vs, &avg);
            let out = f();
            restore(vs, &raw);
            out
        }
    }
}

fn zero_grads(vs: &nn::VarStore) {
    for (_, v) in vs.variables() {
        let g = v.grad();
        if g.defined() {
            let _ = g.detach().zero_();
        }
    }
}

/// The GAMO generator and discriminator.
struct GamoNets {
    gen_vs: nn::VarStore,
    gen: Mlp,
    disc_vs: nn::VarStore,
    disc: Mlp,
    gen_adam: Adam,
    disc_adam: Adam,
}

const GAMO_NOISE: i64 = 32;

/// Trains the baseline `cfg.method` on prepared data.
pub fn train(
    cfg: &TrainConfig,
    p: Prepared,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<Outcome> {
    let device = p.device;
    let classes = p.train_ds.num_classes();
    let kinds: Vec<ModalityKind> = p.train_ds.modalities().iter().map(|m| m.kind()).collect();
    let dims = p.data.dims.clone();
    tch::manual_seed(cfg.seed as i64);
    let net = Backbone::new(
        device,
        &dims,
        &cfg.hidden,
        classes,
        cfg.method == Method::Cmml,
    );
    let mut adam = Adam::new(&net.vs, cfg.lr);
    let mut ema = (matches!(cfg.method, Method::Crest | Method::Adsh) && cfg.ema_decay > 0.0)
        .then(|| Ema::new(&net.vs, cfg.ema_decay));
    let n_l = p.labeled_rows.len();
    let labeled_counts = p.train_ds.labeled_counts();
    let semi = cfg.method != Method::Gamo && !p.unlabeled_rows.is_empty();
    let n_u = if semi { p.unlabeled_rows.len() } else { 0 };
    let steps = if semi {
        n_u.div_ceil(cfg.batch_unlabeled)
    } else {
        n_l.div_ceil(cfg.batch_labeled)
    };
    let mut labels: Vec<i64> = p
        .train_ds
        .labels()
        .iter()
        .map(|y| y.map_or(-1, |v| v as i64))
        .collect();
    let mut pool: Vec<usize> = p.labeled_rows.clone();
    let mut thresholds = vec![cfg.threshold; classes];
    let majority = (0..classes)
        .max_by_key(|&k| (labeled_counts[k], std::cmp::Reverse(k)))
        .unwrap_or(0);
    let generations = if cfg.method == Method::Crest {
        cfg.crest_generations
    } else {
        1
    };
    let gen_len = cfg.epochs.div_ceil(generations);
    let label_dist: Vec<f64> = {
        let total: usize = labeled_counts.iter().sum();
        labeled_counts
            .iter()
            .map(|&c| c.max(1) as f64 / total.max(1) as f64)
            .collect()
    };
    let mut gamo = (cfg.method == Method::Gamo).then(|| {
        let h: Vec<i64> = cfg.hidden.iter().map(|&w| w as i64).collect();
        let gen_vs = nn::VarStore::new(device);
        let gen = Mlp::new(
            &(gen_vs.root() / "generator"),
            GAMO_NOISE + classes as i64,
            0,
            &h[..1],
            n_l as i64,
        );
        let disc_vs = nn::VarStore::new(device);
        let total: usize = dims.iter().sum();
        let disc = Mlp::new(
            &(disc_vs.root() / "discriminator"),
            (total + classes) as i64,
            0,
            &h[..1],
            1,
        );
        let gen_adam = Adam::new(&gen_vs, cfg.lr);
        let disc_adam = Adam::new(&disc_vs, cfg.lr);
        GamoNets {
            gen_vs,
            gen,
            disc_vs,
            disc,
            gen_adam,
            disc_adam,
        }
    });
    // SMLN: the k-NN graph over every training row, built once.
    let smln_graph = if cfg.method == Method::Smln && semi {
        let _g = tch::no_grad_guard();
        Some(smln::Graph::build(
            &p.data.xs,
            &p.data.present_rows,
            cfg.smln_neighbors,
        )?)
    } else {
        None
    };
    let labeled_idx = index_tensor(&p.labeled_rows, device);
    let labeled_y = Tensor::from_slice(
        &p.labeled_rows
            .iter()
            .map(|&i| labels[i])
            .collect::<Vec<_>>(),
    )
    .to_device(device);

    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Snapshot)> = None;
    for epoch in 1..=cfg.epochs {
        let mut rng = epoch_rng(cfg.seed, epoch);
        let generation = (epoch - 1) / gen_len;
        // CReST: a new generation adds the previous one's rebalanced pseudo-labels.
        if cfg.method == Method::Crest && epoch > 1 && (epoch - 1) % gen_len == 0 {
            let (pred, conf) = unlabeled_predictions(&net, &p.data, &p.unlabeled_rows, device)?;
            let rates = crest::inclusion_rates(&labeled_counts, cfg.crest_alpha);
            let picked = crest::select_pseudo_labels(&pred, &conf, &rates);
            pool = p.labeled_rows.clone();
            for &i in &p.unlabeled_rows {
                labels[i] = -1;
            }
            for (u, class) in picked {
                let row = p.unlabeled_rows[u];
                labels[row] = class as i64;
                pool.push(row);
            }
        }
        // Adsh: class-wise thresholds from the current scores on the unlabeled set.
        if cfg.method == Method::Adsh && epoch > 1 {
            let (pred, conf) = unlabeled_predictions(&net, &p.data, &p.unlabeled_rows, device)?;
            thresholds = adsh::adaptive_thresholds(&pred, &conf, classes, majority, cfg.threshold);
        }
        let thresholds_t =
            Tensor::from_slice(&thresholds.iter().map(|&t| t as f32).collect::<Vec<_>>())
                .to_device(device);
        // CReST+: distribution alignment toward the labeled distribution at temperature t_g.
        let align = (cfg.method == Method::Crest && cfg.crest_progressive).then(|| {
            let t = crest::alignment_temperature(generation, generations);
            let target: Vec<f64> = label_dist.iter().map(|q| q.powf(t)).collect();
            let z: f64 = target.iter().sum();
            Tensor::from_slice(&target.iter().map(|v| (v / z) as f32).collect::<Vec<_>>())
                .to_device(device)
        });
        let labels_t = Tensor::from_slice(&labels).to_device(device);
        let mut lab = pool.clone();
        lab.shuffle(&mut rng);
        let mut unl = p.unlabeled_rows.clone();
        unl.shuffle(&mut rng);
        let start = Instant::now();
        let (mut sum_l, mut sum_u, mut sum_total, mut seen) = (0.0, 0.0, 0.0, 0usize);
        let mut lab = LabeledCycle::new(lab);
        let mut running_mean: Option<Tensor> = None;
        for step in 0..steps {
            let bl = lab.next_batch(cfg.batch_labeled, &mut rng);
            let bl_t = index_tensor(&bl, device);
            let y = labels_t.index_select(0, &bl_t);
            let present_l = p.data.present.index_select(0, &bl_t);
            let xs_l: Vec<Tensor> = p
                .data
                .xs
                .iter()
                .zip(&kinds)
                .map(|(x, &k)| {
                    let x = x.index_select(0, &bl_t);
                    if matches!(cfg.method, Method::Crest | Method::Adsh) {
                        augment(&x, k, Strength::Weak)
                    } else {
                        x
                    }
                })
                .collect();
            let logits_l = net.logits(&xs_l);
            let mask_l: Vec<Tensor> = (0..dims.len())
                .map(|j| present_l.select(1, j as i64).to_kind(Kind::Float))
                .collect();
            // Supervised part: every member on the labeled samples that observe it (CMML: the
            // fused prediction too, and the diversity regulariser).
            // Cannot fail on user input: a dataset always has at least one modality (MultimodalDataset::new).
            let mut loss_l = logits_l
                .iter()
                .zip(&mask_l)
                .map(|(l, m)| masked_mean(&ce(l, &y), m))
                .reduce(|a, b| a + b)
                .expect("one modality");
            if cfg.method == Method::Cmml {
                let fused = net.fuse(&xs_l, &logits_l, &present_l);
                let nll = -(fused
                    .clamp_min(1e-8)
                    .log()
                    .gather(1, &y.unsqueeze(1), false)
                    .squeeze_dim(1));
                let probs: Vec<Tensor> =
                    logits_l.iter().map(|l| l.softmax(1, Kind::Float)).collect();
                loss_l = loss_l
                    + nll.mean(Kind::Float)
                    + cmml::diversity(&probs, &y, &present_l).mean(Kind::Float)
                        * cfg.cmml_diversity;
            }
            let mut loss = loss_l.shallow_clone();
            let mut loss_u_val = 0.0;
            if semi {
                let s = step * cfg.batch_unlabeled;
                let bu = &unl[s..(s + cfg.batch_unlabeled).min(unl.len())];
                let bu_t = index_tensor(bu, device);
                let present_u = p.data.present.index_select(0, &bu_t);
                let raw_u: Vec<Tensor> =
                    p.data.xs.iter().map(|x| x.index_select(0, &bu_t)).collect();
                let loss_u = match cfg.method {
                    Method::Crest | Method::Adsh => {
                        let mut total: Option<Tensor> = None;
                        for (j, (x, &k)) in raw_u.iter().zip(&kinds).enumerate() {
                            let weak = augment(x, k, Strength::Weak);
                            let strong = augment(x, k, Strength::Strong);
                            let mut q = tch::no_grad(|| {
                                net.members[j].forward(&weak).softmax(1, Kind::Float)
                            });
                            if let Some(target) = &align {
                                let mean = q.mean_dim(0, false, Kind::Float);
                                let rm = match &running_mean {
                                    Some(r) => r * 0.999 + mean * 0.001,
                                    None => mean,
                                };
                                q = &q * target / rm.clamp_min(1e-6);
                                q = &q / q.sum_dim_intlist(1, true, None);
                                running_mean = Some(rm.detach());
                            }
                            let (conf, pseudo) = q.max_dim(1, false);
                            let keep = conf
                                .ge_tensor(&thresholds_t.index_select(0, &pseudo))
                                .to_kind(Kind::Float)
                                * present_u.select(1, j as i64).to_kind(Kind::Float);
                            let l = (ce(&net.members[j].forward(&strong), &pseudo) * keep)
                                .mean(Kind::Float);
                            total = Some(match total {
                                None => l,
                                Some(t) => t + l,
                            });
                        }
                        // Cannot fail on user input: a model spec always has at least one modality.
                        total.expect("one modality")
                    }
                    Method::Cmml => {
                        let probs: Vec<Tensor> = net
                            .logits(&raw_u)
                            .iter()
                            .map(|l| l.softmax(1, Kind::Float))
                            .collect();
                        cmml::robust_consistency(&probs, &present_u).mean(Kind::Float)
                    }
                    Method::Smln => {
                        // This step's nodes (labeled + unlabeled batch) and one sampled graph
                        // neighbour each, through the network in one pass.
                        // Cannot fail on user input: the graph is built above whenever the method is SMLN.
                        let graph = smln_graph.as_ref().expect("built for SMLN");
                        let nodes: Vec<usize> = bl.iter().chain(bu).copied().collect();
                        let (nbrs, weights) = graph.sample(&nodes, &mut rng)?;
                        let all = index_tensor(
                            &nodes.iter().chain(&nbrs).copied().collect::<Vec<_>>(),
                            device,
                        );
                        let xs_all: Vec<Tensor> =
                            p.data.xs.iter().map(|x| x.index_select(0, &all)).collect();
                        let present_all = p.data.present.index_select(0, &all);
                        let f = net.fuse(&xs_all, &net.logits(&xs_all), &present_all);
                        let n = nodes.len() as i64;
                        let c = Tensor::from_slice(&weights).to_device(device);
                        smln::spectral_loss(&f.narrow(0, 0, n), &f.narrow(0, n, n), &c)
                    }
                    Method::Gamo | Method::Ssmvae => unreachable!("not semi-supervised here"),
                };
                loss_u_val = f64::try_from(&loss_u).unwrap_or(f64::NAN);
                loss += loss_u * cfg.unlabeled_weight;
                seen += bu.len();
            }
            if let Some(g) = gamo.as_mut() {
                loss = gamo_step(
                    g,
                    &net,
                    &p.data,
                    &labeled_idx,
                    &labeled_y,
                    &labeled_counts,
                    bl.len(),
                    cfg,
                    loss,
                )?;
            }
            let total = f64::try_from(&loss).unwrap_or(f64::NAN);
            if !total.is_finite() {
                return Err(Error::NanLoss {
                    epoch,
                    step: step + 1,
                    value: total,
                });
            }
            zero_grads(&net.vs);
            loss.backward();
            adam.step(&net.vs);
            if let Some(e) = ema.as_mut() {
                e.update(&net.vs);
            }
            sum_l += f64::try_from(&loss_l).unwrap_or(f64::NAN);
            sum_u += loss_u_val;
            sum_total += total;
            seen += bl.len();
        }
        let seconds = start.elapsed().as_secs_f64();
        let n = steps.max(1) as f64;
        // Scored (and, with a validation split, kept) with the evaluated weights.
        let (test_m, train_m, val, saved) = with_weights(&net.vs, ema.as_ref(), || {
            let test_m = scores(&net, &p.test, &p.train_sizes)?;
            let train_m = scores(&net, &p.labeled_data, &p.train_sizes)?;
            let val = match &p.val {
                Some(v) => Some(Scores::from(&scores(&net, v, &p.train_sizes)?)),
                None => None,
            };
            let improved = val
                .as_ref()
                .is_some_and(|v| best.as_ref().is_none_or(|b| v.balanced_acc > b.0));
            Ok::<_, Error>((test_m, train_m, val, improved.then(|| snapshot(&net.vs))))
        })?;
        if let (Some(v), Some(saved)) = (&val, saved) {
            best = Some((v.balanced_acc, epoch, saved));
        }
        let record = EpochRecord {
            epoch,
            seconds,
            samples_per_sec: seen as f64 / seconds.max(1e-9),
            loss_labeled: sum_l / n,
            loss_unlabeled: sum_u / n,
            loss_ce: sum_l / n,
            loss_total: sum_total / n,
            train: Scores::from(&train_m),
            test: Scores::from(&test_m),
            validation: val,
        };
        on_epoch(&record);
        history.push(record);
    }
    let selected = match &best {
        Some((_, epoch, saved)) => {
            restore(&net.vs, saved);
            *epoch
        }
        None => {
            if let Some(avg) = ema.as_ref().and_then(Ema::weights) {
                restore(&net.vs, &avg);
            }
            cfg.epochs
        }
    };
    let test = scores(&net, &p.test, &p.train_sizes)?;
    Ok(Outcome {
        history,
        test,
        selected_epoch: selected,
        split: p.split,
    })
}

/// Predicted class and confidence of every unlabeled row (no augmentation).
fn unlabeled_predictions(
    net: &Backbone,
    data: &DataTensors,
    rows: &[usize],
    device: Device,
) -> Result<(Vec<usize>, Vec<f64>)> {
    if rows.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let _g = tch::no_grad_guard();
    let idx = index_tensor(rows, device);
    let xs: Vec<Tensor> = data.xs.iter().map(|x| x.index_select(0, &idx)).collect();
    let present = data.present.index_select(0, &idx);
    let probs = net.fuse(&xs, &net.logits(&xs), &present);
    let (conf, pred) = probs.max_dim(1, false);
    let pred: Vec<i64> = Vec::try_from(pred)?;
    let conf: Vec<f32> = Vec::try_from(conf)?;
    Ok((
        pred.into_iter().map(|p| p as usize).collect(),
        conf.into_iter().map(f64::from).collect(),
    ))
}

/// One GAMO round on a labeled batch: the discriminator and generator steps, and the classifier's
/// loss on generated minority samples added to `loss` (the caller steps the classifier).
#[allow(clippy::too_many_arguments)]
fn gamo_step(
    g: &mut GamoNets,
    net: &Backbone,
    data: &DataTensors,
    labeled_idx: &Tensor,
    labeled_y: &Tensor,
    counts: &[usize],
    batch: usize,
    cfg: &TrainConfig,
    loss: Tensor,
) -> Result<Tensor> {
    let n_gen = (cfg.gamo_ratio * batch as f64).round() as usize;
    let cls = gamo::deficit_classes(counts, n_gen);
    if cls.is_empty() {
        return Ok(loss);
    }
    let device = net.vs.device();
    let classes = counts.len() as i64;
    let c = Tensor::from_slice(&cls).to_device(device);
    let onehot = c.onehot(classes).to_kind(Kind::Float);
    let xs_real: Vec<Tensor> = data
        .xs
        .iter()
        .map(|x| x.index_select(0, labeled_idx))
        .collect();
    let present = Tensor::ones(
        [cls.len() as i64, data.xs.len() as i64],
        (Kind::Bool, device),
    );
    let generate = |g: &GamoNets| {
        let z = Tensor::randn([cls.len() as i64, GAMO_NOISE], (Kind::Float, device));
        let w = gamo::convex_weights(
            &g.gen.forward(&Tensor::cat(&[z, onehot.shallow_clone()], 1)),
            labeled_y,
            &c,
        );
        xs_real
            .iter()
            .map(|x| gamo::combine(&w, x))
            .collect::<Vec<Tensor>>()
    };
    let disc = |g: &GamoNets, xs: &[Tensor], oh: &Tensor| {
        let mut parts: Vec<Tensor> = xs.iter().map(Tensor::shallow_clone).collect();
        parts.push(oh.shallow_clone());
        g.disc.forward(&Tensor::cat(&parts, 1)).squeeze_dim(1)
    };
    // Discriminator: real samples of the class vs generated ones.
    let fake = tch::no_grad(|| generate(g));
    let pick = Tensor::randint(
        xs_real[0].size()[0],
        [cls.len() as i64],
        (Kind::Int64, device),
    );
    let real: Vec<Tensor> = xs_real.iter().map(|x| x.index_select(0, &pick)).collect();
    let real_oh = labeled_y
        .index_select(0, &pick)
        .onehot(classes)
        .to_kind(Kind::Float);
    let d_real = disc(g, &real, &real_oh);
    let d_fake = disc(g, &fake, &onehot);
    let d_loss = d_real.binary_cross_entropy_with_logits::<Tensor>(
        &d_real.ones_like(),
        None,
        None,
        tch::Reduction::Mean,
    ) + d_fake.binary_cross_entropy_with_logits::<Tensor>(
        &d_fake.zeros_like(),
        None,
        None,
        tch::Reduction::Mean,
    );
    zero_grads(&g.disc_vs);
    d_loss.backward();
    g.disc_adam.step(&g.disc_vs);
    // Generator: fool the discriminator and make the classifier miss the class.
    let gen = generate(g);
    let d_gen = disc(g, &gen, &onehot);
    let p_c = net
        .fuse(&gen, &net.logits(&gen), &present)
        .gather(1, &c.unsqueeze(1), false)
        .squeeze_dim(1);
    let g_loss = d_gen.binary_cross_entropy_with_logits::<Tensor>(
        &d_gen.ones_like(),
        None,
        None,
        tch::Reduction::Mean,
    ) - (p_c.neg() + (1.0 + 1e-6)).log().mean(Kind::Float);
    zero_grads(&g.gen_vs);
    g_loss.backward();
    g.gen_adam.step(&g.gen_vs);
    zero_grads(&g.disc_vs);
    // Classifier: learn the generated minority samples as their class.
    let fixed: Vec<Tensor> = gen.iter().map(Tensor::detach).collect();
    // Cannot fail on user input: a dataset always has at least one modality (MultimodalDataset::new).
    let gen_loss = net
        .logits(&fixed)
        .iter()
        .map(|l| ce(l, &c).mean(Kind::Float))
        .reduce(|a, b| a + b)
        .expect("one modality");
    Ok(loss + gen_loss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_averages_weights_and_evaluation_puts_the_raw_ones_back() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[1]);
        let mut ema = Ema::new(&vs, 0.5);
        let set = |v: f32| {
            let _g = tch::no_grad_guard();
            w.shallow_clone().copy_(&Tensor::from_slice(&[v]));
        };
        let read = || f32::try_from(&w).unwrap();
        // No step yet: the raw weights are evaluated.
        set(3.0);
        assert_eq!(with_weights(&vs, Some(&ema), read), 3.0);
        // Steps with weights 1 then 3: sum 0.5·1 = 0.5, then 0.5·0.5 + 0.5·3 = 1.75; corrected
        // by 1 − 0.5² = 0.75: 1.75 / 0.75 = 7/3 (weights ⅓ and ⅔). The start (0) never counts.
        set(1.0);
        ema.update(&vs);
        assert!((with_weights(&vs, Some(&ema), read) - 1.0).abs() < 1e-6);
        set(3.0);
        ema.update(&vs);
        assert!((with_weights(&vs, Some(&ema), read) - 7.0 / 3.0).abs() < 1e-6);
        assert_eq!(read(), 3.0);
        assert_eq!(with_weights(&vs, None, read), 3.0);
    }
}
