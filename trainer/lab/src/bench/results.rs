//! The results file: one JSON line per finished run, appended as runs finish, so an interrupted
//! grid loses at most the run in progress and a rerun skips what is done (resume).

use super::experiment::{run_id, RunSpec};
use serde::{Deserialize, Serialize};
use ssmvae_core::error::{Error, Result};
use ssmvae_core::metrics::Scores;
use ssmvae_core::protocol::{Missing, Rho};
use ssmvae_core::train::config::TrainConfig;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Experiment name.
    pub experiment: String,
    /// Scale name (`cpu`, `paper`, …).
    pub scale: String,
    /// Model display name.
    pub model: String,
    /// Dataset name.
    pub dataset: String,
    /// Imbalance ratio.
    pub rho: Rho,
    /// Labeled fraction (a fraction, never a percentage).
    pub beta: f64,
    /// Seed.
    pub seed: u64,
    /// Missing-modality setting the model was trained in.
    pub missing: Missing,
    /// Test scores of the selected model.
    #[serde(flatten)]
    pub scores: Scores,
    /// Test per-class accuracy, class 0 first.
    pub per_class_acc: Vec<Option<f64>>,
    /// The minority classes.
    pub minority_classes: Vec<usize>,
    /// Scores on the validation split at the selected epoch (when the config carves one).
    pub validation: Option<Scores>,
    /// Scores on the validation split at the last epoch: the model a run without a validation
    /// split ships, so the score that predicts it (docs/model.md §12.5). Absent in lines written
    /// before it was recorded; `report` reads it from their epoch logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validation: Option<Scores>,
    /// Wall seconds of the whole run: loading and splitting the data, training, and the per-epoch
    /// evaluations (the sum of the epoch logs' `seconds` is the optimisation alone).
    pub train_seconds: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// The epoch whose model was scored.
    pub selected_epoch: usize,
    /// `cpu` or `cuda`.
    pub device: String,
    /// libtorch's intra-op threads.
    pub threads: usize,
    /// Epoch log (JSON lines), relative to the results file's folder.
    pub epoch_log: String,
    /// The full configuration.
    pub config: TrainConfig,
    /// The hidden widths the networks were built with: `config.hidden` resolved for the training
    /// set's size (docs/model.md §11.1). Absent in lines written before `hidden = auto` existed,
    /// whose `config.hidden` lists the widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    /// The commit of the code that produced the line (`git describe --dirty` at build time);
    /// absent in lines written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The CPU kernel set libtorch dispatched to ([`aten_cpu_capability`]): the same seed and
    /// thread count repeat a run bit for bit only under the same kernel set, so a rerun pins it.
    /// Absent in lines written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_kernels: Option<String>,
    /// How the run chose its classification weight a, when its config asks to
    /// (`alpha_a_candidates`, docs/model.md §12.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<ssmvae_core::train::Selection>,
    /// The classes' names, class 0 first (a study's class names; "0", "1", … for data without
    /// names). Absent in lines written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// How `mode = auto` chose the mode (docs/model.md §12.13), when the run's config asks it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<ssmvae_core::train::Guard>,
    /// When the line was copied from another experiment's results (`--reuse`), that file's
    /// experiment and scale, `experiment/scale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// The test scores under each target prior (`uniform`, `train`, `estimated`; docs/model.md
    /// §12.1), the same model scored three ways; absent for the baselines and in older lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_priors: Option<std::collections::BTreeMap<String, Scores>>,
    /// The CPU model the line was made on (`/proc/cpuinfo`'s model name): MKL picks kernels by
    /// vendor, so a committed line repeats only on the kind of CPU that made it. Absent in
    /// older lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
}

impl RunResult {
    /// The run's identity (see [`RunSpec::id`]).
    pub fn id(&self) -> String {
        run_id(
            &self.model,
            &self.dataset,
            self.rho,
            self.beta,
            self.missing,
            self.seed,
            self.config.run.fold(),
        )
    }
}

