//! One training step of SSMVAE-CI timed on fixed shapes (issue 11's step benchmark): forward,
//! backward and Adam on one labeled and one unlabeled batch, exactly as [`ssmvae_core::train::fit()`]
//! runs them (the same [`Ensemble::loss`], the same [`Adam`]). `ssmvae bench-step` runs this next
//! to `trainer/benches/pytorch_step.py`, the same objective written as a PyTorch script.
//!
//! The inputs are random (uniform [0, 1] pixels, standard-normal tables, uniform labels): the
//! time of a step depends on the shapes, not on the values, except under an enumeration floor
//! (docs/model.md §6.5), where it depends on how sharp q(y|x) is. On this random pool the
//! classifier stays unsure (98 % of the class copies still enumerated after 150 warm-up steps at
//! ε = 10⁻⁴), so a floor's step here measures its overhead, not its gain; the share enumerated is
//! reported, and the gain is measured on training runs (docs/model.md §6.5). N_l and N_u (they
//! only set the weights of Eq. 9 and §7.3) are 1000 and 9000.

use ssmvae_core::data::ModalityKind;
use ssmvae_core::model::ModalitySpec;
use ssmvae_core::train::adam::Adam;
use ssmvae_core::train::config::TrainConfig;
use ssmvae_core::train::ensemble::{
    ClassTerm, Ensemble, EnsembleSpec, StepInputs, UnlabeledControl,
};
use ssmvae_core::train::tensors::DataTensors;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// A set of modality shapes a step is timed on.
#[derive(Debug, Clone, Copy)]
pub struct StepShape {
    /// The name `--shape` takes (and the PyTorch script's `--shape`).
    pub name: &'static str,
    /// Each modality's kind and dimension.
    pub views: &'static [(ModalityKind, usize)],
}

/// The shapes timed: the paper's image pair and the small tabular set. The PyTorch script
/// (`trainer/benches/pytorch_step.py`, `SHAPES`) holds the same table.
pub const SHAPES: &[StepShape] = &[
    StepShape {
        name: "mnist+fashion",
        views: &[(ModalityKind::Pixels, 784), (ModalityKind::Pixels, 784)],
    },
    StepShape {
        name: "mfeat",
        views: &[
            (ModalityKind::Tabular, 216),
            (ModalityKind::Tabular, 76),
            (ModalityKind::Tabular, 64),
            (ModalityKind::Tabular, 6),
            (ModalityKind::Tabular, 240),
            (ModalityKind::Tabular, 47),
        ],
    },
];

/// Labeled and unlabeled counts of the imagined training set (the weights N_l/N, N_u/N and
/// α̃ = aN/N_l; they do not change the time of a step).
const N_LABELED: usize = 1000;
const N_UNLABELED: usize = 9000;
/// Rows of the random pool the batches are drawn from.
const POOL: i64 = 512;

/// The shape called `name`.
pub fn shape(name: &str) -> Option<StepShape> {
    SHAPES.iter().copied().find(|s| s.name == name)
}

/// What [`run_steps`] measured.
#[derive(Debug)]
pub struct StepRun {
    /// Seconds of each step after the warm-up (the device synchronised before the clock stops).
    pub seconds: Vec<f64>,
    /// The loss of every step, warm-up included.
    pub losses: Vec<f64>,
    /// The share of U's class copies enumerated in each timed step (empty without a floor,
    /// docs/model.md §6.5).
    pub enumerated: Vec<f64>,
    /// Every variable after the first step, by name, on the host (empty without `keep_params`).
    pub params_first: Vec<(String, Tensor)>,
    /// Every variable after the last step, by name, on the host (empty without `keep_params`).
    pub params: Vec<(String, Tensor)>,
}

/// The variables of `vs`, sorted by name, copied to the host.
fn host_params(vs: &tch::nn::VarStore) -> Vec<(String, Tensor)> {
    let mut params: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().to_device(Device::Cpu).copy()))
        .collect();
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params
}

