//! Golden fixtures that tie the runtime to the trainer (fixtures/golden/):
//! `checkpoint.safetensors`, the bundles `model-f32.ssmv` / `model-f16.ssmv` exported from it,
//! `inputs.npz` (raw test rows of mfeat, one array per modality plus a `present` mask whose rows
//! cover every non-empty subset of the 6 modalities) and `expected.npz` (`probs`, `mu`, `scale`:
//! the trainer's outputs for them).
//!
//! `model-f32-decoders.ssmv` is the same checkpoint exported with its decoders,
//! `model-int8.ssmv` exported as int8, `legacy-*.ssmv` as older exporters wrote it, and
//! `expected-impute.npz` the trainer's imputations of every modality for those rows (one array per
//! modality, raw scale).
//!
//! `generate_golden_fixtures` (ignored) trains and writes them: regenerate only on purpose and say
//! so in the commit (`cargo test -p ssmvae-trainer --test golden -- --ignored`). The test that
//! always runs reruns the tch forward pass on the committed checkpoint — no retraining — and
//! compares with the committed outputs, so neither the trainer nor the runtime can drift. One test
//! also trains a small model with the shipped default and compares the two on it.

use ndarray::{Array1, Array2};
use ndarray_npy::{NpzReader, NpzWriter};
use runtime::TargetPrior;
use std::path::{Path, PathBuf};
use trainer::data::{Modality, MultimodalDataset};
use trainer::export::{export_bundle, reference_imputations, reference_outputs};
use trainer::objective::{PseudoLabelCap, PseudoLabelSelect};
use trainer::protocol::Protocol;
use trainer::run::train;
use trainer::train::config::{
    DataConfig, DeviceChoice, Hidden, ModelConfig, OptimConfig, RunConfig, TrainConfig,
};
use trainer::train::{TrainOptions, TrainedModel};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden")
}

fn to_array(rows: &[Vec<f32>]) -> Array2<f32> {
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

/// The committed inputs as a dataset (missing modalities masked).
fn read_inputs(model: &TrainedModel) -> MultimodalDataset {
    let mut npz =
        NpzReader::new(std::fs::File::open(golden().join("inputs.npz")).unwrap()).unwrap();
    let present: Array2<bool> = npz.by_name("present").unwrap();
    let modalities = model
        .meta
        .modality_names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let x: Array2<f32> = npz.by_name(name).unwrap();
            let kind = model.meta.ensemble.members[0].0.modalities[j].kind;
            Modality::with_mask(name.clone(), kind, x, present.column(j).to_vec())
        })
        .collect();
    MultimodalDataset::new(
        modalities,
        vec![None; present.nrows()],
        model.meta.class_names.clone(),
    )
    .unwrap()
}

/// The embedded mfeat fixture (n_max 140, rho 10, beta 0.1, seed 0) on the CPU, with `model` and
/// `epochs`.
fn mfeat_on_cpu(model: ModelConfig, epochs: usize) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            dataset: "mfeat".into(),
            data_dir: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")),
            ..Default::default()
        },
        protocol: Protocol {
            n_max: Some(140),
            ..Default::default()
        },
        model,
        optim: OptimConfig {
            epochs,
            ..Default::default()
        },
        run: RunConfig {
            device: DeviceChoice::Cpu,
            ..Default::default()
        },
        ..TrainConfig::default()
    }
}

#[test]
#[ignore = "writes fixtures/golden; run on purpose only"]
fn generate_golden_fixtures() {
    let dir = golden();
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = mfeat_on_cpu(
        ModelConfig {
            hidden: Hidden::Widths(vec![64]),
            latent_dim: 8,
            ..Default::default()
        },
        10,
    );
    let opts = TrainOptions {
        checkpoint: dir.join("checkpoint.safetensors"),
        resume: false,
        progress: false,
        threads: Some(1),
    };
    let out = train(&cfg, &opts, |_| {}).unwrap();
    let model = TrainedModel::load(&opts.checkpoint).unwrap();
    for (dtype, name) in [
        (format::Dtype::F32, "model-f32.ssmv"),
        (format::Dtype::F16, "model-f16.ssmv"),
    ] {
        std::fs::write(
            dir.join(name),
            export_bundle(&model, dtype, false, &opts.checkpoint).unwrap(),
        )
        .unwrap();
    }
    // 126 raw test rows; row r observes the modalities in the bit pattern (r mod 63) + 1.
    let test = &out.split.test;
    let m = test.modalities().len();
    let n = 126;
    let mut npz = NpzWriter::new(std::fs::File::create(dir.join("inputs.npz")).unwrap());
    for md in test.modalities() {
        let rows: Vec<usize> = (0..n).collect();
        npz.add_array(md.name(), &md.data().select(ndarray::Axis(0), &rows))
            .unwrap();
    }
    let present = Array2::from_shape_fn((n, m), |(r, j)| (((r % 63) + 1) >> j) & 1 == 1);
    npz.add_array("present", &present).unwrap();
    npz.finish().unwrap();
    let (probs, mu, scale) = reference_outputs(&model, &read_inputs(&model)).unwrap();
    let mut npz = NpzWriter::new(std::fs::File::create(dir.join("expected.npz")).unwrap());
    npz.add_array("probs", &to_array(&probs)).unwrap();
    npz.add_array("mu", &to_array(&mu)).unwrap();
    npz.add_array("scale", &to_array(&scale)).unwrap();
    let labels: Array1<i64> = (0..n).map(|r| test.labels()[r].unwrap() as i64).collect();
    npz.add_array("labels", &labels).unwrap();
    npz.finish().unwrap();
}