/// The sealed form of the results file `path`: `<path>.zst`, its lines compressed with zstd
/// ([`seal_results`]).
pub fn sealed_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".zst");
    PathBuf::from(name)
}

/// Reads a results file: its sealed lines (`<path>.zst`, if any) and then its plain ones; a
/// missing file is an empty one. A line that does not parse is an error naming the file and the
/// line (a truncated last line, from a run killed while writing, is reported too: delete it and
/// rerun).
pub fn read_results(path: &Path) -> Result<Vec<RunResult>> {
    let mut results = Vec::new();
    for (file, text) in results_texts(path)? {
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let bad = |e: serde_json::Error| Error::Config {
                file: file.clone(),
                message: format!("line {}: {e}", i + 1),
            };
            let mut v: serde_json::Value = serde_json::from_str(l).map_err(bad)?;
            migrate(&mut v);
            results.push(serde_json::from_value(v).map_err(bad)?);
        }
    }
    Ok(results)
}

/// The texts of a results file's sealed and plain forms, those that exist, in that order.
fn results_texts(path: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut texts = Vec::new();
    let sealed = sealed_path(path);
    match std::fs::read(&sealed) {
        Ok(bytes) => {
            let raw = zstd::decode_all(&bytes[..]).map_err(|e| Error::io(&sealed, e))?;
            let text = String::from_utf8(raw).map_err(|e| Error::Config {
                file: sealed.clone(),
                message: format!("not UTF-8 after decompression: {e}"),
            })?;
            texts.push((sealed, text));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&sealed, e)),
    }
    match std::fs::read_to_string(path) {
        Ok(text) => texts.push((path.to_path_buf(), text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    Ok(texts)
}

/// Seals a finished grid's results: every line of `path` (and of an earlier seal) goes, byte for
/// byte, into `<path>.zst`, written whole or not at all, and the plain file is removed. A tuning
/// round's lines are read, never appended to, and repeat the whole configuration on every line,
/// so they compress about tenfold (issue 14's 5 MB budget for `trainer/results`); a later `bench`
/// appends to a new plain file beside the seal, and [`read_results`] reads both. Returns the
/// number of lines sealed.
pub fn seal_results(path: &Path) -> Result<usize> {
    let mut all = String::new();
    for (_, text) in results_texts(path)? {
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            all.push_str(l);
            all.push('\n');
        }
    }
    super::zst::write_atomically(&sealed_path(path), all.as_bytes())?;
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    Ok(all.lines().count())
}

/// The commit this build was made from (see `trainer/build.rs`).
pub const COMMIT: &str = env!("SSMVAE_COMMIT");

/// The CPU's model name (`/proc/cpuinfo`), `None` where there is none to read.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
}

/// The vectorised CPU kernel set libtorch's ATen dispatches to in this process, as ATen computes
/// it: the `ATEN_CPU_CAPABILITY` environment variable when it names a known set, else the best
/// set the CPU supports (AVX-512 needs F, VL, BW and DQ; AVX2 needs FMA too). The sets sum in
/// different orders, so a run's last bits depend on it: the same run on an AVX2-only VM and on
/// an AVX-512 VM agrees to a few ulps per step and drifts apart over an epoch
/// (`trainer/scripts/rerun-check.sh` pins the committed line's set with the same variable).
pub fn aten_cpu_capability() -> String {
    capability_from(std::env::var("ATEN_CPU_CAPABILITY").ok().as_deref())
}

/// [`aten_cpu_capability`] given the variable's value; ATen ignores (and warns about) a name it
/// does not know, and so does this.
fn capability_from(var: Option<&str>) -> String {
    match var.map(str::to_ascii_lowercase) {
        Some(v) if ["default", "avx2", "avx512", "avx512_256"].contains(&v.as_str()) => v,
        _ => detected_cpu_capability().to_string(),
    }
}

#[cfg(target_arch = "x86_64")]
fn detected_cpu_capability() -> &'static str {
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("fma")
    {
        "avx512"
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        "avx2"
    } else {
        "default"
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detected_cpu_capability() -> &'static str {
    std::env::consts::ARCH
}

