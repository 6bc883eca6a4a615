//! The client against a real hickory-server started in this process (a
//! SQLite-journaled zone `example.test.` that takes updates signed with one
//! key), over real sockets on 127.0.0.1: each outcome of an update is
//! reported as itself. Independent of the embedded server module.
//!
//! Two tiny responders inject what a correct server never sends (an
//! unsigned or badly signed NOERROR, silence), as the style guide allows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode, update_message};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType};
use hickory_server::Server;
use hickory_server::store::sqlite::{SqliteConfig, SqliteZoneHandler, TsigKeyConfig};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use provisioner::client::{query, send_update, soa_serial};
use provisioner::error::{QueryError, TsigFailure, UpdateError};
use provisioner::tsig::{FUDGE, TsigAlgorithm, TsigKey, TsigSecret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(2);

const ZONE_FILE: &str = "$ORIGIN example.test.
$TTL 3600
@    IN SOA ns1.example.test. hostmaster.example.test. 2026010101 3600 600 86400 300
@    IN NS  ns1.example.test.
ns1  IN A   192.0.2.1
";

fn zone() -> Name {
    Name::from_ascii("example.test.").unwrap()
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// A running hickory-server for `example.test.`; stops when dropped.
struct TestServer {
    server: Server<Catalog>,
    addr: SocketAddr,
    key: TsigKey,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Serves `ZONE_FILE` plus `extra` lines, accepting updates signed with
    /// a fresh `dnsdesk.` key.
    async fn start(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = TsigKey::generate(name("dnsdesk."), TsigAlgorithm::HmacSha256);
        let zone_path = dir.path().join("example.test.zone");
        std::fs::write(&zone_path, format!("{ZONE_FILE}{extra}")).unwrap();
        // hickory reads raw key bytes, not BIND's format.
        let key_path = dir.path().join("dnsdesk.raw");
        std::fs::write(&key_path, key.secret.expose()).unwrap();
        let config = SqliteConfig {
            zone_path,
            journal_path: dir.path().join("example.test.jrnl"),
            allow_update: true,
            tsig_keys: vec![TsigKeyConfig {
                name: key.name.to_ascii(),
                key_file: key_path,
                algorithm: key.algorithm.to_hickory(),
                fudge: FUDGE,
            }],
        };
        let handler =
            SqliteZoneHandler::<hickory_net::runtime::TokioRuntimeProvider>::try_from_config(
                zone(),
                ZoneType::Primary,
                AxfrPolicy::AllowSigned,
                false,
                None,
                &config,
                None,
            )
            .await
            .unwrap();
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        catalog.upsert(LowerName::from(&zone()), vec![handler]);
        // UDP and TCP on one port, another one if TCP finds it taken.
        let (udp, tcp, addr) = provisioner::embedded::bind((Ipv4Addr::LOCALHOST, 0).into())
            .await
            .unwrap();
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 65_535);
        Self {
            server,
            addr,
            key,
            _dir: dir,
        }
    }

    /// The server's key under another secret: what a mistyped copy is.
    fn forged_key(&self) -> TsigKey {
        TsigKey {
            secret: TsigSecret::new(vec![7; 32]),
            ..self.key.clone()
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown_token().cancel();
    }
}

/// An update creating `owner` A `ip`, with RFC 2136 §2.4.3's "RRset does
/// not exist" prerequisite (hickory's `create`).
fn create_a(owner: &str, ip: [u8; 4]) -> Message {
    let record = Record::from_rdata(
        name(owner),
        300,
        RData::A(A::new(ip[0], ip[1], ip[2], ip[3])),
    );
    update_message::create(RecordSet::from(record), zone(), false)
}

async fn a_records(addr: SocketAddr, owner: &str) -> Vec<RData> {
    let answer = query(addr, &name(owner), RecordType::A, TIMEOUT)
        .await
        .unwrap();
    answer.answers.into_iter().map(|r| r.data).collect()
}

#[tokio::test]
async fn signed_create_is_applied_and_seen() {
    let server = TestServer::start("").await;
    let before = soa_serial(server.addr, &zone(), TIMEOUT).await.unwrap();
    assert_eq!(before, 2026010101);

    send_update(
        server.addr,
        &server.key,
        create_a("www.example.test.", [192, 0, 2, 7]),
        TIMEOUT,
    )
    .await
    .unwrap();

    assert_eq!(
        a_records(server.addr, "www.example.test.").await,
        vec![RData::A(A::new(192, 0, 2, 7))]
    );
    assert!(soa_serial(server.addr, &zone(), TIMEOUT).await.unwrap() > before);
}

#[tokio::test]
async fn a_failed_prerequisite_is_reported_as_such() {
    let server = TestServer::start("").await;
    send_update(
        server.addr,
        &server.key,
        create_a("www.example.test.", [192, 0, 2, 7]),
        TIMEOUT,
    )
    .await
    .unwrap();
    let e = send_update(
        server.addr,
        &server.key,
        create_a("www.example.test.", [192, 0, 2, 8]),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    // "RRset does not exist" failing is YXRRSET (RFC 2136 §3.2.5).
    assert!(
        matches!(
            e,
            UpdateError::PrerequisiteFailed {
                rcode: ResponseCode::YXRRSet,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_prerequisite_failure() && !e.is_retryable() && !e.outcome_unknown());
    assert_eq!(
        a_records(server.addr, "www.example.test.").await,
        vec![RData::A(A::new(192, 0, 2, 7))]
    );
}

#[tokio::test]
async fn a_wrong_secret_is_badsig() {
    let server = TestServer::start("").await;
    let e = send_update(
        server.addr,
        &server.forged_key(),
        create_a("x.example.test.", [192, 0, 2, 9]),
        TIMEOUT,
    )
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
    assert_eq!(e.rcode(), Some(ResponseCode::BADSIG));
    assert!(a_records(server.addr, "x.example.test.").await.is_empty());
}

/// hickory-server looks keys up by name only (RFC 8945 §5.5: one algorithm
/// per key name), so another algorithm under the same name is BADSIG there,
/// where BIND answers BADKEY.
#[tokio::test]
async fn an_unknown_key_is_badkey_and_another_algorithm_badsig() {
    let server = TestServer::start("").await;
    let stranger = TsigKey::generate(name("stranger."), TsigAlgorithm::HmacSha256);
    let e = send_update(
        server.addr,
        &stranger,
        create_a("x.example.test.", [192, 0, 2, 9]),
        TIMEOUT,
    )
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
    let text = e.explain(&stranger.name, &zone(), &name("x.example.test."));
    assert!(text.contains("does not accept key stranger"), "{text}");

    let other_algorithm = TsigKey {
        algorithm: TsigAlgorithm::HmacSha512,
        ..server.key.clone()
    };
    let e = send_update(
        server.addr,
        &other_algorithm,
        create_a("x.example.test.", [192, 0, 2, 9]),
        TIMEOUT,
    )
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
    assert!(a_records(server.addr, "x.example.test.").await.is_empty());
}

/// The server refuses unsigned updates; sent by hand, since our client
/// always signs.
#[tokio::test]
async fn an_unsigned_update_is_refused_by_the_server() {
    let server = TestServer::start("").await;
    let mut message = create_a("x.example.test.", [192, 0, 2, 9]);
    message.metadata.id = 4711;
    let reply = raw_tcp_exchange(server.addr, &message.to_vec().unwrap()).await;
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(reply.signature().is_none());
    assert!(a_records(server.addr, "x.example.test.").await.is_empty());
}

/// A NOERROR without a valid signature is not success: the answer may be
/// forged (RFC 8945 §5.4).
#[tokio::test]
async fn an_unsigned_or_badly_signed_noerror_is_not_success() {
    let key = TsigKey::generate(name("dnsdesk."), TsigAlgorithm::HmacSha256);
    let update = || create_a("x.example.test.", [192, 0, 2, 9]);

    let unsigned = echo_responder(false).await;
    let e = send_update(unsigned, &key, update(), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Tsig {
                failure: TsigFailure::ResponseUnsigned,
                ..
            }
        ),
        "{e:?}"
    );

    // The request's own TSIG echoed back: present, but not a valid MAC of
    // the answer.
    let badly_signed = echo_responder(true).await;
    let e = send_update(badly_signed, &key, update(), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Tsig {
                failure: TsigFailure::ResponseBadSig,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn no_server_is_a_quick_io_error_and_silence_a_timeout() {
    let key = TsigKey::generate(name("dnsdesk."), TsigAlgorithm::HmacSha256);
    let closed = {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap()
    };
    let started = tokio::time::Instant::now();
    let e = send_update(
        closed,
        &key,
        create_a("x.example.test.", [192, 0, 2, 9]),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, UpdateError::Io { sent: false, .. }), "{e:?}");
    assert!(e.is_retryable() && !e.outcome_unknown());
    assert!(
        started.elapsed() < TIMEOUT,
        "refused connections fail at once"
    );

    // A UDP query to a closed port: the ICMP error ends the wait.
    let e = query(closed, &zone(), RecordType::SOA, TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(e, QueryError::Io { .. } | QueryError::Timeout { .. }),
        "{e:?}"
    );

    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let e = send_update(
        silent_addr,
        &key,
        create_a("x.example.test.", [192, 0, 2, 9]),
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, UpdateError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable() && e.outcome_unknown());
}

/// RD=0 queries return every section; a large answer comes back truncated
/// over UDP and whole over TCP.
#[tokio::test]
async fn queries_return_all_sections_and_fall_back_to_tcp() {
    let txt: String = (0..80)
        .map(|i| format!("big IN TXT \"{i:02} {}\"\n", "x".repeat(60)))
        .collect();
    let server = TestServer::start(&txt).await;

    let answer = query(server.addr, &zone(), RecordType::NS, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert!(answer.authoritative);
    assert_eq!(answer.answers.len(), 1);
    assert!(
        answer
            .additionals
            .iter()
            .any(|r| r.name == name("ns1.example.test.") && r.record_type() == RecordType::A)
    );

    let answer = query(
        server.addr,
        &name("big.example.test."),
        RecordType::TXT,
        TIMEOUT,
    )
    .await
    .unwrap();
    // About 6 kB: more than any UDP answer we accept, so only TCP brings it.
    assert_eq!(answer.answers.len(), 80, "the whole RRset, over TCP");
    assert!(
        answer
            .answers
            .iter()
            .all(|r| matches!(r.data, RData::TXT(_)))
    );

    let answer = query(
        server.addr,
        &name("nothing.example.test."),
        RecordType::A,
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NXDomain);
    assert!(answer.answers.is_empty());
    assert!(
        answer
            .authority
            .iter()
            .any(|r| r.record_type() == RecordType::SOA)
    );

    let e = soa_serial(server.addr, &name("other.test."), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(e, QueryError::Unusable { .. }), "{e:?}");
}

/// One framed DNS exchange over TCP, for requests our client would not send.
async fn raw_tcp_exchange(server: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let mut framed = u16::try_from(request.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    stream.write_all(&framed).await.unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.unwrap();
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).await.unwrap();
    reply
}

/// A TCP responder that answers every request NOERROR by echoing it, with
/// the request's TSIG record kept (`keep_tsig`) or removed.
async fn echo_responder(keep_tsig: bool) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await.unwrap();
            let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut request).await.unwrap();
            let mut message = Message::from_vec(&request).unwrap();
            message.metadata.message_type = MessageType::Response;
            message.metadata.response_code = ResponseCode::NoError;
            if !keep_tsig {
                message.take_signature();
            }
            let reply = message.to_vec().unwrap();
            let mut framed = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            stream.write_all(&framed).await.unwrap();
        }
    });
    addr
}
