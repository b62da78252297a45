//! SMLN (Hu, Peng, Zhu, Zhen, Lin, "Semi-supervised multi-modal learning with balanced spectral
//! decomposition", AAAI 2020). Labeled and unlabeled samples are nodes of a similarity graph; the
//! network's class-probability outputs F are asked to be smooth on it (the spectral term
//! tr(Fᵀ L F) = ½ Σ_ij S_ij ‖f_i − f_j‖², L = D − S) while staying **balanced** (FᵀF/n close to
//! I/K: every class keeps mass and the columns stay orthogonal, which rules out the trivial
//! constant solution that smoothness alone prefers).
//!
//! Mini-batch version, because the N × N matrix does not fit for large N. The graph is built
//! **once over the whole training set** (labeled + unlabeled) as a sparse k-nearest-neighbour list
//! ([`Graph::build`]): per modality, S^m_ij = exp(−‖x_i − x_j‖² / σ_m²) for j among i's `k`
//! nearest neighbours (σ_m² the mean squared neighbour distance), and S_ij the mean of S^m_ij over
//! the modalities both samples observe. Each step then samples one edge per batch node
//! ([`Graph::sample`]) and estimates the smoothness term from those pairs ([`spectral_loss`]);
//! the balance term is taken over the batch's nodes.
//!
//! Why not a graph over the batch alone (our first version): a 100-sample batch holds one or two
//! samples of a rare class, so its nearest batch neighbours are mostly other classes and the
//! smoothness term pulled the rare classes into their neighbours (mfeat, 5 seeds: 73.3% against
//! the supervised floor's 85.0%). The global graph has the neighbours the paper's full matrix has.

use super::backbone::Backbone;
use super::recipe::{Recipe, UnlabeledBatch};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use ssmvae_core::error::{DataError, Result};
use ssmvae_core::train::config::TrainConfig;
use ssmvae_core::train::driver::Prepared;
use ssmvae_core::train::tensors::index_tensor;
use std::collections::BTreeMap;
use tch::{Kind, Tensor};

/// Rows per chunk when computing distances (bounds the chunk × N distance block).
const CHUNK: i64 = 512;

/// The sparse similarity graph: for every node, its out-edges (neighbour, S_ij).
#[derive(Debug, Clone)]
pub struct Graph {
    edges: Vec<Vec<(usize, f32)>>,
}

impl Graph {
    /// Builds the k-NN graph of `xs` (one N×d tensor per modality) where `present[i][m]` says
    /// whether row i observes modality m; a modality's neighbours are sought among the rows that
    /// observe it.
    pub fn build(xs: &[Tensor], present: &[Vec<bool>], k: usize) -> Result<Graph> {
        let n = present.len();
        // Per row: neighbour → summed kernel over the modalities that list it.
        let mut sums: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); n];
        for (m, x) in xs.iter().enumerate() {
            let rows: Vec<usize> = (0..n).filter(|&i| present[i][m]).collect();
            if rows.len() < 2 {
                continue;
            }
            let kk = k.min(rows.len() - 1) as i64;
            let idx = Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
                .to_device(x.device());
            let x = x.index_select(0, &idx).to_kind(Kind::Float);
            let sq = x.square().sum_dim_intlist(1, false, None);
            let mut dists: Vec<f32> = Vec::with_capacity(rows.len() * kk as usize);
            let mut nbrs: Vec<i64> = Vec::with_capacity(rows.len() * kk as usize);
            let total = rows.len() as i64;
            for start in (0..total).step_by(CHUNK as usize) {
                let len = CHUNK.min(total - start);
                let a = x.narrow(0, start, len);
                // ‖a‖² + ‖b‖² − 2ab, clamped at 0 against rounding; the node itself excluded.
                let d2 = (sq.narrow(0, start, len).unsqueeze(1) + sq.unsqueeze(0)
                    - a.matmul(&x.transpose(0, 1)) * 2.0)
                    .clamp_min(0.0);
                let own = Tensor::arange_start(start, start + len, (Kind::Int64, x.device()));
                let d2 = d2.scatter_value(1, &own.unsqueeze(1), f64::INFINITY);
                let (vals, ids) = d2.topk(kk, 1, false, true);
                dists.extend(Vec::<f32>::try_from(vals.flatten(0, -1))?);
                nbrs.extend(Vec::<i64>::try_from(ids.flatten(0, -1))?);
            }
            let sigma2 =
                (dists.iter().map(|&d| d as f64).sum::<f64>() / dists.len() as f64).max(1e-12);
            for (r, &row) in rows.iter().enumerate() {
                for e in 0..kk as usize {
                    let at = r * kk as usize + e;
                    let nb = rows[nbrs[at] as usize];
                    *sums[row].entry(nb).or_insert(0.0) += (-(dists[at] as f64) / sigma2).exp();
                }
            }
        }
        let edges = sums
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.into_iter()
                    .map(|(j, sum)| {
                        let both = present[i]
                            .iter()
                            .zip(&present[j])
                            .filter(|(a, b)| **a && **b)
                            .count()
                            .max(1);
                        (j, (sum / both as f64) as f32)
                    })
                    .collect()
            })
            .collect();
        Ok(Graph { edges })
    }

    /// The out-edges of node `i`.
    pub fn edges(&self, i: usize) -> &[(usize, f32)] {
        &self.edges[i]
    }

    /// One edge per node of `rows`, drawn uniformly from its out-edges: the neighbour and the
    /// pair's weight c_i = |edges(i)| · S_ij, so that Σ_i c_i g(i, j_i) is an unbiased estimate of
    /// Σ_i Σ_j S_ij g(i, j). A node without edges pairs with itself at weight 0.
    pub fn sample(&self, rows: &[usize], rng: &mut impl Rng) -> Result<(Vec<usize>, Vec<f32>)> {
        let mut nbrs = Vec::with_capacity(rows.len());
        let mut weights = Vec::with_capacity(rows.len());
        for &i in rows {
            let e = self
                .edges
                .get(i)
                .ok_or_else(|| DataError::InvalidParameter {
                    name: "SMLN graph node",
                    value: i.to_string(),
                    reason: format!("the graph has {} nodes", self.edges.len()),
                })?;
            if e.is_empty() {
                nbrs.push(i);
                weights.push(0.0);
            } else {
                let (j, s) = e[rng.random_range(0..e.len())];
                nbrs.push(j);
                weights.push(e.len() as f32 * s);
            }
        }
        Ok((nbrs, weights))
    }
}

