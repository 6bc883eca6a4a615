//! The embedded server on the wire, spoken to with hickory's own messages,
//! signer and client (no dnsdesk client code): what it answers to queries,
//! to signed, unsigned and wrongly signed updates and transfers, how it
//! keeps the zone across restarts, and how it fails to start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::xfer::DnsMultiplexer;
use hickory_proto::op::{
    Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage, update_message,
};
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordSet, RecordType, TSigner};
use provisioner::embedded::{EmbeddedConfig, EmbeddedError, EmbeddedServer};
use provisioner::tsig::{TsigAlgorithm, TsigKey, TsigSecret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

const TIMEOUT: Duration = Duration::from_secs(5);
const SERIAL: u32 = 2026112801;
const FUDGE: u16 = 300;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn zone() -> Name {
    name("kalbarprov.go.id.")
}

fn key(key_name: &str, secret: &[u8]) -> TsigKey {
    TsigKey {
        name: name(key_name),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: TsigSecret::new(secret.to_vec()),
    }
}

fn update_key() -> TsigKey {
    key("dnsdesk.", &[0x5a; 32])
}

fn signer(key: &TsigKey) -> TSigner {
    TSigner::new(
        key.secret.expose().to_vec(),
        key.algorithm.to_hickory(),
        key.name.clone(),
        FUDGE,
    )
    .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A data directory holding its own copy of the demo zone file, so a test
/// can change it.
struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones/kalbarprov.go.id.zone");
        std::fs::copy(shipped, dir.path().join("kalbarprov.go.id.zone")).unwrap();
        Self { dir }
    }

    fn zone_file(&self) -> PathBuf {
        self.dir.path().join("kalbarprov.go.id.zone")
    }

    fn config(&self, listen: SocketAddr, key: &TsigKey) -> EmbeddedConfig {
        EmbeddedConfig {
            zone: zone(),
            zone_file: self.zone_file(),
            journal: self.dir.path().join("data/kalbarprov.go.id.jnl"),
            listen,
            update_key: key.clone(),
            key_dir: self.dir.path().join("data"),
        }
    }

    async fn start(&self) -> EmbeddedServer {
        self.start_on(any_port(), &update_key()).await
    }

    async fn start_on(&self, listen: SocketAddr, key: &TsigKey) -> EmbeddedServer {
        EmbeddedServer::start(self.config(listen, key))
            .await
            .unwrap()
    }
}

fn any_port() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
}

/// A non-recursive query (RD=0), as a resolver asks an authoritative server.
fn query_message(qname: &Name, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(qname.clone(), rtype));
    message
}

async fn udp_query(server: SocketAddr, qname: &str, rtype: RecordType) -> Message {
    let request = query_message(&name(qname), rtype);
    let socket = UdpSocket::bind(any_port()).await.unwrap();
    socket
        .send_to(&request.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buf = vec![0u8; 65_535];
    let (len, _) = timeout(TIMEOUT, socket.recv_from(&mut buf))
        .await
        .expect("UDP answer in time")
        .unwrap();
    let response = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(response.metadata.id, request.metadata.id);
    response
}

/// Sends one message over a new TCP connection and returns the raw answer.
async fn tcp_exchange(server: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(server).await.unwrap();
    let len = u16::try_from(request.len()).unwrap().to_be_bytes();
    tcp.write_all(&len).await.unwrap();
    tcp.write_all(request).await.unwrap();
    timeout(TIMEOUT, async {
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len).await.unwrap();
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tcp.read_exact(&mut reply).await.unwrap();
        reply
    })
    .await
    .expect("TCP answer in time")
}

async fn serial(server: SocketAddr) -> u32 {
    let response = udp_query(server, "kalbarprov.go.id.", RecordType::SOA).await;
    match &response.answers[..] {
        [
            Record {
                data: RData::SOA(soa),
                ..
            },
        ] => soa.serial,
        other => panic!("expected one SOA, got {other:?}"),
    }
}

fn a_record(owner: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A::from(Ipv4Addr::from(ip))))
}

/// RFC 2136 §2.4.3 + §2.5.1 as hickory builds it: "RRset does not exist",
/// then add the RRset.
fn create(records: Vec<Record>) -> Message {
    let mut rrset = RecordSet::from(records[0].clone());
    for record in &records[1..] {
        rrset.insert(record.clone(), 0);
    }
    update_message::create(rrset, zone(), false)
}

