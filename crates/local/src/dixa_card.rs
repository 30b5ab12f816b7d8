//! The Dixa card, `dixa/card.liquid`, rendered as Dixa renders it, and the local preview.
//!
//! Dixa calls the look-up server-side with the secret header, renders the card's Liquid
//! template with the JSON answer (Liqp, a Java Shopify-Liquid) and shows the HTML in a
//! sandboxed iframe, where the card's script calls the action endpoint from the agent's
//! browser. The preview does the same on the local API port:
//!
//! | route | what |
//! |---|---|
//! | `GET /dixa/card?email=&csid=&agent=&mode=` | a Dixa-like sidebar (340 px) holding the card in `<iframe sandbox="allow-scripts">` (`mode=null`, the default: the card's requests carry `Origin: null`) or `sandbox="allow-scripts allow-same-origin"` (`mode=same-origin`: they carry the API's own origin) |
//! | `GET /dixa/card/frame?email=&csid=&agent=` | the iframe's document: `GET /lookup` through the local API Gateway with the secret header, then the card rendered with the `liquid` crate |
//!
//! The template is read from disk on every request, so an edited card shows on reload.
//! `csid` defaults to `preview-1` and `agent` to `agent@shop.example`.
//!
//! Rendering differs from Dixa's in two documented places only: the `api_url` line's
//! placeholder ([`API_URL_LINE`]) is replaced by the local API's URL (a person pasting the card
//! into Dixa puts the stack's `DixaApiUrl` there), and the response is bound to whatever
//! variable the card's `{% assign card = ... %}` line names ([`response_variable`]): which
//! variable Dixa uses is UNVERIFIED, so that line is the one to change.

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sandboxes::text::html_escape;
use serde_json::Value;
use std::{collections::HashMap, path::PathBuf, sync::Arc};

/// Where the card lives in the repository.
pub const CARD_FILE: &str = "dixa/card.liquid";

/// The card's `api_url` line as committed; the preview puts the local API's URL in it.
pub const API_URL_LINE: &str = r#"{% assign api_url = "https://DixaApiUrl.invalid" %}"#;

/// The card's line binding the look-up response; the name after `=` is Dixa's variable.
const RESPONSE_LINE_START: &str = "{% assign card = ";

