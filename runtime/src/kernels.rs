//! Dense kernels: y = W x + b (+ ReLU) for f32, f16 and int8 weights, reading the weights in place from
//! the bundle. Portable code written so the compiler vectorises the f32 dot product (eight
//! independent accumulators); f16 weights are widened 64 at a time into a stack buffer, never
//! expanded into a heap copy of the model.

use format::Weights;

#[inline]
fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = w.len() / 8;
    for c in 0..chunks {
        let (wc, xc) = (&w[c * 8..c * 8 + 8], &x[c * 8..c * 8 + 8]);
        for l in 0..8 {
            acc[l] += wc[l] * xc[l];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for i in chunks * 8..w.len() {
        s += w[i] * x[i];
    }
    s
}

/// f16 weights are widened in blocks of 64 into a stack buffer with `half`'s slice conversion
/// (F16C instructions when the CPU has them, detected at run time), then dotted as f32.
#[inline]
fn dot_f16(w: &[half::f16], x: &[f32]) -> f32 {
    use half::slice::HalfFloatSliceExt;
    const BLOCK: usize = 64;
    let mut buf = [0f32; BLOCK];
    let mut s = 0.0;
    for (wc, xc) in w.chunks(BLOCK).zip(x.chunks(BLOCK)) {
        let b = &mut buf[..wc.len()];
        wc.convert_to_f32_slice(b);
        s += dot_f32(b, xc);
    }
    s
}

/// int8 weights widened to f32 in the loop (sixteen independent accumulators, so the compiler
/// vectorises the sign extension, the conversion and the products); the row's scale is applied
/// once to the sum.
#[inline]
fn dot_i8(w: &[i8], x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = w.len() / 16;
    for c in 0..chunks {
        let (wc, xc) = (&w[c * 16..c * 16 + 16], &x[c * 16..c * 16 + 16]);
        for l in 0..16 {
            acc[l] += f32::from(wc[l]) * xc[l];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for i in chunks * 16..w.len() {
        s += f32::from(w[i]) * x[i];
    }
    s
}

/// out[o] = Σ_i W[o, cols_start + i] · x[i] + b[o] (+ extra column `extra` of W) for a row-major
/// `out.len() × row_len` weight matrix; `relu` applies max(0, ·). `extra` adds the one-hot class
/// column of an expert's first layer without building the one-hot vector.
pub fn linear(
    w: Weights<'_>,
    b: Weights<'_>,
    row_len: usize,
    x: &[f32],
    extra: Option<usize>,
    out: &mut [f32],
    relu: bool,
) {
    let n = x.len();
    for (o, y) in out.iter_mut().enumerate() {
        let row = o * row_len;
        let mut v = match (w, b) {
            (Weights::F32(w), Weights::F32(b)) => {
                dot_f32(&w[row..row + n], x) + b[o] + extra.map_or(0.0, |c| w[row + c])
            }
            (Weights::F16(w), Weights::F16(b)) => {
                dot_f16(&w[row..row + n], x)
                    + b[o].to_f32()
                    + extra.map_or(0.0, |c| w[row + c].to_f32())
            }
            (Weights::I8 { scales, values }, Weights::F32(b)) => {
                let q = &values[row..row + n];
                scales[o] * (dot_i8(q, x) + extra.map_or(0.0, |c| f32::from(values[row + c])))
                    + b[o]
            }
            // A bundle has one dtype; mixed views cannot come from a validated bundle.
            _ => 0.0,
        };
        if relu && v < 0.0 {
            v = 0.0;
        }
        *y = v;
    }
}
