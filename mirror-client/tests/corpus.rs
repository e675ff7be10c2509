//! Every real-world file of the corpus (yum .repo files, a 30-mirror reposync
//! config, mock configs and templates, *.repos lists) rewritten against a map
//! that covers some of its ids: the parsed meaning follows the rules, every
//! other line is byte-identical, and a second run is a no-op.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use mirror_client::edit::{ProxyPolicy, none_value_for};
use mirror_client::files::{self, Format};
use mirror_client::map::Resolved;
use mirror_index::repofile::{Dialect, LineKind, RepoFile, Section};

fn corpus() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert_eq!(v.len(), 15, "the corpus has 15 files");
    v
}

/// The ini regions of a file (the whole file, or each mock block).
fn regions(format: Format, text: &str) -> Vec<(usize, usize)> {
    match format {
        Format::Mock => files::mock_blocks(text),
        _ => vec![(0, text.len())],
    }
}

fn dialect(format: Format) -> Dialect {
    if format == Format::Mock {
        Dialect::MockTemplate
    } else {
        Dialect::Ini
    }
}

/// A map covering every other id of the file, plus an insert before the first mirrored id.
fn map_for(ids: &[String]) -> Resolved {
    let mut m = Resolved::default();
    for (i, id) in ids.iter().enumerate() {
        if i % 2 == 0 {
            m.repos.insert(
                id,
                &format!("http://mirrors.example/repos/yum/{id}/2026-11-21-09-30"),
            );
        }
    }
    if let Some(first) = ids.first() {
        m.before.insert(
            first.clone(),
            vec![(
                format!("{first}-gated"),
                "http://mirrors.example/gated".into(),
            )],
        );
    }
    m.repos
        .insert("id-not-in-any-file", "http://mirrors.example/none");
    m
}

/// A section's options other than the four the rules may change.
fn other_options(section: &Section) -> BTreeMap<&str, &str> {
    section
        .entries
        .iter()
        .filter(|e| !REWRITTEN.contains(&e.key.as_str()))
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect()
}

/// The options injection may add, change or remove.
const REWRITTEN: [&str; 4] = ["baseurl", "mirrorlist", "metalink", "proxy"];