#[test]
fn committed_checkpoint_reproduces_committed_outputs() {
    let model = TrainedModel::load(&golden().join("checkpoint.safetensors")).unwrap();
    let (probs, mu, scale) = reference_outputs(&model, &read_inputs(&model)).unwrap();
    let mut npz =
        NpzReader::new(std::fs::File::open(golden().join("expected.npz")).unwrap()).unwrap();
    for (name, got) in [("probs", probs), ("mu", mu), ("scale", scale)] {
        let want: Array2<f32> = npz.by_name(name).unwrap();
        let diff = (to_array(&got) - &want)
            .iter()
            .fold(0f32, |a, &b| a.max(b.abs()));
        assert!(diff <= 1e-5, "{name}: max abs difference {diff}");
    }
}

#[test]
fn export_refuses_models_the_runtime_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mfeat_on_cpu(
        ModelConfig {
            hidden: Hidden::Widths(vec![8]),
            latent_dim: 2,
            fusion: trainer::train::config::Fusion::Late,
            ..Default::default()
        },
        1,
    );
    let (model, checkpoint) = train_one_thread(&cfg, dir.path().join("c.safetensors"));
    let err = export_bundle(&model, format::Dtype::F32, false, &checkpoint).unwrap_err();
    assert!(err.to_string().contains("cannot be exported"), "{err}");
}

/// The post-hoc logit adjustment (docs/model.md §12.1) travels in the bundle: the committed model
/// with the bias −ln π of its labeled counts predicts in the runtime as in the trainer (same class
/// on every row, probabilities and latents within 1e-5), and the bias changes some predictions
/// (so the comparison is not vacuous).
#[test]
fn logit_adjusted_model_predicts_in_the_runtime_as_in_the_trainer() {
    let mut model = TrainedModel::load(&golden().join("checkpoint.safetensors")).unwrap();
    let raw = read_inputs(&model);
    let (plain, _, _) = reference_outputs(&model, &raw).unwrap();
    let bias = trainer::objective::rebalance::logit_bias(&[40, 30, 20, 12, 8, 5, 3, 2, 1, 1], 1.0);
    model.meta.ensemble.logit_bias = bias.clone();
    model.ensemble.spec.logit_bias = bias;
    let (probs, _, _) = reference_outputs(&model, &raw).unwrap();
    let argmax = |p: &[f32]| (0..p.len()).fold(0, |b, c| if p[c] > p[b] { c } else { b });
    let changed = plain
        .iter()
        .zip(&probs)
        .filter(|(a, b)| argmax(a) != argmax(b))
        .count();
    assert!(changed > 0, "the bias changed no prediction");
    assert_runtime_predicts_as_the_trainer(&model, &raw, TargetPrior::AsExported);
}

