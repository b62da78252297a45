//! Adam's update (Kingma & Ba 2015) in three passes over a variable's memory instead of fourteen.
//!
//! The trainer's Adam (`trainer/core/src/train/adam.rs`) is fourteen libtorch operations per variable,
//! each a pass over the variable's memory. On the benchmark step's 4.2 M weights the fused update
//! takes 5.8 ms against 10.9 ms at one thread (the grids' setting) and 4.9 against 6.2 ms at two,
//! with the binary's allocator settings (`cargo bench -p ssmvae-trainer --bench adam`; without
//! them the operations' temporaries page-fault and take 19-25 ms): a few percent of a step.
//!
//! Each element goes through the same f32 operations in the same order, each rounded once, so the
//! result is the same bits (the trainer's test `in_place_update_keeps_every_bit` holds it to
//! that) and every committed run still repeats. The square root stays libtorch's: its CPU kernel (MKL's vector math) is not the
//! correctly rounded square root Rust computes, and differs from it in about one element in seven.
//! So [`adam_update`] makes three passes: m, v and v/bc₂ into a scratch buffer; libtorch's
//! `sqrt_` on the buffer; the step.
//!
//! This is the trainer's libraries' only unsafe code (ssmvae-core, ssmvae-baselines and
//! ssmvae-lab forbid it; the `ssmvae` binary has one more block, glibc's `mallopt` in its
//! `allocator.rs`): a tch tensor's memory is reachable only through a raw pointer. [`adam_update`] checks every condition the slices it
//! builds rely on before it writes anything, and declines (touching nothing) where one fails, so
//! the caller falls back to the operations.
#![allow(unsafe_code)]

use tch::{Device, Kind, Tensor};

/// Adam's per-step constants, each an f32 as libtorch casts a double scalar for an f32 tensor.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    /// β₁.
    beta1: f32,
    /// 1 − β₁.
    one_minus_beta1: f32,
    /// β₂.
    beta2: f32,
    /// 1 − β₂.
    one_minus_beta2: f32,
    /// 1 − β₁ᵗ.
    bias1: f32,
    /// 1 − β₂ᵗ.
    bias2: f32,
    /// ε.
    eps: f32,
    /// The learning rate.
    lr: f32,
}

impl AdamStep {
    /// The constants of step `t` (1-based); every value is computed in f64 and rounded to f32
    /// once, as libtorch rounds a double scalar applied to an f32 tensor.
    pub fn new(lr: f64, beta1: f64, beta2: f64, eps: f64, t: i32) -> Self {
        AdamStep {
            beta1: beta1 as f32,
            one_minus_beta1: (1.0 - beta1) as f32,
            beta2: beta2 as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
            bias1: (1.0 - beta1.powi(t)) as f32,
            bias2: (1.0 - beta2.powi(t)) as f32,
            eps: eps as f32,
            lr: lr as f32,
        }
    }
}

/// A tensor this kernel may write through: on the CPU, f32, contiguous, of `numel` elements.
fn usable(t: &Tensor, numel: usize) -> bool {
    t.defined()
        && t.device() == Device::Cpu
        && t.kind() == Kind::Float
        && t.is_contiguous()
        && t.numel() == numel
        && !t.requires_grad()
}

/// Mutable views of `N` tensors' memory, or None unless all are distinct, non-overlapping,
/// aligned, contiguous f32 CPU tensors of `n` elements.
fn views<const N: usize>(tensors: [&mut Tensor; N], n: usize) -> Option<[&mut [f32]; N]> {
    if n == 0 || !tensors.iter().all(|t| usable(t, n)) {
        return None;
    }
    let ptrs = tensors.map(|t| t.data_ptr() as usize);
    let bytes = n * std::mem::size_of::<f32>();
    let disjoint = (0..N)
        .all(|i| (i + 1..N).all(|j| ptrs[i] + bytes <= ptrs[j] || ptrs[j] + bytes <= ptrs[i]));
    if !disjoint || ptrs.iter().any(|&p| p % std::mem::align_of::<f32>() != 0) {
        return None;
    }
    // SAFETY: each pointer addresses `n` contiguous, aligned f32s of a live CPU tensor (checked
    // above: defined, CPU, f32, contiguous, n elements, aligned) that outlives the returned
    // borrows (they borrow `tensors` mutably); the N ranges do not overlap (checked); and no other code
    // touches the memory while the views live: the caller runs between libtorch operations on
    // this thread, and libtorch's worker threads only run inside an operation.
    Some(ptrs.map(|p| unsafe { std::slice::from_raw_parts_mut(p as *mut f32, n) }))
}

