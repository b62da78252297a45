//! The imbalance setting of a split: a long-tail ratio ρ the protocol draws (the paper's), or
//! `natural`, for data that is already imbalanced: every class keeps the size it has.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// `--rho`: a ratio ρ = n_0 / n_{K−1} ≥ 1, or `natural`.
///
/// In TOML, JSON lines and run ids a ratio is the number it always was (old files read as they
/// are) and `natural` is the string `"natural"`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Rho {
    /// Long-tailed class sizes n_k = n_max ρ^(−k/(K−1)) drawn from the pool (the paper's).
    Ratio(f64),
    /// Every class keeps all of its samples in the train pool (after the test hold-out): the
    /// data's own imbalance, with β of each class labeled.
    Natural,
}

impl Rho {
    /// The ratio, or `None` for `natural`.
    pub fn ratio(self) -> Option<f64> {
        match self {
            Rho::Ratio(r) => Some(r),
            Rho::Natural => None,
        }
    }
}

impl Rho {
    /// A total order for tables and plots: ratios by value, `natural` after every ratio.
    pub fn total_cmp(&self, other: &Rho) -> std::cmp::Ordering {
        match (self, other) {
            (Rho::Ratio(a), Rho::Ratio(b)) => a.total_cmp(b),
            (Rho::Ratio(_), Rho::Natural) => std::cmp::Ordering::Less,
            (Rho::Natural, Rho::Ratio(_)) => std::cmp::Ordering::Greater,
            (Rho::Natural, Rho::Natural) => std::cmp::Ordering::Equal,
        }
    }
}

impl From<f64> for Rho {
    fn from(r: f64) -> Self {
        Rho::Ratio(r)
    }
}

impl fmt::Display for Rho {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // f64's own Display: `10`, `2.5`, as run ids and reports have always written it.
            Rho::Ratio(r) => write!(f, "{r}"),
            Rho::Natural => f.write_str("natural"),
        }
    }
}

key_value_parse!(Rho);

impl std::str::FromStr for Rho {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "natural" {
            return Ok(Rho::Natural);
        }
        s.parse::<f64>().map(Rho::Ratio).map_err(|_| {
            format!("`{s}` is neither a number ≥ 1 nor `natural` (the data's own class sizes)")
        })
    }
}

impl From<Rho> for toml::Value {
    fn from(r: Rho) -> Self {
        match r {
            Rho::Ratio(r) => toml::Value::Float(r),
            Rho::Natural => toml::Value::String("natural".into()),
        }
    }
}

impl Serialize for Rho {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Rho::Ratio(r) => s.serialize_f64(*r),
            Rho::Natural => s.serialize_str("natural"),
        }
    }
}

impl<'de> Deserialize<'de> for Rho {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rho;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an imbalance ratio (a number ≥ 1) or \"natural\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rho, E> {
                Ok(Rho::Ratio(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rho, E> {
                Ok(Rho::Ratio(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rho, E> {
                Ok(Rho::Ratio(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rho, E> {
                match v {
                    "natural" => Ok(Rho::Natural),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_read_and_write_as_the_numbers_they_were() {
        let r: Rho = serde_json::from_str("10.0").unwrap();
        assert_eq!(r, Rho::Ratio(10.0));
        assert_eq!(
            serde_json::from_str::<Rho>("100").unwrap(),
            Rho::Ratio(100.0)
        );
        assert_eq!(serde_json::to_string(&r).unwrap(), "10.0");
        assert_eq!(r.to_string(), "10", "run ids keep f64's Display");
        let n: Rho = serde_json::from_str("\"natural\"").unwrap();
        assert_eq!(n, Rho::Natural);
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"natural\"");
        assert!(serde_json::from_str::<Rho>("\"nat\"").is_err());
        #[derive(Deserialize)]
        struct T {
            rho: Vec<Rho>,
        }
        let t: T = toml::from_str("rho = [10, 2.5, \"natural\"]").unwrap();
        assert_eq!(t.rho, vec![Rho::Ratio(10.0), Rho::Ratio(2.5), Rho::Natural]);
        assert_eq!("natural".parse::<Rho>().unwrap(), Rho::Natural);
        assert_eq!("50".parse::<Rho>().unwrap(), Rho::Ratio(50.0));
        assert!("x".parse::<Rho>().unwrap_err().contains("natural"));
    }
}
