//! GraphiQL for a browser's `GET /graphql`: the page and its scripts and
//! styles, served from the binary under `/graphql/assets/` (npm's
//! `graphiql` and React builds in `static/graphiql`, with their licences),
//! nothing from elsewhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use psa_http::Problem;

/// The page's policy: its own scripts only; GraphiQL's stylesheet embeds
/// its fonts as `data:` URLs and a dialog inserts one `<style>` element
/// (static/graphiql/README.md says why each source is needed).
const PAGE_CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
                        font-src 'self' data:; img-src 'self' data:; frame-ancestors 'none'";

/// The files of `static/graphiql` the page loads, with their types.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/react-dom.production.min.js"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/init.js"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/graphiql/page.css"),
    ),
];

const PAGE: &str = include_str!("../../static/graphiql/index.html");

/// `GET /graphql/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, ..)| *name == file) else {
        return Problem::not_found().into_response();
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            // The files change only with the binary; a day is short enough.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        *bytes,
    )
        .into_response()
}

pub(super) fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_loads_is_served() {
        for src in PAGE
            .split('"')
            .filter_map(|s| s.strip_prefix("/graphql/assets/"))
        {
            assert!(ASSETS.iter().any(|(name, ..)| *name == src), "{src}");
        }
        assert!(PAGE.contains("/graphql/assets/init.js"));
    }
}
