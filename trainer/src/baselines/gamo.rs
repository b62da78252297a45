//! GAMO (Mullick, Datta, Das, "Generative adversarial minority oversampling", ICCV 2019): a
//! three-player game on the labeled data only. The **generator** makes minority samples as
//! *convex combinations* of the real samples of the class (its output is a softmax over them, so
//! every generated sample lies in the class's convex hull); the **classifier** learns from real
//! and generated samples; the generator tries to make the classifier misclassify its samples
//! while a class-conditional **discriminator** keeps them looking like real samples of the class.
//!
//! Choices: one generator for all classes, conditioned on the class one-hot (the paper has one
//! per class); generated samples per step = `gamo_ratio` × the labeled batch, classes drawn in
//! proportion to their deficit n_max − n_k (so the generated batch levels the class counts); the
//! generator's misclassification loss is −ln(1 − p_M(c | x̃)), bounded as the paper's saturating
//! form; with several modalities a generated sample combines whole multimodal samples with the
//! same weights (so its modalities stay paired), for early and late fusion alike.

use tch::{Kind, Tensor};

/// Convex weights (B×N) over the N real samples for classes `c` (B): softmax of the generator's
/// `logits` (B×N) restricted to the samples whose label is the requested class.
pub fn convex_weights(logits: &Tensor, labels: &Tensor, c: &Tensor) -> Tensor {
    let same = labels.unsqueeze(0).eq_tensor(&c.unsqueeze(1));
    logits
        .masked_fill(&same.logical_not(), f64::NEG_INFINITY)
        .softmax(1, Kind::Float)
}

/// Generated samples: the convex combinations `weights` (B×N) of the rows of `x` (N×d).
pub fn combine(weights: &Tensor, x: &Tensor) -> Tensor {
    weights.matmul(x)
}

/// Classes to generate: `n` draws in proportion to each class's deficit to the largest class
/// (deterministic, largest remainders first), none if the classes are level.
pub fn deficit_classes(counts: &[usize], n: usize) -> Vec<i64> {
    let max = counts.iter().copied().max().unwrap_or(0);
    let deficit: Vec<f64> = counts
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { (max - c) as f64 })
        .collect();
    let total: f64 = deficit.iter().sum();
    if total == 0.0 || n == 0 {
        return Vec::new();
    }
    let exact: Vec<f64> = deficit.iter().map(|d| d / total * n as f64).collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut rest: Vec<usize> = (0..counts.len()).collect();
    rest.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = n - take.iter().sum::<usize>();
    for k in rest {
        if left == 0 {
            break;
        }
        if deficit[k] > 0.0 {
            take[k] += 1;
            left -= 1;
        }
    }
    take.iter()
        .enumerate()
        .flat_map(|(k, &t)| std::iter::repeat_n(k as i64, t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_samples_lie_in_the_convex_hull_of_their_class() {
        // Five real samples in 2-D; class 1 = samples 1, 3, 4.
        let x = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0, 9.0, 9.0, 0.0, 1.0, 1.0, 1.0])
            .reshape([5, 2]);
        let labels = Tensor::from_slice(&[0i64, 1, 0, 1, 1]);
        let logits = Tensor::from_slice(&[3.0f32, -1.0, 2.0, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
            .reshape([2, 5]);
        let c = Tensor::from_slice(&[1i64, 1]);
        let w = convex_weights(&logits, &labels, &c);
        let wv = Vec::<Vec<f32>>::try_from(&w).unwrap();
        for row in &wv {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(row.iter().all(|&v| v >= 0.0));
            // No weight on samples of another class.
            assert_eq!((row[0], row[2]), (0.0, 0.0));
        }
        // Row 1 has equal logits on the class: the centroid of (1,0), (0,1), (1,1).
        let g = Vec::<Vec<f32>>::try_from(combine(&w, &x)).unwrap();
        assert!((g[1][0] - 2.0 / 3.0).abs() < 1e-6 && (g[1][1] - 2.0 / 3.0).abs() < 1e-6);
        // Every generated point is inside the class's bounding box [0, 1]² (the hull's),
        // far from the other class's (9, 9).
        for p in &g {
            assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)), "{p:?}");
        }
    }

    #[test]
    fn generated_classes_level_the_counts() {
        // Counts 10, 6, 2: deficits 0, 4, 8 → of 6 draws, 2 of class 1 and 4 of class 2.
        assert_eq!(deficit_classes(&[10, 6, 2], 6), vec![1, 1, 2, 2, 2, 2]);
        assert!(deficit_classes(&[5, 5], 4).is_empty());
    }
}
