//! TSIG on the wire (RFC 8945): signing a request (§5.1) and verifying the
//! answer to it (§5.4), or the stream of answers of a zone transfer
//! (§5.3.1). The digest is laid out here byte by byte and the MAC is ours
//! ([`super::mac`]), for all five algorithms; hickory-proto only decodes
//! the TSIG record of an answer.
//!
//! The digest of a request (§4.3.2, §4.3.3) is the message before the TSIG
//! RR is added, then the TSIG variables:
//!
//! ```text
//! | TSIG RR    | NAME           | Key name, in canonical wire format |
//! | TSIG RR    | CLASS          | MUST be ANY                        |
//! | TSIG RR    | TTL            | MUST be 0                          |
//! | TSIG RDATA | Algorithm Name | in canonical wire format           |
//! | TSIG RDATA | Time Signed    | in network byte order              |
//! | TSIG RDATA | Fudge          | in network byte order              |
//! | TSIG RDATA | Error          | in network byte order              |
//! | TSIG RDATA | Other Len      | in network byte order              |
//! | TSIG RDATA | Other Data     | exactly as transmitted             |
//! ```
//!
//! The digest of an answer starts with the request's MAC (§4.3.1: MAC Size,
//! then MAC). In a transfer, each later signed message's digest is, per
//! §5.3.1, "Prior MAC (running)", "DNS Messages (any unsigned messages since
//! the last TSIG)" and "TSIG Timers (current message)"; "only the timers
//! are included in the second and subsequent messages, not all the TSIG
//! variables." In every message digested with its TSIG, the header's
//! ARCOUNT leaves the TSIG RR out and its ID is the TSIG's Original ID.

use std::fmt;

use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::tsig::TsigError;

use super::mac::TsigMac;
use super::{TsigAlgorithm, TsigKey};

/// RR type TSIG (RFC 8945 §4.2: "This MUST be TSIG (250: Transaction
/// SIGnature).").
const TYPE_TSIG: u16 = 250;
/// RR class ANY, the TSIG RR's class.
const CLASS_ANY: u16 = 255;
/// Length of the DNS header (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// RFC 8945 §5.3.1: "a client that receives DNS messages and verifies TSIG
/// MUST accept up to 99 intermediary messages without a TSIG and MUST
/// verify that both the first and last message contain a TSIG."
const MAX_UNSIGNED_IN_A_ROW: usize = 99;

/// A request with its TSIG record, and the verifier of its answers.
#[derive(Debug)]
pub struct SignedRequest {
    /// The message to send: the input with ARCOUNT raised by one and the
    /// TSIG RR appended as the last additional record (RFC 8945 §5.1: "This
    /// TSIG record MUST be the only TSIG RR in the message and MUST be the
    /// last record in the additional data section.").
    pub wire: Vec<u8>,
    /// Checks the answers against the MAC just sent.
    pub verifier: AnswerVerifier,
}

/// Why a request could not be signed; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The bytes to sign are shorter than a DNS header.
    #[error("not a DNS message: {len} bytes, fewer than a header's 12")]
    NotAMessage { len: usize },
    /// The signed message exceeds the 65535 bytes a DNS message may hold
    /// over TCP (RFC 1035 §4.2.2), or its header cannot count one more
    /// additional record.
    #[error("the signed message is {len} bytes, more than one DNS message holds")]
    TooLarge { len: usize },
}

/// Signs `message` (an encoded DNS message without TSIG) with `key`,
/// stating `time_signed` (seconds since the epoch; its low 48 bits are
/// sent, RFC 8945 §4.2) and `fudge` seconds of allowed clock difference.
/// The MAC covers the message and the TSIG variables (see the module's
/// doc); the answer's MAC will cover this one, which the returned
/// verifier holds.
pub fn sign_request(
    key: &TsigKey,
    message: &[u8],
    time_signed: u64,
    fudge: u16,
) -> Result<SignedRequest, SignError> {
    if message.len() < HEADER_LEN {
        return Err(SignError::NotAMessage { len: message.len() });
    }
    let variables = Variables {
        time_signed,
        fudge,
        error: 0,
        other: &[],
    };
    let mut mac = TsigMac::new(key.algorithm, key.secret.expose());
    mac.update(message);
    mac.update(&variables.full(&key.name, key.algorithm));
    let request_mac = mac.finalize();

    let mut wire = Vec::with_capacity(message.len() + 64 + request_mac.len());
    wire.extend_from_slice(message);
    let arcount = read_u16(&wire, 10)
        .and_then(|count| count.checked_add(1))
        .ok_or(SignError::TooLarge {
            len: message.len() + 1,
        })?;
    wire[10..12].copy_from_slice(&arcount.to_be_bytes());
    let original_id = [message[0], message[1]];
    push_tsig_rr(&mut wire, key, &variables, &request_mac, original_id);
    if wire.len() > usize::from(u16::MAX) {
        return Err(SignError::TooLarge { len: wire.len() });
    }
    Ok(SignedRequest {
        wire,
        verifier: AnswerVerifier::new(key.clone(), request_mac),
    })
}

