//! GAMO (Mullick, Datta, Das, "Generative adversarial minority oversampling", ICCV 2019): a
//! three-player game on the labeled data only. The **generator** makes minority samples as
//! *convex combinations* of the real samples of the class (its output is a softmax over them, so
//! every generated sample lies in the class's convex hull); the **classifier** learns from real
//! and generated samples; the generator tries to make the classifier misclassify its samples
//! while a class-conditional **discriminator** keeps them looking like real samples of the class.
//!
//! Choices: one generator for all classes, conditioned on the class one-hot (the paper has one
//! per class); generated samples per step = `gamo_ratio` × the labeled batch, classes drawn in
//! proportion to their deficit n_max − n_k (so the generated batch levels the class counts); the
//! generator's misclassification loss is −ln(1 − p_M(c | x̃)), bounded as the paper's saturating
//! form; with several modalities a generated sample combines whole multimodal samples with the
//! same weights (so its modalities stay paired), for early and late fusion alike.

use super::backbone::{ce, Backbone};
use super::ema::zero_grads;
use super::recipe::{Recipe, UnlabeledBatch};
use rand_chacha::ChaCha8Rng;
use ssmvae_core::error::{DataError, Result};
use ssmvae_core::model::layers::Mlp;
use ssmvae_core::train::adam::Adam;
use ssmvae_core::train::config::TrainConfig;
use ssmvae_core::train::driver::Prepared;
use ssmvae_core::train::tensors::{index_tensor, DataTensors};
use tch::{nn, Kind, Tensor};

/// Convex weights (B×N) over the N real samples for classes `c` (B): softmax of the generator's
/// `logits` (B×N) restricted to the samples whose label is the requested class.
pub fn convex_weights(logits: &Tensor, labels: &Tensor, c: &Tensor) -> Tensor {
    let same = labels.unsqueeze(0).eq_tensor(&c.unsqueeze(1));
    logits
        .masked_fill(&same.logical_not(), f64::NEG_INFINITY)
        .softmax(1, Kind::Float)
}

/// Generated samples: the convex combinations `weights` (B×N) of the rows of `x` (N×d).
pub fn combine(weights: &Tensor, x: &Tensor) -> Tensor {
    weights.matmul(x)
}

/// Classes to generate: `n` draws in proportion to each class's deficit to the largest class
/// (deterministic, largest remainders first), none if the classes are level.
pub fn deficit_classes(counts: &[usize], n: usize) -> Vec<i64> {
    let max = counts.iter().copied().max().unwrap_or(0);
    let deficit: Vec<f64> = counts
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { (max - c) as f64 })
        .collect();
    let total: f64 = deficit.iter().sum();
    if total == 0.0 || n == 0 {
        return Vec::new();
    }
    let exact: Vec<f64> = deficit.iter().map(|d| d / total * n as f64).collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut rest: Vec<usize> = (0..counts.len()).collect();
    rest.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = n - take.iter().sum::<usize>();
    for k in rest {
        if left == 0 {
            break;
        }
        if deficit[k] > 0.0 {
            take[k] += 1;
            left -= 1;
        }
    }
    take.iter()
        .enumerate()
        .flat_map(|(k, &t)| std::iter::repeat_n(k as i64, t))
        .collect()
}

/// Width of the generator's noise input (the paper does not fix it for its tabular experiments;
/// 32 is small next to the 512-wide hidden layer and ample for one convex combination per sample).
pub const NOISE: i64 = 32;

/// Keeps ln(1 − p) finite when the classifier is certain (p = 1).
pub const LOG_FLOOR: f64 = 1e-6;

/// GAMO's recipe: its generator and discriminator (each with its own Adam) and the labeled data
/// they combine. The classifier is the shared backbone, trained on labeled data only.
pub struct Gamo {
    gen_vs: nn::VarStore,
    gen: Mlp,
    disc_vs: nn::VarStore,
    disc: Mlp,
    gen_adam: Adam,
    disc_adam: Adam,
    labeled_idx: Tensor,
    labeled_y: Tensor,
    counts: Vec<usize>,
    ratio: f64,
}

