//! `vigia serve` and `vigia token`: the service and its API tokens.

use std::time::Duration;

use anyhow::Result;
use vigia_server::auth::Role;
use vigia_server::db::StateDb;
use vigia_server::service::ServiceConfig;

use crate::cli::{AgentArgs, Cli, Format, GateArgs, ServeArgs, TokenCommand, UserCommand};
use crate::{Exit, config, exit, output};

pub(crate) async fn run(cli: &Cli, args: &ServeArgs) -> Result<u8> {
    let mut engine = config::engine(cli, None)?;
    // A service runs long and logs what it reads: its folders are named
    // whole, whatever folder it was started from.
    engine.data_dir = std::path::absolute(&engine.data_dir)?;
    let mirror = args.mirror.as_ref().map(|m| {
        if m.contains("://") {
            Ok(m.clone())
        } else {
            std::path::absolute(m).map(|p| p.display().to_string())
        }
    });
    let config = ServiceConfig {
        state_url: vigia_server::service::state_url(&engine)?,
        engine,
        mirror: mirror.transpose()?,
        watch: args.watch.clone(),
        poll_every: Duration::from_secs(args.poll_every.max(1)),
        update_every: Duration::from_secs(args.update_every.max(60)),
        // clap admits only the three names.
        role: vigia_server::service::Role::parse(&args.role)
            .unwrap_or(vigia_server::service::Role::All),
        lease: Duration::from_secs(args.lease.max(3)),
        summarize_above: args.summarize_above,
        export_s3_endpoint: args.export_s3_endpoint.clone(),
        events_retention_days: args.events_retention_days,
        quiet_first_scans: args.quiet_first_scans,
        agent_stale_after: Duration::from_secs(args.agent_stale_after.max(1)),
        agent_inactive_after: Duration::from_secs(args.agent_inactive_after.max(1)),
        registries: match &args.registries {
            Some(path) => registries(path)?,
            None => Vec::new(),
        },
        gate_policy: match &args.gate_policy {
            Some(path) => {
                let text = fs_err::read_to_string(path)?;
                let value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", path.display()))?;
                Some(
                    vigia_server::gate::Policy::parse(&value)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                )
            }
            None => None,
        },
    };
    let listen = vigia_server::Listen {
        addr: args.listen,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
    };
    vigia_server::serve(config, listen).await?;
    Ok(exit::OK)
}

/// The registries of a `--registries` file; `passwordEnv` names the
/// environment variable a password is read from, so that the file holds
/// no secret.
fn registries(path: &std::path::Path) -> Result<Vec<vigia_server::registries::Registry>> {
    let text = fs_err::read_to_string(path)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", path.display()))?;
    let list = value
        .get("registries")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| anyhow::anyhow!("{}: expected {{\"registries\": [...]}}", path.display()))?;
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if let Some(obj) = r.as_object_mut()
                && let Some(var) = obj.remove("passwordEnv")
            {
                let var = var.as_str().unwrap_or_default().to_owned();
                let password = std::env::var(&var).map_err(|_| {
                    anyhow::anyhow!(
                        "{}: registry {i}: passwordEnv names {var}, which is not set",
                        path.display()
                    )
                })?;
                obj.insert("password".into(), serde_json::Value::String(password));
            }
            vigia_server::registries::Registry::parse(&r)
                .map_err(|e| anyhow::anyhow!("{}: registry {i}: {e}", path.display()))
        })
        .collect()
}

pub(crate) async fn token(cli: &Cli, cmd: &TokenCommand) -> Result<u8> {
    let engine = config::engine(cli, None)?;
    let db = StateDb::open(&vigia_server::service::state_url(&engine)?).await?;
    let now = output::now_rfc3339();
    match cmd {
        TokenCommand::Create(args) => {
            let role = Role::parse(&args.role).ok_or_else(|| Exit {
                code: 2,
                message: format!(
                    "--role: `{}` is not a role (admin, viewer, agent)",
                    args.role
                ),
            })?;
            if !vigia_server::auth::valid_token_name(&args.name) {
                return Err(Exit {
                    code: 2,
                    message: "--name: a token's name is 1 to 64 characters".to_owned(),
                }
                .into());
            }
            let mut t = db.create_token(&args.name, role, &now).await?;
            let key = vigia_server::sigv4::service_key(&engine.data_dir)?;
            t.access_key_id = Some(t.id.clone());
            t.secret_access_key = Some(vigia_server::sigv4::secret_for(&key, &t.id));
            match args.format {
                Format::Json => output::print_json(&t)?,
                Format::Table => output::print(&format!(
                    "{}\n(token {} for {}, role {}; it is not shown again)\nFor AWS clients (SigV4): access key ID {}, secret access key {}\n",
                    t.token,
                    t.id,
                    t.name,
                    role.as_str(),
                    t.id,
                    t.secret_access_key.as_deref().unwrap_or_default()
                )),
            }
        }
        TokenCommand::Revoke(args) => {
            if !db.revoke_token(&args.id, &now).await? {
                return Err(Exit {
                    code: exit::NOT_FOUND,
                    message: format!("no active token {}", args.id),
                }
                .into());
            }
            output::print(&format!("token {} revoked\n", args.id));
        }
        TokenCommand::List(args) => {
            let tokens = db.tokens().await?;
            match args.format {
                Format::Json => output::print_json(&tokens)?,
                Format::Table => {
                    // A name was typed by whoever made the token: escaped.
                    let text = |t: &serde_json::Value, k: &str| {
                        vigia_report::printable::escape_line(t[k].as_str().unwrap_or("-"))
                            .into_owned()
                    };
                    let mut out = format!(
                        "{:<24} {:<24} {:<8} {:<22} {}\n",
                        "ID", "NAME", "ROLE", "CREATED", "REVOKED"
                    );
                    for t in &tokens {
                        out.push_str(&format!(
                            "{:<24} {:<24} {:<8} {:<22} {}\n",
                            text(t, "id"),
                            text(t, "name"),
                            text(t, "role"),
                            text(t, "createdAt"),
                            text(t, "revokedAt")
                        ));
                    }
                    output::print(&out);
                }
            }
        }
    }
    Ok(exit::OK)
}

