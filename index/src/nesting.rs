//! A bound on how deeply a YAML or JSON text nests, checked before it is
//! handed to a parser. serde_yaml's parser takes time quadratic in the
//! nesting depth (a 200 KB map nested 100,000 deep took 99 s), so every
//! YAML or JSON document that comes from outside (mirror maps, configs,
//! frozen sets, the bucket's indexes) is scanned first: one pass, linear.
//!
//! What counts as a level: an open `[` or `{` (outside quotes and
//! comments), an indentation deeper than the line it belongs to, and a
//! `- ` sequence entry. The count is generous to real files (they nest a
//! handful of levels) and tight for hostile ones.

/// Levels a document may nest; real maps and configs use fewer than ten.
pub const MAX_DEPTH: usize = 64;

/// A document nested deeper than allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nested deeper than {max} levels (line {line}): refused before parsing")]
pub struct TooDeep {
    pub max: usize,
    pub line: usize,
}

/// Check that `text` nests at most `max` levels.
pub fn check(text: &str, max: usize) -> Result<(), TooDeep> {
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    let mut quote: Option<u8> = None;
    for (n, line) in text.lines().enumerate() {
        let too_deep = || TooDeep { max, line: n + 1 };
        let bytes = line.as_bytes();
        let mut i = 0;
        if flow == 0 && quote.is_none() {
            let indent = bytes.iter().take_while(|&&b| b == b' ').count();
            let rest = &line[indent..];
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last().is_none_or(|&top| top < indent) {
                indents.push(indent);
            }
            // `- - - x`: each dash opens a sequence.
            let mut dashes = 0;
            i = indent;
            while bytes.get(i) == Some(&b'-') && matches!(bytes.get(i + 1), Some(b' ') | None) {
                dashes += 1;
                i += 2;
            }
            if indents.len() + dashes > max {
                return Err(too_deep());
            }
        }
        let mut prev_space = true;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) => {
                    if b == b'\\' && q == b'"' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    }
                }
                None => match b {
                    b'"' | b'\'' => quote = Some(b),
                    b'#' if prev_space => break,
                    b'[' | b'{' => {
                        flow += 1;
                        if flow + indents.len() > max {
                            return Err(too_deep());
                        }
                    }
                    b']' | b'}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            prev_space = b == b' ' || b == b'\t';
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_documents_pass() {
        for text in [
            "latest_ci_repos:\n  a-el9: http://m/a-el9/2026-11-21-00-00\n  b: \"http://m/b#x\"\n",
            "{\"latest_ci_repos\": {\"a\": \"http://m/a\"}}",
            "mirrors:\n  - name: a\n    baseurl:\n      - http://x/ # comment [\n      - 'it''s {'\nchannels:\n  tested:\n    require: [a, b]\n",
            "include:\n  - - x\n    - y\n",
        ] {
            check(text, MAX_DEPTH).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
    }

    #[test]
    fn deep_documents_are_refused_in_linear_time() {
        let n = 100_000;
        let flow = format!("{}1{}", "{a: ".repeat(n), "}".repeat(n));
        let start = std::time::Instant::now();
        let e = check(&flow, MAX_DEPTH).unwrap_err();
        assert_eq!(e.line, 1);
        let json = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert!(check(&json, MAX_DEPTH).is_err());
        let ok = format!("{}1{}", "[".repeat(60), "]".repeat(60));
        assert!(check(&ok, MAX_DEPTH).is_ok());
        let mut block = String::new();
        for d in 0..70 {
            block.push_str(&" ".repeat(d));
            block.push_str("k:\n");
        }
        assert_eq!(check(&block, MAX_DEPTH).unwrap_err().line, 65);
        let dashes = format!("{}x\n", "- ".repeat(70));
        assert!(check(&dashes, MAX_DEPTH).is_err());
        // Brackets inside quotes and comments do not count.
        let quoted = format!("a: \"{}\"\nb: x # {}\n", "[".repeat(100), "{".repeat(100));
        assert!(check(&quoted, MAX_DEPTH).is_ok());
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
