//! Vigia's service: resources scanned once and kept, their inventories
//! stored, findings that live (opened, suppressed, closed, reopened, each
//! change with its cause), and re-evaluation when advisories change.
//!
//! - [`db`]: the service's own database (SQLite or PostgreSQL).
//! - [`criteria`]: Inspector's `FilterCriteria`, for listing findings and
//!   for suppression rules.

pub mod aggregate;
pub mod api;
pub mod auth;
pub mod criteria;
pub mod db;
pub mod lifecycle;
pub mod listing;
pub mod openapi;
pub mod resources;
pub mod service;
pub mod sigv4;

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

/// Runs the service: the API on `listen`, the background work beside it,
/// until SIGTERM or Ctrl-C. A scan or rematch in flight when the signal
/// comes finishes before the process exits; watched resources not yet
/// scanned stay pending and are scanned at the next start.
pub async fn serve(config: service::ServiceConfig, listen: Listen) -> Result<(), ServeError> {
    let addr = listen.addr;
    let svc = service::Service::open(config).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = api::router(svc.clone());
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
                .serve(app.into_make_service())
                .await
        })
    } else {
        tokio::spawn(async move {
            axum_server::bind(addr)
                .handle(h)
                .serve(app.into_make_service())
                .await
        })
    };
    // Fail now, naming the address, when it cannot listen.
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
    let worker = tokio::spawn(svc.clone().run(stop_rx));
    shutdown_signal().await;
    // Requests in flight get ten seconds to finish.
    handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let _ = server.await;
    Ok(())
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
