//! A dataset as tensors on the training device, and the per-sample objective constants gathered
//! from each sample's observed subset S.

use crate::data::MultimodalDataset;
use crate::model::ModelSpec;
use crate::objective::gamma::BatchConstants;
use crate::objective::{Latent, SubsetConstants};
use crate::train::config::EntropyCoef;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

/// A dataset's arrays on the device.
#[derive(Debug)]
pub struct DataTensors {
    /// One N×d_j f32 tensor per modality (preprocessed; missing rows are zeros).
    pub xs: Vec<Tensor>,
    /// N×M presence mask (bool).
    pub present: Tensor,
    /// The presence mask on the host, for computing constants.
    pub present_rows: Vec<Vec<bool>>,
    /// Labels (`None` = unlabeled).
    pub labels: Vec<Option<usize>>,
    /// Modality input dimensions.
    pub dims: Vec<usize>,
}

impl DataTensors {
    /// Copies a (preprocessed) dataset to `device`.
    pub fn new(ds: &MultimodalDataset, device: Device) -> Self {
        let xs = ds
            .modalities()
            .iter()
            .map(|m| {
                let d = m.data();
                let flat: Vec<f32> = d.iter().copied().collect();
                Tensor::from_slice(&flat)
                    .reshape([d.nrows() as i64, d.ncols() as i64])
                    .to_device(device)
            })
            .collect();
        let present_rows: Vec<Vec<bool>> = (0..ds.len())
            .map(|i| ds.modalities().iter().map(|m| m.present()[i]).collect())
            .collect();
        let flat: Vec<bool> = present_rows.iter().flatten().copied().collect();
        let present = Tensor::from_slice(&flat)
            .reshape([ds.len() as i64, ds.modalities().len() as i64])
            .to_device(device);
        DataTensors {
            xs,
            present,
            present_rows,
            labels: ds.labels().to_vec(),
            dims: ds.modalities().iter().map(|m| m.dim()).collect(),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Columns of the per-sample constant table.
const COLS: i64 = 9;

/// Per-sample constants for the modalities `cols` of a dataset, N×9 (f32 on `device`): the
/// constants of each sample's observed subset S ⊆ cols, computed once per distinct S in f64
/// (docs/model.md §5.1, §8.1) and then cast.
pub fn constant_table(
    present_rows: &[Vec<bool>],
    dims: &[usize],
    cols: &[usize],
    spec: &ModelSpec,
    entropy: EntropyCoef,
    device: Device,
) -> Tensor {
    let mut cache: HashMap<Vec<bool>, [f64; COLS as usize]> = HashMap::new();
    let (m, nu, sigma, latent) = (spec.latent_dim as f64, spec.nu, spec.sigma, spec.latent);
    let mut flat = Vec::with_capacity(present_rows.len() * COLS as usize);
    for row in present_rows {
        let subset: Vec<bool> = cols.iter().map(|&j| row[j]).collect();
        let entry = cache.entry(subset.clone()).or_insert_with(|| {
            let n_s: f64 = cols
                .iter()
                .zip(&subset)
                .filter(|(_, &p)| p)
                .map(|(&j, _)| dims[j] as f64)
                .sum();
            let k = match latent {
                Latent::StudentT => SubsetConstants::new(nu, n_s, m, n_s * sigma.ln()),
                Latent::Gaussian => SubsetConstants::gaussian(n_s, m),
            };
            let (trace_coef, shift, dof) = k.scale_space_terms(nu, latent);
            let c = match entropy {
                EntropyCoef::C => k.c,
                EntropyCoef::Tau2 => k.tau2,
                EntropyCoef::Value(v) => v,
            };
            [
                trace_coef,
                shift,
                k.e,
                nu * k.c_big,
                k.k1,
                c,
                dof,
                k.tau2,
                k.c,
            ]
        });
        flat.extend(entry.iter().map(|&v| v as f32));
    }
    Tensor::from_slice(&flat)
        .reshape([present_rows.len() as i64, COLS])
        .to_device(device)
}

/// The constants of the rows `idx` of a table; `neg_log_prior` (K, = −ln π) adds the empirical
/// label prior −c_S ln π_y.
pub fn gather_constants(
    table: &Tensor,
    idx: &Tensor,
    neg_log_prior: Option<&Tensor>,
) -> BatchConstants {
    let rows = table.index_select(0, idx);
    let col = |i: i64| rows.select(1, i);
    BatchConstants {
        trace_coef: col(0),
        log_sigma_shift: col(1),
        e: col(2),
        nu_c: col(3),
        k1: col(4),
        c: col(5),
        dof: col(6),
        tau2: col(7),
        label_prior: neg_log_prior.map(|p| col(8).unsqueeze(1) * p.unsqueeze(0)),
    }
}

/// Indices as an i64 tensor on `device`.
pub fn index_tensor(idx: &[usize], device: Device) -> Tensor {
    let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_slice(&v)
        .to_kind(Kind::Int64)
        .to_device(device)
}

/// Labeled batches drawn by cycling through a shuffled list of rows, reshuffled at each wrap, so
/// a labeled set smaller than an epoch's steps × batch is revisited evenly (both training loops
/// draw their labeled batches this way). By class ([`LabeledCycle::by_class`]), there is one
/// such cycle per class and each slot of a batch first draws its class.
#[derive(Debug)]
pub struct LabeledCycle {
    /// One cycle (rows, position) per group: one group, or one per class.
    groups: Vec<(Vec<usize>, usize)>,
    /// Cumulative class weights Σ_{k≤j} n_k^q when the class draw is not uniform (q > 0).
    cumulative: Option<Vec<f64>>,
}

impl LabeledCycle {
    /// Starts from `rows`, already shuffled by the caller.
    pub fn new(rows: Vec<usize>) -> Self {
        LabeledCycle {
            groups: vec![(rows, 0)],
            cumulative: None,
        }
    }

    /// Sampling by class (Kang et al., "Decoupling representation and classifier for
    /// long-tailed recognition", ICLR 2020, Eq. 1; docs/model.md §12.9, §12.10): `rows` (already
    /// shuffled) split by their label in `labels`, keeping their order; each slot of a batch takes
    /// class y with probability n_y^q / Σ_k n_k^q (n_y the class's rows), then that class's next
    /// label. q = 0 is class-balanced (a class with one label fills 1/K of the labeled slots
    /// instead of 1/N_l), q = 1/2 square-root sampling, q = 1 the labels' own frequencies.
    pub fn by_class(rows: Vec<usize>, labels: &[Option<usize>], q: f64) -> Self {
        let mut groups: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
        for r in rows {
            let y = labels.get(r).copied().flatten();
            match groups.iter_mut().find(|(c, _)| *c == y) {
                Some((_, g)) => g.push(r),
                None => groups.push((y, vec![r])),
            }
        }
        groups.sort_by_key(|(c, _)| *c);
        // q = 0 draws the class with `random_range`, the stream class-balanced runs were made with.
        let cumulative = (q != 0.0).then(|| {
            groups
                .iter()
                .scan(0.0, |acc, (_, g)| {
                    *acc += (g.len() as f64).powf(q);
                    Some(*acc)
                })
                .collect()
        });
        LabeledCycle {
            groups: groups.into_iter().map(|(_, g)| (g, 0)).collect(),
            cumulative,
        }
    }

    /// The next min(`size`, number of rows) rows.
    pub fn next_batch(&mut self, size: usize, rng: &mut impl rand::Rng) -> Vec<usize> {
        use rand::seq::SliceRandom;
        let total: usize = self.groups.iter().map(|(g, _)| g.len()).sum();
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size.min(total) {
            // One group draws nothing here, so the uniform sampler's stream is the one it always was.
            let k = match &self.cumulative {
                _ if self.groups.len() == 1 => 0,
                None => rng.random_range(0..self.groups.len()),
                Some(cum) => {
                    let u = rng.random::<f64>() * cum[cum.len() - 1];
                    cum.partition_point(|&c| c <= u).min(cum.len() - 1)
                }
            };
            let (rows, pos) = &mut self.groups[k];
            if *pos == rows.len() {
                rows.shuffle(rng);
                *pos = 0;
            }
            batch.push(rows[*pos]);
            *pos += 1;
        }
        batch
    }
}

#[cfg(test)]
mod cycle_tests {
    use super::LabeledCycle;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Uniform: every row once per pass. Balanced over 98 rows of class 0 and 2 of class 1: each
    /// class fills about half of the slots, and a class's rows are cycled evenly (the two rows of
    /// class 1 are drawn within one of each other).
    #[test]
    fn balanced_batches_give_each_class_an_equal_share() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut plain = LabeledCycle::new((0..10).collect());
        let mut once = plain.next_batch(10, &mut rng);
        once.sort_unstable();
        assert_eq!(once, (0..10).collect::<Vec<_>>());

        let labels: Vec<Option<usize>> = (0..100).map(|i| Some(usize::from(i >= 98))).collect();
        let mut cycle = LabeledCycle::by_class((0..100).collect(), &labels, 0.0);
        let mut counts = [0usize; 100];
        for _ in 0..100 {
            for r in cycle.next_batch(50, &mut rng) {
                counts[r] += 1;
            }
        }
        let rare = counts[98] + counts[99];
        assert!(
            (2300..=2700).contains(&rare),
            "class 1 drew {rare} of 5000 slots"
        );
        assert!(
            counts[98].abs_diff(counts[99]) <= 1,
            "{} vs {}",
            counts[98],
            counts[99]
        );
        let common = &counts[..98];
        assert!(common.iter().max().unwrap() - common.iter().min().unwrap() <= 1);
    }

    /// Square-root sampling over 81 rows of class 0 and 1 of class 1: class 1's share is
    /// √1 / (√81 + √1) = 1/10 of the slots (uniform: 1/82, balanced: 1/2); q = 1 gives the rows'
    /// own frequencies.
    #[test]
    fn class_power_draws_each_class_in_proportion_to_its_labels_to_the_q() {
        let labels: Vec<Option<usize>> = (0..82).map(|i| Some(usize::from(i == 81))).collect();
        for (q, expected) in [(0.5, 0.1), (1.0, 1.0 / 82.0)] {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut cycle = LabeledCycle::by_class((0..82).collect(), &labels, q);
            let draws = 20_000;
            let rare = (0..draws / 50)
                .flat_map(|_| cycle.next_batch(50, &mut rng))
                .filter(|&r| r == 81)
                .count();
            let share = rare as f64 / draws as f64;
            let sd = (expected * (1.0 - expected) / draws as f64).sqrt();
            assert!(
                (share - expected).abs() < 4.0 * sd,
                "q = {q}: class 1 share {share}, expected {expected}"
            );
        }
    }
}