/// `vigia user create`: a dashboard account; the password from standard
/// input.
pub(crate) async fn user(cli: &Cli, cmd: &UserCommand) -> Result<u8> {
    let UserCommand::Create(args) = cmd;
    let Some(role @ (Role::Admin | Role::Viewer)) = Role::parse(&args.role) else {
        return Err(Exit {
            code: 2,
            message: format!("--role: `{}` is not admin or viewer", args.role),
        }
        .into());
    };
    let name_ok = (1..=64).contains(&args.name.len())
        && args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !name_ok {
        return Err(Exit {
            code: 2,
            message: format!(
                "`{}` is not a user name: 1 to 64 letters, digits, '.', '_', '-' or '@'",
                args.name
            ),
        }
        .into());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.chars().count() < 12 {
        return Err(Exit {
            code: 2,
            message: "the password (read from standard input) must be at least 12 characters"
                .to_owned(),
        }
        .into());
    }
    let phc = vigia_server::accounts::hash_password(password)?;
    let engine = config::engine(cli, None)?;
    let db = StateDb::open(&vigia_server::service::state_url(&engine)?).await?;
    db.put_user(&args.name, role, &phc, &output::now_rfc3339())
        .await?;
    output::print(&format!(
        "user {} ({}) can sign in to the dashboard\n",
        args.name,
        role.as_str()
    ));
    Ok(exit::OK)
}

/// `vigia gate`: asks the service's `/v1/gate/check` and exits 0 when every
/// image may be deployed, 8 when one is refused.
/// `vigia agent`: the glue around `vigia_agent::Agent`.
pub(crate) async fn agent(args: &AgentArgs) -> Result<u8> {
    let mut agent = vigia_agent::Agent::new(vigia_agent::Options {
        server: args.server.clone(),
        token: args.token.clone(),
        root: args.root.clone(),
        host_id: args.host_id.clone(),
        heartbeat: Duration::from_secs(args.heartbeat.max(1)),
        debounce: Duration::from_millis(args.debounce),
    })?;
    if args.once {
        let accepted = agent.check_in().await?;
        match args.format {
            Format::Json => output::print_json(&serde_json::json!(accepted))?,
            Format::Table => output::print(&format!(
                "checked in: host {}, inventory {}{}\n",
                accepted.resource_id,
                accepted.inventory_id,
                if accepted.queued {
                    ", queued for evaluation"
                } else {
                    ", unchanged"
                }
            )),
        }
        return Ok(exit::OK);
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Stopped by Ctrl-C, or by SIGTERM (systemd, Kubernetes).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = stop_tx.send(true);
    });
    tracing::info!(host = agent.host_id(), "agent started");
    agent.run(stop_rx).await?;
    Ok(exit::OK)
}

pub(crate) async fn gate(args: &GateArgs) -> Result<u8> {
    let url = format!("{}/v1/gate/check", args.server.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&args.token)
        .json(&serde_json::json!({ "images": args.images }))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot ask {}: {}",
                vigia_model::redact::redact_url(&url),
                vigia_engine::error_chain(&e.without_url())
            )
        })?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(Exit {
            code: exit::ERROR,
            message: format!(
                "{url} answered {status}: {}",
                body["message"].as_str().unwrap_or("(no message)")
            ),
        }
        .into());
    }
    let allowed = body["allowed"].as_bool().unwrap_or(false);
    match args.format {
        Format::Json => output::print_json(&body)?,
        Format::Table => {
            let mut text = String::new();
            for d in body["decisions"].as_array().into_iter().flatten() {
                let verdict = if d["allowed"].as_bool().unwrap_or(false) {
                    "allowed"
                } else {
                    "REFUSED"
                };
                text.push_str(&format!(
                    "{verdict}  {}\n         {}\n",
                    d["image"].as_str().unwrap_or(""),
                    d["reason"].as_str().unwrap_or("")
                ));
            }
            output::print(&text);
        }
    }
    Ok(if allowed { exit::OK } else { exit::DENIED })
}
