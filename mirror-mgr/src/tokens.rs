//! API tokens for `mirror-mgr serve`: a name, scopes and the SHA-256 of the
//! token in a JSON file (mode 0600, replaced atomically). The token itself
//! is printed once by `token add` and never stored; a request's token is
//! hashed and compared with every stored hash in constant time.

use std::path::{Path, PathBuf};

use sha2::Digest as _;

/// The tokens file when `--tokens` is not given: private state of the root.
pub use mirror_index::layout::TOKENS_FILE as DEFAULT_FILE;

/// What a token may do. `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Record CI votes (which may promote by policy).
    Vote,
    /// Move channels directly.
    Promote,
    /// Start syncs, with an upstream URL for `import: true` mirrors.
    Import,
    /// Roll back; everything else too.
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        match s.trim() {
            "vote" => Ok(Self::Vote),
            "promote" => Ok(Self::Promote),
            "import" => Ok(Self::Import),
            "admin" => Ok(Self::Admin),
            other => Err(TokenError::BadScope(other.to_owned())),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Vote => "vote",
            Self::Promote => "promote",
            Self::Import => "import",
            Self::Admin => "admin",
        })
    }
}

/// One stored token (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Token {
    pub name: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    pub scopes: Vec<Scope>,
    pub created: String,
    /// `token add --jobs a,b`: the only CI jobs this token may vote as.
    /// `None`: any job (one such token can satisfy a policy alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<String>>,
}

impl Token {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// May this token record a vote for `job`?
    pub fn may_vote_as(&self, job: &str) -> bool {
        self.jobs
            .as_ref()
            .is_none_or(|j| j.iter().any(|x| x == job))
    }
}

/// Why a vote token could satisfy a promotion policy alone, one line per
/// (token, channel): a policy that requires several jobs means several
/// independent voters, which one token able to vote as all of them is not.
pub fn policy_warnings(
    tokens: &Tokens,
    policies: &std::collections::BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens.tokens.iter().filter(|t| t.allows(Scope::Vote)) {
        for (channel, require) in policies.iter().filter(|(_, r)| r.len() > 1) {
            if require.iter().all(|j| t.may_vote_as(j)) {
                let how = if t.jobs.is_none() {
                    "is not bound to jobs (token add --jobs)"
                } else {
                    "is bound to all of its jobs"
                };
                out.push(format!(
                    "token {} {how}: it alone can satisfy channel {channel} (requires {})",
                    t.name,
                    require.join(", ")
                ));
            }
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("unknown scope {0:?} (vote, promote, import, admin)")]
    BadScope(String),
    #[error("token name {0:?}: use 1 to 64 of A-Z a-z 0-9 . _ -")]
    BadName(String),
    #[error("a token named {0} exists; revoke it first")]
    Exists(String),
    #[error("no token named {0}")]
    Unknown(String),
    #[error("give at least one scope")]
    NoScope,
    #[error("--jobs {0:?}: job names are 1 to 200 printable characters")]
    BadJob(String),
}

/// The tokens file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Tokens {
    #[serde(default)]
    pub tokens: Vec<Token>,
}

