//! The trainer's house rules, read from its `use` lines and `crate::` paths: data flows one way
//! (`run → train / baselines → model / objective / protocol → data`), so
//! - no two top-level modules of the library import each other, directly or around a cycle;
//! - the SSMVAE-CI path (`train`, `model`, `objective`, `protocol`, `export`, `metrics`) never
//!   imports `baselines`;
//! - `objective` imports nothing from `train`, `model`, `run`, the CLI or clap.
//!
//! The binary (`main.rs`, `cli.rs`, `commands/`) sits above the library and is not checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The library's top-level module a source file belongs to (`None` for the binary's files).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    match name.as_str() {
        "main" | "cli" | "commands" => None,
        _ => Some(name),
    }
}

/// Code without comments (so a doc link to another module is not an import).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::` (including `crate::{a, b}`).
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    refs.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                refs.insert(name);
            }
        }
    }
    refs
}

/// Module → the other top-level modules it imports, and per module whether it names clap.
fn graph() -> (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut uses_clap = BTreeSet::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else {
            continue;
        };
        let text = code(&std::fs::read_to_string(f).unwrap());
        if text.contains("clap::") || text.contains("use clap") {
            uses_clap.insert(m.clone());
        }
        let e = edges.entry(m.clone()).or_default();
        for r in crate_refs(&text) {
            if r != m && modules.contains(&r) {
                e.insert(r);
            }
        }
    }
    (edges, uses_clap)
}

/// A cycle through `start`, if any (depth-first search over the import edges).
fn cycle_from(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn dfs(
        node: &str,
        start: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges.get(node).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if dfs(next, start, edges, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    dfs(start, start, edges, &mut path, &mut seen).then_some(path)
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let (edges, _) = graph();
    assert!(edges.contains_key("train") && edges.contains_key("baselines"));
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|m| cycle_from(m, &edges))
        .map(|c| c.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_ssmvae_path_never_imports_the_baselines() {
    let (edges, _) = graph();
    for m in [
        "train",
        "model",
        "objective",
        "protocol",
        "export",
        "metrics",
    ] {
        assert!(
            !edges.get(m).is_some_and(|e| e.contains("baselines")),
            "`{m}` imports `baselines`: {:?}",
            edges[m]
        );
    }
}

#[test]
fn the_objective_stands_alone() {
    let (edges, clap) = graph();
    for banned in ["train", "model", "run", "bench", "export"] {
        assert!(
            !edges["objective"].contains(banned),
            "`objective` imports `{banned}`"
        );
    }
    assert!(!clap.contains("objective"), "`objective` uses clap");
    assert!(clap.is_empty(), "the library uses clap in {clap:?}");
}

#[test]
fn the_checker_sees_imports() {
    // The parser itself, on forms the code uses.
    let refs = crate_refs("use crate::{error::Result, data::X};\nlet a = crate::train::fit(x);");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["data", "error", "train"]
    );
    let (edges, _) = graph();
    assert!(edges["run"].contains("train") && edges["run"].contains("baselines"));
}
