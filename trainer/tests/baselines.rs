//! The second baselines issue's methods train end to end on the embedded mfeat fixture (early and
//! late fusion), and their configurations are checked before training starts.

use std::sync::Mutex;
use trainer::protocol::Protocol;
use trainer::run::train;
use trainer::train::config::{
    CrestConfig, DataConfig, DeviceChoice, Fusion, Hidden, Method, ModelConfig, OptimConfig,
    RunConfig, TrainConfig,
};
use trainer::train::TrainOptions;

/// libtorch's RNG is process-global: tests that train take turns.
static TRAINING: Mutex<()> = Mutex::new(());

fn tiny(method: Method, fusion: Fusion) -> TrainConfig {
    TrainConfig {
        model: ModelConfig {
            fusion,
            hidden: Hidden::Widths(vec![16]),
            ..Default::default()
        },
        optim: OptimConfig {
            epochs: 2,
            ..Default::default()
        },
        crest: CrestConfig {
            generations: 2,
            ..Default::default()
        },
        data: DataConfig {
            data_dir: Some(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .parent()
                    .unwrap()
                    .join("fixtures/data"),
            ),
            ..Default::default()
        },
        protocol: Protocol {
            n_max: Some(60),
            rho: 10.0.into(),
            beta: 0.3,
            ..Default::default()
        },
        run: RunConfig {
            method,
            device: DeviceChoice::Cpu,
            ..Default::default()
        },
        ..TrainConfig::default()
    }
}

#[test]
fn every_baseline_trains_and_scores_with_early_and_late_fusion() {
    let _g = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let opts = TrainOptions {
        checkpoint: dir.path().join("unused.safetensors"),
        resume: false,
        progress: false,
        threads: Some(1),
    };
    for method in [
        Method::Crest,
        Method::Adsh,
        Method::Smln,
        Method::Gamo,
        Method::Cmml,
    ] {
        for fusion in [Fusion::Early, Fusion::Late] {
            if method == Method::Cmml && fusion == Fusion::Early {
                continue;
            }
            let mut cfg = tiny(method, fusion);
            cfg.crest.progressive = method == Method::Crest && fusion == Fusion::Late;
            let out =
                train(&cfg, &opts, |_| {}).unwrap_or_else(|e| panic!("{method:?}/{fusion:?}: {e}"));
            assert_eq!(out.history.len(), 2);
            let m = &out.test;
            assert!(
                (0.0..=1.0).contains(&m.scores.overall_acc),
                "{method:?}: {}",
                m.scores.overall_acc
            );
            assert_eq!(m.per_class_acc.len(), 10);
            assert!(out.history.iter().all(|r| r.loss_total.is_finite()));
            // Better than chance (10 classes) after two epochs on 30% labels.
            assert!(
                m.scores.overall_acc > 0.2,
                "{method:?}/{fusion:?}: {}",
                m.scores.overall_acc
            );
        }
    }
    // With a validation split the best validation epoch is scored.
    let mut cfg = tiny(Method::Adsh, Fusion::Early);
    cfg.run.validation_fraction = 0.3;
    let out = train(&cfg, &opts, |_| {}).unwrap();
    assert!(out.history.iter().all(|r| r.validation.is_some()));
    assert!((1..=2).contains(&out.selected_epoch));
}

/// The configuration is rejected with an error naming `key`.
fn assert_rejected(cfg: &TrainConfig, key: &str) {
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains(key), "{err}");
}

#[test]
fn impossible_baseline_configurations_are_rejected() {
    assert_rejected(&tiny(Method::Crest, Fusion::Poe), "fusion");
    assert_rejected(&tiny(Method::Cmml, Fusion::Early), "fusion");
    let base = tiny(Method::Crest, Fusion::Early);
    assert_rejected(
        &{
            let mut c = base.clone();
            c.crest.generations = 5;
            c
        },
        "crest_generations",
    );
    assert_rejected(
        &{
            let mut c = base.clone();
            c.baseline.threshold = 1.5;
            c
        },
        "threshold",
    );
    assert_rejected(
        &{
            let mut c = base;
            c.baseline.ema_decay = 1.0;
            c
        },
        "ema_decay",
    );
}
