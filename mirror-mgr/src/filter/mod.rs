//! Package filters (`exclude`, `includepkgs`, `newest_only`,
//! `retain_versions`, `arches`, `source`): which of upstream's packages a
//! snapshot keeps. Pure: a list of candidates in, a verdict per candidate
//! out. Applied before anything is downloaded, so a filtered-out package is
//! never fetched; [`regen`] then writes the metadata that lists exactly
//! what was kept, and [`sign`] signs it with the mirror's own key.

pub mod advisory;
mod candidate;
pub mod regen;
pub mod sign;

use std::collections::HashMap;
use std::path::PathBuf;

use mirror_repodata::evr::Evr;

use crate::access::SecretSource;

pub use candidate::Candidate;

/// A mirror's package filter, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// dnf's `exclude` (`excludepkgs`): glob patterns; matching packages are dropped.
    pub exclude: Vec<String>,
    /// dnf's `includepkgs`: when given, only matching packages are kept.
    pub includepkgs: Vec<String>,
    /// Keep this many newest versions per name.arch (`newest_only` is 1).
    pub retain_versions: Option<u32>,
    /// Keep only these architectures (empty: all).
    pub arches: Vec<String>,
    /// `source: false` drops `src`/`nosrc` packages.
    pub source: bool,
    /// `exclude_advisories`, `security_only`, `issued_before`.
    pub advisories: advisory::AdvisoryFilter,
}

/// The mirror's own signing key for regenerated metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignSpec {
    /// An OpenPGP secret key (armored or binary).
    pub key: PathBuf,
    pub passphrase: Option<SecretSource>,
}

impl FilterSpec {
    /// No filter: every package, and upstream's metadata byte for byte.
    pub fn none() -> Self {
        Self {
            source: true,
            ..Self::default()
        }
    }

    /// Does this filter (possibly) drop anything?
    pub fn is_active(&self) -> bool {
        !self.exclude.is_empty()
            || !self.includepkgs.is_empty()
            || self.retain_versions.is_some()
            || !self.arches.is_empty()
            || !self.source
            || self.advisories.is_active()
    }

    /// One line naming the filter's settings, in a canonical order: two
    /// syncs with the same line select the same packages from the same input.
    pub fn fingerprint(&self) -> String {
        let list = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v.join(",")
        };
        let mut f = format!(
            "exclude={};includepkgs={};retain_versions={};arches={};source={}",
            list(&self.exclude),
            list(&self.includepkgs),
            self.retain_versions.map_or("all".into(), |n| n.to_string()),
            list(&self.arches),
            self.source
        );
        // Unchanged for filters without advisory rules: their snapshots
        // are not rebuilt.
        if self.advisories.is_active() {
            f.push(';');
            f.push_str(&self.advisories.fingerprint());
        }
        f
    }

    /// Which candidates to keep, in their order: the arch, source, exclude
    /// and includepkgs rules first, then the newest versions per name.arch
    /// among what is left (as dnf applies excludes before `--newest-only`).
    /// Patterns are matched over the whole list, as dnf matches them over a
    /// repository (see [`pattern_matches`]).
    #[cfg(test)]
    pub fn select(&self, pkgs: &[Candidate]) -> Vec<bool> {
        self.select_allowed(pkgs, &vec![true; pkgs.len()])
    }

    /// [`select`](Self::select) among the candidates `allowed` lets
    /// through (the advisory filter's verdict, applied with the excludes,
    /// before the newest versions are picked).
    pub fn select_allowed(&self, pkgs: &[Candidate], allowed: &[bool]) -> Vec<bool> {
        let any_of = |pats: &[String]| {
            let mut hit = vec![false; pkgs.len()];
            for pat in pats {
                for (h, m) in hit.iter_mut().zip(pattern_matches(pat, pkgs)) {
                    *h |= m;
                }
            }
            hit
        };
        let excluded = any_of(&self.exclude);
        let included = (!self.includepkgs.is_empty()).then(|| any_of(&self.includepkgs));
        let mut keep: Vec<bool> = pkgs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                allowed[i]
                    && self.arch_ok(p)
                    && !excluded[i]
                    && included.as_ref().is_none_or(|inc| inc[i])
            })
            .collect();
        if let Some(n) = self.retain_versions {
            let n = n.max(1) as usize;
            let mut groups: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
            for (i, p) in pkgs.iter().enumerate().filter(|(i, _)| keep[*i]) {
                groups.entry((&p.name, &p.arch)).or_default().push(i);
            }
            for idx in groups.values() {
                let mut evrs: Vec<Evr> = idx.iter().map(|&i| pkgs[i].evr()).collect();
                evrs.sort_by(|a, b| b.cmp(a));
                evrs.dedup_by(|a, b| a.cmp(&b) == std::cmp::Ordering::Equal);
                if let Some(cut) = evrs.get(n - 1).filter(|_| evrs.len() > n) {
                    for &i in idx {
                        if pkgs[i].evr() < *cut {
                            keep[i] = false;
                        }
                    }
                }
            }
        }
        keep
    }

    fn arch_ok(&self, p: &Candidate) -> bool {
        let is_source = p.arch == "src" || p.arch == "nosrc";
        if is_source && !self.source {
            return false;
        }
        self.arches.is_empty() || self.arches.contains(&p.arch)
    }
}

