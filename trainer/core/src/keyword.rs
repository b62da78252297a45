//! Keyword enums: the unit enums that configuration files and flags name by a kebab-case word
//! (`fusion = "early"`, `--latent gaussian`). The library parses and prints them itself, so it
//! needs no CLI library: `keywords!` gives each enum `NAMES`, `FromStr` (an error that lists the
//! choices) and `Display`; the CLI builds its parsers from `NAMES`. Serde's `kebab-case` renaming
//! must spell the same words; `train::config`'s `serde_agrees_with_names` checks every enum (it sits above them all).

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