/// Adam's update of `var` from `grad`, its moments `m` and `v`, and `scratch` (at least as long
/// as `var`): m ← m·β₁ + g·(1−β₁), v ← v·β₂ + (g·g)·(1−β₂), θ ← θ − ((m/bc₁)/(√(v/bc₂) + ε))·lr,
/// then the gradient zeroed; each operation rounded to f32 as the libtorch sequence rounds it,
/// the square root libtorch's own. False, touching nothing, unless all five are distinct,
/// non-overlapping, contiguous f32 CPU tensors (`var` is read through a detached handle).
pub fn adam_update(
    var: &Tensor,
    grad: &mut Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
    scratch: &Tensor,
    c: &AdamStep,
) -> bool {
    let n = var.numel();
    let mut var = var.detach();
    let Ok(len) = i64::try_from(n) else {
        return false;
    };
    if scratch.dim() != 1 || scratch.numel() < n {
        return false;
    }
    let mut root = scratch.narrow(0, 0, len);
    // Every check once, before anything is written.
    if views([&mut var, &mut *grad, &mut *m, &mut *v, &mut root], n).is_none() {
        return false;
    }
    if let Some([g, m, v, d]) = views([&mut *grad, &mut *m, v, &mut root], n) {
        for (((g, m), v), d) in g
            .iter()
            .zip(m.iter_mut())
            .zip(v.iter_mut())
            .zip(d.iter_mut())
        {
            *m = *m * c.beta1 + *g * c.one_minus_beta1;
            *v = *v * c.beta2 + (*g * *g) * c.one_minus_beta2;
            *d = *v / c.bias2;
        }
    }
    // libtorch's square root (MKL's on the CPU), as the operations take it: no view is alive.
    let _ = root.sqrt_();
    if let Some([p, g, m, r]) = views([&mut var, grad, m, &mut root], n) {
        for (((p, g), m), r) in p.iter_mut().zip(g.iter_mut()).zip(m.iter()).zip(r.iter()) {
            *p -= ((*m / c.bias1) / (*r + c.eps)) * c.lr;
            *g = 0.0;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(t: &Tensor) -> Vec<u32> {
        Vec::<f32>::try_from(t.flatten(0, -1))
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    }

    /// Three steps against libtorch's operations on an odd size: the same bits in the weights
    /// and both moments, and the gradient zeroed.
    #[test]
    fn the_update_is_the_operations_bit_for_bit() {
        tch::manual_seed(3);
        let shape = [301i64, 17];
        let p = Tensor::randn(shape, (Kind::Float, Device::Cpu));
        let (mut m, mut v) = (p.zeros_like(), p.zeros_like());
        let (mut p2, mut m2, mut v2) = (p.copy(), m.copy(), v.copy());
        let scratch = Tensor::empty([301 * 17 + 5], (Kind::Float, Device::Cpu));
        for t in 1..=3 {
            let mut g = Tensor::randn(shape, (Kind::Float, Device::Cpu));
            let c = AdamStep::new(1e-3, 0.9, 0.999, 1e-8, t);
            let (b1, b2) = (0.9f64, 0.999f64);
            let g_in = g.copy();
            m2 = &m2 * b1 + &g_in * (1.0 - b1);
            v2 = &v2 * b2 + g_in.square() * (1.0 - b2);
            let bc1 = 1.0 - b1.powi(t);
            let bc2 = 1.0 - b2.powi(t);
            p2 -= (&m2 / bc1) / ((&v2 / bc2).sqrt() + 1e-8) * 1e-3;
            assert!(adam_update(&p, &mut g, &mut m, &mut v, &scratch, &c));
            assert_eq!(bits(&p), bits(&p2), "weights, step {t}");
            assert_eq!(bits(&m), bits(&m2), "first moment, step {t}");
            assert_eq!(bits(&v), bits(&v2), "second moment, step {t}");
            assert!(bits(&g).iter().all(|&b| b == 0), "gradient zeroed");
        }
    }

    /// Where a view would be unsound or the kind is not f32, nothing is written.
    #[test]
    fn it_declines_without_touching_anything() {
        let p = Tensor::ones([8], (Kind::Float, Device::Cpu));
        let mut g = p.ones_like();
        let (mut m, mut v) = (p.zeros_like(), p.zeros_like());
        let scratch = Tensor::zeros([8], (Kind::Float, Device::Cpu));
        let c = AdamStep::new(1e-3, 0.9, 0.999, 1e-8, 1);
        let before = bits(&p);
        // The gradient is the first moment: overlapping memory.
        let mut m_again = m.shallow_clone();
        assert!(!adam_update(&p, &mut g, &mut m, &mut m_again, &scratch, &c));
        // A scratch buffer too short.
        assert!(!adam_update(
            &p,
            &mut g,
            &mut m,
            &mut v,
            &scratch.narrow(0, 0, 4),
            &c
        ));
        // Doubles.
        let d = p.to_kind(Kind::Double);
        let (mut dg, mut dm, mut dv) = (d.ones_like(), d.zeros_like(), d.zeros_like());
        assert!(!adam_update(&d, &mut dg, &mut dm, &mut dv, &scratch, &c));
        // Not contiguous.
        let wide = Tensor::ones([8, 2], (Kind::Float, Device::Cpu));
        let col = wide.select(1, 0);
        assert!(!adam_update(&col, &mut g, &mut m, &mut v, &scratch, &c));
        assert_eq!(bits(&p), before);
        assert!(
            bits(&m).iter().all(|&b| b == 0) && bits(&g).iter().all(|&b| b == 1.0f32.to_bits())
        );
    }
}
