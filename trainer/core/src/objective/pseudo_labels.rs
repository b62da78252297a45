//! Class-rebalanced pseudo-labels (Wei et al., "CReST: a class-rebalancing self-training framework
//! for imbalanced semi-supervised learning", CVPR 2021, Eq. 4): after a generation of training,
//! the unlabeled samples predicted as class k join the labeled set, the most confident first, at a
//! rate that keeps every pseudo-label of the rarest class and few of the largest. Used by the CReST
//! baseline and by SSMVAE-CI's self-training generations (docs/model.md §12.12).

use super::PseudoLabelCap;

/// Inclusion rate of each class (index order), μ_k = (N_{K−1−r(k)} / N_0)^α where r(k) is class
/// k's rank by labeled count (0 = largest; ties broken by class index) and N sorted descending.
pub fn inclusion_rates(labeled_counts: &[usize], alpha: f64) -> Vec<f64> {
    let k = labeled_counts.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| labeled_counts[b].cmp(&labeled_counts[a]).then(a.cmp(&b)));
    let sorted: Vec<f64> = order.iter().map(|&c| labeled_counts[c] as f64).collect();
    let n0 = sorted.first().copied().unwrap_or(1.0).max(1.0);
    let mut rates = vec![0.0; k];
    for (rank, &class) in order.iter().enumerate() {
        rates[class] = (sorted[k - 1 - rank] / n0).powf(alpha);
    }
    rates
}

/// The pseudo-labeled samples CReST adds: for each class k, the ⌊μ_k · n̂_k⌋ most confident of the
/// n̂_k unlabeled samples predicted as k (ties by sample order), at most `caps[k]` of them when
/// `caps` is given ([`class_caps`]). `pred[i]`, `conf[i]` are sample i's predicted class and
/// confidence. Returns (sample, class) pairs sorted by sample.
pub fn select_pseudo_labels(
    pred: &[usize],
    conf: &[f64],
    rates: &[f64],
    caps: Option<&[usize]>,
) -> Vec<(usize, usize)> {
    let mut picked = Vec::new();
    for (class, &rate) in rates.iter().enumerate() {
        let mut members: Vec<usize> = (0..pred.len()).filter(|&i| pred[i] == class).collect();
        members.sort_by(|&a, &b| conf[b].total_cmp(&conf[a]).then(a.cmp(&b)));
        let by_rate = (rate * members.len() as f64 + 1e-9).floor() as usize;
        let take = caps.map_or(by_rate, |c| by_rate.min(c[class]));
        picked.extend(members.into_iter().take(take).map(|i| (i, class)));
    }
    picked.sort_unstable();
    picked
}

/// How many pseudo-labels each class may gain under `cap` (docs/model.md §12.12), `None` when
/// CReST's rates alone decide. `head-gap`: N_0 − N_k, so no class ends above the largest class's
/// labeled count — pseudo-labels only rebalance the labels and never outnumber them in the head.
/// `head-count`: N_0 for every class, so no class gains more pseudo-labels than the head has
/// labels, the head included.
pub fn class_caps(cap: PseudoLabelCap, labeled_counts: &[usize]) -> Option<Vec<usize>> {
    let n0 = labeled_counts.iter().copied().max().unwrap_or(0);
    match cap {
        PseudoLabelCap::None => None,
        PseudoLabelCap::HeadGap => Some(labeled_counts.iter().map(|&n| n0 - n).collect()),
        PseudoLabelCap::HeadCount => Some(vec![n0; labeled_counts.len()]),
    }
}

/// Each class's quota of pseudo-label candidates (`self_training_select = "quota"`, docs/model.md
/// §12.12): ⌊N_u · N_k / N_l⌋, its expected share of the `unlabeled` samples when they follow the
/// labels' class distribution (the assumption CReST's rates and DARP's targets rest on).
pub fn class_quotas(labeled_counts: &[usize], unlabeled: usize) -> Vec<usize> {
    let total: usize = labeled_counts.iter().sum();
    labeled_counts
        .iter()
        .map(|&n| (unlabeled * n).checked_div(total).unwrap_or(0))
        .collect()
}

