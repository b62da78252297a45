//! What this project adds to the paper's objective so that rare classes survive
//! (docs/model.md §12). The paper's unlabeled term U = Σ_y q(y|x) L_γ(x, y) − c_S H(q) with its
//! small entropy weight c_S is hard self-training: q(y|x) turns one-hot within a few epochs and a
//! class with one or two labels is absorbed by its neighbours before its decoder has learned it.
//! Four mechanisms, each a configuration key that is off in the paper's objective:
//!
//! - **Post-hoc logit adjustment** (Menon, Jayasumana, Rawat, Jain, Veit, Kumar, "Long-tail
//!   learning via logit adjustment", ICLR 2021, their Eq. 3): predict argmax_y ln q(y|x) − τ ln π_y
//!   with π the labeled class frequencies. q(y|x) is fitted to the training distribution; on a
//!   class-balanced target the Bayes rule divides out the prior. τ = 1 is the consistent choice.
//!   A prediction-time bias only ([`logit_bias`]); the bundle carries it, so the runtime predicts
//!   as the trainer does.
//! - **Distribution alignment of q inside U** (Berthelot et al., "ReMixMatch", ICLR 2020, §3.2;
//!   Wei et al., CReST, CVPR 2021, §3.3): the class weights of U are
//!   q̃(y|x) ∝ q(y|x) · π_y / p̂_y, with p̂ a running mean of q over the unlabeled batches
//!   ([`RunningMean`], [`aligned_log_q`]). A class the model stops predicting (p̂_y → 0) has its
//!   weight raised until the unlabeled data assigned to it matches its labeled share, so its
//!   decoder keeps receiving samples instead of freezing at the first pseudo-labels.
//! - **Consistency between weak and strong augmentations of q** (Sohn et al., "FixMatch",
//!   NeurIPS 2020, Eq. 2): a confident prediction of q on a weakly augmented unlabeled sample
//!   (aligned as in U when alignment is on) is the target of q on a strongly augmented one
//!   ([`confident_targets`], [`consistency_term`]). The classifier then learns the rare classes'
//!   neighbourhoods from the unlabeled data, not only from their one or two labels.
//! - **Agreement gate on U's pull on q** (the agreement condition of co-training and
//!   tri-training: Blum & Mitchell, "Combining labeled and unlabeled data with co-training", COLT
//!   1998; Zhou & Li, "Tri-training", IEEE TKDE 2005): U trains q(y|x) only on the unlabeled
//!   samples where the classifier's most probable class is also the class the generative model
//!   explains best, argmax_y q(y|x) = argmin_y L_γ(x, y) ([`agreement_gate`]). Elsewhere q enters
//!   U as a constant: the decoders and experts still learn from the sample under q's weights, but
//!   a decoder that has seen one or two labels of a rare class can no longer pull that class's
//!   samples to a better-trained neighbour. U's value is unchanged; only its gradient into the
//!   classifier is gated.
//! - **Ramp-up of the unlabeled term** (Laine & Aila, "Temporal ensembling for semi-supervised
//!   learning", ICLR 2017, §3.1): U is weighted by exp(−5(1 − t)²) over the first part of training
//!   ([`rampup`]), so the first pseudo-labels come from a classifier and decoders that have seen
//!   the labels.

use tch::{Kind, Tensor};

/// The post-hoc logit adjustment −τ ln π_k for labeled class counts `counts` (a class with no
/// labeled sample counts as one, so its bias stays finite).
pub fn logit_bias(counts: &[usize], tau: f64) -> Vec<f64> {
    let total: f64 = counts.iter().map(|&c| c.max(1) as f64).sum();
    counts
        .iter()
        .map(|&c| -tau * (c.max(1) as f64 / total).ln())
        .collect()
}

/// The labeled class frequencies π_k (a class with no label counts as one, as in [`logit_bias`]),
/// rounded to f32: the values a bundle stores and every target shift is computed from.
pub fn label_prior(counts: &[usize]) -> Vec<f32> {
    let total: f64 = counts.iter().map(|&c| c.max(1) as f64).sum();
    counts
        .iter()
        .map(|&c| (c.max(1) as f64 / total) as f32)
        .collect()
}