/// Why the card cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("the card has no `{RESPONSE_LINE_START}<variable> %}}` line")]
    NoResponseLine,
    #[error("the card's `{RESPONSE_LINE_START}...` line must name one variable")]
    ResponseLineNotOneVariable,
    #[error("the card has no `{API_URL_LINE}` line")]
    NoApiUrlLine,
    #[error("the API URL must be a plain URL")]
    ApiUrlNotPlain,
    #[error("Liquid parser: {0}")]
    Parser(#[source] liquid::Error),
    #[error("{CARD_FILE} does not parse: {0}")]
    Parse(#[source] liquid::Error),
    #[error("look-up response: {0}")]
    Response(#[source] liquid::Error),
    #[error("{CARD_FILE} does not render: {0}")]
    Render(#[source] liquid::Error),
}

/// The Liquid variable the card reads the look-up response from (`data` as committed).
pub fn response_variable(template: &str) -> Result<&str, CardError> {
    let start = template
        .find(RESPONSE_LINE_START)
        .ok_or(CardError::NoResponseLine)?;
    let rest = &template[start + RESPONSE_LINE_START.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() || !rest[end..].trim_start().starts_with("%}") {
        return Err(CardError::ResponseLineNotOneVariable);
    }
    Ok(name)
}

/// Renders the card for one look-up `response`, with `api_url` as the action endpoint's base.
pub fn render(template: &str, response: &Value, api_url: &str) -> Result<String, CardError> {
    if api_url.contains(['"', '\'', '<', '>', ' ']) {
        return Err(CardError::ApiUrlNotPlain);
    }
    let variable = response_variable(template)?;
    if !template.contains(API_URL_LINE) {
        return Err(CardError::NoApiUrlLine);
    }
    let source = template.replacen(
        API_URL_LINE,
        &format!(r#"{{% assign api_url = "{api_url}" %}}"#),
        1,
    );
    let parser = liquid::ParserBuilder::with_stdlib()
        .build()
        .map_err(CardError::Parser)?;
    let parsed = parser.parse(&source).map_err(CardError::Parse)?;
    let mut globals = liquid::Object::new();
    globals.insert(
        variable.to_owned().into(),
        liquid::model::to_value(response).map_err(CardError::Response)?,
    );
    parsed.render(&globals).map_err(CardError::Render)
}

/// What the preview needs: where the look-up is and its secret.
#[derive(Clone)]
pub(crate) struct Preview {
    /// The local API Gateway's base URL (`http://127.0.0.1:PORT`).
    pub api: String,
    pub lookup_header: String,
    pub lookup_secret: String,
    pub card: PathBuf,
    pub http: reqwest::Client,
}

pub(crate) fn routes(preview: Preview) -> Router {
    Router::new()
        .route("/dixa/card", get(page))
        .route("/dixa/card/frame", get(frame))
        .with_state(Arc::new(preview))
}

/// The look-up's query, with the preview's defaults.
struct Target {
    email: String,
    csid: String,
    agent: String,
}

impl Target {
    fn from_query(q: &HashMap<String, String>) -> Option<Self> {
        let email = q.get("email").filter(|e| !e.trim().is_empty())?;
        Some(Self {
            email: email.trim().to_owned(),
            csid: q.get("csid").cloned().unwrap_or_else(|| "preview-1".into()),
            agent: q
                .get("agent")
                .cloned()
                .unwrap_or_else(|| "agent@shop.example".into()),
        })
    }

    fn query(&self) -> String {
        let enc = lambda_support::encode_component;
        format!(
            "email={}&csid={}&agent={}",
            enc(&self.email),
            enc(&self.csid),
            enc(&self.agent)
        )
    }
}

/// An HTML answer that is never cached (the card holds action tokens).
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    html(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font:14px system-ui,sans-serif;margin:16px;max-width:60ch\"><h1 style=\"font-size:16px\">{t}</h1>\
             <pre style=\"white-space:pre-wrap\">{x}</pre></body></html>",
            t = html_escape(title),
            x = html_escape(text)
        ),
    )
}

const PAGE_STYLE: &str = "\
body{margin:0;background:#e9ebee;font:13px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d1d1f}\
.sidebar{width:340px;background:#fff;border-right:1px solid #cfd3d8;min-height:100vh}\
.cardhead{padding:8px 10px;font-weight:600;border-bottom:1px solid #e1e4e8;background:#f6f7f8}\
iframe{display:block;width:340px;height:760px;border:0}\
.about{padding:10px;max-width:60ch}\
@media (min-width:720px){body{display:flex}.about{padding:16px 24px}}";

/// The Dixa-like sidebar with the card in a sandboxed iframe.
async fn page(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(target) = Target::from_query(&q) else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Dixa card preview: which customer?",
            "Add ?email=<address>, e.g. /dixa/card?email=jane.doe%40example.com \
             (the Auth0 sandbox's seeded users are in crates/sandboxes/seed/auth0.json).",
        );
    };
    let same_origin = match q.get("mode").map(String::as_str) {
        None | Some("null") => false,
        Some("same-origin") => true,
        Some(_) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Dixa card preview: unknown mode",
                "mode is `null` (the default: sandboxed iframe, the card's requests carry \
                 Origin: null) or `same-origin` (they carry the API's own origin).",
            );
        }
    };
    let (sandbox, other_mode, explained) = if same_origin {
        (
            "allow-scripts allow-same-origin",
            "null",
            "sandbox=\"allow-scripts allow-same-origin\": the card's requests carry this API's own \
             origin, which the local system lists in DIXA_ALLOWED_ORIGINS.",
        )
    } else {
        (
            "allow-scripts",
            "same-origin",
            "sandbox=\"allow-scripts\" (no allow-same-origin): the card's requests carry \
             Origin: null, admitted because the local system sets DIXA_ALLOW_NULL_ORIGIN=true.",
        )
    };
    let query = target.query();
    let frame = html_escape(&format!("/dixa/card/frame?{query}"));
    let switch = html_escape(&format!("/dixa/card?{query}&mode={other_mode}"));
    html(
        StatusCode::OK,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Dixa card preview</title><style>{PAGE_STYLE}</style></head><body>\
             <div class=\"sidebar\"><div class=\"cardhead\">Auth0 account</div>\
             <iframe title=\"Auth0 account card\" sandbox=\"{sandbox}\" src=\"{frame}\"></iframe></div>\
             <div class=\"about\"><p><strong>Local preview of {CARD_FILE}</strong> for {email}: \
             looked up server-side with the secret header, rendered with Liquid, shown as Dixa shows \
             a card. The buttons call the local Dixa API and change the Auth0 sandbox \
             (GET /_local/state on its port).</p><p>{explained}</p>\
             <p><a href=\"{switch}\">Preview with mode={other_mode}</a></p></div></body></html>",
            email = html_escape(&target.email),
        ),
    )
}

