//! Dense layers over a batch, Y = X Wᵀ + b (+ ReLU), on format 2's weight panels
//! ([`format::Layout::Panels`]: 8 output channels per panel, input-major). A tile of up to 6
//! samples × NP panels keeps 6·NP running sums of 8 outputs each in registers while the inputs
//! stream past: each step loads one vector of 8 weights per panel, broadcasts one input value per
//! sample and issues MR·NP multiply-adds (the register-blocked outer product of GotoBLAS-style
//! matrix products, with the weights packed once at export instead of on every call). One sample
//! is the same tile with one row and up to 8 panels, a matrix-vector product reading each weight
//! once.
//!
//! Every output is one running sum over the inputs in order, so its value does not depend on the
//! tile shape: a sample's outputs are bit-identical whether it is predicted alone or in a batch of
//! any size (on the same implementation). Weights are read in place in the bundle's dtype and
//! widened in registers (f16 → f32 with F16C, int8 → f32 with the channel's scale applied to the
//! finished sum), so no dtype needs a converted copy of the model.
//!
//! Two implementations of the same tile, monomorphised per weight dtype and shape: AVX2 + FMA +
//! F16C (x86-64, detected at run time with `std`, or enabled at compile time without it) and a
//! portable one for every other CPU.

use format::{Weights, PANEL};
use half::f16;

/// Most samples per tile (12 accumulators + 2 weight vectors + 1 broadcast fill the 16 ymm
/// registers at 6 × 2 panels).
const MR: usize = 6;
/// Samples per block: a pair of panels stays in L1 across the block's tiles while the block's
/// inputs stream from L2 (256 samples × 512 inputs × 4 bytes = 512 KiB), and f16/int8 panels are
/// widened once per block, so larger blocks widen less. Measured on the 512-wide model at batch
/// 256 (this repository's bench machine): 256 beat 128 and 64 by 2-6% for int8 and f16, f32 the
/// same, and beat a block sized to half the L2 in bytes.
const BLOCK: usize = 256;

/// Panels a batch widens at a time (f16 and int8): the group a block of full tiles runs.
pub(crate) const WIDENED_PANELS: usize = 2;

/// Most panels a tile of `mr` samples holds: 8 for one sample (eight independent sums hide the
/// multiply-add latency), 4 for two or three, 2 from four on (registers).
fn max_panels(mr: usize) -> usize {
    match mr {
        1 => 8,
        2 | 3 => 4,
        _ => 2,
    }
}

/// Weight panels in their stored dtype.
#[derive(Clone, Copy)]
enum Panels<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    I8(&'a [i8]),
}

/// What every tile of one layer shares: the panels, the input and output matrices and the
/// epilogue (class column, scale, bias, ReLU).
#[derive(Clone, Copy)]
struct Layer<'a> {
    panels: Panels<'a>,
    /// Values per panel: the stored input dimension (with an expert's K class columns) × 8.
    panel_len: usize,
    /// Inputs summed from `x` (the columns before the class columns).
    cols: usize,
    outputs: usize,
    scales: Option<&'a [f32]>,
    bias: Weights<'a>,
    relu: bool,
}

