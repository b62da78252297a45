//! One model, many threads and many samples: a model is immutable and `Send + Sync`, each
//! thread owns its workspace, and the results are bit-identical to one thread's, for every dtype.
//! The borrowed (`no_std`) model gives the same bits as the memory-mapped one, and a batch the
//! same bits as its samples one at a time.

use runtime::{BundleBytes, Model};
use std::path::Path;

fn fixture(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/golden")
        .join(file)
}

/// Deterministic raw inputs: row r observes the modalities of bit pattern (r mod 63) + 1.
fn rows(model: &Model<impl BundleBytes>, n: usize) -> Vec<Vec<Option<Vec<f32>>>> {
    (0..n)
        .map(|r| {
            model
                .modality_dims()
                .iter()
                .enumerate()
                .map(|(j, &d)| {
                    (((r % 63) + 1) >> j & 1 == 1).then(|| {
                        (0..d)
                            .map(|i| ((i * 31 + r * 17 + j * 7) % 97) as f32 * 0.1)
                            .collect()
                    })
                })
                .collect()
        })
        .collect()
}

/// Every output of every row, as bits.
fn predict_all(model: &Model<impl BundleBytes>, rows: &[Vec<Option<Vec<f32>>>]) -> Vec<u32> {
    let mut ws = vec![0f32; model.workspace_len()];
    let (k, m) = (model.num_classes(), model.latent_dim());
    let (mut probs, mut mu, mut scale) = (vec![0f32; k], vec![0f32; m], vec![0f32; m]);
    let mut bits = Vec::new();
    for row in rows {
        let inputs: Vec<Option<&[f32]>> = row.iter().map(|x| x.as_deref()).collect();
        let class = model
            .predict_into(&mut ws, &inputs, &mut probs, &mut mu, &mut scale)
            .unwrap();
        bits.push(class as u32);
        bits.extend(probs.iter().chain(&mu).chain(&scale).map(|v| v.to_bits()));
    }
    bits
}

#[test]
fn eight_threads_share_one_model_and_match_one_thread() {
    for file in ["model-f32.ssmv", "model-f16.ssmv", "model-int8.ssmv"] {
        let model = Model::open(fixture(file)).unwrap();
        let data = rows(&model, 126);
        let alone = predict_all(&model, &data);
        let threaded: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| predict_all(&model, &data)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (t, bits) in threaded.iter().enumerate() {
            assert!(bits == &alone, "{file}: thread {t} differs from one thread");
        }
        // The borrowed model (the no_std path) reads the same bundle in place: same bits.
        let bytes = std::fs::read(fixture(file)).unwrap();
        let mut words = vec![0u64; bytes.len().div_ceil(8)]; // 8-byte aligned, like a device's static
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
        let borrowed = Model::from_bytes(&bytemuck::cast_slice(&words)[..bytes.len()]).unwrap();
        assert!(
            predict_all(&borrowed, &data) == alone,
            "{file}: borrowed model differs"
        );
    }
}

/// A batch runs each network once over the samples that have its modality; every dot product
/// still accumulates in the same order, so each sample's outputs are bit-identical to predicting
/// it alone, whatever the batch size and however many passes the workspace allows.
#[test]
fn batches_of_any_size_match_one_sample() {
    for file in ["model-f32.ssmv", "model-f16.ssmv", "model-int8.ssmv"] {
        let model = Model::open(fixture(file)).unwrap();
        let data = rows(&model, 126);
        let alone = predict_all(&model, &data);
        let (k, m) = (model.num_classes(), model.latent_dim());
        let tables: Vec<Vec<Option<&[f32]>>> = data
            .iter()
            .map(|row| row.iter().map(|x| x.as_deref()).collect())
            .collect();
        let samples: Vec<&[Option<&[f32]>]> = tables.iter().map(|t| t.as_slice()).collect();
        // Workspace floats per sample when a pass does not widen f16/int8 panels (≤ 6 samples).
        let per_sample = model.batch_workspace_len(6) / 6;
        let cases = [126, 5, 64, 3, 1].map(|pass| model.batch_workspace_len(pass));
        // The last case: passes of 10 samples with no room to widen, which read panels in place.
        let sizes = [126, 126, 64, 8, 1, 126]
            .into_iter()
            .zip(cases.into_iter().chain([per_sample * 10]));
        for (batch, ws_len) in sizes {
            let mut ws = vec![0f32; ws_len];
            let mut bits = Vec::new();
            for chunk in samples.chunks(batch) {
                let n = chunk.len();
                let (mut probs, mut mu, mut scale) =
                    (vec![0f32; n * k], vec![0f32; n * m], vec![0f32; n * m]);
                let mut classes = vec![0usize; n];
                model
                    .predict_batch_into(
                        &mut ws,
                        chunk,
                        &mut probs,
                        &mut mu,
                        &mut scale,
                        &mut classes,
                    )
                    .unwrap();
                for i in 0..n {
                    bits.push(classes[i] as u32);
                    let row = probs[i * k..(i + 1) * k]
                        .iter()
                        .chain(&mu[i * m..(i + 1) * m])
                        .chain(&scale[i * m..(i + 1) * m]);
                    bits.extend(row.map(|v| v.to_bits()));
                }
            }
            assert!(
                bits == alone,
                "{file}: batch {batch} with a workspace of {ws_len} floats differs from one at a time"
            );
        }
    }
}
