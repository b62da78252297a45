//! The trained object: one SSMVAE-CI model (PoE or early fusion) or one per modality (late
//! fusion), each reading some columns of the data. Its step assembles Ĵ (Eq. 9) from the terms
//! `objective` defines (L_γ, U, the classification and consistency terms) on the model's forward
//! passes, and steps Adam; its predictions add the logit adjustment.

use super::adam::Adam;
use super::config::{
    AlphaScale, Fusion, Mode, Objective, RareClass, TrainConfig, UnlabeledFormExt,
};
pub use super::step::{Alignment, ClassTerm, Constants, StepInputs, UnlabeledControl};
use super::tensors::{constant_table, gather_constants, DataTensors};
use crate::augment::{augment, Strength};
use crate::model::precision::matmul_scope;
use crate::model::{ModalitySpec, ModelSpec, Ssmvae};
use crate::objective::classification::dimension_factor;
use crate::objective::enumeration::Enumeration;
use crate::objective::gamma::{
    gamma_loss_labeled, gamma_loss_unlabeled, gamma_loss_unlabeled_exact, tile_rows,
};
use crate::objective::rebalance::{
    adjust_probs, agreement_gate, aligned_log_q, confident_targets, consistency_term, RunningMean,
};
use crate::objective::StepTerms;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

/// One model and the data columns (modality indices) it reads.
#[derive(Debug)]
pub struct Member {
    /// The networks.
    pub model: Ssmvae,
    /// Modality indices into the dataset.
    pub cols: Vec<usize>,
    cols_t: Tensor,
}

/// What a checkpoint records to rebuild an [`Ensemble`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSpec {
    /// How the members combine.
    pub fusion: Fusion,
    /// Each member's model spec and data columns.
    pub members: Vec<(ModelSpec, Vec<usize>)>,
    /// Post-hoc logit adjustment −τ ln π_k added to the class log-probabilities at prediction
    /// (docs/model.md §12.1); empty = none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logit_bias: Vec<f64>,
    /// π of the labeled classes (f32, as a bundle stores it); empty in checkpoints written
    /// before the target prior existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_prior_labels: Vec<f32>,
    /// The EM estimate of the unlabeled training data's class prior, made after training
    /// (docs/model.md §12.1); empty without unlabeled data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_prior_estimate: Vec<f32>,
}

impl EnsembleSpec {
    /// The members a configuration asks for, over (already fused) modalities, with `hidden` the
    /// configuration's widths resolved for the run (docs/model.md §11.1).
    pub fn from_config(
        cfg: &TrainConfig,
        hidden: &[usize],
        modalities: &[ModalitySpec],
        classes: usize,
    ) -> Self {
        let spec = |mods: Vec<ModalitySpec>| ModelSpec {
            modalities: mods,
            classes,
            latent_dim: cfg.model.latent_dim,
            hidden: hidden.to_vec(),
            nu: cfg.model.nu,
            latent: cfg.model.latent,
            prior_expert: cfg.model.prior_expert,
            sigma: cfg.model.sigma,
            generative: cfg.model.mode != Mode::Supervised,
        };
        let members = match cfg.model.fusion {
            Fusion::Poe | Fusion::Early => {
                vec![(spec(modalities.to_vec()), (0..modalities.len()).collect())]
            }
            Fusion::Late => modalities
                .iter()
                .enumerate()
                .map(|(j, m)| (spec(vec![m.clone()]), vec![j]))
                .collect(),
        };
        EnsembleSpec {
            logit_bias: Vec::new(),
            class_prior_labels: Vec::new(),
            class_prior_estimate: Vec::new(),
            fusion: cfg.model.fusion,
            members,
        }
    }
}

/// The members, their variables and the per-dataset constant tables.
#[derive(Debug)]
pub struct Ensemble {
    /// Every trainable variable, named `member.{i}.{expert|decoder|classifier}.{j}.…`.
    pub vs: nn::VarStore,
    /// The members.
    pub members: Vec<Member>,
    /// The spec this was built from.
    pub spec: EnsembleSpec,
}

impl Ensemble {
    /// Builds the networks on `device`. The initial weights are drawn on the host and then
    /// moved, so a seed gives the same initial weights on every device (the GPU check starts a
    /// CPU and a GPU run from one set of weights).
    pub fn new(spec: EnsembleSpec, device: Device) -> Self {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let members = spec
            .members
            .iter()
            .enumerate()
            .map(|(i, (ms, cols))| Member {
                model: Ssmvae::new(&(vs.root() / "member" / i), ms.clone()),
                cols: cols.clone(),
                cols_t: Tensor::from_slice(&cols.iter().map(|&c| c as i64).collect::<Vec<_>>())
                    .to_device(device),
            })
            .collect();
        vs.set_device(device);
        Ensemble { vs, members, spec }
    }