/// The TSIG fields that go into a digest besides the messages.
struct Variables<'a> {
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &'a [u8],
}

impl Variables<'_> {
    /// All the TSIG variables (RFC 8945 §4.3.3), for a request and for the
    /// first message of an answer.
    fn full(&self, key_name: &Name, algorithm: TsigAlgorithm) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.other.len());
        push_canonical_name(&mut out, key_name);
        out.extend_from_slice(&CLASS_ANY.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        push_algorithm_name(&mut out, algorithm);
        out.extend_from_slice(&self.timers());
        out.extend_from_slice(&self.error.to_be_bytes());
        push_len_prefixed(&mut out, self.other);
        out
    }

    /// The TSIG timers: Time Signed (48 bits) and Fudge (RFC 8945 §5.3.1).
    fn timers(&self) -> [u8; 8] {
        let time = self.time_signed.to_be_bytes();
        let fudge = self.fudge.to_be_bytes();
        [
            time[2], time[3], time[4], time[5], time[6], time[7], fudge[0], fudge[1],
        ]
    }
}

/// Appends the TSIG RR (RFC 8945 §4.2): NAME the key, TYPE TSIG, CLASS ANY,
/// TTL 0, and the RDATA fields in their order.
fn push_tsig_rr(
    wire: &mut Vec<u8>,
    key: &TsigKey,
    variables: &Variables<'_>,
    mac: &[u8],
    original_id: [u8; 2],
) {
    push_canonical_name(wire, &key.name);
    wire.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    wire.extend_from_slice(&CLASS_ANY.to_be_bytes());
    wire.extend_from_slice(&0u32.to_be_bytes());
    let mut rdata = Vec::with_capacity(32 + mac.len() + variables.other.len());
    push_algorithm_name(&mut rdata, key.algorithm);
    rdata.extend_from_slice(&variables.timers());
    push_len_prefixed(&mut rdata, mac);
    rdata.extend_from_slice(&original_id);
    rdata.extend_from_slice(&variables.error.to_be_bytes());
    push_len_prefixed(&mut rdata, variables.other);
    push_len_prefixed(wire, &rdata);
}

/// A name in canonical wire format (RFC 4034 §6.2): uncompressed, lower
/// case.
fn push_canonical_name(out: &mut Vec<u8>, name: &Name) {
    for label in name.to_lowercase().iter() {
        // `Name` holds labels of at most 63 bytes.
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

/// The algorithm's domain name (`hmac-sha256.`), canonical: one label.
fn push_algorithm_name(out: &mut Vec<u8>, algorithm: TsigAlgorithm) {
    let label = algorithm.as_str().as_bytes();
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    out.push(0);
}

/// `bytes` preceded by their length as 16 bits (MAC Size and MAC, Other
/// Len and Other Data, RDLENGTH and RDATA). Every caller's bytes are far
/// below 64 KiB: MACs, an RDATA holding one, a server's 6-byte time.
fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn read_u16(wire: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*wire.get(at)?, *wire.get(at + 1)?]))
}

/// What one message of an answer showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Its TSIG verified: the MAC, chained to the request and to every
    /// message before it, and the time.
    Signed,
    /// A message without TSIG inside a transfer (RFC 8945 §5.3.1). Its
    /// bytes enter the next signed message's digest, so it is proven only
    /// once that one verifies: use its content only after
    /// [`AnswerVerifier::finish`] succeeds.
    Unsigned,
}

