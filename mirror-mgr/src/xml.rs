//! Small helpers over quick-xml shared by the repomd, primary and metalink
//! readers. No DTD is ever processed: only the five predefined entities and
//! character references are resolved, so entity-expansion attacks (billion
//! laughs, external entities) are errors, not memory blow-ups.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart};

/// The value of attribute `name` (matched on the local name, so `xml:base` is `base`
/// only when `qualified` is false).
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

/// Append the text an entity or character reference stands for.
pub fn push_ref(out: &mut String, r: &BytesRef<'_>) -> Result<(), String> {
    if let Some(c) = r
        .resolve_char_ref()
        .map_err(|e| format!("bad character reference: {e}"))?
    {
        out.push(c);
        return Ok(());
    }
    let name = r.clone().into_inner();
    out.push_str(match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => {
            return Err(format!(
                "undefined entity &{other}; (DTD entities are not supported)"
            ));
        }
    });
    Ok(())
}

/// The local part of an element name (`rpm:entry` -> `entry`).
pub fn local(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_owned()
}