/// Which packages one pattern names, as dnf (libdnf's subject matching)
/// decides it for `exclude`/`includepkgs`: the pattern is read in the forms
/// `name-[epoch:]version-release.arch`, `name.arch`, `name`,
/// `name-[epoch:]version-release` and `name-[epoch:]version`, in that order; the first reading that
/// matches any package is the one used (so `i3-*` names the packages called
/// `i3-...`, not every version of `i3`, when such packages exist); when
/// none matches, the pattern is matched against whole NEVRA strings.
pub fn pattern_matches(pat: &str, pkgs: &[Candidate]) -> Vec<bool> {
    for form in FORMS {
        if let Some(spec) = parse(pat, form) {
            let hit: Vec<bool> = pkgs.iter().map(|p| spec.matches(p)).collect();
            if hit.iter().any(|h| *h) {
                return hit;
            }
        }
    }
    pkgs.iter().map(|p| glob(pat, &p.nevra())).collect()
}

/// The ways dnf reads a package pattern, in the order it tries them
/// (libdnf's `HY_FORMS_MOST_SPEC`).
#[derive(Debug, Clone, Copy)]
enum Form {
    Nevra,
    Na,
    Name,
    Nevr,
    Nev,
}

const FORMS: [Form; 5] = [Form::Nevra, Form::Na, Form::Name, Form::Nevr, Form::Nev];

/// A pattern read in one form: each part a glob, the epoch exact.
#[derive(Debug, Default, PartialEq, Eq)]
struct Spec<'a> {
    name: &'a str,
    epoch: Option<&'a str>,
    version: Option<&'a str>,
    release: Option<&'a str>,
    arch: Option<&'a str>,
}

impl Spec<'_> {
    fn matches(&self, p: &Candidate) -> bool {
        let epoch = if p.epoch.is_empty() { "0" } else { &p.epoch };
        glob(self.name, &p.name)
            && self
                .epoch
                .is_none_or(|e| e.parse::<u64>().ok() == epoch.parse::<u64>().ok())
            && self.version.is_none_or(|v| glob(v, &p.version))
            && self.release.is_none_or(|r| glob(r, &p.release))
            && self.arch.is_none_or(|a| glob(a, &p.arch))
    }
}

/// Is `s` a valid part: not empty, none of the characters libdnf's
/// patterns refuse everywhere, nor those in `extra`.
fn part(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| matches!(c, ':' | '(' | '/' | '=' | '<' | '>' | ' ') || extra.contains(&c))
}

/// `name-[epoch:]version`: the name is everything before the last `-`.
fn name_epoch_version(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let (n, ev) = s.rsplit_once('-')?;
    let (e, v) = match ev.split_once(':') {
        Some((e, v)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), v),
        Some(_) => return None,
        None => (None, ev),
    };
    (part(n, &[]) && part(v, &['-'])).then_some((n, e, v))
}

