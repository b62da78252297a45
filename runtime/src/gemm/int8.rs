//! The integer path of int8 bundles (`Model::set_int8_activations`): each sample's layer input
//! is quantised on its own (so a sample's result does not depend on its batch), multiplied
//! uint8 × int8 → int32 exactly, and the scales are applied in the epilogue:
//!
//! - a row whose values are all ≥ 0 (every hidden layer's input, after ReLU) is quantised to
//!   u = round(x / s), s = max x / 255, zero point 0; any other row symmetrically to
//!   q = round(x / s) ∈ [−127, 127], s = max |x| / 127, stored as u = q + 128 (zero point 128);
//! - acc_o = Σ_i u_i · w_oi (int32, exact in any order), minus zp · Σ_i w_oi;
//! - y_o = ((acc_o − zp · Σw_o) · s + w_o,class) · scale_o + b_o, ReLU'd for hidden layers — the
//!   class column (an expert's first layer) added in f32 as the float path adds it.
//!
//! Integer sums are exact, so the AVX512-VNNI tile (`vnni.rs`: `vpdpbusd` on the bundle's
//! panels read in place, 64 products an instruction) and the portable loop give the same
//! integers, and the epilogue is one scalar function both use: the same bits on every CPU.

use super::{Layer, Panels, PANEL};
use format::Weights;

/// Samples quantised per block.
pub(crate) const ROWS: usize = 64;
/// Most samples a tile holds.
pub(super) const TILE_ROWS: usize = 8;
/// Most panels (8 channels each) a tile holds.
pub(super) const TILE_PANELS: usize = 3;

/// Floats of scratch the integer path needs for `n` samples of layers of at most `max_input`
/// stored inputs: each row's quantised inputs (bytes, rounded up to 8) and its scale and zero
/// point.
pub(crate) fn scratch_len(max_input: usize, n: usize) -> usize {
    let c8 = max_input.div_ceil(8) * 8;
    let rows = n.clamp(1, ROWS);
    rows * c8 / 4 + 2 * rows
}

/// One quantised row: its scale and zero point (0 or 128).
#[derive(Clone, Copy)]
struct RowQuant {
    scale: f32,
    zero: i32,
}

/// Round to nearest, ties to even, for |v| < 2^22 (the quantised values are at most 255).
#[inline(always)]
fn round_small(v: f32) -> f32 {
    const R: f32 = 12_582_912.0;
    (v + R) - R
}

/// Quantises `x` into `u` (its length rounded up to 8, the tail zero).
fn quantise(x: &[f32], u: &mut [u8]) -> RowQuant {
    let (lo, hi) = x
        .iter()
        .fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    u[x.len()..].fill(0);
    if lo >= 0.0 {
        if hi == 0.0 {
            u.fill(0);
            return RowQuant {
                scale: 0.0,
                zero: 0,
            };
        }
        let scale = hi / 255.0;
        let inv = 255.0 / hi;
        for (u, &v) in u.iter_mut().zip(x) {
            *u = round_small(v * inv).clamp(0.0, 255.0) as u8;
        }
        RowQuant { scale, zero: 0 }
    } else {
        let m = hi.max(-lo);
        let scale = m / 127.0;
        let inv = 127.0 / m;
        for (u, &v) in u.iter_mut().zip(x) {
            *u = (round_small(v * inv).clamp(-127.0, 127.0) as i32 + 128) as u8;
        }
        RowQuant { scale, zero: 128 }
    }
}

/// A tile's exact sums: [row][panel][channel], and each channel's Σ w over the inputs.
pub(super) struct Sums {
    pub rows: [[[i32; PANEL]; TILE_PANELS]; TILE_ROWS],
    pub weights: [[i32; PANEL]; TILE_PANELS],
}

