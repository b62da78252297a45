//! The models the runtime's speed is measured on, by `cargo bench --bench forward` and `ssmvae
//! bench-predict` alike: `golden`, the committed mfeat checkpoint (hidden 64, m = 8); `wide`,
//! the default configuration trained one epoch on the embedded mfeat fixture, whose `hidden =
//! auto` gives 2 × 128 on its 568 samples (docs/model.md §11.1; m = 64); and `wide512`, the same
//! with the paper's 2 × 512 given explicitly. Speed depends on the shapes, not on the weights'
//! values, so one epoch is enough.

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
