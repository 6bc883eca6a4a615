//! Talking to authoritative servers: TSIG-signed RFC 2136 UPDATE messages
//! over TCP, non-recursive (RD=0) queries used for checks and verification,
//! signed zone transfers, and RFC 1996 NOTIFY.
//!
//! Messages are hickory-proto's; signing and verification are ours
//! ([`crate::tsig::sign_request`], [`crate::tsig::AnswerVerifier`]), since
//! hickory computes MACs for hmac-sha256/384/512 only. Nor is the exchange
//! done through hickory-net's `DnsMultiplexer::with_signer`: the
//! multiplexer verifies every answer and, when that fails, hands back only
//! an error string and drops the answer. A server's TSIG error (BADSIG
//! and BADKEY come back unsigned by design, RFC 8945 §5.3.2) would then be
//! indistinguishable from a forged answer, and we must not match on error
//! text. Here the answer is decoded first and judged by
//! [`UpdateError::from_response`]; an unsigned or badly signed NOERROR is
//! never taken for success.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::ProtoError;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

use crate::error::{NotifyError, QueryError, ResponseTsig, TsigFailure, UpdateError};
use crate::tsig::{FUDGE, SignError, SignedRequest, TsigKey, sign_request};

/// The UDP payload size we advertise in EDNS (RFC 6891 §6.2.5), the value
/// of DNS Flag Day 2020, which avoids IP fragmentation on common paths.
const EDNS_PAYLOAD: u16 = 1232;

/// Receive buffer for UDP answers: room for servers that send more than we
/// advertised (hickory's clients use the same size).
const UDP_BUFFER: usize = 4096;

/// How long to wait for the answer to a NOTIFY before sending it again. A
/// master keeps a NOTIFY in a retry queue until answered; RFC 1996 §3.3:
/// the response's "reception by the master is an indication that the slave
/// has received the NOTIFY and that the master can remove the slave from
/// any retry queue for this NOTIFY event." The caller's timeout bounds it.
const NOTIFY_RETRANSMIT: Duration = Duration::from_secs(1);

/// What a server said to a query, as the verifier needs it.
#[derive(Debug, Clone)]
pub struct QueryAnswer {
    /// The response code (extended by EDNS when present).
    pub rcode: ResponseCode,
    /// The AA bit: the server answered from its own zone data.
    pub authoritative: bool,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section (SOA for negative answers, NS for referrals).
    pub authority: Vec<Record>,
    /// The additional section, without the OPT and TSIG pseudo-records.
    pub additionals: Vec<Record>,
}

impl From<Message> for QueryAnswer {
    fn from(m: Message) -> Self {
        Self {
            rcode: m.metadata.response_code,
            authoritative: m.metadata.authoritative,
            answers: m.answers,
            authority: m.authorities,
            additionals: m.additionals,
        }
    }
}

/// Sends `message` (an UPDATE built by [`crate::plan::UpdatePlan::to_message`])
/// to `server` over a fresh TCP connection, signed with `key` at the
/// current time, and waits at most `timeout` in all.
///
/// Ok only for NOERROR in an answer whose TSIG verified (RFC 8945 §5.4).
/// Every other outcome is a typed [`UpdateError`].
pub async fn send_update(
    server: SocketAddr,
    key: &TsigKey,
    message: Message,
    timeout: Duration,
) -> Result<(), UpdateError> {
    send_update_at(server, key, message, timeout, unix_now()).await
}

