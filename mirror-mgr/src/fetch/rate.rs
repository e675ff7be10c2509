//! Bandwidth caps (dnf's `throttle` and `bandwidth`, and the process-wide
//! `max_download_rate`): one token bucket per cap, shared by every
//! transfer it covers, whatever the number of connections or HTTP/2
//! streams. A transfer takes tokens for each chunk it reads and waits
//! when the bucket is empty, so the bytes read per second hold the rate.

use std::time::Duration;

use tokio::time::Instant;

/// A cap of `rate` bytes per second.
///
/// Virtual scheduling (GCRA): each transfer's bytes push a theoretical
/// arrival time forward by their cost at the rate, and a taker that runs
/// more than [`BURST`] ahead of it sleeps the difference. A sleep that
/// runs long (timers have a millisecond grain, HTTP/2 data frames are a
/// few KiB) is not lost: the next takers find themselves less ahead, so
/// the rate holds over any stretch longer than the burst.
#[derive(Debug)]
pub struct RateLimit {
    rate: u64,
    /// When the bytes taken so far would have arrived at the rate.
    tat: tokio::sync::Mutex<Instant>,
}

/// How far ahead of the rate transfers may run (a burst after a pause).
const BURST: Duration = Duration::from_millis(100);

impl RateLimit {
    pub fn new(bytes_per_second: u64) -> Self {
        Self {
            rate: bytes_per_second.max(1),
            tat: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// Account for `n` bytes read; return once the cap allows them. Takers
    /// queue in order (the lock is fair), so all of them share the rate.
    pub async fn take(&self, n: usize) {
        let mut tat = self.tat.lock().await;
        let now = Instant::now();
        let cost_ns =
            u128::try_from(n).unwrap_or(u128::MAX / 2) * 1_000_000_000 / u128::from(self.rate);
        let cost = Duration::from_nanos(u64::try_from(cost_ns).unwrap_or(u64::MAX));
        *tat = (*tat).max(now) + cost;
        let ahead = tat.saturating_duration_since(now);
        if ahead > BURST {
            // Sleep while holding the lock: later takers wait their turn.
            tokio::time::sleep(ahead.saturating_sub(BURST)).await;
        }
    }
}

/// A decimal number (`12`, `1.5`) times `mult`, exactly.
fn scaled(num: &str, mult: u64) -> Option<u64> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || frac.len() > 9
    {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_val: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let denom = 10u128.pow(u32::try_from(frac.len()).ok()?);
    let total = int * u128::from(mult) + frac_val * u128::from(mult) / denom;
    u64::try_from(total).ok()
}

/// A size or rate as dnf writes it: bytes, or with `k`/`K`, `M`, `G`
/// (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    scaled(num.trim(), mult)
        .ok_or_else(|| format!("{text:?}: expected a size like 500k, 10M or 1G"))
}

/// dnf's `throttle` (an absolute rate, or a percentage of `bandwidth`)
/// as bytes per second; `None` for no cap (unset or 0).
pub fn throttle(throttle: Option<&str>, bandwidth: Option<&str>) -> Result<Option<u64>, String> {
    let Some(t) = throttle.map(str::trim) else {
        return Ok(None);
    };
    let rate = match t.strip_suffix('%') {
        Some(p) => {
            let per_billion = scaled(p.trim(), 10_000_000)
                .filter(|p| *p <= 1_000_000_000)
                .ok_or_else(|| format!("throttle={t}: expected 0% to 100%"))?;
            let bw = bandwidth.ok_or_else(|| {
                format!("throttle={t} is a share of bandwidth: give bandwidth too")
            })?;
            let bw = parse_size(bw).map_err(|e| format!("bandwidth={bw}: {e}"))?;
            u64::try_from(u128::from(bw) * u128::from(per_billion) / 1_000_000_000)
                .unwrap_or(u64::MAX)
        }
        None => parse_size(t).map_err(|e| format!("throttle={t}: {e}"))?,
    };
    Ok((rate > 0).then_some(rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_throttles_as_dnf_reads_them() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("10k").unwrap(), 10 * 1024);
        assert_eq!(parse_size("20M").unwrap(), 20 << 20);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        assert!(parse_size("fast").is_err() && parse_size("-1M").is_err());
        assert_eq!(throttle(Some("20M"), None).unwrap(), Some(20 << 20));
        assert_eq!(throttle(Some("50%"), Some("100M")).unwrap(), Some(50 << 20));
        assert_eq!(throttle(Some("0"), None).unwrap(), None);
        assert_eq!(throttle(None, Some("1G")).unwrap(), None);
        assert!(
            throttle(Some("50%"), None)
                .unwrap_err()
                .contains("give bandwidth")
        );
        assert!(throttle(Some("150%"), Some("1M")).is_err());
    }

    /// 4 takers of 64 KiB chunks share a 2 MiB/s cap: 2 MiB takes about a
    /// second (less the burst of a tenth of a second).
    #[tokio::test(start_paused = true)]
    async fn takers_share_the_rate() {
        let cap = std::sync::Arc::new(RateLimit::new(2 << 20));
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let cap = std::sync::Arc::clone(&cap);
            tasks.push(tokio::spawn(async move {
                for _ in 0..8 {
                    cap.take(64 << 10).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let took = start.elapsed().as_secs_f64();
        assert!((0.85..=1.05).contains(&took), "{took}");
    }

    /// HTTP/2 data frames are a few KiB, far less than a timer's grain at
    /// the rate: the rate still holds (in real time, with real timers).
    #[tokio::test]
    async fn small_chunks_hold_the_rate() {
        let cap = RateLimit::new(2 << 20);
        let start = std::time::Instant::now();
        for _ in 0..512 {
            cap.take(4096).await;
        }
        let took = start.elapsed().as_secs_f64();
        // 2 MiB at 2 MiB/s, less the 0.1 s burst.
        assert!((0.8..=1.2).contains(&took), "{took}");
    }
}