    /// Constant tables of every member for a dataset.
    pub fn constants(&self, data: &DataTensors, cfg: &TrainConfig) -> Constants {
        self.members
            .iter()
            .map(|m| {
                constant_table(
                    &data.present_rows,
                    &data.dims,
                    &m.cols,
                    m.model.spec(),
                    cfg.objective.entropy_coef,
                    self.vs.device(),
                )
            })
            .collect()
    }

    fn member_batch(&self, m: &Member, data: &DataTensors, idx: &Tensor) -> (Vec<Tensor>, Tensor) {
        let xs = m
            .cols
            .iter()
            .map(|&j| data.xs[j].index_select(0, idx))
            .collect();
        let present = data.present.index_select(0, idx).index_select(1, &m.cols_t);
        (xs, present)
    }

    /// The minimised estimate of J/N on one labeled and one unlabeled batch (docs/model.md §7,
    /// first estimator: separate loaders), Ĵ = (N_l/N) mean_Bl\[L_γ + α̃ CE\] + (N_u/N) mean_Bu\[U\],
    /// with α̃ = a·N/N_l (Eq. 9), assembled from `objective`'s terms. `mode = supervised`
    /// minimises mean_Bl\[CE\] only. For late fusion each member's terms count only the samples
    /// that observe its modality.
    pub fn loss(
        &self,
        cfg: &TrainConfig,
        inputs: &StepInputs,
        control: &mut UnlabeledControl,
    ) -> (Tensor, StepTerms) {
        let StepInputs {
            data,
            consts,
            labeled,
            y,
            unlabeled,
            n_labeled,
            n_unlabeled,
            neg_log_prior,
            class_term,
        } = *inputs;
        let _precision = matmul_scope(cfg.run.precision.matmul_kind());
        let n = (n_labeled + n_unlabeled) as f64;
        let alpha = cfg.objective.alpha_a * n / n_labeled as f64;
        let (w_l, w_u) = (n_labeled as f64 / n, n_unlabeled as f64 / n);
        let mut total: Option<Tensor> = None;
        let mut terms = StepTerms::default();
        for (mi, m) in self.members.iter().enumerate() {
            let (xs, present) = self.member_batch(m, data, labeled);
            let valid = present.any_dim(1, false).to_kind(Kind::Float);
            let bl = labeled.size()[0] as f64;
            let log_q = m.model.class_log_probs(&xs, &present);
            let ce = class_term.per_sample(&log_q, y) * &valid;
            terms.ce += f64::try_from(ce.sum(Kind::Float)).unwrap_or(f64::NAN) / bl;
            let member_loss = if cfg.model.mode == Mode::Supervised || !m.model.spec().generative {
                ce.sum(Kind::Float) / bl
            } else {
                let k = gather_constants(&consts[mi], labeled, neg_log_prior);
                let parts = m.model.expert_x_parts(&xs);
                let t = m.model.labeled_terms(&xs, &parts, y, &present, &k, None);
                let l = gamma_loss_labeled(
                    &t.recon,
                    &t.posterior.mu,
                    &t.posterior.log_sq,
                    y,
                    &k,
                    m.model.spec().latent,
                ) * &valid;
                terms.labeled += f64::try_from(l.sum(Kind::Float)).unwrap_or(f64::NAN) / bl;
                // §12.14: the classification weight follows the observed input dimension.
                let ce = if cfg.objective.alpha_scale == AlphaScale::Dimension
                    && cfg.objective.kind == Objective::RareClass
                {
                    let dims: Vec<i64> = m.cols.iter().map(|&j| data.xs[j].size()[1]).collect();
                    ce * dimension_factor(&present, &dims)
                } else {
                    ce
                };
                let mut loss = (l + ce * alpha).sum(Kind::Float) * (w_l / bl);
                if let Some(u_idx) = unlabeled {
                    let align = control
                        .align
                        .as_mut()
                        .map(|a| (&a.log_target, &mut a.running[mi]));
                    let (u, share) =
                        self.unlabeled_loss(cfg, m, mi, data, consts, u_idx, neg_log_prior, align);
                    if let Some(s) = share {
                        let n = self.members.len() as f64;
                        terms.enumerated = Some(terms.enumerated.unwrap_or(0.0) + s / n);
                    }
                    let bu = u_idx.size()[0] as f64;
                    terms.unlabeled += f64::try_from(u.sum(Kind::Float)).unwrap_or(f64::NAN) / bu;
                    loss += u.sum(Kind::Float) * (w_u * control.weight / bu);
                    let rare = cfg.rare_class();
                    if rare.consistency > 0.0 {
                        let p_hat = control
                            .align
                            .as_ref()
                            .and_then(|a| a.running[mi].get().map(|p| (&a.log_target, p)));
                        let c = self.consistency_loss(m, data, u_idx, p_hat, &rare);
                        loss += c.sum(Kind::Float)
                            * (w_u * control.weight * alpha * rare.consistency / bu);
                    }
                }
                loss
            };
            total = Some(match total {
                None => member_loss,
                Some(t) => t + member_loss,
            });
        }
        // Cannot fail on user input: an ensemble always has at least one member (EnsembleSpec::from_config).
        let total = total.expect("at least one member");
        terms.total = f64::try_from(&total).unwrap_or(f64::NAN);
        (total, terms)
    }

