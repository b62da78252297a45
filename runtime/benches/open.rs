//! Bundle open time (mmap + full validation, including the finiteness check of every weight) for
//! the small golden bundle and for a ~100 MB bundle written for the benchmark.

use criterion::{criterion_group, criterion_main, Criterion};
use format::*;
use runtime::Model;
use std::path::Path;

/// A 6-modality model with wide layers: about 25 M f32 weights (~100 MB).
fn big_bundle(path: &Path) {
    let mut w = BundleWriter::new(Dtype::F32);
    let (k, m, h) = (10u32, 64u32, 1400u32);
    let mut mlp = |input: u32, output: u32| Mlp {
        layers: [(input, h), (h, h), (h, output)]
            .iter()
            .map(|&(i, o)| Layer {
                input: i,
                output: o,
                weight: w.add_weight(&vec![0.01; (i * o) as usize], o as usize),
                bias: w.add_bias(&vec![0.0; o as usize]),
            })
            .collect(),
    };
    let dims = [240u32, 216, 76, 64, 47, 6];
    let experts: Vec<Mlp> = dims.iter().map(|&d| mlp(d + k, 2 * m)).collect();
    let classifiers: Vec<Mlp> = dims.iter().map(|&d| mlp(d, k)).collect();
    let schema = Schema {
        prior: PriorSpec {
            nu: 10.0,
            latent_dim: m,
            latent: Latent::StudentT,
            prior_expert: PriorExpert::Prior,
            sigma: 1.0,
        },
        classes: (0..k).map(|c| c.to_string()).collect(),
        modalities: dims
            .iter()
            .enumerate()
            .map(|(j, &d)| ModalitySpec {
                name: format!("m{j}"),
                input_dim: d,
                kind: ModalityKind::Tabular,
                transform: InputTransform::Scale { factor: 1.0 },
            })
            .collect(),
        experts,
        classifiers,
        decoders: vec![],
        activation: Activation::Relu,
        class_logit_bias: Vec::new(),
        class_prior_labels: Vec::new(),
        class_prior_estimate: Vec::new(),
        logit_adjust: 0.0,
    };
    std::fs::write(path, w.finish(&schema).unwrap()).unwrap();
}

fn bench(c: &mut Criterion) {
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden/model-f32.ssmv");
    let big = std::env::temp_dir().join("ssmvae-bench-big.ssmv");
    if !big.exists() {
        big_bundle(&big);
    }
    eprintln!(
        "bundle sizes: small {} bytes, big {} bytes",
        std::fs::metadata(&small).unwrap().len(),
        std::fs::metadata(&big).unwrap().len()
    );
    let mut g = c.benchmark_group("bundle_open");
    g.sample_size(10);
    g.bench_function("small_400KB", |b| b.iter(|| Model::open(&small).unwrap()));
    g.bench_function("big_100MB", |b| b.iter(|| Model::open(&big).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
