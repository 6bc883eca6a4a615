//! `send_notify` against faults a real secondary does not produce on
//! demand, injected by a tiny UDP responder on 127.0.0.1: an unsigned
//! NOERROR to a signed NOTIFY (not success), a lost datagram (sent again),
//! stray datagrams with another id or opcode (ignored), and silence (a
//! retryable timeout). BIND's real answers are in `tsig_interop.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use provisioner::client::send_notify;
use provisioner::error::{NotifyError, TsigFailure};
use provisioner::tsig::{TsigAlgorithm, TsigKey};
use tokio::net::UdpSocket;

const TIMEOUT: Duration = Duration::from_secs(5);

fn zone() -> Name {
    Name::from_ascii("example.test.").unwrap()
}

/// What the responder does with the `n`th NOTIFY (from 0).
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answer each one NOERROR, unsigned.
    Unsigned,
    /// Drop the first; answer the second after two strays (another id,
    /// then our id with opcode QUERY).
    LoseFirstThenStrays,
    /// Never answer.
    Silent,
}

/// Starts the responder; returns its address and how many NOTIFYs it got.
async fn responder(behaviour: Behaviour) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            let request = Message::from_vec(&buf[..n]).unwrap();
            let count = counter.fetch_add(1, Ordering::SeqCst);
            let reply = |id, op_code| {
                let mut m = Message::new(id, MessageType::Response, op_code);
                m.metadata.authoritative = true;
                m.metadata.response_code = ResponseCode::NoError;
                m.queries = request.queries.clone();
                m.to_vec().unwrap()
            };
            let id = request.metadata.id;
            match behaviour {
                Behaviour::Silent => {}
                Behaviour::Unsigned => {
                    socket
                        .send_to(&reply(id, OpCode::Notify), from)
                        .await
                        .unwrap();
                }
                Behaviour::LoseFirstThenStrays if count == 0 => {}
                Behaviour::LoseFirstThenStrays => {
                    for datagram in [
                        reply(id.wrapping_add(1), OpCode::Notify),
                        reply(id, OpCode::Query),
                        reply(id, OpCode::Notify),
                    ] {
                        socket.send_to(&datagram, from).await.unwrap();
                    }
                }
            }
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn a_signed_notify_needs_a_signed_answer() {
    let (addr, _) = responder(Behaviour::Unsigned).await;
    let key = TsigKey::generate(
        Name::from_ascii("dnsdesk.").unwrap(),
        TsigAlgorithm::HmacSha1,
    );
    let error = send_notify(addr, &zone(), Some(7), Some(&key), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NotifyError::Tsig {
                failure: TsigFailure::ResponseUnsigned,
                ..
            }
        ),
        "{error:?}"
    );
    // Unsigned, the same answer is the acknowledgement.
    send_notify(addr, &zone(), Some(7), None, TIMEOUT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lost_notify_is_sent_again_and_strays_are_ignored() {
    let (addr, seen) = responder(Behaviour::LoseFirstThenStrays).await;
    send_notify(addr, &zone(), None, None, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn silence_is_a_retryable_timeout() {
    let (addr, _) = responder(Behaviour::Silent).await;
    let error = send_notify(addr, &zone(), None, None, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(error, NotifyError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
}

/// The NOTIFY itself, as RFC 1996 §3.7 and §4.7 describe it: opcode
/// NOTIFY, AA, one SOA question for the zone, the serial hint in the
/// answer section.
#[tokio::test]
async fn the_notify_carries_the_zone_and_the_serial_hint() {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let sent = tokio::spawn(async move {
        send_notify(
            addr,
            &zone(),
            Some(2026112801),
            None,
            Duration::from_millis(300),
        )
        .await
    });
    let mut buf = vec![0u8; 4096];
    let (n, _) = socket.recv_from(&mut buf).await.unwrap();
    let request = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(request.metadata.op_code, OpCode::Notify);
    assert_eq!(request.metadata.message_type, MessageType::Query);
    assert!(request.metadata.authoritative);
    assert_eq!(request.queries.len(), 1);
    assert_eq!(request.queries[0].name(), &zone());
    assert_eq!(request.queries[0].query_type(), RecordType::SOA);
    let serials: Vec<u32> = request
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
        .collect();
    assert_eq!(serials, [2026112801]);
    // Unanswered, it times out.
    assert!(matches!(
        sent.await.unwrap(),
        Err(NotifyError::Timeout { .. })
    ));
}
