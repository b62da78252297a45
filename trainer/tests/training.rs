//! Training on real data (the embedded mfeat fixture) and the training-time errors.

use std::path::{Path, PathBuf};
use trainer::run::train;
use trainer::train::config::{Hidden, ModelConfig, Precision, TrainConfig};
use trainer::train::{TrainOptions, TrainedModel};
use trainer::{DataError, Error};

mod common;
use common::{lock, loss_bits, mfeat_config, opts, tiny_mfeat_config};

/// The training test: 20 epochs on mfeat (all views, n_max 140, rho 10, beta 0.1), seeds 0
/// and 1: the loss falls and overall test accuracy is at least 0.60.
#[test]
fn twenty_epochs_on_mfeat_learn() {
    let _rng = lock();
    for seed in [0, 1] {
        let dir = tempfile::tempdir().unwrap();
        let out = train(&mfeat_config(seed, 20), &opts(dir.path()), |_| {}).unwrap();
        let (first, last) = (&out.history[0], out.history.last().unwrap());
        assert!(
            last.loss_total < first.loss_total,
            "seed {seed}: {} → {}",
            first.loss_total,
            last.loss_total
        );
        assert!(
            out.test.scores.overall_acc >= 0.60,
            "seed {seed}: overall accuracy {}",
            out.test.scores.overall_acc
        );
        // The checkpoint predicts what training measured.
        let model = TrainedModel::load(&dir.path().join("ckpt.safetensors")).unwrap();
        let probs = model.predict(&out.split.test).unwrap();
        let pred: Vec<usize> = probs
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0
            })
            .collect();
        let truth: Vec<usize> = out.split.test.labels().iter().map(|y| y.unwrap()).collect();
        let acc =
            pred.iter().zip(&truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64;
        assert!(
            (acc - out.test.scores.overall_acc).abs() < 1e-9,
            "checkpoint {acc} vs training {}",
            out.test.scores.overall_acc
        );
    }
}