/// Lines written before the `objective` key existed say which objective they ran once read, so
/// they are never taken for runs of the current default: without any §12 key (docs/model.md
/// §12), the paper's; with them (written while the keys existed but `objective` did not), the
/// keys as written. Either way an absent §12 key takes its paper value (it did not exist).
fn migrate(line: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(cfg) = line.get_mut("config").and_then(|c| c.as_object_mut()) else {
        return;
    };
    // The agreement gate (docs/model.md §12.7) came after the other §12 keys: a line without it
    // ran without it, whatever the default is now.
    cfg.entry("agreement_gate").or_insert(Value::Bool(false));
    // So did class-balanced labeled batches (§12.9), the default since round 5.
    cfg.entry("balanced_labeled").or_insert(Value::Bool(false));
    // Class-balanced batches drew every class equally before the power of §12.10 existed.
    cfg.entry("labeled_class_power").or_insert(Value::from(0.0));
    // No run self-trained in generations before the key existed (§12.12).
    cfg.entry("self_training_generations")
        .or_insert(Value::from(0));
    // Self-training followed CReST's rates alone before the cap existed; the cap was a switch,
    // `self_training_fill_to_head`, before it had a second form (round 11).
    let cap = match cfg.remove("self_training_fill_to_head") {
        Some(Value::Bool(true)) => "head-gap",
        _ => "none",
    };
    cfg.entry("self_training_cap").or_insert(Value::from(cap));
    // Every generation trained on the same networks before the restart existed.
    cfg.entry("self_training_restart")
        .or_insert(Value::Bool(false));
    // ... and took the model's argmax before quotas existed.
    cfg.entry("self_training_select")
        .or_insert(Value::from("argmax"));
    // Every run enumerated all K classes in U before the floor existed (docs/model.md §6.5).
    cfg.entry("enumeration_floor").or_insert(Value::from(0.0));
    // Every run multiplied in f32 before `precision` existed.
    cfg.entry("precision").or_insert(Value::from("f32"));
    if cfg.contains_key("objective") {
        return;
    }
    let has_keys = cfg.contains_key("logit_adjust");
    cfg.insert(
        "objective".into(),
        Value::String(if has_keys { "rare-class" } else { "paper" }.into()),
    );
    let paper = ssmvae_core::train::config::RareClass::paper();
    for (key, value) in [
        ("logit_adjust", Value::from(paper.logit_adjust)),
        ("align_unlabeled", Value::from(paper.align_unlabeled)),
        ("unlabeled_rampup", Value::from(paper.unlabeled_rampup)),
        ("consistency", Value::from(paper.consistency)),
        (
            "consistency_threshold",
            Value::from(paper.consistency_threshold),
        ),
    ] {
        cfg.entry(key).or_insert(value);
    }
}

/// The runs still to do: those of `runs` whose id is not in `done`.
pub fn pending<'a>(runs: &'a [RunSpec], done: &[RunResult]) -> Vec<&'a RunSpec> {
    let done: BTreeSet<String> = done.iter().map(RunResult::id).collect();
    runs.iter().filter(|r| !done.contains(&r.id())).collect()
}