/// Runs `warmup + steps` training steps of the model `cfg` describes (its model, objective and
/// optimiser groups; classes = 10, batches `cfg.optim.batch_labeled` + `batch_unlabeled`) on
/// `shape` on `device`, with libtorch's current thread count. Data, batches, initial weights and
/// the reparameterisation noise all come from the host's generator seeded with `cfg.run.seed`, so
/// two devices run the same steps on the same numbers. With `keep_params` the weights after the
/// first and the last step are copied to the host (the device comparison needs them; the step
/// benchmark does not, and the copies would count in its peak RSS).
pub fn run_steps(
    shape: &StepShape,
    cfg: &TrainConfig,
    steps: usize,
    warmup: usize,
    device: Device,
    keep_params: bool,
) -> StepRun {
    const CLASSES: i64 = 10;
    let host = Device::Cpu;
    tch::manual_seed(cfg.run.seed as i64);
    let xs: Vec<Tensor> = shape
        .views
        .iter()
        .map(|&(kind, d)| match kind {
            ModalityKind::Pixels => Tensor::rand([POOL, d as i64], (Kind::Float, host)),
            ModalityKind::Tabular => Tensor::randn([POOL, d as i64], (Kind::Float, host)),
        })
        .map(|x| x.to_device(device))
        .collect();
    let n_views = shape.views.len();
    let data = DataTensors {
        xs,
        present: Tensor::ones([POOL, n_views as i64], (Kind::Bool, device)),
        present_rows: vec![vec![true; n_views]; POOL as usize],
        labels: vec![None; POOL as usize],
        dims: shape.views.iter().map(|&(_, d)| d).collect(),
    };
    let labels = Tensor::randint(CLASSES, [POOL], (Kind::Int64, host)).to_device(device);
    let modalities: Vec<ModalitySpec> = shape
        .views
        .iter()
        .enumerate()
        .map(|(j, &(kind, dim))| ModalitySpec {
            name: format!("view{j}"),
            dim,
            kind,
        })
        .collect();
    // No data set, so `hidden = auto` is timed at the size rule's widest, the paper's [512, 512]
    // (the PyTorch script's default): a benchmark shape, not a run.
    let hidden = cfg.model.hidden.resolve(usize::MAX);
    let spec = EnsembleSpec::from_config(cfg, &hidden, &modalities, CLASSES as usize);
    let ens = Ensemble::new(spec, device);
    let mut adam = Adam::new(&ens.vs, cfg.optim.lr);
    let consts = ens.constants(&data, cfg);
    let (bl, bu) = (
        cfg.optim.batch_labeled as i64,
        cfg.optim.batch_unlabeled as i64,
    );
    let sync = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    let mut run = StepRun {
        seconds: Vec::with_capacity(steps),
        losses: Vec::with_capacity(warmup + steps),
        enumerated: Vec::new(),
        params_first: Vec::new(),
        params: Vec::new(),
    };
    for step in 0..warmup + steps {
        let labeled = Tensor::randint(POOL, [bl], (Kind::Int64, host)).to_device(device);
        let unlabeled = Tensor::randint(POOL, [bu], (Kind::Int64, host)).to_device(device);
        sync();
        let start = Instant::now();
        let y = labels.index_select(0, &labeled);
        let inputs = StepInputs {
            data: &data,
            consts: &consts,
            labeled: &labeled,
            y: &y,
            unlabeled: Some(&unlabeled),
            n_labeled: N_LABELED,
            n_unlabeled: N_UNLABELED,
            neg_log_prior: None,
            class_term: &ClassTerm::default(),
        };
        let terms = ens.step(&mut adam, cfg, &inputs, &mut UnlabeledControl::default());
        sync();
        let seconds = start.elapsed().as_secs_f64();
        if step >= warmup {
            run.seconds.push(seconds);
            run.enumerated.extend(terms.enumerated);
        }
        run.losses.push(terms.total);
        if keep_params && step == 0 {
            run.params_first = host_params(&ens.vs);
        }
    }
    if keep_params {
        run.params = host_params(&ens.vs);
    }
    run
}

