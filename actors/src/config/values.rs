//! Parsers for configuration values as Flink writes them: booleans, integers, floats, enum
//! names (case-insensitive), local directories, and durations in unit form (`10 s`, `500 ms`) or
//! ISO-8601 (`PT10S`). Each parser returns the reason a value is refused; the
//! [module docs of `configuration`](crate::config::configuration) describe the syntax.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::kinds::FlinkEnum;

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;

pub(crate) fn count(value: &str) -> Result<u32, String> {
    parse_int(value, 0)
}

pub(crate) fn positive(value: &str) -> Result<u32, String> {
    parse_int(value, 1)
}

pub(crate) fn text(_: &str) -> Result<(), String> {
    Ok(())
}

pub(crate) fn parse_enum<T: FlinkEnum>(value: &str) -> Result<T, String> {
    let value = value.trim();
    match T::NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value))
    {
        Some((_, found)) => Ok(*found),
        None => {
            let names: Vec<_> = T::NAMES.iter().map(|(name, _)| *name).collect();
            Err(format!(
                "expected one of {} (case-insensitive)",
                names.join(", ")
            ))
        }
    }
}

pub(crate) fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("expected `true` or `false`".into()),
    }
}

/// An integer from `min` to `i32::MAX` (Flink's options are Java `int`s).
fn parse_int(value: &str, min: i64) -> Result<u32, String> {
    let range = || format!("expected an integer from {min} to {}", i32::MAX);
    let number: i64 = value.trim().parse().map_err(|_| range())?;
    if number < min || number > i64::from(i32::MAX) {
        return Err(range());
    }
    u32::try_from(number).map_err(|_| range())
}

pub(crate) fn parse_float(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err("expected a finite number".into()),
    }
}

/// `-1` (derive it) or 1 to 32768, Flink's `UPPER_BOUND_MAX_PARALLELISM`.
pub(crate) fn parse_max_parallelism(value: &str) -> Result<Option<u32>, String> {
    let reason = || "expected -1 or an integer from 1 to 32768".to_string();
    match value.trim().parse::<i64>().map_err(|_| reason())? {
        -1 => Ok(None),
        n @ 1..=32768 => u32::try_from(n).map(Some).map_err(|_| reason()),
        _ => Err(reason()),
    }
}

/// A local directory: a path, or a `file://` URI. Other schemes are refused.
pub(crate) fn parse_dir(value: &str) -> Result<PathBuf, String> {
    let value = value.trim();
    let path = match value.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => rest,
        None if value.starts_with("file:") => &value["file:".len()..],
        Some((scheme, _)) => {
            return Err(format!(
                "weir stores snapshots on the local file system; `{scheme}://` is not supported"
            ))
        }
        None => value,
    };
    if path.is_empty() {
        return Err("expected a directory".into());
    }
    Ok(PathBuf::from(path))
}

