//! Function lengths for `architecture.rs`'s rule: signature to closing brace, on code with
//! comments and strings blanked by the module scanner's lexer.

use super::modgraph::code;

/// The functions of a file longer than `max` lines, with their lengths (signature to closing
/// brace; nested functions counted on their own too).
pub fn long_functions(text: &str, max: usize) -> Vec<(String, usize)> {
    let b: Vec<char> = code(text).chars().collect();
    let ident = |i: usize| -> Option<(String, usize)> {
        let mut j = i;
        while j < b.len() && b[j].is_whitespace() {
            j += 1;
        }
        let start = j;
        while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
            j += 1;
        }
        (j > start).then(|| (b[start..j].iter().collect(), j))
    };
    let is_word = |i: usize| i < b.len() && (b[i].is_alphanumeric() || b[i] == '_');
    let line_of = |i: usize| b[..i].iter().filter(|&&c| c == '\n').count();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == 'f' && b[i + 1] == 'n' && !(i > 0 && is_word(i - 1)) && !is_word(i + 2) {
            if let Some((name, mut j)) = ident(i + 2) {
                // The body's opening brace, unless a `;` ends a declaration first.
                while j < b.len() && b[j] != '{' && b[j] != ';' {
                    j += 1;
                }
                if j < b.len() && b[j] == '{' {
                    let mut depth = 0usize;
                    let mut k = j;
                    while k < b.len() {
                        match b[k] {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                    let lines = line_of(k.min(b.len() - 1)) - line_of(i) + 1;
                    if lines > max {
                        out.push((name, lines));
                    }
                }
            }
        }
        i += 1;
    }
    out
}
