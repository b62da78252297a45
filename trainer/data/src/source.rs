//! Named datasets and where they live. `--data-dir D` is laid out like `shared/data`:
//! `mfeat` → `D/UCI_mfeat`, `rosmap` → `D/MOGONET/ROSMAP`, MNIST → `D/MNIST/raw`,
//! Fashion-MNIST → `D/FashionMNIST/raw`, SVHN → `D/SVHN/{train,test}_32x32.mat`.
//! Any other name must be a path to an `.npz` file (or a folder of `.npy` files).

use super::csv::{read_mfeat, read_mogonet};
use super::idx::read_idx_dataset;
use super::mat::read_svhn;
use super::npz::{read_npz_dataset, read_true_labels};
use super::MultimodalDataset;
use crate::error::{Error, Result};
use crate::study::{read_study, Labels, StudySchema};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A dataset the `data`, `train` and `bench` commands accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetName {
    /// UCI Multiple Features: 6 tabular views, 10 classes, no shipped split.
    Mfeat,
    /// MOGONET's ROSMAP: 3 omics views, 2 classes, shipped train/test split.
    Rosmap,
    /// MNIST paired by label with Fashion-MNIST (the stand-in for the paper's MNIST-SVHN).
    MnistFashion,
    /// MNIST paired by label with SVHN (the paper's benchmark, if SVHN is available).
    MnistSvhn,
    /// Noisy two-view MNIST (rotated digit / another digit of the class plus noise).
    NoisyMnist,
    /// A NumPy dataset (`.npz` file or folder of `.npy` files).
    Npz(PathBuf),
    /// A study manifest (`.toml`): delimited tables with sample ids and names
    /// ([`crate::study`]).
    Study(PathBuf),
}

impl FromStr for DatasetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "mfeat" => DatasetName::Mfeat,
            "rosmap" => DatasetName::Rosmap,
            "mnist+fashion" | "mnist-fashion" => DatasetName::MnistFashion,
            "mnist+svhn" | "mnist-svhn" => DatasetName::MnistSvhn,
            "noisy-mnist" => DatasetName::NoisyMnist,
            other => {
                let p = PathBuf::from(other);
                if p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
                {
                    return Ok(DatasetName::Study(p));
                }
                let is_npz = p.extension().is_some_and(|e| e == "npz");
                if is_npz || p.is_dir() {
                    DatasetName::Npz(p)
                } else {
                    return Err(Error::UnknownDataset(other.to_string()));
                }
            }
        })
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatasetName::Mfeat => f.write_str("mfeat"),
            DatasetName::Rosmap => f.write_str("rosmap"),
            DatasetName::MnistFashion => f.write_str("mnist+fashion"),
            DatasetName::MnistSvhn => f.write_str("mnist+svhn"),
            DatasetName::NoisyMnist => f.write_str("noisy-mnist"),
            DatasetName::Npz(p) | DatasetName::Study(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What a dataset provides before the protocol draws from it.
#[derive(Debug)]
pub enum Source {
    /// A multimodal pool with an optional shipped test set (mfeat, ROSMAP, NumPy data).
    Multimodal {
        /// Training pool (may contain unlabeled rows, kept as unlabeled).
        train: MultimodalDataset,
        /// Shipped test set, if any; otherwise the protocol makes a stratified split.
        test: Option<MultimodalDataset>,
        /// True labels of the pool's unlabeled rows, when a split file carries them.
        true_labels: Option<Vec<Option<usize>>>,
        /// The labels are the user's as given: the protocol's rho, beta and n_max are not applied
        /// even when every sample is labeled (a study manifest).
        labels_as_given: bool,
    },
    /// Two unimodal datasets to pair by label: `(train, test)` each.
    Paired {
        /// First dataset.
        left: (MultimodalDataset, MultimodalDataset),
        /// Second dataset.
        right: (MultimodalDataset, MultimodalDataset),
    },
    /// MNIST, from which the noisy two-view dataset is built.
    NoisyMnist {
        /// MNIST train.
        train: MultimodalDataset,
        /// MNIST test.
        test: MultimodalDataset,
    },
}

fn require(dataset: &DatasetName, path: PathBuf) -> Result<PathBuf> {
    if path.exists() {
        Ok(path)
    } else {
        Err(Error::DatasetNotFound {
            dataset: dataset.to_string(),
            path,
        })
    }
}

/// `name` or `name.gz` inside `dir`, whichever exists (gzipped first).
fn idx_file(dataset: &DatasetName, dir: &Path, name: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        return Ok(gz);
    }
    require(dataset, dir.join(name))
}