/// Resuming from epoch 2 of 3 gives the same weights as running 3 epochs at once (Adam state and
/// per-epoch seeds are in the checkpoint).
/// Same seed, same thread count (2, libtorch's intra-op threads splitting 2 × 256 layers) → the
/// same numbers: every epoch's losses bit for bit and the same test confusion.
/// (Issue 11 saw two such runs on the full mfeat end at 0.80 and 0.90 on another machine; on this
/// 2-core AMD EPYC they are identical, with this test pinning it.)
#[test]
fn two_threads_repeat_exactly() {
    let _rng = lock();
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = mfeat_config(3, 2);
        cfg.model.hidden = Hidden::Widths(vec![256, 256]);
        cfg.model.latent_dim = 32;
        train(&cfg, &opts(dir.path()), |_| {}).unwrap()
    };
    let (a, b) = (run(), run());
    let losses = |o: &trainer::train::driver::Outcome| {
        o.history
            .iter()
            .map(|h| {
                (
                    h.loss_labeled.to_bits(),
                    h.loss_unlabeled.to_bits(),
                    h.loss_total.to_bits(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.test.confusion, b.test.confusion);
}

/// `precision = bf16` (docs/model.md §11.2) trains: it repeats bit for bit like f32 does, it does
/// change the numbers (the products really run in bfloat16), and its epoch losses stay within 5 %
/// of f32's on this small run.
#[test]
fn bf16_products_repeat_exactly_and_train_like_f32() {
    let _rng = lock();
    let run = |precision| {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = mfeat_config(4, 3);
        cfg.model.hidden = Hidden::Widths(vec![64]);
        cfg.model.latent_dim = 16;
        cfg.run.precision = precision;
        train(&cfg, &opts(dir.path()), |_| {}).unwrap()
    };
    let (a, b) = (run(Precision::Bf16), run(Precision::Bf16));
    assert_eq!(loss_bits(&a), loss_bits(&b));
    assert_eq!(a.test.confusion, b.test.confusion);
    let f = run(Precision::F32);
    assert_ne!(
        loss_bits(&a),
        loss_bits(&f),
        "bf16 must change the products"
    );
    for (x, y) in a.history.iter().zip(&f.history) {
        let rel = (x.loss_total - y.loss_total).abs() / y.loss_total.abs();
        assert!(
            rel < 0.05,
            "epoch loss {} (bf16) vs {} (f32)",
            x.loss_total,
            y.loss_total
        );
    }
}

/// Self-training generations (docs/model.md §12.12) keep their pseudo-labels in the checkpoint: a
/// run stopped after the epoch that pseudo-labelled (epoch 3 of 4, generations of 2 epochs) and
/// resumed repeats the uninterrupted run bit for bit, and the pseudo-labels change the run.
#[test]
fn self_training_resumes_with_its_pseudo_labels() {
    let _rng = lock();
    let small = |epochs, generations| {
        let mut c = tiny_mfeat_config(6, epochs);
        c.rare.self_training_generations = generations;
        c
    };
    let a = tempfile::tempdir().unwrap();
    let full = train(&small(4, 2), &opts(a.path()), |_| {}).unwrap();
    let b = tempfile::tempdir().unwrap();
    train(&small(3, 2), &opts(b.path()), |_| {}).unwrap();
    let resumed = train(
        &small(4, 2),
        &TrainOptions {
            resume: true,
            ..opts(b.path())
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(loss_bits(&full)[3..], loss_bits(&resumed)[..]);
    assert_eq!(full.test.confusion, resumed.test.confusion);
    // The records say which epochs trained on pseudo-labels, and how many per class.
    let pseudo: Vec<_> = full
        .history
        .iter()
        .map(|h| h.pseudo_labels.clone())
        .collect();
    assert!(pseudo[..2].iter().all(Option::is_none), "{pseudo:?}");
    let counts = pseudo[2].clone().expect("generation 2 has pseudo-labels");
    assert!(counts.len() == 10 && counts.iter().sum::<usize>() > 0);
    assert_eq!(pseudo[3], pseudo[2]);
    let c = tempfile::tempdir().unwrap();
    let off = train(&small(4, 0), &opts(c.path()), |_| {}).unwrap();
    assert_eq!(
        loss_bits(&full)[..2],
        loss_bits(&off)[..2],
        "generation 1 is the plain run"
    );
    assert_ne!(
        loss_bits(&full)[2..],
        loss_bits(&off)[2..],
        "generation 2 trains on pseudo-labels"
    );
}

/// `self_training_restart` (docs/model.md §12.12): generation 2 trains fresh networks (its first
/// epoch's loss rises above the epoch before, where the continued run's keeps falling),
/// generation 1 is untouched,
/// and a run resumed at the generation boundary restarts exactly as the uninterrupted one did.
#[test]
fn restarted_generations_train_fresh_networks_and_resume_exactly() {
    let _rng = lock();
    let small = |epochs, restart| {
        let mut c = tiny_mfeat_config(6, epochs);
        c.rare.self_training_generations = 2;
        c.rare.self_training_restart = restart;
        c
    };
    let total = |o: &trainer::train::driver::Outcome| -> Vec<f64> {
        o.history.iter().map(|h| h.loss_total).collect()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // The checkpoint at the generation boundary (after epoch 2), kept to resume from.
    let (from, to) = (opts(a.path()).checkpoint, opts(b.path()).checkpoint);
    let restarted = train(&small(4, true), &opts(a.path()), |r| {
        if r.epoch == 2 {
            std::fs::copy(&from, &to).unwrap();
        }
    })
    .unwrap();
    let c = tempfile::tempdir().unwrap();
    let continued = train(&small(4, false), &opts(c.path()), |_| {}).unwrap();
    let (r, k) = (total(&restarted), total(&continued));
    assert_eq!(r[..2], k[..2], "generation 1 is the same run");
    assert!(
        r[2] > k[2] && r[2] > r[1],
        "generation 2 starts from fresh networks: {r:?} against {k:?}"
    );
    let resumed = train(
        &small(4, true),
        &TrainOptions {
            resume: true,
            ..opts(b.path())
        },
        |_| {},
    )
    .unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&r[2..]), bits(&total(&resumed)));
    assert_eq!(restarted.test.confusion, resumed.test.confusion);
}

#[test]
fn resume_repeats_an_uninterrupted_run() {
    let _rng = lock();
    let small = |epochs| tiny_mfeat_config(5, epochs);
    let a = tempfile::tempdir().unwrap();
    let full = train(&small(3), &opts(a.path()), |_| {}).unwrap();
    let b = tempfile::tempdir().unwrap();
    train(&small(2), &opts(b.path()), |_| {}).unwrap();
    let resumed = train(
        &small(3),
        &TrainOptions {
            resume: true,
            ..opts(b.path())
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(resumed.history.len(), 1, "only epoch 3 runs");
    assert_eq!(resumed.history[0].epoch, 3);
    assert!(
        (resumed.history[0].loss_total - full.history[2].loss_total).abs() < 1e-9,
        "{} vs {} (epochs 1-2: {:?})",
        resumed.history[0].loss_total,
        full.history[2].loss_total,
        full.history
            .iter()
            .map(|h| h.loss_total)
            .collect::<Vec<_>>()
    );
    assert_eq!(resumed.test.confusion, full.test.confusion);
}

/// docs/model.md §12.8: each candidate of a is the run's configuration trained on 70 % of the
/// labels and scored at its last epoch on the rest; the run then trains, on all labels, exactly
/// the configuration with the chosen a, and leaves no candidate checkpoint behind.
#[test]
fn alpha_a_selection_scores_on_held_out_labels_and_retrains_the_winner() {
    let _rng = lock();
    let small = || tiny_mfeat_config(1, 3);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small();
    cfg.objective.alpha_a_candidates = vec![0.3, 30.0];
    let chosen = train(&cfg, &opts(dir.path()), |_| {}).unwrap();
    let s = chosen.selection.clone().expect("a selection");
    assert_eq!(s.candidates, vec![0.3, 30.0]);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "only the run's checkpoint stays: {files:?}");
    // Each score is the candidate's own held-out run, at its last epoch.
    for (a, score) in s.candidates.iter().zip(&s.validation_balanced_acc) {
        let mut c = small();
        c.objective.alpha_a = *a;
        c.run.validation_fraction = trainer::run::SELECTION_HOLDOUT;
        let d = tempfile::tempdir().unwrap();
        let held_out = train(&c, &opts(d.path()), |_| {}).unwrap();
        let last = held_out.history.last().unwrap().validation.clone().unwrap();
        assert_eq!(last.balanced_acc.to_bits(), score.to_bits(), "a = {a}");
    }
    let best = if s.validation_balanced_acc[1] > s.validation_balanced_acc[0] {
        30.0
    } else {
        0.3
    };
    assert_eq!(s.chosen, best);
    // The final model is the plain run with the chosen a.
    let mut direct = small();
    direct.objective.alpha_a = s.chosen;
    let d = tempfile::tempdir().unwrap();
    let plain = train(&direct, &opts(d.path()), |_| {}).unwrap();
    assert_eq!(loss_bits(&chosen), loss_bits(&plain));
    assert_eq!(chosen.test.confusion, plain.test.confusion);
    assert!(plain.selection.is_none());
}

fn tiny(dir: &Path) -> (TrainConfig, TrainOptions) {
    (
        {
            let mut c = mfeat_config(0, 1);
            c.model.hidden = Hidden::Widths(vec![16]);
            c.model.latent_dim = 4;
            c
        },
        opts(dir),
    )
}

#[test]
fn checkpoint_of_another_model_shape_is_rejected() {
    let _rng = lock();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, o) = tiny(dir.path());
    train(&cfg, &o, |_| {}).unwrap();
    let wider = {
        let mut c = cfg;
        c.model.hidden = Hidden::Widths(vec![24]);
        c.optim.epochs = 2;
        c
    };
    let err = train(&wider, &TrainOptions { resume: true, ..o }, |_| {}).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err:?}");
    assert!(err.to_string().contains("different model shape"), "{err}");
}

#[test]
fn config_with_unknown_keys_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("c.toml");
    std::fs::write(&p, "nu = 5.0\nlatent_dimm = 32\n").unwrap();
    let err = TrainConfig::from_file(&p).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("latent_dimm"), "{err}");
    // The groups are flattened, so serde cannot deny unknown keys itself: the check names the
    // key's line and the key it most likely meant.
    assert!(
        err.to_string().contains("line 2") && err.to_string().contains("`latent_dim`?"),
        "{err}"
    );
    std::fs::write(&p, "nu = 5.0\nentropy_coef = \"tau2\"\nhidden = [64]\n").unwrap();
    let ok = TrainConfig::from_file(&p).unwrap();
    assert_eq!(
        (ok.model.nu, ok.model.hidden.clone()),
        (5.0, Hidden::Widths(vec![64]))
    );
}

#[test]
fn nu_at_most_two_is_rejected() {
    for nu in [2.0, 1.5, f64::NAN] {
        let cfg = TrainConfig {
            model: ModelConfig {
                nu,
                ..Default::default()
            },
            ..TrainConfig::default()
        };
        let err = cfg.validate().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Data(DataError::InvalidParameter { name: "nu", .. })
            ),
            "{err:?}"
        );
    }
}

