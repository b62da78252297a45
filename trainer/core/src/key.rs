//! A configuration key, declared once. Each group of the training configuration (the model, the
//! objective, the §12 rare-class mechanisms, the optimiser, the run, the data, each baseline) is
//! written with `config_group!`: one line per key gives its name, type, default, value under the
//! paper's objective, range check and doc. From that one line come the struct field, its serde
//! name (TOML files, results lines, checkpoints), its `Default`, its range check, and a [`Key`]
//! entry from which the CLI builds the flag (`--latent-dim`), its `--help` text and its choices.
//! Adding a key is adding one line; nothing else restates it.
//!
//! The library stays free of CLI types: a [`Key`] is plain data, and [`KeyValue`] turns a flag's
//! text into the field's value with the type's own parser.

use std::path::PathBuf;

/// One key as a flag and a file name it: what the CLI needs to build its argument.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key in a TOML file and a results line (`latent_dim`); the flag is the same with `-`.
    pub name: &'static str,
    /// The doc lines of its declaration, the `--help` text.
    pub doc: &'static str,
    /// The words it takes, for a keyword key (`fusion`: poe, early, late).
    pub values: Option<&'static [&'static str]>,
    /// Whether a flag takes a comma-separated list.
    pub list: bool,
    /// An environment variable the flag falls back to.
    pub env: Option<&'static str>,
    /// Whether a flag's text (one item of a list) is a value of the key: `Err` says why not.
    pub parse: fn(&str) -> Result<(), String>,
}

impl Key {
    /// The flag's name: the key with `-` for `_`.
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }

    /// The doc as one paragraph (rustdoc's line breaks joined, intra-doc backticks kept).
    pub fn help(&self) -> String {
        let text = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        // clap's convention: a one-sentence help has no closing period.
        match text.strip_suffix('.') {
            Some(t) if !t.contains(". ") => t.to_string(),
            _ => text,
        }
    }
}

/// How a flag's text becomes a key's value: the type's own parser (`FromStr` for numbers and
/// keyword enums), a comma-separated list for a `Vec`, the value itself for an `Option`.
pub trait KeyValue: Sized {
    /// The words a keyword type takes (listed in `--help`, checked by the CLI).
    const NAMES: Option<&'static [&'static str]> = None;
    /// Whether the flag takes a comma-separated list.
    const LIST: bool = false;
    /// Parses one flag's text (a list's items joined by commas).
    fn parse_key(text: &str) -> Result<Self, String>;
}

/// `KeyValue` through `FromStr` for the standard types (the caller names the refused text).
macro_rules! key_value_from_str {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::key::KeyValue for $ty {
            fn parse_key(text: &str) -> Result<Self, String> {
                text.parse::<$ty>().map_err(|e| e.to_string())
            }
        })*
    };
}

key_value_from_str!(f64, usize, u64, bool, String, PathBuf);

/// `KeyValue` through `FromStr` for types whose parser names the text it refused.
macro_rules! key_value_parse {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::key::KeyValue for $ty {
            fn parse_key(text: &str) -> Result<Self, String> {
                text.parse::<$ty>()
            }
        })*
    };
}

// The data layer's transform keyword, whose crate knows nothing of keys.
key_value_parse!(crate::data::TransformChoice);

impl<T: KeyValue> KeyValue for Option<T> {
    const NAMES: Option<&'static [&'static str]> = T::NAMES;
    const LIST: bool = T::LIST;
    fn parse_key(text: &str) -> Result<Self, String> {
        T::parse_key(text).map(Some)
    }
}

impl<T: KeyValue> KeyValue for Vec<T> {
    const NAMES: Option<&'static [&'static str]> = T::NAMES;
    const LIST: bool = true;
    fn parse_key(text: &str) -> Result<Self, String> {
        text.split(',').map(|s| T::parse_key(s.trim())).collect()
    }
}

/// The range check of one key: `check(&value)` is `Err(reason)` for a value out of range.
pub fn checked<T: std::fmt::Display>(
    name: &'static str,
    value: &T,
    check: impl Fn(&T) -> Result<(), &'static str>,
) -> crate::error::Result<()> {
    check(value).map_err(|reason| {
        crate::error::DataError::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
        .into()
    })
}

/// Range checks shared by many keys.
pub mod range {
    /// Finite and ≥ 0.
    pub fn non_negative(v: &f64) -> Result<(), &'static str> {
        (*v >= 0.0 && v.is_finite())
            .then_some(())
            .ok_or("must be a finite number ≥ 0")
    }

    /// Finite and > 0.
    pub fn positive(v: &f64) -> Result<(), &'static str> {
        (*v > 0.0 && v.is_finite())
            .then_some(())
            .ok_or("must be > 0")
    }

    /// At least 1.
    pub fn at_least_one(v: &usize) -> Result<(), &'static str> {
        (*v >= 1).then_some(()).ok_or("must be ≥ 1")
    }
}

