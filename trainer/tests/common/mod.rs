//! What the training tests share: the fixture configurations and the lock on libtorch's global
//! random generator.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use trainer::protocol::Protocol;
use trainer::train::config::{DataConfig, Hidden, OptimConfig, RunConfig, TrainConfig};
use trainer::train::{Outcome, TrainOptions};

/// libtorch's random generator is process-global: trainings running in parallel test threads
/// would interleave their draws, so the tests that train take this lock.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn mfeat_config(seed: u64, epochs: usize) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            dataset: "mfeat".into(),
            data_dir: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")),
            ..Default::default()
        },
        protocol: Protocol {
            n_max: Some(140),
            rho: 10.0.into(),
            beta: 0.1,
            ..Default::default()
        },
        optim: OptimConfig {
            epochs,
            ..Default::default()
        },
        run: RunConfig {
            seed,
            device: trainer::train::config::DeviceChoice::Cpu,
            ..Default::default()
        },
        ..TrainConfig::default()
    }
}

/// `mfeat_config` with one hidden layer of 32 and an 8-dimensional latent: fast enough to train
/// a model several times in one test.
pub fn tiny_mfeat_config(seed: u64, epochs: usize) -> TrainConfig {
    let mut c = mfeat_config(seed, epochs);
    c.model.hidden = Hidden::Widths(vec![32]);
    c.model.latent_dim = 8;
    c
}

pub fn opts(dir: &Path) -> TrainOptions {
    TrainOptions {
        checkpoint: dir.join("ckpt.safetensors"),
        resume: false,
        progress: false,
        threads: Some(2),
    }
}

/// Each epoch's total loss, bit for bit: two runs are the same run when these are equal.
pub fn loss_bits(o: &Outcome) -> Vec<u64> {
    o.history.iter().map(|h| h.loss_total.to_bits()).collect()
}