/// [`send_update`] with `time_signed` (seconds since the epoch) as the
/// TSIG Time Signed instead of the current time: for clock-skew tests,
/// which a server answers with BADTIME (RFC 8945 §5.2.3). The answer is
/// still checked against our real clock.
pub async fn send_update_at(
    server: SocketAddr,
    key: &TsigKey,
    mut message: Message,
    timeout: Duration,
    time_signed: u64,
) -> Result<(), UpdateError> {
    let deadline = Instant::now() + timeout;
    message.metadata.id = rand::random();
    let encode_error = |source| match source {
        ProtoError::MaxBufferSizeExceeded(len) => UpdateError::TooLarge { len },
        source => UpdateError::Encode { source },
    };
    let bytes = message.to_vec().map_err(encode_error)?;
    let SignedRequest { wire, mut verifier } = sign_request(key, &bytes, time_signed, FUDGE)
        .map_err(|source| match source {
            SignError::TooLarge { len } => UpdateError::TooLarge { len },
            source => UpdateError::Sign { source },
        })?;
    let request = tcp_frame(&wire).map_err(encode_error)?;
    let reply = match timeout_at(deadline, tcp_exchange(server, &request)).await {
        Err(_) => return Err(UpdateError::Timeout { server }),
        Ok(Err((sent, source))) => {
            return Err(UpdateError::Io {
                server,
                sent,
                source,
            });
        }
        Ok(Ok(reply)) => reply,
    };
    let response =
        Message::from_vec(&reply).map_err(|source| UpdateError::Malformed { server, source })?;
    if !is_reply_to(&response, &message) {
        return Err(UpdateError::Mismatched { server });
    }
    let tsig = ResponseTsig::from_check(&verifier.check(&reply, &response, unix_now()));
    UpdateError::from_response(server, response.metadata.response_code, tsig)
}

/// `bytes` with the two-byte length prefix of DNS over TCP.
fn tcp_frame(bytes: &[u8]) -> Result<Vec<u8>, ProtoError> {
    let len =
        u16::try_from(bytes.len()).map_err(|_| ProtoError::MaxBufferSizeExceeded(bytes.len()))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    Ok(framed)
}

/// Whether `response` answers `request`: same id, QR set, same opcode.
fn is_reply_to(response: &Message, request: &Message) -> bool {
    response.metadata.id == request.metadata.id
        && response.metadata.message_type == MessageType::Response
        && response.metadata.op_code == request.metadata.op_code
}

/// Seconds since the epoch, for the TSIG Time Signed field (RFC 8945 §4.2).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One framed request and its reply over a fresh TCP connection. On error,
/// says whether the request had been written.
async fn tcp_exchange(
    server: SocketAddr,
    framed: &[u8],
) -> Result<Vec<u8>, (bool, std::io::Error)> {
    let mut stream = TcpStream::connect(server).await.map_err(|e| (false, e))?;
    // One write of a complete message: Nagle would only delay it.
    let _ = stream.set_nodelay(true);
    stream.write_all(framed).await.map_err(|e| (true, e))?;
    read_tcp_message(&mut stream).await.map_err(|e| (true, e))
}

/// Reads one length-prefixed DNS message from a TCP stream.
async fn read_tcp_message(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).await?;
    Ok(reply)
}

/// Asks `server` for `name`/`rtype` in class IN with RD=0 and EDNS, over UDP
/// and again over TCP if the answer is truncated (RFC 7766 §5: "the client
/// ... SHOULD retry the query over TCP"), waiting at most `timeout` in all.
///
/// Every section of the answer is returned, whatever its rcode.
pub async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
) -> Result<QueryAnswer, QueryError> {
    let deadline = Instant::now() + timeout;
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = false;
    let mut question = Query::query(name.clone(), rtype);
    question.set_query_class(DNSClass::IN);
    message.add_query(question);
    message
        .edns
        .get_or_insert_with(Edns::new)
        .set_max_payload(EDNS_PAYLOAD)
        .set_version(0);
    let bytes = message
        .to_vec()
        .map_err(|source| QueryError::Encode { source })?;
    let id = message.metadata.id;
    let reply = timeout_at(
        deadline,
        udp_exchange(server, &bytes, |d| has_id(d, id), None),
    )
    .await
    .map_err(|_| QueryError::Timeout { server })?
    .map_err(|source| QueryError::Io { server, source })?;
    let mut response = parse_answer(server, &reply, &message)?;
    if response.metadata.truncation {
        let framed = tcp_frame(&bytes).map_err(|source| QueryError::Encode { source })?;
        let reply = timeout_at(deadline, tcp_exchange(server, &framed))
            .await
            .map_err(|_| QueryError::Timeout { server })?
            .map_err(|(_, source)| QueryError::Io { server, source })?;
        response = parse_answer(server, &reply, &message)?;
    }
    Ok(response.into())
}

