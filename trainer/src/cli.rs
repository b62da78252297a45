//! Command-line interface of `ssmvae` (clap derive). Doc comments here are the `--help` text.

mod keys;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand};
pub use keys::{DataKeys, KeyFlags, TrainKeys};
use std::path::PathBuf;
use trainer::train::config::{DeviceChoice, Precision};

/// A flag parser for one of the library's keyword enums: clap checks the word against its `NAMES`
/// (and lists them in `--help`), the library's `FromStr` makes the value.
fn keyword<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

/// The command line.
pub fn command() -> clap::Command {
    Cli::command()
}

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
    /// Train SSMVAE-CI (or a variant: --latent, --fusion, --mode) on a dataset's split.
    ///
    /// Writes a checkpoint after every epoch (atomically) and logs one line per epoch; --json
    /// prints each epoch as a JSON line on stdout instead.
    Train(Box<TrainArgs>),
    /// Score a checkpoint on the test set of its split (or of --dataset).
    Eval(EvalArgs),
    /// Class probabilities for raw inputs: a study manifest (.toml, features matched by name) or
    /// an .npz with one array per modality (optional boolean mask_<modality>) → a .csv/.tsv table (sample, predicted class, one probability
    /// column per class, modalities used), an .npz (`probs`, `pred`) or JSON lines.
    Predict(PredictArgs),
    /// Export a trained SSMVAE-CI checkpoint (fusion = poe) to a runtime bundle.
    Export(ExportArgs),
    /// Describe a bundle before flashing it: modalities (name, dimension, transform), classes,
    /// dtype, latent size, the logit shift and the class priors, decoders, bytes, the arena in
    /// floats for one prediction and a batch of 64, multiply-accumulates per prediction.
    Inspect(InspectArgs),
    /// Run the end-to-end demo on the embedded mfeat fixture (no arguments needed).
    Demo(DemoArgs),
    /// Run an experiment grid (models × datasets × rho × beta × missing × seeds) from a TOML
    /// file, appending one JSON line per finished run; resumable and shardable.
    Bench(Box<BenchArgs>),
    /// Time one SSMVAE-CI training step (forward, backward, Adam) next to the same objective
    /// written as a PyTorch script (`trainer/benches/pytorch_step.py`), same shapes, batch and
    /// threads; prints both medians and the ratio.
    ///
    /// Each (implementation, shape) runs in a fresh process, alternating over --rounds so drift
    /// of a shared machine hits both, and reports its peak RSS. Run it through
    /// `trainer/scripts/with-libtorch.sh` so `python3` is the project's venv.
    BenchStep(BenchStepArgs),
    /// Our training epoch against the independent PyTorch implementation of the same objective
    /// (shared/reference-pytorch): same split sizes and batches, alternated rounds in one sitting,
    /// median seconds per epoch and their ratio (issue 34).
    BenchEpoch(BenchEpochArgs),
    /// The runtime's prediction against libtorch and ONNX Runtime (issue 35): the same models
    /// and batches, one thread each, alternated in one sitting; prints µs per call, the ratios,
    /// the CPU and the runtime's kernel path. ONNX Runtime needs --python with onnxruntime.
    BenchPredict(BenchPredictArgs),
    /// Render the paper-style Markdown tables and PNG plots from `ssmvae bench` results.
    Report(ReportArgs),
}

/// Weight precision of an exported bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DtypeArg {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (half the size; read in place by the runtime).
    F16,
    /// int8 weights with one f32 scale per output channel, f32 biases (about a quarter of the
    /// size, read in place by the runtime).
    Int8,
}

/// Arguments of `ssmvae export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint from `ssmvae train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Bundle file to write (conventionally `.ssmv`).
    #[arg(long)]
    pub out: PathBuf,
    /// Weight precision.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    pub dtype: DtypeArg,
    /// Also export the decoders, for cross-modal imputation on the device (`impute_into`).
    #[arg(long)]
    pub with_decoders: bool,
}

