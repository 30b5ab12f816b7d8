//! `cargo xtask run [events/auth0/<sample>.json ...]`: the main job on this machine, loopback only.
//!
//! moto server plays AWS (the Email bus, its SendEmail rule, an SQS queue standing in for the
//! rule's Lambda target); a stand-in Bloomreach API records every email into `.local/outbox/`.
//! Each Auth0 sample goes through email-transform's handler, the events the rule delivered go
//! through send-email's handler, and every hop is printed.

use crate::test::{Moto, install_python_tools, workspace_root};
use auth0_events::send_email as contract;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use lambda_runtime::{Context, LambdaEvent};
use lambda_support::{Env, retry::Deadline};
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};
use test_support::aws::BusWithQueue;

const PROJECT_TOKEN: &str = "local-project";
const KEY_ID: &str = "local-key-id";
const KEY_SECRET: &str = "local-key-secret";

pub fn run(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let samples: Vec<PathBuf> = if args.is_empty() {
        vec![root.join("events/auth0/sce.json")]
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    install_python_tools(&root)?;
    let moto = Moto::start()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(run_samples(&root, &moto.endpoint, &samples))
}

#[derive(Clone)]
struct Outbox {
    dir: PathBuf,
    count: Arc<AtomicU32>,
}

/// The stand-in for `POST /email/v2/projects/{token}/sync`: checks the Basic credentials,
/// writes the request into the outbox, answers as Bloomreach does on success.
async fn bloomreach_sync(
    State(outbox): State<Outbox>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let expected = format!("Basic {}", base64_basic(KEY_ID, KEY_SECRET));
    let auth_ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&expected);
    if token != PROJECT_TOKEN || !auth_ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errors": ["unauthorized"], "success": false})),
        );
    }
    let n = outbox.count.fetch_add(1, Ordering::Relaxed) + 1;
    let template = body["email_content"]["template_id"]
        .as_str()
        .unwrap_or("unknown");
    let file = outbox.dir.join(format!("{n:03}-{template}.json"));
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    if let Err(e) = tokio::fs::write(&file, text).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"errors": [e.to_string()]})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"message": "Email was sent successfully.", "success": true})),
    )
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

async fn run_samples(
    root: &std::path::Path,
    moto: &str,
    samples: &[PathBuf],
) -> Result<(), String> {
    let outbox_dir = root.join(".local/outbox");
    // One run, one outbox: what is there afterwards is what this run sent.
    let _ = tokio::fs::remove_dir_all(&outbox_dir).await;
    tokio::fs::create_dir_all(&outbox_dir)
        .await
        .map_err(|e| format!("create outbox: {e}"))?;
    let outbox = Outbox {
        dir: outbox_dir.clone(),
        count: Arc::new(AtomicU32::new(0)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind bloomreach stand-in: {e}"))?;
    let bloomreach = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let app = Router::new()
        .route("/email/v2/projects/{token}/sync", post(bloomreach_sync))
        .with_state(outbox);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sdk = test_support::aws::sdk_config(moto).await;
    let pattern = json!({"source": [contract::SOURCE], "detail-type": [contract::DETAIL_TYPE]});
    let bus = BusWithQueue::create(&sdk, "email", &pattern).await;
    println!("local AWS (moto) at {moto}: bus `email`, rule SendEmail → send-email");
    println!(
        "local Bloomreach at {bloomreach}, outbox {}",
        outbox_dir.display()
    );

    let transform_config =
        email_transform::Config::from_env(&Env::from_pairs([("EMAIL_BUS_NAME", "email")]))
            .map_err(|e| e.to_string())?;
    let transform = email_transform::Handler::new(
        transform_config,
        aws_sdk_eventbridge::Client::new(&sdk),
        None,
    );
    let mut send_env = vec![
        ("BLOOMREACH_API_BASE".to_owned(), bloomreach.clone()),
        (
            "BLOOMREACH_PROJECT_TOKEN".to_owned(),
            PROJECT_TOKEN.to_owned(),
        ),
        ("BLOOMREACH_API_KEY_ID".to_owned(), KEY_ID.to_owned()),
        ("BLOOMREACH_API_SECRET".to_owned(), KEY_SECRET.to_owned()),
        (
            "RESET_PASSWORD_URL".to_owned(),
            "https://shop.example/account/reset".to_owned(),
        ),
        (
            "SUPPORT_URL".to_owned(),
            "https://shop.example/help".to_owned(),
        ),
    ];
    for kind in auth0_events::EmailKind::ALL {
        send_env.push((
            send_email::config::template_var(kind),
            format!("tpl-{}", kind.as_str()),
        ));
    }
    let send_config = send_email::Config::from_env(&Env::from_pairs(send_env), async || {
        unreachable!("local run uses env credentials")
    })
    .await
    .map_err(|e| e.to_string())?;
    let sender = send_email::Handler::new(send_config).map_err(|e| e.to_string())?;

    for path in samples {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let event: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("\n▶ {}", path.display());
        let out = match transform
            .process(event, &Deadline::after(Duration::from_secs(10)))
            .await
        {
            Ok(out) => out,
            Err(e) => {
                println!("  email-transform: error {e} (Lambda would retry, then dead-letter)");
                continue;
            }
        };
        println!("  email-transform: {out}");
        let published = out["published"].as_array().map_or(0, Vec::len);
        for message in bus.receive(published, Duration::from_secs(5)).await {
            let kind = message["detail"]["kind"].as_str().unwrap_or("?").to_owned();
            println!("  rule SendEmail matched ({kind}) → send-email");
            let mut ctx = Context::default();
            ctx.deadline = now_ms() + 10_000;
            match sender.handle(LambdaEvent::new(message, ctx)).await {
                Ok(v) => println!("  send-email: {v}"),
                Err(e) => println!("  send-email: error {} ({e})", e.error_type()),
            }
        }
    }
    println!("\nemails written to {}:", outbox_dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(&outbox_dir)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for e in entries {
        println!("  {}", e.display());
    }
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
