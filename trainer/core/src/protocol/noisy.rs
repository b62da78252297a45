//! Noisy two-view MNIST (the paper's multimodal MNIST): a rotated view and a noisy view of another
//! image of the same class.

use super::params::{rng, stream};
use super::views;
use crate::data::{Modality, MultimodalDataset};
use crate::error::Result;
use ndarray::Array2;
use rand::Rng;

/// View 1: the digit rotated by a uniform angle in [-45°, 45°]; view 2: another image of the same
/// class (uniform over the class, itself excluded) plus uniform [0, 1] noise, clipped.
pub(super) fn noisy_views(
    mnist: &MultimodalDataset,
    rows: &[usize],
    labels: Vec<Option<usize>>,
    seed: u64,
    split_id: u64,
) -> Result<MultimodalDataset> {
    let pools = mnist.indices_by_class();
    let src = mnist.modalities()[0].data();
    let d = src.ncols();
    let side = (d as f64).sqrt() as usize;
    let mut r = rng(seed, stream::VIEWS + 16 * split_id);
    let mut partner_rng = rng(seed, stream::PARTNER + 16 * split_id);
    let mut v1 = Array2::<f32>::zeros((rows.len(), d));
    let mut v2 = Array2::<f32>::zeros((rows.len(), d));
    for (out, &i) in rows.iter().enumerate() {
        // Cannot fail on user input: the class pools are built from labeled rows only.
        let k = mnist.labels()[i].expect("pools hold labeled rows");
        let angle = r.random_range(-45.0..=45.0);
        views::rotate(
            // Cannot fail on user input: arrays built by this module are in standard (row-major) layout.
            src.row(i).as_slice().expect("standard layout"),
            side,
            angle,
            // Cannot fail on user input: arrays built by this module are in standard (row-major) layout.
            v1.row_mut(out).as_slice_mut().expect("standard layout"),
        );
        let pool = &pools[k];
        let partner = if pool.len() < 2 {
            i
        } else {
            // Cannot fail on user input: row i was drawn from its class's pool, so it is in it.
            let pos = pool
                .iter()
                .position(|&j| j == i)
                .expect("row is in its class pool");
            let mut t = partner_rng.random_range(0..pool.len() - 1);
            if t >= pos {
                t += 1;
            }
            pool[t]
        };
        let mut row = v2.row_mut(out);
        row.assign(&src.row(partner));
        // Cannot fail on user input: arrays built by this module are in standard (row-major) layout.
        views::add_uniform_noise(row.as_slice_mut().expect("standard layout"), || {
            r.random::<f64>()
        });
    }
    use crate::data::ModalityKind::Pixels;
    Ok(MultimodalDataset::new(
        vec![
            Modality::new("view1", Pixels, v1),
            Modality::new("view2", Pixels, v2),
        ],
        labels,
        mnist.class_names().to_vec(),
    )?)
}