/// Times `warmup + steps` steps on the CPU ([`run_steps`]) without keeping the weights.
pub fn time_steps(shape: &StepShape, cfg: &TrainConfig, steps: usize, warmup: usize) -> StepRun {
    run_steps(shape, cfg, steps, warmup, Device::Cpu, false)
}

/// Two runs of the same steps from the same weights on two devices, compared.
#[derive(Debug, Clone, Copy)]
pub struct DeviceComparison {
    /// |ℓ_a − ℓ_b| / |ℓ_a| of the first step's loss (the same weights, batch and noise: only the
    /// kernels differ).
    pub first_loss_rel: f64,
    /// Largest ‖θ_a − θ_b‖ / ‖θ_a‖ over the variables after the first step.
    pub first_param_rel: f64,
    /// Largest |ℓ_a − ℓ_b| / |ℓ_a| over the steps' losses.
    pub loss_rel: f64,
    /// Largest ‖θ_a − θ_b‖ / ‖θ_a‖ over the variables after the last step.
    pub param_rel: f64,
    /// Median step seconds on each device.
    pub seconds: (f64, f64),
}

/// Runs the same `steps` (≥ 1; no warm-up: the comparison starts at the initial weights) on
/// devices `a` and `b` and compares losses and weights.
pub fn compare_devices(
    shape: &StepShape,
    cfg: &TrainConfig,
    steps: usize,
    a: Device,
    b: Device,
) -> DeviceComparison {
    let ra = run_steps(shape, cfg, steps, 0, a, true);
    let rb = run_steps(shape, cfg, steps, 0, b, true);
    DeviceComparison {
        first_loss_rel: losses_rel(&ra.losses[..1], &rb.losses[..1]),
        first_param_rel: params_rel(&ra.params_first, &rb.params_first),
        loss_rel: losses_rel(&ra.losses, &rb.losses),
        param_rel: params_rel(&ra.params, &rb.params),
        seconds: (median(&ra.seconds), median(&rb.seconds)),
    }
}

/// The larger of two values, NaN if either is (`f64::max` would drop a NaN, and a run that blew
/// up would then read as a perfect match).
fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Largest |x − y| / |x| over paired losses (NaN if any is not finite).
pub fn losses_rel(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x.is_finite() && y.is_finite() {
                (x - y).abs() / x.abs().max(f64::MIN_POSITIVE)
            } else {
                f64::NAN
            }
        })
        .fold(0.0, max_nan)
}

