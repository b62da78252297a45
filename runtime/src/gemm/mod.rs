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
//! portable one for every other CPU. Where the CPU also has AVX-512F, blocks of more than one
//! tile run a third, 16-lane tile over panel pairs packed once per block (`packed`); each lane
//! does the same operations in the same order, so its bits are the AVX2 tile's.

use format::{Weights, PANEL};
use half::f16;

/// Most samples per tile (12 accumulators + 2 weight vectors + 1 broadcast fill the 16 ymm
/// registers at 6 × 2 panels).
pub(crate) const MR: usize = 6;
/// Samples per block: each pair of panels (64 bytes × inputs: 32 KiB at 512 f32 inputs) is read
/// by every tile of the block from L1/L2 while the block's inputs stream from L2 (256 samples ×
/// 512 inputs × 4 bytes = 512 KiB), and f16/int8 panels are widened once per block, so larger
/// blocks widen less. Measured on the 512-wide model at batch
/// 256 (this repository's bench machine): 256 beat 128 and 64 by 2-6% for int8 and f16, f32 the
/// same, and beat a block sized to half the L2 in bytes.
const BLOCK: usize = 256;

/// Panels the workspace of a batch pass holds widened or packed: the AVX-512 path's group of
/// three panel pairs (the AVX2 path uses the first two).
pub(crate) const SCRATCH_PANELS: usize = 6;

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
/// widened once per block into `widened` (two panels of `8 × inputs` floats) and the tiles
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
    integer: bool,
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
    if integer {
        if let (Some(values), Some(scales)) = (int8::int8_values(panels), scales) {
            assert!(widened.len() >= int8::scratch_len(inputs, n));
            int8::linear(&layer, values, scales, count, x, n, extra, y, widened);
            return;
        }
    }
    let mut b0 = 0;
    while b0 < n {
        let block = BLOCK.min(n - b0);
        #[cfg(target_arch = "x86_64")]
        if packed::packs(block)
            && simd512::available()
            && widened.len() >= 2 * simd512::PAIRS * layer.panel_len
        {
            packed::block(&layer, count, b0..b0 + block, x, extra, y, widened);
            b0 += block;
            continue;
        }
        let group = max_panels(MR.min(block));
        let widening = block > MR
            && !matches!(panels, Panels::F32(_))
            && widened.len() >= group * layer.panel_len;
        let mut p0 = 0;
        while p0 < count {
            let np = group.min(count - p0);
            // The widened copy holds only panels p0..p0+np, so it is indexed from 0; the channel
            // offset p0 still places the bias, the scales and the outputs.
            let (mut tiles, mut stored) = (layer, p0);
            if widening {
                stored = 0;
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
                tile_at(&tiles, p0, stored, np, xs, class_rows, ys);
                s0 += mr;
            }
            p0 += np;
        }
        b0 += block;
    }
}

/// The matrix-product kernels this CPU runs, as [`crate::kernel_path`] names them.
pub(crate) fn kernel_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if simd512::available() {
            return if vnni::available() {
                "avx512f: 16-lane tiles for blocks of more than 6 samples (f32 pairs read in \
                 place up to 16, packed once per block above), avx2+fma+f16c 8-lane tiles \
                 below; int8 on integers: avx512-vnni (vpdpbusd, vpermb)"
            } else {
                "avx512f: 16-lane tiles for blocks of more than 6 samples (f32 pairs read in \
                 place up to 16, packed once per block above), avx2+fma+f16c 8-lane tiles \
                 below; int8 on integers: portable loop"
            };
        }
        if simd::available() {
            return "avx2+fma+f16c: 8-lane tiles; int8 on integers: portable loop";
        }
    }
    "portable"
}

/// Stored weights → f32 (exact), 8 at a time with the vector loads where the CPU has them.
fn widen<T: Value + simd::Load>(src: &[T], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if simd::available() && src.len().is_multiple_of(PANEL) {
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
        let from = at * layer.panel_len;
        // One call per dtype (`dispatch` is generic over the stored value).
        macro_rules! call {
            ($w:expr) => {
                dispatch(layer, &$w[from..], p, take, mr, x, classes, y)
            };
        }
        match layer.panels {
            Panels::F32(w) => call!(w),
            Panels::F16(w) => call!(w),
            Panels::I8(w) => call!(w),
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
    // The kernel's bounds, checked once per tile (a few compares against thousands of
    // multiply-adds): whole panels, the inputs inside a panel, mr rows in and out, class rows
    // inside the panel, scales for these channels.
    let (panel_len, cols) = (layer.panel_len, layer.cols);
    assert!(cols * PANEL <= panel_len && x.len() >= mr * cols && y.len() >= mr * layer.outputs);
    assert!(
        classes.is_none_or(|c| c.len() >= mr && c.iter().all(|&c| (c + 1) * PANEL <= panel_len))
    );
    assert!(layer.scales.is_none_or(|sc| sc.len() >= (p + np) * PANEL));
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
mod simd;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod simd512;

#[cfg(target_arch = "x86_64")]
mod packed;

pub(crate) mod int8;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod vnni;

#[cfg(test)]
mod tests;