/// Iterations and tolerance of [`em_prior`]: Saerens et al. report convergence in a few dozen
/// steps; the tolerance is far below what moves a prediction.
const EM_MAX_ITERATIONS: usize = 1000;
const EM_TOLERANCE: f64 = 1e-9;

/// The class prior of the samples whose posteriors are `q` (rows of K values from a classifier
/// trained under the prior `pi_train`), by EM (Saerens, Latinne & Decaestecker, "Adjusting the
/// outputs of a classifier to new a priori probabilities", Neural Computation 14(1), 2002,
/// Eq. 2.9–2.10): starting from π̂ = π_train, reweigh each posterior by π̂/π_train,
/// renormalise, and take π̂ as the mean of the reweighed posteriors, until π̂ moves less than
/// 1e-9. In f64; each class is kept above 1e-6 so that ln π̂ stays finite. `None` without rows.
pub fn em_prior(q: &[Vec<f32>], pi_train: &[f32]) -> Option<Vec<f32>> {
    if q.is_empty() {
        return None;
    }
    let k = pi_train.len();
    let train: Vec<f64> = pi_train.iter().map(|&p| f64::from(p)).collect();
    let mut pi = train.clone();
    for _ in 0..EM_MAX_ITERATIONS {
        let mut next = vec![0f64; k];
        for row in q {
            let w: Vec<f64> = (0..k)
                .map(|y| f64::from(row[y]) * pi[y] / train[y])
                .collect();
            let z: f64 = w.iter().sum();
            if z > 0.0 {
                next.iter_mut().zip(&w).for_each(|(n, w)| *n += w / z);
            }
        }
        let n = q.len() as f64;
        next.iter_mut().for_each(|p| *p = (*p / n).max(1e-6));
        let z: f64 = next.iter().sum();
        next.iter_mut().for_each(|p| *p /= z);
        let moved = next
            .iter()
            .zip(&pi)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        pi = next;
        if moved < EM_TOLERANCE {
            break;
        }
    }
    Some(pi.into_iter().map(|p| p as f32).collect())
}

/// The logit shift toward `target` (docs/model.md §12.1) for labeled class counts `counts`,
/// strength τ, and the EM estimate where the target needs it: the uniform target is
/// [`logit_bias`] exactly (the rule before the key, bit for bit), the labels' prior no shift
/// (empty), the estimate τ (ln π̂ − ln π) from the f32 priors a bundle stores, through
/// `format::target_shift` as the runtime computes it.
pub fn target_bias(
    target: super::TargetPrior,
    counts: &[usize],
    tau: f64,
    estimate: Option<&[f32]>,
) -> Vec<f64> {
    use super::TargetPrior;
    if tau == 0.0 {
        return Vec::new();
    }
    match (target, estimate) {
        (TargetPrior::Uniform, _) => logit_bias(counts, tau),
        (TargetPrior::Train, _) => Vec::new(),
        (TargetPrior::Estimated, Some(est)) => label_prior(counts)
            .iter()
            .zip(est)
            .map(|(&pl, &pt)| f64::from(format::target_shift(tau as f32, pl, Some(pt))))
            .collect(),
        // No unlabeled sample to estimate from: the labels' prior is the only estimate.
        (TargetPrior::Estimated, None) => Vec::new(),
    }
}

/// Class probabilities (N×K) with a logit bias added: softmax(ln p + bias).
pub fn adjust_probs(probs: &Tensor, bias: &Tensor) -> Tensor {
    (probs.clamp_min(f64::from(f32::MIN_POSITIVE)).log() + bias.unsqueeze(0))
        .softmax(1, Kind::Float)
}

/// Momentum of the running mean p̂ of q over unlabeled batches: a window of ~100 steps, the
/// order of ReMixMatch's 128 batches, a few epochs at this project's batch sizes.
pub const ALIGN_MOMENTUM: f64 = 0.99;

/// Floor of p̂ in the ratio π / p̂ (a class never predicted gets a large, finite boost).
pub const ALIGN_FLOOR: f64 = 1e-6;

