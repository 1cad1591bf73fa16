//! Statements from the partner's side: turning EPCIS events into signed
//! statements (`spec/statement.md`, the provlog profile of COSE), and
//! checking a statement's signatures against partner keys.
//!
//! Spec: `spec/client.md` ("Submitting"), `spec/epcis.md` ("Documents").

use crate::error::ClientError;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use provlog_ledger::epcis::{self, DocumentEvent, EpcisError, Event};
use provlog_ledger::statement::{key_thumbprint, parse_verifying_key, Statement, CONTENT_TYPE_EPCIS};
use serde::Serialize;

/// Reads a public key given as standard base64 of its 32 bytes, refusing
/// what the log refuses at registration (non-canonical or weak keys).
///
/// # Errors
/// [`ClientError::BadKey`].
pub fn parse_public_key(b64: &str) -> Result<VerifyingKey, ClientError> {
    let bad = |reason: String| ClientError::BadKey { what: b64.to_owned(), reason };
    let bytes = BASE64.decode(b64.trim()).map_err(|e| bad(format!("not base64: {e}")))?;
    parse_verifying_key(&bytes).map_err(|e| bad(e.to_string()))
}

/// The events of an EPCIS 2.0 JSON input: a single event, or every event of
/// an `EPCISDocument` or `EPCISQueryDocument`, each as the payload bytes to
/// sign (checked exactly as the log will check them).
///
/// # Errors
/// [`ClientError::Epcis`] naming the input.
pub fn events(input: &[u8], what: &str) -> Result<Vec<DocumentEvent>, ClientError> {
    let epcis = |source: EpcisError| ClientError::Epcis { what: what.to_owned(), source };
    match epcis::split_document(input) {
        Ok(events) => Ok(events),
        Err(EpcisError::NotADocument { .. }) => {
            let event = epcis::parse_event(input).map_err(epcis)?;
            Ok(vec![DocumentEvent { payload: input.to_vec(), event }])
        }
        Err(e) => Err(epcis(e)),
    }
}

/// The statement subject (`sub`) for an event: its `eventID` if it has
/// one, else the first object identifier it names, as written. `None` if it
/// has neither (the log's `well-formed.subject` would refuse any `sub`).
pub fn subject(event: &Event) -> Option<String> {
    event.event_id.clone().or_else(|| event.identifiers().first().map(|r| r.id.raw.clone()))
}

/// Signs one event as a `COSE_Sign1` statement: `iss` the partner ID,
/// `sub` per [`subject`], `iat` as given, content type
/// `application/ld+json`.
///
/// # Errors
/// [`ClientError::Invalid`] for an event with no possible subject;
/// [`ClientError::MalformedStatement`] if the statement cannot be built
/// (e.g. the payload is too large).
pub fn sign_event(
    key: &SigningKey,
    iss: &str,
    event: &DocumentEvent,
    iat: u64,
) -> Result<Statement, ClientError> {
    let sub = subject(&event.event).ok_or_else(|| {
        ClientError::invalid("EPCIS event", "it has no eventID and names no object, so it has no subject")
    })?;
    Statement::sign1(key, iss, &sub, iat, CONTENT_TYPE_EPCIS, &event.payload)
        .map_err(|source| ClientError::MalformedStatement { what: format!("for event {sub}"), source })
}

/// A signer whose signature verified, and the key it verified under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedSigner {
    pub signer: usize,
    /// Hex thumbprint of the key.
    pub kid: String,
    /// Base64 public key.
    pub public_key: String,
}

