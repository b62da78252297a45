//! The AVX-512 path's driver: which blocks it takes, and the loop that packs each group of panel
//! pairs once per block and runs the 16-lane tiles of `simd512` over every sample of the block.

use super::{simd512, Layer, Panels, MR, PANEL};

/// Most samples of an f32 block read in place instead of packed (measured below).
const F32_IN_PLACE_MAX: usize = 16;

/// Whether a block of `block` samples runs the AVX-512 tile over packed pairs (where the CPU
/// has it): from more than one AVX2 tile on, as f16/int8 widening does. Packing copies each
/// weight once per block; measured on the golden model at batch 8 (Zen 5), the packed 16-lane
/// tiles already beat the AVX2 tiles reading f32 in place by about a quarter.
pub(super) fn packs(block: usize) -> bool {
    block > MR
}

/// One block of samples on the AVX-512 path: each group of up to three panel pairs is packed
/// (widened) into `scratch` once, then every tile of up to 8 samples (16 for a lone pair) of
/// the block reads it.
#[allow(clippy::too_many_arguments)]
pub(super) fn block(
    layer: &Layer<'_>,
    count: usize,
    samples: core::ops::Range<usize>,
    x: &[f32],
    extra: Option<&dyn Fn(usize) -> usize>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let (panel_len, cols, outputs) = (layer.panel_len, layer.cols, layer.outputs);
    let mut p0 = 0;
    while p0 < count {
        // Three pairs a group, but four left go as two and two: a one-pair tile has a third of
        // the multiply-adds per weight load.
        let pairs_left = (count - p0).div_ceil(2);
        let nq = if pairs_left == 4 {
            2
        } else {
            pairs_left.min(simd512::PAIRS)
        };
        let np = (2 * nq).min(count - p0);
        // The tiles' bounds rest on this (the in-place tile reads panels 2q and 2q + 1 < np).
        assert_eq!(nq, np.div_ceil(2));
        let src = p0 * panel_len..(p0 + np) * panel_len;
        let rows_all = panel_len / PANEL;
        // f32: small blocks read the pairs in place; larger ones too for their first tile,
        // which packs the group's inputs as it goes (the class rows, which only some samples
        // read, are packed here). f16/int8 groups are widened and packed in one pass.
        let (in_place, fused) = match layer.panels {
            Panels::F32(w) => (Some(&w[src.clone()]), samples.len() > F32_IN_PLACE_MAX),
            _ => (None, false),
        };
        if in_place.is_none() || fused {
            let packed = &mut scratch[..nq * 2 * panel_len];
            let rows = if fused { cols..rows_all } else { 0..rows_all };
            // SAFETY: AVX2/F16C present (implied by `simd512::available`); the source holds np
            // whole panels (asserted by `linear_batch`), the destination nq pairs, panel_len is
            // inputs × 8 and the rows are inputs.
            #[allow(unsafe_code)]
            unsafe {
                match layer.panels {
                    Panels::F32(w) => simd512::pack(&w[src], np, panel_len, packed, rows),
                    Panels::F16(w) => simd512::pack(&w[src], np, panel_len, packed, rows),
                    Panels::I8(w) => simd512::pack(&w[src], np, panel_len, packed, rows),
                }
            };
        }
        let scratch = &mut scratch[..nq * 2 * panel_len];
        // One pair (an output layer of K or 2m ≤ 16 channels) takes twice the samples, so a
        // tile still has 16 independent sums to hide the multiply-add latency.
        let rows = if nq == 1 {
            simd512::ROWS_ONE_PAIR
        } else {
            simd512::ROWS
        };
        let mut s0 = samples.start;
        while s0 < samples.end {
            let mr = rows.min(samples.end - s0);
            let first = s0 == samples.start;
            let mut classes = [0usize; simd512::ROWS_ONE_PAIR];
            let class_rows = extra.map(|f| {
                for (k, c) in classes.iter_mut().enumerate().take(mr) {
                    *c = cols + f(s0 + k);
                    assert!((*c + 1) * PANEL <= panel_len);
                }
                &classes[..mr]
            });
            let xs = &x[s0 * cols..(s0 + mr) * cols];
            let ys = &mut y[s0 * outputs..(s0 + mr) * outputs];
            assert!(cols * PANEL <= panel_len);
            macro_rules! shapes {
                ($kernel:ident: $(($m:literal, $q:literal)),*) => {
                    match (mr, nq) {
                        $(($m, $q) => simd512::$kernel::<$m, $q>,)*
                        _ => unreachable!("tiles are 8 samples × 3 pairs or 16 × 1 at most"),
                    }
                };
            }
            macro_rules! all_shapes {
                ($kernel:ident) => {
                    shapes!($kernel: (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3),
                        (3, 1), (3, 2), (3, 3), (4, 1), (4, 2), (4, 3), (5, 1), (5, 2), (5, 3),
                        (6, 1), (6, 2), (6, 3), (7, 1), (7, 2), (7, 3), (8, 1), (8, 2), (8, 3),
                        (9, 1), (10, 1), (11, 1), (12, 1), (13, 1), (14, 1), (15, 1), (16, 1))
                };
            }
            // SAFETY: AVX-512F present; `scratch` holds nq pairs (packed by `simd512::pack`
            // and, when fused, by this block's first tile before any other reads them), `w`
            // the np f32 panels of the group (nq = ⌈np / 2⌉), `xs` mr rows of `cols` inputs and
            // `ys` mr rows of `outputs`, class rows are inside a panel (asserted above), and an
            // int8 layer's scales cover every channel (`linear_batch`).
            #[allow(unsafe_code)]
            unsafe {
                let s = &mut *scratch;
                match in_place {
                    Some(w) if fused && first => {
                        all_shapes!(tile_packing)(layer, w, np, p0, xs, class_rows, ys, s)
                    }
                    Some(w) if !fused => {
                        all_shapes!(tile_in_place)(layer, w, np, p0, xs, class_rows, ys, s)
                    }
                    _ => all_shapes!(tile)(layer, s, p0, xs, class_rows, ys),
                }
            };
            s0 += mr;
        }
        p0 += np;
    }
}
