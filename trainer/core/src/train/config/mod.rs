//! Training configuration: one TOML file and/or flags, flags winning over the file, unknown keys an
//! error. The keys are grouped by what they configure ([`groups`]: model, objective, optimiser,
//! run, data; [`methods`]: one group per baseline), each group with its defaults and range checks
//! (docs/model.md §11: ν = 10, m = 64, hidden widths by the size rule, a = 3, c_S). A TOML file and
//! the flags name the keys flat (`nu`, `--nu`), as they always have.

pub mod choices;
pub mod groups;
pub mod methods;

use crate::error::{Error, Result};
pub use crate::key::Key;
pub use crate::objective::{EntropyCoef, Objective, RareClass};
use crate::objective::{Latent, UnlabeledForm};
use crate::protocol::Protocol;
pub use choices::{
    AlphaScale, ClassifierLoss, DeviceChoice, Fusion, Hidden, LabelPrior, Method, Mode, Precision,
};
use groups::bad;
pub use groups::{DataConfig, ModelConfig, ObjectiveConfig, OptimConfig, RunConfig};
pub use methods::{BaselineConfig, CmmlConfig, CrestConfig, GamoConfig, SmlnConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Every training key, by group. Serialised (TOML, JSON lines, checkpoints) the groups are
/// flattened: the keys are the fields' names (or their `serde` renames), one flat table.
///
/// serde cannot deny unknown fields through `flatten`, so [`TrainConfig::unknown_key`] does it:
/// every reader of a configuration table calls it first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// The model.
    #[serde(flatten)]
    pub model: ModelConfig,
    /// The objective.
    #[serde(flatten)]
    pub objective: ObjectiveConfig,
    /// The §12 rare-class mechanisms (in force under `objective = rare-class`).
    #[serde(flatten)]
    pub rare: RareClass,
    /// The optimiser.
    #[serde(flatten)]
    pub optim: OptimConfig,
    /// The method, seed, device, model selection.
    #[serde(flatten)]
    pub run: RunConfig,
    /// Where the data is.
    #[serde(flatten)]
    pub data: DataConfig,
    /// The protocol that draws the split (its seed is the run's: `run::protocol_of` sets it).
    #[serde(flatten)]
    pub protocol: Protocol,
    /// What the semi-supervised baselines share.
    #[serde(flatten)]
    pub baseline: BaselineConfig,
    /// CReST.
    #[serde(flatten)]
    pub crest: CrestConfig,
    /// CMML.
    #[serde(flatten)]
    pub cmml: CmmlConfig,
    /// SMLN.
    #[serde(flatten)]
    pub smln: SmlnConfig,
    /// GAMO.
    #[serde(flatten)]
    pub gamo: GamoConfig,
    /// Set only by `mode = auto`'s guard (docs/model.md §12.13), never a key: (fold, k) of the
    /// labels left after the validation carve-out, held out to score a candidate, so a guarded
    /// run under k-fold validation never reads its own validation labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_fold: Option<(usize, usize)>,
}

impl TrainConfig {
    /// Every key's declaration, group by group in the flattened table's order: the flags of
    /// `ssmvae train`.
    pub fn key_table() -> Vec<Key> {
        [
            ModelConfig::KEYS,
            ObjectiveConfig::KEYS,
            RareClass::KEYS,
            OptimConfig::KEYS,
            RunConfig::KEYS,
            DataConfig::KEYS,
            Protocol::KEYS,
            BaselineConfig::KEYS,
            CrestConfig::KEYS,
            CmmlConfig::KEYS,
            SmlnConfig::KEYS,
            GamoConfig::KEYS,
        ]
        .concat()
    }

