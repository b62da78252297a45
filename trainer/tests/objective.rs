//! The test oracles of docs/model.md §9 (9.2–9.12; 9.1 and the constant part of 9.5 are unit tests
//! in `objective::constants`). Everything runs in f64 on the CPU.
//!
//! One file over 500 lines on purpose: the oracles are one numbered list in docs/model.md §9, each
//! test names its item, and they share the small model builders at the top; split, the list would
//! be read across files that each repeat those builders.

use tch::{nn, Device, Kind, Tensor};
use trainer::data::ModalityKind;
use trainer::model::{latent_poe, ModalitySpec, ModelSpec, Ssmvae};
use trainer::objective::classification::{classification_loss, classifier_poe_log_probs};
use trainer::objective::constants::log_c;
use trainer::objective::gamma::{
    gamma_loss_labeled, gamma_loss_unlabeled, gamma_loss_unlabeled_exact, regularizer,
    BatchConstants,
};
use trainer::objective::student_t::{chi_factor, log_density_diag, t_reparameterize};
use trainer::objective::{Latent, PriorExpert, SubsetConstants};
use trainer::train::tensors::constant_table;

const D: Kind = Kind::Double;

/// libtorch's RNG is process-global and the test harness runs tests on parallel threads: every
/// oracle takes its turn, so its seeded draws are the ones its seed gives (without the lock another
/// test's draws interleave and an oracle checks inputs nobody chose).
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_turn() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn t(v: &[f64], shape: &[i64]) -> Tensor {
    Tensor::from_slice(v).reshape(shape)
}

fn f(x: &Tensor) -> f64 {
    f64::try_from(x).unwrap()
}

fn v(x: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(x.flatten(0, -1)).unwrap()
}

fn rand(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (D, Device::Cpu))
}

fn consts(nu: f64, n_s: f64, m: f64, batch: i64) -> (SubsetConstants, BatchConstants) {
    let k = SubsetConstants::new(nu, n_s, m, 0.0);
    let b = BatchConstants::uniform(&k, nu, Latent::StudentT, batch, D);
    (k, b)
}

/// 9.2: ln t_m(z|0,I,ν) + ln t_{n_S}(x_S | μ, (ν+‖z‖²)/(ν+m) D_S, ν+m) equals the ln of (G1).
#[test]
fn oracle_9_2_joint_power_form() {
    let _turn = rng_turn();
    let (nu, m) = (7.0, 3usize);
    let z = [0.3, -1.2, 0.8];
    let (x1, x2) = ([0.5, -0.1], [1.4, 0.2, -0.7]);
    let (mu1, mu2) = ([0.1, 0.3], [1.0, -0.5, 0.0]);
    let (s1, s2) = (0.6f64, 1.7f64);
    let z2: f64 = z.iter().map(|v| v * v).sum();
    let w = (nu + z2) / (nu + m as f64);
    let x: Vec<f64> = x1.iter().chain(&x2).copied().collect();
    let mu: Vec<f64> = mu1.iter().chain(&mu2).copied().collect();
    let scale: Vec<f64> = [s1 * s1; 2]
        .iter()
        .chain(&[s2 * s2; 3])
        .map(|s| s * w)
        .collect();
    let lhs = log_density_diag(&z, &[0.0; 3], &[1.0; 3], nu)
        + log_density_diag(&x, &mu, &scale, nu + m as f64);
    let q = z2
        + x1.iter()
            .zip(&mu1)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / (s1 * s1)
        + x2.iter()
            .zip(&mu2)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / (s2 * s2);
    let n = 5.0;
    let rhs = log_c(nu, m as f64 + n)
        - 2.0 * s1.ln()
        - 3.0 * s2.ln()
        - (nu + m as f64 + n) / 2.0 * (q / nu).ln_1p();
    assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
}

