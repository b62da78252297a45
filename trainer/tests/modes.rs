//! The modes of docs/model.md §12.13 (`decoupled`, and `auto`'s guard) and the dimension scaling
//! of §12.14: what each trains, how the guard scores its candidates, how they resume.

use std::path::Path;
use trainer::run::train;
use trainer::train::config::TrainConfig;
use trainer::train::{TrainOptions, TrainedModel};

mod common;
use common::{lock, loss_bits, opts, tiny_mfeat_config};

/// `mode = auto` (docs/model.md §12.13): each candidate's score is the mean of its own runs on the
/// inner folds of the labels left after the run's validation fold, the winner is the plain run
/// with the chosen mode, bit for bit, and no candidate checkpoint stays behind.
#[test]
fn mode_auto_scores_both_modes_on_inner_folds_and_retrains_the_winner() {
    use trainer::train::config::Mode;
    let _rng = lock();
    let small = || {
        let mut c = tiny_mfeat_config(2, 2);
        c.run.validation_folds = 3;
        c.run.validation_fold = 1;
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small();
    cfg.model.mode = Mode::Auto;
    let chosen = train(&cfg, &opts(dir.path()), |_| {}).unwrap();
    let g = chosen.guard.clone().expect("a guard");
    assert_eq!(g.candidates, vec![Mode::Semi, Mode::Decoupled]);
    assert_eq!(g.folds, trainer::run::GUARD_FOLDS);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        files.len(),
        2,
        "the run's checkpoint and its best: {files:?}"
    );
    for (mode, score) in g.candidates.iter().zip(&g.validation_balanced_acc) {
        let mut sum = 0.0;
        for fold in 0..g.folds {
            let mut c = small();
            c.model.mode = *mode;
            c.inner_fold = Some((fold, g.folds));
            let d = tempfile::tempdir().unwrap();
            let o = train(&c, &opts(d.path()), |_| {}).unwrap();
            sum += o
                .history
                .last()
                .unwrap()
                .validation
                .clone()
                .unwrap()
                .balanced_acc;
        }
        let mean = sum / g.folds as f64;
        assert_eq!(score.unwrap().to_bits(), mean.to_bits(), "{mode}");
    }
    let (semi, decoupled) = (
        g.validation_balanced_acc[0].unwrap(),
        g.validation_balanced_acc[1].unwrap(),
    );
    assert_eq!(
        g.chosen,
        if decoupled > semi {
            Mode::Decoupled
        } else {
            Mode::Semi
        }
    );
    let mut direct = small();
    direct.model.mode = g.chosen;
    let d = tempfile::tempdir().unwrap();
    let plain = train(&direct, &opts(d.path()), |_| {}).unwrap();
    assert_eq!(loss_bits(&chosen), loss_bits(&plain));
    assert_eq!(chosen.test.confusion, plain.test.confusion);
}

/// The inner folds never hold out, nor train on, the run's own validation labels.
#[test]
fn inner_folds_stay_inside_the_training_labels() {
    let _rng = lock();
    let mut c = tiny_mfeat_config(2, 1);
    c.run.validation_folds = 3;
    c.run.validation_fold = 0;
    let outer = trainer::run::prepare(&c, &opts(Path::new("/nonexistent"))).unwrap();
    let outer_val = outer.val.as_ref().unwrap().len();
    let outer_train = outer.labeled_rows.len();
    let mut sizes = Vec::new();
    for fold in 0..2 {
        c.inner_fold = Some((fold, 2));
        let inner = trainer::run::prepare(&c, &opts(Path::new("/nonexistent"))).unwrap();
        let (tr, va) = (inner.labeled_rows.len(), inner.val.as_ref().unwrap().len());
        assert_eq!(
            tr + va,
            outer_train,
            "fold {fold}: the outer training labels, split"
        );
        sizes.push(va);
    }
    assert!(outer_val > 0 && sizes.iter().all(|&v| v > 0));
}

