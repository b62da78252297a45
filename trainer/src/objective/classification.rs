//! The classifier product of experts (docs/model.md §3.2) and the classification term of Eq. 9 (§7).

use tch::{Kind, Tensor};

/// log q(y | x_S) = log_softmax(Σ_{j∈S} a_j): the PoE of per-modality softmax experts equals the
/// softmax of the summed logits, because each expert's normaliser does not depend on y (§3.2).
/// `logits[j]` is B×K; `present` is B×M (bool); missing modalities are skipped.
pub fn classifier_poe_log_probs(logits: &[Tensor], present: &Tensor) -> Tensor {
    let mut sum: Option<Tensor> = None;
    for (j, a) in logits.iter().enumerate() {
        let mask = present.select(1, j as i64).unsqueeze(1).to_kind(a.kind());
        let term = a * mask;
        sum = Some(match sum {
            None => term,
            Some(s) => s + term,
        });
    }
    // Cannot fail on user input: a model spec always has at least one modality.
    sum.expect("at least one modality")
        .log_softmax(1, None::<Kind>)
}

/// The classification term of Eq. 9 (docs/model.md §7), per labeled sample: −ln q(y | x_S),
/// B-vector. The caller weights it by α̃ = a · N / N_l.
pub fn classification_loss(log_q: &Tensor, y: &Tensor) -> Tensor {
    -log_q.gather(1, &y.unsqueeze(1), false).squeeze_dim(1)
}
