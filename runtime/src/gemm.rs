//! Dense layers over a batch, Y = X Wᵀ + b (+ ReLU), register-blocked: a tile of up to 4 weight
//! rows × 3 samples keeps 12 running sums while the shared input dimension streams past, so each
//! weight value loaded serves three samples and each input value four outputs (the batch-1 case
//! is the 4 × 1 tile, a matrix-vector product). Weights are read in place in the bundle's dtype
//! and widened in registers (f16 → f32, int8 → f32 with the row's scale applied to the sum), so
//! no dtype needs a converted copy of the model.
//!
//! Two implementations of the same tile, monomorphised per weight dtype: AVX2 + FMA + F16C
//! (x86-64, detected at run time with `std`, or enabled at compile time without it: 12 ymm
//! accumulators, 3 input vectors and one weight vector fill the 16 registers) and a portable one
//! for every other CPU. Every dot product accumulates in the same order whatever the tile shape,
//! so a sample's outputs are bit-identical whether it is predicted alone or in a batch of any
//! size (on the same implementation).

use format::Weights;
use half::f16;

/// Tile height (weight rows) and width (samples).
const R: usize = 4;
const S: usize = 3;
/// Lanes of one accumulator: an AVX2 register of f32.
const L: usize = 8;

/// A row-major weight matrix in its stored dtype, rows `row_len` apart.
#[derive(Clone, Copy)]
enum Matrix<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    I8(&'a [i8]),
}

/// A stored weight value.
trait Value: Copy {
    fn to_f32(self) -> f32;
}

impl Value for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

impl Value for f16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

impl Value for i8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

/// Weight rows the panel holds (one tile's height).
pub(crate) const PANEL_ROWS: usize = R;
/// Samples per block: the block's inputs stay in cache while every weight row passes over them.
const BLOCK: usize = 48;

/// Y[s, o] = Σ_i W[o, i] · X[s, i] + b[o] (+ W[o, cols + extra(s)]) for s < n, o < outputs.
/// `x` is `n × cols` and `y` is `n × outputs`, both row-major and contiguous; W is
/// `outputs × row_len` (row_len ≥ cols: an expert's first layer also holds the K one-hot class
/// columns, added per sample by `extra` instead of a one-hot product). For f16 and int8 weights
/// and more samples than one tile, each block of rows is widened once per block of samples into
/// `panel` (`PANEL_ROWS × cols` floats) instead of in every tile; the widening is exact, so the
/// sums are the same bits either way.
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_batch(
    w: Weights<'_>,
    b: Weights<'_>,
    row_len: usize,
    x: &[f32],
    cols: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    y: &mut [f32],
    relu: bool,
    panel: &mut [f32],
) {
    let n = x.len() / cols.max(1);
    let outputs = y.len() / n.max(1);
    let (matrix, scales) = match w {
        Weights::F32(w) => (Matrix::F32(w), None),
        Weights::F16(w) => (Matrix::F16(w), None),
        Weights::I8 { scales, values } => (Matrix::I8(values), Some(scales)),
    };
    let widen = !matches!(matrix, Matrix::F32(_)) && n > S && panel.len() >= R * cols;
    let mut b0 = 0;
    while b0 < n {
        let block = BLOCK.min(n - b0);
        let mut o0 = 0;
        while o0 < outputs {
            let rows = R.min(outputs - o0);
            if widen {
                for r in 0..rows {
                    let start = (o0 + r) * row_len;
                    let dst = &mut panel[r * cols..(r + 1) * cols];
                    match matrix {
                        Matrix::F16(w) => {
                            use half::slice::HalfFloatSliceExt;
                            w[start..start + cols].convert_to_f32_slice(dst);
                        }
                        Matrix::I8(w) => dst
                            .iter_mut()
                            .zip(&w[start..start + cols])
                            .for_each(|(d, q)| *d = f32::from(*q)),
                        Matrix::F32(_) => unreachable!("f32 is read in place"),
                    }
                }
            }
            let mut s0 = b0;
            while s0 < b0 + block {
                let samples = S.min(b0 + block - s0);
                let xs = &x[s0 * cols..];
                let sums = if widen {
                    tile(
                        Matrix::F32(&panel[..rows * cols]),
                        cols,
                        0,
                        rows,
                        xs,
                        cols,
                        samples,
                    )
                } else {
                    tile(matrix, row_len, o0, rows, xs, cols, samples)
                };
                for (r, row_sums) in sums.iter().enumerate().take(rows) {
                    let o = o0 + r;
                    let scale = scales.map_or(1.0, |s| s[o]);
                    let bias = match b {
                        Weights::F32(b) => b[o],
                        Weights::F16(b) => b[o].to_f32(),
                        // Biases are never int8 (format 1.2).
                        Weights::I8 { .. } => 0.0,
                    };
                    for (k, &sum) in row_sums.iter().enumerate().take(samples) {
                        let s = s0 + k;
                        let class =
                            extra.map_or(0.0, |f| element(matrix, o * row_len + cols + f(s)));
                        let mut v = scale * (sum + class) + bias;
                        if relu && v < 0.0 {
                            v = 0.0;
                        }
                        y[s * outputs + o] = v;
                    }
                }
                s0 += samples;
            }
            o0 += rows;
        }
        b0 += block;
    }
}

