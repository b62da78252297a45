//! The models the runtime's speed is measured on, by `cargo bench --bench forward` and `ssmvae
//! bench-predict` alike: `golden`, the committed mfeat checkpoint (hidden 64, m = 8); `wide`,
//! the default configuration trained one epoch on the embedded mfeat fixture, whose `hidden =
//! auto` gives 2 × 128 on its 568 samples (docs/model.md §11.1; m = 64); and `wide512`, the same
//! with the paper's 2 × 512 given explicitly. Speed depends on the shapes, not on the weights'
//! values, so one epoch is enough.

use crate::objective::gamma::BatchConstants;
use crate::protocol::Protocol;
use crate::run::train;
use crate::train::config::{
    DataConfig, DeviceChoice, Hidden, ModelConfig, OptimConfig, RunConfig, TrainConfig,
};
use crate::train::tensors::DataTensors;
use crate::train::{TrainOptions, TrainedModel};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// The models' names, in the order [`bench_models`] returns them.
pub const MODELS: [&str; 3] = ["golden", "wide", "wide512"];

/// The checkpoints of the `names` among [`MODELS`] (in that order): golden's from `fixtures`
/// (the repository's `fixtures/`), the wide ones trained into `dir`.
pub fn bench_models(
    fixtures: &Path,
    dir: &Path,
    names: &[String],
) -> crate::error::Result<Vec<(&'static str, PathBuf)>> {
    let mut models = Vec::new();
    for name in MODELS {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        let checkpoint = match name {
            "golden" => fixtures.join("golden/checkpoint.safetensors"),
            "wide" => wide_checkpoint(fixtures, dir, name, Hidden::Auto)?,
            _ => wide_checkpoint(fixtures, dir, name, Hidden::Widths(vec![512, 512]))?,
        };
        models.push((name, checkpoint));
    }
    Ok(models)
}

/// The default configuration with `hidden`, trained one epoch on the embedded mfeat fixture.
fn wide_checkpoint(
    fixtures: &Path,
    dir: &Path,
    name: &str,
    hidden: Hidden,
) -> crate::error::Result<PathBuf> {
    let checkpoint = dir.join(format!("{name}.safetensors"));
    let cfg = TrainConfig {
        model: ModelConfig {
            hidden,
            ..Default::default()
        },
        data: DataConfig {
            dataset: "mfeat".into(),
            data_dir: Some(fixtures.join("data")),
            ..Default::default()
        },
        protocol: Protocol {
            n_max: Some(140),
            ..Default::default()
        },
        optim: OptimConfig {
            epochs: 1,
            ..Default::default()
        },
        run: RunConfig {
            device: DeviceChoice::Cpu,
            ..Default::default()
        },
        ..TrainConfig::default()
    };
    let opts = TrainOptions {
        checkpoint: checkpoint.clone(),
        resume: false,
        progress: false,
        threads: Some(1),
    };
    train(&cfg, &opts, |_| {})?;
    Ok(checkpoint)
}

/// `batch` samples of uniform random inputs in [0, 1) for `model`'s modalities, every modality
/// present: what libtorch is timed on (the values do not matter for speed).
pub fn random_batch(model: &TrainedModel, batch: usize) -> DataTensors {
    let dims = model.meta.modality_dims.clone();
    let xs = dims
        .iter()
        .map(|&d| Tensor::rand([batch as i64, d as i64], (Kind::Float, tch::Device::Cpu)))
        .collect();
    let present = Tensor::ones(
        [batch as i64, dims.len() as i64],
        (Kind::Bool, tch::Device::Cpu),
    );
    DataTensors {
        xs,
        present,
        present_rows: vec![vec![true; dims.len()]; batch],
        labels: vec![None; batch],
        dims,
    }
}

/// The runtime's graph in libtorch, as the runtime computes it: the classifier PoE's log
/// q(y | x), its argmax, the latent experts conditioned on it and their PoE; returns
/// (log q, μ, S_q). `k` is `export::batch_constants(model, data)`.
pub fn libtorch_predict(
    model: &TrainedModel,
    data: &DataTensors,
    k: &BatchConstants,
) -> (Tensor, Tensor, Tensor) {
    let member = &model.ensemble.members[0].model;
    let log_q = member.class_log_probs(&data.xs, &data.present);
    let y = log_q.argmax(1, false);
    let parts = member.expert_x_parts(&data.xs);
    let post = member.posterior(&parts, &y, &data.present, k);
    let scale = post.log_sq.exp();
    (log_q, post.mu, scale)
}

/// One raw input row per modality of `dims` (the runtime's inputs; the values do not matter for
/// speed).
pub fn raw_rows(dims: &[usize]) -> Vec<Vec<f32>> {
    dims.iter()
        .map(|&d| (0..d).map(|i| (i % 13) as f32 * 0.3).collect())
        .collect()
}
