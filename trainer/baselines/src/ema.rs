//! Weight snapshots and the exponential moving average (EMA) of the weights that the FixMatch
//! family (CReST, Adsh) is evaluated with.

use tch::{nn, Tensor};

/// A copy of every variable, by name.
pub type Snapshot = Vec<(String, Tensor)>;

/// A copy of every variable of `vs`, sorted by name.
pub fn snapshot(vs: &nn::VarStore) -> Snapshot {
    let _g = tch::no_grad_guard();
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (k, t.detach().copy()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Copies `saved` back into the variables of `vs` with the same names.
pub fn restore(vs: &nn::VarStore, saved: &[(String, Tensor)]) {
    let _g = tch::no_grad_guard();
    let vars = vs.variables();
    for (k, t) in saved {
        if let Some(v) = vars.get(k) {
            v.shallow_clone().copy_(t);
        }
    }
}

/// The exponential moving average of the weights that FixMatch evaluates (Sohn et al. 2020,
/// decay 0.999 over 2^20 steps) and CReST and Adsh inherit. Our schedules are ~10^3 steps, so
/// the default decay is 0.99 (a window of ~100 steps): the same role — the average of the recent
/// tail of training — at our length. It smooths the step-to-step swings that hard pseudo-labels
/// cause, which a last-epoch evaluation would otherwise sample.
///
/// Bias-corrected as Adam's moments (the sum starts at zero and is divided by 1 − decay^t), so
/// after t steps it is a weighted mean of the t weights seen, never of the initialisation: a
/// short schedule (a few dozen steps) is evaluated on trained weights, not on a mix dominated by
/// the random start.
pub struct Ema {
    decay: f64,
    steps: i32,
    sum: Snapshot,
}

impl Ema {
    pub fn new(vs: &nn::VarStore, decay: f64) -> Self {
        let _g = tch::no_grad_guard();
        let sum = snapshot(vs)
            .into_iter()
            .map(|(k, t)| (k, t.zeros_like()))
            .collect();
        Ema {
            decay,
            steps: 0,
            sum,
        }
    }

    /// sum ← decay · sum + (1 − decay) · weights, after an optimiser step.
    pub fn update(&mut self, vs: &nn::VarStore) {
        let _g = tch::no_grad_guard();
        let vars = vs.variables();
        for (k, s) in &mut self.sum {
            if let Some(v) = vars.get(k) {
                let _ = s.g_mul_scalar_(self.decay);
                let _ = s.g_add_(&(v * (1.0 - self.decay)));
            }
        }
        self.steps = self.steps.saturating_add(1);
    }

    /// The bias-corrected average (None before the first step: the raw weights stand).
    pub fn weights(&self) -> Option<Snapshot> {
        if self.steps == 0 {
            return None;
        }
        let _g = tch::no_grad_guard();
        let scale = 1.0 / (1.0 - self.decay.powi(self.steps));
        Some(
            self.sum
                .iter()
                .map(|(k, s)| (k.clone(), s * scale))
                .collect(),
        )
    }
}

/// Runs `f` with the EMA weights loaded (if any), then puts the raw weights back.
pub fn with_weights<T>(vs: &nn::VarStore, ema: Option<&Ema>, f: impl FnOnce() -> T) -> T {
    match ema.and_then(Ema::weights) {
        None => f(),
        Some(avg) => {
            let raw = snapshot(vs);
            restore(vs, &avg);
            let out = f();
            restore(vs, &raw);
            out
        }
    }
}

/// Zeroes every gradient of `vs` (tch accumulates them).
pub fn zero_grads(vs: &nn::VarStore) {
    for (_, v) in vs.variables() {
        let g = v.grad();
        if g.defined() {
            let _ = g.detach().zero_();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn ema_averages_weights_and_evaluation_puts_the_raw_ones_back() {
        let _rng = ssmvae_core::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[1]);
        let mut ema = Ema::new(&vs, 0.5);
        let set = |v: f32| {
            let _g = tch::no_grad_guard();
            w.shallow_clone().copy_(&Tensor::from_slice(&[v]));
        };
        let read = || f32::try_from(&w).unwrap();
        // No step yet: the raw weights are evaluated.
        set(3.0);
        assert_eq!(with_weights(&vs, Some(&ema), read), 3.0);
        // Steps with weights 1 then 3: sum 0.5·1 = 0.5, then 0.5·0.5 + 0.5·3 = 1.75; corrected
        // by 1 − 0.5² = 0.75: 1.75 / 0.75 = 7/3 (weights ⅓ and ⅔). The start (0) never counts.
        set(1.0);
        ema.update(&vs);
        assert!((with_weights(&vs, Some(&ema), read) - 1.0).abs() < 1e-6);
        set(3.0);
        ema.update(&vs);
        assert!((with_weights(&vs, Some(&ema), read) - 7.0 / 3.0).abs() < 1e-6);
        assert_eq!(read(), 3.0);
        assert_eq!(with_weights(&vs, None, read), 3.0);
    }
}