fn hash(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// Equal in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Read `path`; a missing file is no tokens.
    pub fn load(path: &Path) -> Result<Self, TokenError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| TokenError::File {
                path: path.to_path_buf(),
                message: format!("not a tokens file: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(TokenError::File {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }

    /// Write `path` atomically, readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), TokenError> {
        let text = serde_json::to_string_pretty(self).expect("serialisable") + "\n";
        mirror_index::atomic::write_atomic_private(path, text.as_bytes()).map_err(|e| {
            TokenError::File {
                path: path.to_path_buf(),
                message: e.source.to_string(),
            }
        })
    }

    /// Add a token; returns the token, to be shown once.
    pub fn add(
        &mut self,
        name: &str,
        scopes: Vec<Scope>,
        jobs: Option<Vec<String>>,
    ) -> Result<String, TokenError> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(TokenError::BadName(name.to_owned()));
        }
        if scopes.is_empty() {
            return Err(TokenError::NoScope);
        }
        if let Some(bad) = jobs
            .iter()
            .flatten()
            .find(|j| j.is_empty() || j.len() > 200 || j.chars().any(char::is_control))
        {
            return Err(TokenError::BadJob(bad.clone()));
        }
        if self.tokens.iter().any(|t| t.name == name) {
            return Err(TokenError::Exists(name.to_owned()));
        }
        let mut raw = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
        let token = format!("mmt_{}", hex::encode(raw));
        self.tokens.push(Token {
            name: name.to_owned(),
            sha256: hex::encode(hash(&token)),
            scopes,
            created: jiff::Timestamp::now().to_string(),
            jobs,
        });
        Ok(token)
    }

    pub fn revoke(&mut self, name: &str) -> Result<(), TokenError> {
        let before = self.tokens.len();
        self.tokens.retain(|t| t.name != name);
        if self.tokens.len() == before {
            return Err(TokenError::Unknown(name.to_owned()));
        }
        Ok(())
    }

    /// The stored token `token` is, if any. Every stored hash is compared,
    /// each in constant time.
    pub fn check(&self, token: &str) -> Option<&Token> {
        let h = hash(token);
        let mut found = None;
        for t in &self.tokens {
            let stored = hex::decode(&t.sha256).unwrap_or_default();
            if same(&stored, &h) {
                found = Some(t);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_check_revoke_and_the_file() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("tokens.json");
        let mut t = Tokens::load(&path).unwrap();
        let ci = t.add("ci-job", vec![Scope::Vote], None).unwrap();
        let boss = t.add("release", vec![Scope::Admin], None).unwrap();
        assert!(ci.starts_with("mmt_") && ci.len() == 68 && ci != boss);
        assert!(matches!(
            t.add("ci-job", vec![Scope::Vote], None),
            Err(TokenError::Exists(_))
        ));
        assert!(matches!(
            t.add("a b", vec![Scope::Vote], None),
            Err(TokenError::BadName(_))
        ));
        assert!(matches!(t.add("x", vec![], None), Err(TokenError::NoScope)));
        t.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&ci[4..]) && !text.contains(&boss[4..]),
            "{text}"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o600);

        let t = Tokens::load(&path).unwrap();
        let who = t.check(&ci).unwrap();
        assert_eq!(who.name, "ci-job");
        assert!(who.allows(Scope::Vote) && !who.allows(Scope::Promote));
        assert!(t.check(&boss).unwrap().allows(Scope::Import));
        assert!(t.check("mmt_0000").is_none() && t.check("").is_none());
        let mut t = t;
        t.revoke("ci-job").unwrap();
        assert!(t.check(&ci).is_none());
        assert!(matches!(t.revoke("ci-job"), Err(TokenError::Unknown(_))));
    }

    #[test]
    fn bound_tokens_and_policy_warnings() {
        let mut t = Tokens::default();
        t.add("any", vec![Scope::Vote], None).unwrap();
        t.add("unit", vec![Scope::Vote], Some(vec!["unit".into()]))
            .unwrap();
        t.add(
            "both",
            vec![Scope::Vote],
            Some(vec!["unit".into(), "e2e".into()]),
        )
        .unwrap();
        t.add("ops", vec![Scope::Import], None).unwrap();
        assert!(matches!(
            t.add("bad", vec![Scope::Vote], Some(vec!["a\nb".into()])),
            Err(TokenError::BadJob(_))
        ));
        let unit = &t.tokens[1];
        assert!(unit.may_vote_as("unit") && !unit.may_vote_as("e2e"));
        assert!(t.tokens[0].may_vote_as("e2e"));
        let policies = std::collections::BTreeMap::from([
            (
                "tested".to_owned(),
                vec!["unit".to_owned(), "e2e".to_owned()],
            ),
            ("smoke".to_owned(), vec!["unit".to_owned()]),
        ]);
        let w = policy_warnings(&t, &policies);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("token any is not bound") && w[0].contains("tested"));
        assert!(w[1].starts_with("token both is bound to all"));
    }

    #[test]
    fn constant_time_equality() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
