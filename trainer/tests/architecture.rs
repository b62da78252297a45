//! The trainer's house rules, read from its sources module by module. Data flows one way, and
//! the crates are the walls Cargo enforces between the floors:
//!
//! | floor | crate | modules |
//! |---|---|---|
//! | 0 | `ssmvae-core` | `error`, `key`, `keyword`, `torch_lock` (and the data layer, its own crate) |
//! | 1 | | `protocol`, `augment`, `metrics` |
//! | 2 | | `objective` |
//! | 3 | | `model` |
//! | 4 | | `train` |
//! | 5 | | `export` |
//! | 6 | `ssmvae-baselines` | every module |
//! | 7 | `ssmvae-lab` | `run` |
//! | 8 | | `bench` |
//! | 9 | `ssmvae-trainer` (the binary) | `main`, `cli`, `commands`, `allocator` |
//!
//! Every module edge counts, file by file: `use` trees (`crate::`, `super::`, `self::`, a child
//! module named bare), paths in code, inline `mod` blocks (test modules included), a crate
//! root's re-exports followed to the module that defines the item, and a call of the crate's own
//! `macro_rules!` macro (an edge to the module defining it; what the macro expands to is not read). The rules: no cycle among a
//! crate's modules; no module imports one on a higher floor; `objective` imports nothing from
//! `model`, `train` or `export`; no library uses clap; and, from `cargo metadata`, no library
//! crate that depends on libtorch also depends on the runtime.

#[path = "support/modgraph.rs"]
mod modgraph;

#[path = "support/lengths.rs"]
mod lengths;

use lengths::long_functions;
use modgraph::{cycles, graph, name, rust_files, scan, Graph};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates of the trainer: (name, source folder, root file).
fn crates() -> Vec<(&'static str, PathBuf, &'static str)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        ("ssmvae-core", dir.join("core/src"), "lib.rs"),
        ("ssmvae-baselines", dir.join("baselines/src"), "lib.rs"),
        ("ssmvae-lab", dir.join("lab/src"), "lib.rs"),
        ("ssmvae-trainer", dir.join("src"), "main.rs"),
    ]
}

/// The floor of a crate's top-level module (None for the root file).
fn floor(krate: &str, top: Option<&str>) -> Option<u32> {
    let top = top?;
    Some(match (krate, top) {
        ("ssmvae-core", "error" | "key" | "keyword" | "torch_lock") => 0,
        ("ssmvae-core", "protocol" | "augment" | "metrics") => 1,
        ("ssmvae-core", "objective") => 2,
        ("ssmvae-core", "model") => 3,
        ("ssmvae-core", "train") => 4,
        ("ssmvae-core", "export") => 5,
        ("ssmvae-baselines", _) => 6,
        ("ssmvae-lab", "run") => 7,
        ("ssmvae-lab", "bench") => 8,
        ("ssmvae-trainer", _) => 9,
        (k, m) => panic!("module `{m}` of {k} has no floor: add it to the table"),
    })
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for (krate, src, root) in crates() {
        let g = graph(&src, root);
        assert!(g.edges.len() > 10, "{krate}: the checker found no imports");
        let c = cycles(&g);
        let detail: Vec<String> = c
            .iter()
            .flat_map(|comp| {
                g.edges
                    .iter()
                    .filter(|(a, b)| comp.contains(&name(a)) && comp.contains(&name(b)))
                    .map(|(a, b)| format!("{} → {}", name(a), name(b)))
            })
            .collect();
        assert!(c.is_empty(), "{krate}: import cycles {c:?}: {detail:?}");
    }
}

