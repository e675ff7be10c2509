//! The one XML event loop every reader here uses (repomd, primary,
//! filelists, other, prestodelta, metalink), with one set of guards:
//!
//! - no DTD is ever processed: a `DOCTYPE` is an error, and only the five
//!   predefined entities and character references are resolved, so
//!   entity-expansion attacks (billion laughs, external entities) are
//!   errors, not memory blow-ups;
//! - a document that ends before its elements are closed is an error
//!   (truncated downloads are never taken for short documents);
//! - text arrives as one kind of event whether it was text, CDATA or a
//!   reference;
//! - no single event (a text run, a tag, a comment, a CDATA section) may
//!   exceed [`MAX_EVENT`] bytes: the parser holds one event in memory, so
//!   this bounds a reader's memory however large or hostile the document.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::XmlVersion;
/// An element's start tag, as [`Ev::Start`] and [`Ev::Empty`] carry it.
pub use quick_xml::events::BytesStart;
use quick_xml::events::{BytesRef, Event};

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("not well-formed XML (at byte {pos}): {msg}")]
    Malformed { pos: u64, msg: String },
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("file ends before its elements are closed (truncated?)")]
    Truncated,
    #[error("undefined entity &{0}; (DTD entities are not supported)")]
    Entity(String),
    #[error("one text or tag (at byte {pos}) is longer than {MAX_EVENT} bytes")]
    TooLong { pos: u64 },
}

/// The largest single event (text run, tag, comment, CDATA) accepted:
/// 16 MiB, far above any real package description or changelog entry.
pub const MAX_EVENT: u64 = 16 << 20;

/// A `BufRead` that counts what the parser consumed since the last event
/// and fails once one event runs past its limit.
pub struct Counted<R> {
    inner: R,
    taken: u64,
    limit: u64,
}

impl<R: BufRead> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(buf.len());
            buf[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.taken > self.limit {
            return Err(std::io::Error::other(TOO_LONG));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.taken += amt as u64;
        self.inner.consume(amt);
    }
}

/// The message [`Counted`] fails with, recognised to report [`XmlError::TooLong`].
const TOO_LONG: &str = "event longer than the limit";

/// What the loop yields.
pub enum Ev<'a> {
    Start(BytesStart<'a>),
    Empty(BytesStart<'a>),
    /// The local name of the closed element.
    End(&'a str),
    Text(Cow<'a, str>),
    /// A declaration, comment or processing instruction: nothing to read.
    Skip,
    Eof,
}

/// A guarded pull reader over any `BufRead`.
pub struct XmlReader<R> {
    inner: quick_xml::Reader<Counted<R>>,
    buf: Vec<u8>,
    /// The last closed element's local name (reused: no allocation each).
    end: String,
    depth: usize,
}

impl<R: BufRead> XmlReader<R> {
    pub fn new(input: R) -> Self {
        Self::with_limit(input, MAX_EVENT)
    }

    /// A reader whose events may be at most `limit` bytes long.
    pub fn with_limit(input: R, limit: u64) -> Self {
        Self {
            inner: quick_xml::Reader::from_reader(Counted {
                inner: input,
                taken: 0,
                limit,
            }),
            buf: Vec::new(),
            end: String::new(),
            depth: 0,
        }
    }

    /// Byte offset in the (decompressed) input.
    pub fn position(&self) -> u64 {
        self.inner.buffer_position()
    }

    /// The input, for wrappers that watch what the parser consumed.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner.get_mut().inner
    }

    /// Elements open right now (0 at the top level).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The next event.
    pub fn event(&mut self) -> Result<Ev<'_>, XmlError> {
        self.next_with_depth().map(|(ev, _)| ev)
    }

    /// [`event`](Self::event) and the depth after it: an element's children
    /// are one deeper than its `Start` (an `Empty` one has none).
    pub fn next_with_depth(&mut self) -> Result<(Ev<'_>, usize), XmlError> {
        self.buf.clear();
        // Memory stays flat: a large event's buffer is not kept for the next.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        self.inner.get_mut().taken = 0;
        let pos = self.inner.buffer_position();
        let ev = self.inner.read_event_into(&mut self.buf).map_err(|e| {
            if self.inner.get_ref().taken > self.inner.get_ref().limit {
                XmlError::TooLong { pos }
            } else {
                XmlError::Malformed {
                    pos,
                    msg: e.to_string(),
                }
            }
        })?;
        if self.inner.get_ref().taken > self.inner.get_ref().limit {
            return Err(XmlError::TooLong { pos });
        }
        let ev = match ev {
            Event::Start(e) => {
                self.depth += 1;
                Ev::Start(e)
            }
            Event::Empty(e) => Ev::Empty(e),
            Event::End(e) => {
                self.depth = self.depth.saturating_sub(1);
                self.end.clear();
                self.end.push_str(e.local_name().into_inner());
                Ev::End(&self.end)
            }
            // Borrowed from the buffer unless line ends need normalising:
            // most text (whitespace between elements included) costs no
            // allocation.
            Event::Text(t) => Ev::Text(t.xml10_content()),
            Event::CData(t) => Ev::Text(t.xml10_content()),
            Event::GeneralRef(r) => Ev::Text(Cow::Owned(resolve_ref(&r)?)),
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Eof if self.depth != 0 => return Err(XmlError::Truncated),
            Event::Eof => Ev::Eof,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => Ev::Skip,
        };
        Ok((ev, self.depth))
    }
}

/// The text an entity or character reference stands for.
fn resolve_ref(r: &BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| XmlError::Malformed {
        pos: 0,
        msg: format!("bad character reference: {e}"),
    })? {
        return Ok(c.to_string());
    }
    let name = r.clone().into_inner();
    Ok(match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => return Err(XmlError::Entity(other.to_owned())),
    }
    .to_owned())
}