/// Why an answer is not proven to come from a holder of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No TSIG record where one is required. RFC 8945 §5.4: "If not, the
    /// response is treated as having a format error and is discarded."
    #[error("the answer is not signed")]
    Unsigned,
    /// The TSIG record carries an error code: the server rejected our
    /// request's signature (RFC 8945 §5.3.2; BADSIG and BADKEY answers are
    /// unsigned by design). Taken as sent: it can only make us fail.
    #[error("the server reports TSIG error {}", u16::from(*.0))]
    Reported(TsigError),
    /// Signed with another key name or algorithm than the request.
    #[error("the answer is signed with another key or algorithm")]
    OtherKey,
    /// A MAC of another length than the algorithm's output; see
    /// [`AnswerVerifier::check`] on truncation.
    #[error("the answer's MAC is {len} bytes, not the algorithm's {full}")]
    MacLength { len: usize, full: usize },
    /// The MAC does not match: another secret, or altered bytes.
    #[error("the answer's MAC does not verify")]
    BadMac,
    /// The MAC verified but the time is outside the record's window.
    #[error("the answer was signed at {time_signed}, more than {fudge} s from our clock ({now})")]
    BadTime {
        time_signed: u64,
        fudge: u16,
        now: u64,
    },
    /// More unsigned messages in a row than RFC 8945 §5.3.1 allows.
    #[error("more than 99 messages of the answer in a row are unsigned")]
    TooManyUnsigned,
    /// The stream ended on unsigned messages.
    #[error("the last message of the answer is not signed")]
    LastUnsigned,
    /// The TSIG record is not the last record of the message, or the
    /// message does not parse as records.
    #[error("the answer's TSIG record is not the last record of the message")]
    Misplaced,
}

/// Checks the answers to one signed request: a single answer, or each
/// message of a transfer in the order received.
pub struct AnswerVerifier {
    key: TsigKey,
    /// The MAC the next signed message's digest starts with: the request's
    /// (§4.3.1), then each verified message's (§5.3.1 "Prior MAC").
    prior_mac: Vec<u8>,
    /// Unsigned messages since the last signed one, as received.
    unsigned: Vec<u8>,
    unsigned_in_a_row: usize,
    checked: usize,
}

impl fmt::Debug for AnswerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerVerifier")
            .field("key", &self.key.name)
            .field("algorithm", &self.key.algorithm)
            .field("checked", &self.checked)
            .field("unsigned_in_a_row", &self.unsigned_in_a_row)
            .finish_non_exhaustive()
    }
}

impl AnswerVerifier {
    fn new(key: TsigKey, request_mac: Vec<u8>) -> Self {
        Self {
            key,
            prior_mac: request_mac,
            unsigned: Vec::new(),
            unsigned_in_a_row: 0,
            checked: 0,
        }
    }

    /// Checks the next message of the answer: `wire` as received (without
    /// the TCP length prefix), `message` decoded from it, `now` our clock
    /// in seconds since the epoch.
    ///
    /// The checks follow RFC 8945 §5.2's order (check key, check MAC, check
    /// time values), as the client applies them (§5.4): the time is checked
    /// only once the MAC proves the Time Signed genuine. The MAC's length
    /// is checked with the MAC, before it is computed. The time is good
    /// when `now` is within the record's Time Signed plus or minus its
    /// Fudge (§5.2.3: "the time interval specified by the request (which is
    /// the Time Signed value plus/minus the Fudge value)"); both are
    /// covered by the MAC.
    ///
    /// Truncated MACs are refused. RFC 8945 §5.2.2.1 lets a MAC be cut to
    /// no less than 10 bytes and half the hash's output, as local policy.
    /// dnsdesk never truncates its requests, and BIND, Knot and hickory
    /// answer a full MAC with a full MAC (they truncate only for keys set
    /// up truncated, which dnsdesk does not support). Accepting a shorter
    /// MAC would gain no server and would let a forger match 10 bytes
    /// instead of 20 to 64, so it is not argued safe: any MAC whose length
    /// is not the algorithm's output fails ([`VerifyError::MacLength`]).
    pub fn check(
        &mut self,
        wire: &[u8],
        message: &Message,
        now: u64,
    ) -> Result<Checked, VerifyError> {
        let Some(tsig) = message.signature() else {
            if self.checked == 0 {
                return Err(VerifyError::Unsigned);
            }
            if self.unsigned_in_a_row == MAX_UNSIGNED_IN_A_ROW {
                return Err(VerifyError::TooManyUnsigned);
            }
            self.unsigned.extend_from_slice(wire);
            self.unsigned_in_a_row += 1;
            self.checked += 1;
            return Ok(Checked::Unsigned);
        };
        let data = &tsig.data;
        if let Some(error) = data.error {
            return Err(VerifyError::Reported(error));
        }
        let algorithm_name = data.algorithm.to_name().to_ascii();
        let algorithm_name = algorithm_name.strip_suffix('.').unwrap_or(&algorithm_name);
        if tsig.name != self.key.name
            || !algorithm_name.eq_ignore_ascii_case(self.key.algorithm.as_str())
        {
            return Err(VerifyError::OtherKey);
        }
        let full = self.key.algorithm.output_len();
        if data.mac.len() != full {
            return Err(VerifyError::MacLength {
                len: data.mac.len(),
                full,
            });
        }
        let tsig_at = tsig_offset(wire).ok_or(VerifyError::Misplaced)?;

        let mut mac = TsigMac::new(self.key.algorithm, self.key.secret.expose());
        mac.update(&(self.prior_mac.len() as u16).to_be_bytes());
        mac.update(&self.prior_mac);
        mac.update(&self.unsigned);
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&wire[..HEADER_LEN]);
        header[0..2].copy_from_slice(&data.oid.to_be_bytes());
        let arcount = u16::from_be_bytes([header[10], header[11]]) - 1;
        header[10..12].copy_from_slice(&arcount.to_be_bytes());
        mac.update(&header);
        mac.update(&wire[HEADER_LEN..tsig_at]);
        let variables = Variables {
            time_signed: data.time,
            fudge: data.fudge,
            error: 0,
            other: &data.other,
        };
        if self.checked == 0 {
            mac.update(&variables.full(&self.key.name, self.key.algorithm));
        } else {
            mac.update(&variables.timers());
        }
        mac.verify(&data.mac).map_err(|_| VerifyError::BadMac)?;

