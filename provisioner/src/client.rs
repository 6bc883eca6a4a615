//! Talking to authoritative servers: TSIG-signed RFC 2136 UPDATE messages
//! over TCP, and non-recursive (RD=0) queries used for checks and
//! verification.
//!
//! The exchange is done here rather than through hickory's multiplexer so
//! that a server's TSIG error (BADSIG, BADKEY, BADTIME: sent unsigned, RFC
//! 8945 §5.3.2) is reported as what it is, and an unsigned or badly signed
//! NOERROR is never taken for success.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout as within;

use crate::error::{QueryError, TsigFailure, UpdateError};
use crate::tsig::TsigKey;

/// What a server said to a query, as the verifier needs it.
#[derive(Debug, Clone)]
pub struct QueryAnswer {
    pub rcode: ResponseCode,
    /// The AA bit: the server answered from its own zone data.
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
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
/// to `server` over TCP, signed with `key`, and waits at most `timeout`.
///
/// Ok only for NOERROR with a response whose TSIG verified. Every other
/// outcome is a typed [`UpdateError`].
pub async fn send_update(
    server: SocketAddr,
    key: &TsigKey,
    mut message: Message,
    timeout: Duration,
) -> Result<(), UpdateError> {
    message.metadata.id = rand::random();
    let signer = key.signer().map_err(UpdateError::Build)?;
    let verifier = message
        .finalize(&signer, unix_now())
        .map_err(|e| UpdateError::Build(e.to_string()))?;
    let bytes = message
        .to_vec()
        .map_err(|e| UpdateError::Build(e.to_string()))?;
    let reply = match within(timeout, tcp_exchange(server, &bytes)).await {
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
    let response = Message::from_vec(&reply).map_err(|e| UpdateError::Malformed {
        server,
        detail: e.to_string(),
    })?;
    if response.metadata.id != message.metadata.id
        || response.metadata.message_type != MessageType::Response
    {
        return Err(UpdateError::Malformed {
            server,
            detail: "the reply does not answer our request".to_owned(),
        });
    }
    let rcode = response.metadata.response_code;
    let tsig_failure = match response.signature() {
        // RFC 8945 §5.3.2: BADKEY/BADSIG errors come back with an empty MAC.
        Some(tsig) => match tsig.data.error {
            Some(error) => Some(tsig_failure(error)),
            None => match verifier {
                Some(mut verifier) => verifier
                    .verify(&reply)
                    .err()
                    .map(|_| TsigFailure::ResponseBadSig),
                None => None,
            },
        },
        // An unsigned answer proves nothing: an error code may be reported
        // (it changes nothing in the zone), success may not.
        None if rcode == ResponseCode::NoError => Some(TsigFailure::ResponseUnsigned),
        None => None,
    };
    UpdateError::from_response(server, rcode, tsig_failure)
}

fn tsig_failure(error: hickory_proto::rr::rdata::tsig::TsigError) -> TsigFailure {
    use hickory_proto::rr::rdata::tsig::TsigError;
    match error {
        TsigError::BadSig => TsigFailure::BadSig,
        TsigError::BadKey => TsigFailure::BadKey,
        TsigError::BadTime => TsigFailure::BadTime,
        TsigError::BadTrunc | TsigError::Unknown(_) => TsigFailure::BadTrunc,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One request and its reply over a fresh TCP connection (RFC 1035 §4.2.2:
/// two-byte length prefix). On error, says whether the request was sent.
async fn tcp_exchange(
    server: SocketAddr,
    request: &[u8],
) -> Result<Vec<u8>, (bool, std::io::Error)> {
    let mut stream = TcpStream::connect(server).await.map_err(|e| (false, e))?;
    let _ = stream.set_nodelay(true);
    let len = u16::try_from(request.len()).map_err(|_| {
        (
            false,
            std::io::Error::other("message longer than 65535 bytes"),
        )
    })?;
    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await.map_err(|e| (false, e))?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(|e| (true, e))?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).await.map_err(|e| (true, e))?;
    Ok(reply)
}

/// Asks `server` for `name`/`rtype` with RD=0 (UDP, retried over TCP when
/// truncated), waiting at most `timeout`.
pub async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
) -> Result<QueryAnswer, QueryError> {
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = false;
    let mut q = Query::query(name.clone(), rtype);
    q.set_query_class(DNSClass::IN);
    message.add_query(q);
    message
        .edns
        .get_or_insert_with(Edns::new)
        .set_max_payload(1232)
        .set_version(0);
    let bytes = message.to_vec().map_err(|e| QueryError::Malformed {
        server,
        detail: e.to_string(),
    })?;
    let id = message.metadata.id;
    let reply = within(timeout, udp_exchange(server, &bytes, id))
        .await
        .map_err(|_| QueryError::Timeout { server })?
        .map_err(|source| QueryError::Io { server, source })?;
    let mut response = parse_reply(server, &reply, id)?;
    if response.metadata.truncation {
        let reply = within(timeout, tcp_exchange(server, &bytes))
            .await
            .map_err(|_| QueryError::Timeout { server })?
            .map_err(|(_, source)| QueryError::Io { server, source })?;
        response = parse_reply(server, &reply, id)?;
    }
    Ok(response.into())
}

fn parse_reply(server: SocketAddr, bytes: &[u8], id: u16) -> Result<Message, QueryError> {
    let message = Message::from_vec(bytes).map_err(|e| QueryError::Malformed {
        server,
        detail: e.to_string(),
    })?;
    if message.metadata.id != id {
        return Err(QueryError::Malformed {
            server,
            detail: "reply id does not match".to_owned(),
        });
    }
    Ok(message)
}

/// Sends one datagram and waits for the reply with our id (replies with
/// other ids, stray or spoofed, are skipped).
async fn udp_exchange(server: SocketAddr, request: &[u8], id: u16) -> std::io::Result<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    socket.send(request).await?;
    let mut buf = vec![0u8; 4096];
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
    let soas: Vec<u32> = answer
        .answers
        .iter()
        .filter(|r| r.name == *zone)
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
        .collect();
    match (answer.authoritative, soas.as_slice()) {
        (true, [serial]) => Ok(*serial),
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
pub async fn transfer(
    server: SocketAddr,
    zone: &Name,
    key: &TsigKey,
    timeout: Duration,
) -> Result<Vec<Record>, QueryError> {
    within(timeout, transfer_inner(server, zone, key))
        .await
        .map_err(|_| QueryError::Timeout { server })?
}

async fn transfer_inner(
    server: SocketAddr,
    zone: &Name,
    key: &TsigKey,
) -> Result<Vec<Record>, QueryError> {
    let malformed = |detail: String| QueryError::Malformed { server, detail };
    let io = |source| QueryError::Io { server, source };
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    message.add_query(Query::query(zone.clone(), RecordType::AXFR));
    let signer = key.signer().map_err(malformed)?;
    let mut verifier = message
        .finalize(&signer, unix_now())
        .map_err(|e| malformed(e.to_string()))?;
    let bytes = message.to_vec().map_err(|e| malformed(e.to_string()))?;
    let len = u16::try_from(bytes.len()).map_err(|_| malformed("request too long".to_owned()))?;
    let mut stream = TcpStream::connect(server).await.map_err(io)?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await.map_err(io)?;

    let mut records = Vec::new();
    let mut soas = 0;
    while soas < 2 {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.map_err(io)?;
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut reply).await.map_err(io)?;
        let response = Message::from_vec(&reply).map_err(|e| malformed(e.to_string()))?;
        if response.metadata.id != message.metadata.id {
            return Err(malformed("reply id does not match".to_owned()));
        }
        if response.metadata.response_code != ResponseCode::NoError {
            return Err(QueryError::Unusable {
                server,
                rcode: response.metadata.response_code,
            });
        }
        match (&mut verifier, response.signature()) {
            (Some(v), Some(_)) => {
                v.verify(&reply)
                    .map_err(|e| malformed(format!("transfer signature: {e}")))?;
            }
            (Some(_), None) if records.is_empty() => {
                return Err(malformed(
                    "the transfer's first message is unsigned".to_owned(),
                ));
            }
            _ => {}
        }
        if response.answers.is_empty() {
            return Err(malformed("empty transfer message".to_owned()));
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
