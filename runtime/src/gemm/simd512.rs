//! The batch tile with AVX-512F over panel pairs — 16 output channels per input, one zmm — read
//! from a copy packed once per block (and f16/int8 widened) with one 64-byte load, or for small
//! f32 blocks joined in registers from the bundle's two panels ([`tile_in_place`]);  a tile of up to [`ROWS`] samples × [`PAIRS`] pairs keeps
//! ROWS · PAIRS zmm running sums (24 of the 32 registers, plus the pair loads and one
//! broadcast); a lone pair takes [`ROWS_ONE_PAIR`] samples.
//!
//! Each lane does exactly what a lane of the AVX2 tile does — the same fused multiply-adds over
//! the inputs in order, the class row added, then scale · sum + bias and ReLU — and a fused
//! multiply-add rounds once whatever the vector width, so a sample's outputs are the same bits
//! here as in the AVX2 tile that predicts it alone (`a_batch_gives_each_sample_the_bits_it_gets_alone`).

use super::{Layer, PANEL};
use core::arch::x86_64::*;
use format::Weights;

/// Most samples per packed tile.
pub(crate) const ROWS: usize = 8;
/// Most samples per packed tile of one pair.
pub(crate) const ROWS_ONE_PAIR: usize = 16;
/// Most panel pairs per packed tile (3 pairs = 48 output channels).
pub(crate) const PAIRS: usize = 3;
/// Output channels per pair.
const LANES: usize = 2 * PANEL;

/// Whether this CPU runs the packed tile: AVX-512F besides the AVX2 tile's features (`std`
/// caches the CPUID check; without `std`, what the build targets).
#[inline]
pub(super) fn available() -> bool {
    #[cfg(feature = "std")]
    {
        super::simd::available() && std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(feature = "std"))]
    {
        super::simd::available() && cfg!(target_feature = "avx512f")
    }
}

/// Packs input rows `rows` of the `np` panels of `src` (each `panel_len` stored values,
/// input-major × 8) into `dst`, laid out as ⌈np / 2⌉ pairs of `2 · panel_len` floats: for input
/// i, panel 2q's 8 values then panel 2q + 1's (zeros past the last panel here; the fused first
/// tile of `packed.rs` stores a copy of panel 2q there instead — lanes never stored). Widening
/// is exact.
///
/// # Safety
/// AVX2/FMA/F16C; `src` holds `np · panel_len` values, `dst` at least `np.div_ceil(2) · 2 ·
/// panel_len`, `panel_len` is a multiple of 8 and `rows.end ≤ panel_len / 8`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn pack<T: super::simd::Load>(
    src: &[T],
    np: usize,
    panel_len: usize,
    dst: &mut [f32],
    rows: core::ops::Range<usize>,
) {
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    for p in 0..np {
        let (q, half) = (p / 2, p % 2);
        for i in rows.clone() {
            // SAFETY: panel p's row i is inside `src`; pair q's row i half `half` inside `dst`.
            unsafe {
                let v = T::load8(sp.add(p * panel_len + i * PANEL));
                _mm256_storeu_ps(dp.add(q * 2 * panel_len + i * LANES + half * PANEL), v);
            }
        }
    }
    if np % 2 == 1 {
        let q = np / 2;
        for i in rows {
            // SAFETY: the odd pair's upper half, inside `dst`.
            unsafe {
                _mm256_storeu_ps(
                    dp.add(q * 2 * panel_len + i * LANES + PANEL),
                    _mm256_setzero_ps(),
                )
            };
        }
    }
}