    /// Sets one key from a flag's text (a list's items joined by commas); the error names the
    /// flag and says why the text is not a value of it.
    pub fn set_key(&mut self, key: &str, text: &str) -> Result<()> {
        let found = (|| {
            Ok::<bool, String>(
                self.model.set_key(key, text)?
                    || self.objective.set_key(key, text)?
                    || self.rare.set_key(key, text)?
                    || self.optim.set_key(key, text)?
                    || self.run.set_key(key, text)?
                    || self.data.set_key(key, text)?
                    || self.protocol.set_key(key, text)?
                    || self.baseline.set_key(key, text)?
                    || self.crest.set_key(key, text)?
                    || self.cmml.set_key(key, text)?
                    || self.smln.set_key(key, text)?
                    || self.gamo.set_key(key, text)?,
            )
        })();
        match found {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Flag {
                flag: key.replace('_', "-"),
                message: "is not a configuration key".into(),
            }),
            Err(message) => Err(Error::Flag {
                flag: key.replace('_', "-"),
                message,
            }),
        }
    }

    /// Every key a configuration table may hold, read off the serialised default (so the list
    /// cannot drift from the fields).
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(TrainConfig::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The first key of `table` that is not a configuration key, and the error message for it,
    /// with the nearest key's name when one is a likely misspelling: `` unknown key
    /// `latent_dimm` (did you mean `latent_dim`?) ``.
    pub fn unknown_key<'a>(
        table: impl IntoIterator<Item = &'a String>,
    ) -> Option<(&'a str, String)> {
        let keys = Self::keys();
        let unknown = table.into_iter().find(|k| !keys.contains(k))?;
        let nearest = keys
            .iter()
            .map(|k| (edit_distance(k, unknown), k))
            .min()
            .filter(|(d, _)| *d <= 2.max(unknown.len() / 4));
        let message = match nearest {
            Some((_, k)) => format!("unknown key `{unknown}` (did you mean `{k}`?)"),
            None => format!(
                "unknown key `{unknown}` (the keys are `ssmvae train --help`'s flags, `_` for `-`)"
            ),
        };
        Some((unknown, message))
    }

    /// Reads a TOML file; unknown keys are an error naming the key and its line.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))?;
        if let Some((key, message)) = Self::unknown_key(table.keys()) {
            let line = text
                .lines()
                .position(|l| {
                    l.trim_start()
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.trim_start().starts_with('='))
                })
                .map(|i| format!("line {}: ", i + 1))
                .unwrap_or_default();
            return Err(Error::Config {
                file: path.to_path_buf(),
                message: format!("{line}{message}"),
            });
        }
        toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))
    }

    /// Checks every value once, so training never starts on a configuration it cannot honour:
    /// each group's ranges, then what depends on two groups.
    pub fn validate(&self) -> Result<()> {
        // U2 (docs/model.md §6.3) is the exact γ-power treatment of the discrete latent; its
        // constant ν·C_S has no Gaussian limit (it is NaN there), so the pair is refused up front
        // instead of stopping with a NaN loss at the first step.
        if self.model.latent == Latent::Gaussian
            && self.objective.unlabeled_form == UnlabeledForm::ExactGamma
        {
            return bad(
                "unlabeled_form",
                self.objective.unlabeled_form.to_string(),
                "exact-gamma needs latent = student-t (the γ-power form has no Gaussian limit); use entropy",
            );
        }
        self.model.validate()?;
        // No hidden layer makes every network of the SSMVAE family linear: with `mode =
        // supervised, fusion = early` that is the logistic-regression floor (multinomial, on the
        // concatenated views). The baselines' extra networks (CMML's attention, GAMO's
        // generator) take the first hidden width, so they need one.
        if self.model.hidden == Hidden::Widths(Vec::new()) && self.run.method != Method::Ssmvae {
            return bad(
                "hidden",
                "[]".into(),
                "the baselines need at least one hidden layer; [] (linear networks) is for method = ssmvae",
            );
        }
        self.objective.validate()?;
        self.validate_rare_class()?;
        if !self.objective.alpha_a_candidates.is_empty() && self.run.method != Method::Ssmvae {
            return bad(
                "alpha_a_candidates",
                format!("{:?}", self.objective.alpha_a_candidates),
                "chooses SSMVAE-CI's classification weight; the baselines have none (use method = ssmvae)",
            );
        }
        if matches!(self.model.mode, Mode::Decoupled | Mode::Auto)
            && self.run.method != Method::Ssmvae
        {
            return bad(
                "mode",
                self.model.mode.to_string(),
                "decouples SSMVAE-CI's classifier (docs/model.md §12.13); the baselines train as published: use semi or supervised",
            );
        }
        if self.model.mode == Mode::Auto && !self.objective.alpha_a_candidates.is_empty() {
            return bad(
                "mode",
                "auto".into(),
                "chooses on held-out labels, as alpha_a_candidates does: one choice per run, drop one of them",
            );
        }
        self.optim.validate()?;
        self.validate_baselines()?;
        self.run.validate()
    }

    /// The §12 keys' ranges, and the two that need Eq. 8's entropy form of U.
    fn validate_rare_class(&self) -> Result<()> {
        self.rare.check_keys()?;
        let exact = self.objective.unlabeled_form == UnlabeledForm::ExactGamma;
        if self.rare.enumeration_floor > 0.0 && exact {
            return bad(
                "enumeration_floor",
                self.rare.enumeration_floor.to_string(),
                "needs unlabeled_form = entropy (U2's terms do not vanish with q_y)",
            );
        }
        if self.rare.agreement_gate && exact {
            return bad(
                "agreement_gate",
                "true".into(),
                "needs unlabeled_form = entropy (U2 has no per-class γ-loss to compare)",
            );
        }
        Ok(())
    }

    /// The §12 mechanisms in force: the keys, or all off (`RareClass::paper()`) under
    /// `objective = paper`. The training code reads them only through here.
    pub fn rare_class(&self) -> RareClass {
        let mut r = match self.objective.kind {
            Objective::Paper => RareClass::paper(),
            Objective::RareClass => self.rare,
        };
        // §12.13: a decoupled classifier learns from the labels alone, so every mechanism that
        // trains it on unlabeled samples is off whatever its key says.
        if self.model.mode == Mode::Decoupled {
            r.self_training_generations = 0;
            r.consistency = 0.0;
            r.align_unlabeled = false;
            r.agreement_gate = false;
        }
        r
    }

    /// The baselines' keys (checked whatever the method, so a bad value in a shared TOML file is
    /// caught by the first run that reads it).
    fn validate_baselines(&self) -> Result<()> {
        self.baseline.check_keys()?;
        self.crest.check_keys()?;
        self.cmml.check_keys()?;
        self.smln.check_keys()?;
        self.gamo.check_keys()?;
        if self.run.method == Method::Crest
            && (self.crest.generations == 0 || self.crest.generations > self.optim.epochs)
        {
            return bad(
                "crest_generations",
                self.crest.generations.to_string(),
                "must be between 1 and the number of epochs",
            );
        }
        match (self.run.method, self.model.fusion) {
            (Method::Ssmvae, _) | (Method::Cmml, Fusion::Poe | Fusion::Late) => {}
            (Method::Cmml, Fusion::Early) => {
                return bad(
                    "fusion",
                    "early".into(),
                    "CMML fuses per-modality classifiers by attention; use fusion = late",
                )
            }
            (_, Fusion::Poe) => {
                return bad(
                    "fusion",
                    "poe".into(),
                    "the baselines fuse modalities early or late; set fusion = early or late",
                )
            }
            _ => {}
        }
        Ok(())
    }
}