/// Arguments of `ssmvae train`. Every model/protocol flag may also come from --config (a TOML
/// file with the same keys, `_` for `-`); flags win over the file.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// TOML file with any of the keys below (unknown keys are an error).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Checkpoint file (safetensors), rewritten after every epoch. Default: a run folder,
    /// `runs/<dataset>-<method>-seed<seed>/checkpoint.safetensors` (git ignores `runs/`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from --checkpoint if it exists (same configuration required).
    #[arg(long)]
    pub resume: bool,
    /// Write the final test metrics as JSON (overall_acc, minority_acc, balanced_acc, macro_f1,
    /// g_mean, per_class_acc, …).
    #[arg(long)]
    pub metrics_out: Option<PathBuf>,
    /// Write all epoch records as JSON lines to this file.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Print each epoch as a JSON line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// CPU threads for libtorch (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Every configuration key (`--nu`, `--fusion`, …), declared once in the library.
    #[command(flatten)]
    pub keys: KeyFlags<TrainKeys>,
}

/// Arguments of `ssmvae eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint from `ssmvae train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Evaluate on this dataset's split instead of the checkpoint's.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Test set for an .npz dataset or a study (a .toml manifest), as `train --test` takes it (every sample labeled): scored
    /// instead of the checkpoint's test split.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Folder laid out like shared/data.
    #[arg(long, env = "SSMVAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Score this bundle (`ssmvae export` of the checkpoint, any dtype) with the on-device runtime
    /// on the same raw test rows, instead of the checkpoint's networks: what a device would score.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// With an int8 --bundle: run it on integers, each sample's activations quantised to 8 bits
    /// (`Model::set_int8_activations`), as a device with integer dot products would.
    #[arg(long, requires = "bundle")]
    pub int8_activations: bool,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the metrics as JSON to this file.
    #[arg(long)]
    pub metrics_out: Option<PathBuf>,
}