/// R samples × NQ pairs of packed panels from channel panel `p0` on. (Splitting the inputs into
/// chunks that keep a group's panels in L1, resuming the sums from `y`, was measured 4–9 %
/// slower on the 2 × 512 model at batch 64 and 256, Zen 5: the panels stream from L2 fast
/// enough.)
///
/// # Safety
/// AVX-512F (`available`); `packed` holds NQ pairs of `2 · layer.panel_len` floats laid out by
/// [`pack`], `layer.cols · 8 ≤ panel_len`, `x` holds R × `layer.cols` values and `y` R ×
/// `layer.outputs`, every class row c satisfies (c + 1) · 8 ≤ panel_len, and an int8 layer's
/// scales cover the channels these pairs store (`linear_batch` asserts all of it).
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
pub(super) unsafe fn tile<const R: usize, const NQ: usize>(
    layer: &Layer<'_>,
    packed: &[f32],
    p0: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
) {
    let (stride, cols) = (2 * layer.panel_len, layer.cols);
    let mut acc = [[_mm512_setzero_ps(); NQ]; R];
    let (wp, xp) = (packed.as_ptr(), x.as_ptr());
    for i in 0..cols {
        let mut wv = [_mm512_setzero_ps(); NQ];
        for (q, v) in wv.iter_mut().enumerate() {
            // SAFETY: pair q's input i lies inside `packed` (caller's bound).
            *v = unsafe { _mm512_loadu_ps(wp.add(q * stride + i * LANES)) };
        }
        for (s, acc_s) in acc.iter_mut().enumerate() {
            // SAFETY: sample s's input i lies inside x (caller's bound).
            let xb = _mm512_set1_ps(unsafe { *xp.add(s * cols + i) });
            for (a, &w) in acc_s.iter_mut().zip(wv.iter()) {
                *a = _mm512_fmadd_ps(w, xb, *a);
            }
        }
    }
    if let Some(classes) = classes {
        for (acc_s, &c) in acc.iter_mut().zip(classes) {
            for (q, a) in acc_s.iter_mut().enumerate() {
                // SAFETY: class row c of pair q lies inside `packed` (caller's bound).
                let wc = unsafe { _mm512_loadu_ps(wp.add(q * stride + c * LANES)) };
                *a = _mm512_add_ps(*a, wc);
            }
        }
    }
    // SAFETY: AVX-512F present (caller's guarantee); `y` holds R rows (caller's bound).
    unsafe { epilogue(layer, &acc, p0, y) };
}

/// [`tile`] reading f32 panels in place: pair q is panels 2q and 2q + 1 of `w` (the last pair
/// of an odd `np` reads panel 2q twice; those upper lanes are channels that do not exist and are
/// never stored), each zmm made of two 8-float loads. For blocks of a tile or two, where packing
/// would copy every weight for a few samples; with STORE, the tile also writes the pairs of
/// inputs 0..cols it joins into `packed` ([`pack`]'s layout), so a block's first tile packs the
/// group for the others without a pass of its own.
///
/// # Safety
/// AVX-512F (`available`); `w` holds `np` panels of `layer.panel_len` values with
/// NQ = ⌈np / 2⌉; with STORE, `packed` holds NQ pairs of `2 · layer.panel_len` floats; and the
/// other bounds of [`tile`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
unsafe fn in_place<const R: usize, const NQ: usize, const STORE: bool>(
    layer: &Layer<'_>,
    w: &[f32],
    np: usize,
    p0: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
    packed: &mut [f32],
) {
    let pp = packed.as_mut_ptr();
    let stride = 2 * layer.panel_len;
    let (panel_len, cols) = (layer.panel_len, layer.cols);
    let mut acc = [[_mm512_setzero_ps(); NQ]; R];
    let (wp, xp) = (w.as_ptr(), x.as_ptr());
    // Offsets of each pair's two panels.
    let mut lo = [0usize; NQ];
    let mut hi = [0usize; NQ];
    for q in 0..NQ {
        lo[q] = 2 * q * panel_len;
        hi[q] = if 2 * q + 1 < np {
            lo[q] + panel_len
        } else {
            lo[q]
        };
    }
    for i in 0..cols {
        let mut wv = [_mm512_setzero_ps(); NQ];
        for q in 0..NQ {
            // SAFETY: input i of panels lo[q] and hi[q] lies inside w (caller's bound).
            wv[q] = unsafe {
                let l = _mm256_loadu_ps(wp.add(lo[q] + i * PANEL));
                let h = _mm256_loadu_ps(wp.add(hi[q] + i * PANEL));
                join(l, h)
            };
            if STORE {
                // SAFETY: pair q's input i lies inside `packed` (caller's bound).
                unsafe { _mm512_storeu_ps(pp.add(q * stride + i * LANES), wv[q]) };
            }
        }
        for (s, acc_s) in acc.iter_mut().enumerate() {
            // SAFETY: sample s's input i lies inside x (caller's bound).
            let xb = _mm512_set1_ps(unsafe { *xp.add(s * cols + i) });
            for (a, &w) in acc_s.iter_mut().zip(wv.iter()) {
                *a = _mm512_fmadd_ps(w, xb, *a);
            }
        }
    }
    if let Some(classes) = classes {
        for (acc_s, &c) in acc.iter_mut().zip(classes) {
            for q in 0..NQ {
                // SAFETY: class row c of both panels lies inside w (caller's bound).
                let wc = unsafe {
                    let l = _mm256_loadu_ps(wp.add(lo[q] + c * PANEL));
                    let h = _mm256_loadu_ps(wp.add(hi[q] + c * PANEL));
                    join(l, h)
                };
                acc_s[q] = _mm512_add_ps(acc_s[q], wc);
            }
        }
    }
    // SAFETY: AVX-512F present (caller's guarantee); `y` holds R rows (caller's bound).
    unsafe { epilogue(layer, &acc, p0, y) };
}