impl Gamo {
    /// The networks (one hidden layer of the configuration's first width) for `classes` classes.
    pub fn new(cfg: &TrainConfig, p: &Prepared, classes: usize) -> Self {
        let device = p.device;
        let h: Vec<i64> = p.hidden.iter().map(|&w| w as i64).collect();
        let n_l = p.labeled_rows.len();
        let gen_vs = nn::VarStore::new(device);
        let gen = Mlp::new(
            &(gen_vs.root() / "generator"),
            NOISE + classes as i64,
            0,
            &h[..1],
            n_l as i64,
        );
        let disc_vs = nn::VarStore::new(device);
        let total: usize = p.data.dims.iter().sum();
        let disc = Mlp::new(
            &(disc_vs.root() / "discriminator"),
            (total + classes) as i64,
            0,
            &h[..1],
            1,
        );
        let gen_adam = Adam::new(&gen_vs, cfg.optim.lr);
        let disc_adam = Adam::new(&disc_vs, cfg.optim.lr);
        let codes = p.label_codes();
        Gamo {
            gen_vs,
            gen,
            disc_vs,
            disc,
            gen_adam,
            disc_adam,
            labeled_idx: index_tensor(&p.labeled_rows, device),
            labeled_y: Tensor::from_slice(
                &p.labeled_rows.iter().map(|&i| codes[i]).collect::<Vec<_>>(),
            )
            .to_device(device),
            counts: p.train_ds.labeled_counts(),
            ratio: cfg.gamo.ratio,
        }
    }
}

impl Recipe for Gamo {
    fn uses_unlabeled(&self) -> bool {
        false
    }

    fn unlabeled_loss(
        &mut self,
        _net: &Backbone,
        _p: &Prepared,
        _batch: &UnlabeledBatch,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        Err(DataError::InvalidParameter {
            name: "method",
            value: "gamo".into(),
            reason: "GAMO trains on labeled data only".into(),
        }
        .into())
    }

    /// One GAMO round on the labeled batch: the discriminator and generator steps, and the
    /// classifier's loss on generated minority samples added to `loss` (the driver steps the
    /// classifier).
    fn finish_loss(
        &mut self,
        net: &Backbone,
        p: &Prepared,
        labeled: &[usize],
        loss: Tensor,
    ) -> Result<Tensor> {
        Ok(gamo_step(self, net, &p.data, labeled.len(), loss))
    }
}

fn gamo_step(
    g: &mut Gamo,
    net: &Backbone,
    data: &DataTensors,
    batch: usize,
    loss: Tensor,
) -> Tensor {
    let (labeled_idx, labeled_y) = (&g.labeled_idx, &g.labeled_y);
    let n_gen = (g.ratio * batch as f64).round() as usize;
    let cls = deficit_classes(&g.counts, n_gen);
    if cls.is_empty() {
        return loss;
    }
    let device = net.vs.device();
    let classes = g.counts.len() as i64;
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
    let generate = |g: &Gamo| {
        let z = Tensor::randn([cls.len() as i64, NOISE], (Kind::Float, device));
        let w = convex_weights(
            &g.gen.forward(&Tensor::cat(&[z, onehot.shallow_clone()], 1)),
            labeled_y,
            &c,
        );
        xs_real
            .iter()
            .map(|x| combine(&w, x))
            .collect::<Vec<Tensor>>()
    };
    let disc = |g: &Gamo, xs: &[Tensor], oh: &Tensor| {
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
    ) - (p_c.neg() + (1.0 + LOG_FLOOR)).log().mean(Kind::Float);
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
    loss + gen_loss
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_samples_lie_in_the_convex_hull_of_their_class() {
        let _rng = ssmvae_core::torch_rng_lock();
        // Five real samples in 2-D; class 1 = samples 1, 3, 4.
        let x = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0, 9.0, 9.0, 0.0, 1.0, 1.0, 1.0])
            .reshape([5, 2]);
        let labels = Tensor::from_slice(&[0i64, 1, 0, 1, 1]);
        let logits = Tensor::from_slice(&[3.0f32, -1.0, 2.0, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
            .reshape([2, 5]);
        let c = Tensor::from_slice(&[1i64, 1]);
        let w = convex_weights(&logits, &labels, &c);
        let wv = Vec::<Vec<f32>>::try_from(&w).unwrap();
        for row in &wv {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(row.iter().all(|&v| v >= 0.0));
            // No weight on samples of another class.
            assert_eq!((row[0], row[2]), (0.0, 0.0));
        }
        // Row 1 has equal logits on the class: the centroid of (1,0), (0,1), (1,1).
        let g = Vec::<Vec<f32>>::try_from(combine(&w, &x)).unwrap();
        assert!((g[1][0] - 2.0 / 3.0).abs() < 1e-6 && (g[1][1] - 2.0 / 3.0).abs() < 1e-6);
        // Every generated point is inside the class's bounding box [0, 1]² (the hull's),
        // far from the other class's (9, 9).
        for p in &g {
            assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)), "{p:?}");
        }
    }

    #[test]
    fn generated_classes_level_the_counts() {
        let _rng = ssmvae_core::torch_rng_lock();
        // Counts 10, 6, 2: deficits 0, 4, 8 → of 6 draws, 2 of class 1 and 4 of class 2.
        assert_eq!(deficit_classes(&[10, 6, 2], 6), vec![1, 1, 2, 2, 2, 2]);
        assert!(deficit_classes(&[5, 5], 4).is_empty());
    }
}