/// The closed-form γ-power divergence between two t's with common k and dimension d (§9.3).
fn d_gamma(mu: &[f64], sq: &[f64], tau2: f64, k: f64) -> f64 {
    let d = mu.len() as f64;
    let g = (((k / (k - 2.0)).powf(d / 2.0)) / log_c(k - 2.0, d).exp()).powf(2.0 / (k + d - 2.0));
    let det_p = tau2.powf(d);
    let det_q: f64 = sq.iter().product();
    let quad = mu.iter().map(|m| m * m / tau2).sum::<f64>()
        + k / (k - 2.0) * sq.iter().map(|s| s / tau2).sum::<f64>();
    (k + d) / 2.0
        * (g * det_p.powf(1.0 / (k + d - 2.0)) * (1.0 + quad / k)
            - log_c(k, d).exp() * g.powf((k + d) / 2.0) * det_q.powf(1.0 / (k + d - 2.0)))
}

/// 9.3: R_S is κ_S times the γ-divergence to the alternative prior t_m(0, τ_S² I, ν + n_S).
#[test]
fn oracle_9_3_regularizer_is_a_gamma_divergence() {
    let _turn = rng_turn();
    tch::manual_seed(3);
    let (nu, n_s, m) = (10.0, 6.0, 3.0);
    let (k, b) = consts(nu, n_s, m, 4);
    let kk = nu + n_s;
    let g = ((kk / (kk - 2.0)).powf(m / 2.0) * k.tau2.powf(m / 2.0) / log_c(kk - 2.0, m).exp())
        .powf(2.0 / (kk + m - 2.0));
    let kappa = 2.0 * kk * k.tau2 / ((kk + m) * g);
    let mu = rand(&[4, 3]) * 0.5;
    let log_sq = rand(&[4, 3]) * 0.5 - 2.0;
    let r = v(&regularizer(&mu, &log_sq, &b, Latent::StudentT));
    let (mu_v, sq_v) = (v(&mu), v(&log_sq.exp()));
    for i in 0..4 {
        let dg = d_gamma(&mu_v[i * 3..i * 3 + 3], &sq_v[i * 3..i * 3 + 3], k.tau2, kk);
        assert!(
            ((r[i] / dg) - kappa).abs() / kappa < 1e-9,
            "row {i}: {} vs κ {kappa}",
            r[i] / dg
        );
    }
    assert!(
        d_gamma(&[0.0; 3], &[k.tau2; 3], k.tau2, kk).abs() < 1e-12,
        "D(p‖p) = 0"
    );
}

/// 9.4: R_S(0, τ̃ I) = 0, R_S ≥ 0, and the gradient vanishes at the optimum.
#[test]
fn oracle_9_4_minimum() {
    let _turn = rng_turn();
    tch::manual_seed(4);
    let (nu, n_s, m) = (10.0, 50.0, 4.0);
    let (k, b) = consts(nu, n_s, m, 1);
    let mu = Tensor::zeros([1, 4], (D, Device::Cpu)).set_requires_grad(true);
    let log_sq = Tensor::full([1, 4], k.tau2.ln(), (D, Device::Cpu)).set_requires_grad(true);
    let r = regularizer(&mu, &log_sq, &b, Latent::StudentT).sum(D);
    assert!(f(&r).abs() < 1e-10, "R at the optimum = {}", f(&r));
    r.backward();
    assert!(f(&mu.grad().abs().max()) < 1e-9 && f(&log_sq.grad().abs().max()) < 1e-9);
    let (_, b) = consts(nu, n_s, m, 500);
    let r = regularizer(
        &(rand(&[500, 4]) * 2.0),
        &(rand(&[500, 4]) * 2.0 - 1.0),
        &b,
        Latent::StudentT,
    );
    assert!(f(&r.min()) >= -1e-10, "R ≥ 0, min {}", f(&r.min()));
}

fn spec(
    dims: &[usize],
    classes: usize,
    latent: Latent,
    prior: PriorExpert,
    nu: f64,
    sigma: f64,
) -> ModelSpec {
    ModelSpec {
        modalities: dims
            .iter()
            .enumerate()
            .map(|(j, &d)| ModalitySpec {
                name: format!("m{j}"),
                dim: d,
                kind: ModalityKind::Tabular,
            })
            .collect(),
        classes,
        latent_dim: 3,
        hidden: vec![8],
        nu,
        latent,
        prior_expert: prior,
        sigma,
        generative: true,
    }
}

