//! The embedded server and the client against each other over real
//! sockets: authoritative answers, TSIG-checked updates with each failure
//! reported as itself, journaled changes that survive a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use provisioner::client::{query, send_update, soa_serial};
use provisioner::embedded::{EmbeddedConfig, EmbeddedError, EmbeddedServer};
use provisioner::error::{TsigFailure, UpdateError};
use provisioner::plan::{UpdatePlan, ZoneSlice};
use provisioner::record::{RecordInput, RecordPolicy};
use provisioner::tsig::{TsigAlgorithm, TsigKey, TsigSecret};

const TIMEOUT: Duration = Duration::from_secs(2);

fn zone() -> Name {
    Name::from_ascii("kalbarprov.go.id.").unwrap()
}

fn key(name: &str) -> TsigKey {
    TsigKey::generate(Name::from_ascii(name).unwrap(), TsigAlgorithm::HmacSha256)
}

fn config(dir: &Path, listen: SocketAddr, key: &TsigKey) -> EmbeddedConfig {
    EmbeddedConfig {
        zone: zone(),
        zone_file: Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones/kalbarprov.go.id.zone"),
        journal: dir.join("zone.jnl"),
        listen,
        update_key: key.clone(),
        key_dir: dir.to_owned(),
    }
}

async fn start(dir: &Path, key: &TsigKey) -> EmbeddedServer {
    EmbeddedServer::start(config(dir, "127.0.0.1:0".parse().unwrap(), key))
        .await
        .unwrap()
}

fn create_a(name: &str, ip: &str) -> UpdatePlan {
    let owner = Name::from_ascii(name).unwrap();
    let specs = RecordPolicy::default()
        .parse_records(
            &owner,
            &[RecordInput {
                rtype: "A".into(),
                value: ip.into(),
                ttl: Some(300),
                glue: vec![],
            }],
        )
        .unwrap();
    UpdatePlan::between(
        &zone(),
        &ZoneSlice::default(),
        &ZoneSlice::from_specs(&owner, &specs),
    )
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

#[tokio::test]
async fn answers_the_zone_authoritatively() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &key("dnsdesk.")).await;
    let addr = server.local_addr();
    let ns = query(addr, &zone(), RecordType::NS, TIMEOUT).await.unwrap();
    assert!(ns.authoritative);
    assert_eq!(ns.answers.len(), 2);
    let a = query(
        addr,
        &name("disdik.kalbarprov.go.id."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.13");
    let missing = query(
        addr,
        &name("nothing.kalbarprov.go.id."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(missing.rcode, ResponseCode::NXDomain);
    assert_eq!(
        soa_serial(addr, &zone(), TIMEOUT).await.unwrap(),
        2026112801
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn signed_update_applies_and_bumps_the_serial_and_prerequisites_guard_it() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("dnsdesk.");
    let server = start(dir.path(), &k).await;
    let addr = server.local_addr();
    let before = soa_serial(addr, &zone(), TIMEOUT).await.unwrap();

    let plan = create_a("baru.kalbarprov.go.id.", "203.0.113.99");
    send_update(addr, &k, plan.to_message(), TIMEOUT)
        .await
        .unwrap();
    let a = query(
        addr,
        &name("baru.kalbarprov.go.id."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.99");
    assert!(soa_serial(addr, &zone(), TIMEOUT).await.unwrap() > before);

    // The same create again: the name is in use now (RFC 2136 §2.4.5).
    let again = send_update(addr, &k, plan.to_message(), TIMEOUT)
        .await
        .unwrap_err();
    assert!(again.is_prerequisite_failure(), "{again:?}");
    assert_eq!(again.rcode(), Some(ResponseCode::YXDomain));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn tsig_failures_come_back_as_themselves_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("dnsdesk.");
    let server = start(dir.path(), &k).await;
    let addr = server.local_addr();
    let plan = create_a("tamu.kalbarprov.go.id.", "203.0.113.98");

    // Same name, other secret.
    let forged = TsigKey {
        name: k.name.clone(),
        algorithm: k.algorithm,
        secret: TsigSecret::new(vec![7; 32]),
    };
    let e = send_update(addr, &forged, plan.to_message(), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Tsig {
                failure: TsigFailure::BadSig,
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.explain(&forged.name, &zone(), &name("tamu.kalbarprov.go.id."));
    assert!(
        text.contains("dnsdesk") && text.contains("secret"),
        "{text}"
    );

    // A key the server does not know.
    let stranger = key("stranger.");
    let e = send_update(addr, &stranger, plan.to_message(), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Tsig {
                failure: TsigFailure::BadKey,
                ..
            }
        ),
        "{e:?}"
    );

    let a = query(
        addr,
        &name("tamu.kalbarprov.go.id."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn updates_survive_a_restart_and_the_zone_file_is_not_reread() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("dnsdesk.");
    let server = start(dir.path(), &k).await;
    let addr = server.local_addr();
    send_update(
        addr,
        &k,
        create_a("tetap.kalbarprov.go.id.", "203.0.113.97").to_message(),
        TIMEOUT,
    )
    .await
    .unwrap();
    let serial = soa_serial(addr, &zone(), TIMEOUT).await.unwrap();
    server.shutdown().await.unwrap();

    let server = EmbeddedServer::start(config(dir.path(), addr, &k))
        .await
        .unwrap();
    let a = query(
        addr,
        &name("tetap.kalbarprov.go.id."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.97");
    assert_eq!(soa_serial(addr, &zone(), TIMEOUT).await.unwrap(), serial);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("dnsdesk.");
    let first = start(dir.path(), &k).await;
    let other = tempfile::tempdir().unwrap();
    let err = EmbeddedServer::start(config(other.path(), first.local_addr(), &k))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbeddedError::Listen { .. }), "{err:?}");
    assert!(err.to_string().contains(&first.local_addr().to_string()));
    first.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_server_is_a_retryable_error_not_a_hang() {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    let e = send_update(
        addr,
        &key("dnsdesk."),
        create_a("x.kalbarprov.go.id.", "203.0.113.1").to_message(),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(!e.outcome_unknown(), "nothing was sent: {e:?}");
}

#[tokio::test]
async fn unsigned_updates_are_refused() {
    use hickory_proto::op::Message;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &key("dnsdesk.")).await;
    let addr = server.local_addr();
    let mut message = create_a("tanpa.kalbarprov.go.id.", "203.0.113.96").to_message();
    message.metadata.id = 4242;
    let bytes = message.to_vec().unwrap();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&u16::try_from(bytes.len()).unwrap().to_be_bytes())
        .await
        .unwrap();
    tcp.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).await.unwrap();
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tcp.read_exact(&mut reply).await.unwrap();
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    let a = query(
        addr,
        &name("tanpa.kalbarprov.go.id."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    server.shutdown().await.unwrap();
}
