//! The runtime against libtorch, in the same run on the same CPU and weights, one thread each:
//! the classifier PoE → predicted class → latent experts + PoE, at batch 1, 8, 64 and 256, on the
//! three models of `trainer::bench::predict_models` (golden: hidden 64, m = 8; wide: 2 × 128,
//! m = 64; wide512: 2 × 512). `ssmvae bench-predict` runs the same comparison with ONNX Runtime
//! beside it and prints the ratios. The runtime runs its
//! bundles exported from the same checkpoint in f32, f16 and int8, through `predict_batch_into`
//! with an arena sized for the batch; tch runs `TrainedModel`'s networks on inputs already
//! transformed (the runtime transforms inside, which it pays for).
//!
//! `trainer/scripts/with-libtorch.sh cargo bench -p ssmvae-trainer --bench forward`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::Path;
use trainer::bench::predict_models::{
    bench_models, libtorch_predict, random_batch, raw_rows, MODELS,
};
use trainer::export::export_bundle;
use trainer::train::TrainedModel;

fn bench(c: &mut Criterion) {
    tch::set_num_threads(1);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let tmp = std::env::temp_dir().join(format!("ssmvae-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let names: Vec<String> = MODELS.iter().map(|m| m.to_string()).collect();
    let models = bench_models(&fixtures, &tmp, &names).unwrap();
    let _guard = tch::no_grad_guard();
    for (name, checkpoint) in models {
        let model = TrainedModel::load(&checkpoint).unwrap();
        let dims: Vec<usize> = model.meta.modality_dims.clone();
        let mut g = c.benchmark_group(format!("predict_{name}"));
        for batch in [1usize, 8, 64, 256] {
            let data = random_batch(&model, batch);
            let k = trainer::export::batch_constants(&model, &data);
            g.bench_function(BenchmarkId::new("tch_f32", batch), |b| {
                b.iter(|| black_box(libtorch_predict(&model, black_box(&data), &k)))
            });
            for dtype in [format::Dtype::F32, format::Dtype::F16, format::Dtype::I8] {
                let bytes = export_bundle(&model, dtype, false, &checkpoint).unwrap();
                let rt = runtime::Model::from_vec(bytes).unwrap();
                let raw = raw_rows(&dims);
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