#[test]
fn no_module_imports_a_higher_floor() {
    let mut bad = Vec::new();
    for (krate, src, root) in crates() {
        let g = graph(&src, root);
        for (a, b) in &g.edges {
            let (fa, fb) = (
                floor(krate, a.first().map(String::as_str)),
                floor(krate, b.first().map(String::as_str)),
            );
            match (fa, fb) {
                (Some(fa), Some(fb)) if fa < fb => bad.push(format!(
                    "{krate}: {} (floor {fa}) imports {} (floor {fb})",
                    name(a),
                    name(b)
                )),
                // Only the root's own test module may name the root (its parent).
                (Some(_), None) if a.as_slice() != ["tests"] => {
                    bad.push(format!("{krate}: {} imports the crate root", name(a)))
                }
                _ => {}
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_objective_stands_alone_and_no_library_uses_clap() {
    let core = crates().into_iter().find(|c| c.0 == "ssmvae-core").unwrap();
    let g = graph(&core.1, core.2);
    for (a, b) in &g.edges {
        if a.first().is_some_and(|m| m == "objective") {
            let to = b.first().map(String::as_str).unwrap_or("crate");
            assert!(
                !matches!(to, "model" | "train" | "export"),
                "{} imports {}",
                name(a),
                name(b)
            );
        }
    }
    for (krate, src, root) in crates() {
        if krate != "ssmvae-trainer" {
            let clap = graph(&src, root).uses_clap;
            assert!(clap.is_empty(), "{krate} uses clap in {clap:?}");
        }
    }
}

#[test]
fn no_library_on_libtorch_depends_on_the_runtime() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of = |id: &str| -> String {
        meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    // Normal (not dev or build) dependencies, by package id.
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let normal: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        deps.insert(node["id"].as_str().unwrap().to_string(), normal);
    }
    let closure = |id: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![id.to_string()];
        while let Some(p) = todo.pop() {
            for d in deps.get(&p).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen.iter().map(|d| name_of(d)).collect()
    };
    let mut checked = 0;
    for id in meta["workspace_members"].as_array().unwrap() {
        let id = id.as_str().unwrap();
        let pkg = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap();
        let is_lib = pkg["targets"].as_array().unwrap().iter().any(|t| {
            t["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "lib" || k == "rlib")
        });
        let all = closure(id);
        if is_lib && all.contains("tch") {
            checked += 1;
            assert!(
                !all.contains("ssmvae-runtime"),
                "library {} depends on libtorch and on the runtime",
                pkg["name"]
            );
        }
    }
    assert!(
        checked >= 3,
        "core, baselines and lab are libraries on libtorch"
    );
}

#[test]
fn the_checker_sees_every_kind_of_edge() {
    let text = "use crate::{error::Result, data::X};\nuse super::sibling::Y;\nmod child;\n\
                use child::Z;\nfn f() { crate::train::fit(\"crate::not_code\"); }\n\
                #[cfg(test)]\nmod tests {\n    use super::super::up;\n}\n";
    let s = scan(&vec!["a".into(), "b".into()], text);
    let written: Vec<(String, String)> = s
        .refs
        .iter()
        .map(|(m, p)| (m.join("::"), p.join("::")))
        .collect();
    let want = [
        ("a::b", "crate::error::Result"),
        ("a::b", "crate::data::X"),
        ("a::b", "super::sibling::Y"),
        ("a::b", "child::Z"),
        ("a::b", "crate::train::fit"),
        ("a::b::tests", "super::super::up"),
    ];
    for (m, p) in want {
        assert!(
            written.contains(&(m.to_string(), p.to_string())),
            "{m}: {p} not seen in {written:?}"
        );
    }
    assert!(!written.iter().any(|(_, p)| p.contains("not_code")));
    assert!(s.children[&vec!["a".to_string(), "b".to_string()]].contains("child"));
    // On the real tree: the lab's run reaches the baselines' crate (no edge inside the lab), the
    // core's loop its objective, a baseline the recipe it implements.
    let core = graph(&crates()[0].1, "lib.rs");
    let edge =
        |g: &Graph, a: &str, b: &str| g.edges.iter().any(|(x, y)| name(x) == a && name(y) == b);
    assert!(core
        .edges
        .iter()
        .any(|(a, b)| name(a) == "train::fit" && name(b).starts_with("objective::")));
    assert!(edge(&core, "train::config", "train::config::groups"));
    assert!(
        edge(&core, "protocol::params", "key"),
        "a config_group! call"
    );
    let baselines = graph(&crates()[1].1, "lib.rs");
    assert!(edge(&baselines, "adsh", "recipe"));
    assert!(edge(&baselines, "adsh::tests", "adsh"));
}

/// The leading `//!` lines of a file: where a long file or function states why it is long.
fn header(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with("//!") || l.starts_with("#!") || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn no_long_file_or_function_without_a_stated_reason() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["trainer", "format", "runtime", "tests"] {
        rust_files(&workspace.join(dir), &mut files);
    }
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "target"));
    assert!(files.len() > 100, "found {} source files", files.len());
    let mut unexplained = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let head = header(&text);
        let rel = f.strip_prefix(workspace).unwrap().display();
        let lines = text.lines().count();
        if lines > 500 && !head.contains("500 lines") {
            unexplained.push(format!("{rel}: {lines} lines"));
        }
        for (name, n) in long_functions(&text, 120) {
            if !(head.contains(&format!("`{name}`")) && head.contains("120 lines")) {
                unexplained.push(format!("{rel}: fn {name} is {n} lines"));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "over 500 lines a file or 120 a function, with no reason in the file's header:\n{}",
        unexplained.join("\n")
    );
}

#[test]
fn the_length_checker_measures_functions() {
    let text = "fn short() {\n}\nfn long() {\n    let s = \"}\";\n    let t = '{';\n    x();\n}\n";
    assert_eq!(long_functions(text, 3), [("long".to_string(), 5)]);
    assert!(long_functions("type F = fn(u8) -> u8;\nfn f();\n", 0).is_empty());
}