fn model(s: ModelSpec, seed: i64) -> (nn::VarStore, Ssmvae) {
    tch::manual_seed(seed);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let m = Ssmvae::new(&vs.root(), s);
    vs.double();
    (vs, m)
}

/// 9.5: the Student-t loss at ν = 10⁶ is the Gaussian one (regulariser within 1e-4 of
/// 2 KL(N(μ,S_q)‖N(0,I)), and L_γ within 1e-4 of `latent = gaussian` for the same network outputs
/// and ε with the χ² factor fixed to 1).
#[test]
fn oracle_9_5_gaussian_limit() {
    let _turn = rng_turn();
    tch::manual_seed(5);
    let (_, b) = consts(1e6, 10.0, 3.0, 8);
    let mu = rand(&[8, 3]);
    let log_sq = rand(&[8, 3]) * 0.5 - 0.5;
    let r = regularizer(&mu, &log_sq, &b, Latent::StudentT);
    let kl2 = mu.square().sum_dim_intlist(1, false, None)
        + log_sq.exp().sum_dim_intlist(1, false, None)
        - log_sq.sum_dim_intlist(1, false, None)
        - 3.0;
    assert!(f(&(r - &kl2).abs().max()) < 1e-4);

    let (vt, mt) = model(
        spec(&[4, 6], 2, Latent::StudentT, PriorExpert::Prior, 1e6, 1.0),
        11,
    );
    let (mut vg, mg) = model(
        spec(&[4, 6], 2, Latent::Gaussian, PriorExpert::Prior, 1e6, 1.0),
        11,
    );
    // The same network outputs: copy the weights (libtorch's generator is shared by the test
    // threads, so two seeded initialisations are not guaranteed to match).
    vg.copy(&vt).unwrap();
    let xs = vec![rand(&[8, 4]), rand(&[8, 6])];
    let present = Tensor::ones([8, 2], (Kind::Bool, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 0, 1, 1, 0, 0, 1]);
    let eps = rand(&[8, 3]);
    let chi = Tensor::ones([8, 1], (D, Device::Cpu));
    let kt = BatchConstants::uniform(
        &SubsetConstants::new(1e6, 10.0, 3.0, 0.0),
        1e6,
        Latent::StudentT,
        8,
        D,
    );
    let kg = BatchConstants::uniform(
        &SubsetConstants::gaussian(10.0, 3.0),
        1e6,
        Latent::Gaussian,
        8,
        D,
    );
    let run = |m: &Ssmvae, k: &BatchConstants, latent| {
        let tt = m.labeled_terms(
            &xs,
            &m.expert_x_parts(&xs),
            &y,
            &present,
            k,
            Some((&eps, &chi)),
        );
        gamma_loss_labeled(
            &tt.recon,
            &tt.posterior.mu,
            &tt.posterior.log_sq,
            &y,
            k,
            latent,
        )
    };
    let (lt, lg) = (
        run(&mt, &kt, Latent::StudentT),
        run(&mg, &kg, Latent::Gaussian),
    );
    assert!(f(&(lt - lg).abs().max()) < 1e-4);
}