fn element(m: Matrix<'_>, at: usize) -> f32 {
    match m {
        Matrix::F32(w) => w[at],
        Matrix::F16(w) => w[at].to_f32(),
        Matrix::I8(w) => f32::from(w[at]),
    }
}

/// The sums of one tile: rows o0..o0+rows of W against samples 0..samples of `x`.
fn tile(
    m: Matrix<'_>,
    row_len: usize,
    o0: usize,
    rows: usize,
    x: &[f32],
    cols: usize,
    samples: usize,
) -> [[f32; S]; R] {
    assert!((1..=R).contains(&rows) && (1..=S).contains(&samples));
    assert!(samples * cols <= x.len());
    match m {
        Matrix::F32(w) => tile_of(w, row_len, o0, rows, x, cols, samples),
        Matrix::F16(w) => tile_of(w, row_len, o0, rows, x, cols, samples),
        Matrix::I8(w) => tile_of(w, row_len, o0, rows, x, cols, samples),
    }
}

#[allow(clippy::too_many_arguments)]
fn tile_of<T: Value + simd::Load>(
    w: &[T],
    row_len: usize,
    o0: usize,
    rows: usize,
    x: &[f32],
    cols: usize,
    samples: usize,
) -> [[f32; S]; R] {
    assert!((o0 + rows - 1) * row_len + cols <= w.len());
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // The tile shape as constants, so the accumulators live in registers.
        macro_rules! shapes {
            ($(($r:literal, $s:literal)),*) => {
                match (rows, samples) {
                    $(($r, $s) => simd::tile::<T, $r, $s>,)*
                    _ => unreachable!("asserted above"),
                }
            };
        }
        let kernel = shapes!(
            (1, 1),
            (1, 2),
            (1, 3),
            (2, 1),
            (2, 2),
            (2, 3),
            (3, 1),
            (3, 2),
            (3, 3),
            (4, 1),
            (4, 2),
            (4, 3)
        );
        // SAFETY: the CPU has AVX2, FMA and F16C (`available`), and the asserts above bound every
        // weight row and sample the kernel reads.
        #[allow(unsafe_code)]
        return unsafe { kernel(w, row_len, o0, x.as_ptr(), cols) };
    }
    portable_tile(w, row_len, o0, rows, x, cols, samples)
}