/// Declares a group of configuration keys: the struct (serde, `Default`), its keys' table
/// `KEYS`, `set_key` (a flag's text into a field), `check_keys` (each key's range) and `paper()`
/// (every key at its value under the paper's objective, its default where none is given).
///
/// ```text
/// config_group! {
///     /// The group's doc.
///     pub struct Group {
///         /// The key's doc: its `--help` text.
///         field ["toml_name"]: Type = default, paper = value, check = range_fn, env = "VAR";
///     }
/// }
/// ```
/// The `["toml_name"]` (when the key is not the field's name) and each `, … = …` part are
/// optional, in that order. Fields after a last `@internal` line are not keys: no flag, no file
/// key, not serialised (`#[serde(skip)]`); the group's user sets them (the protocol's seed, which
/// is the run's).
macro_rules! config_group {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident $([$key:literal])? : $ty:ty = $default:expr
                    $(, paper = $paper:expr)?
                    $(, check = $check:expr)?
                    $(, env = $env:literal)?
                ;
            )*
            $(
                @internal
                $(
                    $(#[doc = $idoc:literal])*
                    $ifield:ident : $ity:ty = $idefault:expr;
                )*
            )?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde(rename = $key)])?
                pub $field: $ty,
            )*
            $($(
                $(#[doc = $idoc])*
                #[serde(skip)]
                pub $ifield: $ity,
            )*)?
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* $($($ifield: $idefault,)*)? }
            }
        }

        #[allow(dead_code)]
        impl $name {
            /// The group's keys, in declaration order.
            pub const KEYS: &'static [$crate::key::Key] = &[$(
                $crate::key::Key {
                    name: config_group!(@name $field $($key)?),
                    doc: concat!($($doc, "\n",)*),
                    values: <$ty as $crate::key::KeyValue>::NAMES,
                    list: <$ty as $crate::key::KeyValue>::LIST,
                    env: config_group!(@env $($env)?),
                    parse: |text| <$ty as $crate::key::KeyValue>::parse_key(text).map(|_| ()),
                },
            )*];

            /// Sets the key named `key` from a flag's text: `Ok(false)` if the group has no such
            /// key, `Err` (the parser's reason) if the text is not a value of it.
            pub fn set_key(&mut self, key: &str, text: &str) -> std::result::Result<bool, String> {
                $(
                    if key == config_group!(@name $field $($key)?) {
                        self.$field = <$ty as $crate::key::KeyValue>::parse_key(text)?;
                        return Ok(true);
                    }
                )*
                Ok(false)
            }

            /// Each key's own range, as its declaration states it.
            pub fn check_keys(&self) -> $crate::error::Result<()> {
                $(
                    config_group!(@check self.$field, config_group!(@name $field $($key)?) $(, $check)?);
                )*
                Ok(())
            }

            /// Every key at its value under the paper's objective (its default where the
            /// declaration gives none).
            pub fn paper() -> Self {
                $name {
                    $($field: config_group!(@pick $default $(, $paper)?),)*
                    $($($ifield: $idefault,)*)?
                }
            }
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $key:literal) => { $key };
    (@check $value:expr, $name:expr) => {};
    (@check $value:expr, $name:expr, $check:expr) => {
        $crate::key::checked($name, &$value, $check)?
    };
    (@env) => { None };
    (@env $env:literal) => { Some($env) };
    (@pick $default:expr) => { $default };
    (@pick $default:expr, $paper:expr) => { $paper };
}

#[cfg(test)]
mod tests {
    use super::range::non_negative;

    config_group! {
        /// A group to test the macro with.
        pub struct Demo {
            /// A width.
            /// Second line.
            width: usize = 3, check = super::range::at_least_one;
            /// A weight.
            weight ["demo_weight"]: f64 = 1.5, paper = 0.0, check = non_negative;
            /// A list.
            list: Vec<f64> = vec![1.0];
            /// A path.
            path: Option<std::path::PathBuf> = None, env = "DEMO_PATH";
            @internal
            /// Not a key.
            hidden: u64 = 7;
        }
    }

    #[test]
    fn one_declaration_gives_every_part() {
        let d = Demo::default();
        assert_eq!((d.width, d.weight), (3, 1.5));
        assert_eq!(Demo::paper().weight, 0.0);
        assert_eq!(Demo::paper().width, 3);
        let names: Vec<&str> = Demo::KEYS.iter().map(|k| k.name).collect();
        assert_eq!(names, ["width", "demo_weight", "list", "path"]);
        assert_eq!(Demo::KEYS[0].help(), "A width. Second line.");
        assert_eq!(Demo::KEYS[2].help(), "A list");
        assert_eq!(Demo::KEYS[1].flag(), "demo-weight");
        assert!(Demo::KEYS[2].list && !Demo::KEYS[0].list);
        assert_eq!(Demo::KEYS[3].env, Some("DEMO_PATH"));
        let json = serde_json::to_value(&d).unwrap();
        assert!(json.get("demo_weight").is_some() && json.get("weight").is_none());
        assert_eq!((d.hidden, Demo::paper().hidden), (7, 7));
        assert!(json.get("hidden").is_none() && Demo::KEYS.iter().all(|k| k.name != "hidden"));
    }

    #[test]
    fn set_key_parses_and_check_keys_refuses() {
        let mut d = Demo::default();
        assert_eq!(d.set_key("demo_weight", "-2"), Ok(true));
        assert_eq!(d.set_key("list", "1, 2.5"), Ok(true));
        assert_eq!(d.list, [1.0, 2.5]);
        assert_eq!(d.set_key("nope", "1"), Ok(false));
        assert!(d
            .set_key("width", "x")
            .unwrap_err()
            .contains("invalid digit"));
        let err = d.check_keys().unwrap_err().to_string();
        assert!(err.contains("demo_weight") && err.contains("≥ 0"), "{err}");
        d.weight = 0.0;
        d.width = 0;
        assert!(d.check_keys().unwrap_err().to_string().contains("width"));
    }
}