/// The tile in plain Rust from the panels in place: `mr` rows of `u` (each `c8` bytes) × `np`
/// panels from `w` (each `panel_len` bytes, input-major × 8) over the first `cols` inputs.
#[allow(clippy::too_many_arguments)]
fn portable_tile(
    w: &[i8],
    panel_len: usize,
    np: usize,
    cols: usize,
    u: &[u8],
    c8: usize,
    mr: usize,
    sums: &mut Sums,
) {
    for p in 0..np {
        let panel = &w[p * panel_len..p * panel_len + cols * PANEL];
        sums.weights[p] = [0; PANEL];
        for row in panel.chunks_exact(PANEL) {
            for (t, &v) in sums.weights[p].iter_mut().zip(row) {
                *t += i32::from(v);
            }
        }
        for s in 0..mr {
            let x = &u[s * c8..s * c8 + cols];
            let acc = &mut sums.rows[s][p];
            *acc = [0; PANEL];
            for (row, &xi) in panel.chunks_exact(PANEL).zip(x) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += i32::from(xi) * i32::from(v);
                }
            }
        }
    }
}

/// The int8 layer over the `n` samples of `x` (`n × layer.cols`) into `y`, with `scratch` of at
/// least [`scratch_len`]`(inputs, n)` floats. `values` and `scales` are the bundle's.
#[allow(clippy::too_many_arguments)]
pub(super) fn linear(
    layer: &Layer<'_>,
    values: &[i8],
    scales: &[f32],
    count: usize,
    x: &[f32],
    n: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(vnni) = super::vnni::Vnni::detect() {
        // SAFETY: AVX-512F/BW/VBMI/VNNI present (the token).
        #[allow(unsafe_code)]
        unsafe {
            linear_avx512(vnni, layer, values, scales, count, x, n, extra, y, scratch)
        };
        return;
    }
    linear_body(None, layer, values, scales, count, x, n, extra, y, scratch);
}

/// The VNNI code's token where the architecture has one; an empty type elsewhere.
#[cfg(target_arch = "x86_64")]
type Token = super::vnni::Vnni;
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy)]
enum Token {}

/// [`linear`] compiled for AVX-512 (the epilogue's eight-lane arrays become vector operations;
/// the same operations, so the same bits).
///
/// # Safety
/// AVX-512F/BW/VBMI/VNNI.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vnni,avx2,fma")]
unsafe fn linear_avx512(
    vnni: Token,
    layer: &Layer<'_>,
    values: &[i8],
    scales: &[f32],
    count: usize,
    x: &[f32],
    n: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linear_body(
        Some(vnni),
        layer,
        values,
        scales,
        count,
        x,
        n,
        extra,
        y,
        scratch,
    );
}

/// The layer; with the VNNI token the rows are quantised and multiplied by `vnni.rs`'s vector
/// code, otherwise by the portable code here: the same bytes and integers either way, and one
/// epilogue. (An epilogue of explicit 8-lane intrinsics called
/// per row and panel was measured slower than this one, which the compiler vectorises inside
/// `linear_avx512`.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn linear_body(
    vnni: Option<Token>,
    layer: &Layer<'_>,
    values: &[i8],
    scales: &[f32],
    count: usize,
    x: &[f32],
    n: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let (panel_len, cols, outputs) = (layer.panel_len, layer.cols, layer.outputs);
    let c8 = cols.div_ceil(8) * 8;
    let rows_max = ROWS.min(n);
    let (upart, rest) = scratch.split_at_mut(rows_max * c8 / 4);
    let qpart = &mut rest[..2 * rows_max];
    let u: &mut [u8] = bytemuck::cast_slice_mut(upart);
    // Every tile writes the sums it uses (the weights' only when a row is signed, and then the
    // epilogue reads them), so one buffer serves them all.
    let mut sums = Sums {
        rows: [[[0; PANEL]; TILE_PANELS]; TILE_ROWS],
        weights: [[0; PANEL]; TILE_PANELS],
    };
    let mut b0 = 0;
    while b0 < n {
        let rows = ROWS.min(n - b0);
        let mut signed = false;
        for s in 0..rows {
            let xs = &x[(b0 + s) * cols..(b0 + s + 1) * cols];
            let us = &mut u[s * c8..(s + 1) * c8];
            let rq = match vnni {
                #[cfg(target_arch = "x86_64")]
                Some(t) => {
                    let (scale, zero) = super::vnni::quantise(t, xs, us);
                    RowQuant { scale, zero }
                }
                #[cfg(not(target_arch = "x86_64"))]
                Some(t) => match t {},
                None => quantise(xs, us),
            };
            qpart[2 * s] = rq.scale;
            qpart[2 * s + 1] = rq.zero as f32;
            signed |= rq.zero != 0;
        }
        let mut p0 = 0;
        while p0 < count {
            let np = TILE_PANELS.min(count - p0);
            let w = &values[p0 * panel_len..(p0 + np) * panel_len];
            let mut s0 = 0;
            while s0 < rows {
                let mr = TILE_ROWS.min(rows - s0);
                let us = &u[s0 * c8..(s0 + mr) * c8];
                match vnni {
                    #[cfg(target_arch = "x86_64")]
                    Some(t) => {
                        super::vnni::tile(t, w, panel_len, np, cols, us, c8, mr, signed, &mut sums)
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    Some(t) => match t {},
                    None => portable_tile(w, panel_len, np, cols, us, c8, mr, &mut sums),
                }
                let quant = &qpart[2 * s0..2 * (s0 + mr)];
                let first = b0 + s0;
                let ys = &mut y[first * outputs..(first + mr) * outputs];
                epilogue(
                    layer, values, scales, &sums, quant, p0, np, extra, first, ys,
                );
                s0 += mr;
            }
            p0 += np;
        }
        b0 += rows;
    }
}

