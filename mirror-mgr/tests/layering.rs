//! The shape of mirror-mgr's source, checked (issue 22): no import cycle
//! between its source files, and no file over 500 lines outside its tests.
//!
//! A file imports another when it names an item through `crate::`,
//! `super::` or one of its own submodules: the path resolves to the file
//! of the longest module prefix. Declaring a submodule (`mod x;`) is not an
//! import; using it is. Test modules (`#[cfg(test)]` to the end) do not
//! count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest a source file may be before its tests.
const MAX_LINES: usize = 500;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file (relative path) and its text before the tests.
fn files() -> BTreeMap<String, String> {
    let root = src();
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(&root).unwrap().display().to_string();
                let text = std::fs::read_to_string(&p).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
                out.insert(rel, code);
            }
        }
    }
    out
}

/// The module path of a file (`sync/mod.rs` -> [sync]); `None` for binaries.
fn module_of(rel: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts[0] == "bin" {
        return None;
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    Some(parts)
}

/// Code without line comments (doc comments mention paths freely).
fn strip_comments(code: &str) -> String {
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths like `crate::a::b`, `super::x`, `self::y`, or `sub::z` for a
/// declared submodule `sub`, with `{a, b::c}` groups expanded.
fn paths_in(code: &str, submodules: &BTreeSet<String>) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !ident(bytes[i]) || (i > 0 && (ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && ident(bytes[i]) {
            i += 1;
        }
        let first = &code[start..i];
        let rooted = matches!(first, "crate" | "super" | "self") || submodules.contains(first);
        if !rooted || !code[i..].starts_with("::") {
            continue;
        }
        let mut segs = vec![first.to_owned()];
        while code[i..].starts_with("::") {
            i += 2;
            if code[i..].starts_with('{') {
                let end = matching_brace(&code[i..]).map_or(code.len(), |e| i + e);
                for part in split_top(&code[i + 1..end.saturating_sub(1).max(i + 1)]) {
                    let mut p = segs.clone();
                    p.extend(
                        part.split("::")
                            .map(|s| s.split_whitespace().next().unwrap_or("").to_owned())
                            .filter(|s| !s.is_empty() && s != "self" && s != "*")
                            .filter(|s| s.bytes().all(ident)),
                    );
                    out.push(p);
                }
                i = end;
                segs.clear();
                break;
            }
            let s = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            if s == i {
                break;
            }
            segs.push(code[s..i].to_owned());
        }
        if !segs.is_empty() {
            out.push(segs);
        }
    }
    out
}

/// The index just past the `}` matching the `{` at the start of `s`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Split a use group at its top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().map(|p| p.trim().to_owned()).collect()
}

/// file -> the files it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = files();
    let modules: BTreeMap<Vec<String>, String> = files
        .keys()
        .filter_map(|rel| Some((module_of(rel)?, rel.clone())))
        .collect();
    let resolve = |segs: &[String]| -> Option<String> {
        (0..=segs.len())
            .rev()
            .find_map(|n| modules.get(&segs[..n]).cloned())
    };
    let mut edges = BTreeMap::new();
    for (rel, code) in &files {
        let Some(me) = module_of(rel) else { continue };
        let code = strip_comments(code);
        let submodules: BTreeSet<String> = code
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("pub ").or(Some(l))?;
                let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
                let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
                Some(name.to_owned())
            })
            .collect();
        let mut deps = BTreeSet::new();
        for path in paths_in(&code, &submodules) {
            let mut full = match path[0].as_str() {
                "crate" => Vec::new(),
                "super" => me[..me.len().saturating_sub(1)].to_vec(),
                "self" => me.clone(),
                sub => {
                    let mut m = me.clone();
                    m.push(sub.to_owned());
                    m
                }
            };
            let mut rest = &path[1..];
            if path[0] == "super" {
                while rest.first().is_some_and(|s| s == "super") {
                    full.pop();
                    rest = &rest[1..];
                }
            }
            full.extend(rest.iter().cloned());
            if let Some(target) = resolve(&full)
                && &target != rel
            {
                deps.insert(target);
            }
        }
        edges.insert(rel.clone(), deps);
    }
    edges
}

/// A cycle through `start`, if there is one.
fn cycle_from(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        edges: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(edges, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(edges, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_import_cycle_between_source_files() {
    let edges = graph();
    assert!(edges.len() > 50, "found only {} files", edges.len());
    // The checker sees real imports (so it can fail).
    assert!(edges["ops/mod.rs"].contains("ops/context.rs"), "{edges:?}");
    assert!(
        edges["store/mod.rs"].iter().any(|d| d == "store/fs.rs"),
        "{edges:?}"
    );
    let cycles: BTreeSet<String> = edges
        .keys()
        .filter_map(|file| {
            let cycle = cycle_from(&edges, file)?;
            Some(format!("{} -> {file}", cycle.join(" -> ")))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles (move what both sides need into a file of its own):\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_checker_finds_a_planted_cycle() {
    let mut edges = graph();
    edges
        .get_mut("store/mod.rs")
        .unwrap()
        .insert("ops/mod.rs".into());
    assert!(cycle_from(&edges, "ops/mod.rs").is_some());
    let subs = BTreeSet::from(["child".to_owned()]);
    let found = paths_in(
        "use crate::a::{b, c::d};\nuse super::x;\nfn f() { child::g(); crate::e::f(); }",
        &subs,
    );
    let shown: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        shown,
        [
            "crate::a::b",
            "crate::a::c::d",
            "super::x",
            "child::g",
            "crate::e::f"
        ]
    );
}

#[test]
fn no_source_file_over_500_lines_outside_tests() {
    let long: Vec<String> = files()
        .iter()
        .map(|(rel, code)| (rel, code.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(rel, n)| format!("{rel}: {n} lines"))
        .collect();
    assert!(long.is_empty(), "split these by job: {long:?}");
}