/// Reads an IDX image dataset (MNIST layout) from `dir` as `(train, test)`.
pub fn read_idx_pair(
    dataset: &DatasetName,
    dir: &Path,
    modality: &str,
    class_names: Vec<String>,
) -> Result<(MultimodalDataset, MultimodalDataset)> {
    let dir = require(dataset, dir.to_path_buf())?;
    let read = |prefix: &str| {
        read_idx_dataset(
            &idx_file(dataset, &dir, &format!("{prefix}-images-idx3-ubyte"))?,
            &idx_file(dataset, &dir, &format!("{prefix}-labels-idx1-ubyte"))?,
            modality,
            class_names.clone(),
        )
    };
    Ok((read("train")?, read("t10k")?))
}

fn digits() -> Vec<String> {
    super::numbered_classes(10)
}

/// Fashion-MNIST's class names, class 0 first.
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Loads a dataset's raw files. `test` is an optional separate test file for NumPy datasets.
pub fn load(name: &DatasetName, data_dir: &Path, test: Option<&Path>) -> Result<Source> {
    let mnist = || read_idx_pair(name, &data_dir.join("MNIST/raw"), "mnist", digits());
    Ok(match name {
        DatasetName::Mfeat => Source::Multimodal {
            train: read_mfeat(&require(name, data_dir.join("UCI_mfeat"))?)?,
            test: None,
            true_labels: None,
            labels_as_given: false,
        },
        DatasetName::Rosmap => {
            let dir = require(name, data_dir.join("MOGONET/ROSMAP"))?;
            // Label meaning from MOGONET's ROSMAP README: 0 = normal control, 1 = Alzheimer's.
            let (train, test) = read_mogonet(&dir, Some(vec!["NC".into(), "AD".into()]))?;
            Source::Multimodal {
                train,
                test: Some(test),
                true_labels: None,
                labels_as_given: false,
            }
        }
        DatasetName::MnistFashion => {
            let mnist = mnist()?;
            let fashion = read_idx_pair(
                name,
                &data_dir.join("FashionMNIST/raw"),
                "fashion",
                FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
            )?;
            Source::Paired {
                left: mnist,
                right: fashion,
            }
        }
        DatasetName::MnistSvhn => {
            let mnist = mnist()?;
            let dir = data_dir.join("SVHN");
            let svhn_train = read_svhn(&require(name, dir.join("train_32x32.mat"))?, "svhn")?;
            let svhn_test = read_svhn(&require(name, dir.join("test_32x32.mat"))?, "svhn")?;
            Source::Paired {
                left: mnist,
                right: (svhn_train, svhn_test),
            }
        }
        DatasetName::NoisyMnist => {
            let (train, test) = mnist()?;
            Source::NoisyMnist { train, test }
        }
        DatasetName::Study(path) => load_study(path, test)?,
        DatasetName::Npz(path) => load_npz(name, path, data_dir, test)?,
    })
}

