//! `cargo xtask run` (`local up`) starts the whole system on loopback;
//! `cargo xtask send <file>...` (`local send`) sends events into it and prints every hop.

use local::{LocalSystem, Options, Ports, send, workspace_root};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

const DEFAULT_PORT_BASE: u16 = 8750;

const USAGE: &str = "\
usage:
  cargo xtask run [--template FILE] [--outbox DIR] [--port-base N] [--logs] [--auth0-sce on|off]
      Starts everything on 127.0.0.1 (ports N..N+4, default 8750; 0 = any free ports)
      and runs until Ctrl-C or SIGTERM. Function logs go to .local/functions.log (--logs: to
      the terminal). One system per clone: the clone is the folder you run it in (or
      LOCAL_WORKSPACE). --auth0-sce off (or LOCAL_AUTH0_LOGS_SCE=false): the Auth0 sandbox
      logs no `sce` for a Management API email change (default on).
  cargo xtask send [--bus NAME] FILE...
      Puts each sample (an event as in events/, or a PutEvents entry) on the running system
      with the real AWS SDK client and prints every hop it takes.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("up") => up(&args[1..]),
        Some("send") => send_cmd(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local: {e}");
            ExitCode::FAILURE
        }
    }
}

fn state_path(root: &Path) -> PathBuf {
    root.join(".local/state.json")
}

