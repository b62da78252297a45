use super::*;
use std::vec::Vec;

const OUTPUTS: usize = 70;
const COLS: usize = 37;
const CLASSES: usize = 3;
const INPUTS: usize = COLS + CLASSES;
/// More samples than one block (256), so the batch crosses a block boundary.
const N: usize = 260;

/// A layer of 70 outputs (nine panels, the last one padded; other tests pick other widths) over
/// 37 inputs and 3 class columns, packed as the format writer packs it, in every dtype (int8
/// with per-channel scales); 260 samples.
struct Fixture {
    outputs: usize,
    f32s: Vec<f32>,
    f16s: Vec<f16>,
    i8s: Vec<i8>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    x: Vec<f32>,
}

impl Fixture {
    fn new() -> Self {
        Self::with_outputs(OUTPUTS)
    }

    fn with_outputs(outputs: usize) -> Self {
        let count = outputs.div_ceil(PANEL);
        let dense: Vec<f32> = (0..outputs * INPUTS)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let mut f32s = std::vec![0f32; count * INPUTS * PANEL];
        for o in 0..outputs {
            for i in 0..INPUTS {
                f32s[(o / PANEL * INPUTS + i) * PANEL + o % PANEL] = dense[o * INPUTS + i];
            }
        }
        Fixture {
            outputs,
            f16s: f32s.iter().map(|&v| f16::from_f32(v)).collect(),
            i8s: f32s.iter().map(|&v| (v * 100.0) as i8).collect(),
            f32s,
            scales: (0..count * PANEL).map(|o| 0.01 + o as f32 * 1e-4).collect(),
            bias: (0..outputs).map(|o| o as f32 * 0.1 - 1.0).collect(),
            x: (0..N * COLS)
                .map(|i| (i % 13) as f32 * 0.25 - 1.0)
                .collect(),
        }
    }

    fn weights(&self) -> [Weights<'_>; 3] {
        [
            Weights::F32(&self.f32s),
            Weights::F16(&self.f16s),
            Weights::I8 {
                scales: &self.scales,
                values: &self.i8s,
            },
        ]
    }
}

/// W[o][i] as stored (int8 with its channel's scale).
fn stored(w: Weights<'_>, o: usize, i: usize) -> f32 {
    let at = (o / PANEL * INPUTS + i) * PANEL + o % PANEL;
    match w {
        Weights::F32(v) => v[at],
        Weights::F16(v) => v[at].to_f32(),
        Weights::I8 { scales, values } => scales[o] * f32::from(values[at]),
    }
}

/// Every dtype: a batch gives each sample the same bits as predicting it alone (f16/int8 batches
/// widen panels into the workspace, single samples widen in registers), and both agree with a
/// plain dot product + class column + bias, ReLU'd (to f32 rounding: FMA rounds once). With a
/// scratch of two panels a batch runs the AVX2 tile (widening f16/int8); with six, on a CPU
/// with AVX-512F, the 16-lane tile over packed pairs (every dtype) — both must agree. Widths:
/// 70 (pairs grouped 3 + 2), 64 (2 + 2), 10 and 16 (one pair, 16-sample tiles), 24 (an odd
/// panel count, the last pair half empty).
#[test]
fn a_batch_gives_each_sample_the_bits_it_gets_alone() {
    for outputs in [OUTPUTS, 64, 10, 16, 24] {
        let f = Fixture::with_outputs(outputs);
        for panels in [2, SCRATCH_PANELS] {
            // 260 samples: a full block and a remainder; 16 and 9: one block of a few tiles.
            for n in [N, 16, 9] {
                let widened = &mut std::vec![0f32; panels * PANEL * INPUTS];
                batch_matches_single_samples(&f, n, widened);
            }
        }
    }
}

fn batch_matches_single_samples(f: &Fixture, n: usize, widened: &mut [f32]) {
    let outputs = f.outputs;
    let class_of = |s: usize| s % CLASSES;
    for w in f.weights() {
        let bias = Weights::F32(&f.bias);
        let mut all = std::vec![0f32; n * outputs];
        let x = &f.x[..n * COLS];
        linear_batch(
            w,
            bias,
            INPUTS,
            x,
            COLS,
            Some(&class_of),
            &mut all,
            true,
            widened,
            false,
        );
        for s in 0..n {
            let mut one = std::vec![0f32; outputs];
            let xs = &x[s * COLS..(s + 1) * COLS];
            let class = |_: usize| class_of(s);
            linear_batch(
                w,
                bias,
                INPUTS,
                xs,
                COLS,
                Some(&class),
                &mut one,
                true,
                widened,
                false,
            );
            assert_eq!(one, all[s * outputs..(s + 1) * outputs], "sample {s}");
            for (o, &got) in one.iter().enumerate() {
                let plain: f32 = (0..COLS).map(|i| stored(w, o, i) * xs[i]).sum::<f32>()
                    + stored(w, o, COLS + class_of(s))
                    + f.bias[o];
                let want = plain.max(0.0);
                assert!(
                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{got} vs {want}"
                );
            }
        }
    }
}

/// The dispatched tile (the vector one where this CPU has AVX2/FMA/F16C) agrees with the portable
/// tile and its epilogue on every shape the dispatcher uses, for every dtype (int8 with its
/// scales), from every panel offset.
#[test]
fn vector_and_portable_tiles_agree_on_every_shape() {
    let f = Fixture::new();
    let classes = [1 + COLS, COLS, 2 + COLS, COLS, 1 + COLS, COLS];
    for w in f.weights() {
        let (panels, scales) = match w {
            Weights::F32(v) => (Panels::F32(v), None),
            Weights::F16(v) => (Panels::F16(v), None),
            Weights::I8 { values, scales } => (Panels::I8(values), Some(scales)),
        };
        let layer = Layer {
            panels,
            panel_len: INPUTS * PANEL,
            cols: COLS,
            outputs: OUTPUTS,
            scales,
            bias: Weights::F32(&f.bias),
            relu: false,
        };
        let count = OUTPUTS.div_ceil(PANEL);
        for mr in 1..=MR {
            for np in 1..=max_panels(mr) {
                // The last np panels: the padded one is always included.
                let p0 = count - np;
                let (xs, cls) = (&f.x[..mr * COLS], Some(&classes[..mr]));
                let from = p0 * INPUTS * PANEL;
                let want = match panels {
                    Panels::F32(v) => {
                        portable_tile(&v[from..], INPUTS * PANEL, xs, COLS, mr, np, cls)
                    }
                    Panels::F16(v) => {
                        portable_tile(&v[from..], INPUTS * PANEL, xs, COLS, mr, np, cls)
                    }
                    Panels::I8(v) => {
                        portable_tile(&v[from..], INPUTS * PANEL, xs, COLS, mr, np, cls)
                    }
                };
                let mut y = std::vec![0f32; mr * OUTPUTS];
                tile_at(&layer, p0, p0, np, xs, cls, &mut y);
                for s in 0..mr {
                    for o in p0 * PANEL..OUTPUTS {
                        let (p, l) = (o / PANEL - p0, o % PANEL);
                        let scale = scales.map_or(1.0, |sc| sc[o]);
                        let want = scale * want[s][p][l] + f.bias[o];
                        let have = y[s * OUTPUTS + o];
                        let close = (have - want).abs() <= 1e-4 * (1.0 + want.abs());
                        assert!(close, "{mr}x{np}: {have} vs {want}");
                    }
                }
            }
        }
    }
}
