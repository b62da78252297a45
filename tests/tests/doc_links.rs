//! The documentation's relative links resolve: every `[text](target)` in README.md, CHANGELOG.md
//! and docs/*.md that is not a web or mail address names a file or folder that exists (relative to
//! the page that holds the link), and every `#anchor` into a Markdown page names one of its
//! headings under GitHub's slug rules. The README stays a front door of at most 250 lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The repository root (this crate lives in `<repo>/tests`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// README.md, CHANGELOG.md and every docs/*.md, sorted.
fn pages() -> Vec<PathBuf> {
    let repo = repo();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    let mut pages = vec![repo.join("README.md"), repo.join("CHANGELOG.md")];
    pages.extend(docs);
    pages
}

/// The lines of a page outside fenced code blocks (``` or ~~~), with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = if trimmed.starts_with("```") {
            Some("```")
        } else if trimmed.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// A line with its inline code spans (between backticks) blanked out.
fn without_inline_code(line: &str) -> String {
    let mut in_code = false;
    line.chars()
        .map(|c| {
            if c == '`' {
                in_code = !in_code;
                ' '
            } else if in_code {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The targets of the `[text](target)` links of a line (a title after the target is dropped).
fn link_targets(line: &str) -> Vec<String> {
    let line = without_inline_code(line);
    let mut targets = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else {
            break;
        };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_owned());
        rest = &after[end..];
    }
    targets
}

/// GitHub's anchor for a heading: lowercase, characters other than alphanumerics, spaces,
/// hyphens and underscores dropped, spaces turned into hyphens.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings; a repeated slug gets `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#').trim_end();
        let base = slug(title);
        let n = seen.entry(base.clone()).or_insert(0);
        out.push(if *n == 0 { base } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

#[test]
fn relative_links_and_anchors_resolve() {
    let repo = repo();
    let mut problems = Vec::new();
    let mut links = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown = page.strip_prefix(&repo).unwrap().display().to_string();
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                let lower = target.to_lowercase();
                if lower.starts_with("http://")
                    || lower.starts_with("https://")
                    || lower.starts_with("mailto:")
                {
                    continue;
                }
                links += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target.as_str(), None),
                };
                let file = if path.is_empty() {
                    page.clone()
                } else if let Some(from_root) = path.strip_prefix('/') {
                    repo.join(from_root)
                } else {
                    page.parent().unwrap().join(path)
                };
                if !file.exists() {
                    problems.push(format!(
                        "{shown}:{number}: `{target}`: {} does not exist",
                        file.display()
                    ));
                    continue;
                }
                let Some(anchor) = anchor else {
                    continue;
                };
                if file.extension().is_some_and(|x| x == "md") {
                    let target_text = std::fs::read_to_string(&file).unwrap();
                    if !anchors(&target_text).iter().any(|a| a == anchor) {
                        problems.push(format!(
                            "{shown}:{number}: `{target}`: no heading of {} has the anchor #{anchor}",
                            file.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
    assert!(
        links > 0,
        "no relative link found: is the link parser broken?"
    );
}

#[test]
fn readme_is_a_short_front_door() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; keep it at most 250 and move details under docs/"
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Deploying: bundle, runtime, C"),
        "deploying-bundle-runtime-c"
    );
    assert_eq!(
        slug("Rare classes (docs/model.md §12)"),
        "rare-classes-docsmodelmd-12"
    );
    assert_eq!(
        slug("11.1 Network width follows the data (`hidden = auto`)"),
        "111-network-width-follows-the-data-hidden--auto"
    );
    assert_eq!(
        anchors("# A\n\n```\n# not a heading\n```\n## A\n"),
        ["a", "a-1"]
    );
    assert_eq!(
        link_targets("see [x](a.md#b \"t\") and `[y](no.md)` and [z](<c.md>)"),
        ["a.md#b", "c.md"]
    );
}
