//! Vigia's service: resources scanned once and kept, their inventories
//! stored, findings that live (opened, suppressed, closed, reopened, each
//! change with its cause), and re-evaluation when advisories change.
//!
//! - [`db`]: the service's own database (SQLite or PostgreSQL).
//! - [`criteria`]: Inspector's `FilterCriteria`, for listing findings and
//!   for suppression rules.

pub mod accounts;
pub mod aggregate;
pub mod api;
pub mod auth;
mod checkins;
pub mod criteria;
pub mod dashboard;
pub mod db;
pub mod delivery;
pub mod events;
pub mod exports;
pub mod fingerprint;
pub mod functions;
pub mod gate;
pub mod inventories;
pub mod jobs;
pub mod lifecycle;
pub mod listing;
pub mod openapi;
pub mod pages;
pub mod registries;
pub mod resources;
pub mod service;
pub mod sigv4;
pub mod trend;
mod writes;

use std::net::SocketAddr;

/// Where the API listens, and its TLS certificate and key (PEM) when it
/// serves HTTPS.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The address.
    pub addr: SocketAddr,
    /// Certificate chain and private key files.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// Runs the service until SIGTERM or Ctrl-C: the API on `listen` (not for
/// a worker), the watchers and schedules, and a worker (not for the API
/// role). A job in flight when the signal comes finishes before the
/// process exits; jobs not yet done stay in the job table for the next
/// start or another worker.
pub async fn serve(config: service::ServiceConfig, listen: Listen) -> Result<(), ServeError> {
    let role = config.role;
    let svc = service::Service::open(config).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let api = if role == service::Role::Worker {
        None
    } else {
        Some(start_api(svc.clone(), &listen).await?)
    };
    tracing::info!(role = ?role, owner = %svc.owner, "started");
    let background = tokio::spawn(svc.clone().run(stop_rx.clone()));
    let worker =
        (role != service::Role::Api).then(|| tokio::spawn(svc.clone().work(stop_rx.clone())));
    // Events are delivered by every process but a pure API one.
    let delivery =
        (role != service::Role::Api).then(|| tokio::spawn(svc.clone().deliver(stop_rx.clone())));
    shutdown_signal().await;
    tracing::info!("stopping: requests in flight and the job under way finish first");
    if let Some((handle, _)) = &api {
        // Requests in flight get ten seconds to finish.
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    }
    let _ = stop_tx.send(true);
    let _ = background.await;
    if let Some(w) = worker {
        let _ = w.await;
    }
    if let Some(d) = delivery {
        let _ = d.await;
    }
    if let Some((_, server)) = api {
        let _ = server.await;
    }
    tracing::info!("stopped");
    Ok(())
}

type ApiTask = tokio::task::JoinHandle<std::io::Result<()>>;

/// Starts the API on `listen`; fails naming the address when it cannot.
async fn start_api(
    svc: std::sync::Arc<service::Service>,
    listen: &Listen,
) -> Result<(axum_server::Handle<SocketAddr>, ApiTask), ServeError> {
    let addr = listen.addr;
    let api = api::router(svc.clone());
    // The dashboard beside the API, calling it in-process.
    let app = api
        .clone()
        .merge(dashboard::router(svc, api, listen.tls.is_some()));
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    let server = if let Some((cert, key)) = &listen.tls {
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
            .await
            .map_err(|source| ServeError::Tls {
                cert: cert.clone(),
                key: key.clone(),
                source,
            })?;
        tokio::spawn(async move {
            axum_server::bind_rustls(addr, tls)
                .handle(h)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        })
    } else {
        tokio::spawn(async move {
            axum_server::bind(addr)
                .handle(h)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        })
    };
    if handle.listening().await.is_none() {
        let source = match server.await {
            Ok(Err(e)) => e,
            _ => std::io::Error::other("the listener stopped"),
        };
        return Err(ServeError::Bind {
            listen: addr,
            source,
        });
    }
    tracing::info!(%addr, tls = listen.tls.is_some(), "serving");
    Ok((handle, server))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Why the service stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Its state or engine could not be opened.
    #[error(transparent)]
    Service(#[from] service::ServiceError),
    /// The TLS certificate or key could not be read.
    #[error("cannot use the TLS certificate {cert} and key {key}")]
    Tls {
        /// The certificate file.
        cert: std::path::PathBuf,
        /// The key file.
        key: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It could not listen.
    #[error("cannot listen on {listen}")]
    Bind {
        /// The address.
        listen: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