fn parse(pat: &str, form: Form) -> Option<Spec<'_>> {
    match form {
        Form::Nevra => {
            let (nev, ra) = pat.rsplit_once('-')?;
            let (r, a) = ra.rsplit_once('.')?;
            let (name, epoch, v) = name_epoch_version(nev)?;
            (part(r, &['-']) && part(a, &['-', '.'])).then_some(Spec {
                name,
                epoch,
                version: Some(v),
                release: Some(r),
                arch: Some(a),
            })
        }
        Form::Na => {
            let (name, a) = pat.rsplit_once('.')?;
            (part(name, &[]) && part(a, &['-', '.'])).then_some(Spec {
                name,
                arch: Some(a),
                ..Spec::default()
            })
        }
        Form::Name => part(pat, &[]).then_some(Spec {
            name: pat,
            ..Spec::default()
        }),
        Form::Nevr => {
            let (nev, r) = pat.rsplit_once('-')?;
            let (name, epoch, v) = name_epoch_version(nev)?;
            part(r, &['-']).then_some(Spec {
                name,
                epoch,
                version: Some(v),
                release: Some(r),
                arch: None,
            })
        }
        Form::Nev => {
            let (name, epoch, v) = name_epoch_version(pat)?;
            Some(Spec {
                name,
                epoch,
                version: Some(v),
                ..Spec::default()
            })
        }
    }
}

/// fnmatch(3) without flags, as dnf matches package patterns: `*`, `?`,
/// `[...]` (with `!` or `^` negation and ranges) and `\` escapes.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => class(&p[pi..], t[ti]),
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == t[ti]).then_some(2),
            Some(c) => (*c == t[ti]).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                pi += n;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Match `c` against the bracket expression at the start of `p`: the
