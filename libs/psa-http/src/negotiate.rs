//! Content negotiation (RFC 9110 §12.5.1) for resources with more than one
//! representation, and file downloads.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::Problem;

/// Which of `offered` (media types, the default first) the request's
/// `Accept` prefers: the highest quality, ties broken by the order of
/// `offered`; the default when there is no `Accept`; 406 `not_acceptable`
/// when it accepts none of them.
pub fn preferred<'a>(headers: &HeaderMap, offered: &[&'a str]) -> Result<&'a str, Problem> {
    let ranges: Vec<(String, f32)> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(range)
        .collect();
    if ranges.is_empty() {
        return Ok(offered[0]);
    }
    let mut best: Option<(&str, f32)> = None;
    for &media in offered {
        let q = quality(&ranges, media);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((media, q));
        }
    }
    best.map(|(m, _)| m).ok_or_else(|| {
        Problem::new(StatusCode::NOT_ACCEPTABLE)
            .with_detail(format!("this resource is served as {}", offered.join(", ")))
            .with_extension("available", offered.to_vec())
    })
}

/// `type/subtype;q=…` as (lower-case range, quality); None when malformed.
fn range(part: &str) -> Option<(String, f32)> {
    let mut params = part.split(';');
    let media = params.next()?.trim().to_ascii_lowercase();
    if media.is_empty() || !media.contains('/') {
        return None;
    }
    let mut q = 1.0;
    for p in params {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("q")
        {
            q = v
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q))?;
        }
    }
    Some((media, q))
}

/// The quality of `media` under the most specific matching range.
fn quality(ranges: &[(String, f32)], media: &str) -> f32 {
    let kind = media.split('/').next().unwrap_or_default();
    let mut best: Option<(u8, f32)> = None;
    for (r, q) in ranges {
        let specificity = if r == media {
            2
        } else if r.strip_suffix("/*") == Some(kind) {
            1
        } else if r == "*/*" {
            0
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, *q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// A stored file as a download: its media type, `Content-Disposition`
/// with its name, and its SHA-256 as a strong entity tag (the bytes never
/// change); 304 when `If-None-Match` names that tag.
pub fn file(
    headers: &HeaderMap,
    media_type: &str,
    file_name: &str,
    sha256: &str,
    bytes: Vec<u8>,
) -> Response {
    let etag = format!("\"{sha256}\"");
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    let mut res = if unchanged {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(bytes))
    };
    if unchanged {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let h = res.headers_mut();
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file_name.replace(['"', '\\'], "_")
    );
    for (name, value) in [
        (header::CONTENT_TYPE, media_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::ETAG, etag),
        (
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable".to_owned(),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h.insert(
        header::VARY,
        HeaderValue::from_static("accept, authorization"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    const OFFERED: &[&str] = &["application/json", "application/xml", "application/pdf"];

    #[test]
    fn the_default_without_accept_and_for_anything() {
        assert_eq!(
            preferred(&HeaderMap::new(), OFFERED).unwrap(),
            "application/json"
        );
        assert_eq!(
            preferred(&accept("*/*"), OFFERED).unwrap(),
            "application/json"
        );
    }

    #[test]
    fn the_named_type_and_the_higher_quality_win() {
        assert_eq!(
            preferred(&accept("application/pdf"), OFFERED).unwrap(),
            "application/pdf"
        );
        assert_eq!(
            preferred(&accept("application/json;q=0.5, application/xml"), OFFERED).unwrap(),
            "application/xml"
        );
        assert_eq!(
            preferred(
                &accept("application/*;q=0.2, application/pdf;q=0.9"),
                OFFERED
            )
            .unwrap(),
            "application/pdf"
        );
        // A specific range beats a wildcard for the same type, even lower.
        assert_eq!(
            preferred(&accept("*/*, application/json;q=0"), OFFERED).unwrap(),
            "application/xml"
        );
    }

    #[test]
    fn nothing_acceptable_is_406() {
        let p = preferred(&accept("text/html"), OFFERED).unwrap_err();
        assert_eq!(p.status, StatusCode::NOT_ACCEPTABLE);
        // A malformed range is left out, as if it were not there.
        assert_eq!(
            preferred(&accept("application/pdf;q=2, application/xml"), OFFERED).unwrap(),
            "application/xml"
        );
    }
}
