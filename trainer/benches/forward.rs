//! libtorch baseline for the runtime, in the same run on the same CPU and weights: the golden
//! mfeat model's classifier PoE → predicted class → latent experts + PoE, through tch
//! (`TrainedModel` on the committed checkpoint) and through the runtime (the bundles exported
//! from it), batch 1 and 64, one thread each.
//!
//! `trainer/scripts/with-libtorch.sh cargo bench -p ssmvae-trainer --bench forward`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::Path;
use tch::{Kind, Tensor};
use trainer::train::tensors::DataTensors;
use trainer::train::TrainedModel;

fn bench(c: &mut Criterion) {
    tch::set_num_threads(1);
    let _guard = tch::no_grad_guard();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden");
    let model = TrainedModel::load(&dir.join("checkpoint.safetensors")).unwrap();
    let member = &model.ensemble.members[0];
    let dims: Vec<usize> = model.meta.modality_dims.clone();
    let mut g = c.benchmark_group("predict_vs_tch");
    for batch in [1usize, 64] {
        // Inputs already transformed for tch (the runtime transforms inside, which it pays for).
        let xs: Vec<Tensor> = dims
            .iter()
            .map(|&d| Tensor::rand([batch as i64, d as i64], (Kind::Float, tch::Device::Cpu)))
            .collect();
        let present = Tensor::ones(
            [batch as i64, dims.len() as i64],
            (Kind::Bool, tch::Device::Cpu),
        );
        let rows = vec![vec![true; dims.len()]; batch];
        let data = DataTensors {
            xs,
            present,
            present_rows: rows,
            labels: vec![None; batch],
            dims: dims.clone(),
        };
        let k = trainer::export::batch_constants(&model, &data);
        g.bench_function(BenchmarkId::new("tch_f32", format!("batch{batch}")), |b| {
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
        for (dtype, file) in [
            ("runtime_f32", "model-f32.ssmv"),
            ("runtime_f16", "model-f16.ssmv"),
        ] {
            let rt = runtime::Model::open(dir.join(file)).unwrap();
            let raw: Vec<Vec<f32>> = dims
                .iter()
                .map(|&d| (0..d).map(|i| (i % 13) as f32 * 0.3).collect())
                .collect();
            let inputs: Vec<Option<&[f32]>> = raw.iter().map(|r| Some(r.as_slice())).collect();
            let all: Vec<&[Option<&[f32]>]> = vec![&inputs; batch];
            let mut ws = rt.workspace();
            let mut outs = vec![rt.prediction(); batch];
            g.bench_function(BenchmarkId::new(dtype, format!("batch{batch}")), |b| {
                b.iter(|| {
                    rt.predict_batch(&mut ws, black_box(&all), &mut outs)
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
