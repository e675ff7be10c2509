//! The mirror tree as static files: GET and HEAD, Range, Last-Modified,
//! ETag, content types, and listings of directories.
//!
//! Invariants: a request path is decoded once and refused (404) when a
//! segment is `.`, `..`, or starts with a dot (private state: `.staging`,
//! `.lock`, votes, tokens) other than an installer tree's `.treeinfo`; the
//! resolved path (symlinks followed) must lie inside the root and pass
//! through no dot-entry, so a symlink planted in the tree never exposes
//! anything outside it or any private state; a redirect stays on this host.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;

use super::state::St;

/// The path under the root a request names, or `None` when it may not be served.
pub fn safe_relative(raw: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let mut rel = PathBuf::new();
    for seg in decoded.split('/') {
        if seg.is_empty() {
            continue;
        }
        let hidden = mirror_index::layout::is_private(seg) && seg != ".treeinfo";
        if hidden || seg.contains('\\') || seg.contains('\0') {
            return None;
        }
        rel.push(seg);
    }
    Some(rel)
}

fn status(code: StatusCode) -> Response {
    (code, code.canonical_reason().unwrap_or("")).into_response()
}

/// Files up to this size are read in one go and sent as one body; larger
/// ones (and Range or If-Modified-Since requests) go through tower-http's
/// file service, which streams them from the blocking pool.
const SMALL_FILE: u64 = 1 << 20;

/// What a request path leads to.
enum Found {
    Missing,
    Dir(PathBuf),
    /// A regular file; its bytes when small enough and wanted.
    File {
        path: PathBuf,
        meta: std::fs::Metadata,
        data: Option<Vec<u8>>,
    },
}

/// Resolve `relative` under the root (symlinks followed, the result
/// checked to be inside), in one trip to the blocking pool.
fn lookup(root: &Path, root_canon: &Path, relative: &Path, read_small: bool) -> Found {
    let Ok(real) = std::fs::canonicalize(root.join(relative)) else {
        return Found::Missing;
    };
    // Inside the root, and not through private state: a symlink planted
    // in the tree that resolves into `.staging/` or the tokens file is
    // refused like the dot-entry itself.
    let Ok(inside) = real.strip_prefix(root_canon) else {
        return Found::Missing;
    };
    if inside.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        mirror_index::layout::is_private(&name) && name != ".treeinfo"
    }) {
        return Found::Missing;
    }
    let Ok(meta) = std::fs::metadata(&real) else {
        return Found::Missing;
    };
    if meta.is_dir() {
        return Found::Dir(real);
    }
    if !meta.is_file() {
        return Found::Missing;
    }
    let data = (read_small && meta.len() <= SMALL_FILE)
        .then(|| std::fs::read(&real).ok())
        .flatten()
        .filter(|d| d.len() as u64 == meta.len());
    Found::File {
        path: real,
        meta,
        data,
    }
}

/// The fallback handler: a file or a directory listing.
pub async fn serve(state: St, req: Request) -> Response {
    let st = state.0;
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    if st.s.protect_reads
        && let Err(e) = super::api::common::authorize(&st, req.headers(), None)
    {
        return e.into_response();
    }
    let raw = req.uri().path().to_owned();
    let Some(relative) = safe_relative(&raw) else {
        return status(StatusCode::NOT_FOUND);
    };
    let h = req.headers();
    let simple = !h.contains_key(header::RANGE)
        && !h.contains_key(header::IF_MODIFIED_SINCE)
        && !h.contains_key(header::IF_UNMODIFIED_SINCE);
    let read_small = simple && !head;
    // Resolving a path and reading a small file from the page cache take
    // microseconds: done here, not on the blocking pool, whose hand-offs
    // cost more than the work (a third of the time per request, measured
    // with bench/run --only serve).
    let found = lookup(&st.s.root, &st.root_canon, &relative, read_small);
    let (real, meta, data) = match found {
        Found::Missing => return status(StatusCode::NOT_FOUND),
        Found::Dir(real) => {
            if !raw.ends_with('/') {
                // One leading slash: `//host/dir` would send the client to
                // another host (an open redirect).
                let to = format!("/{}/", raw.trim_start_matches('/'));
                return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)], "")
                    .into_response();
            }
            return listing(&real, &raw).await;
        }
        Found::File { path, meta, data } => (path, meta, data),
    };
    let etag = etag_of(&meta);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        let mut r = status(StatusCode::NOT_MODIFIED);
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return r;
    }
    let mut resp = if simple && (head || data.is_some()) {
        let mime = mime_guess::from_path(&real).first_or_octet_stream();
        let body = if head {
            Body::empty()
        } else {
            Body::from(data.unwrap_or_default())
        };
        let mut r = Response::new(body);
        let hs = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
            hs.insert(header::CONTENT_TYPE, v);
        }
        hs.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
        hs.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Ok(m) = meta.modified()
            && let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(m))
        {
            hs.insert(header::LAST_MODIFIED, v);
        }
        r
    } else {
        match tower_http::services::ServeFile::new(&real)
            .oneshot(req)
            .await
        {
            Ok(r) => r.map(Body::new),
            Err(e) => match e {},
        }
    };
    if resp.status().is_success()
        && let Ok(v) = HeaderValue::from_str(&etag)
    {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// A strong validator from what identifies a file's content here: snapshot
/// files never change in place, and a replaced file (latest.txt, the
/// index) gets a new inode and mtime.
fn etag_of(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "\"{:x}-{:x}-{:x}\"",
        meta.ino(),
        meta.len(),
        meta.mtime_nsec().cast_unsigned() ^ (meta.mtime().cast_unsigned() << 20)
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A plain listing of a directory (dot entries left out).
async fn listing(dir: &Path, raw: &str) -> Response {
    let dir = dir.to_path_buf();
    let entries = tokio::task::spawn_blocking(move || {
        let mut v: Vec<(String, bool)> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        (!mirror_index::layout::is_private(&name) || name == ".treeinfo").then(
                            || {
                                let is_dir = e.path().is_dir();
                                (name, is_dir)
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    })
    .await
    .unwrap_or_default();
    let title = html_escape(raw);
    let mut body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n<body><h1>Index of {title}</h1><ul>\n"
    );
    if raw != "/" {
        body.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir) in entries {
        let slash = if is_dir { "/" } else { "" };
        let href: String =
            percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        let _ = writeln!(
            body,
            "<li><a href=\"{href}{slash}\">{}{slash}</a></li>",
            html_escape(&name)
        );
    }
    body.push_str("</ul></body></html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_paths_are_served() {
        assert_eq!(
            safe_relative("/a-el9/2026-11-21-09-30/Packages/x.rpm"),
            Some(PathBuf::from("a-el9/2026-11-21-09-30/Packages/x.rpm"))
        );
        assert_eq!(safe_relative("/"), Some(PathBuf::new()));
        assert_eq!(
            safe_relative("/a/b%20c%2B.rpm"),
            Some(PathBuf::from("a/b c+.rpm"))
        );
        assert_eq!(
            safe_relative("/t/.treeinfo"),
            Some(PathBuf::from("t/.treeinfo"))
        );
        for bad in [
            "/../etc/passwd",
            "/a/%2e%2e/%2e%2e/etc/passwd",
            "/a/%2E%2E/x",
            "/.staging/objects/x",
            "/a-el9/.pending",
            "/.api-tokens.json",
            "/a/./b",
            "/a/b%5c..%5cc",
            "/a/%00",
            "/a/%ff",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }
}