/// 9.6: with M = 1, K = 1 and no prior expert, 2 L_γ is t³VAE's loss ‖x − x̂‖²/σ² + R computed
/// from t³VAE's own (non-cancellation-free) formulas for the same (mu, logvar).
#[test]
fn oracle_9_6_t3vae_reduction() {
    let _turn = rng_turn();
    let (nu, n, sigma) = (5.0, 6.0, 0.7);
    let (_, m) = model(
        spec(&[6], 1, Latent::StudentT, PriorExpert::None, nu, sigma),
        6,
    );
    let k = SubsetConstants::new(nu, n, 3.0, n * f64::ln(sigma));
    let b = BatchConstants::uniform(&k, nu, Latent::StudentT, 5, D);
    let xs = vec![rand(&[5, 6])];
    let present = Tensor::ones([5, 1], (Kind::Bool, Device::Cpu));
    let y = Tensor::zeros([5], (Kind::Int64, Device::Cpu));
    let eps = rand(&[5, 3]);
    let chi = chi_factor(&b.dof);
    let tt = m.labeled_terms(
        &xs,
        &m.expert_x_parts(&xs),
        &y,
        &present,
        &b,
        Some((&eps, &chi)),
    );
    let l = gamma_loss_labeled(
        &tt.recon,
        &tt.posterior.mu,
        &tt.posterior.log_sq,
        &y,
        &b,
        Latent::StudentT,
    );
    // t³VAE: logvar = ln Σ_φ; z = μ + √(ν/v) Σ_φ^½ ε; recon ‖x − x̂‖²/σ²; R = ‖μ‖² + ν/(ν+n−2) tr Σ_φ − νC|Σ_φ|^e + ν τ̃.
    let (mu, log_sq) = (&tt.posterior.mu, &tt.posterior.log_sq);
    let logvar = log_sq + ((nu + n) / nu).ln();
    let z = t_reparameterize(mu, log_sq, &eps, &chi);
    let x_hat = &m.decode(&z, &y)[0];
    let recon = (&xs[0] - x_hat).square().sum_dim_intlist(1, false, None) / (sigma * sigma);
    let r = mu.square().sum_dim_intlist(1, false, None)
        + logvar.exp().sum_dim_intlist(1, false, None) * (nu / (nu + n - 2.0))
        - (logvar.sum_dim_intlist(1, false, None) * k.e).exp() * (nu * k.c_big)
        + nu * k.tau_tilde;
    let t3 = recon + r;
    let diff = f(&((l * 2.0 - &t3) / &t3).abs().max());
    assert!(diff < 1e-9, "relative difference {diff}");
}

/// 9.7: the t-reparameterisation's moments, and one χ² draw shared by the coordinates.
#[test]
fn oracle_9_7_reparameterisation_moments() {
    let _turn = rng_turn();
    tch::manual_seed(7);
    let n = 400_000;
    let k = 20.0; // ν + n_S
    let mu = t(&[1.0, -2.0], &[1, 2]).expand([n, 2], false);
    let sq = [0.5, 2.0];
    let log_sq = t(&[0.5f64.ln(), 2.0f64.ln()], &[1, 2]).expand([n, 2], false);
    let dof = Tensor::full([n], k, (D, Device::Cpu));
    let z = t_reparameterize(&mu, &log_sq, &rand(&[n, 2]), &chi_factor(&dof));
    let mean = v(&z.mean_dim(0, false, D));
    assert!(
        (mean[0] - 1.0).abs() < 0.02 && (mean[1] + 2.0).abs() < 0.02,
        "{mean:?}"
    );
    let c = &z - z.mean_dim(0, true, D);
    let var = v(&c.square().mean_dim(0, false, D));
    for i in 0..2 {
        let want = k / (k - 2.0) * sq[i];
        assert!(
            (var[i] - want).abs() / want < 0.02,
            "var {i}: {} vs {want}",
            var[i]
        );
    }
    let ratio = |c: &Tensor| {
        let (a, b) = (c.select(1, 0).square(), c.select(1, 1).square());
        f(&(&a * &b).mean(D)) / (f(&a.mean(D)) * f(&b.mean(D)))
    };
    let shared = ratio(&c);
    assert!(
        (shared - (k - 2.0) / (k - 4.0)).abs() < 0.03,
        "shared v: {shared}"
    );
    // An independent χ² per coordinate would give 1.
    let v2 = (Tensor::full([n, 2], k / 2.0, (D, Device::Cpu)).internal_standard_gamma() * 2.0)
        .reciprocal()
        * k;
    let zi = t_reparameterize(&mu, &log_sq, &rand(&[n, 2]), &v2.sqrt());
    let ci = &zi - zi.mean_dim(0, true, D);
    assert!(
        (ratio(&ci) - 1.0).abs() < 0.03,
        "independent v: {}",
        ratio(&ci)
    );
}

