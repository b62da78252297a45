//! `Model::predict` makes zero heap allocations: a counting global allocator (this test binary
//! only) counts every allocation made while predicting, over every subset of modalities, f32 and
//! f16, and for the batch variant.

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
    for file in ["model-f32.ssmv", "model-f16.ssmv"] {
        let model = Model::open(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures/golden")
                .join(file),
        )
        .unwrap();
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
    }
}
