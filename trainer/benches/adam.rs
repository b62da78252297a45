//! Adam's update on the benchmark step's variables (MNIST + Fashion shapes, 2 × 512 MLPs, m = 64:
//! 4.2 M weights, as `ssmvae bench-step`), the fused passes of `ssmvae_kernels` against libtorch's
//! operations, in the same run on the same CPU and thread count. Both give the same bits (tested in
//! `trainer/core/src/train/adam.rs`); this measures what the fusion buys.
//!
//! `trainer/scripts/with-libtorch.sh cargo bench -p ssmvae-trainer --bench adam`

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use tch::{nn, Device, Kind, Tensor};
use trainer::train::adam::Adam;

/// Every weight matrix and bias of the step's model on MNIST + Fashion (two modalities of 784
/// pixels, K = 10, m = 64, hidden [512, 512]): expert, decoder and classifier per modality.
fn step_variables() -> nn::VarStore {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let layers: [(&str, &[(i64, i64)]); 3] = [
        ("expert", &[(794, 512), (512, 512), (512, 128)]),
        ("decoder", &[(74, 512), (512, 512), (512, 784)]),
        ("classifier", &[(784, 512), (512, 512), (512, 10)]),
    ];
    for j in 0..2 {
        for (net, shapes) in layers {
            for (i, &(fan_in, fan_out)) in shapes.iter().enumerate() {
                let w = root.randn(&format!("{net}{j}_w{i}"), &[fan_out, fan_in], 0.0, 0.05);
                let b = root.zeros(&format!("{net}{j}_b{i}"), &[fan_out]);
                // A gradient for every variable, as after a backward pass.
                (w.sum(Kind::Float) + b.sum(Kind::Float)).backward();
            }
        }
    }
    vs
}

/// Gives every variable a fresh gradient (the update zeroes them).
fn refill(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, var) in vs.variables() {
            var.grad().copy_(&Tensor::randn_like(&var));
        }
    });
}

fn bench(c: &mut Criterion) {
    tch::manual_seed(0);
    let mut group = c.benchmark_group("adam");
    group.sample_size(30);
    for threads in [1, 2] {
        tch::set_num_threads(threads);
        for fused in [true, false] {
            let vs = step_variables();
            let mut adam = Adam::new(&vs, 1e-3);
            let name = if fused { "fused" } else { "operations" };
            group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, _| {
                // The fresh gradients are drawn outside the timed part.
                b.iter_batched(
                    || refill(&vs),
                    |()| {
                        if fused {
                            adam.step(&vs);
                        } else {
                            adam.step_with_operations(&vs);
                        }
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