/// 9.8: the latent PoE.
#[test]
fn oracle_9_8_product_of_experts() {
    let _turn = rng_turn();
    tch::manual_seed(8);
    let all = |b: i64, m: i64| Tensor::ones([b, m], (Kind::Bool, Device::Cpu));
    let zero = Tensor::zeros([3, 1], (D, Device::Cpu));
    let (mu1, l1) = (rand(&[3, 4]), rand(&[3, 4]));
    let p = latent_poe(
        &[mu1.shallow_clone()],
        &[l1.shallow_clone()],
        &all(3, 1),
        Some(&zero),
    );
    let s = l1.exp();
    assert!(f(&(p.log_sq.exp() - &s / (&s + 1.0)).abs().max()) < 1e-12);
    assert!(f(&(&p.mu - &mu1 / (&s + 1.0)).abs().max()) < 1e-12);
    // Order does not matter.
    let (mu2, l2) = (rand(&[3, 4]), rand(&[3, 4]));
    let a = latent_poe(
        &[mu1.shallow_clone(), mu2.shallow_clone()],
        &[l1.shallow_clone(), l2.shallow_clone()],
        &all(3, 2),
        Some(&zero),
    );
    let b = latent_poe(
        &[mu2.shallow_clone(), mu1.shallow_clone()],
        &[l2.shallow_clone(), l1.shallow_clone()],
        &all(3, 2),
        Some(&zero),
    );
    assert!(
        f(&(&a.mu - &b.mu).abs().max()) < 1e-12 && f(&(&a.log_sq - &b.log_sq).abs().max()) < 1e-12
    );
    // An expert with ℓ = +30 (no clamp) acts as if missing.
    let big = Tensor::full([3, 4], 30.0, (D, Device::Cpu));
    let c = latent_poe(
        &[mu1.shallow_clone(), mu2.shallow_clone()],
        &[l1.shallow_clone(), big],
        &all(3, 2),
        Some(&zero),
    );
    assert!(
        f(&(&c.mu - &p.mu).abs().max()) < 1e-9
            && f(&(c.log_sq.exp() - p.log_sq.exp()).abs().max()) < 1e-9
    );
    // M identical experts: S_q = s/(s + M), μ = M μ1/(s + M); weights sum to one.
    let mm = 3.0;
    let d = latent_poe(
        &[
            mu1.shallow_clone(),
            mu1.shallow_clone(),
            mu1.shallow_clone(),
        ],
        &[l1.shallow_clone(), l1.shallow_clone(), l1.shallow_clone()],
        &all(3, 3),
        Some(&zero),
    );
    assert!(f(&(d.log_sq.exp() - &s / (&s + mm)).abs().max()) < 1e-12);
    assert!(f(&(&d.mu - &mu1 * mm / (&s + mm)).abs().max()) < 1e-12);
    let w_sum = d.log_sq.exp() + (d.log_sq.shallow_clone() - &l1).exp() * mm;
    assert!(f(&(w_sum - 1.0).abs().max()) < 1e-12);
    // Gaussian experts: the PoE is the normalised product of the densities (quadrature, 1-D).
    let (m1, v1, m2, v2) = (0.7f64, 0.4f64, -1.1f64, 1.9f64);
    let q = latent_poe(
        &[t(&[m1], &[1, 1]), t(&[m2], &[1, 1])],
        &[t(&[v1.ln()], &[1, 1]), t(&[v2.ln()], &[1, 1])],
        &all(1, 2),
        Some(&t(&[0.0], &[1, 1])),
    );
    let (mut z0, mut z1, mut z2) = (0.0, 0.0, 0.0);
    for i in 0..200_001 {
        let x = -10.0 + 20.0 * i as f64 / 200_000.0;
        let dens =
            (-(x - m1) * (x - m1) / (2.0 * v1) - (x - m2) * (x - m2) / (2.0 * v2) - x * x / 2.0)
                .exp();
        z0 += dens;
        z1 += dens * x;
        z2 += dens * x * x;
    }
    let (mean, var) = (z1 / z0, z2 / z0 - (z1 / z0).powi(2));
    assert!((f(&q.mu) - mean).abs() < 1e-8 && (f(&q.log_sq.exp()) - var).abs() < 1e-8);
}