/// The balanced spectral loss: smoothness Σ_i c_i ‖f_i − g_i‖² / Σ_i c_i over sampled pairs
/// (`f` the nodes' probabilities, n×K; `g` their sampled neighbours'; `c` the pair weights, n)
/// plus the balance term ‖FᵀF/n − I/K‖²_F over the nodes.
pub fn spectral_loss(f: &Tensor, g: &Tensor, c: &Tensor) -> Tensor {
    let n = f.size()[0] as f64;
    let k = f.size()[1];
    let diff = (f - g).square().sum_dim_intlist(1, false, None);
    let smooth = (c * diff).sum(Kind::Float) / c.sum(Kind::Float).clamp_min(1e-12);
    let gram = f.transpose(0, 1).matmul(f) / n;
    let target = Tensor::eye(k, (Kind::Float, f.device())) / k as f64;
    smooth + (gram - target).square().sum(Kind::Float)
}

/// SMLN's recipe: the balanced spectral loss on each step's nodes and one sampled neighbour each.
pub struct Smln {
    graph: Option<Graph>,
}

impl Smln {
    /// Builds the k-NN graph over every training row, once (none without unlabeled rows).
    pub fn new(cfg: &TrainConfig, p: &Prepared) -> Result<Self> {
        let graph = if p.unlabeled_rows.is_empty() {
            None
        } else {
            let _g = tch::no_grad_guard();
            Some(Graph::build(
                &p.data.xs,
                &p.data.present_rows,
                cfg.smln.neighbors,
            )?)
        };
        Ok(Smln { graph })
    }
}