/// The value of attribute `name`, matched on its full (qualified) name:
/// `xml:base` is asked for as `"xml:base"`.
pub fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        if a.key.as_ref() == name {
            let v = a
                .normalized_value(XmlVersion::default())
                .map_err(|e| format!("bad value of attribute {name}: {e}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// The local part of an element name (`rpm:entry` -> `entry`).
pub fn local<'e>(e: &'e BytesStart<'_>) -> &'e str {
    e.local_name().into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(text: &str) -> Result<Vec<String>, XmlError> {
        let mut r = XmlReader::new(text.as_bytes());
        let mut out = Vec::new();
        loop {
            match r.event()? {
                Ev::Start(e) | Ev::Empty(e) => out.push(format!("<{}", local(&e))),
                Ev::End(n) => out.push(format!("/{n}")),
                Ev::Text(t) => out.push(t.into_owned()),
                Ev::Skip => {}
                Ev::Eof => return Ok(out),
            }
        }
    }

    #[test]
    fn guards() {
        assert_eq!(
            drain("<?xml version=\"1.0\"?><a x=\"1\">t&amp;<![CDATA[c]]>&#65;<b/></a>").unwrap(),
            ["<a", "t", "&", "c", "A", "<b", "/a"]
        );
        assert_eq!(
            drain("<!DOCTYPE x [<!ENTITY e \"boom\">]><a>&e;</a>").unwrap_err(),
            XmlError::Doctype
        );
        assert_eq!(
            drain("<a>&e;</a>").unwrap_err(),
            XmlError::Entity("e".into())
        );
        assert_eq!(drain("<a><b>text").unwrap_err(), XmlError::Truncated);
        assert!(matches!(drain("<a></b>"), Err(XmlError::Malformed { .. })));
    }

    #[test]
    fn one_long_event_is_refused_many_short_ones_are_not() {
        let read = |text: &str, limit| {
            let mut r = XmlReader::with_limit(text.as_bytes(), limit);
            loop {
                if let Ev::Eof = r.event()? {
                    return Ok(());
                }
            }
        };
        let long_text = format!("<a>{}</a>", "x".repeat(100));
        assert_eq!(read(&long_text, 64), Err(XmlError::TooLong { pos: 3 }));
        let cdata = format!("<a><![CDATA[{}]]></a>", "<>".repeat(100));
        assert!(matches!(read(&cdata, 64), Err(XmlError::TooLong { .. })));
        let tag = format!("<a b=\"{}\"/>", "y".repeat(100));
        assert!(matches!(read(&tag, 64), Err(XmlError::TooLong { .. })));
        let many = format!("<a>{}</a>", "<b>short</b>".repeat(1000));
        assert_eq!(read(&many, 64), Ok(()));
    }
}