/// 9.9: the classifier PoE.
#[test]
fn oracle_9_9_classifier_poe() {
    let _turn = rng_turn();
    tch::manual_seed(9);
    let (a1, a2) = (rand(&[4, 5]), rand(&[4, 5]));
    let both = Tensor::ones([4, 2], (Kind::Bool, Device::Cpu));
    let lp = classifier_poe_log_probs(&[a1.shallow_clone(), a2.shallow_clone()], &both);
    let direct = (a1.log_softmax(1, D) + a2.log_softmax(1, D)).log_softmax(1, D);
    assert!(f(&(&lp - direct).abs().max()) < 1e-12);
    let only_first = Tensor::from_slice(&[true, false])
        .reshape([1, 2])
        .expand([4, 2], false);
    let one = classifier_poe_log_probs(&[a1.shallow_clone(), a2.shallow_clone()], &only_first);
    assert!(f(&(one - a1.log_softmax(1, D)).abs().max()) < 1e-12);
    let uniform = Tensor::full([4, 5], 3.3, (D, Device::Cpu));
    let three = Tensor::ones([4, 3], (Kind::Bool, Device::Cpu));
    let with_uniform = classifier_poe_log_probs(&[a1, a2, uniform], &three);
    assert!(f(&(with_uniform - lp).abs().max()) < 1e-12);
}

/// 9.10: the unlabeled objective against the labeled one.
#[test]
fn oracle_9_10_unlabeled_versus_labeled() {
    let _turn = rng_turn();
    tch::manual_seed(10);
    let (kk, b) = (4i64, 3i64);
    let (k, c) = consts(10.0, 30.0, 3.0, b);
    // Per-class pieces, class-major (K·B rows), and the labeled loss of each class.
    let recon = rand(&[kk * b]).abs() * 5.0;
    let mu = rand(&[kk * b, 3]);
    let log_sq = rand(&[kk * b, 3]) * 0.3 - 2.0;
    let ct = c.tile(kk);
    let ys = Tensor::arange(kk, (Kind::Int64, Device::Cpu)).repeat_interleave_self_int(b, 0, None);
    let l = gamma_loss_labeled(&recon, &mu, &log_sq, &ys, &ct, Latent::StudentT)
        .reshape([kk, b])
        .transpose(0, 1);
    let recon_bk = recon.reshape([kk, b]).transpose(0, 1);
    // One-hot q at y* = 2.
    let mut one_hot = vec![-1e9; (b * kk) as usize];
    for i in 0..b as usize {
        one_hot[i * kk as usize + 2] = 0.0;
    }
    let lq = t(&one_hot, &[b, kk]);
    let u = gamma_loss_unlabeled(&l, &lq, &c.c);
    assert!(f(&(&u - l.select(1, 2)).abs().max()) < 1e-12, "U = L(y*)");
    let u2 = gamma_loss_unlabeled_exact(&recon_bk, &mu, &log_sq, &lq, &c);
    assert!(f(&(&u2 - l.select(1, 2)).abs().max()) < 1e-9, "U2 = L(y*)");
    // Uniform q.
    let lq = Tensor::full([b, kk], -(kk as f64).ln(), (D, Device::Cpu));
    let u = gamma_loss_unlabeled(&l, &lq, &c.c);
    let want = l.mean_dim(1, false, D) - k.c * (kk as f64).ln();
    assert!(f(&(u - want).abs().max()) < 1e-12);
    // Gibbs bound: U(q) ≥ −c ln Σ exp(−L/c), equality at q* ∝ exp(−L/c).
    let bound = (-(&l / k.c)).logsumexp([1], false) * -k.c;
    for _ in 0..20 {
        let lq = rand(&[b, kk]).log_softmax(1, D);
        assert!(f(&(gamma_loss_unlabeled(&l, &lq, &c.c) - &bound).min()) >= -1e-9);
    }
    let gibbs = (-(&l / k.c)).log_softmax(1, D);
    assert!(
        f(&(gamma_loss_unlabeled(&l, &gibbs, &c.c) - &bound)
            .abs()
            .max())
            < 1e-9
    );
    // |U − U2| = O(e_S) for a soft q.
    let lq = rand(&[b, kk]).log_softmax(1, D);
    let gap = f(&(gamma_loss_unlabeled(&l, &lq, &c.c)
        - gamma_loss_unlabeled_exact(&recon_bk, &mu, &log_sq, &lq, &c))
    .abs()
    .max());
    assert!(gap < 50.0 * k.e * 10.0, "gap {gap}, e = {}", k.e);
}

