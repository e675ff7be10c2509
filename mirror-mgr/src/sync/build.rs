//! Building a new snapshot: metadata downloaded and verified, packages
//! (and deltarpms, installer-tree files) planned against what base/ and
//! staged objects already hold, downloaded, upstream checked unchanged, the
//! build linked and handed to the store to publish. One struct holds what
//! every phase needs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use url::Url;

use mirror_index::SnapshotName;
use mirror_repodata::repo::RepoDir;
use mirror_repodata::repomd::Repomd;

use super::context::{SMALL_FILE_LIMIT, SyncContext, SyncError, blocking};
use super::items::{Item, link_build, read_items};
use super::upstreams::Upstreams;
use crate::config::MirrorSpec;
use crate::crashpoint;
use crate::fetch::{self, Expect, FetchError, Fetcher};
use crate::filter::sign::Signer;
use crate::report::{Reporter, SyncReport};
use crate::store::{IoContext, Store};

/// Everything the phases of one build share.
pub(super) struct Build<'a> {
    pub ctx: &'a SyncContext,
    pub spec: &'a MirrorSpec,
    pub store: &'a Store,
    pub fetcher: &'a Arc<Fetcher>,
    pub reporter: &'a dyn Reporter,
    pub ups: &'a Upstreams,
    pub repomd_bytes: &'a [u8],
    pub md: &'a Repomd,
    /// The staging directory the snapshot is built in.
    pub dir: PathBuf,
    /// The pinned keys, when the mirror checks signatures.
    pub keyring: Option<&'a crate::trust::Keyring>,
    /// For a filtered mirror: what the snapshot is made from (recorded with
    /// it), and the key that signs its regenerated metadata.
    pub source: Option<&'a [u8]>,
    pub signer: Option<&'a Arc<Signer>>,
}

/// What the planning phase found.
struct Plan {
    items: Vec<Item>,
    /// Distinct `xml:base` URLs items refer to.
    location_bases: Vec<Url>,
    /// Indexes into `items` to download.
    to_download: Vec<usize>,
}