impl Recipe for Smln {
    fn unlabeled_loss(
        &mut self,
        net: &Backbone,
        p: &Prepared,
        batch: &UnlabeledBatch,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        // Cannot fail on user input: the graph is built whenever there are unlabeled rows, and
        // this is called only then.
        let graph = self.graph.as_ref().expect("built with unlabeled rows");
        // This step's nodes (labeled + unlabeled batch) and one sampled graph neighbour each,
        // through the network in one pass.
        let nodes: Vec<usize> = batch
            .labeled_rows
            .iter()
            .chain(batch.rows)
            .copied()
            .collect();
        let (nbrs, weights) = graph.sample(&nodes, rng)?;
        let all = index_tensor(
            &nodes.iter().chain(&nbrs).copied().collect::<Vec<_>>(),
            p.device,
        );
        let xs: Vec<Tensor> = p.data.xs.iter().map(|x| x.index_select(0, &all)).collect();
        let present = p.data.present.index_select(0, &all);
        let f = net.fuse(&xs, &net.logits(&xs), &present);
        let n = nodes.len() as i64;
        let c = Tensor::from_slice(&weights).to_device(p.device);
        Ok(spectral_loss(&f.narrow(0, 0, n), &f.narrow(0, n, n), &c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn spectral_loss_on_a_tiny_similarity_matrix() {
        // Two nodes joined with weight 1 both ways (S = [[0,1],[1,0]]), K = 2, every edge given.
        // f_1 = (1, 0), f_2 = (0, 1): smooth = (1·2 + 1·2) / 2 = 2; FᵀF/2 = I/2: balance 0.
        let f = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).reshape([2, 2]);
        let g = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 0.0]).reshape([2, 2]);
        let c = Tensor::from_slice(&[1.0f32, 1.0]);
        let l = f32::try_from(spectral_loss(&f, &g, &c)).unwrap();
        assert!((l - 2.0).abs() < 1e-6, "{l}");
        // f_1 = f_2 = (1, 0): smooth 0; FᵀF/2 = [[1,0],[0,0]], minus I/2: 0.25 + 0.25 = 0.5.
        let f = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0]).reshape([2, 2]);
        let l = f32::try_from(spectral_loss(&f, &f, &c)).unwrap();
        assert!((l - 0.5).abs() < 1e-6, "{l}");
    }

    #[test]
    fn graph_links_nearest_points_with_gaussian_weights() {
        // Points 0, 0.1, 5 on a line, k = 1: 0→1, 1→0, 2→1; squared distances 0.01, 0.01, 24.01,
        // σ² = their mean 8.01.
        let x = Tensor::from_slice(&[0.0f32, 0.1, 5.0]).reshape([3, 1]);
        let g = Graph::build(&[x], &[vec![true], vec![true], vec![true]], 1).unwrap();
        let s2 = 24.03f64 / 3.0;
        let near = (-0.01 / s2).exp() as f32;
        let far = (-24.01 / s2).exp() as f32;
        assert_eq!(g.edges(0).len(), 1);
        assert_eq!(g.edges(0)[0].0, 1);
        assert!((g.edges(0)[0].1 - near).abs() < 1e-5);
        assert_eq!(g.edges(1)[0].0, 0);
        assert_eq!(g.edges(2)[0].0, 1);
        assert!((g.edges(2)[0].1 - far).abs() < 1e-5, "{:?}", g.edges(2));
    }

    #[test]
    fn graph_averages_over_the_modalities_both_nodes_observe() {
        // Modality 0 seen by all three rows, modality 1 by rows 0 and 1 only; k = 1.
        // Modality 0: 0 and 1 coincide (d² 0), 2 far; modality 1: rows 0, 1 at d² 1 (σ² 1).
        let x0 = Tensor::from_slice(&[0.0f32, 0.0, 3.0]).reshape([3, 1]);
        let x1 = Tensor::from_slice(&[0.0f32, 1.0, 0.0]).reshape([3, 1]);
        let present = vec![vec![true, true], vec![true, true], vec![true, false]];
        let g = Graph::build(&[x0, x1], &present, 1).unwrap();
        // 0→1 in both modalities: (exp(0) + exp(−1)) / 2.
        let want = ((1.0 + (-1.0f64).exp()) / 2.0) as f32;
        assert_eq!(g.edges(0).len(), 1);
        assert!((g.edges(0)[0].1 - want).abs() < 1e-5, "{:?}", g.edges(0));
        // Row 2 observes modality 0 only, so its edge is averaged over one modality.
        assert_eq!(g.edges(2).len(), 1);
        let s2 = (0.0 + 0.0 + 9.0) / 3.0;
        assert!((g.edges(2)[0].1 - (-9.0f64 / s2).exp() as f32).abs() < 1e-5);
    }

    #[test]
    fn sampled_pairs_estimate_the_full_smoothness() {
        // Node 0 has two out-edges of weights a and b; one sample picks either with p = ½ and
        // weights it 2·S, so the mean over many draws tends to a + b.
        let g = Graph {
            edges: vec![vec![(1, 0.25), (2, 0.75)], vec![], vec![]],
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let draws = 4000;
        let mut total = 0.0f64;
        for _ in 0..draws {
            let (_, c) = g.sample(&[0], &mut rng).unwrap();
            total += c[0] as f64;
        }
        assert!(
            (total / draws as f64 - 1.0).abs() < 0.05,
            "{}",
            total / draws as f64
        );
        let (nb, c) = g.sample(&[1], &mut rng).unwrap();
        assert_eq!((nb[0], c[0]), (1, 0.0));
        assert!(g.sample(&[7], &mut rng).is_err());
    }
}