/// pattern length it used, or `None` when it does not match. An unclosed
/// `[` is a literal, as in fnmatch.
fn class(p: &[char], c: char) -> Option<usize> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        let lo = p[i];
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|h| *h != ']') {
            let hi = p[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    if i >= p.len() {
        return (c == '[').then_some(1);
    }
    (hit != negate).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, evr: &str, arch: &str) -> Candidate {
        let (epoch, vr) = evr.split_once(':').unwrap_or(("0", evr));
        let (version, release) = vr.split_once('-').unwrap();
        Candidate {
            name: name.into(),
            arch: arch.into(),
            epoch: epoch.into(),
            version: version.into(),
            release: release.into(),
        }
    }

    fn kept(f: &FilterSpec, pkgs: &[Candidate]) -> Vec<String> {
        pkgs.iter()
            .zip(f.select(pkgs))
            .filter(|(_, k)| *k)
            .map(|(p, _)| format!("{}-{}-{}.{}", p.name, p.version, p.release, p.arch))
            .collect()
    }

    #[test]
    fn fnmatch_semantics() {
        assert!(glob("kernel*", "kernel-core"));
        assert!(glob("*-debuginfo", "foo-debuginfo"));
        assert!(!glob("*-debuginfo", "foo-debuginfo-common"));
        assert!(glob(
            "f*-backgrounds-extras*",
            "f38-backgrounds-extras-gnome"
        ));
        assert!(glob("lib?", "libc"));
        assert!(!glob("lib?", "lib"));
        assert!(glob("[a-c]x", "bx") && !glob("[!a-c]x", "bx") && glob("[^a-c]x", "dx"));
        assert!(glob("a\\*", "a*") && !glob("a\\*", "ab"));
        assert!(glob("[]]", "]") && glob("a[", "a["));
        assert!(glob("*", "") && !glob("?", ""));
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
        assert!(glob("root", "root") && !glob("root", "root-core"));
    }

    #[test]
    fn patterns_match_every_dnf_spelling() {
        let p = pkg("root-core", "1:6.2-3", "x86_64");
        for pat in [
            "root-core",
            "root-core.x86_64",
            "root-core-6.2",
            "root-core-6.2-3",
            "root-core-6.2-3.x86_64",
            "root-core-1:6.2-3.x86_64",
            "root-*",
            "*.x86_64",
        ] {
            let f = FilterSpec {
                exclude: vec![pat.into()],
                ..FilterSpec::none()
            };
            assert!(kept(&f, std::slice::from_ref(&p)).is_empty(), "{pat}");
        }
        for pat in [
            "root",
            "root-core-6",
            "*.noarch",
            "core",
            "1:root-core-6.2-3.x86_64",
            "root-core-2:6.2",
        ] {
            let f = FilterSpec {
                exclude: vec![pat.into()],
                ..FilterSpec::none()
            };
            assert_eq!(kept(&f, std::slice::from_ref(&p)).len(), 1, "{pat}");
        }
    }

    /// dnf's "first reading that matches anything wins": `i3-*` names the
    /// `i3-*` packages when there are some, every version of `i3` otherwise.
    #[test]
    fn first_matching_form_wins() {
        let both = [pkg("i3", "1-1", "x86_64"), pkg("i3-wm", "1-1", "x86_64")];
        assert_eq!(pattern_matches("i3-*", &both), [false, true]);
        assert_eq!(pattern_matches("i3-*", &both[..1]), [true]);
        // Whole-NEVRA globs are the last resort.
        assert_eq!(pattern_matches("i3-1-1.x86*", &both), [true, false]);
        assert_eq!(pattern_matches("*wm-1-1*", &both), [false, true]);
        assert_eq!(pattern_matches("nothing", &both), [false, false]);
    }

    #[test]
    fn each_rule_and_their_order() {
        let pkgs = vec![
            pkg("a", "1.0-1", "noarch"),
            pkg("a", "1.10-1", "noarch"),
            pkg("a", "1.9-1", "noarch"),
            pkg("a", "1.9-1", "src"),
            pkg("b", "2-1", "x86_64"),
            pkg("b", "2-1", "i686"),
            pkg("b", "1:1-1", "x86_64"),
            pkg("b", "3-1", "x86_64"),
        ];
        let newest = FilterSpec {
            retain_versions: Some(1),
            ..FilterSpec::none()
        };
        // Version order is rpm's (1.10 > 1.9) and the epoch wins.
        assert_eq!(
            kept(&newest, &pkgs),
            [
                "a-1.10-1.noarch",
                "a-1.9-1.src",
                "b-2-1.i686",
                "b-1-1.x86_64"
            ]
        );
        let two = FilterSpec {
            retain_versions: Some(2),
            source: false,
            ..FilterSpec::none()
        };
        assert_eq!(
            kept(&two, &pkgs),
            [
                "a-1.10-1.noarch",
                "a-1.9-1.noarch",
                "b-2-1.i686",
                "b-1-1.x86_64",
                "b-3-1.x86_64"
            ]
        );
        let arches = FilterSpec {
            arches: vec!["x86_64".into(), "noarch".into()],
            ..FilterSpec::none()
        };
        assert_eq!(kept(&arches, &pkgs).len(), 6);
        // Excludes apply before newest: the newest left is kept.
        let both = FilterSpec {
            exclude: vec!["b-1:1-1.x86_64".into(), "a-1.10*".into()],
            retain_versions: Some(1),
            source: false,
            ..FilterSpec::none()
        };
        assert_eq!(
            kept(&both, &pkgs),
            ["a-1.9-1.noarch", "b-2-1.i686", "b-3-1.x86_64"]
        );
        let include = FilterSpec {
            includepkgs: vec!["b".into()],
            exclude: vec!["*.i686".into()],
            ..FilterSpec::none()
        };
        assert_eq!(
            kept(&include, &pkgs),
            ["b-2-1.x86_64", "b-1-1.x86_64", "b-3-1.x86_64"]
        );
        assert!(!FilterSpec::none().is_active());
        assert_eq!(kept(&FilterSpec::none(), &pkgs).len(), pkgs.len());
    }

    #[test]
    fn fingerprint_is_canonical() {
        let a = FilterSpec {
            exclude: vec!["b".into(), "a".into()],
            ..FilterSpec::none()
        };
        let b = FilterSpec {
            exclude: vec!["a".into(), "b".into(), "a".into()],
            ..FilterSpec::none()
        };
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), FilterSpec::none().fingerprint());
    }
}
