//! A multilayer perceptron whose first layer is split into an x-part and a y-part.
//!
//! Experts take [x_j ; onehot(y)]. A linear layer on that concatenation equals
//! W_x x + W_y onehot(y) + b, so the x-part W_x x + b (the expensive part, d_j × h) is computed
//! once per sample and the y-part is a column of W_y, gathered per class. The unlabeled term
//! enumerates all K classes (Eq. 8); this split keeps it from paying K times for what does not
//! depend on y.

use super::precision::{cast_weight, matmul_kind};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Hidden-layer activation (ReLU, the paper's).
fn act(t: &Tensor) -> Tensor {
    t.relu()
}

/// A linear layer initialised as PyTorch's `nn.Linear` (weights and biases uniform in
/// ±1/√fan_in). tch's default, Kaiming-uniform with the ReLU gain, is √6 ≈ 2.4× wider; with six
/// summed classifier experts that makes q(y|x) nearly one-hot at initialisation, and the
/// unlabeled term's hard self-training (docs/model.md §6.4) then freezes random pseudo-labels.
fn linear(p: nn::Path, fan_in: i64, out: i64) -> nn::Linear {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let init = nn::Init::Uniform {
        lo: -bound,
        up: bound,
    };
    nn::linear(
        p,
        fan_in,
        out,
        nn::LinearConfig {
            ws_init: init,
            bs_init: Some(init),
            bias: true,
        },
    )
}

/// An MLP: first layer on [x ; onehot(y)] (y-part optional), `hidden` ReLU layers, linear output.
///
/// The first layer is one `layer0` linear over the concatenated input (so its initialisation is
/// that of a layer with fan-in d + K, as in a plain concatenation); the x-part and y-part are
/// column slices of its weight.
#[derive(Debug)]
pub struct Mlp {
    first: nn::Linear,
    input: i64,
    classes: i64,
    rest: Vec<nn::Linear>,
}

impl Mlp {
    /// `input` features of x, `classes` one-hot y inputs (0 = none), `hidden` sizes, `output` size.
    /// Variables: `layer{i}.{weight,bias}`; `layer0.weight` is h × (d + K), x columns first.
    pub fn new(p: &nn::Path, input: i64, classes: i64, hidden: &[i64], output: i64) -> Self {
        let widths: Vec<i64> = hidden.iter().copied().chain([output]).collect();
        let first = linear(p / "layer0", input + classes, widths[0]);
        let rest = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(p / format!("layer{}", i + 1), w[0], w[1]))
            .collect();
        Mlp {
            first,
            input,
            classes,
            rest,
        }
    }

    /// The x-part of the first layer (pre-activation), computed once per sample; f32 whatever
    /// the scope's precision, since the y-part (f32 columns of W_y) is added to it.
    pub fn x_part(&self, x: &Tensor) -> Tensor {
        let w = self.first.ws.narrow(1, 0, self.input);
        match matmul_kind() {
            Kind::Float => match &self.first.bs {
                Some(b) => x.linear(&w, Some(b)),
                None => x.linear::<Tensor>(&w, None),
            },
            k => {
                let w = cast_weight(&self.first.ws).narrow(1, 0, self.input);
                let h = x.to_kind(k).linear::<Tensor>(&w, None).to_kind(Kind::Float);
                match &self.first.bs {
                    Some(b) => h + b,
                    None => h,
                }
            }
        }
    }

    /// The y-part of the first layer for class indices `y` (B): the matching columns of W_y.
    pub fn y_part(&self, y: &Tensor) -> Tensor {
        assert!(self.classes > 0, "this MLP takes no class input");
        let w = self.first.ws.narrow(1, self.input, self.classes);
        w.transpose(0, 1).index_select(0, y)
    }

    /// Everything after the first layer's pre-activation. In a reduced-precision scope
    /// ([`matmul_kind`]) the hidden activations stay in that kind between layers (as autocast
    /// keeps a linear layer's output) and the output returns to f32.
    pub fn finish(&self, first_pre: &Tensor) -> Tensor {
        let kind = matmul_kind();
        if kind == Kind::Float || self.rest.is_empty() {
            let mut h = first_pre.shallow_clone();
            for layer in &self.rest {
                h = layer.forward(&act(&h));
            }
            return h;
        }
        let mut h = first_pre.to_kind(kind);
        for layer in &self.rest {
            let b = layer.bs.as_ref().map(cast_weight);
            h = act(&h).linear(&cast_weight(&layer.ws), b.as_ref());
        }
        h.to_kind(Kind::Float)
    }

    /// The layers in order, as (weight out × in, bias): what export writes. The first layer's
    /// weight is the whole h × (d + K) matrix, x columns first.
    pub fn layers(&self) -> impl Iterator<Item = (&Tensor, Option<&Tensor>)> {
        std::iter::once(&self.first)
            .chain(&self.rest)
            .map(|l| (&l.ws, l.bs.as_ref()))
    }

    /// The whole MLP on x (no class input).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.finish(&self.x_part(x))
    }

    /// The whole MLP on [x ; onehot(y)].
    pub fn forward_with_class(&self, x: &Tensor, y: &Tensor) -> Tensor {
        self.finish(&(self.x_part(x) + self.y_part(y)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::precision::matmul_scope;
    use tch::{nn, Kind, Tensor};

    /// Relative Frobenius distance.
    fn rel(a: &Tensor, b: &Tensor) -> f64 {
        let d = f64::try_from((a - b).norm()).unwrap();
        d / f64::try_from(b.norm()).unwrap()
    }

    /// A bf16 scope changes the MLP's products only: its output and the gradient it sends to the
    /// f32 weights stay f32 and near the f32 computation — the output within bfloat16's rounding
    /// (8-bit mantissa: 2⁻⁸ ≈ 0.4 % per rounding; measured 0.4 %), the gradients within 10 %
    /// (measured 5 %, 1.3 %, 0.3 % from the first layer to the last: a pre-activation near zero
    /// that rounds to the other side of the ReLU moves its whole contribution, and the first
    /// layer's gradient passes two such masks). A wiring mistake — a gradient that does not reach
    /// the f32 weights, or reaches them twice — is off by 100 %. The weights are cast once per
    /// scope.
    #[test]
    fn bf16_scope_keeps_f32_outputs_and_gradients_near_f32() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(7);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let mlp = Mlp::new(&vs.root(), 300, 4, &[256, 256], 20);
        let x = Tensor::randn([64, 300], (Kind::Float, tch::Device::Cpu));
        let y = Tensor::randint(4, [64], (Kind::Int64, tch::Device::Cpu));
        let grads = |kind: Kind| {
            for mut g in vs.trainable_variables().iter().map(Tensor::grad) {
                if g.defined() {
                    let _ = g.zero_();
                }
            }
            let _scope = matmul_scope(kind);
            let out = mlp.forward_with_class(&x, &y);
            assert_eq!(out.kind(), Kind::Float);
            out.square().sum(Kind::Float).backward();
            let g: Vec<Tensor> = mlp.layers().map(|(w, _)| w.grad().copy()).collect();
            (out.detach(), g)
        };
        let (out32, g32) = grads(Kind::Float);
        let (out16, g16) = grads(Kind::BFloat16);
        let d = rel(&out16, &out32);
        assert!(d > 0.0 && d < 2e-2, "output relative difference {d}");
        for (a, b) in g16.iter().zip(&g32) {
            assert_eq!(a.kind(), Kind::Float);
            let d = rel(a, b);
            assert!(d < 0.1, "gradient relative difference {d}");
        }
        let _scope = matmul_scope(Kind::BFloat16);
        let w = mlp.layers().next().unwrap().0;
        assert_eq!(cast_weight(w).data_ptr(), cast_weight(w).data_ptr());
        assert_eq!(cast_weight(w).kind(), Kind::BFloat16);
    }
}