/// The tile in plain Rust: 8 lanes per (row, sample) sum, reduced at the end, then the column
/// tail.
#[allow(clippy::too_many_arguments)]
fn portable_tile<T: Value>(
    w: &[T],
    row_len: usize,
    o0: usize,
    rows: usize,
    x: &[f32],
    cols: usize,
    samples: usize,
) -> [[f32; S]; R] {
    let mut acc = [[[0f32; L]; S]; R];
    let full = cols / L * L;
    let mut i = 0;
    while i < full {
        for (r, acc_r) in acc.iter_mut().enumerate().take(rows) {
            let start = (o0 + r) * row_len + i;
            let mut wr = [0f32; L];
            for (v, q) in wr.iter_mut().zip(&w[start..start + L]) {
                *v = q.to_f32();
            }
            for (k, a) in acc_r.iter_mut().enumerate().take(samples) {
                let xs = &x[k * cols + i..k * cols + i + L];
                for l in 0..L {
                    a[l] += wr[l] * xs[l];
                }
            }
        }
        i += L;
    }
    let mut out = [[0f32; S]; R];
    for r in 0..rows {
        for k in 0..samples {
            let mut sum: f32 = acc[r][k].iter().sum();
            for c in full..cols {
                sum += w[(o0 + r) * row_len + c].to_f32() * x[k * cols + c];
            }
            out[r][k] = sum;
        }
    }
    out
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    /// No vector tile on this architecture: the portable one runs.
    pub(super) trait Load {}
    impl<T> Load for T {}
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod simd {
    //! The tile with AVX2 + FMA: 12 ymm accumulators; f16 widened with vcvtph2ps (F16C), int8
    //! with vpmovsxbd + vcvtdq2ps.
    use super::{L, R, S};
    use core::arch::x86_64::*;
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

    /// Horizontal sum of 8 lanes in a fixed order (the same for every tile shape).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum(v: __m256) -> f32 {
        let q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let d = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(d, _mm_shuffle_ps(d, d, 1)))
    }

    /// # Safety
    /// AVX2/FMA/F16C; rows o0..o0+rows hold `cols` values at `row_len` strides inside `w`, and
    /// `x` holds `samples × cols` values.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn tile<T: Load, const ROWS: usize, const SAMPLES: usize>(
        w: &[T],
        row_len: usize,
        o0: usize,
        x: *const f32,
        cols: usize,
    ) -> [[f32; S]; R] {
        let (rows, samples) = (ROWS, SAMPLES);
        let mut acc = [[_mm256_setzero_ps(); SAMPLES]; ROWS];
        let full = cols / L * L;
        let base = w.as_ptr();
        let mut i = 0;
        while i < full {
            let mut xv = [_mm256_setzero_ps(); SAMPLES];
            for (k, v) in xv.iter_mut().enumerate() {
                // SAFETY: sample k's columns i..i+8 lie inside x (caller's bound).
                *v = unsafe { _mm256_loadu_ps(x.add(k * cols + i)) };
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                // SAFETY: row o0+r's columns i..i+8 lie inside w (caller's bound).
                let wv = unsafe { T::load8(base.add((o0 + r) * row_len + i)) };
                for (a, &xk) in acc_r.iter_mut().zip(xv.iter()) {
                    *a = _mm256_fmadd_ps(wv, xk, *a);
                }
            }
            i += L;
        }
        let mut out = [[0f32; S]; R];
        for r in 0..rows {
            for k in 0..samples {
                let mut sum = hsum(acc[r][k]);
                for c in full..cols {
                    // SAFETY: in bounds as above.
                    let (wc, xc) =
                        unsafe { (*base.add((o0 + r) * row_len + c), *x.add(k * cols + c)) };
                    sum += wc.to_f32() * xc;
                }
                out[r][k] = sum;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector tile (when this CPU has AVX2/FMA/F16C) and the portable tile agree on every
    /// tile shape, column tails included, for every dtype (to f32 rounding: FMA rounds once).
    #[test]
    fn avx512_and_portable_tiles_agree() {
        let (rows_total, row_len, cols) = (7, 45, 37);
        let wf: std::vec::Vec<f32> = (0..rows_total * row_len)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let wh: std::vec::Vec<f16> = wf.iter().map(|&v| f16::from_f32(v)).collect();
        let wq: std::vec::Vec<i8> = wf.iter().map(|&v| (v * 127.0) as i8).collect();
        let x: std::vec::Vec<f32> = (0..S * cols)
            .map(|i| (i % 13) as f32 * 0.25 - 1.0)
            .collect();
        for m in [Matrix::F32(&wf), Matrix::F16(&wh), Matrix::I8(&wq)] {
            for rows in 1..=R {
                for samples in 1..=S {
                    let want = match m {
                        Matrix::F32(w) => portable_tile(w, row_len, 2, rows, &x, cols, samples),
                        Matrix::F16(w) => portable_tile(w, row_len, 2, rows, &x, cols, samples),
                        Matrix::I8(w) => portable_tile(w, row_len, 2, rows, &x, cols, samples),
                    };
                    let got = tile(m, row_len, 2, rows, &x, cols, samples);
                    for r in 0..rows {
                        for k in 0..samples {
                            let (a, b) = (got[r][k], want[r][k]);
                            assert!(
                                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                                "{rows}x{samples}: {a} vs {b}"
                            );
                            // The reference: a plain dot product.
                            let plain: f32 = (0..cols)
                                .map(|i| element(m, (2 + r) * row_len + i) * x[k * cols + i])
                                .sum();
                            assert!((b - plain).abs() <= 1e-4 * (1.0 + plain.abs()));
                        }
                    }
                }
            }
        }
    }
}
