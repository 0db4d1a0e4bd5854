//! The server-rendered sign-in form; the authorization request rides along
//! in hidden fields.

use crate::domain::oauth::AuthorizeRequest;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page, with the company ID filled in and, after a failed attempt,
/// the message (`.1`: the second factor is asked for).
pub fn render(req: &AuthorizeRequest, tenant: &str, message: Option<(&str, bool)>) -> String {
    let hidden: String = [
        ("response_type", Some(req.response_type.as_str())),
        ("client_id", Some(req.client_id.as_str())),
        ("redirect_uri", Some(req.redirect_uri.as_str())),
        ("code_challenge", Some(req.code_challenge.as_str())),
        (
            "code_challenge_method",
            Some(req.code_challenge_method.as_str()),
        ),
        ("state", req.state.as_deref()),
        ("scope", req.scope.as_deref()),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    })
    .collect();
    let (notice, otp) = message.map_or((String::new(), false), |(m, otp)| {
        (format!("<p class=\"notice\">{}</p>", esc(m)), otp)
    });
    let otp_field = if otp {
        "<label>Authenticator or recovery code <input name=\"otp\" autocomplete=\"one-time-code\" autofocus></label>"
    } else {
        "<label>Authenticator code (if enabled) <input name=\"otp\" autocomplete=\"one-time-code\"></label>"
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · PSA</title>\
<meta name=\"viewport\" content=\"width=device-width\"><style>body{{font:16px system-ui;max-width:22rem;margin:4rem auto}}\
label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.4rem}}.notice{{color:#a00}}</style></head>\
<body><h1>Sign in</h1>{notice}<form method=\"post\" action=\"/oauth/authorize\">{hidden}\
<label>Company ID <input name=\"tenant\" value=\"{}\" required></label>\
<label>E-mail <input name=\"email\" type=\"email\" autocomplete=\"username\" required></label>\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
{otp_field}<button type=\"submit\">Sign in</button></form></body></html>",
        esc(tenant)
    )
}