/// `mode = decoupled` (docs/model.md §12.13): the classifier learns from the labels alone. A
/// change to the generative model (the decoders' scale sigma) changes every generative weight
/// but, decoupled, not one bit of the classifier's; under `semi`, U's pull carries the change into
/// the classifier. The keys that would train the classifier on unlabeled data change nothing.
#[test]
fn a_decoupled_classifier_learns_from_the_labels_alone() {
    use trainer::train::config::Mode;
    let _rng = lock();
    let weights = |mode: Mode, f: &dyn Fn(&mut TrainConfig)| {
        let mut c = tiny_mfeat_config(3, 2);
        c.model.mode = mode;
        f(&mut c);
        let d = tempfile::tempdir().unwrap();
        train(&c, &opts(d.path()), |_| {}).unwrap();
        let m = TrainedModel::load(&d.path().join("ckpt.safetensors")).unwrap();
        let mut vars: Vec<(String, bool, Vec<u32>)> = m
            .ensemble
            .vs
            .variables()
            .into_iter()
            .map(|(name, t)| {
                let v: Vec<f32> = Vec::try_from(t.flatten(0, -1)).unwrap();
                (
                    name.clone(),
                    name.contains("classifier"),
                    v.iter().map(|x| x.to_bits()).collect(),
                )
            })
            .collect();
        vars.sort();
        vars
    };
    let part = |w: &[(String, bool, Vec<u32>)], classifier: bool| {
        w.iter()
            .filter(|v| v.1 == classifier)
            .cloned()
            .collect::<Vec<_>>()
    };
    let base = weights(Mode::Decoupled, &|_| {});
    let other = weights(Mode::Decoupled, &|c| c.model.sigma = 0.5);
    assert!(
        !part(&base, true).is_empty(),
        "the ensemble names its classifier"
    );
    assert_ne!(
        part(&base, false),
        part(&other, false),
        "the generative model changed"
    );
    assert_eq!(
        part(&base, true),
        part(&other, true),
        "the classifier did not"
    );
    let (semi, semi_other) = (
        weights(Mode::Semi, &|c| c.rare.self_training_generations = 0),
        weights(Mode::Semi, &|c| {
            c.rare.self_training_generations = 0;
            c.model.sigma = 0.5
        }),
    );
    assert_ne!(
        part(&semi, true),
        part(&semi_other, true),
        "semi: U pulls the classifier"
    );
    for f in [
        &(|c: &mut TrainConfig| c.rare.align_unlabeled = true) as &dyn Fn(&mut TrainConfig),
        &|c| c.rare.consistency = 1.0,
        &|c| c.rare.self_training_generations = 0,
    ] {
        assert_eq!(weights(Mode::Decoupled, f), base);
    }
}

/// A checkpoint resumes only in the mode it was trained in (semi and decoupled share every
/// network shape, so the shape check alone would let them mix), and `mode = auto` resumes in the
/// mode its checkpoint chose, without choosing again.
#[test]
fn a_checkpoint_resumes_only_in_its_own_mode() {
    use trainer::train::config::Mode;
    let _rng = lock();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny_mfeat_config(4, 1);
    train(&cfg, &opts(dir.path()), |_| {}).unwrap();
    cfg.model.mode = Mode::Decoupled;
    cfg.optim.epochs = 2;
    let resumed = TrainOptions {
        resume: true,
        ..opts(dir.path())
    };
    let err = train(&cfg, &resumed, |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("mode = semi") && err.contains("mode = decoupled"),
        "{err}"
    );
    cfg.model.mode = Mode::Auto;
    let out = train(&cfg, &resumed, |_| {}).unwrap();
    assert!(out.guard.is_none(), "no second choice on resume");
    assert_eq!(
        out.history.len(),
        1,
        "one more epoch, in the checkpoint's mode"
    );
}

/// `alpha_scale = dimension` (docs/model.md §12.14) leaves every sample that observes at most 1568
/// input dimensions at Eq. 9's weight: on mfeat (649) the run is the default's, bit for bit (the
/// factor above the reference is checked by `the_factor_scales_above_the_reference_dimension_only`).
#[test]
fn dimension_scaling_leaves_data_up_to_the_reference_width_unchanged() {
    use trainer::train::config::AlphaScale;
    let _rng = lock();
    let run = |c: &TrainConfig| {
        let d = tempfile::tempdir().unwrap();
        loss_bits(&train(c, &opts(d.path()), |_| {}).unwrap())
    };
    let base = tiny_mfeat_config(5, 2);
    let mut scaled = base.clone();
    scaled.objective.alpha_scale = AlphaScale::Dimension;
    assert_eq!(run(&base), run(&scaled), "mfeat's 649 dimensions: factor 1");
}
