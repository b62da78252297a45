//! The runtime against libtorch, in the same run on the same CPU and weights, one thread each:
//! the classifier PoE → predicted class → latent experts + PoE, at batch 1, 8, 64 and 256, on three
//! models: the golden mfeat model (hidden 64, m = 8, the committed checkpoint); `wide`, the
//! default configuration trained one epoch on the embedded mfeat fixture, whose `hidden = auto`
//! gives 2 × 128 on those 568 samples (docs/model.md §11.1; m = 64); and `wide512`, the same
//! with 2 × 512 given explicitly (the paper's width). The weights' values do not matter for speed. The runtime runs its
//! bundles exported from the same checkpoint in f32, f16 and int8, through `predict_batch_into`
//! with an arena sized for the batch; tch runs `TrainedModel`'s networks on inputs already
//! transformed (the runtime transforms inside, which it pays for).
//!
//! `trainer/scripts/with-libtorch.sh cargo bench -p ssmvae-trainer --bench forward`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};
use trainer::export::export_bundle;
use trainer::protocol::Protocol;
use trainer::run::train;
use trainer::train::config::{
    DataConfig, DeviceChoice, Hidden, ModelConfig, OptimConfig, RunConfig, TrainConfig,
};
use trainer::train::tensors::DataTensors;
use trainer::train::{TrainOptions, TrainedModel};

/// The default configuration with `hidden` (auto: 2 × 128 here), trained one epoch on the
/// embedded mfeat fixture.
fn wide_checkpoint(dir: &Path, name: &str, hidden: Hidden) -> PathBuf {
    let checkpoint = dir.join(format!("{name}.safetensors"));
    let cfg = TrainConfig {
        model: ModelConfig {
            hidden,
            ..Default::default()
        },
        data: DataConfig {
            dataset: "mfeat".into(),
            data_dir: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")),
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
    train(&cfg, &opts, |_| {}).unwrap();
    checkpoint
}

fn bench(c: &mut Criterion) {
    tch::set_num_threads(1);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden");
    let tmp = std::env::temp_dir().join(format!("ssmvae-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let models = [
        ("golden", golden.join("checkpoint.safetensors")),
        ("wide", wide_checkpoint(&tmp, "wide", Hidden::Auto)),
        (
            "wide512",
            wide_checkpoint(&tmp, "wide512", Hidden::Widths(vec![512, 512])),
        ),
    ];
    let _guard = tch::no_grad_guard();
    for (name, checkpoint) in models {
        let model = TrainedModel::load(&checkpoint).unwrap();
        let member = &model.ensemble.members[0];
        let dims: Vec<usize> = model.meta.modality_dims.clone();
        let mut g = c.benchmark_group(format!("predict_{name}"));
        for batch in [1usize, 8, 64, 256] {
            let xs: Vec<Tensor> = dims
                .iter()
                .map(|&d| Tensor::rand([batch as i64, d as i64], (Kind::Float, tch::Device::Cpu)))
                .collect();
            let present = Tensor::ones(
                [batch as i64, dims.len() as i64],
                (Kind::Bool, tch::Device::Cpu),
            );
            let data = DataTensors {
                xs,
                present,
                present_rows: vec![vec![true; dims.len()]; batch],
                labels: vec![None; batch],
                dims: dims.clone(),
            };
            let k = trainer::export::batch_constants(&model, &data);
            g.bench_function(BenchmarkId::new("tch_f32", batch), |b| {
                b.iter(|| {
                    let log_q = member
                        .model
                        .class_log_probs(black_box(&data.xs), &data.present);
                    let y = log_q.argmax(1, false);
                    let parts = member.model.expert_x_parts(&data.xs);
                    let post = member.model.posterior(&parts, &y, &data.present, &k);
                    black_box((log_q, post.mu, post.log_sq.exp()))
                })
            });
            for dtype in [format::Dtype::F32, format::Dtype::F16, format::Dtype::I8] {
                let bytes = export_bundle(&model, dtype, false, &checkpoint).unwrap();
                let rt = runtime::Model::from_vec(bytes).unwrap();
                let raw: Vec<Vec<f32>> = dims
                    .iter()
                    .map(|&d| (0..d).map(|i| (i % 13) as f32 * 0.3).collect())
                    .collect();
                let inputs: Vec<Option<&[f32]>> = raw.iter().map(|r| Some(r.as_slice())).collect();
                let all: Vec<&[Option<&[f32]>]> = vec![&inputs; batch];
                let (nk, nm) = (batch * rt.num_classes(), batch * rt.latent_dim());
                let mut ws = vec![0f32; rt.batch_workspace_len(batch)];
                let (mut probs, mut mu, mut scale) =
                    (vec![0f32; nk], vec![0f32; nm], vec![0f32; nm]);
                let mut classes = vec![0usize; batch];
                let id = format!("runtime_{}", format!("{dtype:?}").to_lowercase());
                g.bench_function(BenchmarkId::new(id, batch), |b| {
                    b.iter(|| {
                        rt.predict_batch_into(
                            &mut ws,
                            black_box(&all),
                            &mut probs,
                            &mut mu,
                            &mut scale,
                            &mut classes,
                        )
                        .unwrap()
                    })
                });
            }
        }
        g.finish();
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

criterion_group!(benches, bench);
criterion_main!(benches);
