//! The tile with AVX2 + FMA: MR × NP ymm accumulators; f16 widened with vcvtph2ps (F16C),
//! int8 with vpmovsxbd + vcvtdq2ps.

use super::{Layer, PANEL};
use core::arch::x86_64::*;
use format::Weights;
use half::f16;

/// Whether this CPU runs the vector tile (`std` caches the CPUID check).
#[inline]
pub(super) fn available() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "f16c"
        ))
    }
}

/// Eight stored weights widened to f32.
pub(super) trait Load: Copy + super::Value {
    /// # Safety
    /// AVX2/FMA/F16C; `p` points at 8 readable values.
    unsafe fn load8(p: *const Self) -> __m256;
}

impl Load for f32 {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(p: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable values.
        unsafe { _mm256_loadu_ps(p) }
    }
}

impl Load for f16 {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(p: *const f16) -> __m256 {
        // SAFETY: the caller guarantees 8 readable values (16 bytes).
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }
}

impl Load for i8 {
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(p: *const i8) -> __m256 {
        // SAFETY: the caller guarantees 8 readable values (8 bytes).
        unsafe { _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast()))) }
    }
}

/// # Safety
/// AVX2/FMA/F16C; `src` and `dst` have the same length, a multiple of 8.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn widen<T: Load>(src: &[T], dst: &mut [f32]) {
    for (s, d) in src.chunks_exact(PANEL).zip(dst.chunks_exact_mut(PANEL)) {
        // SAFETY: 8 values each.
        unsafe { _mm256_storeu_ps(d.as_mut_ptr(), T::load8(s.as_ptr())) };
    }
}

/// # Safety
/// AVX2/FMA/F16C; `w` holds NP panels of `layer.panel_len` values, `layer.cols · 8 ≤
/// panel_len`, `x` holds ROWS × `layer.cols` values and `y` ROWS × `layer.outputs`, every class
/// row c satisfies (c + 1) · 8 ≤ panel_len, and an int8 layer's scales cover panels
/// p0..p0+NP (`dispatch` asserts all of it).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn tile<T: Load, const ROWS: usize, const NP: usize>(
    layer: &Layer<'_>,
    w: &[T],
    p0: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
) {
    let (panel_len, cols) = (layer.panel_len, layer.cols);
    let mut acc = [[_mm256_setzero_ps(); NP]; ROWS];
    let (wp, xp) = (w.as_ptr(), x.as_ptr());
    for i in 0..cols {
        let mut wv = [_mm256_setzero_ps(); NP];
        for (p, v) in wv.iter_mut().enumerate() {
            // SAFETY: panel p's input i lies inside w (caller's bound).
            *v = unsafe { T::load8(wp.add(p * panel_len + i * PANEL)) };
        }
        for (s, acc_s) in acc.iter_mut().enumerate() {
            // SAFETY: sample s's input i lies inside x (caller's bound).
            let xb = unsafe { _mm256_broadcast_ss(&*xp.add(s * cols + i)) };
            for (a, &wp) in acc_s.iter_mut().zip(wv.iter()) {
                *a = _mm256_fmadd_ps(wp, xb, *a);
            }
        }
    }
    if let Some(classes) = classes {
        for (acc_s, &c) in acc.iter_mut().zip(classes) {
            for (p, a) in acc_s.iter_mut().enumerate() {
                // SAFETY: class row c of panel p lies inside w (caller's bound).
                let wc = unsafe { T::load8(wp.add(p * panel_len + c * PANEL)) };
                *a = _mm256_add_ps(*a, wc);
            }
        }
    }
    // The epilogue in registers: scale · sum + bias, ReLU, then a full store or, for the last
    // panel's real channels, a partial one.
    let out = layer.outputs;
    for p in 0..NP {
        let o0 = (p0 + p) * PANEL;
        let valid = out.saturating_sub(o0).min(PANEL);
        let mut lanes = [0f32; PANEL];
        for (l, v) in lanes.iter_mut().enumerate().take(valid) {
            *v = match layer.bias {
                Weights::F32(b) => b[o0 + l],
                Weights::F16(b) => b[o0 + l].to_f32(),
                Weights::I8 { .. } => 0.0,
            };
        }
        // SAFETY: 8 floats.
        let bias = unsafe { _mm256_loadu_ps(lanes.as_ptr()) };
        let scale = layer.scales.map(|sc| {
            let sc = &sc[o0..o0 + PANEL];
            // SAFETY: 8 floats (whole panels, asserted by the caller).
            unsafe { _mm256_loadu_ps(sc.as_ptr()) }
        });
        for (s, acc_s) in acc.iter().enumerate() {
            let mut v = acc_s[p];
            if let Some(scale) = scale {
                v = _mm256_mul_ps(v, scale);
            }
            v = _mm256_add_ps(v, bias);
            if layer.relu {
                // max(0, v) returns v when v is NaN or −0.0, as `if v < 0 { 0 }` does.
                v = _mm256_max_ps(_mm256_setzero_ps(), v);
            }
            let row = &mut y[s * out + o0..s * out + o0 + valid];
            if valid == PANEL {
                // SAFETY: 8 floats.
                unsafe { _mm256_storeu_ps(row.as_mut_ptr(), v) };
            } else {
                // SAFETY: 8 floats.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
                row.copy_from_slice(&lanes[..valid]);
            }
        }
    }
}