/// A study manifest (and its test manifest, whose samples must all be new and labeled).
fn load_study(path: &Path, test: Option<&Path>) -> Result<Source> {
    let study = read_study(path, None, Labels::Required)?;
    let train = study.dataset;
    let test = match test {
        None => None,
        Some(t)
            if t.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml")) =>
        {
            let schema = StudySchema::of(&train);
            let test = read_study(t, Some(&schema), Labels::Required)?;
            // A sample in both would be trained on and then scored: refuse it.
            let trained: std::collections::HashSet<&str> =
                study.sample_ids.iter().map(String::as_str).collect();
            if let Some(id) = test
                .sample_ids
                .iter()
                .find(|id| trained.contains(id.as_str()))
            {
                return Err(Error::Study {
                    file: t.to_path_buf(),
                    line: None,
                    message: format!(
                        "sample `{id}` is also in the training study {}: a test sample must not be trained on",
                        path.display()
                    ),
                });
            }
            if let Some(r) = test.dataset.labels().iter().position(Option::is_none) {
                return Err(Error::Study {
                    file: t.to_path_buf(),
                    line: None,
                    message: format!(
                        "test sample `{}` has no class: every test sample needs one",
                        test.sample_ids[r]
                    ),
                });
            }
            Some(test.dataset)
        }
        Some(t) => {
            return Err(Error::Study {
                file: t.to_path_buf(),
                line: None,
                message: "the test set of a study is a study manifest too (.toml)".into(),
            })
        }
    };
    Ok(Source::Multimodal {
        train,
        test,
        true_labels: None,
        labels_as_given: true,
    })
}

/// An `.npz` file or `.npy` folder: a user's dataset, `ssmvae data --out`'s split, or a training
/// file with its `--test` file.
fn load_npz(
    name: &DatasetName,
    path: &Path,
    data_dir: &Path,
    test: Option<&Path>,
) -> Result<Source> {
    // A relative path that is not under the working folder but is under the data folder
    // (an experiment file's `MultiView/20newsgroups.npz` with `--data-dir shared/data`)
    // is read from there.
    let under_data_dir = data_dir.join(path);
    let path = if path.is_relative() && !path.exists() && under_data_dir.exists() {
        &under_data_dir
    } else {
        path
    };
    // A path the user typed: say the file is missing, not where --data-dir should point.
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let path = path.to_path_buf();
    Ok(if let Some(test_path) = test {
        let test_path = require(name, test_path.to_path_buf())?;
        let mut train = read_npz_dataset(&path, "", None, true)?;
        let mut test = read_npz_dataset(&test_path, "", None, false)?;
        let k = train.num_classes().max(test.num_classes());
        train.extend_classes(k);
        test.extend_classes(k);
        Source::Multimodal {
            train,
            test: Some(test),
            true_labels: None,
            labels_as_given: false,
        }
    } else if is_split_file(&path)? {
        // A file written by `ssmvae data --out`: its own train/test split.
        let mut test = read_npz_dataset(&path, "test_", None, false)?;
        let mut train = read_npz_dataset(&path, "train_", None, true)?;
        let k = train.num_classes().max(test.num_classes());
        train.extend_classes(k);
        test.extend_classes(k);
        let true_labels = read_true_labels(&path, "train_")?
            .map(|raw| super::checked_labels(&raw, Some(k), "train_true_labels"))
            .transpose()?
            .map(|(labels, _)| labels);
        Source::Multimodal {
            train,
            test: Some(test),
            true_labels,
            labels_as_given: false,
        }
    } else {
        Source::Multimodal {
            train: read_npz_dataset(&path, "", None, true)?,
            test: None,
            true_labels: None,
            labels_as_given: false,
        }
    })
}

/// A split file has both `train_labels` and `test_labels`.
fn is_split_file(path: &Path) -> Result<bool> {
    if path.is_dir() {
        return Ok(path.join("train_labels.npy").exists() && path.join("test_labels.npy").exists());
    }
    let names = super::npz::array_names(path)?;
    let has = |k: &str| names.iter().any(|n| n == k || *n == format!("{k}.npy"));
    Ok(has("train_labels") && has("test_labels"))
}

/// The default `--data-dir`: `fixtures/data` of this checkout. Looked up relative to the current
/// directory first, then to the workspace this binary was built from, so the demo works from any
/// directory inside the clone.
pub fn default_data_dir() -> PathBuf {
    let here = PathBuf::from("fixtures/data");
    if here.exists() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/data");
    if built.exists() {
        built
    } else {
        here
    }
}