/// Fills each class to its quota from the most probable (sample, class) pairs down: the pairs of
/// `probs` (row-major, one row of `classes` probabilities per sample) in decreasing probability
/// (ties by sample, then class), each taken when its sample has no class yet and its class is
/// under quota. A greedy solution of DARP's assignment (Kim et al., "Distribution aligning
/// refinery of pseudo-label for imbalanced semi-supervised learning", NeurIPS 2020): the class
/// distribution of the candidates is fixed, so a class the model never predicts still receives
/// the samples no other class claimed first. Returns each sample's class and its probability
/// (None when every quota it could fill was full).
pub fn quota_assignment(
    probs: &[f64],
    classes: usize,
    quotas: &[usize],
) -> Vec<Option<(usize, f64)>> {
    let n = probs.len() / classes.max(1);
    let mut pairs: Vec<usize> = (0..n * classes).collect();
    pairs.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    let mut left = quotas.to_vec();
    let mut assigned = vec![None; n];
    for pair in pairs {
        let (i, k) = (pair / classes, pair % classes);
        if assigned[i].is_none() && left[k] > 0 {
            left[k] -= 1;
            assigned[i] = Some((k, probs[pair]));
        }
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_rates_keep_the_rarest_class_and_cut_the_largest() {
        // N = (100, 10, 1) sorted already, α = 1: μ_0 = N_2/N_0 = 0.01, μ_1 = N_1/N_0 = 0.1,
        // μ_2 = N_0/N_0 = 1.
        let r = inclusion_rates(&[100, 10, 1], 1.0);
        assert_eq!(r, vec![0.01, 0.1, 1.0]);
        // α = 1/2 and classes out of order: counts (1, 100, 25) rank as 1, 2, 0.
        let r = inclusion_rates(&[1, 100, 25], 0.5);
        let want = [1.0, (1.0f64 / 100.0).sqrt(), (25.0f64 / 100.0).sqrt()];
        for (a, b) in r.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{r:?}");
        }
        // α = 0 keeps everything.
        assert_eq!(inclusion_rates(&[9, 3, 1], 0.0), vec![1.0; 3]);
    }

    #[test]
    fn selection_takes_the_most_confident_share_per_predicted_class() {
        let pred = [0, 0, 0, 0, 1, 1, 0, 1];
        let conf = [0.9, 0.5, 0.99, 0.7, 0.6, 0.8, 0.3, 0.55];
        // Class 0: 5 predicted, rate 0.4 → 2 (samples 2 and 0); class 1: 3 predicted, rate 1 → all.
        let picked = select_pseudo_labels(&pred, &conf, &[0.4, 1.0], None);
        assert_eq!(picked, vec![(0, 0), (2, 0), (4, 1), (5, 1), (7, 1)]);
    }

    #[test]
    fn filling_to_the_head_caps_each_class_at_its_gap() {
        use PseudoLabelCap::HeadGap;
        // Labeled counts (5, 3, 1): gaps 0, 2, 4.
        assert_eq!(class_caps(HeadGap, &[5, 3, 1]), Some(vec![0, 2, 4]));
        assert_eq!(class_caps(HeadGap, &[2, 7]), Some(vec![5, 0]));
        let pred = [0, 1, 1, 1, 2, 0, 1, 2];
        let conf = [0.9, 0.6, 0.95, 0.7, 0.5, 0.8, 0.7, 0.99];
        let gaps = class_caps(HeadGap, &[5, 3, 1]).unwrap();
        // Class 0 (the head) gains nothing; class 1 keeps its 2 most confident of 0.6, 0.95, 0.7,
        // 0.7 — sample 2 (0.95), then sample 3 (0.7, before sample 6 by order); class 2 keeps
        // both (gap 4).
        let kept = select_pseudo_labels(&pred, &conf, &[1.0, 1.0, 1.0], Some(&gaps));
        assert_eq!(kept, vec![(2, 1), (3, 1), (4, 2), (7, 2)]);
        // The rate still applies under the cap: class 1 at rate 0.5 takes ⌊0.5 · 4⌋ = 2 (the cap
        // too), class 2 at 0.5 takes 1 of 2 (sample 7, 0.99).
        let kept = select_pseudo_labels(&pred, &conf, &[1.0, 0.5, 0.5], Some(&gaps));
        assert_eq!(kept, vec![(2, 1), (3, 1), (7, 2)]);
    }

    #[test]
    fn quotas_follow_the_labels_and_fill_from_the_most_probable_pairs() {
        // Labels 3 : 1 over 8 unlabeled samples: quotas 6 and 2.
        assert_eq!(class_quotas(&[3, 1], 8), vec![6, 2]);
        assert_eq!(class_quotas(&[100, 1], 50), vec![49, 0]);
        // Four samples every one of which the model predicts as class 0, quotas 2 and 2. Pairs by
        // probability: (0,0) .9, (1,0) .8, (2,0) .7, (3,0) .6, (3,1) .4, (2,1) .3, …: samples 0
        // and 1 fill class 0; (2,0) and (3,0) find it full; (3,1) and (2,1) fill class 1.
        let probs = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4];
        let got = quota_assignment(&probs, 2, &[2, 2]);
        assert_eq!(
            got,
            vec![
                Some((0, 0.9)),
                Some((0, 0.8)),
                Some((1, 0.3)),
                Some((1, 0.4))
            ]
        );
        // Quotas short of the samples leave the last ones out.
        let got = quota_assignment(&probs, 2, &[1, 1]);
        assert_eq!(got, vec![Some((0, 0.9)), None, None, Some((1, 0.4))]);
    }

    #[test]
    fn capping_at_the_head_count_lets_the_head_grow_and_bounds_every_class() {
        use PseudoLabelCap::HeadCount;
        // Labeled counts (2, 1, 1): every class may gain at most N_0 = 2.
        assert_eq!(class_caps(HeadCount, &[2, 1, 1]), Some(vec![2, 2, 2]));
        assert_eq!(class_caps(PseudoLabelCap::None, &[2, 1, 1]), None);
        let pred = [0, 0, 0, 1, 1, 1, 1, 2];
        let conf = [0.9, 0.8, 0.7, 0.6, 0.95, 0.7, 0.65, 0.5];
        let caps = class_caps(HeadCount, &[2, 1, 1]).unwrap();
        // Class 0 (the head) keeps its 2 most confident of 3 (samples 0, 1), class 1 its 2 of 4
        // (sample 4 at 0.95, sample 5 at 0.7), class 2 its only one; uncapped all 8 join.
        let kept = select_pseudo_labels(&pred, &conf, &[1.0, 1.0, 1.0], Some(&caps));
        assert_eq!(kept, vec![(0, 0), (1, 0), (4, 1), (5, 1), (7, 2)]);
        assert_eq!(select_pseudo_labels(&pred, &conf, &[1.0; 3], None).len(), 8);
    }
}