/// Y[s, o] = scale_o · (Σ_i W[o, i] · X[s, i] + W[o, cols + extra(s)]) + b[o] (ReLU'd for hidden
/// layers) for every sample s of `x` (`n × cols`, row-major) into `y` (`n × outputs`). W has
/// `inputs` stored columns (≥ cols: an expert's first layer also holds the K one-hot class
/// columns, added per sample by `extra` instead of a one-hot product); scale_o is 1 except for
/// int8. For f16 and int8 weights and blocks of more than one tile, each pair of panels is
/// widened once per block into `widened` (`WIDENED_PANELS × 8 × inputs` floats) and the tiles
/// read f32; widening is exact, so the sums are the same bits as widening in registers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_batch(
    w: Weights<'_>,
    b: Weights<'_>,
    inputs: usize,
    x: &[f32],
    cols: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    y: &mut [f32],
    relu: bool,
    widened: &mut [f32],
) {
    let n = x.len() / cols.max(1);
    let outputs = y.len() / n.max(1);
    let (panels, scales) = match w {
        Weights::F32(w) => (Panels::F32(w), None),
        Weights::F16(w) => (Panels::F16(w), None),
        Weights::I8 { scales, values } => (Panels::I8(values), Some(scales)),
    };
    let count = outputs.div_ceil(PANEL);
    let layer = Layer {
        panels,
        panel_len: inputs * PANEL,
        cols,
        outputs,
        scales,
        bias: b,
        relu,
    };
    assert!(count * layer.panel_len <= panels_len(panels) && cols <= inputs);
    assert!(scales.is_none_or(|s| s.len() >= count * PANEL));
    let mut b0 = 0;
    while b0 < n {
        let block = BLOCK.min(n - b0);
        let group = max_panels(MR.min(block));
        let widening = block > MR
            && !matches!(panels, Panels::F32(_))
            && widened.len() >= group * layer.panel_len;
        let mut p0 = 0;
        while p0 < count {
            let np = group.min(count - p0);
            let mut tiles = layer;
            if widening {
                let dst = &mut widened[..np * layer.panel_len];
                let src = p0 * layer.panel_len..(p0 + np) * layer.panel_len;
                match panels {
                    Panels::F16(w) => widen(&w[src], dst),
                    Panels::I8(w) => widen(&w[src], dst),
                    Panels::F32(_) => unreachable!("f32 is read in place"),
                }
                tiles.panels = Panels::F32(&*dst);
            }
            let mut s0 = b0;
            while s0 < b0 + block {
                let mr = MR.min(b0 + block - s0);
                let mut classes = [0usize; MR];
                let class_rows = extra.map(|f| {
                    for (k, c) in classes.iter_mut().enumerate().take(mr) {
                        *c = cols + f(s0 + k);
                        assert!(*c < inputs);
                    }
                    &classes[..mr]
                });
                let xs = &x[s0 * cols..(s0 + mr) * cols];
                let ys = &mut y[s0 * outputs..(s0 + mr) * outputs];
                if widening {
                    // The widened copy holds only panels p0..p0+np: index from 0, keep the
                    // channel offset for the bias, scales and outputs.
                    tile_at(&tiles, p0, 0, np, xs, class_rows, ys);
                } else {
                    tile_at(&tiles, p0, p0, np, xs, class_rows, ys);
                }
                s0 += mr;
            }
            p0 += np;
        }
        b0 += block;
    }
}

/// Stored weights → f32 (exact), 8 at a time with the vector loads where the CPU has them.
fn widen<T: Value + simd::Load>(src: &[T], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if simd::available() && src.len() % PANEL == 0 {
        // SAFETY: AVX2/F16C present; equal lengths, a multiple of 8.
        #[allow(unsafe_code)]
        unsafe {
            simd::widen(src, dst)
        };
        return;
    }
    dst.iter_mut().zip(src).for_each(|(d, q)| *d = q.to_f32());
}

fn panels_len(p: Panels<'_>) -> usize {
    match p {
        Panels::F32(w) => w.len(),
        Panels::F16(w) => w.len(),
        Panels::I8(w) => w.len(),
    }
}

/// Samples `y.len() / outputs` (≤ 6) × the np panels of output channels from panel p0 on, read
/// from `layer.panels` from stored panel `stored` on (p0 itself, or 0 in a widened copy), split
/// into the shapes the kernels have.
fn tile_at(
    layer: &Layer<'_>,
    p0: usize,
    stored: usize,
    np: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
) {
    let mr = y.len() / layer.outputs;
    let cap = max_panels(mr);
    let mut done = 0;
    while done < np {
        let left = (np - done).min(cap);
        let take = [8, 4, 2, 1].into_iter().find(|&t| t <= left).unwrap_or(1);
        let (p, at) = (p0 + done, stored + done);
        match layer.panels {
            Panels::F32(w) => dispatch(
                layer,
                &w[at * layer.panel_len..],
                p,
                take,
                mr,
                x,
                classes,
                y,
            ),
            Panels::F16(w) => dispatch(
                layer,
                &w[at * layer.panel_len..],
                p,
                take,
                mr,
                x,
                classes,
                y,
            ),
            Panels::I8(w) => dispatch(
                layer,
                &w[at * layer.panel_len..],
                p,
                take,
                mr,
                x,
                classes,
                y,
            ),
        }
        done += take;
    }
}

