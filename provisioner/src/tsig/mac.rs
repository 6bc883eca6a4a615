//! The MACs of TSIG: HMAC (RFC 2104) over SHA-1 and the SHA-2 family, with
//! RustCrypto's `hmac`, `sha1` and `sha2`. hickory-proto computes only
//! hmac-sha256/384/512; servers also sign with hmac-sha224 and hmac-sha1,
//! so every MAC dnsdesk sends or checks is computed here.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::TsigAlgorithm;

/// A MAC being computed: feed it the digest components in order
/// ([`TsigMac::update`]), then take the MAC or compare it with a received
/// one.
#[derive(Clone)]
pub struct TsigMac(State);

#[derive(Clone)]
enum State {
    Sha1(Hmac<Sha1>),
    Sha224(Hmac<Sha224>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// Runs `$body` with `$mac` bound to the HMAC of whichever algorithm `$state`
/// holds.
macro_rules! with_mac {
    ($state:expr, $mac:ident => $body:expr) => {
        match $state {
            State::Sha1($mac) => $body,
            State::Sha224($mac) => $body,
            State::Sha256($mac) => $body,
            State::Sha384($mac) => $body,
            State::Sha512($mac) => $body,
        }
    };
}

/// A received MAC that is not the one we computed. Carries nothing: which
/// byte differs is none of the caller's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the MAC does not verify")]
pub struct MacMismatch;

/// HMAC keyed with `key`.
fn keyed<M: KeyInit>(key: &[u8]) -> M {
    // RFC 2104 §2 takes keys of any length (longer ones are hashed first,
    // shorter ones padded with zeros), and hmac's `new_from_slice` follows
    // it: its error exists only for MACs with fixed key sizes.
    M::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

impl TsigMac {
    /// Starts a MAC with `algorithm` and the raw key bytes.
    pub fn new(algorithm: TsigAlgorithm, key: &[u8]) -> Self {
        Self(match algorithm {
            TsigAlgorithm::HmacSha1 => State::Sha1(keyed(key)),
            TsigAlgorithm::HmacSha224 => State::Sha224(keyed(key)),
            TsigAlgorithm::HmacSha256 => State::Sha256(keyed(key)),
            TsigAlgorithm::HmacSha384 => State::Sha384(keyed(key)),
            TsigAlgorithm::HmacSha512 => State::Sha512(keyed(key)),
        })
    }

    /// Feeds the next bytes of the digest components.
    pub fn update(&mut self, data: &[u8]) {
        with_mac!(&mut self.0, mac => mac.update(data));
    }

    /// The full-length MAC.
    pub fn finalize(self) -> Vec<u8> {
        with_mac!(self.0, mac => mac.finalize().into_bytes().to_vec())
    }

    /// Compares `received` with the MAC in constant time (hmac's
    /// `verify_slice`). Only a full-length MAC can match: truncated MACs
    /// are rejected (see [`super::message`] for why).
    pub fn verify(self, received: &[u8]) -> Result<(), MacMismatch> {
        with_mac!(self.0, mac => mac.verify_slice(received)).map_err(|_| MacMismatch)
    }
}

/// The key is secret: the state holds it, so it is not printed.
impl std::fmt::Debug for TsigMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TsigMac(<secret>)")
    }
}

/// The MAC of `data` under `key`, in one call.
pub fn mac(algorithm: TsigAlgorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = TsigMac::new(algorithm, key);
    mac.update(data);
    mac.finalize()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use TsigAlgorithm::*;

    fn check(algorithm: TsigAlgorithm, key: &[u8], data: &[u8], want: &str) {
        let got = mac(algorithm, key, data);
        assert_eq!(hex::encode(&got), want, "{algorithm}");
        assert_eq!(got.len(), algorithm.output_len());
        let mut verifier = TsigMac::new(algorithm, key);
        verifier.update(data);
        assert_eq!(verifier.clone().verify(&got), Ok(()));
        let mut flipped = got.clone();
        flipped[0] ^= 1;
        assert_eq!(verifier.clone().verify(&flipped), Err(MacMismatch));
        // A truncated MAC, even a correct prefix, does not verify.
        assert_eq!(verifier.verify(&got[..got.len() / 2]), Err(MacMismatch));
    }

    /// RFC 4231 §4.2, test case 1: key 0x0b × 20, data "Hi There".
    #[test]
    fn rfc4231_test_case_1() {
        let key = [0x0b; 20];
        let data = b"Hi There";
        check(
            HmacSha224,
            &key,
            data,
            "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
        );
        check(
            HmacSha256,
            &key,
            data,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        );
        check(
            HmacSha384,
            &key,
            data,
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
             faea9ea9076ede7f4af152e8b2fa9cb6",
        );
        check(
            HmacSha512,
            &key,
            data,
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        );
    }

    /// RFC 4231 §4.3, test case 2: a key shorter than the output ("Jefe").
    #[test]
    fn rfc4231_test_case_2() {
        let key = b"Jefe";
        let data = b"what do ya want for nothing?";
        check(
            HmacSha224,
            key,
            data,
            "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
        );
        check(
            HmacSha256,
            key,
            data,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
        check(
            HmacSha384,
            key,
            data,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
             8e2240ca5e69e2c78b3239ecfab21649",
        );
        check(
            HmacSha512,
            key,
            data,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        );
    }

    /// RFC 4231 §4.7, test case 6: a 131-byte key, longer than the block,
    /// which HMAC hashes first.
    #[test]
    fn rfc4231_test_case_6() {
        let key = [0xaa; 131];
        let data = b"Test Using Larger Than Block-Size Key - Hash Key First";
        check(
            HmacSha224,
            &key,
            data,
            "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
        );
        check(
            HmacSha256,
            &key,
            data,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        );
        check(
            HmacSha384,
            &key,
            data,
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
             0c2ef6ab4030fe8296248df163f44952",
        );
        check(
            HmacSha512,
            &key,
            data,
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        );
    }

    /// RFC 2202 §3, HMAC-SHA-1 test cases 1, 2, 3, 6 and 7.
    #[test]
    fn rfc2202_sha1() {
        check(
            HmacSha1,
            &[0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00",
        );
        check(
            HmacSha1,
            b"Jefe",
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        );
        check(
            HmacSha1,
            &[0xaa; 20],
            &[0xdd; 50],
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        );
        check(
            HmacSha1,
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        );
        check(
            HmacSha1,
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
        );
    }

    #[test]
    fn feeding_in_pieces_is_the_same_as_at_once() {
        for algorithm in TsigAlgorithm::ALL {
            let mut pieces = TsigMac::new(algorithm, b"k");
            pieces.update(b"what do ya ");
            pieces.update(b"want for nothing?");
            assert_eq!(
                pieces.finalize(),
                mac(algorithm, b"k", b"what do ya want for nothing?")
            );
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let mac = TsigMac::new(HmacSha256, b"topsecret");
        assert_eq!(format!("{mac:?}"), "TsigMac(<secret>)");
    }
}
