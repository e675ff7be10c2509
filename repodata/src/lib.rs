//! `mirror-repodata`: what a yum/dnf repository says about itself, read
//! safely. Pure and synchronous: no network, no async; the only I/O is
//! reading files a caller points at.
//!
//! - [`xml`]: the one guarded XML event loop every reader uses (no DTD, no
//!   unknown entities, truncation is an error).
//! - [`repomd`], [`primary`], [`content`]
//!   (prestodelta, `.treeinfo`), [`updateinfo`] (advisories),
//!   [`mirrorlist`] (mirrorlists, metalinks).
//! - [`repo`]: a repository directory and everything it lists.
//! - [`checksum`], [`href`] (paths metadata may name), [`decompress`]
//!   (by content, bounded by the declared open-size), [`evr`] (rpm's
//!   version order).
//! - [`rewrite`]: streaming rewrites for filtered snapshots (records kept
//!   byte for byte, dropped, or trimmed) and repomd.xml regenerated.

pub mod checksum;
pub mod content;
pub mod decompress;
pub mod evr;
pub mod href;
pub mod mirrorlist;
pub mod primary;
pub mod repo;
pub mod repomd;
pub mod rewrite;
pub mod updateinfo;
pub mod xml;

#[cfg(test)]
mod props {
    //! Readers of untrusted input never panic: they return a value or an error.
    use proptest::prelude::*;

    fn xmlish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<repomd>".to_owned()),
            Just("</repomd>".to_owned()),
            Just("<data type=\"primary\">".to_owned()),
            Just("</data>".to_owned()),
            Just("<location href=\"repodata/x.xml.gz\"/>".to_owned()),
            Just("<checksum type=\"sha256\">".to_owned()),
            Just("</checksum>".to_owned()),
            Just("<metadata packages=\"99999999999\">".to_owned()),
            Just("<package type=\"rpm\" pkgid=\"x\" name=\"n\">".to_owned()),
            Just("</package>".to_owned()),
            Just("<name>".to_owned()),
            Just("</name>".to_owned()),
            Just("<size package=\"12\"/>".to_owned()),
            Just("<version epoch=\"1\" ver=\"2\" rel=\"3\"/>".to_owned()),
            Just("<delta><filename>drpms/x.drpm</filename></delta>".to_owned()),
            Just("<update>".to_owned()),
            Just("</update>".to_owned()),
            Just("<package name=\"n\" version=\"1\" release=\"1\" arch=\"x\"/>".to_owned()),
            Just("<revision>1</revision>".to_owned()),
            Just("&amp;".to_owned()),
            Just("&bogus;".to_owned()),
            Just("<!DOCTYPE x>".to_owned()),
            "[a-f0-9]{0,70}",
            "\\PC{0,10}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn readers_never_panic(text in xmlish()) {
            let _ = crate::repomd::parse(text.as_bytes());
            let _ = crate::primary::for_each_package(text.as_bytes(), |_| Ok::<_, ()>(()));
            let _ = crate::content::deltas(text.as_bytes());
            let _ = crate::updateinfo::for_each_advisory(text.as_bytes(), |_| Ok::<_, ()>(()));
            let _ = crate::mirrorlist::parse_list(text.as_bytes(), &url::Url::parse("http://l/").unwrap());
            let keep: std::collections::HashSet<String> = ["x".to_owned()].into();
            let mut sink = Vec::new();
            let _ = crate::rewrite::rewrite(text.as_bytes(), &mut sink, Some(1), &mut crate::rewrite::primary(&keep));
            let _ = crate::rewrite::rewrite(text.as_bytes(), &mut sink, None, &mut crate::rewrite::updateinfo(&keep, &keep));
            let _ = crate::rewrite::rewrite(text.as_bytes(), &mut sink, Some(2), &mut crate::rewrite::filelists_or_other(&keep));
            let _ = crate::rewrite::repomd(text.as_bytes(), "1", &[], &|k| k == "primary");
        }

        #[test]
        fn decompress_never_panics(mut bytes in prop::collection::vec(any::<u8>(), 0..300), magic in 0usize..5) {
            let heads: [&[u8]; 5] = [&[0x1f, 0x8b], &[0xfd, b'7', b'z', b'X', b'Z', 0], b"BZh", &[0x28, 0xb5, 0x2f, 0xfd], b""];
            let mut data = heads[magic].to_vec();
            data.append(&mut bytes);
            if let Ok(mut r) = crate::decompress::open(std::io::Cursor::new(data)) {
                let mut out = Vec::new();
                let _ = std::io::Read::read_to_end(&mut r, &mut out);
            }
        }

        #[test]
        fn accepted_hrefs_stay_inside(href in "[a-zA-Z0-9./_~+-]{0,40}") {
            if let Ok(p) = crate::href::check(&href) {
                prop_assert!(!p.as_str().starts_with('/'));
                prop_assert!(p.as_str().split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
            }
        }
    }
}