/// One kernel call: `w` starts at the first of the np panels; `p` is its channel panel index.
#[allow(clippy::too_many_arguments)]
fn dispatch<T: Value + simd::Load>(
    layer: &Layer<'_>,
    w: &[T],
    p: usize,
    np: usize,
    mr: usize,
    x: &[f32],
    classes: Option<&[usize]>,
    y: &mut [f32],
) {
    let w = &w[..np * layer.panel_len];
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        macro_rules! shapes {
            ($(($m:literal, $p:literal)),*) => {
                match (mr, np) {
                    $(($m, $p) => simd::tile::<T, $m, $p>,)*
                    _ => unreachable!("tile shapes are capped by max_panels"),
                }
            };
        }
        let kernel = shapes!(
            (1, 1),
            (1, 2),
            (1, 4),
            (1, 8),
            (2, 1),
            (2, 2),
            (2, 4),
            (3, 1),
            (3, 2),
            (3, 4),
            (4, 1),
            (4, 2),
            (5, 1),
            (5, 2),
            (6, 1),
            (6, 2)
        );
        // SAFETY: the CPU has AVX2, FMA and F16C (`available`); `w` holds np whole panels, `x`
        // mr rows of `cols` values and `y` mr rows of `outputs` (sliced by the caller), every
        // class row is < inputs, and the scales cover whole panels (asserted in `linear_batch`).
        #[allow(unsafe_code)]
        unsafe {
            kernel(layer, w, p, x, classes, y)
        };
        return;
    }
    let sums = portable_tile(w, layer.panel_len, x, layer.cols, mr, np, classes);
    epilogue(layer, p, np, mr, &sums, y);
}

/// A portable tile's finished sums: [sample][panel][lane].
type Sums = [[[f32; PANEL]; 8]; MR];