/// Checks every signature of a statement against the keys the caller
/// trusts (partner keys, from the log's registry or out of band): each
/// signer's `kid` must be the thumbprint of one of `keys`, and its
/// signature must verify under that key with the one signature predicate.
///
/// # Errors
/// [`ClientError::MalformedStatement`] if the bytes do not parse;
/// [`ClientError::UnknownSigner`] for a signer whose key is not among
/// `keys`; [`ClientError::StatementSignature`] for a bad signature.
pub fn verify_signers(
    bytes: &[u8],
    keys: &[VerifyingKey],
    what: &str,
) -> Result<Vec<VerifiedSigner>, ClientError> {
    let statement = Statement::parse(bytes)
        .map_err(|source| ClientError::MalformedStatement { what: what.to_owned(), source })?;
    let mut out = Vec::new();
    for (i, signer) in statement.signers().iter().enumerate() {
        let key = keys.iter().find(|k| key_thumbprint(k) == signer.kid).ok_or_else(|| {
            ClientError::UnknownSigner { what: what.to_owned(), signer: i, kid: hex::encode(signer.kid) }
        })?;
        statement.verify_signer(i, key).map_err(|source| {
            if source.is_verification_failure() {
                ClientError::StatementSignature { what: what.to_owned(), signer: i, source }
            } else {
                ClientError::MalformedStatement { what: what.to_owned(), source }
            }
        })?;
        out.push(VerifiedSigner {
            signer: i,
            kid: hex::encode(signer.kid),
            public_key: BASE64.encode(key.as_bytes()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const EVENT: &str = r#"{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"ObjectEvent","eventTime":"2026-01-01T08:00:00.000Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2018"],"action":"OBSERVE"}"#;

    fn gs1(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../spec/vectors/epcis/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn a_single_event_and_a_document_both_give_events() {
        assert_eq!(events(EVENT.as_bytes(), "e").unwrap().len(), 1);
        assert_eq!(events(&gs1("Example_9.6.1-ObjectEvent.jsonld"), "d").unwrap().len(), 2);
        let e = events(b"{\"type\":\"ObjectEvent\"}", "bad").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
    }

    #[test]
    fn the_subject_is_the_event_id_or_else_the_first_object() {
        let d = &events(EVENT.as_bytes(), "e").unwrap()[0];
        assert_eq!(subject(&d.event).as_deref(), Some("urn:epc:id:sgtin:0614141.107346.2018"));
        let with_id = EVENT.replace("\"action\"", "\"eventID\":\"urn:uuid:1\",\"action\"");
        let d = &events(with_id.as_bytes(), "e").unwrap()[0];
        assert_eq!(subject(&d.event).as_deref(), Some("urn:uuid:1"));
    }

    #[test]
    fn signed_events_verify_under_the_signers_key_only() {
        let key = SigningKey::from_bytes(&[8; 32]);
        let d = &events(EVENT.as_bytes(), "e").unwrap()[0];
        let s = sign_event(&key, "urn:epc:id:pgln:0614141.00001", d, 1_790_000_000).unwrap();
        assert_eq!(s.content_type(), CONTENT_TYPE_EPCIS);
        let ok = verify_signers(s.as_bytes(), &[key.verifying_key()], "s").unwrap();
        assert_eq!(ok[0].kid, hex::encode(key_thumbprint(&key.verifying_key())));
        let other = SigningKey::from_bytes(&[9; 32]).verifying_key();
        let e = verify_signers(s.as_bytes(), &[other], "s").unwrap_err();
        assert!(matches!(e, ClientError::UnknownSigner { .. }));
        assert_eq!(e.kind(), ErrorKind::Verification);
        let mut tampered = s.as_bytes().to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let e = verify_signers(&tampered, &[key.verifying_key()], "s").unwrap_err();
        assert!(matches!(e, ClientError::StatementSignature { .. }), "{e:?}");
        assert_eq!(verify_signers(b"junk", &[], "s").unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn public_keys_must_be_base64_of_a_strong_key() {
        let key = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert_eq!(parse_public_key(&BASE64.encode(key.as_bytes())).unwrap(), key);
        assert_eq!(parse_public_key("!!").unwrap_err().kind(), ErrorKind::Malformed);
        // The identity point: small order.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        assert_eq!(parse_public_key(&BASE64.encode(weak)).unwrap_err().kind(), ErrorKind::Malformed);
    }
}
