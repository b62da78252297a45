//! Runtime predict latency (single thread): batch 1 and 64 (`predict_batch_into`, an arena sized
//! for the batch), f32, f16 and int8, all modalities present, on the golden mfeat bundles. Compare with `cargo bench -p ssmvae-trainer --bench forward`
//! (libtorch running the same experts + PoE + classifier on the same weights) in the same run.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use runtime::Model;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden");
    let mut g = c.benchmark_group("runtime_predict");
    for (dtype, file) in [
        ("f32", "model-f32.ssmv"),
        ("f16", "model-f16.ssmv"),
        ("int8", "model-int8.ssmv"),
    ] {
        let model = Model::open(dir.join(file)).unwrap();
        let rows: Vec<Vec<f32>> = model
            .modality_dims()
            .iter()
            .map(|&d| (0..d).map(|i| (i % 13) as f32 * 0.3).collect())
            .collect();
        let inputs: Vec<Option<&[f32]>> = rows.iter().map(|r| Some(r.as_slice())).collect();
        let mut ws = model.workspace();
        let mut out = model.prediction();
        g.bench_function(BenchmarkId::new(dtype, "batch1"), |b| {
            b.iter(|| {
                model
                    .predict(&mut ws, black_box(&inputs), &mut out)
                    .unwrap()
            })
        });
        let batch: Vec<&[Option<&[f32]>]> = vec![&inputs; 64];
        let (k, m) = (model.num_classes(), model.latent_dim());
        let mut arena = vec![0f32; model.batch_workspace_len(64)];
        let (mut probs, mut mu, mut scale) =
            (vec![0f32; 64 * k], vec![0f32; 64 * m], vec![0f32; 64 * m]);
        let mut classes = vec![0usize; 64];
        g.bench_function(BenchmarkId::new(dtype, "batch64"), |b| {
            b.iter(|| {
                model
                    .predict_batch_into(
                        &mut arena,
                        black_box(&batch),
                        &mut probs,
                        &mut mu,
                        &mut scale,
                        &mut classes,
                    )
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
