//! Which rows a report draws, figure by figure (issue 33: at most about eight series a panel, the
//! default's ablations apart), so a reader can tell every line from every other.

/// The most series one figure draws: each gets one of eight colour-blind-safe colours and one of
/// eight markers, so no two look alike.
pub const MAX_SERIES: usize = 8;

/// Which rows a report draws, figure by figure (issue 33: at most about eight series a panel).
/// The first figure holds the default (`SSMVAE-CI`, else the first row), the paper's objective
/// (`(paper)`), the floors (a name with `floor`, or starting `logistic` or `supervised`) and then the strongest other rows
/// by `strength` (mean overall accuracy) up to [`MAX_SERIES`]; the second, when the table has
/// any, the default and its own ablations (rows named `SSMVAE-CI, …`), the strongest first, up to
/// [`MAX_SERIES`]. Each figure lists its rows in the table's order. Returns (file suffix, rows).
pub fn figure_groups(
    names: &[String],
    strength: &dyn Fn(&str) -> f64,
) -> Vec<(&'static str, Vec<String>)> {
    let Some(default) = names
        .iter()
        .find(|n| n.as_str() == "SSMVAE-CI" || n.starts_with("SSMVAE-CI ("))
        .filter(|n| !n.contains("(paper)"))
        .or(names.first())
        .cloned()
    else {
        return Vec::new();
    };
    let is_ablation = |n: &str| n.starts_with(&format!("{default},"));
    let is_fixed = |n: &str| {
        let l = n.to_lowercase();
        n.contains("(paper)")
            || l.contains("floor")
            || l.starts_with("logistic")
            || l.starts_with("supervised")
    };
    fn by_strength<'a>(mut v: Vec<&'a String>, strength: &dyn Fn(&str) -> f64) -> Vec<&'a String> {
        v.sort_by(|a, b| strength(b).total_cmp(&strength(a)));
        v
    }
    let in_table_order = |keep: Vec<&String>| -> Vec<String> {
        names.iter().filter(|n| keep.contains(n)).cloned().collect()
    };
    let mut main: Vec<&String> = vec![&default];
    main.extend(
        names
            .iter()
            .filter(|n| **n != default && is_fixed(n) && !is_ablation(n)),
    );
    let rivals = by_strength(
        names
            .iter()
            .filter(|n| **n != default && !is_fixed(n) && !is_ablation(n))
            .collect(),
        strength,
    );
    main.extend(rivals);
    main.truncate(MAX_SERIES);
    let mut groups = vec![("", in_table_order(main))];
    let ablations = by_strength(names.iter().filter(|n| is_ablation(n)).collect(), strength);
    if !ablations.is_empty() {
        let mut own = vec![&default];
        own.extend(ablations);
        own.truncate(MAX_SERIES);
        groups.push(("-ablations", in_table_order(own)));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::{figure_groups, MAX_SERIES};

    /// Table 1's rows: the first figure holds the default, the paper's objective, the floor and
    /// the five strongest rivals; the second the default and its six ablations; table order kept.
    #[test]
    fn figures_hold_at_most_eight_rows_the_default_in_each() {
        let names: Vec<String> = [
            "SSMVAE-CI",
            "SSMVAE-CI, a",
            "SSMVAE-CI, b",
            "SSMVAE-CI, c",
            "SSMVAE-CI, d",
            "SSMVAE-CI, e",
            "SSMVAE-CI, f",
            "SSMVAE-CI (paper)",
            "SSVAE + early fusion",
            "Supervised (early fusion)",
            "R1",
            "R2",
            "R3",
            "R4",
            "R5",
            "R6",
            "R7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Strength: R7 strongest, then R6, … ; SSVAE weakest.
        let strength = |n: &str| match n.strip_prefix('R') {
            Some(k) => k.parse::<f64>().unwrap(),
            None => 0.0,
        };
        let groups = figure_groups(&names, &strength);
        assert_eq!(groups.len(), 2);
        let (main, ablations) = (&groups[0].1, &groups[1].1);
        assert_eq!(groups[0].0, "");
        assert_eq!(
            main,
            &[
                "SSMVAE-CI",
                "SSMVAE-CI (paper)",
                "Supervised (early fusion)",
                "R3",
                "R4",
                "R5",
                "R6",
                "R7"
            ]
        );
        assert_eq!(groups[1].0, "-ablations");
        assert_eq!(ablations.len(), 7);
        assert_eq!(ablations[0], "SSMVAE-CI");
        assert!(ablations[1..].iter().all(|n| n.starts_with("SSMVAE-CI, ")));
        assert!(groups.iter().all(|g| g.1.len() <= MAX_SERIES));
        // No ablation row: one figure.
        let few: Vec<String> = ["SSMVAE-CI", "R1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(figure_groups(&few, &strength).len(), 1);
    }
}
