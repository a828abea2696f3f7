//! Flink's flat `config.yaml`/`flink-conf.yaml` syntax: one `key: value` per line, `#`
//! comments, blank lines, quoted values; nested YAML blocks are refused (see the
//! [module docs of `configuration`](crate::config::configuration) for the rules).

use crate::config::error::{ConfigError, SyntaxErrorKind};

/// The setting lines of `text`, in order, as (line number from 1, the key and value or why the
/// line is not a flat `key: value` line). Blank and comment lines are skipped.
pub(crate) fn settings(
    text: &str,
) -> impl Iterator<Item = (usize, Result<(&str, &str), ConfigError>)> {
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len()).filter_map(move |index| {
        let nested = lines[index + 1..]
            .iter()
            .find(|next| !is_blank_or_comment(next))
            .is_some_and(|next| next.starts_with([' ', '\t']));
        match parse_line(lines[index], nested) {
            Ok(None) => None,
            Ok(Some(pair)) => Some((index + 1, Ok(pair))),
            Err(error) => Some((index + 1, Err(error))),
        }
    })
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// Splits a flat YAML line into key and value; `None` for a blank or comment line. `nested`
/// says whether the next content line is indented.
fn parse_line(line: &str, nested: bool) -> Result<Option<(&str, &str)>, ConfigError> {
    let syntax = |kind| ConfigError::Syntax {
        text: line.into(),
        kind,
    };
    let line_text = line.trim_start_matches('\u{feff}');
    if is_blank_or_comment(line_text) {
        return Ok(None);
    }
    if line_text.starts_with([' ', '\t']) {
        return Err(syntax(SyntaxErrorKind::NestedBlock));
    }
    let separator = line_text
        .char_indices()
        .find(|&(i, c)| {
            c == ':'
                && line_text[i + 1..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, _)| i)
        .ok_or_else(|| syntax(SyntaxErrorKind::MissingSeparator))?;
    let key = line_text[..separator].trim();
    if key.is_empty() {
        return Err(syntax(SyntaxErrorKind::EmptyKey));
    }
    let rest = line_text[separator + 1..].trim();
    let value = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &rest[1..];
            let end = inner
                .find(quote)
                .ok_or_else(|| syntax(SyntaxErrorKind::BadQuote))?;
            if !is_blank_or_comment(&inner[end + 1..]) {
                return Err(syntax(SyntaxErrorKind::BadQuote));
            }
            &inner[..end]
        }
        _ => {
            let comment = rest.find(" #").or_else(|| rest.find("\t#"));
            let value = comment.map_or(rest, |at| &rest[..at]).trim();
            if value.is_empty() || value.starts_with('#') {
                let kind = if nested {
                    SyntaxErrorKind::NestedBlock
                } else {
                    SyntaxErrorKind::MissingValue
                };
                return Err(syntax(kind));
            }
            value
        }
    };
    Ok(Some((key, value)))
}