/// Largest ‖x − y‖ / ‖x‖ over paired variables (NaN if any norm is not finite).
pub fn params_rel(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> f64 {
    a.iter()
        .zip(b)
        .map(|((_, x), (_, y))| {
            let diff = f64::try_from((x - y).norm()).unwrap_or(f64::NAN);
            let scale = f64::try_from(x.norm()).unwrap_or(f64::NAN);
            if diff.is_finite() && scale.is_finite() {
                diff / scale.max(f64::MIN_POSITIVE)
            } else {
                f64::NAN
            }
        })
        .fold(0.0, max_nan)
}

/// The median (NaN for no values).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssmvae_core::train::config::Hidden;

    /// The default configuration shrunk to a few units, for tests that only need a step to run.
    fn narrow() -> TrainConfig {
        let mut cfg = TrainConfig::default();
        cfg.model.hidden = Hidden::Widths(vec![8]);
        cfg.model.latent_dim = 2;
        cfg.optim.batch_labeled = 4;
        cfg.optim.batch_unlabeled = 3;
        cfg
    }

    /// The step runs on a narrow model and returns one finite time per timed step and a loss per
    /// step (the timing itself is the bench command's business, never a test's).
    #[test]
    fn a_narrow_step_runs_and_reports_each_step() {
        let _rng = ssmvae_core::torch_rng_lock();
        let cfg = narrow();
        let run = time_steps(&shape("mfeat").unwrap(), &cfg, 2, 1);
        assert_eq!(run.seconds.len(), 2);
        assert!(run.seconds.iter().all(|t| t.is_finite() && *t >= 0.0));
        assert_eq!(run.losses.len(), 3);
        assert!(run.losses.iter().all(|l| l.is_finite()), "{:?}", run.losses);
        // Every class enumerated: no share to report.
        assert!(run.enumerated.is_empty());
        assert!(shape("nope").is_none());
        // Under a floor each timed step reports its share, at least one class in K per sample.
        let mut cfg = narrow();
        cfg.rare.enumeration_floor = 0.2;
        let run = time_steps(&shape("mfeat").unwrap(), &cfg, 2, 1);
        assert_eq!(run.enumerated.len(), 2);
        assert!(run.enumerated.iter().all(|&s| (0.1..=1.0).contains(&s)));
    }

    /// The device comparison's machinery, CPU against CPU: the same seed gives the same steps
    /// bit for bit (data, batches, weights and noise all come from the host generator), so both
    /// differences are exactly 0. A GPU run is compared by `trainer/scripts/gpu-check.sh`.
    #[test]
    fn the_same_device_twice_differs_by_nothing() {
        let _rng = ssmvae_core::torch_rng_lock();
        let cfg = narrow();
        let c = compare_devices(&shape("mfeat").unwrap(), &cfg, 3, Device::Cpu, Device::Cpu);
        assert_eq!((c.loss_rel, c.param_rel), (0.0, 0.0));
        assert_eq!((c.first_loss_rel, c.first_param_rel), (0.0, 0.0));
        assert!(c.seconds.0.is_finite() && c.seconds.1.is_finite());
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    /// The metrics see a difference, and a NaN or infinite value is never read as a match.
    #[test]
    fn the_metrics_see_differences_and_never_hide_nan() {
        assert!((losses_rel(&[2.0, 4.0], &[2.0, 5.0]) - 0.25).abs() < 1e-15);
        assert!(losses_rel(&[1.0, 1.0], &[f64::NAN, 1.0]).is_nan());
        assert!(losses_rel(&[1.0, 1.0], &[1.0, f64::INFINITY]).is_nan());
        let t = |v: &[f32]| Tensor::from_slice(v);
        let a = vec![("a".to_string(), t(&[3.0, 4.0])), ("b".into(), t(&[1.0]))];
        let b = vec![("a".to_string(), t(&[3.0, 4.0])), ("b".into(), t(&[1.5]))];
        assert!((params_rel(&a, &b) - 0.5).abs() < 1e-7);
        assert_eq!(params_rel(&a, &a), 0.0);
        let nan = vec![
            ("a".to_string(), t(&[3.0, f32::NAN])),
            ("b".into(), t(&[1.0])),
        ];
        assert!(params_rel(&a, &nan).is_nan());
    }

    /// §6.5: a floor below every class's q keeps every class copy, so the first step's loss is the
    /// tiled estimator's exactly (the same values through gathered rows) and the weights after it
    /// agree to f32 rounding (the gathered rows sum their gradients in another order).
    #[test]
    fn a_floor_below_every_class_is_the_full_enumeration() {
        let _rng = ssmvae_core::torch_rng_lock();
        let shape = shape("mfeat").unwrap();
        let mut cfg = narrow();
        let full = run_steps(&shape, &cfg, 1, 0, Device::Cpu, true);
        cfg.rare.enumeration_floor = 1e-30;
        let floored = run_steps(&shape, &cfg, 1, 0, Device::Cpu, true);
        assert_eq!(full.losses, floored.losses);
        for ((name, a), (_, b)) in full.params.iter().zip(&floored.params) {
            let diff = f64::try_from((a - b).abs().max()).unwrap();
            assert!(diff < 1e-6, "{name}: {diff}");
        }
        // A floor that skips copies changes the estimate: the classes are not all equally probable
        // at initialisation, and a floor at the top class's probability keeps one class per sample.
        cfg.rare.enumeration_floor = 0.5;
        let top_only = run_steps(&shape, &cfg, 1, 0, Device::Cpu, true);
        assert!(top_only.losses[0].is_finite());
        assert_ne!(top_only.losses, full.losses);
    }
}
