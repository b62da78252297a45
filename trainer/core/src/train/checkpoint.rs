//! Checkpoints: one safetensors file holding the model's variables (`model/<name>`), Adam's state
//! (`adam_m/<name>`, `adam_v/<name>`) and, in its metadata, everything needed to rebuild the model
//! and its preprocessing (config, ensemble spec, modality transforms, class names, epoch). Written
//! atomically: a temporary file in the same folder, then a rename.

use super::adam::Adam;
use super::config::TrainConfig;
use super::ensemble::{Ensemble, EnsembleSpec};
use crate::data::InputTransform;
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Version of the checkpoint metadata layout.
pub const CHECKPOINT_VERSION: u32 = 1;
const META_KEY: &str = "ssmvae_checkpoint";

/// The metadata stored with the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The configuration trained with.
    pub config: TrainConfig,
    /// The networks' shapes.
    pub ensemble: EnsembleSpec,
    /// Modality names of the (unfused) data, in modality-index order.
    pub modality_names: Vec<String>,
    /// Their input dims.
    pub modality_dims: Vec<usize>,
    /// Their input transforms (fitted on the training split).
    pub transforms: Vec<InputTransform>,
    /// Class names, class 0 first.
    pub class_names: Vec<String>,
    /// Each modality's feature names, where the data named them (a study manifest's headers;
    /// empty otherwise): `predict` and `eval` match a study's columns to them by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_names: Vec<Vec<String>>,
    /// Training samples per class (true labels where known), for the minority classes.
    pub train_class_sizes: Vec<usize>,
    /// Epochs completed.
    pub epoch: usize,
    /// Best validation balanced accuracy so far (when a validation split is used).
    pub best_validation: Option<f64>,
    /// The running means p̂ of distribution alignment, one per member (empty when not aligning),
    /// so a resumed run continues exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub align_running: Vec<Vec<f32>>,
    /// The self-training generation's pseudo-labels, (training row, class) (docs/model.md
    /// §12.12; empty when not self-training), so a resumed run continues exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pseudo_labels: Vec<(usize, usize)>,
}

fn to_bytes(t: &Tensor) -> Result<(Vec<usize>, Vec<u8>)> {
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let flat: Vec<f32> =
        Vec::try_from(t.to_kind(Kind::Float).to_device(Device::Cpu).flatten(0, -1))?;
    Ok((shape, flat.iter().flat_map(|v| v.to_le_bytes()).collect()))
}

/// Writes `ens` (+ `adam`) with `meta` to `path` atomically.
pub fn save(path: &Path, ens: &Ensemble, adam: &Adam, meta: &CheckpointMeta) -> Result<()> {
    let mut owned: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for (name, t) in ens.vs.variables() {
        owned.insert(format!("model/{name}"), to_bytes(&t)?);
    }
    for (name, t) in &adam.m {
        owned.insert(format!("adam_m/{name}"), to_bytes(t)?);
    }
    for (name, t) in &adam.v {
        owned.insert(format!("adam_v/{name}"), to_bytes(t)?);
    }
    let t_step = adam.t.to_string();
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(k, (shape, bytes))| {
            // Cannot fail on user input: shape and bytes come from the same tensor.
            let view = TensorView::new(Dtype::F32, shape.clone(), bytes)
                .expect("shape matches bytes by construction");
            (k.clone(), view)
        })
        .collect();
    let mut info = HashMap::new();
    info.insert(
        META_KEY.to_string(),
        // Cannot fail on user input: the metadata is plain data (no maps with non-string keys), which serde_json always serialises.
        serde_json::to_string(meta).expect("metadata serialises"),
    );
    info.insert("adam_t".to_string(), t_step);
    let write_err = |message: String| Error::Write {
        path: path.to_path_buf(),
        message,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| write_err(e.to_string()))?;
    }
    safetensors::tensor::serialize_to_file(views, &Some(info), &tmp)
        .map_err(|e| write_err(format!("{e:?}")))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        write_err(e.to_string())
    })
}

/// A checkpoint read back: metadata, tensors by name, Adam's step count.
pub struct Loaded {
    /// The metadata.
    pub meta: CheckpointMeta,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    adam_t: i64,
}

/// Reads a checkpoint file (metadata and tensors), checking its version.
pub fn load(path: &Path) -> Result<Loaded> {
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a checkpoint ({e:?})")))?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("{e:?}")))?;
    let info = header.metadata().clone().unwrap_or_default();
    let meta_json = info
        .get(META_KEY)
        .ok_or_else(|| bad("no ssmvae metadata: not written by `ssmvae train`".into()))?;
    let meta: CheckpointMeta =
        serde_json::from_str(meta_json).map_err(|e| bad(format!("metadata: {e}")))?;
    if meta.version != CHECKPOINT_VERSION {
        return Err(bad(format!(
            "checkpoint version {}, this build reads {CHECKPOINT_VERSION}",
            meta.version
        )));
    }
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("tensor {name} is not f32")));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(name, (view.shape().to_vec(), data));
    }
    let adam_t = info.get("adam_t").and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(Loaded {
        meta,
        tensors,
        adam_t,
    })
}

impl Loaded {
    /// Copies the stored weights into `ens`; every variable must be present with its shape, and
    /// nothing may be left over — a checkpoint of another model shape is an error naming the
    /// first tensor that differs.
    pub fn restore(&self, path: &Path, ens: &Ensemble, adam: Option<&mut Adam>) -> Result<()> {
        let bad = |message: String| Error::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let _guard = tch::no_grad_guard();
        let vars = ens.vs.variables();
        let stored = self
            .tensors
            .keys()
            .filter(|k| k.starts_with("model/"))
            .count();
        if stored != vars.len() {
            return Err(bad(format!(
                "holds {stored} model tensors, this model has {}: a different model shape",
                vars.len()
            )));
        }
        let fetch = |key: &str, like: &Tensor| -> Result<Tensor> {
            let (shape, data) = self
                .tensors
                .get(key)
                .ok_or_else(|| bad(format!("missing tensor {key}: a different model shape")))?;
            let want: Vec<usize> = like.size().iter().map(|&d| d as usize).collect();
            if *shape != want {
                return Err(bad(format!("tensor {key} has shape {shape:?}, the model needs {want:?}: a different model shape")));
            }
            let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            Ok(Tensor::from_slice(data)
                .reshape(dims)
                .to_device(like.device()))
        };
        for (name, var) in &vars {
            let t = fetch(&format!("model/{name}"), var)?;
            var.shallow_clone().copy_(&t);
        }
        if let Some(adam) = adam {
            for (name, var) in &vars {
                adam.m
                    .insert(name.clone(), fetch(&format!("adam_m/{name}"), var)?);
                adam.v
                    .insert(name.clone(), fetch(&format!("adam_v/{name}"), var)?);
            }
            adam.t = self.adam_t;
        }
        Ok(())
    }
}