/// Appends one result as one line (a single write, flushed), creating the folder if needed.
pub fn append_result(path: &Path, result: &RunResult) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut line = serde_json::to_string(result).map_err(|e| Error::Config {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(line.as_bytes())
        .and_then(|()| f.flush())
        .map_err(|e| Error::io(path, e))
}

/// A file-name-safe form of a run id (epoch logs are named by it).
pub fn slug(id: &str) -> String {
    let mut s = String::with_capacity(id.len());
    for c in id.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | '=' => s.push(c),
            '+' => s.push_str("plus"),
            _ => {
                if !s.ends_with('_') {
                    s.push('_')
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{capability_from, detected_cpu_capability, migrate};
    use super::{read_results, seal_results, sealed_path};

    /// A sealed file reads as the plain one did, and lines appended after the seal read after
    /// its lines; a bad line in the seal is reported with the seal's name.
    #[test]
    fn sealed_results_read_as_the_plain_lines_did() {
        let committed =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/table5/cpu.jsonl");
        let text = std::fs::read_to_string(&committed).unwrap();
        let mut lines = text.lines();
        let (a, b, c) = (
            lines.next().unwrap(),
            lines.next().unwrap(),
            lines.next().unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.jsonl");
        std::fs::write(&path, format!("{a}\n\n{b}\n")).unwrap();
        let before = read_results(&path).unwrap();
        assert_eq!(seal_results(&path).unwrap(), 2);
        assert!(!path.exists() && sealed_path(&path).exists());
        let ids = |r: &[super::RunResult]| r.iter().map(|r| r.id()).collect::<Vec<_>>();
        assert_eq!(ids(&read_results(&path).unwrap()), ids(&before));
        std::fs::write(&path, format!("{c}\n")).unwrap();
        let after = read_results(&path).unwrap();
        assert_eq!(after.len(), 3);
        assert_eq!(ids(&after[..2]), ids(&before));
        // Sealing again takes both forms, in order.
        assert_eq!(seal_results(&path).unwrap(), 3);
        assert_eq!(ids(&read_results(&path).unwrap()), ids(&after));
        let bad = zstd::encode_all(&b"{not json\n"[..], 1).unwrap();
        std::fs::write(sealed_path(&path), bad).unwrap();
        let err = read_results(&path).unwrap_err().to_string();
        assert!(
            err.contains("cpu.jsonl.zst") && err.contains("line 1"),
            "{err}"
        );
    }
    use serde_json::json;

    /// The variable wins when ATen knows its value, in any case; otherwise the CPU decides.
    #[test]
    fn cpu_kernels_follow_aten_rule() {
        assert_eq!(capability_from(Some("AVX2")), "avx2");
        assert_eq!(capability_from(Some("avx512")), "avx512");
        assert_eq!(capability_from(Some("sse9")), detected_cpu_capability());
        assert_eq!(capability_from(None), detected_cpu_capability());
    }

    #[test]
    fn old_lines_read_as_what_they_ran() {
        // Before the §12 keys: the paper's objective, every key at its paper value.
        let mut v = json!({"config": {"alpha_a": 0.3}});
        migrate(&mut v);
        assert_eq!(v["config"]["objective"], "paper");
        assert_eq!(v["config"]["logit_adjust"], 0.0);
        assert_eq!(v["config"]["agreement_gate"], false);
        // With `objective` but before the agreement gate: no gate, whatever the default is now.
        let mut v = json!({"config": {"objective": "rare-class", "logit_adjust": 1.0}});
        migrate(&mut v);
        assert_eq!(v["config"]["agreement_gate"], false);
        assert_eq!(v["config"]["balanced_labeled"], false);
        assert_eq!(v["config"]["labeled_class_power"], 0.0);
        assert_eq!(v["config"]["precision"], "f32");
        assert_eq!(v["config"]["logit_adjust"], 1.0);
        // A line that has the key keeps it.
        let mut v = json!({"config": {"objective": "rare-class", "agreement_gate": true}});
        migrate(&mut v);
        assert_eq!(v["config"]["agreement_gate"], true);
        // The cap's switch of round 10 reads as its form; no switch, no cap; the new key stays.
        for (old, cap) in [
            (Some(true), "head-gap"),
            (Some(false), "none"),
            (None, "none"),
        ] {
            let mut v = json!({"config": {"objective": "rare-class"}});
            if let Some(old) = old {
                v["config"]["self_training_fill_to_head"] = old.into();
            }
            migrate(&mut v);
            assert_eq!(v["config"]["self_training_cap"], cap);
            assert!(v["config"].get("self_training_fill_to_head").is_none());
        }
        let mut v =
            json!({"config": {"objective": "rare-class", "self_training_cap": "head-count"}});
        migrate(&mut v);
        assert_eq!(v["config"]["self_training_cap"], "head-count");
    }
}
