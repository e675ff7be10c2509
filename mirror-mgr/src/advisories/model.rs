//! What one advisory is in a snapshot ([`Summary`]) and a snapshot's
//! advisories by id ([`Advisories`]).

use mirror_repodata::updateinfo::Advisory;

/// One advisory as a snapshot has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: Option<String>,
    #[serde(serialize_with = "time")]
    pub issued: Option<i64>,
    #[serde(serialize_with = "time")]
    pub updated: Option<i64>,
    pub title: String,
    pub cves: Vec<String>,
    /// `name-epoch:version-release.arch` of every package it lists.
    pub packages: Vec<String>,
    pub applicable: bool,
    /// Binary packages listed but not held at that version or newer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

#[allow(clippy::ref_option)] // serde's serialize_with passes `&Option`.
pub(crate) fn time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t.and_then(|t| jiff::Timestamp::from_second(t).ok()) {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

impl Summary {
    /// Is it a security advisory?
    pub fn is_security(&self) -> bool {
        self.kind.eq_ignore_ascii_case("security")
    }

    /// The severity, lower case; `unknown` when none is given.
    pub fn severity_key(&self) -> String {
        severity_key(self.severity.as_deref())
    }

    pub(super) fn of(a: Advisory) -> (Self, Vec<mirror_repodata::updateinfo::PackageRef>) {
        let cves = a.cves().into_iter().map(str::to_owned).collect();
        (
            Self {
                id: a.id,
                kind: a.kind,
                severity: a.severity,
                issued: a.issued,
                updated: a.updated,
                title: a.title,
                cves,
                packages: Vec::new(),
                applicable: false,
                missing: Vec::new(),
            },
            a.packages,
        )
    }
}

/// A severity, lower case; `unknown` for none (or upstream's `None`).
pub fn severity_key(severity: Option<&str>) -> String {
    severity
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("none"))
        .map_or_else(|| "unknown".to_owned(), str::to_ascii_lowercase)
}

/// A snapshot's advisories, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advisories {
    pub list: Vec<Summary>,
}

impl Advisories {
    pub fn get(&self, id: &str) -> Option<&Summary> {
        self.list
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.list[i])
    }
}