#[test]
fn empty_labeled_set_is_rejected() {
    // A NumPy dataset whose samples are all unlabeled (taken as given by the protocol).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("unlabeled.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&p).unwrap());
    npz.add_array("x", &ndarray::Array2::<f32>::ones((6, 3)))
        .unwrap();
    npz.add_array("labels", &ndarray::Array1::<i64>::from_elem(6, -1))
        .unwrap();
    npz.finish().unwrap();
    let t = dir.path().join("test.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&t).unwrap());
    npz.add_array("x", &ndarray::Array2::<f32>::ones((2, 3)))
        .unwrap();
    npz.add_array("labels", &ndarray::array![0i64, 1]).unwrap();
    npz.finish().unwrap();
    let cfg = {
        let mut c = tiny(dir.path()).0;
        c.data.dataset = p.to_str().unwrap().into();
        c.data.test = Some(t);
        c
    };
    let err = train(&cfg, &opts(dir.path()), |_| {}).unwrap_err();
    assert!(matches!(err, Error::Data(DataError::Empty(_))), "{err:?}");
    assert!(
        err.to_string().contains("labeled training set is empty"),
        "{err}"
    );
}

/// `hidden = []` makes the SSMVAE family's networks linear: supervised early fusion is then the
/// logistic-regression floor, and it learns mfeat well above chance (10 classes). The baselines'
/// extra networks need a hidden width, so they refuse the empty list by name.
#[test]
fn no_hidden_layer_is_the_linear_floor_and_baselines_refuse_it() {
    use trainer::train::config::{Fusion, Method, Mode};
    let _rng = lock();
    let dir = tempfile::tempdir().unwrap();
    let linear = {
        let mut c = mfeat_config(0, 30);
        c.model.hidden = Hidden::Widths(vec![]);
        c.model.fusion = Fusion::Early;
        c.model.mode = Mode::Supervised;
        c
    };
    let out = train(&linear, &opts(dir.path()), |_| {}).unwrap();
    assert!(
        out.test.scores.overall_acc >= 0.6,
        "linear floor: overall accuracy {}",
        out.test.scores.overall_acc
    );
    let mut crest = linear;
    crest.run.method = Method::Crest;
    let err = crest.validate().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Data(DataError::InvalidParameter { name: "hidden", .. })
        ),
        "{err:?}"
    );
}
