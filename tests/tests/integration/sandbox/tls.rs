//! HTTPS through the host's client: the Graph simulator behind a TLS proxy whose certificate a
//! test certificate authority signed, made fresh for each test.

use std::net::SocketAddr;
use std::sync::Arc;

use photosync::engine::{run_tenant, NoProgress, RunRequest};
use photosync::store::{RunStatus, Store};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::{good_tenant_toml, write_tenants, GOOD_TENANT};
use crate::support::{fixture, member_with_photo, runtime};
use graph_sim::GraphSim;

/// A test authority's certificate (PEM) and a server certificate and key it signed for
/// `localhost` and `127.0.0.1`.
struct TestPki {
    ca_pem: String,
    server_certificate: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn make_pki() -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let server_certificate = server_params.signed_by(&server_key, &ca).unwrap();
    TestPki {
        ca_pem: ca.pem(),
        server_certificate: server_certificate.der().clone(),
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    }
}

/// Starts a TLS proxy on 127.0.0.1 that forwards each connection to `backend` in plain TCP.
async fn start_tls_proxy(backend: SocketAddr, pki: &TestPki) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![pki.server_certificate.clone()],
            pki.server_key.clone_key(),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate closes the handshake; that is expected.
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                let mut upstream = TcpStream::connect(backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    address
}

/// Runs the Entra tenant against the simulator over HTTPS; `extra` is added to its table.
async fn sync_over_https(extra: &str) -> photosync::engine::RunReport {
    let sim = GraphSim::start(fixture(vec![member_with_photo(1, "astronaut-96.jpg")]))
        .await
        .expect("graph-sim starts");
    let pki = make_pki();
    let proxy = start_tls_proxy(sim.address(), &pki).await;
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let config = write_tenants(
        directory.path(),
        &[good_tenant_toml(&format!("https://{proxy}"), extra)],
    );
    let store = Arc::new(Store::open(&config.data_dir).unwrap());
    run_tenant(
        runtime(),
        &store,
        config.tenant(GOOD_TENANT).unwrap(),
        RunRequest::manual(),
        &NoProgress,
    )
    .await
    .expect("the run is recorded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_sync_trusts_tenant_ca() {
    let report = sync_over_https(r#"tls_ca_file = "ca.pem""#).await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert_eq!(report.counts.downloaded, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_without_ca_fails_tls() {
    let report = sync_over_https("").await;

    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.kind, "tls", "{}", error.message);
    assert!(error.message.contains("tls_ca_file"), "{}", error.message);
}
