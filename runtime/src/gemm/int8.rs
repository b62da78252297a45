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
//! integers, and the epilogue is one scalar function both use: the same bits on every CPU while
//! the activations are finite (a layer that overflowed to inf/NaN quantises differently: the
//! vector min/max pass a NaN on, the scalar ones skip it).

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
                    // Wrapping, as `vpdpbusd` does (no sum of a real layer comes near).
                    *a = a.wrapping_add(i32::from(xi) * i32::from(v));
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
            let class_at = class.map(|c| {
                assert!(
                    (c + 1) * PANEL <= layer.panel_len,
                    "class column {c} outside the panel"
                );
                (p0 + p) * layer.panel_len + c * PANEL
            });
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
mod tests;
