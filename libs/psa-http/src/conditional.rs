//! Versions as entity tags: `ETag: "<version>"` on every resource response,
//! `If-Match` on PATCH/DELETE answered with 412 when stale.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::formats;
use crate::problem::Problem;

pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    Versions(Vec<i64>),
}

impl IfMatch {
    /// `None` when the header is absent (last write wins).
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, Problem> {
        let Some(raw) = headers.get(header::IF_MATCH) else {
            return Ok(None);
        };
        let raw = raw
            .to_str()
            .ok()
            .filter(|v| formats::IF_MATCH.matches(v))
            .ok_or_else(|| Problem::bad_request("If-Match must be * or entity tags such as \"3\""))?
            .trim();
        if raw == "*" {
            return Ok(Some(IfMatch::Any));
        }
        // The pattern holds: quoted tags (no quote inside, a comma may be),
        // each `W/`-prefixed or not, separated by commas.
        let mut versions = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find('"') {
            let weak = rest[..open].trim_end().ends_with("W/");
            let after = &rest[open + 1..];
            let close = after.find('"').unwrap_or(after.len());
            // Weak tags never match under the strong comparison If-Match
            // uses, nor does a tag we never issued.
            if !weak && let Ok(v) = after[..close].parse::<i64>() {
                versions.push(v);
            }
            rest = after.get(close + 1..).unwrap_or("");
        }
        Ok(Some(IfMatch::Versions(versions)))
    }

    pub fn check(&self, current_version: i64) -> Result<(), Problem> {
        match self {
            IfMatch::Any => Ok(()),
            IfMatch::Versions(v) if v.contains(&current_version) => Ok(()),
            IfMatch::Versions(_) => Err(Problem::precondition_failed(current_version)),
        }
    }
}

/// Checks an optional precondition against the version read in the write's transaction.
pub fn check_if_match(precondition: Option<&IfMatch>, current_version: i64) -> Result<(), Problem> {
    precondition.map_or(Ok(()), |p| p.check(current_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> IfMatch {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        IfMatch::from_headers(&h).unwrap().unwrap()
    }

    #[test]
    fn matching_and_stale() {
        assert!(parse("\"3\"").check(3).is_ok());
        assert_eq!(parse("\"2\"").check(3).unwrap_err().status.as_u16(), 412);
        assert!(parse("\"1\", \"3\"").check(3).is_ok());
        assert!(parse("*").check(9).is_ok());
        assert!(parse("W/\"3\"").check(3).is_err());
        assert!(
            parse("W/\"a,b\" ,\t\"3\"").check(3).is_ok(),
            "a comma inside a tag"
        );
        assert!(parse("\"abc\"").check(3).is_err());
    }

    #[test]
    fn unquoted_is_bad_request() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_static("3"));
        assert_eq!(IfMatch::from_headers(&h).unwrap_err().status.as_u16(), 400);
    }
}