/// Arguments of `ssmvae predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Checkpoint from `ssmvae train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Raw inputs: a study manifest (.toml; tables with sample ids, features matched to the
    /// training study's by name, labels ignored) or an .npz with one array per modality (the
    /// checkpoint's names), optional masks.
    #[arg(long)]
    pub input: PathBuf,
    /// Output file, its format by extension: `.csv` or `.tsv` (the sample, the predicted class's
    /// name, one probability column per class, the modalities used), `.npz` (`probs`, `pred`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON line per sample (sample, predicted class, the class names and the
    /// probabilities in that order, modalities used) on stdout, with or without --out.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ssmvae inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle (`ssmvae export`'s .ssmv).
    pub bundle: PathBuf,
    /// One JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ssmvae data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The data keys and the seed, as `ssmvae train` takes them.
    #[command(flatten)]
    pub dataset: KeyFlags<DataKeys>,
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
    /// Hide the progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `ssmvae bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Experiment file (TOML; see trainer/experiments/ and the `bench` module docs).
    pub experiment: PathBuf,
    /// Scale: a `[scales.NAME]` table of the experiment (`cpu` or `paper` in the shipped files).
    #[arg(long, default_value = "cpu")]
    pub scale: String,
    /// Results file (JSON lines, appended as runs finish; finished runs are skipped on rerun).
    /// Default: trainer/results/<experiment name>/<scale>.jsonl beside the experiments folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only shard i of n (1-based, e.g. `--shard 2/4`): runs whose grid index ≡ i−1 mod n.
    /// For Slurm job arrays or GNU parallel; give each shard its own --out when they share no
    /// disk, and pass all the files to `ssmvae report`.
    #[arg(long, default_value = "1/1")]
    pub shard: trainer::bench::experiment::Shard,
    /// Folder laid out like shared/data (overrides the experiment's `data_dir`).
    #[arg(long, env = "SSMVAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Device for every run (overrides the experiment): auto, cpu or cuda.
    #[arg(long, value_parser = keyword::<DeviceChoice>(DeviceChoice::NAMES))]
    pub device: Option<DeviceChoice>,
    /// CPU threads for libtorch (per run; with --jobs, default: the machine's cores / jobs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Independent runs at once, each in its own `ssmvae` process (libtorch's random generator
    /// and thread pool belong to a process, so each run stays exactly what it is alone at the
    /// same --threads). Each run appends its own line as it finishes.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Internal (--jobs): run only the grid entry with this index.
    #[arg(long, hide = true)]
    pub only_index: Option<usize>,
    /// Stop after this many finished runs (fill a grid over several sittings).
    #[arg(long)]
    pub max_runs: Option<usize>,
    /// Another results file whose finished runs stand in for this grid's when the run id and the
    /// whole training configuration match (repeatable); the line is copied, marked `reused_from`.
    #[arg(long)]
    pub reuse: Vec<PathBuf>,
    /// Only runs of models whose name contains this text (repeatable).
    #[arg(long)]
    pub model: Vec<String>,
    /// List the runs (done / to do) and exit without training.
    #[arg(long)]
    pub list: bool,
    /// Hide the progress bar (one line per finished run instead).
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `ssmvae report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results files (JSON lines from `ssmvae bench`); runs present in several count once.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// The experiment file: orders the rows and marks runs that have not finished.
    #[arg(long)]
    pub experiment: Option<PathBuf>,
    /// Scale to report (default: the results' own).
    #[arg(long)]
    pub scale: Option<String>,
    /// Output folder for <scale>.md and the PNGs (default: the first results file's folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the PNG plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Also fill the `<!-- ssmvae-report NAME/SCALE -->` … `<!-- /ssmvae-report -->` block of
    /// this Markdown file (the committed tables are in docs/results.md) with the overall /
    /// minority table.
    #[arg(long)]
    pub readme: Option<PathBuf>,
    /// Table cell for the per-class and training-curve plots: dataset,rho,beta
    /// (default: the first dataset's largest rho and smallest beta).
    #[arg(long, value_parser = trainer::bench::report::parse_cell)]
    pub cell: Option<(String, f64, f64)>,
    /// Afterwards, pack the runs' per-epoch logs (`epochs/<scale>/*.jsonl`) into one zstd archive
    /// per scale, `epochs-<scale>.jsonl.zst` (replacing an older `.jsonl.gz` one), and remove the
    /// loose files: the form a grid is committed in. The report reads every form.
    #[arg(long)]
    pub pack_epochs: bool,
    /// Afterwards, seal each results file: its lines go into `<file>.zst` (zstd) and the plain
    /// file is removed. For finished tuning grids, whose lines are read, not appended to; `bench`
    /// and `report` read both forms, and a later run appends to a new plain file beside the seal.
    #[arg(long)]
    pub pack_results: bool,
}

/// `ssmvae bench-epoch` (issue 34).
#[derive(Debug, Args)]
pub struct BenchEpochArgs {
    /// Dataset both sides train on: mnist+fashion or mfeat.
    #[arg(long, default_value = "mnist+fashion", value_parser = ["mnist+fashion", "mfeat"])]
    pub dataset: String,
    /// Data folder laid out like shared/data (ours; the script reads shared/data beside itself).
    #[arg(long, env = "SSMVAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The protocol's n_max, rho and beta, the same on both sides.
    #[arg(long, default_value_t = 2000)]
    pub n_max: usize,
    /// Imbalance ratio.
    #[arg(long, default_value_t = 100.0)]
    pub rho: f64,
    /// Labeled fraction.
    #[arg(long, default_value_t = 0.1)]
    pub beta: f64,
    /// Epochs per process; the first is warm-up and not counted.
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    /// Processes per side, alternating between the two.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// CPU threads of both (libtorch's intra-op threads).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Seed of both.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Width of both sides' two hidden layers (the script's --hidden; ours `--hidden W,W`), so
    /// both train the same shapes: 512 is the paper's and the script's default.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Train ours with `--objective paper` (the objective the script implements); without it,
    /// ours trains the default.
    #[arg(long)]
    pub paper: bool,
    /// Python interpreter with torch, numpy and pandas (the venv's under with-libtorch.sh).
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The independent PyTorch implementation's folder (its train.py).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference-pytorch"))]
    pub reference: PathBuf,
    /// Append one JSON line (every epoch's seconds, medians, ratio, commit, machine) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `ssmvae bench-predict` (issue 35).
#[derive(Debug, Args)]
pub struct BenchPredictArgs {
    /// Models (comma-separated): golden (the committed checkpoint, hidden 64, m = 8), wide (the
    /// default trained one epoch on the embedded mfeat, 2 × 128, m = 64), wide512 (2 × 512).
    #[arg(long, value_delimiter = ',', default_value = "golden,wide,wide512",
          value_parser = ["golden", "wide", "wide512"])]
    pub models: Vec<String>,
    /// Batch sizes (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,8,64,256")]
    pub batches: Vec<usize>,
    /// Chunks per implementation, alternating between implementations; the median is reported.
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Milliseconds of calls per chunk.
    #[arg(long, default_value_t = 60.0)]
    pub chunk_ms: f64,
    /// Python with torch, onnx, onnxruntime, safetensors and numpy: adds ONNX Runtime's column.
    /// Without it only the runtime and libtorch are timed.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// The ONNX Runtime script.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/rivals/onnxruntime_predict.py"))]
    pub rival: PathBuf,
    /// Seconds the ONNX Runtime script spends per cell (its --target-s).
    #[arg(long, default_value_t = 1.0)]
    pub ort_seconds: f64,
    /// Append one JSON line (every cell, commit, CPU, kernel path) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `ssmvae bench-step`.
#[derive(Debug, Args)]
pub struct BenchStepArgs {
    /// Shapes to time: mnist+fashion (2 × 784 pixels), mfeat (6 tabular views); all by default.
    #[arg(long, value_parser = ["mnist+fashion", "mfeat"])]
    pub shape: Vec<String>,
    /// CPU threads of every implementation (libtorch's intra-op threads).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed steps per process (after the warm-up).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed steps first (allocator and thread pool warm-up).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Processes per (implementation, shape), alternating between implementations.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Python interpreter with torch (the venv's under with-libtorch.sh).
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// The PyTorch rival.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/pytorch_step.py"))]
    pub script: PathBuf,
    /// Precisions of ssmvae's step to time (comma-separated): f32, bf16 (f32 weights, Adam and
    /// loss; bfloat16 matrix products, fast only with AMX or AVX512-BF16). PyTorch runs in f32.
    #[arg(long, value_delimiter = ',', default_value = "f32,bf16",
          value_parser = keyword::<Precision>(Precision::NAMES))]
    pub precision: Vec<Precision>,
    /// Enumeration floors of ssmvae's unlabeled term to time (comma-separated; docs/model.md
    /// §6.5): 0 enumerates every class, as the PyTorch script does. Under a floor the step's cost
    /// depends on how confident the classifier is, and on the benchmark's random data it stays
    /// unsure: the share enumerated is printed, and a floor's gain shows in training runs.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub enumeration_floor: Vec<f64>,
    /// Time only ssmvae (no Python needed).
    #[arg(long)]
    pub no_pytorch: bool,
    /// Append one JSON line per shape (medians, ratios, RSS, commit, machine) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Instead of the PyTorch comparison: run --steps steps on the CPU and on this device
    /// (`cuda`) from the same initial weights, batches and noise, and print the largest relative
    /// difference of the losses and of the final weights, and both step times
    /// (trainer/scripts/gpu-check.sh). An error where libtorch sees no GPU.
    #[arg(long, value_parser = ["cuda"])]
    pub compare_device: Option<String>,
    /// Internal: time one implementation in this process and print its JSON line.
    #[arg(long, hide = true)]
    pub worker: bool,
}