/// Exports `model` as an f32 bundle and checks that the runtime predicts every row of `raw` as
/// the trainer does: the same class, probabilities and latents within 1e-5.
fn assert_runtime_predicts_as_the_trainer(
    model: &TrainedModel,
    raw: &MultimodalDataset,
    target: TargetPrior,
) {
    let (probs, mu, scale) = reference_outputs(model, raw).unwrap();
    let argmax = |p: &[f32]| (0..p.len()).fold(0, |b, c| if p[c] > p[b] { c } else { b });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ssmv");
    let bytes = export_bundle(model, format::Dtype::F32, false, &path).unwrap();
    let mut rt = runtime::Model::from_vec(bytes).unwrap();
    rt.set_target_prior(target).unwrap();
    let (mut ws, mut out) = (rt.workspace(), rt.prediction());
    let (mut dp, mut dm, mut ds) = (0f32, 0f32, 0f32);
    for r in 0..raw.len() {
        let rows: Vec<Option<Vec<f32>>> = raw
            .modalities()
            .iter()
            .map(|m| m.present()[r].then(|| m.data().row(r).to_vec()))
            .collect();
        let inputs: Vec<Option<&[f32]>> = rows.iter().map(|x| x.as_deref()).collect();
        rt.predict(&mut ws, &inputs, &mut out).unwrap();
        assert_eq!(out.class, argmax(&probs[r]), "row {r}");
        for (c, p) in out.probs.iter().enumerate() {
            dp = dp.max((p - probs[r][c]).abs());
        }
        for k in 0..out.mu.len() {
            dm = dm.max((out.mu[k] - mu[r][k]).abs());
            ds = ds.max((out.scale[k] - scale[r][k]).abs());
        }
    }
    assert!(
        dp <= 1e-5 && dm <= 1e-5 && ds <= 1e-5,
        "probs {dp}, mu {dm}, scale {ds}"
    );
}

/// Issue 15's promise on the shipped default: a model trained with the default configuration
/// (self-training generations filled to the head included, docs/model.md §12.12) on the embedded
/// mfeat data predicts in the runtime as in the trainer. Small networks and 6 epochs (two
/// relabelling generations) keep it to seconds; the committed checkpoint's tests above cover the
/// full-size path.
#[test]
fn a_model_trained_with_the_default_predicts_in_the_runtime_as_in_the_trainer() {
    let cfg = mfeat_on_cpu(
        ModelConfig {
            hidden: Hidden::Widths(vec![64]),
            latent_dim: 8,
            ..Default::default()
        },
        6,
    );
    let rare = cfg.rare_class();
    assert!(
        rare.self_training_generations == 3
            && rare.self_training_cap == PseudoLabelCap::HeadGap
            && rare.self_training_select == PseudoLabelSelect::Quota
    );
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = train_one_thread(&cfg, dir.path().join("checkpoint.safetensors"));
    let raw = read_inputs(&model);
    assert_runtime_predicts_as_the_trainer(&model, &raw, TargetPrior::AsExported);
    // docs/model.md §12.1: the runtime retargets the same bundle as the trainer does, from the
    // priors the bundle carries (the labels' and the EM estimate on the unlabeled rows).
    let spec = &model.ensemble.spec;
    let (labels, estimate) = (&spec.class_prior_labels, &spec.class_prior_estimate);
    assert_eq!((labels.len(), estimate.len()), (10, 10));
    assert!(
        labels != estimate,
        "the estimate moved off the labels' prior"
    );
    for (target, to) in [
        (TargetPrior::Uniform, None),
        (TargetPrior::Train, Some(labels)),
        (TargetPrior::Estimated, Some(estimate)),
    ] {
        let mut retargeted = TrainedModel::load(&model_path(&dir)).unwrap();
        let bias: Vec<f64> = match to {
            Some(t) if t == labels => Vec::new(),
            _ => (0..10)
                .map(|y| f64::from(format::target_shift(1.0, labels[y], to.map(|t| t[y]))))
                .collect(),
        };
        retargeted.meta.ensemble.logit_bias = bias.clone();
        retargeted.ensemble.spec.logit_bias = bias;
        assert_runtime_predicts_as_the_trainer(&retargeted, &raw, target);
    }
}

fn model_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("checkpoint.safetensors")
}

/// Trains `cfg` on one thread into `checkpoint` and loads the result.
fn train_one_thread(cfg: &TrainConfig, checkpoint: PathBuf) -> (TrainedModel, PathBuf) {
    let opts = TrainOptions {
        checkpoint,
        resume: false,
        progress: false,
        threads: Some(1),
    };
    train(cfg, &opts, |_| {}).unwrap();
    (
        TrainedModel::load(&opts.checkpoint).unwrap(),
        opts.checkpoint,
    )
}

