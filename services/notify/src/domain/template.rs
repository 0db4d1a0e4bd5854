//! Rendering a rule's message with MiniJinja: the tenant's templates, or
//! the built-in ones. Templates get `event` (`id`, `type`, `time`,
//! `subject`), `data` (the event's data) and, in the bodies, `subject`.
//! HTML is escaped automatically; rendering is bounded (fuel), and a
//! template that fails falls back to the built-in one.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Value, json};

/// Instructions one rendering may run (a loop without end stops here).
const FUEL: u64 = 200_000;
/// The longest subject sent.
pub const SUBJECT_MAX: usize = 200;

pub const SUBJECT: &str =
    "[{{ event.type }}] {{ data.title or data.name or data.number or event.subject }}";
pub const TEXT: &str = "{{ subject }}\n\n{{ event.type }} at {{ event.time }}\n\
{% for key, value in data|items %}{% if value is string or value is number %}\n{{ key }}: {{ value }}{% endif %}{% endfor %}\n";
pub const HTML: &str = "<!DOCTYPE html><html><body><h2>{{ subject }}</h2>\
<p>{{ event.type }} at {{ event.time }}</p><table>\
{% for key, value in data|items %}{% if value is string or value is number %}\
<tr><th align=\"left\">{{ key }}</th><td>{{ value }}</td></tr>{% endif %}{% endfor %}\
</table></body></html>";

/// A message as rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|name| {
        if name == "html" {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// Whether `source` is a template (its syntax; nothing is rendered).
pub fn check(source: &str) -> Result<(), String> {
    environment()
        .template_from_str(source)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn render_one(
    env: &mut Environment<'static>,
    name: &'static str,
    own: Option<&str>,
    builtin: &str,
    ctx: &Value,
) -> String {
    let ctx = minijinja::Value::from(minijinja::value::Serde(ctx));
    if let Some(source) = own {
        let rendered = env
            .add_template_owned(name, source.to_owned())
            .and_then(|()| env.get_template(name)?.render(&ctx));
        match rendered {
            Ok(s) => return s,
            Err(e) => {
                tracing::warn!(template = name, error = %e, "a tenant's template failed; the built-in one is used")
            }
        }
    }
    env.add_template_owned(name, builtin.to_owned())
        .and_then(|()| env.get_template(name)?.render(&ctx))
        .unwrap_or_else(|e| format!("(the {name} could not be rendered: {e})"))
}

/// The message for an event: `event` is `{id, type, time, subject}`.
pub fn render(
    subject: Option<&str>,
    text: Option<&str>,
    html: Option<&str>,
    event: Value,
    data: &Value,
) -> Rendered {
    let mut env = environment();
    let ctx = json!({"event": event, "data": data});
    let mut subject = render_one(&mut env, "subject", subject, SUBJECT, &ctx);
    subject = subject
        .split(['\r', '\n'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if subject.chars().count() > SUBJECT_MAX {
        subject = subject.chars().take(SUBJECT_MAX - 1).chain(['…']).collect();
    }
    let ctx = json!({"event": ctx["event"], "data": data, "subject": subject});
    let text = render_one(&mut env, "text", text, TEXT, &ctx);
    let html = render_one(&mut env, "html", html, HTML, &ctx);
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({"id": "e1", "type": "ticket.created", "time": "2026-12-01T10:00:00Z", "subject": "t1"})
    }

    #[test]
    fn built_in_templates_name_the_event_and_escape_html() {
        let r = render(
            None,
            None,
            None,
            event(),
            &json!({"title": "Printer <b>down</b>", "priority": "high", "n": 7, "nested": {"x": 1}}),
        );
        assert_eq!(r.subject, "[ticket.created] Printer <b>down</b>");
        assert!(r.text.contains("priority: high"));
        assert!(r.text.contains("n: 7"));
        assert!(!r.text.contains("nested"));
        assert!(
            r.html.contains("Printer &lt;b&gt;down&lt;&#x2f;b&gt;"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>"));
    }

    #[test]
    fn a_tenant_s_templates_are_used_and_a_broken_one_falls_back() {
        let r = render(
            Some("Ticket {{ data.title }}"),
            Some("Hello {{ data.title }}\n{{ subject }}"),
            None,
            event(),
            &json!({"title": "VPN"}),
        );
        assert_eq!(r.subject, "Ticket VPN");
        assert_eq!(r.text, "Hello VPN\nTicket VPN");
        let r = render(
            Some("{{ data.title | nosuchfilter }}"),
            None,
            None,
            event(),
            &json!({"title": "VPN"}),
        );
        assert_eq!(r.subject, "[ticket.created] VPN");
        assert!(check("{% for %}").is_err());
        assert!(check("{{ data.title }}").is_ok());
    }

    #[test]
    fn endless_templates_run_out_of_fuel() {
        let r = render(
            Some(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            ),
            None,
            None,
            event(),
            &json!({"name": "A"}),
        );
        assert_eq!(r.subject, "[ticket.created] A");
    }

    #[test]
    fn subjects_are_one_line_and_bounded() {
        let r = render(Some("a\nb"), None, None, event(), &json!({}));
        assert_eq!(r.subject, "a");
        let r = render(Some("{{ 'x' * 500 }}"), None, None, event(), &json!({}));
        assert_eq!(r.subject.chars().count(), SUBJECT_MAX);
    }
}