/// y_o = ((acc_o − zp · Σw_o) · s + w_o,class) · scale_o + b_o, ReLU'd for hidden layers, for
/// the tile's rows (`quant`: each row's scale and zero point; sample `first` + k for the class
/// column) and the channels of the np panels from p0 on that exist. Eight channels at a time
/// through fixed arrays, so it vectorises; the same f32 operations, in the same order, whichever
/// tile made the sums.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn epilogue(
    layer: &Layer<'_>,
    values: &[i8],
    scales: &[f32],
    sums: &Sums,
    quant: &[f32],
    p0: usize,
    np: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    first: usize,
    ys: &mut [f32],
) {
    let (cols, outputs) = (layer.cols, layer.outputs);
    // Each panel's biases and scales, read once per tile (zeros past the last channel).
    let (mut bias, mut scale) = ([[0f32; PANEL]; TILE_PANELS], [[0f32; PANEL]; TILE_PANELS]);
    for p in 0..np {
        let o0 = (p0 + p) * PANEL;
        for l in 0..outputs.saturating_sub(o0).min(PANEL) {
            bias[p][l] = match layer.bias {
                Weights::F32(b) => b[o0 + l],
                Weights::F16(b) => b[o0 + l].to_f32(),
                Weights::I8 { .. } => 0.0,
            };
            scale[p][l] = scales[o0 + l];
        }
    }
    for (k, q) in quant.chunks_exact(2).enumerate() {
        let (s_x, zero) = (q[0], q[1] as i32);
        let class = extra.map(|f| cols + f(first + k));
        for p in 0..np {
            let o0 = (p0 + p) * PANEL;
            let valid = outputs.saturating_sub(o0).min(PANEL);
            let (acc, wsum) = (&sums.rows[k][p], &sums.weights[p]);
            let class_at = class.map(|c| (p0 + p) * layer.panel_len + c * PANEL);
            let mut v = [0f32; PANEL];
            for l in 0..PANEL {
                let exact = if zero == 0 {
                    acc[l]
                } else {
                    acc[l].wrapping_sub(zero.wrapping_mul(wsum[l]))
                };
                v[l] = exact as f32 * s_x;
            }
            if let Some(at) = class_at {
                let column = &values[at..at + PANEL];
                for l in 0..PANEL {
                    v[l] += f32::from(column[l]);
                }
            }
            for l in 0..PANEL {
                v[l] = v[l] * scale[p][l] + bias[p][l];
                if layer.relu && v[l] < 0.0 {
                    v[l] = 0.0;
                }
            }
            let out = &mut ys[k * outputs + o0..k * outputs + o0 + valid];
            if let Ok(out) = <&mut [f32; PANEL]>::try_from(&mut *out) {
                *out = v;
            } else {
                out.iter_mut().zip(v).for_each(|(o, v)| *o = v);
            }
        }
    }
}

