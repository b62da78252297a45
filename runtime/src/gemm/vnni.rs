//! The integer path's tile with AVX512-VNNI, reading the bundle's int8 panels in place: one
//! 64-byte load holds 8 inputs × 8 channels of a panel; `vpermb` (AVX512-VBMI) regroups it so
//! each int32 lane holds 4 inputs of one channel (lanes 2c and 2c + 1: channel c's first and
//! second four inputs); a sample's 8 quantised inputs broadcast as one 64-bit word line up
//! with them; `vpdpbusd` multiplies and adds the 4 byte pairs of every lane, 64 products an
//! instruction. The two lanes of a channel are added at the end. Integer sums are exact, so the
//! result is the portable loop's (`int8.rs`), bit for bit.

use super::int8::{Sums, TILE_PANELS, TILE_ROWS};
use super::PANEL;
use core::arch::x86_64::*;

/// Whether this CPU runs the VNNI tile (`std` caches the CPUID check; without `std`, what the
/// build targets).
#[inline]
pub(super) fn available() -> bool {
    #[cfg(feature = "std")]
    {
        super::simd::available()
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(feature = "std"))]
    {
        super::simd::available()
            && cfg!(all(
                target_feature = "avx512f",
                target_feature = "avx512bw",
                target_feature = "avx512vbmi",
                target_feature = "avx512vnni"
            ))
    }
}

/// Proof that this CPU runs the VNNI code: made only by [`Vnni::detect`], so the calls that take
/// it need no check of their own (a CPUID test per tile cost measurably on small layers).
#[derive(Clone, Copy)]
pub(super) struct Vnni(());

impl Vnni {
    /// The token where [`available`].
    pub(super) fn detect() -> Option<Self> {
        available().then_some(Vnni(()))
    }
}

/// `mr` rows of `u` (each `c8` bytes, zero past `cols`) × `np` panels of `w` (each `panel_len`
/// bytes, input-major × 8) over the first `cols` inputs into `sums.rows`, and with `signed` the
/// panels' Σ w into `sums.weights`.
#[allow(clippy::too_many_arguments)]
pub(super) fn tile(
    _: Vnni,
    w: &[i8],
    panel_len: usize,
    np: usize,
    cols: usize,
    u: &[u8],
    c8: usize,
    mr: usize,
    signed: bool,
    sums: &mut Sums,
) {
    assert!((1..=TILE_PANELS).contains(&np) && (1..=TILE_ROWS).contains(&mr));
    assert!(cols * PANEL <= panel_len && w.len() >= np * panel_len);
    assert!(c8 >= cols.div_ceil(8) * 8 && u.len() >= mr * c8);
    macro_rules! shapes {
        ($sums:literal: $(($m:literal, $p:literal)),*) => {
            match (mr, np) {
                $(($m, $p) => kernel::<$m, $p, $sums>,)*
                _ => unreachable!("asserted above"),
            }
        };
    }
    macro_rules! all_shapes {
        ($sums:literal) => {
            shapes!($sums: (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3),
                (4, 1), (4, 2), (4, 3), (5, 1), (5, 2), (5, 3), (6, 1), (6, 2), (6, 3), (7, 1),
                (7, 2), (7, 3), (8, 1), (8, 2), (8, 3))
        };
    }
    let k = if signed {
        all_shapes!(true)
    } else {
        all_shapes!(false)
    };
    // SAFETY: AVX-512F/BW/VBMI/VNNI present (the token); `w` holds np panels whose first cols · 8 bytes are
    // inputs (the last partial step is read with a byte mask), `u` mr rows of c8 ≥ ⌈cols/8⌉ · 8
    // bytes (asserted above).
    unsafe { k(w.as_ptr(), panel_len, cols, u.as_ptr(), c8, sums) }
}

/// `vpermb`'s byte order: output byte t = 4k + j of lane k = 2c + h takes input 4h + j of
/// channel c, byte (4h + j) · 8 + c of a panel's 8 inputs × 8 channels.
const ORDER: [u8; 64] = {
    let mut order = [0u8; 64];
    let mut t = 0;
    while t < 64 {
        let (k, j) = (t / 4, t % 4);
        let (c, h) = (k / 2, k % 2);
        order[t] = ((4 * h + j) * PANEL + c) as u8;
        t += 1;
    }
    order
};

