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
pub mod resources;
pub mod service;

use std::net::SocketAddr;

/// Runs the service: the API on `listen`, the background work beside it,
/// until SIGTERM or Ctrl-C. A scan or rematch in flight when the signal
/// comes finishes before the process exits; watched resources not yet
/// scanned stay pending and are scanned at the next start.
pub async fn serve(config: service::ServiceConfig, listen: SocketAddr) -> Result<(), ServeError> {
    let svc = service::Service::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind { listen, source })?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(svc.clone().run(stop_rx));
    tracing::info!(%listen, "serving");
    let app = api::router(svc);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            shutdown_signal().await;
        })
        .await
        .map_err(|source| ServeError::Bind { listen, source })?;
    let _ = stop_tx.send(true);
    let _ = worker.await;
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
