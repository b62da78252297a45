//! Keyword enums: the unit enums that configuration files and flags name by a kebab-case word
//! (`fusion = "early"`, `--latent gaussian`). The library parses and prints them itself, so it
//! needs no CLI library: `keywords!` gives each enum `NAMES`, `FromStr` (an error that lists the
//! choices) and `Display`; the CLI builds its parsers from `NAMES`. Serde's `kebab-case` renaming
//! must spell the same words; `tests::serde_agrees_with_names` checks every enum.

/// Implements `NAMES`, `FromStr` and `Display` for a unit enum from `Variant => "word"` pairs.
macro_rules! keywords {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The words that name the variants, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    _ => Err(format!("`{s}` is not one of: {}", Self::NAMES.join(", "))),
                }
            }
        }

        impl $crate::key::KeyValue for $ty {
            const NAMES: Option<&'static [&'static str]> = Some(<$ty>::NAMES);
            fn parse_key(text: &str) -> std::result::Result<Self, String> {
                text.parse()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $(Self::$variant => $name,)+
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::objective::{
        Latent, Objective, PriorExpert, PseudoLabelCap, PseudoLabelSelect, TargetPrior,
        UnlabeledForm,
    };
    use crate::protocol::Missing;
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
}