/// The running mean p̂ of the unlabeled class probabilities (one per ensemble member; CReST+'s
/// FixMatch term keeps one too, at its own momentum).
#[derive(Debug)]
pub struct RunningMean {
    mean: Option<Tensor>,
    momentum: f64,
}

impl Default for RunningMean {
    fn default() -> Self {
        RunningMean::with_momentum(ALIGN_MOMENTUM)
    }
}

impl RunningMean {
    /// An empty running mean with momentum m (`ALIGN_MOMENTUM` is SSMVAE-CI's).
    pub fn with_momentum(momentum: f64) -> Self {
        RunningMean {
            mean: None,
            momentum,
        }
    }

    /// A running mean resumed from a checkpoint's value (None: no batch seen yet).
    pub fn resume(mean: Option<Tensor>) -> Self {
        RunningMean {
            mean: mean.filter(|t| t.numel() > 0),
            ..RunningMean::default()
        }
    }

    /// Folds a batch's mean of q (B×K probabilities, no gradient kept) into p̂: the first
    /// batch's mean, then p̂ ← m p̂ + (1 − m) mean_b q_b.
    pub fn update(&mut self, q: &Tensor) {
        let batch = q.detach().mean_dim(0, false, Kind::Float);
        self.mean = Some(match &self.mean {
            Some(p) => p * self.momentum + batch * (1.0 - self.momentum),
            None => batch,
        });
    }

    /// The current p̂, if any batch was seen.
    pub fn get(&self) -> Option<&Tensor> {
        self.mean.as_ref()
    }
}

/// q̃ ∝ q · target / p̂ in probabilities (`q` B×K, `target` and `p_hat` K): the same alignment as
/// [`aligned_log_q`] in the form CReST+'s FixMatch term applies it to its weak-view predictions
/// (no gradient), kept so its committed runs repeat bit for bit.
pub fn aligned_probs(q: &Tensor, target: &Tensor, p_hat: &Tensor) -> Tensor {
    let q = q * target / p_hat.clamp_min(ALIGN_FLOOR);
    &q / q.sum_dim_intlist(1, true, None)
}

/// ln q̃ with q̃(y|x) ∝ q(y|x) · π_y / p̂_y: `log_q` B×K, `log_target` = ln π (K), `p_hat` (K,
/// no gradient). The gradient flows through q.
pub fn aligned_log_q(log_q: &Tensor, log_target: &Tensor, p_hat: &Tensor) -> Tensor {
    let shift = log_target - p_hat.clamp_min(ALIGN_FLOOR).log();
    (log_q + shift.unsqueeze(0)).log_softmax(1, Kind::Float)
}

/// The consistency term's targets (docs/model.md §12.4; FixMatch, Sohn et al. 2020, Eq. 2): for
/// weak-view log-probabilities `log_q_weak` (B×K), the predicted class of each sample and a 0/1
/// weight that keeps it only when its probability reaches `tau`.
pub fn confident_targets(log_q_weak: &Tensor, tau: f64) -> (Tensor, Tensor) {
    let (conf, target) = log_q_weak.exp().max_dim(1, false);
    (target, conf.ge(tau).to_kind(Kind::Float))
}

/// The targets of FixMatch's term as CReST and Adsh use it (their Eq. 2 with class-wise
/// thresholds τ_k, Adsh's adaptive ones): for weak-view probabilities `q` (B×K), each sample's
/// most probable class and a 0/1 weight that keeps it when its probability reaches that class's
/// threshold in `thresholds` (K).
pub fn confident_targets_by_class(q: &Tensor, thresholds: &Tensor) -> (Tensor, Tensor) {
    let (conf, target) = q.max_dim(1, false);
    let keep = conf
        .ge_tensor(&thresholds.index_select(0, &target))
        .to_kind(Kind::Float);
    (target, keep)
}

/// The consistency term per sample: −ln q(target | strong view) where kept, 0 elsewhere
/// (SSMVAE-CI's §12.4 and the baselines' FixMatch term alike).
pub fn consistency_term(log_q_strong: &Tensor, target: &Tensor, keep: &Tensor) -> Tensor {
    -log_q_strong
        .gather(1, &target.unsqueeze(1), false)
        .squeeze_dim(1)
        * keep
}