/// The int8 values of `panels`, if they are int8 (the only weights the integer path reads).
pub(super) fn int8_values<'a>(panels: Panels<'a>) -> Option<&'a [i8]> {
    match panels {
        Panels::I8(v) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{linear_batch, PANEL};
    use super::*;
    use std::vec::Vec;

    const INPUTS: usize = 41;
    const CLASSES: usize = 3;
    const COLS: usize = INPUTS - CLASSES;

    /// An int8 layer of `outputs` channels over 38 inputs and 3 class columns, in panels, with
    /// per-channel scales; `n` rows of inputs with negative values (rows of the first layer) or,
    /// `relu_input`, none (rows of a hidden layer).
    fn layer(outputs: usize) -> (Vec<i8>, Vec<f32>, Vec<f32>) {
        let count = outputs.div_ceil(PANEL);
        let mut values = std::vec![0i8; count * INPUTS * PANEL];
        for o in 0..outputs {
            for i in 0..INPUTS {
                values[(o / PANEL * INPUTS + i) * PANEL + o % PANEL] =
                    ((o * 31 + i * 17) % 255) as i8;
            }
        }
        let scales = (0..count * PANEL)
            .map(|o| 0.002 + o as f32 * 1e-5)
            .collect();
        let bias = (0..outputs).map(|o| o as f32 * 0.05 - 0.5).collect();
        (values, scales, bias)
    }

    fn inputs(n: usize, relu_input: bool) -> Vec<f32> {
        (0..n * COLS)
            .map(|i| {
                let v = ((i * 7919) % 1000) as f32 / 250.0 - 2.0;
                if relu_input {
                    v.abs()
                } else {
                    v
                }
            })
            .collect()
    }

    /// The layer over `n` rows of `x`, row r conditioned on class (first + r) mod 3.
    fn run(outputs: usize, x: &[f32], n: usize, first: usize, integer: bool) -> Vec<f32> {
        let (values, scales, bias) = layer(outputs);
        let w = Weights::I8 {
            scales: &scales,
            values: &values,
        };
        let class_of = |s: usize| (first + s) % CLASSES;
        let mut y = std::vec![0f32; n * outputs];
        let mut scratch = std::vec![0f32; scratch_len(INPUTS, n).max(6 * PANEL * INPUTS)];
        linear_batch(
            w,
            Weights::F32(&bias),
            INPUTS,
            x,
            COLS,
            Some(&class_of),
            &mut y,
            true,
            &mut scratch,
            integer,
        );
        y
    }

    /// Integer activations: a batch gives each sample the bits it gets alone (blocks of 64,
    /// tiles of 8 and 16 rows, one to three pairs), and every output is within the quantisation
    /// error of the float path over the same int8 weights.
    #[test]
    fn integer_path_is_batch_independent_and_close_to_the_float_path() {
        for outputs in [70, 64, 10, 16, 24] {
            for relu_input in [false, true] {
                let n = 150;
                let x = inputs(n, relu_input);
                let all = run(outputs, &x, n, 0, true);
                let float = run(outputs, &x, n, 0, false);
                let span = float.iter().fold(0f32, |m, v| m.max(v.abs()));
                for s in [0, 1, 7, 8, 63, 64, 149] {
                    let one = run(outputs, &x[s * COLS..(s + 1) * COLS], 1, s, true);
                    assert_eq!(
                        one,
                        all[s * outputs..(s + 1) * outputs],
                        "{outputs}: sample {s}"
                    );
                }
                let worst = all
                    .iter()
                    .zip(&float)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(worst <= 0.01 * span, "{outputs}: {worst} of {span}");
            }
        }
    }

    /// The VNNI tile (where this CPU has it) and the portable loop give the same integers on
    /// every tile shape, with and without the weights' sums, over inputs that end mid-step.
    #[test]
    fn vnni_and_portable_tiles_agree() {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = super::super::vnni::Vnni::detect() {
            let (values, _, _) = layer(24);
            let c8 = COLS.div_ceil(8) * 8;
            let u: Vec<u8> = (0..TILE_ROWS * c8).map(|i| (i * 37 % 256) as u8).collect();
            let u: Vec<u8> = u
                .chunks(c8)
                .flat_map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(i, &v)| if i < COLS { v } else { 0 })
                })
                .collect();
            let fresh = || Sums {
                rows: [[[0; PANEL]; TILE_PANELS]; TILE_ROWS],
                weights: [[0; PANEL]; TILE_PANELS],
            };
            for np in 1..=TILE_PANELS {
                for mr in 1..=TILE_ROWS {
                    let (mut a, mut b) = (fresh(), fresh());
                    let pl = INPUTS * PANEL;
                    super::super::vnni::tile(t, &values, pl, np, COLS, &u, c8, mr, true, &mut a);
                    portable_tile(&values, pl, np, COLS, &u, c8, mr, &mut b);
                    assert_eq!(a.rows[..mr], b.rows[..mr], "{mr}x{np}");
                    assert_eq!(a.weights[..np], b.weights[..np], "{mr}x{np}");
                }
            }
        }
    }

    /// The AVX-512 quantiser (where this CPU has it) gives the scalar one's bytes, scale and
    /// zero point, on rows with and without negative values, of lengths around the vector width.
    #[test]
    fn vector_and_scalar_quantisers_agree() {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = super::super::vnni::Vnni::detect() {
            for len in [1, 5, 15, 16, 17, 38, 64, 100] {
                for relu_input in [false, true] {
                    let x = &inputs(3, relu_input)[..len];
                    let (mut a, mut b) = (std::vec![7u8; len + 8], std::vec![9u8; len + 8]);
                    let r = quantise(x, &mut a);
                    let (scale, zero) = super::super::vnni::quantise(t, x, &mut b);
                    assert_eq!(
                        (r.scale.to_bits(), r.zero),
                        (scale.to_bits(), zero),
                        "{len}"
                    );
                    assert_eq!(a, b, "{len}");
                }
            }
        }
    }

    /// The whole layer through the vector code (where this CPU has it) and through the portable
    /// code — quantiser, tile and epilogue — gives the same bits, on every width, with and without
    /// negative inputs and a class column.
    #[test]
    fn vector_and_portable_layers_agree() {
        #[cfg(target_arch = "x86_64")]
        if super::super::vnni::available() {
            for outputs in [70, 64, 10, 16, 24] {
                for relu_input in [false, true] {
                    let n = 70;
                    let x = inputs(n, relu_input);
                    let (values, scales, bias) = layer(outputs);
                    let count = outputs.div_ceil(PANEL);
                    let l = Layer {
                        panels: Panels::I8(&values),
                        panel_len: INPUTS * PANEL,
                        cols: COLS,
                        outputs,
                        scales: Some(&scales),
                        bias: Weights::F32(&bias),
                        relu: true,
                    };
                    let class_of = |s: usize| s % CLASSES;
                    let mut scratch = std::vec![0f32; scratch_len(INPUTS, n)];
                    let (mut a, mut b) =
                        (std::vec![0f32; n * outputs], std::vec![0f32; n * outputs]);
                    let args = (&l, &values[..], &scales[..], count, &x[..], n);
                    linear(
                        args.0,
                        args.1,
                        args.2,
                        args.3,
                        args.4,
                        args.5,
                        Some(&class_of),
                        &mut a,
                        &mut scratch,
                    );
                    linear_body(
                        None,
                        args.0,
                        args.1,
                        args.2,
                        args.3,
                        args.4,
                        args.5,
                        Some(&class_of),
                        &mut b,
                        &mut scratch,
                    );
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{outputs} {relu_input}");
                }
            }
        }
    }

    /// Rows are quantised as the module says: non-negative rows to 0..255 with zero point 0,
    /// others symmetrically around 128; an all-zero row to zeros.
    #[test]
    fn rows_are_quantised_by_their_sign() {
        let mut u = [0u8; 8];
        let r = quantise(&[0.0, 1.0, 2.0, 0.5, 0.25], &mut u);
        assert_eq!((r.zero, r.scale), (0, 2.0 / 255.0));
        assert_eq!(u, [0, 128, 255, 64, 32, 0, 0, 0]);
        let r = quantise(&[-1.0, 0.5, 1.0, 0.0, -0.25], &mut u);
        assert_eq!((r.zero, r.scale), (128, 1.0 / 127.0));
        assert_eq!(u, [1, 192, 255, 128, 96, 0, 0, 0]);
        let r = quantise(&[0.0; 5], &mut u);
        assert_eq!((r.zero, u), (0, [0; 8]));
    }
}
