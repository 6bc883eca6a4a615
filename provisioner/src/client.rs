//! Talking to authoritative servers: TSIG-signed RFC 2136 UPDATE messages
//! over TCP, non-recursive (RD=0) queries used for checks and verification,
//! and signed zone transfers.
//!
//! The exchange is done here with hickory-proto's messages, signer and
//! verifier rather than through hickory-net's `DnsMultiplexer::with_signer`:
//! the multiplexer verifies every answer and, when that fails, hands back
//! only an error string and drops the answer. A server's TSIG error (BADSIG
//! and BADKEY come back unsigned by design, RFC 8945 §5.3.2) would then be
//! indistinguishable from a forged answer, and we must not match on error
//! text. Here the answer is decoded first and judged by
//! [`UpdateError::from_response`]; an unsigned or badly signed NOERROR is
//! never taken for success.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::ProtoError;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::TSigner;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

use crate::error::{QueryError, ResponseTsig, TsigFailure, UpdateError};
use crate::tsig::{FUDGE, TsigKey};

/// The UDP payload size we advertise in EDNS (RFC 6891 §6.2.5), the value
/// of DNS Flag Day 2020, which avoids IP fragmentation on common paths.
const EDNS_PAYLOAD: u16 = 1232;

/// Receive buffer for UDP answers: room for servers that send more than we
/// advertised (hickory's clients use the same size).
const UDP_BUFFER: usize = 4096;

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
/// to `server` over a fresh TCP connection, signed with `key`, and waits at
/// most `timeout` in all.
///
/// Ok only for NOERROR in an answer whose TSIG verified (RFC 8945 §5.4).
/// Every other outcome is a typed [`UpdateError`].
pub async fn send_update(
    server: SocketAddr,
    key: &TsigKey,
    mut message: Message,
    timeout: Duration,
) -> Result<(), UpdateError> {
    let deadline = Instant::now() + timeout;
    message.metadata.id = rand::random();
    let signer = key
        .signer(FUDGE)
        .map_err(|source| UpdateError::Signer { source })?;
    let (request, verifier) = sign(&mut message, &signer).map_err(|source| match source {
        ProtoError::MaxBufferSizeExceeded(len) => UpdateError::TooLarge { len },
        source => UpdateError::Encode { source },
    })?;
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
    let tsig = match response.signature() {
        None => ResponseTsig::Absent,
        Some(tsig) => match tsig.data.error {
            Some(error) => ResponseTsig::Error(error),
            None => match verifier.map(|mut v| v.verify(&reply)) {
                Some(Ok(_)) => ResponseTsig::Verified,
                Some(Err(_)) | None => ResponseTsig::Invalid,
            },
        },
    };
    UpdateError::from_response(server, response.metadata.response_code, tsig)
}

/// Signs `message` and encodes it with the two-byte length prefix of DNS
/// over TCP (RFC 1035 §4.2.2), returning the verifier of the answer.
fn sign(
    message: &mut Message,
    signer: &TSigner,
) -> Result<(Vec<u8>, Option<hickory_proto::rr::TSigVerifier>), ProtoError> {
    let verifier = message.finalize(signer, unix_now())?;
    let bytes = message.to_vec()?;
    Ok((tcp_frame(&bytes)?, verifier))
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
    let reply = timeout_at(deadline, udp_exchange(server, &bytes, message.metadata.id))
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
/// §9.2) and waits for the reply carrying our id; datagrams with other ids,
/// stray or spoofed, are skipped. The socket is connected, so only the
/// server's address is heard, and an ICMP port unreachable ends the wait
/// at once as `ConnectionRefused`.
async fn udp_exchange(server: SocketAddr, request: &[u8], id: u16) -> std::io::Result<Vec<u8>> {
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
        let n = socket.recv(&mut buf).await?;
        if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            buf.truncate(n);
            return Ok(buf);
        }
    }
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
/// RFC 8945 §5.3.1 lets a server leave up to 99 messages of a transfer
/// unsigned; only signed ones are checked here, and the first must be.
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
    let signer = key
        .signer(FUDGE)
        .map_err(|source| QueryError::Signer { source })?;
    let (request, mut verifier) =
        sign(&mut message, &signer).map_err(|source| QueryError::Encode { source })?;
    let mut stream = TcpStream::connect(server).await.map_err(io)?;
    stream.write_all(&request).await.map_err(io)?;

    let mut records = Vec::new();
    let mut soas = 0;
    let mut first = true;
    while soas < 2 {
        let reply = read_tcp_message(&mut stream).await.map_err(io)?;
        let response = parse_answer(server, &reply, &message)?;
        let tsig_error = response.signature().and_then(|t| t.data.error);
        if let Some(failure) = tsig_error.and_then(TsigFailure::from_tsig_error) {
            return Err(QueryError::Tsig { server, failure });
        }
        if response.metadata.response_code != ResponseCode::NoError {
            return Err(QueryError::Unusable {
                server,
                rcode: response.metadata.response_code,
            });
        }
        match (&mut verifier, response.signature()) {
            (Some(v), Some(_)) => {
                v.verify(&reply).map_err(|_| QueryError::Tsig {
                    server,
                    failure: TsigFailure::ResponseBadSig,
                })?;
            }
            (_, None) if first => {
                return Err(QueryError::Tsig {
                    server,
                    failure: TsigFailure::ResponseUnsigned,
                });
            }
            _ => {}
        }
        first = false;
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
    Ok(records)
}