    /// One optimiser step: Ĵ on the batches, then (when it is finite) its gradient and Adam's
    /// update. Training and `bench-step` both step through here, so the benchmark times the
    /// step that trains.
    pub fn step(
        &self,
        adam: &mut Adam,
        cfg: &TrainConfig,
        inputs: &StepInputs,
        control: &mut UnlabeledControl,
    ) -> StepTerms {
        let (loss, terms) = self.loss(cfg, inputs, control);
        if terms.total.is_finite() {
            loss.backward();
            adam.step(&self.vs);
        }
        terms
    }

    /// U(x_S) (Eq. 8) for an unlabeled batch, masked to the samples this member observes, and the
    /// share of the K class copies enumerated when a floor skips some (§6.5). The copies are laid
    /// out class-major; the experts' first-layer x-parts are computed once and tiled unless
    /// `shared_first_layer` is off.
    #[allow(clippy::too_many_arguments)]
    fn unlabeled_loss(
        &self,
        cfg: &TrainConfig,
        m: &Member,
        mi: usize,
        data: &DataTensors,
        consts: &Constants,
        idx: &Tensor,
        neg_log_prior: Option<&Tensor>,
        align: Option<(&Tensor, &mut RunningMean)>,
    ) -> (Tensor, Option<f64>) {
        let (xs, present) = self.member_batch(m, data, idx);
        let b = idx.size()[0];
        let classes = m.model.spec().classes as i64;
        let valid = present.any_dim(1, false).to_kind(Kind::Float);
        let log_q = m.model.class_log_probs(&xs, &present);
        // §12.13: decoupled, U weighs the generative terms by q but does not train q.
        let log_q = if cfg.model.mode == Mode::Decoupled {
            log_q.detach()
        } else {
            log_q
        };
        // §12.2: U's class weights aligned toward the labeled frequencies. p̂ is the running mean
        // of q over the samples this member observes.
        let log_q = match align {
            Some((log_target, running)) => {
                let observed = valid.nonzero().squeeze_dim(1);
                if observed.size()[0] > 0 {
                    running.update(&log_q.exp().index_select(0, &observed));
                }
                match running.get() {
                    Some(p_hat) => aligned_log_q(&log_q, log_target, p_hat),
                    None => log_q,
                }
            }
            None => log_q,
        };
        let k = gather_constants(&consts[mi], idx, neg_log_prior);
        let exact = cfg.objective.unlabeled_form.is_exact();
        let floor = cfg.rare_class().enumeration_floor;
        // §6.5: under a floor only the probable class copies go through the networks; without
        // one the batch is tiled K times, the paper's estimator bit for bit.
        let enumeration = (floor > 0.0 && !exact).then(|| Enumeration::new(&log_q, floor));
        // Each sample's rows for its class copies: the kept ones, or every class (tiled).
        let copies = |t: &Tensor| match &enumeration {
            Some(e) => t.index_select(0, &e.rows),
            None => tile_rows(t, classes),
        };
        let xs_t: Vec<Tensor> = xs.iter().map(copies).collect();
        let (present_t, kt) = (copies(&present), k.map_rows(copies));
        let ys = match &enumeration {
            Some(e) => e.classes.shallow_clone(),
            None => Tensor::arange(classes, (Kind::Int64, idx.device()))
                .repeat_interleave_self_int(b, 0, None),
        };
        let parts = if cfg.model.shared_first_layer {
            m.model.expert_x_parts(&xs).iter().map(copies).collect()
        } else {
            m.model.expert_x_parts(&xs_t)
        };
        let t = m
            .model
            .labeled_terms(&xs_t, &parts, &ys, &present_t, &kt, None);
        let per_class = |v: Tensor| match &enumeration {
            Some(e) => e.impute(&v, &log_q),
            None => v.reshape([classes, b]).transpose(0, 1),
        };
        let u = if exact {
            gamma_loss_unlabeled_exact(
                &per_class(t.recon),
                &t.posterior.mu,
                &t.posterior.log_sq,
                &log_q,
                &k,
            )
        } else {
            let l = per_class(gamma_loss_labeled(
                &t.recon,
                &t.posterior.mu,
                &t.posterior.log_sq,
                &ys,
                &kt,
                m.model.spec().latent,
            ));
            let log_q = if cfg.rare_class().agreement_gate {
                match &enumeration {
                    Some(e) => agreement_gate(&log_q, &e.mask_skipped(&l)),
                    None => agreement_gate(&log_q, &l),
                }
            } else {
                log_q
            };
            gamma_loss_unlabeled(&l, &log_q, &k.c)
        };
        (u * valid, enumeration.map(|e| e.share()))
    }

