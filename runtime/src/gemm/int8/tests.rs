//! The integer path against the float path, the portable code against the vector code, a batch
//! against single samples.

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
            values[(o / PANEL * INPUTS + i) * PANEL + o % PANEL] = ((o * 31 + i * 17) % 255) as i8;
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
/// tiles of up to 8 rows × 3 panels), and every output is within the quantisation
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
                let (mut a, mut b) = (std::vec![0f32; n * outputs], std::vec![0f32; n * outputs]);
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