#[test]
fn corpus_files_are_rewritten_minimally_and_idempotently() {
    let proxy = ProxyPolicy::default();
    let mut total_mirrored = 0;
    for path in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let format = files::detect(&path, &text);
        let expected_format = if name.contains(".repos") {
            Format::Repos
        } else if name.contains("_mock") {
            Format::Mock
        } else {
            Format::Ini
        };
        assert_eq!(format, expected_format, "{name}");

        if format == Format::Repos {
            let ids: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(',').map(|(a, _)| a.to_owned()))
                .collect();
            let map = map_for(&ids);
            let (out, summary) = files::rewrite(format, &text, &map, &proxy).unwrap();
            assert!(!summary.mirrored.is_empty(), "{name}");
            // Every line is accounted for: zip alone would hide dropped lines.
            let kept: Vec<&str> = out.lines().filter(|l| !l.contains("-gated,")).collect();
            assert_eq!(
                text.lines().count(),
                kept.len(),
                "{name}: line count changed"
            );
            assert_eq!(
                out.lines().count() - kept.len(),
                summary.inserted.len(),
                "{name}: inserted lines"
            );
            for (orig, new) in text.lines().zip(kept) {
                let id = orig.split_once(',').map(|(a, _)| a);
                match id.and_then(|id| map.repos.get(id)) {
                    Some(url) => assert_eq!(new, format!("{},{url}", id.unwrap()), "{name}"),
                    None => assert_eq!(orig, new, "{name}"),
                }
            }
            assert_eq!(
                files::rewrite(format, &out, &map, &proxy).unwrap().0,
                out,
                "{name}: second run changed it"
            );
            total_mirrored += summary.mirrored.len();
            continue;
        }

        // Ids of every ini region of the original.
        let mut ids = Vec::new();
        for (s, e) in regions(format, &text) {
            let f = RepoFile::parse(&text[s..e], dialect(format))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            ids.extend(
                f.sections
                    .iter()
                    .map(|s| s.id.clone())
                    .filter(|id| id != "main"),
            );
        }
        assert!(!ids.is_empty(), "{name} has repo sections");
        let map = map_for(&ids);
        let (out, summary) =
            files::rewrite(format, &text, &map, &proxy).unwrap_or_else(|e| panic!("{name}: {e}"));
        total_mirrored += summary.mirrored.len();
        assert!(out != text, "{name}: nothing changed");

        // Outside the ini regions nothing changed.
        let (orig_regions, new_regions) = (regions(format, &text), regions(format, &out));
        assert_eq!(orig_regions.len(), new_regions.len(), "{name}");
        let mut last = (0, 0);
        for ((os, oe), (ns, ne)) in orig_regions.iter().zip(&new_regions) {
            assert_eq!(
                &text[last.0..*os],
                &out[last.1..*ns],
                "{name}: text outside the ini changed"
            );
            last = (*oe, *ne);
        }
        assert_eq!(
            &text[last.0..],
            &out[last.1..],
            "{name}: text after the ini changed"
        );

        for ((os, oe), (ns, ne)) in orig_regions.iter().zip(&new_regions) {
            let before = RepoFile::parse(&text[*os..*oe], dialect(format)).unwrap();
            let after = RepoFile::parse(&out[*ns..*ne], dialect(format))
                .unwrap_or_else(|e| panic!("{name}: output does not parse: {e}"));
            // Meaning: mirrored sections follow the rules, others are identical.
            let gated: HashSet<String> = map
                .before
                .values()
                .flatten()
                .map(|(id, _)| id.clone())
                .collect();
            for sec in &after.sections {
                if gated.contains(&sec.id) {
                    assert_eq!(
                        sec.value("baseurl"),
                        Some("http://mirrors.example/gated"),
                        "{name}"
                    );
                    continue;
                }
                let orig = before
                    .section(&sec.id)
                    .unwrap_or_else(|| panic!("{name}: new section [{}]", sec.id));
                assert_eq!(
                    other_options(orig),
                    other_options(sec),
                    "{name}: [{}] other options changed",
                    sec.id
                );
                match map.repos.get(&sec.id) {
                    Some(url) => {
                        assert_eq!(sec.value("baseurl"), Some(url), "{name}: [{}]", sec.id);
                        assert!(
                            sec.get("mirrorlist").is_none() && sec.get("metalink").is_none(),
                            "{name}: [{}]",
                            sec.id
                        );
                        assert_eq!(
                            sec.value("proxy"),
                            Some(none_value_for(&sec.id)),
                            "{name}: [{}]",
                            sec.id
                        );
                    }
                    None => {
                        for k in ["baseurl", "mirrorlist", "metalink", "proxy"] {
                            assert_eq!(
                                sec.value(k),
                                orig.value(k),
                                "{name}: unmirrored [{}] {k} changed",
                                sec.id
                            );
                        }
                    }
                }
            }
            assert_eq!(
                before.sections.len()
                    + usize::from(before.section(&ids[0]).is_some() && !gated.is_empty()),
                after.sections.len(),
                "{name}"
            );

            // Lossless: every original line that is not a rewritten option of a
            // mirrored section appears unchanged, in order, in the output.
            let touched = |f: &RepoFile<'_>, i: usize| match f.lines[i].kind {
                LineKind::Option(s, o) | LineKind::Continuation(s, o) => {
                    let sec = &f.sections[s];
                    (map.repos.contains_key(&sec.id) || gated.contains(&sec.id))
                        && ["baseurl", "mirrorlist", "metalink", "proxy"]
                            .contains(&sec.entries[o].key.as_str())
                }
                _ => false,
            };
            let kept_before: Vec<String> = (0..before.lines.len())
                .filter(|&i| !touched(&before, i))
                .map(|i| format!("{}{}", before.line_text(i), before.lines[i].eol))
                .collect();
            let in_gated = |f: &RepoFile<'_>, i: usize| match f.lines[i].kind {
                LineKind::Header(s) | LineKind::Option(s, _) | LineKind::Continuation(s, _) => {
                    gated.contains(&f.sections[s].id)
                }
                _ => false,
            };
            let kept_after: Vec<String> = (0..after.lines.len())
                .filter(|&i| !touched(&after, i) && !in_gated(&after, i))
                .map(|i| format!("{}{}", after.line_text(i), after.lines[i].eol))
                .collect();
            // Inserted sections bring one blank separator line each.
            let blanks = |v: &[String]| v.iter().filter(|l| l.trim().is_empty()).count();
            let strip = |v: &[String]| {
                v.iter()
                    .filter(|l| !l.trim().is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                strip(&kept_before),
                strip(&kept_after),
                "{name}: untouched lines differ"
            );
            assert!(
                blanks(&kept_after) - blanks(&kept_before) <= gated.len(),
                "{name}"
            );
        }

        // Idempotent.
        let (again, s2) = files::rewrite(format, &out, &map, &proxy).unwrap();
        assert_eq!(again, out, "{name}: second run changed it");
        assert!(s2.inserted.is_empty(), "{name}");
    }
    assert!(
        total_mirrored > 40,
        "only {total_mirrored} sections mirrored across the corpus"
    );
}

#[test]
fn corpus_files_with_nothing_to_mirror_come_back_byte_identical() {
    let map = Resolved {
        repos: [("id-in-no-file".to_owned(), "http://m/x".to_owned())].into(),
        ..Resolved::default()
    };
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let format = files::detect(&path, &text);
        let (out, _) = files::rewrite(format, &text, &map, &ProxyPolicy::default()).unwrap();
        assert_eq!(out, text, "{}", path.display());
    }
}