/// Signs `message` (TSIG, RFC 8945) as of `time`, sends it over TCP and
/// returns the answer, plus whether its own TSIG verified.
async fn send_signed(
    server: SocketAddr,
    mut message: Message,
    key: &TsigKey,
    time: u64,
) -> (Message, bool) {
    let mut verifier = message.finalize(&signer(key), time).unwrap().unwrap();
    let reply = tcp_exchange(server, &message.to_vec().unwrap()).await;
    let verified = verifier.verify(&reply).is_ok();
    (Message::from_vec(&reply).unwrap(), verified)
}

async fn send_unsigned(server: SocketAddr, message: &Message) -> Message {
    Message::from_vec(&tcp_exchange(server, &message.to_vec().unwrap()).await).unwrap()
}

fn tsig_error(response: &Message) -> Option<TsigError> {
    response.signature().and_then(|tsig| tsig.data.error)
}

#[tokio::test]
async fn answers_the_demo_zone_authoritatively_without_recursion() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    let soa = udp_query(addr, "kalbarprov.go.id.", RecordType::SOA).await;
    assert_eq!(soa.metadata.response_code, ResponseCode::NoError);
    assert!(soa.metadata.authoritative, "AA must be set: {soa:?}");
    assert!(!soa.metadata.recursion_desired);
    assert!(!soa.metadata.recursion_available);
    assert_eq!(serial(addr).await, SERIAL);

    let ns = udp_query(addr, "kalbarprov.go.id.", RecordType::NS).await;
    assert!(ns.metadata.authoritative);
    let mut targets: Vec<String> = ns.answers.iter().map(|r| r.data.to_string()).collect();
    targets.sort();
    assert_eq!(targets, ["ns1.kalbarprov.go.id.", "ns2.kalbarprov.go.id."]);

    for (host, ip) in [
        ("ns1.kalbarprov.go.id.", "203.0.113.53"),
        ("ns2.kalbarprov.go.id.", "198.51.100.53"),
        ("diskominfo.kalbarprov.go.id.", "203.0.113.11"),
        ("bappeda.kalbarprov.go.id.", "203.0.113.12"),
        ("dinkes.kalbarprov.go.id.", "203.0.113.14"),
    ] {
        let a = udp_query(addr, host, RecordType::A).await;
        assert!(a.metadata.authoritative, "{host}");
        assert_eq!(a.answers.len(), 1, "{host}: {a:?}");
        assert_eq!(a.answers[0].data.to_string(), ip, "{host}");
    }

    // A CNAME is answered as the CNAME (its in-zone target may follow).
    let bpkad = udp_query(addr, "bpkad.kalbarprov.go.id.", RecordType::A).await;
    assert!(bpkad.metadata.authoritative);
    assert_eq!(bpkad.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(
        bpkad.answers[0].data.to_string(),
        "hosting.kalbarprov.go.id."
    );

    // RFC 2308 §2.1: NXDOMAIN carries the SOA in the authority section.
    let missing = udp_query(addr, "tidak-ada.kalbarprov.go.id.", RecordType::A).await;
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    assert!(missing.metadata.authoritative);
    assert!(
        missing
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA)
    );

    // Not our zone: no answer, and no recursion either.
    let other = udp_query(addr, "example.com.", RecordType::A).await;
    assert_eq!(other.metadata.response_code, ResponseCode::Refused);

    // The same over TCP (same port).
    let tcp = Message::from_vec(
        &tcp_exchange(
            addr,
            &query_message(&name("disdik.kalbarprov.go.id."), RecordType::AAAA)
                .to_vec()
                .unwrap(),
        )
        .await,
    )
    .unwrap();
    assert!(tcp.metadata.authoritative);
    assert_eq!(tcp.answers[0].data.to_string(), "2001:db8:100::13");

    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_signed_update_from_hickorys_client_is_applied_and_bumps_the_serial() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();
    let before = serial(addr).await;

    // hickory-net's client, TSIG-signing every request and verifying every
    // signed answer.
    let (stream, sender) =
        TcpClientStream::new(addr, None, Some(TIMEOUT), TokioRuntimeProvider::default());
    let multiplexer = DnsMultiplexer::new(stream.await.unwrap(), sender)
        .with_timeout(TIMEOUT)
        .with_signer(signer(&update_key()));
    let (mut client, background) = Client::<TokioRuntimeProvider>::from_sender(multiplexer);
    let background = tokio::spawn(background);

    let record = a_record("layanan.kalbarprov.go.id.", [203, 0, 113, 50]);
    let response = client.create(record.clone(), zone()).await.unwrap();
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);

    let a = udp_query(addr, "layanan.kalbarprov.go.id.", RecordType::A).await;
    assert!(a.metadata.authoritative);
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.50");
    assert_eq!(a.answers[0].ttl, 300);
    // RFC 2136 §3.6: the serial is incremented once per applied update.
    assert_eq!(serial(addr).await, before + 1);

    // A second create: "RRset does not exist" (RFC 2136 §2.4.3) fails.
    let again = client.create(record, zone()).await;
    match again {
        Ok(response) => {
            assert_eq!(response.metadata.response_code, ResponseCode::YXRRSet)
        }
        Err(error) => panic!("expected a YXRRSET answer, got {error:?}"),
    }
    assert_eq!(serial(addr).await, before + 1, "a refused update bumped it");

    background.abort();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn failing_prerequisites_are_answered_with_their_rcode_and_signed() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();

    // diskominfo already has an A RRset: "RRset does not exist" fails.
    let (response, verified) = send_signed(
        addr,
        create(vec![a_record(
            "diskominfo.kalbarprov.go.id.",
            [203, 0, 113, 77],
        )]),
        &update_key(),
        now(),
    )
    .await;
    assert_eq!(response.metadata.response_code, ResponseCode::YXRRSet);
    assert!(verified, "the answer is signed with the update key");

    // "RRset exists (value independent)" (RFC 2136 §2.4.1) on a missing
    // name fails with NXRRSET.
    let append = update_message::append(
        RecordSet::from(a_record("belum.kalbarprov.go.id.", [203, 0, 113, 78])),
        zone(),
        true,
        false,
    );
    let (response, verified) = send_signed(addr, append, &update_key(), now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXRRSet);
    assert!(verified);

    assert_eq!(serial(addr).await, SERIAL);
    let a = udp_query(addr, "diskominfo.kalbarprov.go.id.", RecordType::A).await;
    assert_eq!(a.answers.len(), 1);
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.11");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unsigned_and_wrongly_signed_updates_are_refused_and_change_nothing() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();
    let update = || create(vec![a_record("liar.kalbarprov.go.id.", [203, 0, 113, 66])]);

    // Unsigned: REFUSED (RFC 2136 §3.3), no TSIG in the answer.
    let response = send_unsigned(addr, &update()).await;
    assert_eq!(response.metadata.message_type, MessageType::Response);
    assert_eq!(response.metadata.op_code, OpCode::Update);
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
    assert!(response.signature().is_none());

    // Unsigned over UDP as well.
    let socket = UdpSocket::bind(any_port()).await.unwrap();
    let request = update();
    socket
        .send_to(&request.to_vec().unwrap(), addr)
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let (len, _) = timeout(TIMEOUT, socket.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let response = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);

    // The right key name with another secret: NOTAUTH + BADSIG, unsigned
    // (RFC 8945 §5.2.2, §5.3.2).
    let forged = key("dnsdesk.", &[0x11; 32]);
    let (response, verified) = send_signed(addr, update(), &forged, now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NotAuth);
    assert_eq!(tsig_error(&response), Some(TsigError::BadSig));
    assert!(response.signature().unwrap().data.mac.is_empty());
    assert!(!verified);

    // A key name the server does not know: NOTAUTH + BADKEY (§5.2.1).
    let stranger = key("stranger.", &[0x5a; 32]);
    let (response, _) = send_signed(addr, update(), &stranger, now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NotAuth);
    assert_eq!(tsig_error(&response), Some(TsigError::BadKey));

    // The right key, signed an hour ago: NOTAUTH + BADTIME, and that answer
    // is signed (§5.2.3).
    let (response, _) = send_signed(addr, update(), &update_key(), now() - 3600).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NotAuth);
    assert_eq!(tsig_error(&response), Some(TsigError::BadTime));
    assert!(!response.signature().unwrap().data.mac.is_empty());

    let a = udp_query(addr, "liar.kalbarprov.go.id.", RecordType::A).await;
    assert_eq!(a.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(serial(addr).await, SERIAL);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn zone_transfers_need_the_update_key() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();
    let axfr = || {
        let mut message = query_message(&zone(), RecordType::AXFR);
        message.queries[0].set_query_class(DNSClass::IN);
        message
    };

    let response = send_unsigned(addr, &axfr()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
    assert!(response.answers.is_empty());

    let forged = key("dnsdesk.", &[0x11; 32]);
    let (response, _) = send_signed(addr, axfr(), &forged, now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NotAuth);
    assert_eq!(tsig_error(&response), Some(TsigError::BadSig));
    assert!(response.answers.is_empty());

    let (response, verified) = send_signed(addr, axfr(), &update_key(), now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(verified);
    let types: Vec<RecordType> = response.answers.iter().map(Record::record_type).collect();
    assert_eq!(types.first(), Some(&RecordType::SOA));
    assert_eq!(types.last(), Some(&RecordType::SOA));
    assert!(
        response
            .answers
            .iter()
            .any(|r| r.name == name("bappeda.kalbarprov.go.id."))
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn delegations_are_answered_as_referrals() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();

    // A PD running its own servers: NS below the apex, with glue.
    let mut message = create(vec![Record::from_rdata(
        name("sub.kalbarprov.go.id."),
        3600,
        RData::NS(NS(name("ns1.sub.kalbarprov.go.id."))),
    )]);
    message.add_update(a_record("ns1.sub.kalbarprov.go.id.", [198, 51, 100, 71]));
    let (response, _) = send_signed(addr, message, &update_key(), now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);

    // RFC 1034 §4.3.2 step 3b: a referral; the NS RRset of the cut in the
    // authority section, no answer.
    let referral = udp_query(addr, "www.sub.kalbarprov.go.id.", RecordType::A).await;
    assert_eq!(referral.metadata.response_code, ResponseCode::NoError);
    assert!(referral.answers.is_empty(), "{referral:?}");
    let cut = |m: &Message| {
        m.authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NS && r.name == name("sub.kalbarprov.go.id."))
    };
    assert!(cut(&referral), "{referral:?}");
    // Where hickory-server 0.26.3 departs from RFC 1034 §4.3.2: the
    // referral has AA set and no glue in the additional section. Should
    // either assertion fail, hickory was fixed: update the module docs.
    assert!(
        referral.metadata.authoritative,
        "hickory sets AA on referrals"
    );
    assert!(referral.additionals.is_empty(), "hickory adds no glue");

    // The glue's own name lies below the cut, so it is referred too.
    let glue = udp_query(addr, "ns1.sub.kalbarprov.go.id.", RecordType::A).await;
    assert!(glue.answers.is_empty(), "{glue:?}");
    assert!(cut(&glue), "{glue:?}");

    // NS at the cut itself comes back as an (authoritative) answer.
    let ns = udp_query(addr, "sub.kalbarprov.go.id.", RecordType::NS).await;
    assert_eq!(ns.answers.len(), 1, "{ns:?}");
    assert_eq!(ns.answers[0].data.to_string(), "ns1.sub.kalbarprov.go.id.");

    // The signed transfer still holds the glue.
    let mut axfr = query_message(&zone(), RecordType::AXFR);
    axfr.queries[0].set_query_class(DNSClass::IN);
    let (transfer, _) = send_signed(addr, axfr, &update_key(), now()).await;
    assert!(
        transfer.answers.iter().any(
            |r| r.name == name("ns1.sub.kalbarprov.go.id.") && r.record_type() == RecordType::A
        ),
        "{transfer:?}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn updates_survive_a_restart_and_a_changed_zone_file_is_ignored() {
    let data = DataDir::new();
    let server = data.start().await;
    let addr = server.local_addr();
    let (response, _) = send_signed(
        addr,
        create(vec![a_record("tetap.kalbarprov.go.id.", [203, 0, 113, 97])]),
        &update_key(),
        now(),
    )
    .await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    server.shutdown().await.unwrap();

    // An admin edits the zone file while the journal exists.
    let edited = std::fs::read_to_string(data.zone_file())
        .unwrap()
        .replace("2026112801", "2026120101")
        .replace("203.0.113.11", "203.0.113.111");
    std::fs::write(data.zone_file(), edited).unwrap();

    // Same address: shutdown released both sockets.
    let server = data.start_on(addr, &update_key()).await;
    assert_eq!(server.local_addr(), addr);
    let a = udp_query(addr, "tetap.kalbarprov.go.id.", RecordType::A).await;
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.97");
    let a = udp_query(addr, "diskominfo.kalbarprov.go.id.", RecordType::A).await;
    assert_eq!(a.answers[0].data.to_string(), "203.0.113.11");
    assert_eq!(serial(addr).await, SERIAL + 1);

    // Updating after the restart continues from the journaled serial.
    let (response, _) = send_signed(
        addr,
        create(vec![a_record("lagi.kalbarprov.go.id.", [203, 0, 113, 98])]),
        &update_key(),
        now(),
    )
    .await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(serial(addr).await, SERIAL + 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_raw_key_is_private_and_follows_the_configured_key() {
    let data = DataDir::new();
    let server = data.start().await;
    let raw = data.dir.path().join("data/embedded-update.key.raw");
    assert_eq!(
        std::fs::read(&raw).unwrap(),
        update_key().secret.expose(),
        "hickory reads raw bytes, not base64"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&raw).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let addr = server.local_addr();
    server.shutdown().await.unwrap();

    // The key is rotated: the old one no longer signs updates.
    let rotated = key("dnsdesk.", &[0x33; 32]);
    let server = data.start_on(addr, &rotated).await;
    let update = || create(vec![a_record("kunci.kalbarprov.go.id.", [203, 0, 113, 51])]);
    let (response, _) = send_signed(addr, update(), &update_key(), now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NotAuth);
    let (response, verified) = send_signed(addr, update(), &rotated, now()).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(verified);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_taken_port_fails_start_naming_the_address() {
    let data = DataDir::new();

    // UDP taken.
    let udp = std::net::UdpSocket::bind(any_port()).unwrap();
    let taken = udp.local_addr().unwrap();
    let err = EmbeddedServer::start(data.config(taken, &update_key()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EmbeddedError::Listen { proto: "UDP", addr, .. } if addr == taken),
        "{err:?}"
    );
    assert!(err.to_string().contains(&taken.to_string()), "{err}");

    // Only TCP taken.
    let tcp = std::net::TcpListener::bind(any_port()).unwrap();
    let taken = tcp.local_addr().unwrap();
    let err = EmbeddedServer::start(data.config(taken, &update_key()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EmbeddedError::Listen { proto: "TCP", addr, .. } if addr == taken),
        "{err:?}"
    );
    assert!(err.to_string().contains(&taken.to_string()), "{err}");

    // Nothing was written by the failed starts.
    assert!(!data.dir.path().join("data").exists());

    // A server already running there.
    let running = data.start().await;
    let err = EmbeddedServer::start(data.config(running.local_addr(), &update_key()))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbeddedError::Listen { .. }), "{err:?}");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bad_zone_fails_start_naming_the_file() {
    let data = DataDir::new();
    let missing = data.dir.path().join("nowhere.zone");
    let mut config = data.config(any_port(), &update_key());
    config.zone_file = missing.clone();
    let err = EmbeddedServer::start(config).await.unwrap_err();
    assert!(matches!(err, EmbeddedError::Zone { .. }), "{err:?}");
    assert!(err.to_string().contains("nowhere.zone"), "{err}");
    assert!(!data.dir.path().join("data/kalbarprov.go.id.jnl").exists());

    // A zone file for another origin: hickory finds no SOA at our apex.
    let shipped = std::fs::read_to_string(data.zone_file()).unwrap();
    std::fs::write(
        data.zone_file(),
        "$ORIGIN example.org.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 900 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n",
    )
    .unwrap();
    let err = EmbeddedServer::start(data.config(any_port(), &update_key()))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbeddedError::Zone { .. }), "{err:?}");
    assert!(err.to_string().contains("SOA"), "{err}");
    assert!(!data.dir.path().join("data/kalbarprov.go.id.jnl").exists());

    // An empty journal (a first start killed mid-way) holds no zone; it is
    // the admin's file, so it is reported, not replaced.
    std::fs::write(data.dir.path().join("data/kalbarprov.go.id.jnl"), b"").unwrap();
    let err = EmbeddedServer::start(data.config(any_port(), &update_key()))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbeddedError::NoSoa { .. }), "{err:?}");
    assert!(err.to_string().contains("kalbarprov.go.id.jnl"), "{err}");
    std::fs::remove_file(data.dir.path().join("data/kalbarprov.go.id.jnl")).unwrap();

    // Nothing failed starts left behind stops a corrected zone file.
    std::fs::write(data.zone_file(), shipped).unwrap();
    let server = data.start().await;
    assert_eq!(serial(server.local_addr()).await, SERIAL);
    server.shutdown().await.unwrap();
}