/// Decodes an answer to `request` and checks that it is one: same id, QR
/// set, and the same question if it carries one (RFC 5452 §4.2's checks; a
/// FORMERR answer may omit the question).
fn parse_answer(
    server: SocketAddr,
    bytes: &[u8],
    request: &Message,
) -> Result<Message, QueryError> {
    let message =
        Message::from_vec(bytes).map_err(|source| QueryError::Malformed { server, source })?;
    let same_question = message.queries.is_empty() || message.queries == request.queries;
    if !is_reply_to(&message, request) || !same_question {
        return Err(QueryError::Mismatched { server });
    }
    Ok(message)
}

/// Sends one datagram from a fresh socket (a random source port, RFC 5452
/// §9.2) and waits for the reply that `accept` takes (ours: our id, and for
/// a NOTIFY also QR and the opcode); datagrams it refuses, stray or
/// spoofed, are skipped. With `resend_every`, the datagram is sent again
/// whenever that long passes without a reply. The socket is connected, so
/// only the server's address is heard, and an ICMP port unreachable ends
/// the wait at once as `ConnectionRefused`.
async fn udp_exchange(
    server: SocketAddr,
    request: &[u8],
    accept: impl Fn(&[u8]) -> bool,
    resend_every: Option<Duration>,
) -> std::io::Result<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    socket.send(request).await?;
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let n = match resend_every {
            None => socket.recv(&mut buf).await?,
            Some(interval) => match tokio::time::timeout(interval, socket.recv(&mut buf)).await {
                Ok(received) => received?,
                Err(_) => {
                    socket.send(request).await?;
                    continue;
                }
            },
        };
        if accept(&buf[..n]) {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

/// Whether a datagram starts with `id`, the first field of the header.
fn has_id(datagram: &[u8], id: u16) -> bool {
    datagram.len() >= 2 && u16::from_be_bytes([datagram[0], datagram[1]]) == id
}

/// The SOA serial `server` answers for `zone` (RD=0); an error unless the
/// answer is authoritative and holds exactly one SOA for the zone.
pub async fn soa_serial(
    server: SocketAddr,
    zone: &Name,
    timeout: Duration,
) -> Result<u32, QueryError> {
    let answer = query(server, zone, RecordType::SOA, timeout).await?;
    let mut soas = answer
        .answers
        .iter()
        .filter(|r| r.name == *zone)
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        });
    match (answer.authoritative, soas.next(), soas.next()) {
        (true, Some(serial), None) => Ok(serial),
        _ => Err(QueryError::Unusable {
            server,
            rcode: answer.rcode,
        }),
    }
}

/// Reads the whole zone from `server` by AXFR (RFC 5936) over TCP, signed
/// with `key`; every signed message of the answer is verified (RFC 8945
/// §5.3.1). Used where queries cannot show the data, such as glue below a
/// delegation, which a parent serves only in referrals.
///
/// RFC 8945 §5.3.1: "a client that receives DNS messages and verifies TSIG
/// MUST accept up to 99 intermediary messages without a TSIG and MUST
/// verify that both the first and last message contain a TSIG." Each
/// signed message's MAC covers the one before and the unsigned messages
/// since, so the last MAC proves the whole answer.
pub async fn transfer(
    server: SocketAddr,
    zone: &Name,
    key: &TsigKey,
    timeout: Duration,
) -> Result<Vec<Record>, QueryError> {
    let deadline = Instant::now() + timeout;
    timeout_at(deadline, transfer_inner(server, zone, key))
        .await
        .map_err(|_| QueryError::Timeout { server })?
}

