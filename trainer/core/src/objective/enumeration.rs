//! Which class copies U enumerates (docs/model.md §6.5; `enumeration_floor = ε`).
//!
//! U(x) = Σ_y q(y|x) L_γ(x, y) − c H(q) (Eq. 8) runs every unlabeled sample through the experts
//! and decoders once per class: the K-fold enumeration is most of a training step's products
//! (docs/performance.md, training speed). With c ≈ 0.06 the classifier soon puts all but a sliver of its mass
//! on one or two classes (§6.4), and a class of weight q_y < ε moves U by at most ε L_γ(x, y).
//! Under a floor ε > 0 only the copies with q_y ≥ ε (and always the most probable class) are
//! enumerated. A skipped copy's L_γ is imputed by the kept copies' q-weighted mean L̄ (held
//! constant): U = Σ_kept q_y L_γ(x, y) + (1 − Σ_kept q_y) L̄ − c H(q). U then moves by at most
//! Σ_skipped q_y |L_γ(x, y) − L̄| ≤ (K − 1) ε max_y |L_γ − L̄|, the kept copies get their exact
//! gradient q_y ∇L_γ, and a skipped class's logit gets no push from the expectation (the exact
//! one, q_y (L_γ(x, y) − U), is of order ε). Imputing 0 instead would make a skipped class look
//! like the best fit and push its q up toward ε at every step. H(q) is exact. ε = 0 enumerates
//! every class through the tiled path, bit for bit the paper's estimator.

use tch::Tensor;

/// The (sample, class) copies kept for U, class-major as the tiled batch (copy y of sample b
/// before copy y + 1 of any sample): with every copy kept, `rows` and `classes` equal the tiled
/// batch's sample and class indices.
#[derive(Debug)]
pub struct Enumeration {
    /// The sample (row of the B-batch) of each kept copy.
    pub rows: Tensor,
    /// The class of each kept copy.
    pub classes: Tensor,
    /// B×K, true where the copy is kept.
    pub kept: Tensor,
}

impl Enumeration {
    /// The copies of a B×K log q(y|x) with q ≥ `floor`, and each sample's most probable class
    /// whatever the floor (the sample's U is then never empty). Computed without gradients.
    pub fn new(log_q: &Tensor, floor: f64) -> Self {
        tch::no_grad(|| {
            let log_q = log_q.detach();
            let top = log_q.eq_tensor(&log_q.amax([1], true));
            let kept = log_q.ge(floor.ln()).logical_or(&top);
            let nz = kept.transpose(0, 1).nonzero();
            Enumeration {
                rows: nz.select(1, 1),
                classes: nz.select(1, 0),
                kept,
            }
        })
    }

    /// The kept copies' share of the B·K copies the paper enumerates.
    pub fn share(&self) -> f64 {
        let total = self.kept.numel().max(1) as f64;
        self.rows.size()[0] as f64 / total
    }

    /// Per-copy γ-losses (one per kept copy, in order) laid out as B×K, each skipped copy
    /// imputed by its sample's kept copies' mean under `log_q` (B×K), held constant: the kept
    /// entries are differentiable in `losses`, the imputed ones carry no gradient.
    pub fn impute(&self, losses: &Tensor, log_q: &Tensor) -> Tensor {
        let full = self.scatter(losses);
        let fill = tch::no_grad(|| {
            let q = log_q.detach().exp() * self.kept.to_kind(full.kind());
            (&q * full.detach()).sum_dim_intlist(1, true, None) / q.sum_dim_intlist(1, true, None)
        });
        let skipped = self.kept.logical_not().to_kind(full.kind());
        full + skipped * fill
    }

    /// Per-copy values (one per kept copy, in order) laid out as B×K, 0 at the skipped copies;
    /// differentiable in `values`.
    fn scatter(&self, values: &Tensor) -> Tensor {
        let (b, k) = (self.kept.size()[0], self.kept.size()[1]);
        let flat = &self.classes * b + &self.rows;
        Tensor::zeros([k * b], (values.kind(), values.device()))
            .index_add(0, &flat, values)
            .reshape([k, b])
            .transpose(0, 1)
    }