/// [`in_place`] without storing.
///
/// # Safety
/// As [`in_place`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
pub(super) unsafe fn tile_in_place<const R: usize, const NQ: usize>(
    layer: &Layer<'_>,
    w: &[f32],
    np: usize,
    p0: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
    packed: &mut [f32],
) {
    // SAFETY: the caller's guarantees are `in_place`'s.
    unsafe { in_place::<R, NQ, false>(layer, w, np, p0, x, classes, y, packed) }
}

/// [`in_place`] storing the pairs it joins: a block's first tile.
///
/// # Safety
/// As [`in_place`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
pub(super) unsafe fn tile_packing<const R: usize, const NQ: usize>(
    layer: &Layer<'_>,
    w: &[f32],
    np: usize,
    p0: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
    packed: &mut [f32],
) {
    // SAFETY: the caller's guarantees are `in_place`'s.
    unsafe { in_place::<R, NQ, true>(layer, w, np, p0, x, classes, y, packed) }
}

/// Two 8-float halves as one zmm (AVX-512F's 256-bit insert: `_mm512_insertf32x8` would need
/// AVX-512DQ, and without that feature enabled it compiles to a call).
#[inline]
#[target_feature(enable = "avx512f")]
fn join(lo: __m256, hi: __m256) -> __m512 {
    _mm512_castpd_ps(_mm512_insertf64x4::<1>(
        _mm512_castps_pd(_mm512_castps256_ps512(lo)),
        _mm256_castps_pd(hi),
    ))
}

/// The epilogue of the AVX2 tile, 16 lanes at a time: scale · sum + bias, ReLU, and a store of
/// the channels that exist.
///
/// # Safety
/// AVX-512F; `y` holds R rows of `layer.outputs`; an int8 layer's scales cover the channels
/// stored.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
unsafe fn epilogue<const R: usize, const NQ: usize>(
    layer: &Layer<'_>,
    acc: &[[__m512; NQ]; R],
    p0: usize,
    y: &mut [f32],
) {
    let out = layer.outputs;
    for q in 0..NQ {
        let o0 = p0 * PANEL + q * LANES;
        let valid = out.saturating_sub(o0).min(LANES);
        let (mut bias, mut scale) = ([0f32; LANES], [1f32; LANES]);
        for l in 0..valid {
            bias[l] = match layer.bias {
                Weights::F32(b) => b[o0 + l],
                Weights::F16(b) => b[o0 + l].to_f32(),
                Weights::I8 { .. } => 0.0,
            };
            if let Some(sc) = layer.scales {
                scale[l] = sc[o0 + l];
            }
        }
        // SAFETY: 16 floats each.
        let (bias, scale) = unsafe {
            (
                _mm512_loadu_ps(bias.as_ptr()),
                _mm512_loadu_ps(scale.as_ptr()),
            )
        };
        let mask: __mmask16 = if valid == LANES {
            !0
        } else {
            (1u16 << valid) - 1
        };
        for (s, acc_s) in acc.iter().enumerate() {
            let mut v = acc_s[q];
            if layer.scales.is_some() {
                v = _mm512_mul_ps(v, scale);
            }
            v = _mm512_add_ps(v, bias);
            if layer.relu {
                // max(0, v) returns v when v is NaN or −0.0, as the other tiles do.
                v = _mm512_max_ps(_mm512_setzero_ps(), v);
            }
            let row = &mut y[s * out + o0..s * out + o0 + valid];
            // SAFETY: the mask writes only the `valid` floats of `row`.
            unsafe { _mm512_mask_storeu_ps(row.as_mut_ptr(), mask, v) };
        }
    }
}
