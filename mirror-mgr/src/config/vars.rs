//! yum variables: `$arch`, `$basearch`, `$releasever`, and the config's own.

use std::collections::BTreeMap;

/// yum's `$basearch` for an arch.
pub fn basearch(arch: &str) -> &str {
    match arch {
        "i386" | "i486" | "i586" | "i686" => "i386",
        "armv7hl" | "armv7l" => "armhfp",
        other => other,
    }
}

/// The built-in yum variables: `arch` and `basearch` (x86_64 unless
/// given), and `releasever`/`releasever_major` when a release is given.
pub fn default_vars(arch: Option<&str>, releasever: Option<&str>) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    set_vars(&mut v, Some(arch.unwrap_or("x86_64")), releasever);
    v
}

/// Set `arch`/`basearch` and `releasever`/`releasever_major` from what is
/// given, keeping the rest. The command line applies its `--arch` and
/// `--releasever` this way over every mirror, so the precedence is:
/// command line > mirror entry > config defaults > built-in.
pub fn set_vars(vars: &mut BTreeMap<String, String>, arch: Option<&str>, releasever: Option<&str>) {
    if let Some(a) = arch {
        vars.insert("arch".into(), a.to_owned());
        vars.insert("basearch".into(), basearch(a).to_owned());
    }
    if let Some(r) = releasever {
        vars.insert("releasever".into(), r.to_owned());
        let major = r.split('.').next().unwrap_or(r);
        vars.insert("releasever_major".into(), major.to_owned());
    }
}

/// Expand `$name` and `${name}` from `vars`; unknown variables stay literal, as in yum.
pub fn expand_vars(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match vars.get(name) {
            Some(v) if !name.is_empty() => {
                out.push_str(v);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
