//! Command-line interface of `ssmvae` (clap derive). Doc comments here are the `--help` text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use trainer::protocol::Missing;

/// Semi-supervised multimodal VAE for class-imbalanced data (SSMVAE-CI): data, training, export.
#[derive(Debug, Parser)]
#[command(name = "ssmvae", version, about, long_about = None)]
pub struct Cli {
    /// Print less (only results).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw the class-imbalanced semi-supervised split of a dataset and print it per class.
    ///
    /// Class k gets n_k = floor(n_max · rho^(-k/(K-1)) + 1e-9) training samples (class 0 the
    /// largest), of which l_k = max(1, round(beta · n_k)) are labeled and the rest unlabeled.
    /// The split is a pure function of the data and the seed.
    Data(DataArgs),
    /// Run the end-to-end demo on the embedded mfeat fixture (no arguments needed).
    Demo(DemoArgs),
}

/// Where the data is and how the protocol draws from it (shared by every command that reads data).
#[derive(Debug, Clone, Args)]
pub struct DatasetArgs {
    /// Dataset: mfeat, rosmap, mnist+fashion, mnist+svhn, noisy-mnist, or a path to an .npz file
    /// (or a folder of .npy files) with one 2-D array per modality, `labels` (-1 = unlabeled) and
    /// optional boolean `mask_<modality>`. A NumPy dataset that already has unlabeled samples is
    /// taken as given (rho, beta and n-max are not applied).
    #[arg(long, default_value = "mfeat")]
    pub dataset: String,
    /// Folder laid out like shared/data (UCI_mfeat/, MOGONET/ROSMAP/, MNIST/raw/, FashionMNIST/raw/,
    /// SVHN/). Defaults to the embedded fixtures/data.
    #[arg(long, env = "SSMVAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Test set for an .npz dataset (same keys, every sample labeled). Without it, a seeded
    /// stratified 70/30 split is made.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Imbalance ratio rho = n_0 / n_{K-1} (≥ 1).
    #[arg(long, default_value_t = 10.0)]
    pub rho: f64,
    /// Labeled fraction of each class, a fraction in (0, 1] (0.1 = 10%).
    #[arg(long, default_value_t = 0.1)]
    pub beta: f64,
    /// Training samples of the largest class (class 0). Default: all of class 0's training pool.
    #[arg(long)]
    pub n_max: Option<usize>,
    /// Seed of every random choice (draws, pairing, views, missing modalities).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Missing-modality corruption of the training set: `half` removes one random modality from
    /// each of the first half of the (shuffled) training samples; the test set stays complete.
    #[arg(long, value_enum, default_value_t = Missing::None)]
    pub missing: Missing,
    /// Modality order, comma-separated (it becomes the model's modality index). Default: alphabetical.
    #[arg(long, value_delimiter = ',')]
    pub modalities: Option<Vec<String>>,
}

/// Arguments of `ssmvae data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(flatten)]
    pub dataset: DatasetArgs,
    /// Print one JSON object (per-class arrays `labeled`, `unlabeled`, `test`, class 0 first).
    #[arg(long)]
    pub json: bool,
    /// Write the split to an .npz file: train_<modality> (uint8 for pixels, float32 otherwise, raw
    /// values), train_labels (-1 = unlabeled), train_true_labels, mask_train_<modality>,
    /// test_<modality>, test_labels. The file can be given back as --dataset.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `ssmvae demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder laid out like shared/data. Defaults to the embedded fixtures/data.
    #[arg(long, env = "SSMVAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}
