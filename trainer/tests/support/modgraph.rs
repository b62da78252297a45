//! The module graph of a crate, read from its sources for `architecture.rs`: files to modules,
//! a small lexer (comments, strings and char literals blanked), `use` trees expanded, paths in
//! code, inline `mod` blocks, and a root's re-exports followed to the defining module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path inside its crate (`["train", "config", "groups"]`; `[]` is the root).
pub type ModPath = Vec<String>;

pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file defines: `train/config/mod.rs` and `train/config.rs` are `train::config`.
pub fn file_module(src: &Path, file: &Path, root: &str) -> ModPath {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !(stem == "mod" || (parts.is_empty() && last == root)) {
        parts.push(stem.to_string());
    }
    parts
}

/// Code with comments, strings and char literals blanked out (so a doc link or an error message
/// naming `crate::x` is not an import); lifetimes and line breaks are kept.
pub fn code(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < b.len() && b[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Tokens: identifiers, `::`, and single punctuation characters.
pub fn tokens(code: &str) -> Vec<String> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(b[start..i].iter().collect());
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree starting at `toks[*i]` into full paths and the names they bind
/// (`a::{b, c::d as e}` → (`a::b`, `b`), (`a::c::d`, `e`)); `self` inside braces names the prefix
/// itself.
pub fn use_tree(
    toks: &[String],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*i).map(String::as_str) {
            Some("{") => {
                *i += 1;
                while toks.get(*i).is_some_and(|t| t != "}") {
                    use_tree(toks, i, &path, out);
                    if toks.get(*i).is_some_and(|t| t == ",") {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some("*") => {
                *i += 1;
                out.push((path, "*".into()));
                return;
            }
            Some(t) if t.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                if t == "self" && !path.is_empty() && toks.get(*i - 1).is_some_and(|p| p != "::") {
                    // `{self, …}`: the prefix itself.
                } else {
                    path.push(t.to_string());
                }
                *i += 1;
                let mut bound = path.last().cloned().unwrap_or_default();
                if toks.get(*i).is_some_and(|t| t == "as") {
                    bound = toks.get(*i + 1).cloned().unwrap_or_default();
                    *i += 2;
                }
                if toks.get(*i).is_some_and(|t| t == "::") {
                    *i += 1;
                    continue;
                }
                out.push((path, bound));
                return;
            }
            _ => {
                *i += 1;
                return;
            }
        }
    }
}

/// One file's references: (the module the reference sits in, the path as written), the child
/// modules each module declares, and its `pub use` re-exports (name → path as written).
pub struct FileRefs {
    pub refs: Vec<(ModPath, Vec<String>)>,
    pub children: BTreeMap<ModPath, BTreeSet<String>>,
    pub reexports: BTreeMap<ModPath, BTreeMap<String, Vec<String>>>,
    pub inline: BTreeSet<ModPath>,
    /// `macro_rules!` macros each module defines, and the macros each module invokes (`name!`).
    pub macros_defined: Vec<(ModPath, String)>,
    pub macros_used: Vec<(ModPath, String)>,
}

pub fn scan(module: &ModPath, text: &str) -> FileRefs {
    let toks = tokens(&code(text));
    let mut f = FileRefs {
        refs: Vec::new(),
        children: BTreeMap::new(),
        reexports: BTreeMap::new(),
        inline: BTreeSet::new(),
        macros_defined: Vec::new(),
        macros_used: Vec::new(),
    };
    // The module stack: (module, brace depth at which its block opened).
    let mut stack: Vec<(ModPath, usize)> = vec![(module.clone(), 0)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let cur = stack.last().unwrap().0.clone();
        let t = toks[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                if stack.len() > 1 && stack.last().unwrap().1 == depth {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "macro_rules" if toks.get(i + 1).is_some_and(|t| t == "!") => {
                if let Some(name) = toks.get(i + 2) {
                    f.macros_defined.push((cur.clone(), name.clone()));
                }
                i += 3;
                continue;
            }
            _ if toks.get(i + 1).is_some_and(|t| t == "!")
                && t.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !(i > 0 && toks[i - 1] == "::") =>
            {
                f.macros_used.push((cur.clone(), t.to_string()));
            }
            "mod" if toks.get(i + 1).is_some() => {
                let name = toks[i + 1].clone();
                f.children
                    .entry(cur.clone())
                    .or_default()
                    .insert(name.clone());
                if toks.get(i + 2).is_some_and(|t| t == "{") {
                    let mut child = cur.clone();
                    child.push(name);
                    f.inline.insert(child.clone());
                    depth += 1;
                    stack.push((child, depth));
                    i += 3;
                    continue;
                }
            }
            "use" => {
                let public = i > 0 && (toks[i - 1] == "pub" || toks[i - 1] == ")");
                i += 1;
                let mut paths = Vec::new();
                use_tree(&toks, &mut i, &[], &mut paths);
                for (p, bound) in paths {
                    if public {
                        f.reexports
                            .entry(cur.clone())
                            .or_default()
                            .insert(bound, p.clone());
                    }
                    f.refs.push((cur.clone(), p));
                }
                continue;
            }
            _ if (t == "crate" || t == "super" || t == "self")
                && toks.get(i + 1).is_some_and(|n| n == "::")
                && !(i > 0 && toks[i - 1] == "::") =>
            {
                let mut p = vec![t.to_string()];
                let mut j = i + 1;
                while toks.get(j).is_some_and(|n| n == "::")
                    && toks
                        .get(j + 1)
                        .is_some_and(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_'))
                {
                    p.push(toks[j + 1].clone());
                    j += 2;
                }
                f.refs.push((cur.clone(), p));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    f
}

/// A crate's module graph: every module, and the edges (module → module it imports).
pub struct Graph {
    pub modules: BTreeSet<ModPath>,
    pub edges: BTreeSet<(ModPath, ModPath)>,
    pub uses_clap: BTreeSet<ModPath>,
}

pub fn graph(src: &Path, root: &str) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules = BTreeSet::new();
    let mut scans = Vec::new();
    let mut uses_clap = BTreeSet::new();
    for file in &files {
        let m = file_module(src, file, root);
        let text = std::fs::read_to_string(file).unwrap();
        if code(&text).contains("clap") {
            uses_clap.insert(m.clone());
        }
        let s = scan(&m, &text);
        modules.insert(m);
        modules.extend(s.inline.iter().cloned());
        scans.push(s);
    }
    let mut children: BTreeMap<ModPath, BTreeSet<String>> = BTreeMap::new();
    let mut reexports: BTreeMap<ModPath, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for s in &scans {
        for (m, c) in &s.children {
            children
                .entry(m.clone())
                .or_default()
                .extend(c.iter().cloned());
        }
        for (m, r) in &s.reexports {
            reexports.entry(m.clone()).or_default().extend(r.clone());
        }
    }
    // Resolves a path written in module `from` to the deepest module of this crate it reaches
    // (through a re-export at most `hops` deep); None for another crate's path.
    fn resolve(
        from: &ModPath,
        path: &[String],
        modules: &BTreeSet<ModPath>,
        children: &BTreeMap<ModPath, BTreeSet<String>>,
        reexports: &BTreeMap<ModPath, BTreeMap<String, Vec<String>>>,
        hops: usize,
    ) -> Option<ModPath> {
        let (mut at, rest): (ModPath, &[String]) = match path.first()?.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (from.clone(), &path[1..]),
            "super" => {
                let mut m = from.clone();
                let mut k = 0;
                while path.get(k).is_some_and(|s| s == "super") {
                    m.pop();
                    k += 1;
                }
                (m, &path[k..])
            }
            first if children.get(from).is_some_and(|c| c.contains(first)) => (from.clone(), path),
            _ => return None,
        };
        for (k, seg) in rest.iter().enumerate() {
            let mut next = at.clone();
            next.push(seg.clone());
            if modules.contains(&next) {
                at = next;
                continue;
            }
            // An item re-exported by `at`: follow it to where it is defined (another crate's
            // item is no edge).
            if hops > 0 {
                if let Some(target) = reexports.get(&at).and_then(|r| r.get(seg)) {
                    let mut p = target.clone();
                    p.extend(rest[k + 1..].iter().cloned());
                    return resolve(&at, &p, modules, children, reexports, hops - 1);
                }
            }
            break;
        }
        Some(at)
    }
    let mut edges = BTreeSet::new();
    // A crate's own `macro_rules!` macro, invoked by name: an edge to the module defining it.
    let defined: BTreeMap<&String, &ModPath> = scans
        .iter()
        .flat_map(|s| s.macros_defined.iter().map(|(m, n)| (n, m)))
        .collect();
    for s in &scans {
        for (from, name) in &s.macros_used {
            if let Some(&to) = defined.get(name) {
                if to != from {
                    edges.insert((from.clone(), to.clone()));
                }
            }
        }
    }
    for s in &scans {
        for (from, path) in &s.refs {
            if let Some(to) = resolve(from, path, &modules, &children, &reexports, 4) {
                if &to != from {
                    edges.insert((from.clone(), to));
                }
            }
        }
    }
    Graph {
        modules,
        edges,
        uses_clap,
    }
}

pub fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// The cycles of a graph (Tarjan's strongly connected components of two or more modules).
pub fn cycles(g: &Graph) -> Vec<Vec<String>> {
    let next: BTreeMap<&ModPath, Vec<&ModPath>> = g
        .modules
        .iter()
        .map(|m| {
            (
                m,
                g.edges
                    .iter()
                    .filter(|(a, _)| a == m)
                    .map(|(_, b)| b)
                    .collect(),
            )
        })
        .collect();
    struct T<'a> {
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on: BTreeSet<&'a ModPath>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(v: &'a ModPath, next: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>, t: &mut T<'a>) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for &w in next.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(w, next, t);
                let l = t.low[v].min(t.low[w]);
                t.low.insert(v, l);
            } else if t.on.contains(w) {
                let l = t.low[v].min(t.index[w]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(name(w));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for m in &g.modules {
        if !t.index.contains_key(m) {
            visit(m, &next, &mut t);
        }
    }
    t.out
}
