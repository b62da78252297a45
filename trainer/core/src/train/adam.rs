//! Adam (Kingma & Ba 2015) with its moment estimates kept as named tensors, so a checkpoint holds
//! the optimiser state and `--resume` continues exactly where training stopped (tch's built-in
//! optimiser does not expose its state).

use ssmvae_kernels::{adam_update, AdamStep};
use std::collections::BTreeMap;
use tch::{nn, Tensor};

/// Adam's state and hyper-parameters.
#[derive(Debug)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Steps taken.
    pub t: i64,
    /// First moments by variable name.
    pub m: BTreeMap<String, Tensor>,
    /// Second moments by variable name.
    pub v: BTreeMap<String, Tensor>,
    /// √(v/bc₂) of the variable being updated, as long as the largest variable (not state).
    scratch: Option<Tensor>,
}

impl Adam {
    /// Zero state for every trainable variable of `vs`, learning rate `lr`, PyTorch's defaults
    /// otherwise (β = (0.9, 0.999), ε = 1e-8).
    pub fn new(vs: &nn::VarStore, lr: f64) -> Self {
        let zeros: BTreeMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .map(|(name, t)| (name, t.zeros_like()))
            .collect();
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            v: zeros
                .iter()
                .map(|(k, t)| (k.clone(), t.zeros_like()))
                .collect(),
            m: zeros,
            scratch: None,
        }
    }

    /// One update from the gradients currently stored in `vs`, then zeroes them: on the CPU in
    /// three passes over each variable's memory (`ssmvae_kernels`), elsewhere with libtorch's
    /// operations ([`Adam::step_with_operations`]); the same bits either way.
    pub fn step(&mut self, vs: &nn::VarStore) {
        self.update(vs, true);
    }

    /// [`Adam::step`] with libtorch's operations only (fourteen per variable): the reference the
    /// fused update must equal, and the rival of the `adam` benchmark.
    pub fn step_with_operations(&mut self, vs: &nn::VarStore) {
        self.update(vs, false);
    }

    fn update(&mut self, vs: &nn::VarStore, fuse: bool) {
        let _guard = tch::no_grad_guard();
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t as i32);
        let bc2 = 1.0 - self.beta2.powi(self.t as i32);
        let fused = AdamStep::new(self.lr, self.beta1, self.beta2, self.eps, self.t as i32);
        for (name, mut var) in vs.variables() {
            let grad = var.grad();
            if !grad.defined() {
                continue;
            }
            // Three passes over the memory with the operations below, element by element (the
            // same bits); they decline where they do not apply (a GPU tensor), and the operations
            // run.
            if fuse && self.fused(&name, &var, &grad, &fused) {
                continue;
            }
            // In place, but the same libtorch operations in the same order as the out-of-place
            // m·β₁ + g·(1−β₁), v·β₂ + g²·(1−β₂), (m/bc₁)/(√(v/bc₂)+ε)·lr: every result keeps its
            // bits (the test below holds it to that), with three temporaries instead of ten.
            // Cannot fail on user input: Adam::new creates state for every variable of the store it steps.
            let m = self.m.get_mut(&name).expect("state for every variable");
            let _ = m.g_mul_scalar_(self.beta1);
            let _ = m.g_add_(&(&grad * (1.0 - self.beta1)));
            // Cannot fail on user input: Adam::new creates state for every variable of the store it steps.
            let v = self.v.get_mut(&name).expect("state for every variable");
            let mut g2 = grad.square();
            let _ = g2.g_mul_scalar_(1.0 - self.beta2);
            let _ = v.g_mul_scalar_(self.beta2);
            let _ = v.g_add_(&g2);
            let mut denom = &*v / bc2;
            let _ = denom.sqrt_();
            let _ = denom.g_add_scalar_(self.eps);
            let mut update = &*m / bc1;
            let _ = update.g_div_(&denom);
            let _ = update.g_mul_scalar_(self.lr);
            let _ = var.g_sub_(&update);
            let _ = var.grad().zero_();
        }
    }

    /// The update of `var` by `ssmvae_kernels::adam_update`, or false where it does not apply;
    /// the scratch buffer grows to the largest variable once.
    fn fused(&mut self, name: &str, var: &Tensor, grad: &Tensor, c: &AdamStep) -> bool {
        if var.device() != tch::Device::Cpu {
            return false;
        }
        let n = var.numel();
        if self.scratch.as_ref().is_none_or(|s| s.numel() < n) {
            self.scratch = Some(Tensor::empty(
                [n as i64],
                (tch::Kind::Float, tch::Device::Cpu),
            ));
        }
        let (Some(m), Some(v), Some(s)) = (
            self.m.get_mut(name),
            self.v.get_mut(name),
            self.scratch.as_ref(),
        ) else {
            return false;
        };
        adam_update(var, &mut grad.shallow_clone(), m, v, s, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// Both paths (the fused passes and the in-place operations) give, bit for bit, what the
    /// out-of-place formula gives: training results committed before either rewrite still
    /// repeat.
    #[test]
    fn in_place_update_keeps_every_bit() {
        let _rng = crate::torch_rng_lock();
        for fuse in [true, false] {
            tch::manual_seed(7);
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().randn("w", &[257, 33], 0.0, 1.0);
            let mut reference = w.detach().copy();
            let mut adam = Adam::new(&vs, 1e-3);
            let (mut m, mut v) = (w.zeros_like(), w.zeros_like());
            for t in 1..=5 {
                let g = Tensor::randn([257, 33], (Kind::Float, Device::Cpu));
                (&w * &g).sum(Kind::Float).backward();
                if fuse {
                    adam.step(&vs);
                } else {
                    adam.step_with_operations(&vs);
                }
                let (b1, b2) = (0.9f64, 0.999f64);
                let bc1 = 1.0 - b1.powi(t);
                let bc2 = 1.0 - b2.powi(t);
                m = &m * b1 + &g * (1.0 - b1);
                v = &v * b2 + g.square() * (1.0 - b2);
                let update = (&m / bc1) / ((&v / bc2).sqrt() + 1e-8) * 1e-3;
                reference -= update;
                let bits = |t: &Tensor| Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
                let (a, b) = (bits(&w.detach()), bits(&reference));
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "step {t}, fused {fuse}"
                );
                assert!(bits(&w.grad()).iter().all(|&x| x == 0.0), "gradient zeroed");
            }
            // The fused path took the CPU variable: its scratch buffer exists.
            assert_eq!(adam.scratch.is_some(), fuse);
        }
    }
}