/// scale · sum + bias, ReLU, stored for the channels that exist (the last panel's padding is
/// dropped); the vector tile does the same in registers.
fn epilogue(layer: &Layer<'_>, p0: usize, np: usize, mr: usize, sums: &Sums, y: &mut [f32]) {
    let out = layer.outputs;
    for (s, row) in sums.iter().enumerate().take(mr) {
        for (p, lanes) in row.iter().enumerate().take(np) {
            let o0 = (p0 + p) * PANEL;
            for (l, &sum) in lanes
                .iter()
                .enumerate()
                .take(out.saturating_sub(o0).min(PANEL))
            {
                let o = o0 + l;
                let scale = layer.scales.map_or(1.0, |sc| sc[o]);
                let bias = match layer.bias {
                    Weights::F32(b) => b[o],
                    Weights::F16(b) => b[o].to_f32(),
                    // Biases are never int8 (format 1.2).
                    Weights::I8 { .. } => 0.0,
                };
                let mut v = scale * sum + bias;
                if layer.relu && v < 0.0 {
                    v = 0.0;
                }
                y[s * out + o] = v;
            }
        }
    }
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

/// The tile in plain Rust: the same running sums in the same order (without fused
/// multiply-adds, so not the same bits as the vector tile).
fn portable_tile<T: Value>(
    w: &[T],
    panel_len: usize,
    x: &[f32],
    cols: usize,
    mr: usize,
    np: usize,
    classes: Option<&[usize]>,
) -> Sums {
    let mut acc = [[[0f32; PANEL]; 8]; MR];
    for i in 0..cols {
        for p in 0..np {
            let wv = &w[p * panel_len + i * PANEL..p * panel_len + (i + 1) * PANEL];
            for (s, acc_s) in acc.iter_mut().enumerate().take(mr) {
                let xv = x[s * cols + i];
                for (a, q) in acc_s[p].iter_mut().zip(wv) {
                    *a += q.to_f32() * xv;
                }
            }
        }
    }
    if let Some(classes) = classes {
        for (acc_s, &c) in acc.iter_mut().zip(classes) {
            for (p, acc_p) in acc_s.iter_mut().enumerate().take(np) {
                let wv = &w[p * panel_len + c * PANEL..p * panel_len + (c + 1) * PANEL];
                for (a, q) in acc_p.iter_mut().zip(wv) {
                    *a += q.to_f32();
                }
            }
        }
    }
    acc
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
    /// AVX2/FMA/F16C; `w` holds NP panels of `layer.panel_len` values, `x` holds ROWS ×
    /// `layer.cols` values and `y` ROWS × `layer.outputs`, every class row c satisfies
    /// (c + 1) · 8 ≤ panel_len, and an int8 layer's scales cover panels p0..p0+NP.
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
                    v = _mm256_max_ps(v, _mm256_setzero_ps());
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector tile (when this CPU has AVX2/FMA/F16C) and the portable tile agree with a plain
    /// dot product on every tile shape, class columns included, for every dtype (to f32
    /// rounding: FMA rounds once); and a sample's outputs are the same bits in every tile shape.
    #[test]
    fn tiles_agree_with_a_plain_product_and_across_shapes() {
        let (outputs, cols, classes_k): (usize, usize, usize) = (21, 37, 3);
        let inputs = cols + classes_k;
        let count = outputs.div_ceil(PANEL);
        let dense: std::vec::Vec<f32> = (0..outputs * inputs)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        // Pack row-major `dense` into panels, as the format writer does.
        let mut packed = std::vec![0f32; count * inputs * PANEL];
        for o in 0..outputs {
            for i in 0..inputs {
                packed[(o / PANEL * inputs + i) * PANEL + o % PANEL] = dense[o * inputs + i];
            }
        }
        let wh: std::vec::Vec<f16> = packed.iter().map(|&v| f16::from_f32(v)).collect();
        let wq: std::vec::Vec<i8> = packed.iter().map(|&v| (v * 100.0) as i8).collect();
        let scales = std::vec![0.01f32; count * PANEL];
        let bias: std::vec::Vec<f32> = (0..outputs).map(|o| o as f32 * 0.1 - 1.0).collect();
        let n = 13;
        let x: std::vec::Vec<f32> = (0..n * cols)
            .map(|i| (i % 13) as f32 * 0.25 - 1.0)
            .collect();
        let class_of = |s: usize| s % classes_k;
        let stored = |w: Weights<'_>, o: usize, i: usize| {
            let at = (o / PANEL * inputs + i) * PANEL + o % PANEL;
            match w {
                Weights::F32(v) => v[at],
                Weights::F16(v) => v[at].to_f32(),
                Weights::I8 { scales, values } => scales[o] * f32::from(values[at]),
            }
        };
        for w in [
            Weights::F32(&packed),
            Weights::F16(&wh),
            Weights::I8 {
                scales: &scales,
                values: &wq,
            },
        ] {
            let mut all = std::vec![0f32; n * outputs];
            let mut widened = std::vec![0f32; WIDENED_PANELS * PANEL * inputs];
            linear_batch(
                w,
                Weights::F32(&bias),
                inputs,
                &x,
                cols,
                Some(&class_of),
                &mut all,
                true,
                &mut widened,
            );
            for s in 0..n {
                let mut one = std::vec![0f32; outputs];
                let shifted = |_: usize| class_of(s);
                let xs = &x[s * cols..(s + 1) * cols];
                linear_batch(
                    w,
                    Weights::F32(&bias),
                    inputs,
                    xs,
                    cols,
                    Some(&shifted),
                    &mut one,
                    true,
                    &mut widened,
                );
                assert_eq!(one, all[s * outputs..(s + 1) * outputs], "sample {s}");
                for o in 0..outputs {
                    let plain: f32 = (0..cols).map(|i| stored(w, o, i) * xs[i]).sum::<f32>()
                        + stored(w, o, cols + class_of(s))
                        + bias[o];
                    let want = plain.max(0.0);
                    let got = one[o];
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{got} vs {want}"
                    );
                }
            }
            // The portable tile against the dispatched one, every shape.
            for mr in 1..=MR {
                for np in [1usize, 2] {
                    let xs = &x[..mr * cols];
                    let cls = [1usize + cols, cols, 2 + cols, cols, 1 + cols, cols];
                    let got = match w {
                        Weights::F32(v) => {
                            portable_tile(v, inputs * PANEL, xs, cols, mr, np, Some(&cls[..mr]))
                        }
                        Weights::F16(v) => {
                            portable_tile(v, inputs * PANEL, xs, cols, mr, np, Some(&cls[..mr]))
                        }
                        Weights::I8 { values, .. } => portable_tile(
                            values,
                            inputs * PANEL,
                            xs,
                            cols,
                            mr,
                            np,
                            Some(&cls[..mr]),
                        ),
                    };
                    let mut y = std::vec![0f32; mr * outputs];
                    let layer = Layer {
                        panels: match w {
                            Weights::F32(v) => Panels::F32(v),
                            Weights::F16(v) => Panels::F16(v),
                            Weights::I8 { values, .. } => Panels::I8(values),
                        },
                        panel_len: inputs * PANEL,
                        cols,
                        outputs,
                        scales: None,
                        bias: Weights::F32(&bias),
                        relu: false,
                    };
                    tile_at(&layer, 0, 0, np, xs, Some(&cls[..mr]), &mut y);
                    for s in 0..mr {
                        for o in 0..np * PANEL {
                            let want = got[s][o / PANEL][o % PANEL] + bias[o];
                            let have = y[s * outputs + o];
                            assert!(
                                (have - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "{mr}x{np}: {have} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