async fn transfer_inner(
    server: SocketAddr,
    zone: &Name,
    key: &TsigKey,
) -> Result<Vec<Record>, QueryError> {
    let io = |source| QueryError::Io { server, source };
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    message.add_query(Query::query(zone.clone(), RecordType::AXFR));
    let bytes = message
        .to_vec()
        .map_err(|source| QueryError::Encode { source })?;
    let SignedRequest { wire, mut verifier } = sign_request(key, &bytes, unix_now(), FUDGE)
        .map_err(|source| QueryError::Sign { source })?;
    let request = tcp_frame(&wire).map_err(|source| QueryError::Encode { source })?;
    let mut stream = TcpStream::connect(server).await.map_err(io)?;
    stream.write_all(&request).await.map_err(io)?;

    // Records are gathered as they come but returned only once the last
    // message's MAC, which covers every message before it, has verified.
    let mut records = Vec::new();
    let mut soas = 0;
    while soas < 2 {
        let reply = read_tcp_message(&mut stream).await.map_err(io)?;
        let response = parse_answer(server, &reply, &message)?;
        let check = verifier.check(&reply, &response, unix_now());
        QueryError::from_transfer_message(
            server,
            response.metadata.response_code,
            ResponseTsig::from_check(&check),
        )?;
        if response.answers.is_empty() {
            return Err(QueryError::Unusable {
                server,
                rcode: response.metadata.response_code,
            });
        }
        for record in response.answers {
            if record.record_type() == RecordType::SOA {
                soas += 1;
                if soas == 2 {
                    break;
                }
                if !records.is_empty() {
                    continue;
                }
            }
            records.push(record);
        }
    }
    verifier.finish().map_err(|_| QueryError::Tsig {
        server,
        failure: TsigFailure::ResponseUnsigned,
    })?;
    Ok(records)
}

/// Tells `server`, a secondary of `zone`, that the zone changed (RFC 1996):
/// a NOTIFY over UDP, sent again every second until answered or until
/// `timeout` has passed in all. Signed with `key` when given; then the
/// answer must verify too.
///
/// The request is what RFC 1996 §4.7 describes as the answer's model,
/// "identical to the NOTIFY request, except that the QR bit is also set":
///
/// ```text
/// query ID:   (same)
/// op:         NOTIFY (4)
/// resp:       NOERROR
/// flags:      QR AA
/// qcount:     1
/// qname:      (zone name)
/// qclass:     (zone class)
/// qtype:      T_SOA
/// ```
///
/// `serial`, when known, goes in the answer section (§3.7: "If ANCOUNT>0,
/// then the answer section represents an unsecure hint at the new RRset for
/// this <QNAME,QCLASS,QTYPE>."): an SOA whose serial is the new one; a
/// secondary compares only the serial, so the other fields are
/// placeholders.
///
/// Ok only for NOERROR in a reply with our id, QR set and opcode NOTIFY;
/// other datagrams are ignored.
pub async fn send_notify(
    server: SocketAddr,
    zone: &Name,
    serial: Option<u32>,
    key: Option<&TsigKey>,
    timeout: Duration,
) -> Result<(), NotifyError> {
    let deadline = Instant::now() + timeout;
    let id = rand::random();
    let mut message = Message::new(id, MessageType::Query, OpCode::Notify);
    message.metadata.authoritative = true;
    let mut question = Query::query(zone.clone(), RecordType::SOA);
    question.set_query_class(DNSClass::IN);
    message.add_query(question);
    if let Some(serial) = serial {
        let hint = SOA::new(zone.clone(), zone.clone(), serial, 0, 0, 0, 0);
        message.add_answer(Record::from_rdata(zone.clone(), 0, RData::SOA(hint)));
    }
    let bytes = message
        .to_vec()
        .map_err(|source| NotifyError::Encode { source })?;
    let (request, mut verifier) = match key {
        None => (bytes, None),
        Some(key) => {
            let signed = sign_request(key, &bytes, unix_now(), FUDGE)
                .map_err(|source| NotifyError::Sign { source })?;
            (signed.wire, Some(signed.verifier))
        }
    };
    let answers_us = |d: &[u8]| has_id(d, id) && d.len() > 2 && is_notify_response(d[2]);
    let reply = timeout_at(
        deadline,
        udp_exchange(server, &request, answers_us, Some(NOTIFY_RETRANSMIT)),
    )
    .await
    .map_err(|_| NotifyError::Timeout { server })?
    .map_err(|source| NotifyError::Io { server, source })?;
    let response =
        Message::from_vec(&reply).map_err(|source| NotifyError::Malformed { server, source })?;
    let tsig = verifier
        .as_mut()
        .map(|v| ResponseTsig::from_check(&v.check(&reply, &response, unix_now())));
    NotifyError::from_response(server, response.metadata.response_code, tsig)
}

/// Whether the header's third byte says QR=1 and opcode NOTIFY: the byte
/// is QR, then the four opcode bits (RFC 1035 §4.1.1).
fn is_notify_response(flags: u8) -> bool {
    flags & 0x80 != 0 && (flags >> 3) & 0x0F == u8::from(OpCode::Notify)
}
