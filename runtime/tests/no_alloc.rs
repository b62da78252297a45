//! Predicting and imputing make zero heap allocations: a counting global allocator (this test
//! binary only) counts every allocation made while predicting, over every subset of modalities,
//! every dtype, through the owned API, the arena API (`predict_into`, `predict_batch_into`,
//! `impute_into`) and the batch variants.

use runtime::Model;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = COUNT.with(Cell::get);
    let r = f();
    (COUNT.with(Cell::get) - before, r)
}

#[test]
fn predict_allocates_nothing() {
    // The counter sees allocations (so a zero below means something).
    assert!(allocations(|| vec![1u8; 10]).0 >= 1);
    // The int8 bundle twice: widened to f32, then on integers (`set_int8_activations`).
    for (file, integer) in [
        ("model-f32.ssmv", false),
        ("model-f16.ssmv", false),
        ("model-f32-decoders.ssmv", false),
        ("model-int8.ssmv", false),
        ("model-int8.ssmv", true),
    ] {
        let mut model = Model::open(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures/golden")
                .join(file),
        )
        .unwrap();
        model.set_int8_activations(integer).unwrap();
        let mut ws = model.workspace();
        let mut out = model.prediction();
        let rows: Vec<Vec<f32>> = model
            .modality_dims()
            .iter()
            .map(|&d| (0..d).map(|i| (i % 7) as f32).collect())
            .collect();
        let mut total = 0;
        for mask in 1u32..64 {
            let inputs: Vec<Option<&[f32]>> = rows
                .iter()
                .enumerate()
                .map(|(j, r)| (mask >> j & 1 == 1).then_some(r.as_slice()))
                .collect();
            let (n, r) = allocations(|| model.predict(&mut ws, &inputs, &mut out));
            r.unwrap();
            total += n;
        }
        assert_eq!(total, 0, "{file}: {total} allocations in 63 predictions");
        // Errors are reported without allocating too.
        let none: Vec<Option<&[f32]>> = vec![None; rows.len()];
        let (n, r) = allocations(|| model.predict(&mut ws, &none, &mut out));
        assert!(r.is_err());
        assert_eq!(n, 0);
        // The batch variant.
        let inputs: Vec<Option<&[f32]>> = rows.iter().map(|r| Some(r.as_slice())).collect();
        let batch: Vec<&[Option<&[f32]>]> = vec![&inputs; 64];
        let mut outs = vec![model.prediction(); 64];
        let (n, r) = allocations(|| model.predict_batch(&mut ws, &batch, &mut outs));
        r.unwrap();
        assert_eq!(n, 0, "{file}: batch of 64");
        // The arena API: one caller slice, caller outputs.
        let (k, m) = (model.num_classes(), model.latent_dim());
        let (mut probs, mut mu, mut scale) =
            (vec![0.0; 64 * k], vec![0.0; 64 * m], vec![0.0; 64 * m]);
        let mut classes = vec![0usize; 64];
        let (n, r) = allocations(|| {
            model.predict_batch_into(
                &mut ws,
                &batch,
                &mut probs,
                &mut mu,
                &mut scale,
                &mut classes,
            )
        });
        r.unwrap();
        assert_eq!(n, 0, "{file}: predict_batch_into of 64");
        if model.has_decoders() {
            let mut bufs: Vec<Vec<f32>> = rows.iter().map(|r| vec![0.0; r.len()]).collect();
            let mut total = 0;
            for mask in 1u32..64 {
                let inputs: Vec<Option<&[f32]>> = rows
                    .iter()
                    .enumerate()
                    .map(|(j, r)| (mask >> j & 1 == 1).then_some(r.as_slice()))
                    .collect();
                let mut outs: Vec<Option<&mut [f32]>> = bufs
                    .iter_mut()
                    .enumerate()
                    .map(|(j, b)| (mask >> j & 1 == 0).then_some(b.as_mut_slice()))
                    .collect();
                let (n, r) = allocations(|| model.impute_into(&mut ws, &inputs, None, &mut outs));
                r.unwrap();
                total += n;
            }
            assert_eq!(total, 0, "{file}: {total} allocations in 63 imputations");
        }
    }
}
