//! Runtime predict latency (single thread): batch 1 and 64, f32 and f16, all modalities present,
//! on the golden mfeat bundles. Compare with `cargo bench -p ssmvae-trainer --bench forward`
//! (libtorch running the same experts + PoE + classifier on the same weights) in the same run.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use runtime::Model;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden");
    let mut g = c.benchmark_group("runtime_predict");
    for (dtype, file) in [("f32", "model-f32.ssmv"), ("f16", "model-f16.ssmv")] {
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
        let mut outs = vec![model.prediction(); 64];
        g.bench_function(BenchmarkId::new(dtype, "batch64"), |b| {
            b.iter(|| {
                model
                    .predict_batch(&mut ws, black_box(&batch), &mut outs)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