/// # Safety
/// AVX-512F/BW/VBMI/VNNI; `w` points at NP panels of `panel_len` ≥ 8 · cols bytes, `u` at R
/// rows of `c8` ≥ ⌈cols/8⌉ · 8 bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vnni")]
unsafe fn kernel<const R: usize, const NP: usize, const SUMS: bool>(
    w: *const i8,
    panel_len: usize,
    cols: usize,
    u: *const u8,
    c8: usize,
    sums: &mut Sums,
) {
    // SAFETY: 64 bytes.
    let order = unsafe { _mm512_loadu_si512(ORDER.as_ptr().cast()) };
    let ones = _mm512_set1_epi8(1);
    let mut acc = [[_mm512_setzero_si512(); NP]; R];
    let mut wsum = [_mm512_setzero_si512(); NP];
    let (steps, tail) = (cols / 8, cols % 8);
    for g in 0..steps + usize::from(tail > 0) {
        let mask: __mmask64 = if g < steps {
            !0
        } else {
            (1u64 << (tail * 8)) - 1
        };
        let mut wv = [_mm512_setzero_si512(); NP];
        for (p, v) in wv.iter_mut().enumerate() {
            // SAFETY: the mask reads only bytes of inputs < cols of panel p, inside `w`.
            let raw = unsafe { _mm512_maskz_loadu_epi8(mask, w.add(p * panel_len + g * 64)) };
            *v = _mm512_permutexvar_epi8(order, raw);
            if SUMS {
                wsum[p] = _mm512_dpbusd_epi32(wsum[p], ones, *v);
            }
        }
        for (s, acc_s) in acc.iter_mut().enumerate() {
            // SAFETY: bytes 8g..8g + 8 of row s lie inside `u` (c8 ≥ 8 · (g + 1)).
            let eight = unsafe { u.add(s * c8 + g * 8).cast::<i64>().read_unaligned() };
            let xb = _mm512_set1_epi64(eight);
            for (a, &v) in acc_s.iter_mut().zip(wv.iter()) {
                *a = _mm512_dpbusd_epi32(*a, xb, v);
            }
        }
    }
    // Channel c's two lanes added (each 64-bit word's halves), then the low half of every word
    // kept: 8 int32s, one per channel.
    let fold = |v: __m512i, out: &mut [i32; PANEL]| {
        let pairs = _mm512_add_epi32(v, _mm512_srli_epi64::<32>(v));
        // SAFETY: 8 int32s.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), _mm512_cvtepi64_epi32(pairs)) };
    };
    for (s, acc_s) in acc.iter().enumerate() {
        for (p, &v) in acc_s.iter().enumerate() {
            fold(v, &mut sums.rows[s][p]);
        }
    }
    if SUMS {
        for (p, &v) in wsum.iter().enumerate() {
            fold(v, &mut sums.weights[p]);
        }
    }
}

/// `int8.rs`'s `quantise` with AVX-512F/BW, the same bits: min and max are exact in any order,
/// and each value goes through the same multiply, round (the 1.5 · 2^23 trick), clamp and
/// conversion. Returns (scale, zero point); `u` is filled to its length (zeros past `x`).
pub(super) fn quantise(_: Vnni, x: &[f32], u: &mut [u8]) -> (f32, i32) {
    assert!(u.len() >= x.len());
    // SAFETY: AVX-512F/BW present (the token); `u` holds at least x.len() bytes (asserted).
    unsafe { quantise_avx512(x, u) }
}

/// # Safety
/// AVX-512F/BW; `u.len() ≥ x.len()`.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantise_avx512(x: &[f32], u: &mut [u8]) -> (f32, i32) {
    let n = x.len();
    let tail_mask = |i: usize| -> __mmask16 {
        let left = (n - i).min(16);
        if left == 16 {
            !0
        } else {
            ((1u32 << left) - 1) as __mmask16
        }
    };
    let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    while i < n {
        // SAFETY: the mask reads only values of `x`.
        let v = unsafe { _mm512_maskz_loadu_ps(tail_mask(i), x.as_ptr().add(i)) };
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
        i += 16;
    }
    let (lo, hi) = (_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
    // The values' bytes are all written below; only the padding needs zeros.
    u[n..].fill(0);
    let (scale, inv, zero, floor, ceil) = if lo >= 0.0 {
        if hi == 0.0 {
            u.fill(0);
            return (0.0, 0);
        }
        (hi / 255.0, 255.0 / hi, 0, 0.0, 255.0)
    } else {
        let m = hi.max(-lo);
        (m / 127.0, 127.0 / m, 128, -127.0, 127.0)
    };
    let (inv, r) = (_mm512_set1_ps(inv), _mm512_set1_ps(12_582_912.0));
    let (floor, ceil) = (_mm512_set1_ps(floor), _mm512_set1_ps(ceil));
    let zero_v = _mm512_set1_epi32(zero);
    let mut i = 0;
    while i < n {
        let mask = tail_mask(i);
        // SAFETY: the mask reads only values of `x`.
        let v = unsafe { _mm512_maskz_loadu_ps(mask, x.as_ptr().add(i)) };
        let rounded = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(v, inv), r), r);
        let clamped = _mm512_min_ps(_mm512_max_ps(rounded, floor), ceil);
        let q = _mm512_add_epi32(_mm512_cvttps_epi32(clamped), zero_v);
        // SAFETY: the mask writes only bytes i..min(i + 16, n) of `u`.
        unsafe { _mm512_mask_cvtusepi32_storeu_epi8(u.as_mut_ptr().add(i).cast(), mask, q) };
        i += 16;
    }
    (scale, zero)
}
