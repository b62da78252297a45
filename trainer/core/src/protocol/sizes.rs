//! The long-tailed class sizes and the labeled count per class.

use super::params::UnlabeledProfile;
use crate::error::{DataError, Result};

/// Long-tailed class sizes n_k = floor(n_max · rho^(-k/(K-1)) + 1e-9), k = 0..K-1, class 0 the
/// largest. The 1e-9 keeps exact powers (rho^(-1) · n_max a whole number) from rounding down.
pub fn long_tail_sizes(n_max: usize, rho: f64, classes: usize) -> Result<Vec<usize>> {
    if !(rho.is_finite() && rho >= 1.0) {
        return Err(DataError::InvalidParameter {
            name: "--rho",
            value: rho.to_string(),
            reason: "the imbalance ratio must be a finite number ≥ 1".into(),
        }
        .into());
    }
    if classes == 0 || n_max == 0 {
        return Err(DataError::InvalidParameter {
            name: "--n-max",
            value: n_max.to_string(),
            reason: "need at least one class and n_max ≥ 1".into(),
        }
        .into());
    }
    if classes == 1 {
        return Ok(vec![n_max]);
    }
    let sizes: Vec<usize> = (0..classes)
        .map(|k| {
            let e = -(k as f64) / (classes as f64 - 1.0);
            (n_max as f64 * rho.powf(e) + 1e-9).floor() as usize
        })
        .collect();
    if let Some(k) = sizes.iter().position(|&n| n == 0) {
        return Err(DataError::InvalidParameter {
            name: "--n-max",
            value: n_max.to_string(),
            reason: format!(
                "with rho = {rho}, class {k} would get no sample: raise n_max or lower rho"
            ),
        }
        .into());
    }
    Ok(sizes)
}

/// Labeled samples per class: l_k = max(1, round(beta · n_k)), rounding half away from zero
/// (`f64::round`), so labeled and unlabeled keep the same imbalance ratio.
pub fn labeled_counts(sizes: &[usize], beta: f64) -> Result<Vec<usize>> {
    if !(beta.is_finite() && beta > 0.0 && beta <= 1.0) {
        return Err(DataError::InvalidParameter {
            name: "--beta",
            value: beta.to_string(),
            reason: if beta > 1.0 && beta <= 100.0 {
                format!(
                    "beta is a fraction in (0, 1]: did you mean {}?",
                    beta / 100.0
                )
            } else {
                "beta is a fraction in (0, 1]".into()
            },
        }
        .into());
    }
    Ok(sizes
        .iter()
        .map(|&n| ((beta * n as f64).round() as usize).clamp(1, n.max(1)))
        .collect())
}

/// Samples drawn per class: l_k labeled plus the unlabeled count the profile gives (the
/// `unlabeled_rho` key). With u_k = n_k − l_k: consistent keeps u_k; uniform gives every class
/// max u; reversed gives the class of the i-th largest n_k (ties by index) the i-th smallest u.
pub fn drawn_sizes(profile: UnlabeledProfile, sizes: &[usize], labeled: &[usize]) -> Vec<usize> {
    // An empty class (n = 0, l = 1 by `labeled_counts`' floor) has no unlabeled sample.
    let u = || -> Vec<usize> {
        sizes
            .iter()
            .zip(labeled)
            .map(|(n, l)| n.saturating_sub(*l))
            .collect()
    };
    match profile {
        UnlabeledProfile::Consistent => sizes.to_vec(),
        UnlabeledProfile::Uniform => {
            let most = u().into_iter().max().unwrap_or(0);
            labeled.iter().map(|l| l + most).collect()
        }
        UnlabeledProfile::Reversed => {
            let mut order: Vec<usize> = (0..sizes.len()).collect();
            order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
            let u = u();
            let mut out = vec![0; sizes.len()];
            for (i, &k) in order.iter().enumerate() {
                out[k] = labeled[k] + u[order[order.len() - 1 - i]];
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unlabeled_profiles_on_a_hand_computed_tail() {
        // n = 100, 50, 10 with l = 10, 5, 1: u = 90, 45, 9.
        let (n, l) = ([100, 50, 10], [10, 5, 1]);
        assert_eq!(
            drawn_sizes(UnlabeledProfile::Consistent, &n, &l),
            [100, 50, 10]
        );
        assert_eq!(
            drawn_sizes(UnlabeledProfile::Uniform, &n, &l),
            [100, 95, 91]
        );
        assert_eq!(
            drawn_sizes(UnlabeledProfile::Reversed, &n, &l),
            [19, 50, 91]
        );
        // A natural profile that is not sorted mirrors by size, not by index.
        let (n, l) = ([10, 100, 50], [1, 10, 5]);
        assert_eq!(
            drawn_sizes(UnlabeledProfile::Reversed, &n, &l),
            [91, 19, 50]
        );
    }
}
