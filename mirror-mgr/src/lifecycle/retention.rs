//! What `gc` keeps ([`Retention`]) and the durations configs and flags
//! give (`30d`, `12h`, `1d12h`).

/// Retention policy for `gc`. A snapshot is kept when any rule keeps it.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    /// Keep the newest N snapshots.
    pub keep_last: Option<usize>,
    /// Keep snapshots named after a time within this many seconds of now.
    pub keep_within: Option<i64>,
}

/// Parse `30d`, `12h`, `2w`, `90m`, `3600s` (or combinations: `1d12h`) into seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "bad duration {s:?}: unknown unit {c:?} (use s, m, h, d, w)"
                ));
            }
        };
        let n: i64 = num
            .parse()
            .map_err(|_| format!("bad duration {s:?}: a number must precede {c:?}"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!(
            "bad duration {s:?}: expected e.g. 30d, 12h, 2w, 1d12h"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("1d12h").unwrap(), 36 * 3600);
        assert_eq!(parse_duration("2w").unwrap(), 14 * 86_400);
        assert_eq!(parse_duration("90m").unwrap(), 5400);
        for bad in ["", "30", "d", "3x", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