/// A duration as Flink writes it (see the module docs).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.trim_start_matches(['+', '-']).starts_with(['P', 'p']) {
        return parse_iso_duration(text);
    }
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return Err(
            "expected a whole number and a unit (`10 s`, `500 ms`) or ISO-8601 (`PT10S`)".into(),
        );
    }
    let amount: i128 = text[..digits].parse().map_err(|_| "number too large")?;
    if let Some(hint) = decimal_hint(text, digits) {
        return Err(hint);
    }
    let unit = text[digits..].trim().to_lowercase();
    let nanos_per_unit: i128 = match unit.as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "s" | "sec" | "secs" | "second" | "seconds" => NANOS_PER_SECOND,
        "min" | "m" | "minute" | "minutes" => 60 * NANOS_PER_SECOND,
        "h" | "hour" | "hours" => 3_600 * NANOS_PER_SECOND,
        "d" | "day" | "days" => 86_400 * NANOS_PER_SECOND,
        other => {
            return Err(format!(
                "unknown time unit `{other}`; expected d, h, min, s, ms, µs or ns \
                 (or day, hour, minute, second, milli, micro, nano, optionally plural)"
            ))
        }
    };
    let nanos = amount
        .checked_mul(nanos_per_unit)
        .ok_or("duration too large")?;
    duration_from_nanos(nanos)
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// For a decimal such as `1.5 s` (refused, as Flink's `TimeUtils` refuses it: the unit form takes
/// whole numbers), the reason, naming the same duration in whole milliseconds and in ISO-8601
/// when it has such forms. `None` when the text after the whole part is not a fraction.
fn decimal_hint(text: &str, digits: usize) -> Option<String> {
    let fraction = text[digits..].strip_prefix(['.', ','])?;
    let len = fraction
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(fraction.len());
    let mut reason = format!(
        "`{text}`: a duration's number must be a whole number, as in Flink \
         (write a smaller unit, or ISO-8601 such as `PT1.5S`)"
    );
    let unit = fraction[len..].trim().to_lowercase();
    let whole = format!("{}{}", &text[..digits], &fraction[..len]);
    let seconds = ["s", "sec", "secs", "second", "seconds"].contains(&unit.as_str());
    if seconds && len <= 3 && len > 0 {
        if let Ok(ms) = format!("{whole:0<width$}", width = digits + 3).parse::<u128>() {
            let iso = format!("PT{}.{}S", &text[..digits], &fraction[..len]);
            reason = format!(
                "`{text}`: a duration's number must be a whole number, as in Flink; \
                 write `{ms} ms` or `{iso}`"
            );
        }
    }
    Some(reason)
}

fn duration_from_nanos(nanos: i128) -> Result<Duration, String> {
    if nanos < 0 {
        return Err("negative durations are not allowed".into());
    }
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).map_err(|_| "duration too large")?;
    let subsec = u32::try_from(nanos % NANOS_PER_SECOND).map_err(|_| "duration too large")?;
    Ok(Duration::new(seconds, subsec))
}

/// An ISO-8601 duration as Java's `Duration.parse` reads it: `[±]P[±nD][T[±nH][±nM][±n[.f]S]]`,
/// case-insensitive, at least one part. A negative total is refused.
fn parse_iso_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("not an ISO-8601 duration (`PT10M`, `PT1.5S`, `P1DT2H`): `{text}`");
    let upper = text.to_ascii_uppercase();
    let (negative, rest) = split_sign(&upper);
    let mut rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (mut total, mut rank, mut in_time, mut parts) = (0i128, 0, false, 0);
    while !rest.is_empty() {
        if let Some(after_t) = rest.strip_prefix('T').filter(|_| !in_time) {
            (in_time, rest) = (true, after_t);
            if rest.is_empty() {
                return Err(bad());
            }
            continue;
        }
        let (part_negative, after_sign) = split_sign(rest);
        let digits = after_sign
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_sign.len());
        let whole: i128 = after_sign[..digits].parse().map_err(|_| bad())?;
        let mut after = &after_sign[digits..];
        let mut fraction = 0i128;
        if let Some(frac) = after.strip_prefix(['.', ',']) {
            let len = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            if len > 9 || !frac[len..].starts_with('S') {
                return Err(bad());
            }
            let padded = format!("{:0<9}", &frac[..len]);
            fraction = padded.parse().map_err(|_| bad())?;
            after = &frac[len..];
        }
        let (unit_rank, unit_nanos) = match (after.chars().next(), in_time) {
            (Some('D'), false) => (1, 86_400 * NANOS_PER_SECOND),
            (Some('H'), true) => (2, 3_600 * NANOS_PER_SECOND),
            (Some('M'), true) => (3, 60 * NANOS_PER_SECOND),
            (Some('S'), true) => (4, NANOS_PER_SECOND),
            _ => return Err(bad()),
        };
        if unit_rank <= rank || whole > i128::from(u64::MAX) {
            return Err(bad());
        }
        let part = whole * unit_nanos + fraction;
        total += if part_negative { -part } else { part };
        (rank, parts, rest) = (unit_rank, parts + 1, &after[1..]);
    }
    if parts == 0 {
        return Err(bad());
    }
    duration_from_nanos(if negative { -total } else { total })
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    }
}
