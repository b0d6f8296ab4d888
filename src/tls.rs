//! TLS for the HTTP clients (`probe`, the webhook and Alertmanager sinks): rustls on the `ring`
//! provider. reqwest is built without a provider of its own (its default, aws-lc-rs, is a large
//! C build), so every client starts from [`client_builder`], which makes ring the process's
//! provider first; without one, reqwest would panic when the client is built.

use std::sync::Once;

/// A reqwest client builder whose https uses rustls with ring.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_ring();
    reqwest::Client::builder()
}

/// Makes ring the process's rustls provider, once.
fn install_ring() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error only means a provider is installed already (by a program embedding this
        // library): that one is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