        if now.abs_diff(data.time) > u64::from(data.fudge) {
            return Err(VerifyError::BadTime {
                time_signed: data.time,
                fudge: data.fudge,
                now,
            });
        }
        self.prior_mac.clone_from(&data.mac);
        self.unsigned.clear();
        self.unsigned_in_a_row = 0;
        self.checked += 1;
        Ok(Checked::Signed)
    }

    /// Ends a transfer's answer: its last message must have been signed
    /// (RFC 8945 §5.3.1, "MUST verify that both the first and last message
    /// contain a TSIG"), which also proves the unsigned ones before it.
    pub fn finish(&self) -> Result<(), VerifyError> {
        if self.checked == 0 {
            Err(VerifyError::Unsigned)
        } else if self.unsigned_in_a_row > 0 {
            Err(VerifyError::LastUnsigned)
        } else {
            Ok(())
        }
    }
}

/// Where the TSIG RR starts in `wire`: it must be the last record, and end
/// the message. `None` when the records do not parse that way.
fn tsig_offset(wire: &[u8]) -> Option<usize> {
    let count = |at| read_u16(wire, at).map(usize::from);
    let (questions, answers, authorities, additionals) =
        (count(4)?, count(6)?, count(8)?, count(10)?);
    let mut at = HEADER_LEN;
    for _ in 0..questions {
        at = skip_name(wire, at)? + 4;
    }
    for _ in 0..(answers + authorities + additionals.checked_sub(1)?) {
        at = skip_record(wire, at)?;
    }
    let rtype = read_u16(wire, skip_name(wire, at)?)?;
    (rtype == TYPE_TSIG && skip_record(wire, at)? == wire.len()).then_some(at)
}

/// The offset after the (possibly compressed) name at `at`.
fn skip_name(wire: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *wire.get(at)?;
        match len & 0xC0 {
            0xC0 => return wire.get(at + 1).map(|_| at + 2),
            0 if len == 0 => return Some(at + 1),
            0 => at += 1 + usize::from(len),
            _ => return None,
        }
    }
}

/// The offset after the resource record at `at`.
fn skip_record(wire: &[u8], at: usize) -> Option<usize> {
    let fixed = skip_name(wire, at)?;
    let rdlength = usize::from(read_u16(wire, fixed + 8)?);
    let end = fixed + 10 + rdlength;
    (end <= wire.len()).then_some(end)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::RecordType;

    use super::*;

    fn query() -> Vec<u8> {
        let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(
            Name::from_ascii("example.").unwrap(),
            RecordType::AXFR,
        ));
        m.to_vec().unwrap()
    }

    #[test]
    fn finds_the_tsig_rr_only_at_the_end() {
        let key = TsigKey::from_parts("k", "hmac-sha256", "AAAA").unwrap();
        let signed = sign_request(&key, &query(), 1_700_000_000, 300)
            .unwrap()
            .wire;
        assert_eq!(tsig_offset(&signed), Some(query().len()));
        assert_eq!(tsig_offset(&query()), None);
        let mut trailing = signed.clone();
        trailing.push(0);
        assert_eq!(tsig_offset(&trailing), None);
        assert_eq!(tsig_offset(&signed[..signed.len() - 1]), None);
        assert_eq!(tsig_offset(&signed[..5]), None);
    }
}