/// ln q for U under the agreement gate (docs/model.md §12.7): `log_q` (B×K) where the classifier's
/// most probable class equals the class of lowest γ-loss in `losses` (B×K, the L_γ(x, y) of every
/// class), and the same values with no gradient elsewhere.
pub fn agreement_gate(log_q: &Tensor, losses: &Tensor) -> Tensor {
    let agree = log_q
        .argmax(1, false)
        .eq_tensor(&losses.argmin(1, false))
        .unsqueeze(1);
    log_q.where_self(&agree, &log_q.detach())
}

/// The weight of U at training progress `t` (epochs done / ramp length): exp(−5(1 − t)²) for
/// t < 1, then 1.
pub fn rampup(t: f64) -> f64 {
    if t >= 1.0 {
        1.0
    } else {
        let s = 1.0 - t.max(0.0);
        (-5.0 * s * s).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
    }

    #[test]
    fn em_prior_recovers_a_hand_computed_prior() {
        // One sample certainly class 0, one 50/50, uniform training prior: the update
        // a ← ½ (1 + a) runs 3/4, 7/8, … toward 1 (class 1 floored at 1e-6).
        let q = vec![vec![1.0f32, 0.0], vec![0.5, 0.5]];
        let pi = em_prior(&q, &[0.5, 0.5]).unwrap();
        assert!(pi[0] > 0.999 && pi[1] < 1e-3, "{pi:?}");
        // Posteriors that already average to the training prior leave it where it is.
        let q = vec![vec![0.8f32, 0.2], vec![0.4, 0.6]];
        let pi = em_prior(&q, &[0.6, 0.4]).unwrap();
        assert!(
            (pi[0] - 0.6).abs() < 1e-6 && (pi[1] - 0.4).abs() < 1e-6,
            "{pi:?}"
        );
        // Two samples, training prior (0.8, 0.2), posteriors (0.8, 0.2) and (0.2, 0.8): the EM
        // update a ← ½ Σ_i r_i(a), r_i the posterior of class 0 reweighed by (a/0.8, (1−a)/0.2),
        // written out and iterated to its fixed point.
        let q = vec![vec![0.8f32, 0.2], vec![0.2, 0.8]];
        let mut a = 0.8f64;
        for _ in 0..10_000 {
            let r1 = 0.8 * a / 0.8 / (0.8 * a / 0.8 + 0.2 * (1.0 - a) / 0.2);
            let r2 = 0.2 * a / 0.8 / (0.2 * a / 0.8 + 0.8 * (1.0 - a) / 0.2);
            a = (r1 + r2) / 2.0;
        }
        let pi = em_prior(&q, &[0.8, 0.2]).unwrap();
        assert!((f64::from(pi[0]) - a).abs() < 1e-5, "{pi:?} vs {a}");
        assert_eq!(em_prior(&[], &[0.5, 0.5]), None);
    }

    #[test]
    fn target_bias_uniform_is_the_old_rule_and_train_is_none() {
        use crate::objective::TargetPrior;
        let counts = [6, 3, 1];
        assert_eq!(
            target_bias(TargetPrior::Uniform, &counts, 1.0, None),
            logit_bias(&counts, 1.0)
        );
        assert!(target_bias(TargetPrior::Train, &counts, 1.0, None).is_empty());
        assert!(target_bias(TargetPrior::Uniform, &counts, 0.0, None).is_empty());
        let est = [0.2f32, 0.3, 0.5];
        let b = target_bias(TargetPrior::Estimated, &counts, 1.0, Some(&est));
        let want = [
            (0.2f64 / 0.6).ln(),
            (0.3f64 / 0.3).ln(),
            (0.5f64 / 0.1).ln(),
        ];
        for (b, w) in b.iter().zip(want) {
            assert!((b - w).abs() < 1e-6, "{b} vs {w}");
        }
        assert!(target_bias(TargetPrior::Estimated, &counts, 1.0, None).is_empty());
    }

    #[test]
    fn logit_bias_is_minus_tau_log_prior() {
        // Counts 6, 3, 1 (π = 0.6, 0.3, 0.1), τ = 1: −ln π = 0.5108, 1.2040, 2.3026 (= ln 10).
        let b = logit_bias(&[6, 3, 1], 1.0);
        for (got, want) in b
            .iter()
            .zip([0.510_825_6, 1.203_972_8, std::f64::consts::LN_10])
        {
            assert!((got - want).abs() < 1e-6, "{b:?}");
        }
        // A class with no label counts as one: (3, 0) → π = (0.75, 0.25); τ = 0.5 halves it.
        let b = logit_bias(&[3, 0], 0.5);
        assert!((b[0] - 0.5 * -(0.75f64).ln()).abs() < 1e-12);
        assert!((b[1] - 0.5 * -(0.25f64).ln()).abs() < 1e-12);
    }

    #[test]
    fn adjusting_divides_out_the_prior() {
        // p = (0.6, 0.3, 0.1) with the prior (0.6, 0.3, 0.1) adjusted away: uniform.
        let p = Tensor::from_slice(&[0.6f32, 0.3, 0.1]).unsqueeze(0);
        let bias = Tensor::from_slice(
            &logit_bias(&[6, 3, 1], 1.0)
                .iter()
                .map(|&x| x as f32)
                .collect::<Vec<_>>(),
        );
        for x in v(&adjust_probs(&p, &bias)) {
            assert!((x - 1.0 / 3.0).abs() < 1e-6);
        }
        // (0.5, 0.3, 0.2): ∝ (0.5/0.6, 0.3/0.3, 0.2/0.1) = (0.8333, 1, 2) / 3.8333.
        let p = Tensor::from_slice(&[0.5f32, 0.3, 0.2]).unsqueeze(0);
        let got = v(&adjust_probs(&p, &bias));
        for (g, w) in got
            .iter()
            .zip([0.8333333 / 3.8333333, 1.0 / 3.8333333, 2.0 / 3.8333333])
        {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn alignment_reweights_by_target_over_running_mean() {
        // q = (0.7, 0.2, 0.1), π = (0.5, 0.3, 0.2), p̂ = (0.8, 0.15, 0.05):
        // q π / p̂ = (0.4375, 0.4, 0.4) → / 1.2375 = (0.353535, 0.323232, 0.323232).
        let log_q = Tensor::from_slice(&[0.7f32, 0.2, 0.1]).log().unsqueeze(0);
        let log_t = Tensor::from_slice(&[0.5f32, 0.3, 0.2]).log();
        let p_hat = Tensor::from_slice(&[0.8f32, 0.15, 0.05]);
        let got: Vec<f64> = v(&aligned_log_q(&log_q, &log_t, &p_hat).exp());
        for (g, w) in got
            .iter()
            .zip([0.4375 / 1.2375, 0.4 / 1.2375, 0.4 / 1.2375])
        {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        // The running mean: first batch as is, then m p̂ + (1 − m) batch.
        let mut rm = RunningMean::default();
        let b1 = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0]).view([2, 3]);
        rm.update(&b1);
        assert_eq!(v(rm.get().unwrap()), vec![0.5, 0.5, 0.0]);
        let b2 = Tensor::from_slice(&[0.0f32, 0.0, 1.0]).view([1, 3]);
        rm.update(&b2);
        let got = v(rm.get().unwrap());
        let m = ALIGN_MOMENTUM;
        for (g, w) in got.iter().zip([0.5 * m, 0.5 * m, 1.0 - m]) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn consistency_keeps_confident_weak_predictions_as_strong_targets() {
        // Weak views (0.96, 0.04) and (0.6, 0.4) with τ = 0.95: targets 0 and 0, only the first
        // kept. Strong views (0.8, 0.2) and (0.3, 0.7): −ln 0.8 = 0.22314 for the first, 0 for
        // the second (below τ).
        let weak = Tensor::from_slice(&[0.96f32, 0.04, 0.6, 0.4])
            .view([2, 2])
            .log();
        let (target, keep) = confident_targets(&weak, 0.95);
        assert_eq!(Vec::<i64>::try_from(&target).unwrap(), vec![0, 0]);
        assert_eq!(v(&keep), vec![1.0, 0.0]);
        let strong = Tensor::from_slice(&[0.8f32, 0.2, 0.3, 0.7])
            .view([2, 2])
            .log();
        let got = v(&consistency_term(&strong, &target, &keep));
        assert!(
            (got[0] - 0.223_143_55).abs() < 1e-6 && got[1] == 0.0,
            "{got:?}"
        );
        // A threshold of 0.5 keeps both; the second's target is class 0: −ln 0.3.
        let (target, keep) = confident_targets(&weak, 0.5);
        let got = v(&consistency_term(&strong, &target, &keep));
        assert!((got[1] - 1.203_972_8).abs() < 1e-6, "{got:?}");
    }

    #[test]
    fn agreement_gate_keeps_u_and_stops_its_pull_where_the_two_disagree() {
        // Two samples with the same logits (1, 0, −1): q = (0.665241, 0.244728, 0.090031), so
        // the classifier says class 0. The γ-losses (0.5, 2, 3) agree with it; (3, 0.5, 2) say
        // class 1. With c = 0.1, U = Σ q L − c H(q): 1.008930 and 2.214909 (H = 0.832396), by
        // hand below, and the gate leaves both values as they are.
        let logits = Tensor::from_slice(&[1.0f64, 0.0, -1.0, 1.0, 0.0, -1.0])
            .view([2, 3])
            .set_requires_grad(true);
        let losses = Tensor::from_slice(&[0.5f64, 2.0, 3.0, 3.0, 0.5, 2.0]).view([2, 3]);
        let c = Tensor::from_slice(&[0.1f64, 0.1]);
        let log_q = logits.log_softmax(1, Kind::Double);
        let u = crate::objective::gamma::gamma_loss_unlabeled(
            &losses,
            &agreement_gate(&log_q, &losses),
            &c,
        );
        let z: f64 = [1.0f64, 0.0, -1.0].iter().map(|a| a.exp()).sum();
        let q: Vec<f64> = [1.0f64, 0.0, -1.0].iter().map(|a| a.exp() / z).collect();
        let h: f64 = -q.iter().map(|p| p * p.ln()).sum::<f64>();
        let hand = |l: [f64; 3]| q.iter().zip(l).map(|(p, l)| p * l).sum::<f64>() - 0.1 * h;
        let got = v(&u);
        assert!((got[0] - hand([0.5, 2.0, 3.0])).abs() < 1e-12, "{got:?}");
        assert!((got[1] - hand([3.0, 0.5, 2.0])).abs() < 1e-12, "{got:?}");
        assert!((got[0] - 1.008_930).abs() < 1e-6 && (got[1] - 2.214_909).abs() < 1e-6);
        // dU/d logit_k = q_k (g_k − Σ_y q_y g_y) with g_y = L_y + c (ln q_y + 1) on the agreeing
        // sample; nothing on the other.
        u.sum(Kind::Double).backward();
        let grad = v(&logits.grad());
        let g: Vec<f64> = [0.5, 2.0, 3.0]
            .iter()
            .zip(&q)
            .map(|(l, p)| l + 0.1 * (p.ln() + 1.0))
            .collect();
        let mean: f64 = g.iter().zip(&q).map(|(g, p)| g * p).sum();
        for k in 0..3 {
            assert!((grad[k] - q[k] * (g[k] - mean)).abs() < 1e-12, "{grad:?}");
            assert_eq!(grad[3 + k], 0.0, "{grad:?}");
        }
        assert!(
            grad[0] < 0.0,
            "the agreeing sample is pulled further toward class 0"
        );
    }

    #[test]
    fn rampup_follows_laine_and_aila() {
        assert!((rampup(0.0) - (-5.0f64).exp()).abs() < 1e-15);
        assert!((rampup(0.5) - (-1.25f64).exp()).abs() < 1e-15);
        assert_eq!(rampup(1.0), 1.0);
        assert_eq!(rampup(3.0), 1.0);
    }
}
