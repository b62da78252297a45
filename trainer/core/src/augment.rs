//! Weak and strong augmentations for flattened images and for tabular views: FixMatch's views,
//! used by the FixMatch-style baselines (CReST, Adsh) and by SSMVAE-CI's consistency term
//! (docs/model.md §12.4). Images (a modality of `Pixels` whose width is a stack of 28×28 or
//! 32×32 planes, e.g. an early-fused MNIST + Fashion pair) are shifted as planes; everything else is
//! treated as standardised tabular features.
//!
//! - weak, images: a random shift of up to 2 pixels (zero fill), as FixMatch's flip-and-shift
//!   without the flip (digits and garments are not mirror-symmetric);
//! - strong, images: a shift of up to 4 pixels, one 8×8 cutout, Gaussian noise σ = 0.1;
//! - weak, tables: Gaussian noise σ = 0.1 (features are standardised);
//! - strong, tables: feature dropout p = 0.2 (a dropped feature becomes the training mean, 0)
//!   and Gaussian noise σ = 0.3.
//!
//! Every draw uses libtorch's generator, which the training loop reseeds each epoch.

use crate::data::ModalityKind;
use tch::{Kind, Tensor};

/// How strongly to augment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// FixMatch's weak view (pseudo-labels are read from it).
    Weak,
    /// FixMatch's strong view (trained to match the pseudo-label).
    Strong,
}

/// (planes, side) when `dim` is a stack of square 28×28 or 32×32 planes.
fn planes(dim: i64) -> Option<(i64, i64)> {
    [28i64, 32]
        .into_iter()
        .find(|s| dim % (s * s) == 0)
        .map(|s| (dim / (s * s), s))
}

/// Augments a batch `x` (B×d) of one modality.
pub fn augment(x: &Tensor, kind: ModalityKind, strength: Strength) -> Tensor {
    let dim = x.size()[1];
    match (kind, planes(dim)) {
        (ModalityKind::Pixels, Some((c, s))) => {
            let (shift, cut, noise) = match strength {
                Strength::Weak => (2, 0, 0.0),
                Strength::Strong => (4, 8, 0.1),
            };
            let mut out = shift_planes(x, c, s, shift);
            if cut > 0 {
                out = cutout(&out, c, s, cut);
            }
            if noise > 0.0 {
                out = &out + out.randn_like() * noise;
            }
            out
        }
        _ => match strength {
            Strength::Weak => x + x.randn_like() * 0.1,
            Strength::Strong => {
                let keep = x.rand_like().ge(0.2).to_kind(Kind::Float);
                x * keep + x.randn_like() * 0.3
            }
        },
    }
}

/// Shifts every sample's planes by its own random (dx, dy) ∈ [−max, max]², zero fill.
fn shift_planes(x: &Tensor, c: i64, s: i64, max: i64) -> Tensor {
    let b = x.size()[0];
    let img = x.reshape([b, c, s, s]);
    let padded = img.constant_pad_nd([max, max, max, max]);
    let offsets = Vec::<i64>::try_from(Tensor::randint(
        2 * max + 1,
        [b * 2],
        (Kind::Int64, tch::Device::Cpu),
        // Cannot fail on user input: a tensor we created as i64 converts to Vec<i64>.
    ))
    .expect("offsets")
    .chunks(2)
    .map(|o| (o[0], o[1]))
    .collect::<Vec<_>>();
    let rows: Vec<Tensor> = offsets
        .iter()
        .enumerate()
        .map(|(i, &(dy, dx))| padded.get(i as i64).narrow(1, dy, s).narrow(2, dx, s))
        .collect();
    Tensor::stack(&rows, 0).reshape([b, c * s * s])
}

/// Zeroes one random `size`×`size` square per sample (all planes).
fn cutout(x: &Tensor, c: i64, s: i64, size: i64) -> Tensor {
    let b = x.size()[0];
    let corners = Vec::<i64>::try_from(Tensor::randint(
        s - size + 1,
        [b * 2],
        (Kind::Int64, tch::Device::Cpu),
        // Cannot fail on user input: a tensor we created as i64 converts to Vec<i64>.
    ))
    .expect("corners");
    let mut mask = vec![1f32; (b * s * s) as usize];
    for (i, o) in corners.chunks(2).enumerate() {
        for r in o[0]..o[0] + size {
            for col in o[1]..o[1] + size {
                mask[(i as i64 * s * s + r * s + col) as usize] = 0.0;
            }
        }
    }
    let mask = Tensor::from_slice(&mask)
        .reshape([b, 1, s, s])
        .to_device(x.device());
    (x.reshape([b, c, s, s]) * mask).reshape([b, c * s * s])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_shifts_move_pixels_and_keep_their_values() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(3);
        let mut v = vec![0f32; 2 * 784];
        v[14 * 28 + 14] = 1.0; // one bright pixel in the middle of the first plane
        v[784 + 3] = 0.5;
        let x = Tensor::from_slice(&v).reshape([1, 1568]);
        let y = augment(&x, ModalityKind::Pixels, Strength::Weak);
        let out = Vec::<f32>::try_from(y.reshape([-1])).unwrap();
        // The centre pixel moved at most 2 rows/columns, and nothing was invented.
        let pos = out[..784].iter().position(|&p| p == 1.0).unwrap();
        let (r, c) = (pos / 28, pos % 28);
        assert!(r.abs_diff(14) <= 2 && c.abs_diff(14) <= 2);
        assert!(
            (out.iter().sum::<f32>() - 1.5).abs() < 1e-6 || out[784..].iter().sum::<f32>() == 0.0
        );
        // The strong view (shift, cutout, noise) keeps the shape of a batch of several samples.
        let batch = Tensor::rand([3, 1568], (Kind::Float, tch::Device::Cpu));
        let strong = augment(&batch, ModalityKind::Pixels, Strength::Strong);
        assert_eq!(strong.size(), vec![3, 1568]);
        assert!(f64::try_from((strong - &batch).abs().sum(Kind::Float)).unwrap() > 0.0);
        // Tables get noise, not shifts: same shape, different values.
        let t = Tensor::ones([4, 7], (Kind::Float, tch::Device::Cpu));
        let s = augment(&t, ModalityKind::Tabular, Strength::Strong);
        assert_eq!(s.size(), vec![4, 7]);
        assert!(f64::try_from((s - &t).abs().sum(Kind::Float)).unwrap() > 0.0);
    }
}