/// Writes the bundles `model-{f32,f16,int8}.ssmv`, `model-f32-decoders.ssmv` (in the current
/// format) and `expected-impute.npz` from the committed checkpoint (no retraining):
/// `cargo test -p ssmvae-trainer --test golden -- --ignored generate_export_fixtures`.
/// `legacy-1.0-f32.ssmv` and `legacy-1.2-int8.ssmv` are the same checkpoint as the exporters of
/// formats 1.0 and 1.2 wrote it, kept to test that older bundles still open.
#[test]
#[ignore = "writes fixtures/golden; run on purpose only"]
fn generate_export_fixtures() {
    let path = golden().join("checkpoint.safetensors");
    let model = TrainedModel::load(&path).unwrap();
    for (dtype, name) in [
        (format::Dtype::F32, "model-f32.ssmv"),
        (format::Dtype::F16, "model-f16.ssmv"),
        (format::Dtype::I8, "model-int8.ssmv"),
    ] {
        let bytes = export_bundle(&model, dtype, false, &path).unwrap();
        std::fs::write(golden().join(name), bytes).unwrap();
    }
    let bytes = export_bundle(&model, format::Dtype::F32, true, &path).unwrap();
    std::fs::write(golden().join("model-f32-decoders.ssmv"), bytes).unwrap();
    let imputed = reference_imputations(&model, &read_inputs(&model)).unwrap();
    let mut npz =
        NpzWriter::new(std::fs::File::create(golden().join("expected-impute.npz")).unwrap());
    for (name, rows) in model.meta.modality_names.iter().zip(&imputed) {
        npz.add_array(name.as_str(), &to_array(rows)).unwrap();
    }
    npz.finish().unwrap();
}

/// Largest |a − b| / max(1, |b|) over two equally shaped tables.
fn max_rel(a: &[Vec<f32>], b: &Array2<f32>) -> f32 {
    let mut worst = 0f32;
    for (r, row) in a.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let want = b[[r, c]];
            worst = worst.max((v - want).abs() / want.abs().max(1.0));
        }
    }
    worst
}

/// Imputation (docs/model.md §2 decoders at the PoE location) ties the runtime to the trainer:
/// the committed checkpoint still gives the committed imputations, and the runtime's
/// `impute_into` on a bundle exported with decoders gives them too, for every modality of every
/// row (every non-empty subset of present modalities), within 1e-4 relative.
///
/// The trainer's check was 1e-5 until it met a second CPU: the committed file was written on an
/// AMD EPYC, and an Intel Xeon (AMX, AVX-512) gives 1.06e-5 on `zer` with the same code, because
/// MKL picks its SGEMM kernels, and so its summation order, by CPU (with `MKL_CBWR=COMPATIBLE`
/// the Xeon agrees within 1e-5). Two kernel sets may differ by what the runtime, a third kernel
/// set, is allowed against the trainer: 1e-4. A change of the imputation itself moves it by far
/// more.
#[test]
fn runtime_imputes_as_the_trainer() {
    let path = golden().join("checkpoint.safetensors");
    let model = TrainedModel::load(&path).unwrap();
    let raw = read_inputs(&model);
    let imputed = reference_imputations(&model, &raw).unwrap();
    let mut npz =
        NpzReader::new(std::fs::File::open(golden().join("expected-impute.npz")).unwrap()).unwrap();
    for (name, rows) in model.meta.modality_names.iter().zip(&imputed) {
        let want: Array2<f32> = npz.by_name(name.as_str()).unwrap();
        let d = max_rel(rows, &want);
        assert!(
            d <= 1e-4,
            "trainer drifted from the committed imputations of {name}: {d}"
        );
    }
    let bytes = export_bundle(&model, format::Dtype::F32, true, &path).unwrap();
    let rt = runtime::Model::from_vec(bytes).unwrap();
    let mut ws = rt.workspace();
    let mut got: Vec<Vec<Vec<f32>>> = rt.modality_dims().iter().map(|_| Vec::new()).collect();
    for r in 0..raw.len() {
        let rows: Vec<Option<Vec<f32>>> = raw
            .modalities()
            .iter()
            .map(|m| m.present()[r].then(|| m.data().row(r).to_vec()))
            .collect();
        let inputs: Vec<Option<&[f32]>> = rows.iter().map(|x| x.as_deref()).collect();
        let mut bufs: Vec<Vec<f32>> = rt.modality_dims().iter().map(|&d| vec![0.0; d]).collect();
        let mut outs: Vec<Option<&mut [f32]>> =
            bufs.iter_mut().map(|b| Some(b.as_mut_slice())).collect();
        rt.impute_into(&mut ws, &inputs, None, &mut outs).unwrap();
        for (j, b) in bufs.into_iter().enumerate() {
            got[j].push(b);
        }
    }
    for (j, name) in model.meta.modality_names.iter().enumerate() {
        let want = to_array(&imputed[j]);
        let d = max_rel(&got[j], &want);
        assert!(d <= 1e-4, "runtime vs trainer imputation of {name}: {d}");
    }
}