    /// The consistency term of docs/model.md §12.4 on an unlabeled batch, per sample: with q_w the
    /// classifier PoE on a weak augmentation (no gradient; aligned as in U when `p_hat` is given),
    /// 1[max q_w ≥ τ] · (−ln q(argmax q_w | strong augmentation)), masked to the samples this
    /// member observes.
    fn consistency_loss(
        &self,
        m: &Member,
        data: &DataTensors,
        idx: &Tensor,
        p_hat: Option<(&Tensor, &Tensor)>,
        rare: &RareClass,
    ) -> Tensor {
        let (xs, present) = self.member_batch(m, data, idx);
        let kinds: Vec<_> = m.model.spec().modalities.iter().map(|s| s.kind).collect();
        let view = |strength: Strength| -> Vec<Tensor> {
            xs.iter()
                .zip(&kinds)
                .map(|(x, &k)| augment(x, k, strength))
                .collect()
        };
        let (target, keep) = tch::no_grad(|| {
            let log_q = m.model.class_log_probs(&view(Strength::Weak), &present);
            let log_q = match p_hat {
                Some((log_target, p)) => aligned_log_q(&log_q, log_target, p),
                None => log_q,
            };
            confident_targets(&log_q, rare.consistency_threshold)
        });
        let keep = keep * present.any_dim(1, false).to_kind(Kind::Float);
        let log_q_strong = m.model.class_log_probs(&view(Strength::Strong), &present);
        consistency_term(&log_q_strong, &target, &keep)
    }

    /// Class probabilities (N×K) for `data`, in batches, without gradients: the classifier PoE
    /// over the present modalities; for late fusion the mean of the members' probabilities over
    /// the members whose modality is present.
    pub fn predict_probs(&self, data: &DataTensors) -> Tensor {
        let _guard = tch::no_grad_guard();
        let device = self.vs.device();
        // §12.1: the post-hoc logit adjustment, added to the log-probabilities.
        let bias = (!self.spec.logit_bias.is_empty()).then(|| {
            let b: Vec<f32> = self.spec.logit_bias.iter().map(|&b| b as f32).collect();
            Tensor::from_slice(&b).to_device(device)
        });
        let n = data.len();
        let mut chunks = Vec::new();
        for start in (0..n).step_by(1024) {
            let end = (start + 1024).min(n);
            let idx = Tensor::arange_start(start as i64, end as i64, (Kind::Int64, device));
            if let ([m], Some(bias)) = (self.members.as_slice(), &bias) {
                // One member: ln q + bias, then the softmax, as the runtime computes it.
                let (xs, present) = self.member_batch(m, data, &idx);
                let log_q = m.model.class_log_probs(&xs, &present);
                chunks.push((log_q + bias.unsqueeze(0)).softmax(1, Kind::Float));
                continue;
            }
            let mut sum: Option<Tensor> = None;
            let mut count: Option<Tensor> = None;
            for m in &self.members {
                let (xs, present) = self.member_batch(m, data, &idx);
                let valid = present.any_dim(1, false).to_kind(Kind::Float).unsqueeze(1);
                let p = m.model.class_log_probs(&xs, &present).exp() * &valid;
                sum = Some(match sum {
                    None => p,
                    Some(s) => s + p,
                });
                count = Some(match count {
                    None => valid,
                    Some(c) => c + valid,
                });
            }
            // Cannot fail on user input: an ensemble always has at least one member (EnsembleSpec::from_config).
            let (s, c) = (sum.expect("members"), count.expect("members"));
            let probs = s / c.clamp_min(1.0);
            chunks.push(match &bias {
                // Late fusion: the averaged probabilities, adjusted.
                Some(bias) => adjust_probs(&probs, bias),
                None => probs,
            });
        }
        if chunks.is_empty() {
            // No rows: an empty N×K result, not libtorch's "cat of an empty list".
            let k = self.members.first().map_or(0, |m| m.model.spec().classes) as i64;
            return Tensor::zeros([0, k], (Kind::Float, device));
        }
        Tensor::cat(&chunks, 0)
    }
}
