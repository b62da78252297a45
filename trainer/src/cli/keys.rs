//! The configuration keys as flags: each flag is built from the key's one declaration in the
//! library ([`trainer::key::Key`]: name, doc, choices, list, environment variable) with its
//! default read off `TrainConfig::default()`, so no flag restates a key.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::marker::PhantomData;
use trainer::key::Key;
use trainer::protocol::Protocol;
use trainer::train::config::{DataConfig, RunConfig, TrainConfig};

/// A set of keys a command takes as flags.
pub trait KeySet {
    /// The keys, in the order `--help` lists them.
    fn keys() -> Vec<Key>;
}

/// Every training key: `ssmvae train`.
#[derive(Debug, Clone, Copy)]
pub struct TrainKeys;

impl KeySet for TrainKeys {
    fn keys() -> Vec<Key> {
        TrainConfig::key_table()
    }
}

/// The data and protocol keys and the seed: `ssmvae data`.
#[derive(Debug, Clone, Copy)]
pub struct DataKeys;

impl KeySet for DataKeys {
    fn keys() -> Vec<Key> {
        let seed = RunConfig::KEYS.iter().filter(|k| k.name == "seed");
        let protocol = Protocol::KEYS.iter();
        DataConfig::KEYS
            .iter()
            .chain(protocol)
            .chain(seed)
            .copied()
            .collect()
    }
}

/// The keys given on the command line, each with its text (a list's items joined by commas), in
/// declaration order.
#[derive(Debug, Clone)]
pub struct KeyFlags<S> {
    /// (key, text) for every key given.
    pub given: Vec<(&'static str, String)>,
    set: PhantomData<S>,
}

impl<S> KeyFlags<S> {
    /// Sets every given key on `config` (flags win over a file: call after reading it).
    pub fn apply(&self, config: &mut TrainConfig) -> trainer::Result<()> {
        for (key, text) in &self.given {
            config.set_key(key, text)?;
        }
        Ok(())
    }
}

/// The default's text as `--help` shows it (`[default: …]`), or `None` for an unset option.
fn default_text(defaults: &serde_json::Value, name: &str) -> Option<String> {
    match defaults.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(v) if v.is_empty() => None,
        serde_json::Value::Array(v) => Some(
            v.iter()
                .map(|x| x.to_string().trim_matches('"').to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        serde_json::Value::Null => None,
        v => Some(v.to_string()),
    }
}

/// One key's flag: `--latent-dim <LATENT_DIM>`, its doc and default as help, its choices checked
/// by clap, any other text checked by the key's own parser so a bad value fails at parse time.
fn flag(key: &Key, defaults: &serde_json::Value) -> Arg {
    let mut arg = Arg::new(key.name)
        .long(key.flag())
        // A list flag may be repeated (`--modalities a --modalities b,c`), as clap's derive took it.
        .action(if key.list {
            ArgAction::Append
        } else {
            ArgAction::Set
        })
        .value_name(key.name.to_uppercase());
    arg = match key.values {
        Some(words) => arg.value_parser(PossibleValuesParser::new(words)),
        None => {
            let parse = key.parse;
            arg.value_parser(move |text: &str| parse(text).map(|()| text.to_string()))
        }
    };
    if key.list {
        arg = arg.value_delimiter(',').num_args(1..);
    }
    if let Some(var) = key.env {
        arg = arg.env(var);
    }
    let help = match default_text(defaults, key.name) {
        Some(d) => format!("{} [default: {d}]", key.help()),
        None => key.help(),
    };
    arg.help(help)
}

impl<S: KeySet> clap::Args for KeyFlags<S> {
    fn augment_args(mut cmd: Command) -> Command {
        let defaults = serde_json::to_value(TrainConfig::default()).unwrap_or_default();
        for key in S::keys() {
            cmd = cmd.arg(flag(&key, &defaults));
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<S: KeySet> clap::FromArgMatches for KeyFlags<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for key in S::keys() {
            if let Ok(Some(values)) = matches.try_get_many::<String>(key.name) {
                given.push((key.name, values.cloned().collect::<Vec<_>>().join(",")));
            }
        }
        Ok(KeyFlags {
            given,
            set: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
