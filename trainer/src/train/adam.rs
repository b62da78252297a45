//! Adam (Kingma & Ba 2015) with its moment estimates kept as named tensors, so a checkpoint holds
//! the optimiser state and `--resume` continues exactly where training stopped (tch's built-in
//! optimiser does not expose its state).

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
        }
    }

    /// One update from the gradients currently stored in `vs`, then zeroes them.
    pub fn step(&mut self, vs: &nn::VarStore) {
        let _guard = tch::no_grad_guard();
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t as i32);
        let bc2 = 1.0 - self.beta2.powi(self.t as i32);
        for (name, mut var) in vs.variables() {
            let grad = var.grad();
            if !grad.defined() {
                continue;
            }
            // Cannot fail on user input: Adam::new creates state for every variable of the store it steps.
            let m = self.m.get_mut(&name).expect("state for every variable");
            *m = &*m * self.beta1 + &grad * (1.0 - self.beta1);
            // Cannot fail on user input: Adam::new creates state for every variable of the store it steps.
            let v = self.v.get_mut(&name).expect("state for every variable");
            *v = &*v * self.beta2 + grad.square() * (1.0 - self.beta2);
            let update = (&*m / bc1) / ((&*v / bc2).sqrt() + self.eps) * self.lr;
            let _ = var.g_sub_(&update);
            let _ = var.grad().zero_();
        }
    }
}