impl Build<'_> {
    /// All phases, in order; returns the published snapshot's name.
    pub async fn run(
        &self,
        snapshots: &[SnapshotName],
        report: &mut SyncReport,
    ) -> Result<SnapshotName, SyncError> {
        let mut mark = Instant::now();
        let mut lap = |report: &mut SyncReport, phase: &'static str| {
            report.phases.insert(phase, mark.elapsed().as_secs_f64());
            mark = Instant::now();
        };
        self.fetch_metadata(report).await?;
        let md = self.filter(report).await?;
        lap(report, "metadata");
        let plan = self.plan(&md, report).await?;
        self.fetch_files(&plan, report).await?;
        self.check_package_signatures(&plan).await?;
        self.confirm_upstream_unchanged().await?;
        lap(report, "packages");
        let name = self.publish(plan.items, snapshots).await?;
        lap(report, "snapshot");
        Ok(name)
    }

    /// repomd.xml as fetched, its signature and key when upstream has them,
    /// every file it lists (verified), and `.treeinfo` when upstream is an
    /// installer tree.
    async fn fetch_metadata(&self, report: &mut SyncReport) -> Result<(), SyncError> {
        let (name, build, md) = (&self.spec.name, self.dir.as_path(), self.md);
        self.reporter.phase(name, "downloading metadata");
        let base_url = self.ups.primary();
        let repomd_path = build.join("repodata/repomd.xml");
        std::fs::write(&repomd_path, self.repomd_bytes).at(&repomd_path)?;
        for extra in ["repodata/repomd.xml.asc", "repodata/repomd.xml.key"] {
            let url = fetch::join(base_url, extra).expect("constant path joins");
            if let Some(b) = self.fetcher.get_optional(&url, SMALL_FILE_LIMIT).await? {
                let p = build.join(extra);
                std::fs::write(&p, &b).at(&p)?;
            }
        }
        self.check_repo_signature()?;
        let mut made = HashSet::new();
        for r in &md.records {
            crate::store::ensure_parent(&r.href.under(build), &mut made)?;
        }
        // Large repos carry filelists of 100+ MB: show them as a download too.
        let meta_bytes: u64 = md.records.iter().filter_map(|r| r.size).sum();
        self.reporter
            .download_start(name, md.records.len() as u64, meta_bytes);
        let progress = |n: u64| self.reporter.download_progress(name, n);
        let result = futures_util::stream::iter(md.records.iter().map(|r| {
            let dest = r.href.under(build);
            let expect = Expect {
                size: r.size,
                checksum: r.checksum.clone(),
                linkable: false,
            };
            let progress = &progress;
            async move {
                self.ups
                    .download(self.fetcher, r.href.as_str(), &dest, &expect, progress)
                    .await?;
                self.reporter.file_done(name);
                Ok::<_, SyncError>(())
            }
        }))
        .buffer_unordered(8)
        .try_collect::<()>()
        .await;
        self.reporter.download_done(name);
        result?;
        report.downloaded_files += md.records.len() as u64;
        crashpoint::hit("metadata-downloaded");

        // An installer tree's description (some servers refuse dot-files: that is "none").
        for tree in mirror_repodata::content::TREEINFO_NAMES {
            let url = fetch::join(base_url, tree).expect("constant path joins");
            match self.fetcher.get(&url, SMALL_FILE_LIMIT).await {
                Ok(b) => {
                    let p = build.join(tree);
                    std::fs::write(&p, &b).at(&p)?;
                    report.downloaded_files += 1;
                    break;
                }
                Err(
                    FetchError::NotFound { .. }
                    | FetchError::Status {
                        status: 401 | 403, ..
                    },
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// With a package filter: choose the packages, regenerate the metadata
    /// in the build (and sign it). Returns the repomd the build now holds.
    async fn filter(&self, report: &mut SyncReport) -> Result<Repomd, SyncError> {
        if !self.spec.filter.is_active() {
            return Ok(self.md.clone());
        }
        self.reporter.phase(&self.spec.name, "filtering packages");
        let dir = self.dir.clone();
        let bytes = self.repomd_bytes.to_vec();
        let md = self.md.clone();
        let filter = self.spec.filter.clone();
        let signer = self.signer.cloned();
        let mirror = self.spec.name.to_string();
        let now = jiff::Timestamp::now().as_second();
        let (md, filtered) = blocking(move || {
            crate::filter::regen::apply(&dir, &bytes, &md, &filter, signer.as_deref(), now)
                .map_err(|source| SyncError::Filter { mirror, source })
        })
        .await?;
        report.filter = Some(filtered);
        Ok(md)
    }

    /// Every file the snapshot must hold, and which of them to download:
    /// not those base/ holds with the same checksum, nor verified objects a
    /// crashed run staged.
    async fn plan(&self, md: &Repomd, report: &mut SyncReport) -> Result<Plan, SyncError> {
        self.reporter.phase(&self.spec.name, "reading primary");
        let base_url = self.ups.primary().clone();
        let repo = RepoDir::with_repomd(&self.dir, md.clone());
        let primary_url =
            fetch::join(&base_url, repo.primary().href.as_str()).expect("checked href joins");
        let policy = self.spec.xml_base;
        let mut hosts = self.spec.xml_base_hosts.clone();
        hosts.extend(base_url.host_str().map(str::to_owned));
        let (mut items, location_bases, packages) = blocking(move || {
            let extras = repo.extra_files().map_err(|source| SyncError::Repo {
                url: mirror_http::redact(primary_url.as_str()),
                source,
            })?;
            read_items(&repo, &primary_url, policy, &hosts, extras)
        })
        .await?;
        let have = {
            let s = self.store.clone();
            blocking(move || Ok(s.base_index())).await?
        };
        let new_pairs: HashSet<(&str, &str)> = items
            .iter()
            .map(|i| (i.href.as_str(), i.checksum.hex.as_str()))
            .collect();
        report.packages = packages;
        report.removed = have
            .iter()
            .filter(|(h, (c, _))| !new_pairs.contains(&(h.as_str(), c.hex.as_str())))
            .count() as u64;
        drop(new_pairs);
        let base = self.store.base();
        let mut to_download = Vec::new();
        for (i, item) in items.iter_mut().enumerate() {
            let in_base = have
                .get(&item.href)
                .is_some_and(|(c, s)| *c == item.checksum && *s == item.size);
            if in_base {
                if crate::store::regular_file_under(&base, &item.href)
                    .is_some_and(|m| item.size.is_none_or(|s| m.len() == s))
                {
                    item.from_base = true;
                    continue;
                }
            } else {
                report.added += 1;
            }
            // An object left by an interrupted run is re-hashed before reuse: it was
            // verified when downloaded, but a power loss before its publish could
            // have left it with the right size and the wrong bytes.
            let obj = self.store.object_path(&item.checksum);
            let reusable = std::fs::metadata(&obj)
                .is_ok_and(|m| item.size.is_none_or(|s| m.len() == s))
                && mirror_repodata::checksum::hash_file(&obj, item.checksum.kind)
                    .is_ok_and(|c| c == item.checksum);
            if !reusable {
                let _ = std::fs::remove_file(&obj);
                to_download.push(i);
            }
        }
        Ok(Plan {
            items,
            location_bases,
            to_download,
        })
    }

    /// Download what the plan says, in parallel over the shared pool.
    async fn fetch_files(&self, plan: &Plan, report: &mut SyncReport) -> Result<(), SyncError> {
        let name = &self.spec.name;
        let items = &plan.items;
        let total_bytes: u64 = plan.to_download.iter().filter_map(|&i| items[i].size).sum();
        self.reporter.phase(name, "downloading packages");
        self.reporter
            .download_start(name, plan.to_download.len() as u64, total_bytes);
        let progress = |n: u64| self.reporter.download_progress(name, n);
        let location_bases = &plan.location_bases;
        let result = futures_util::stream::iter(plan.to_download.iter().map(|&i| {
            let item = &items[i];
            let dest = self.store.object_path(&item.checksum);
            let expect = Expect {
                size: item.size,
                checksum: item.checksum.clone(),
                linkable: true,
            };
            let progress = &progress;
            async move {
                if let Some(b) = item.location_base {
                    // An xml:base names one host: nothing to fail over to.
                    let from = &location_bases[b as usize];
                    let url =
                        fetch::join(from, &item.href).map_err(|e| SyncError::BadMetadata {
                            url: mirror_http::redact(from.as_str()),
                            message: format!("{}: {e}", item.href),
                        })?;
                    self.fetcher
                        .download(&url, &dest, &expect, progress)
                        .await?;
                } else {
                    self.ups
                        .download(self.fetcher, &item.href, &dest, &expect, progress)
                        .await?;
                }
                self.reporter.file_done(name);
                crashpoint::hit("package-downloaded");
                Ok::<_, SyncError>(())
            }
        }))
        .buffer_unordered({
            // Enough futures for the highest per-host limit; the hosts'
            // gates decide how many of them send at once.
            let l = self.ctx.fetch.shared.hosts.limits();
            l.http1.max(l.http2)
        })
        .try_collect::<()>()
        .await;
        self.reporter.download_done(name);
        result?;
        report.downloaded_files += plan.to_download.len() as u64;
        Ok(())
    }

    /// With `repo_gpgcheck`, repomd.xml.asc must be a valid signature of
    /// the fetched repomd.xml by a pinned key, before anything else is
    /// downloaded.
    fn check_repo_signature(&self) -> Result<(), SyncError> {
        let Some(ring) = self.keyring.filter(|_| self.spec.trust.repo_gpgcheck) else {
            return Ok(());
        };
        let repomd =
            fetch::join(self.ups.primary(), "repodata/repomd.xml").expect("constant path joins");
        let shown = mirror_http::redact(repomd.as_str());
        let trust = |source| SyncError::Trust {
            mirror: self.spec.name.to_string(),
            source,
        };
        let Ok(asc) = std::fs::read(self.dir.join("repodata/repomd.xml.asc")) else {
            return Err(trust(crate::trust::TrustError::Unsigned {
                what: shown.clone(),
                missing: format!("{shown}.asc"),
            }));
        };
        let now = jiff::Timestamp::now().as_second();
        let signer = ring
            .verify_detached(&shown, self.repomd_bytes, &asc, now)
            .map_err(trust)?;
        tracing::info!("{}: repomd.xml signed by {signer}", self.spec.name);
        Ok(())
    }

    /// With `pkg_gpgcheck`, every downloaded RPM must be signed by a pinned
    /// key before it can enter base/ (or a snapshot).
    async fn check_package_signatures(&self, plan: &Plan) -> Result<(), SyncError> {
        let Some(ring) = self.keyring.filter(|_| self.spec.trust.pkg_gpgcheck) else {
            return Ok(());
        };
        let files: Vec<(String, PathBuf)> = plan
            .to_download
            .iter()
            .map(|&i| &plan.items[i])
            .filter(|item| {
                Path::new(&item.href)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("rpm"))
            })
            .map(|item| (item.href.clone(), self.store.object_path(&item.checksum)))
            .collect();
        let (ring, mirror) = (ring.clone(), self.spec.name.to_string());
        self.reporter
            .phase(&self.spec.name, "checking package signatures");
        blocking(move || {
            let now = jiff::Timestamp::now().as_second();
            for (href, path) in &files {
                ring.verify_rpm(href, path, now)
                    .map_err(|source| SyncError::Trust {
                        mirror: mirror.clone(),
                        source,
                    })?;
            }
            Ok(())
        })
        .await
    }

    /// Upstream must not have moved while we downloaded.
    async fn confirm_upstream_unchanged(&self) -> Result<(), SyncError> {
        let url =
            fetch::join(self.ups.primary(), "repodata/repomd.xml").expect("constant path joins");
        let again = self.fetcher.get(&url, SMALL_FILE_LIMIT).await?;
        if again != self.repomd_bytes {
            return Err(SyncError::UpstreamChanged {
                url: mirror_http::redact(url.as_str()),
            });
        }
        Ok(())
    }

    /// Link every file into the build and have the store publish it under
    /// a name never used before.
    async fn publish(
        &self,
        items: Vec<Item>,
        snapshots: &[SnapshotName],
    ) -> Result<SnapshotName, SyncError> {
        self.reporter.phase(&self.spec.name, "building snapshot");
        let from_base: HashSet<String> = items
            .iter()
            .filter(|i| i.from_base)
            .map(|i| i.href.clone())
            .collect();
        {
            let (store, build) = (self.store.clone(), self.dir.clone());
            blocking(move || link_build(&store, &build, &items)).await?;
        }
        crashpoint::hit("snapshot-linked");
        let now = jiff::Timestamp::now();
        let newest = self
            .store
            .newest_issued(now)?
            .max(snapshots.last().cloned());
        let name = SnapshotName::next(now, newest.as_ref()).map_err(|e| SyncError::Config {
            mirror: self.spec.name.to_string(),
            message: e.to_string(),
        })?;
        if let Some(signer) = self.signer {
            // The key is published before any snapshot it signed can be latest.
            let existing =
                std::fs::read_to_string(self.store.dir.join(crate::filter::sign::PUBLIC_KEY_FILE))
                    .ok();
            let text = crate::filter::sign::public_key_file(existing.as_deref(), signer).map_err(
                |source| SyncError::Sign {
                    mirror: self.spec.name.to_string(),
                    source,
                },
            )?;
            if let Some(t) = text {
                self.store.write_public_key(&t)?;
            }
        }
        let (store, build, n) = (self.store.clone(), self.dir.clone(), name.clone());
        let source = self.source.map(<[u8]>::to_vec);
        blocking(move || Ok(store.publish(&build, &n, source.as_deref(), &from_base)?)).await?;
        Ok(name)
    }
}