/// Levenshtein distance (for suggesting the key a misspelt one meant).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Small helper so the loss code reads as a question.
pub trait UnlabeledFormExt {
    /// True for the exact-γ variant U2.
    fn is_exact(&self) -> bool;
}

impl UnlabeledFormExt for UnlabeledForm {
    fn is_exact(&self) -> bool {
        *self == UnlabeledForm::ExactGamma
    }
}

#[cfg(test)]
mod tests {
    use super::TrainConfig;
    use crate::objective::{
        Latent, Objective, PriorExpert, PseudoLabelCap, PseudoLabelSelect, TargetPrior,
        UnlabeledForm,
    };
    use crate::protocol::{Missing, UnlabeledProfile};
    use crate::train::config::{
        AlphaScale, ClassifierLoss, DeviceChoice, Fusion, LabelPrior, Method, Mode, Precision,
    };
    use serde::{de::DeserializeOwned, Serialize};
    use std::fmt::Display;
    use std::str::FromStr;

    fn agrees<T>(names: &[&str])
    where
        T: FromStr<Err = String>
            + Display
            + Serialize
            + DeserializeOwned
            + PartialEq
            + std::fmt::Debug,
    {
        for name in names {
            let v: T = name.parse().unwrap();
            assert_eq!(v.to_string(), *name);
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<T>(&format!("\"{name}\"")).unwrap(),
                v
            );
        }
        let err = "no-such-word".parse::<T>().unwrap_err();
        assert!(err.contains(&names.join(", ")), "{err}");
    }

    #[test]
    fn serde_agrees_with_names() {
        agrees::<Latent>(Latent::NAMES);
        agrees::<PriorExpert>(PriorExpert::NAMES);
        agrees::<UnlabeledForm>(UnlabeledForm::NAMES);
        agrees::<Missing>(Missing::NAMES);
        agrees::<UnlabeledProfile>(UnlabeledProfile::NAMES);
        agrees::<Fusion>(Fusion::NAMES);
        agrees::<Mode>(Mode::NAMES);
        agrees::<LabelPrior>(LabelPrior::NAMES);
        agrees::<Method>(Method::NAMES);
        agrees::<ClassifierLoss>(ClassifierLoss::NAMES);
        agrees::<AlphaScale>(AlphaScale::NAMES);
        agrees::<DeviceChoice>(DeviceChoice::NAMES);
        agrees::<PseudoLabelCap>(PseudoLabelCap::NAMES);
        agrees::<PseudoLabelSelect>(PseudoLabelSelect::NAMES);
        agrees::<TargetPrior>(TargetPrior::NAMES);
        agrees::<Objective>(Objective::NAMES);
        agrees::<Precision>(Precision::NAMES);
    }

    /// Every key a file or a results line holds has one declaration (a flag), and no declaration
    /// names a key serde does not write.
    #[test]
    fn every_serialised_key_is_declared_once() {
        let mut declared: Vec<&str> = TrainConfig::key_table().iter().map(|k| k.name).collect();
        let n = declared.len();
        declared.sort_unstable();
        declared.dedup();
        assert_eq!(declared.len(), n, "a key is declared twice");
        let mut serialised = TrainConfig::keys();
        serialised.sort_unstable();
        assert_eq!(declared, serialised);
    }
}
