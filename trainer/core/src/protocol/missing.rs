//! Missing-modality corruption of the training set (the paper's Section 5.5): which samples lose
//! a modality, drawn from the protocol's own stream.

use super::params::{rng, stream, Missing, Protocol};
use crate::data::MultimodalDataset;
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand::Rng;

/// Missing-modality corruption (paper §5.5), if requested.
pub(super) fn apply_missing(
    train: &mut MultimodalDataset,
    truth: &mut Vec<Option<usize>>,
    p: &Protocol,
) -> Result<()> {
    if p.missing == Missing::None {
        return Ok(());
    }
    let m = train.modalities().len();
    if m < 2 {
        return Err(DataError::InvalidParameter {
            name: "--missing",
            value: p.missing.to_string(),
            reason: "a dataset with one modality cannot lose one".into(),
        }
        .into());
    }
    let mut r = rng(p.seed, stream::MISSING);
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut r);
    for &row in &order[..train.len() / 2] {
        let present: Vec<usize> = (0..m)
            .filter(|&j| train.modalities()[j].present()[row])
            .collect();
        if present.len() >= 2 {
            let j = present[r.random_range(0..present.len())];
            train.drop_modality(row, j);
        }
    }
    if p.missing == Missing::CompleteHalf {
        let keep: Vec<usize> = (0..train.len())
            .filter(|&i| train.observed_count(i) == m)
            .collect();
        *train = train.select(&keep, keep.iter().map(|&i| train.labels()[i]).collect());
        *truth = keep.iter().map(|&i| truth[i]).collect();
    }
    Ok(())
}