    /// `losses` (B×K) with the skipped copies at +∞, for a rule that looks for the class of
    /// lowest γ-loss (the agreement gate, §12.7) and must not find a skipped copy's 0.
    pub fn mask_skipped(&self, losses: &Tensor) -> Tensor {
        losses.masked_fill(&self.kept.logical_not(), f64::INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn ints(t: &Tensor) -> Vec<i64> {
        Vec::<i64>::try_from(t.to_kind(Kind::Int64)).unwrap()
    }

    #[test]
    fn the_floor_keeps_the_probable_copies_class_major_and_always_the_top_class() {
        // Sample 0: q = (0.7, 0.3, 1e-5); sample 1: q = (1e-6, 1e-6, ~1); floor 1e-3.
        let q = Tensor::from_slice(&[0.7f32, 0.3, 1e-5, 1e-6, 1e-6, 1.0 - 2e-6]).reshape([2, 3]);
        let e = Enumeration::new(&q.log(), 1e-3);
        assert_eq!(ints(&e.classes), vec![0, 1, 2]);
        assert_eq!(ints(&e.rows), vec![0, 0, 1]);
        assert!((e.share() - 0.5).abs() < 1e-12);
        // A floor above every class still keeps each sample's top class.
        let e = Enumeration::new(&q.log(), 0.99);
        assert_eq!(ints(&e.classes), vec![0, 2]);
        assert_eq!(ints(&e.rows), vec![0, 1]);
        // No floor: every copy, in the tiled batch's order.
        let e = Enumeration::new(&q.log(), 0.0);
        assert_eq!(ints(&e.classes), vec![0, 0, 1, 1, 2, 2]);
        assert_eq!(ints(&e.rows), vec![0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn scattered_copies_fill_their_class_and_leave_the_skipped_at_zero() {
        let q = Tensor::from_slice(&[0.7f32, 0.3, 1e-5, 1e-6, 1e-6, 1.0 - 2e-6]).reshape([2, 3]);
        let e = Enumeration::new(&q.log(), 1e-3);
        let v = Tensor::from_slice(&[10.0f32, 20.0, 30.0]).set_requires_grad(true);
        let full = e.scatter(&v);
        let want = [10.0f32, 20.0, 0.0, 0.0, 0.0, 30.0];
        assert_eq!(Vec::<f32>::try_from(full.flatten(0, -1)).unwrap(), want);
        // The gradient reaches each kept copy once.
        (&full * Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).reshape([2, 3]))
            .sum(Kind::Float)
            .backward();
        assert_eq!(Vec::<f32>::try_from(v.grad()).unwrap(), vec![1.0, 2.0, 6.0]);
        let masked = e.mask_skipped(&full.detach());
        assert_eq!(
            Vec::<f32>::try_from(masked.argmin(1, false).to_kind(Kind::Float)).unwrap(),
            vec![0.0, 2.0]
        );
    }

    #[test]
    fn a_skipped_copy_takes_the_kept_mean_and_no_gradient() {
        // Sample 0 keeps classes 0 and 1 (q 0.6, 0.3): L̄ = (0.6·10 + 0.3·20)/0.9 = 13.33…, the
        // skipped class 2 (q 0.1, floor 0.2) takes it. Sample 1 keeps only class 2.
        let q = Tensor::from_slice(&[0.6f64, 0.3, 0.1, 0.05, 0.05, 0.9]).reshape([2, 3]);
        let e = Enumeration::new(&q.log(), 0.2);
        let v = Tensor::from_slice(&[10.0f64, 20.0, 5.0]).set_requires_grad(true);
        let full = e.impute(&v, &q.log());
        let got = Vec::<f64>::try_from(full.flatten(0, -1)).unwrap();
        let want = [10.0, 20.0, 40.0 / 3.0, 5.0, 5.0, 5.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        // Σ_y q_y L_y: the kept copies' gradient is their q, untouched by the imputation.
        (&full * &q).sum(Kind::Double).backward();
        assert_eq!(Vec::<f64>::try_from(v.grad()).unwrap(), vec![0.6, 0.3, 0.9]);
    }
}