/// 9.11: a missing modality is the model on S∖{j} with that subset's constants; with M = 2 the
/// per-sample constants come from the three subsets.
#[test]
fn oracle_9_11_missing_modalities() {
    let _turn = rng_turn();
    let (nu, dims) = (10.0, [4usize, 6]);
    let s = spec(&dims, 2, Latent::StudentT, PriorExpert::Prior, nu, 1.0);
    let (_, m) = model(s.clone(), 12);
    let rows = vec![vec![true, true], vec![true, false], vec![false, true]];
    let table = constant_table(
        &rows,
        &dims,
        &[0, 1],
        &s,
        trainer::train::config::EntropyCoef::C,
        Device::Cpu,
    )
    .to_kind(D);
    for (row, n_s) in [(0usize, 10.0), (1, 4.0), (2, 6.0)] {
        let want = SubsetConstants::new(nu, n_s, 3.0, 0.0);
        let got = v(&table.get(row as i64));
        assert!(
            (got[4] - want.k1).abs() / want.k1.abs() < 1e-6,
            "K1 of row {row}"
        );
        assert!((got[5] - want.c).abs() / want.c < 1e-6, "c of row {row}");
    }
    tch::manual_seed(13);
    let xs = vec![rand(&[2, 4]), rand(&[2, 6])];
    let y = Tensor::from_slice(&[0i64, 1]);
    let eps = rand(&[2, 3]);
    let chi = Tensor::ones([2, 1], (D, Device::Cpu));
    let only0 = Tensor::from_slice(&[true, false, true, false]).reshape([2, 2]);
    let k0 = BatchConstants::uniform(
        &SubsetConstants::new(nu, 4.0, 3.0, 0.0),
        nu,
        Latent::StudentT,
        2,
        D,
    );
    let loss = |xs: &[Tensor], present: &Tensor, k: &BatchConstants| {
        let tt = m.labeled_terms(
            xs,
            &m.expert_x_parts(xs),
            &y,
            present,
            k,
            Some((&eps, &chi)),
        );
        gamma_loss_labeled(
            &tt.recon,
            &tt.posterior.mu,
            &tt.posterior.log_sq,
            &y,
            k,
            Latent::StudentT,
        )
    };
    let dropped = loss(&xs, &only0, &k0);
    // The missing modality's values do not matter…
    let other = vec![xs[0].shallow_clone(), rand(&[2, 6]) * 100.0];
    assert!(f(&(loss(&other, &only0, &k0) - &dropped).abs().max()) < 1e-12);
    // …and the loss is the one-modality model: expert 0 with the prior, modality 0's reconstruction.
    let parts = m.expert_x_parts(&xs);
    let (mus, ells) = m.expert_outputs(&parts, &y);
    let post = latent_poe(
        &mus[..1],
        &ells[..1],
        &Tensor::ones([2, 1], (Kind::Bool, Device::Cpu)),
        Some(&Tensor::zeros([2, 1], (D, Device::Cpu))),
    );
    let z = t_reparameterize(&post.mu, &post.log_sq, &eps, &chi);
    let recon0 = (&xs[0] - &m.decode(&z, &y)[0])
        .square()
        .sum_dim_intlist(1, false, None)
        * 0.5;
    let manual = recon0 + regularizer(&post.mu, &post.log_sq, &k0, Latent::StudentT) * 0.5;
    assert!(f(&(&manual - &dropped).abs().max()) < 1e-12);
    let full = loss(
        &xs,
        &Tensor::ones([2, 2], (Kind::Bool, Device::Cpu)),
        &consts(nu, 10.0, 3.0, 2).1,
    );
    assert!(
        f(&(full - dropped).abs().min()) > 1e-6,
        "the full-S loss differs"
    );
}