/// The system a state file describes, if it is still running: its process exists and its
/// EventBridge endpoint accepts connections (a state file left by a killed run is neither).
fn live_instance(state_file: &Path) -> Option<Value> {
    let state = send::read_json(state_file).ok()?;
    let pid = state["pid"].as_u64()?;
    // Only Linux has /proc; elsewhere the port alone decides.
    let pid_alive = !cfg!(target_os = "linux") || Path::new(&format!("/proc/{pid}")).exists();
    let addr = state["endpoints"]["eventbridge"]
        .as_str()?
        .strip_prefix("http://")?
        .parse()
        .ok()?;
    let answers = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok();
    (pid_alive && answers).then_some(state)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn value_of<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

/// Function logs: JSON lines as Lambda writes them, to a file or the terminal.
fn init_logs(to_terminal: bool, file: &std::path::Path) -> Result<(), String> {
    if to_terminal {
        lambda_support::init_tracing();
        return Ok(());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let log = std::fs::File::create(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{level},hyper=info,hyper_util=info,reqwest=info,aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_config=warn"
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(std::sync::Mutex::new(log))
        .try_init();
    Ok(())
}

fn up(args: &[String]) -> Result<(), String> {
    let root = workspace_root()?;
    let state = state_path(&root);
    // Before anything is emptied, truncated or bound: the running system keeps its outbox,
    // its log file and its state.
    if let Some(running) = live_instance(&state) {
        return Err(format!(
            "a local system is already running from {} (pid {}, EventBridge endpoint {}); nothing \
             was changed. Stop it first (Ctrl-C in its terminal). A second system needs another \
             clone and other ports: `cargo xtask run --port-base N` (0 = any free ports).",
            root.display(),
            running["pid"],
            running["endpoints"]["eventbridge"].as_str().unwrap_or("?"),
        ));
    }
    let mut options = Options::new(root.join("infra/template.yaml"), root.join(".local/outbox"));
    let mut base = std::env::var("LOCAL_PORT_BASE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PORT_BASE);
    let mut logs_to_terminal = false;
    if let Ok(v) = std::env::var("LOCAL_AUTH0_LOGS_SCE") {
        options.auth0_logs_sce =
            on_off(&v).ok_or_else(|| "LOCAL_AUTH0_LOGS_SCE must be true or false".to_owned())?;
    }
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--template" => options.template = PathBuf::from(value_of(args, &mut i, "--template")?),
            "--outbox" => options.outbox = PathBuf::from(value_of(args, &mut i, "--outbox")?),
            "--port-base" => {
                base = value_of(args, &mut i, "--port-base")?
                    .parse()
                    .map_err(|_| "--port-base needs a port number".to_owned())?
            }
            "--logs" => logs_to_terminal = true,
            "--auth0-sce" => {
                options.auth0_logs_sce = on_off(value_of(args, &mut i, "--auth0-sce")?)
                    .ok_or_else(|| "--auth0-sce needs on or off".to_owned())?
            }
            // `cargo xtask run -- --port-base 0` passes the separator through.
            "--" => {}
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
        i += 1;
    }
    options.ports = Ports::from_base(base);
    options.env = std::env::vars().collect();
    options.print_hops = true;
    let log_file = root.join(".local/functions.log");
    runtime()?.block_on(async move {
        // Binds every port before it empties the outbox: a start that fails changes nothing.
        let system = LocalSystem::start(options.clone()).await?;
        // Functions log only once events arrive, so the log file is (re)started here.
        init_logs(logs_to_terminal, &log_file)?;
        if let Some(dir) = state.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(
            &state,
            serde_json::to_string_pretty(&system.state_json()).unwrap_or_default(),
        )
        .map_err(|e| format!("{}: {e}", state.display()))?;
        print!(
            "{}",
            banner(
                &system,
                &options,
                &root,
                (!logs_to_terminal).then_some(&log_file)
            )
        );
        stopped().await?;
        println!("\nstopping");
        let _ = std::fs::remove_file(&state);
        system.shutdown().await;
        Ok(())
    })
}

/// `on`/`true` or `off`/`false`.
fn on_off(value: &str) -> Option<bool> {
    match value.trim() {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

/// Ctrl-C or SIGTERM (what `kill`, systemd and process managers send): both stop cleanly.
async fn stopped() -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

fn banner(
    system: &LocalSystem,
    options: &Options,
    root: &Path,
    log_file: Option<&PathBuf>,
) -> String {
    let e = system.endpoints();
    let d = system.dixa_secrets();
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line("━━━ local system up: loopback only, no AWS account ━━━".into());
    line(format!(
        "routing from {} ({} rules, {} API routes)",
        relative(root, &options.template),
        system.topology().rules.len(),
        system.topology().api_routes.len()
    ));
    line(String::new());
    line(format!(
        "EventBridge endpoint   {}   (AWS_ENDPOINT_URL; PutEvents)",
        e.eventbridge
    ));
    line(format!(
        "  buses                {}",
        system.buses().join(", ")
    ));
    for r in &system.topology().rules {
        line(format!(
            "  rule {:<28}on {} → {}",
            r.name, r.bus, r.function
        ));
    }
    line(format!("  hops                 GET {}?after=N", e.hops));
    line(
        "  stores               in memory (send-email's dedupe record), as in production's tables"
            .into(),
    );
    if let Some(api) = &e.api {
        line(format!("Dixa API (API Gateway) {api}"));
        for r in &system.topology().api_routes {
            line(format!(
                "  {:<8}{:<27}→ {}",
                r.method, r.resource, r.function
            ));
        }
        line(format!(
            "  look-up secret       {}: {}",
            d.lookup_header, d.lookup_secret
        ));
        line(format!("  action token key     {}", d.action_token_key));
        line(format!(
            "  allowed origins      {}{}{}",
            d.allowed_origin,
            d.preview_origin
                .as_deref()
                .map(|o| format!(", {o}"))
                .unwrap_or_default(),
            if d.allow_null_origin {
                ", null (DIXA_ALLOW_NULL_ORIGIN=true)"
            } else {
                ""
            }
        ));
        line("  (secrets generated at start-up, valid while this process runs)".into());
    }
    let provider = |name: &str, url: &Option<String>, what: String| match url {
        Some(u) => format!("{name:<23}{u}   {what}"),
        None => format!("{name:<23}REAL endpoint from the environment"),
    };
    line(provider(
        "Auth0 sandbox",
        &e.auth0,
        system.auth0().map_or_else(String::new, |a| {
            format!(
                "(tenant {}, {} brute-force blocks, Management API email changes {}; GET /_local/state)",
                a.settings().domain,
                a.blocks().len(),
                if a.logs_sce() {
                    "log sce"
                } else {
                    "log nothing (--auth0-sce off)"
                }
            )
        }),
    ));
    line(provider(
        "Bloomreach sandbox",
        &e.bloomreach,
        "(records every email into the outbox)".into(),
    ));
    line(provider(
        "Hybris sandbox",
        &e.hybris,
        system.hybris().map_or_else(String::new, |h| {
            format!("(site {}; GET /_local/state)", h.base_site())
        }),
    ));
    let index = system.outbox().index();
    line(format!(
        "Outbox                 file://{}   (newest first; open in a browser)",
        std::fs::canonicalize(&index).unwrap_or(index).display()
    ));
    if let Some(f) = log_file {
        line(format!(
            "Function logs          {}   (JSON lines, as in CloudWatch)",
            relative(root, f)
        ));
    }
    line(format!(
        "State                  {}",
        relative(root, &state_path(root))
    ));
    line(String::new());
    line("Send events:   cargo xtask send events/auth0/sce.json [more.json ...]".into());
    if let Some(api) = &e.api {
        line(format!(
            "Dixa card:     {api}/dixa/card?email=lee.locked%40example.com   (dixa/card.liquid as Dixa shows it; try jane%2Bshop%40example.com, sam.social%40example.com; &mode=same-origin)"
        ));
        line(format!(
            "Dixa look-up:  curl -H '{}: {}' '{api}/lookup?email=jane%2Bshop%40example.com&csid=1&agent=agent%40shop.example'",
            d.lookup_header, d.lookup_secret
        ));
    }
    line(
        "Real provider: set its URL + credentials before `up`, with the functions' own names:"
            .into(),
    );
    line("  AUTH0_DOMAIN (+ AUTH0_BASE_URL) + AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET;".into());
    line(
        "  BLOOMREACH_API_BASE + BLOOMREACH_PROJECT_TOKEN/API_KEY_ID/API_SECRET/TEMPLATE_*;".into(),
    );
    line("  HYBRIS_BASE_URL + HYBRIS_BASE_SITE/HYBRIS_CLIENT_ID/HYBRIS_CLIENT_SECRET.".into());
    line("Ctrl-C (or SIGTERM) stops. Hops follow below as they happen.".into());
    line(
        "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━"
            .into(),
    );
    s
}

fn send_cmd(args: &[String]) -> Result<(), String> {
    let mut bus = None;
    let mut files = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--bus" => bus = Some(value_of(args, &mut i, "--bus")?.to_owned()),
            "--" => {}
            f => files.push(PathBuf::from(f)),
        }
        i += 1;
    }
    if files.is_empty() {
        return Err(format!("send needs at least one file\n{USAGE}"));
    }
    let root = workspace_root()?;
    let state_file = state_path(&root);
    let state = live_instance(&state_file).ok_or_else(|| {
        format!(
            "no running local system ({} is missing or stale): start it with `cargo xtask run`",
            state_file.display()
        )
    })?;
    let target = send::Target::from_state(&state)?;
    let sent = runtime()?.block_on(async {
        // Outbox paths as a person types them in the clone: relative to its root.
        let prefix = format!("{}/", root.display());
        send::send_files(&target, &files, bus.as_deref(), &mut |l| {
            println!("{}", l.replace(&prefix, ""))
        })
        .await
    })?;
    let emails: usize = sent.iter().map(|s| s.outbox_files().len()).sum();
    let failed: usize = sent.iter().map(send::Sent::failures).sum();
    println!(
        "{} file(s) sent, {} event(s) accepted, {emails} email(s) recorded, {failed} invocation(s) failed",
        files.len(),
        sent.iter().map(|s| s.event_ids.len()).sum::<usize>()
    );
    Ok(())
}
