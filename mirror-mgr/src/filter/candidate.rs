//! What a filter sees of a package.

use mirror_repodata::evr::Evr;

/// What a filter sees of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub arch: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
}

impl Candidate {
    pub(crate) fn evr(&self) -> Evr {
        Evr {
            epoch: self.epoch.clone(),
            version: self.version.clone(),
            release: self.release.clone(),
        }
    }

    /// `name-version-release.arch`, with `epoch:` before the version when
    /// it is not 0 (libdnf's NEVRA string).
    pub(super) fn nevra(&self) -> String {
        let e = match self.epoch.as_str() {
            "" | "0" => String::new(),
            e => format!("{e}:"),
        };
        format!(
            "{}-{e}{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }
}