/// The iframe's document: the look-up Dixa would make, then the rendered card.
async fn frame(
    State(preview): State<Arc<Preview>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(target) = Target::from_query(&q) else {
        return message_page(StatusCode::BAD_REQUEST, "No email", "Add ?email=<address>.");
    };
    let url = format!("{}/lookup?{}", preview.api, target.query());
    let answer = preview
        .http
        .get(url)
        .header(&preview.lookup_header, &preview.lookup_secret)
        .send()
        .await;
    let (status, body) = match answer {
        Ok(r) => (r.status(), r.text().await.unwrap_or_default()),
        Err(e) => {
            return message_page(
                StatusCode::BAD_GATEWAY,
                "The look-up did not answer",
                &format!("GET /lookup failed: {e}"),
            );
        }
    };
    if !status.is_success() {
        return message_page(
            StatusCode::BAD_GATEWAY,
            "Dixa would show an error: the look-up failed",
            &format!("GET /lookup answered {status}: {body}"),
        );
    }
    let response: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            return message_page(
                StatusCode::BAD_GATEWAY,
                "The look-up did not answer JSON",
                &e.to_string(),
            );
        }
    };
    // Read on every request (an edited card shows on reload), off the async workers.
    let template = match tokio::fs::read_to_string(&preview.card).await {
        Ok(t) => t,
        Err(e) => {
            return message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The card template could not be read",
                &format!("{}: {e}", preview.card.display()),
            );
        }
    };
    match render(&template, &response, &preview.api) {
        Ok(card) => html(
            StatusCode::OK,
            format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>Auth0 account card</title></head><body style=\"margin:8px\">{card}</body></html>"
            ),
        ),
        Err(e) => message_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The card template failed",
            &e.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_variable_is_read_from_the_card() {
        assert_eq!(
            response_variable("x {% assign card = data %} y").unwrap(),
            "data"
        );
        assert_eq!(
            response_variable("{% assign card = response_json   %}").unwrap(),
            "response_json"
        );
        for bad in [
            "",
            "{% assign card = %}",
            "{% assign card = data.x %}",
            "{% assign cards = data %}",
        ] {
            assert!(response_variable(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn render_needs_the_api_url_line_and_a_plain_url() {
        let card = format!("{API_URL_LINE}{{% assign card = data %}}{{{{ api_url }}}}");
        let v = serde_json::json!({"found": false});
        assert_eq!(
            render(&card, &v, "http://127.0.0.1:8751").unwrap(),
            "http://127.0.0.1:8751"
        );
        assert!(render(&card, &v, "http://x\"><script>").is_err());
        assert!(render("{% assign card = data %}", &v, "http://x").is_err());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }
}