/// 9.12: the ×2 scale of t³VAE's code (2× every term, 2c_S, 2α̃) has gradients exactly twice the
/// natural-scale ones, so the optimum is the same.
#[test]
fn oracle_9_12_scale_convention() {
    let _turn = rng_turn();
    let (nu, alpha) = (10.0, 3.0);
    let (vs, m) = model(
        spec(&[4, 6], 3, Latent::StudentT, PriorExpert::Prior, nu, 1.0),
        14,
    );
    tch::manual_seed(15);
    let xs = vec![rand(&[5, 4]), rand(&[5, 6])];
    let present = Tensor::ones([5, 2], (Kind::Bool, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 2, 1, 0, 2]);
    let eps = rand(&[5, 3]);
    let eps3 = rand(&[15, 3]);
    let k = SubsetConstants::new(nu, 10.0, 3.0, 0.0);
    let b = BatchConstants::uniform(&k, nu, Latent::StudentT, 5, D);
    let chi = chi_factor(&b.dof);
    let chi3 = chi_factor(&b.tile(3).dof);
    let grads = |scale2: bool| -> Vec<f64> {
        for mut var in vs.trainable_variables() {
            var.zero_grad();
        }
        let parts = m.expert_x_parts(&xs);
        let tt = m.labeled_terms(&xs, &parts, &y, &present, &b, Some((&eps, &chi)));
        let log_q = m.class_log_probs(&xs, &present);
        let ce = classification_loss(&log_q, &y);
        let ys =
            Tensor::arange(3, (Kind::Int64, Device::Cpu)).repeat_interleave_self_int(5, 0, None);
        let xs3: Vec<Tensor> = xs.iter().map(|x| x.repeat([3, 1])).collect();
        let parts3: Vec<Tensor> = parts.iter().map(|p| p.repeat([3, 1])).collect();
        let b3 = b.tile(3);
        let t3 = m.labeled_terms(
            &xs3,
            &parts3,
            &ys,
            &present.repeat([3, 1]),
            &b3,
            Some((&eps3, &chi3)),
        );
        let j = if scale2 {
            // t³VAE scale: ‖x − x̂‖²/σ² + R in its direct form, 2c entropy, 2α̃.
            let r = |mu: &Tensor, ls: &Tensor| {
                let logvar = ls + ((nu + 10.0) / nu).ln();
                mu.square().sum_dim_intlist(1, false, None)
                    + logvar.exp().sum_dim_intlist(1, false, None) * (nu / (nu + 8.0))
                    - (logvar.sum_dim_intlist(1, false, None) * k.e).exp() * (nu * k.c_big)
                    + nu * k.tau_tilde
            };
            let l2 = &tt.recon * 2.0 + r(&tt.posterior.mu, &tt.posterior.log_sq);
            let lu2 = (&t3.recon * 2.0 + r(&t3.posterior.mu, &t3.posterior.log_sq))
                .reshape([3, 5])
                .transpose(0, 1);
            let q = log_q.exp();
            let u2 = (&q * lu2).sum_dim_intlist(1, false, None)
                + (&q * &log_q).sum_dim_intlist(1, false, None) * (2.0 * k.c);
            (l2 + ce * (2.0 * alpha)).sum(D) + u2.sum(D)
        } else {
            let l = gamma_loss_labeled(
                &tt.recon,
                &tt.posterior.mu,
                &tt.posterior.log_sq,
                &y,
                &b,
                Latent::StudentT,
            );
            let lu = gamma_loss_labeled(
                &t3.recon,
                &t3.posterior.mu,
                &t3.posterior.log_sq,
                &ys,
                &b3,
                Latent::StudentT,
            );
            let u = gamma_loss_unlabeled(&lu.reshape([3, 5]).transpose(0, 1), &log_q, &b.c);
            (l + ce * alpha).sum(D) + u.sum(D)
        };
        j.backward();
        vs.trainable_variables()
            .iter()
            .flat_map(|t| v(&t.grad()))
            .collect()
    };
    let (g1, g2) = (grads(false), grads(true));
    let norm: f64 = g1.iter().map(|g| g * g).sum::<f64>().sqrt();
    let err: f64 = g1
        .iter()
        .zip(&g2)
        .map(|(a, b)| (2.0 * a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(
        norm > 1e-3 && err / norm < 1e-9,
        "relative gradient error {}",
        err / norm
    );
}
