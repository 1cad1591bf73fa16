//! COSE (RFC 9052) signed messages with EdDSA over Ed25519: `COSE_Sign1`
//! (tag 18) for one signer and `COSE_Sign` (tag 98) for several, read from
//! strict canonical CBOR, verified with `verify_strict` over the
//! protected-header bytes as received, and built and signed. Sans-I/O.
//!
//! Spec: `spec/statement.md`, which profiles this for provlog statements.
//!
//! ```text
//! COSE_Sign1    = #6.18([protected: bstr, unprotected: header_map,
//!                        payload: bstr, signature: bstr])
//! COSE_Sign     = #6.98([protected: bstr, unprotected: header_map,
//!                        payload: bstr, signatures: [+ COSE_Signature]])
//! COSE_Signature = [protected: bstr, unprotected: header_map, signature: bstr]
//! protected     = h'' / bstr .cbor header_map        (canonical CBOR)
//! header_map    = {? 1 => int, ? 3 => tstr / uint, ? 4 => bstr,
//!                  ? 15 => {? 1 => tstr, ? 2 => tstr, ? 6 => int, * label => any},
//!                  * label => any}                   label = int / tstr
//! Sig_structure = ["Signature1", body_protected, h'', payload]
//!               / ["Signature", body_protected, sign_protected, h'', payload]
//! ```
//!
//! Detached (nil) payloads, `crit` (label 2) and a label in both the
//! protected and the unprotected header of one layer are refused.

use crate::cbor::{self, CborError, Limits, Value};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use thiserror::Error;

/// CBOR tag of `COSE_Sign1`.
pub const TAG_SIGN1: u64 = 18;
/// CBOR tag of `COSE_Sign`.
pub const TAG_SIGN: u64 = 98;
/// COSE algorithm EdDSA; provlog uses it with Ed25519 only.
pub const ALG_EDDSA: i64 = -8;

/// Header parameter `alg`.
pub const LABEL_ALG: i64 = 1;
/// Header parameter `crit`, which this module refuses.
pub const LABEL_CRIT: i64 = 2;
/// Header parameter `content type`.
pub const LABEL_CONTENT_TYPE: i64 = 3;
/// Header parameter `kid`.
pub const LABEL_KID: i64 = 4;
/// Header parameter `CWT Claims` (RFC 9597).
pub const LABEL_CWT_CLAIMS: i64 = 15;

/// CWT claim `iss` (issuer).
pub const CLAIM_ISS: i64 = 1;
/// CWT claim `sub` (subject).
pub const CLAIM_SUB: i64 = 2;
/// CWT claim `iat` (issued at, seconds since the epoch).
pub const CLAIM_IAT: i64 = 6;

pub use crate::eddsa::SIGNATURE_SIZE;

/// Why a COSE message or key was refused or did not verify.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CoseError {
    /// The message is not strict canonical CBOR.
    #[error("message is not canonical CBOR")]
    Cbor(#[source] CborError),
    /// A protected header is not strict canonical CBOR.
    #[error("protected header is not canonical CBOR")]
    ProtectedHeaderCbor(#[source] CborError),
    /// The message carries no COSE tag.
    #[error("message is not tagged as COSE_Sign1 (18) or COSE_Sign (98)")]
    MissingTag,
    /// The message carries a tag other than the one expected.
    #[error("message has tag {tag}, want {want}")]
    WrongTag { tag: u64, want: u64 },
    /// The message does not have the COSE structure.
    #[error("malformed COSE message: {what}")]
    Malformed { what: &'static str },
    /// A known header parameter has a value of the wrong type.
    #[error("header parameter {label} is not {expected}")]
    BadHeaderParameter { label: i64, expected: &'static str },
    /// A known CWT claim has a value of the wrong type.
    #[error("CWT claim {claim} is not {expected}")]
    BadCwtClaim { claim: i64, expected: &'static str },
    /// The header has a `crit` parameter; no extension is understood.
    #[error("critical header parameters (label 2) are not supported")]
    CritNotSupported,
    /// One label appears in both the protected and unprotected header.
    #[error("header parameter {label} is in both the protected and the unprotected header")]
    LabelInBothBuckets { label: String },
    /// The payload is nil (detached).
    #[error("detached (nil) payloads are not supported")]
    DetachedPayload,
    /// A `COSE_Sign` without signatures.
    #[error("COSE_Sign has no signatures")]
    NoSignatures,
    /// The protected header does not name EdDSA (-8).
    #[error("algorithm {alg:?} in the protected header is not EdDSA (-8)")]
    UnsupportedAlgorithm { alg: Option<i64> },
    /// The signature is not 64 bytes.
    #[error("signature is {len} bytes, want 64")]
    SignatureLength { len: usize },
    /// There is no signer with this index.
    #[error("signer {index} out of range: the message has {signers}")]
    SignerIndexOutOfRange { index: usize, signers: usize },
    /// Bytes that are not an Ed25519 public key.
    #[error("invalid Ed25519 public key: {what}")]
    InvalidKey { what: &'static str },
    /// A small-order Ed25519 public key, under which forgeries exist.
    #[error("weak (small-order) Ed25519 public key")]
    WeakKey,
    /// The signature does not verify under the key: a security event.
    #[error("signature does not verify")]
    BadSignature,
}

impl CoseError {
    /// A stable name for the refusal, as used in `spec/vectors/` and in
    /// problem details; for CBOR errors, the CBOR error's name.
    pub fn code(&self) -> &'static str {
        match self {
            CoseError::Cbor(e) | CoseError::ProtectedHeaderCbor(e) => e.code(),
            CoseError::MissingTag => "cose-missing-tag",
            CoseError::WrongTag { .. } => "cose-wrong-tag",
            CoseError::Malformed { .. } => "cose-malformed",
            CoseError::BadHeaderParameter { .. } => "cose-bad-header-parameter",
            CoseError::BadCwtClaim { .. } => "cose-bad-cwt-claim",
            CoseError::CritNotSupported => "cose-crit-not-supported",
            CoseError::LabelInBothBuckets { .. } => "cose-label-in-both-buckets",
            CoseError::DetachedPayload => "cose-detached-payload",
            CoseError::NoSignatures => "cose-no-signatures",
            CoseError::UnsupportedAlgorithm { .. } => "cose-unsupported-algorithm",
            CoseError::SignatureLength { .. } => "cose-signature-length",
            CoseError::SignerIndexOutOfRange { .. } => "signer-index-out-of-range",
            CoseError::InvalidKey { .. } => "invalid-key",
            CoseError::WeakKey => "weak-key",
            CoseError::BadSignature => "bad-signature",
        }
    }
}

/// The value of the `content type` header parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// A media type, e.g. `application/ld+json`.
    Text(String),
    /// A CoAP Content-Format number.
    CoAP(u64),
}

/// The CWT claims set (header parameter 15): the claims provlog reads,
/// and every other claim as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CwtClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub iat: Option<i64>,
    /// Claims other than `iss`, `sub` and `iat`, by label.
    pub other: Vec<(Value, Value)>,
}

impl CwtClaims {
    fn from_value(value: &Value) -> Result<CwtClaims, CoseError> {
        let entries = value
            .as_map()
            .ok_or(CoseError::BadHeaderParameter { label: LABEL_CWT_CLAIMS, expected: "a map" })?;
        let mut claims = CwtClaims::default();
        for (key, v) in entries {
            check_label(key)?;
            let text = |claim| {
                v.as_text().map(str::to_owned).ok_or(CoseError::BadCwtClaim { claim, expected: "text" })
            };
            match key.as_i64() {
                Some(CLAIM_ISS) => claims.iss = Some(text(CLAIM_ISS)?),
                Some(CLAIM_SUB) => claims.sub = Some(text(CLAIM_SUB)?),
                Some(CLAIM_IAT) => {
                    claims.iat = Some(
                        v.as_i64()
                            .ok_or(CoseError::BadCwtClaim { claim: CLAIM_IAT, expected: "an integer" })?,
                    )
                }
                _ => claims.other.push((key.clone(), v.clone())),
            }
        }
        Ok(claims)
    }

    fn to_value(&self) -> Value {
        let mut entries = Vec::new();
        if let Some(iss) = &self.iss {
            entries.push((Value::int(CLAIM_ISS), Value::text(iss.as_str())));
        }
        if let Some(sub) = &self.sub {
            entries.push((Value::int(CLAIM_SUB), Value::text(sub.as_str())));
        }
        if let Some(iat) = self.iat {
            entries.push((Value::int(CLAIM_IAT), Value::int(iat)));
        }
        entries.extend(self.other.iter().cloned());
        Value::Map(entries)
    }
}

/// A COSE header map: the parameters provlog reads, and every other
/// parameter as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub alg: Option<i64>,
    pub content_type: Option<ContentType>,
    pub kid: Option<Vec<u8>>,
    pub cwt_claims: Option<CwtClaims>,
    /// Parameters other than the four above, by label.
    pub other: Vec<(Value, Value)>,
}

/// Refuses a label that is neither an `i64` integer nor text.
fn check_label(label: &Value) -> Result<(), CoseError> {
    if label.as_i64().is_some() || label.as_text().is_some() {
        Ok(())
    } else {
        Err(CoseError::Malformed { what: "label is neither an integer nor text" })
    }
}

impl Header {
    /// Reads a header map.
    ///
    /// # Errors
    /// [`CoseError::Malformed`] if `value` is not a map or has a label that
    /// is not an integer or text, [`CoseError::BadHeaderParameter`] or
    /// [`CoseError::BadCwtClaim`] for a known parameter of the wrong type,
    /// [`CoseError::CritNotSupported`] if `crit` is present.
    pub fn from_value(value: &Value) -> Result<Header, CoseError> {
        let entries = value.as_map().ok_or(CoseError::Malformed { what: "header is not a map" })?;
        let mut header = Header::default();
        for (key, v) in entries {
            check_label(key)?;
            let bad = |label, expected| CoseError::BadHeaderParameter { label, expected };
            match key.as_i64() {
                Some(LABEL_ALG) => header.alg = Some(v.as_i64().ok_or(bad(LABEL_ALG, "an integer"))?),
                Some(LABEL_CRIT) => return Err(CoseError::CritNotSupported),
                Some(LABEL_CONTENT_TYPE) => {
                    header.content_type = Some(match v {
                        Value::Text(t) => ContentType::Text(t.clone()),
                        Value::Unsigned(n) => ContentType::CoAP(*n),
                        _ => return Err(bad(LABEL_CONTENT_TYPE, "text or an unsigned integer")),
                    })
                }
                Some(LABEL_KID) => {
                    header.kid = Some(v.as_bytes().ok_or(bad(LABEL_KID, "a byte string"))?.to_vec())
                }
                Some(LABEL_CWT_CLAIMS) => header.cwt_claims = Some(CwtClaims::from_value(v)?),
                _ => header.other.push((key.clone(), v.clone())),
            }
        }
        Ok(header)
    }

    /// The header as a CBOR map (entries in canonical order once encoded).
    pub fn to_value(&self) -> Value {
        let mut entries = Vec::new();
        if let Some(alg) = self.alg {
            entries.push((Value::int(LABEL_ALG), Value::int(alg)));
        }
        match &self.content_type {
            Some(ContentType::Text(t)) => {
                entries.push((Value::int(LABEL_CONTENT_TYPE), Value::text(t.as_str())))
            }
            Some(ContentType::CoAP(n)) => entries.push((Value::int(LABEL_CONTENT_TYPE), Value::Unsigned(*n))),
            None => {}
        }
        if let Some(kid) = &self.kid {
            entries.push((Value::int(LABEL_KID), Value::bytes(kid.as_slice())));
        }
        if let Some(claims) = &self.cwt_claims {
            entries.push((Value::int(LABEL_CWT_CLAIMS), claims.to_value()));
        }
        entries.extend(self.other.iter().cloned());
        Value::Map(entries)
    }

    /// Whether the header has no parameter at all.
    pub fn is_empty(&self) -> bool {
        *self == Header::default()
    }

    /// The labels present, as CBOR values.
    fn labels(&self) -> Vec<Value> {
        match self.to_value() {
            Value::Map(entries) => entries.into_iter().map(|(k, _)| k).collect(),
            _ => unreachable!("to_value builds a map"),
        }
    }
}

/// Refuses a label that is in both headers of one layer (RFC 9052 §3).
fn check_buckets(protected: &Header, unprotected: &Header) -> Result<(), CoseError> {
    let labels = protected.labels();
    for label in unprotected.labels() {
        if labels.contains(&label) {
            let label = match &label {
                Value::Text(t) => format!("{t:?}"),
                other => other.as_i64().map_or_else(String::new, |n| n.to_string()),
            };
            return Err(CoseError::LabelInBothBuckets { label });
        }
    }
    Ok(())
}

/// A protected header: the bytes as received, which signatures cover, and
/// what they decode to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedHeader {
    bytes: Vec<u8>,
    header: Header,
}

impl ProtectedHeader {
    /// Encodes `header` canonically; an empty header is the empty byte
    /// string, as RFC 9052 §3 asks of senders.
    pub fn new(header: Header) -> ProtectedHeader {
        let bytes = if header.is_empty() { Vec::new() } else { cbor::encode(&header.to_value()) };
        ProtectedHeader { bytes, header }
    }

    /// Reads received protected-header bytes: empty, or a canonical map.
    ///
    /// # Errors
    /// [`CoseError::ProtectedHeaderCbor`] if the bytes are not canonical
    /// CBOR, and the errors of [`Header::from_value`].
    pub fn from_bytes(bytes: &[u8], limits: &Limits) -> Result<ProtectedHeader, CoseError> {
        let header = if bytes.is_empty() {
            Header::default()
        } else {
            Header::from_value(&cbor::decode(bytes, limits).map_err(CoseError::ProtectedHeaderCbor)?)?
        };
        Ok(ProtectedHeader { bytes: bytes.to_vec(), header })
    }

    /// The bytes as received (or as encoded by [`ProtectedHeader::new`]).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// The `Sig_structure` a `COSE_Sign1` signature covers (RFC 9052 §4.4),
/// with empty external AAD.
pub fn sig_structure1(body_protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::text("Signature1"),
        Value::bytes(body_protected),
        Value::Bytes(Vec::new()),
        Value::bytes(payload),
    ]))
}

/// The `Sig_structure` one `COSE_Sign` signature covers (RFC 9052 §4.4),
/// with empty external AAD.
pub fn sig_structure(body_protected: &[u8], sign_protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::text("Signature"),
        Value::bytes(body_protected),
        Value::bytes(sign_protected),
        Value::Bytes(Vec::new()),
        Value::bytes(payload),
    ]))
}

/// Reads a 32-byte Ed25519 public key: the canonical encoding of a point
/// that is not of small order.
///
/// # Errors
/// [`CoseError::InvalidKey`] for a wrong length, a non-point or a
/// non-canonical encoding (y >= p), [`CoseError::WeakKey`] for a
/// small-order point.
pub fn verifying_key(bytes: &[u8]) -> Result<VerifyingKey, CoseError> {
    let bytes: &[u8; 32] = bytes.try_into().map_err(|_| CoseError::InvalidKey { what: "not 32 bytes" })?;
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| CoseError::InvalidKey { what: "not a valid Ed25519 point" })?;
    check_verifying_key(&key)?;
    Ok(key)
}

/// Refuses keys that `verify_strict` would use but the predicate does not
/// allow: small-order points, under which forgeries exist, and
/// non-canonical encodings, which `VerifyingKey::from_bytes` accepts and
/// which would give one key two thumbprints.
///
/// # Errors
/// [`CoseError::WeakKey`], or [`CoseError::InvalidKey`] for a
/// non-canonical encoding.
pub fn check_verifying_key(key: &VerifyingKey) -> Result<(), CoseError> {
    if crate::eddsa::is_weak(key) {
        return Err(CoseError::WeakKey);
    }
    if !canonical_y(key.as_bytes()) {
        return Err(CoseError::InvalidKey { what: "non-canonical point encoding" });
    }
    Ok(())
}

/// Whether the y coordinate of an encoded point (its low 255 bits, little
/// endian) is below p = 2^255 - 19. For a point that is not of small order
/// this is exactly "the encoding is canonical" (the other non-canonical
/// form, x = 0 with the sign bit set, only encodes the small-order points
/// (0, 1) and (0, -1)), and it costs a byte comparison where re-encoding
/// the point costs a field inversion on every verification.
fn canonical_y(bytes: &[u8; 32]) -> bool {
    // y >= p exactly when y is 2^255 - 19 + k, k < 19: bytes 1..31 all
    // 0xff, byte 31 0x7f without the sign bit, byte 0 at least 0xed.
    !(bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed)
}

/// One signature of a message with every check of the signature predicate
/// made but the Ed25519 one: `alg` in the protected header is EdDSA, the
/// key passes [`check_verifying_key`], and the signature is 64 bytes.
/// What is left is `verify_strict` of the signature over the
/// `Sig_structure` ([`SignatureInput::verify`], or [`verify_batch`] for
/// many at once).
#[derive(Clone, Debug)]
pub struct SignatureInput {
    key: VerifyingKey,
    to_be_signed: Vec<u8>,
    signature: [u8; SIGNATURE_SIZE],
}

impl SignatureInput {
    /// The checks before the Ed25519 predicate.
    fn new(
        protected: &Header,
        to_be_signed: Vec<u8>,
        signature: &[u8],
        key: &VerifyingKey,
    ) -> Result<SignatureInput, CoseError> {
        if protected.alg != Some(ALG_EDDSA) {
            return Err(CoseError::UnsupportedAlgorithm { alg: protected.alg });
        }
        check_verifying_key(key)?;
        let signature: [u8; SIGNATURE_SIZE] =
            signature.try_into().map_err(|_| CoseError::SignatureLength { len: signature.len() })?;
        Ok(SignatureInput { key: *key, to_be_signed, signature })
    }

    fn check(&self) -> crate::eddsa::Check<'_> {
        crate::eddsa::Check { key: &self.key, message: &self.to_be_signed, signature: &self.signature }
    }

    /// The Ed25519 predicate.
    ///
    /// # Errors
    /// [`CoseError::BadSignature`] unless `verify_strict` accepts.
    pub fn verify(&self) -> Result<(), CoseError> {
        let c = self.check();
        if crate::eddsa::verify_strict(c.key, c.message, c.signature) {
            Ok(())
        } else {
            Err(CoseError::BadSignature)
        }
    }
}

/// [`SignatureInput::verify`] of each input, in order (`true`: accepted),
/// cheaper per signature than one at a time
/// ([`crate::eddsa::verify_strict_batch`]).
pub fn verify_batch(inputs: &[SignatureInput]) -> Vec<bool> {
    let checks: Vec<_> = inputs.iter().map(SignatureInput::check).collect();
    crate::eddsa::verify_strict_batch(&checks)
}

/// Limits for reading back what this module just built from trusted input.
fn unbounded() -> Limits {
    Limits { max_size: usize::MAX, max_depth: cbor::MAX_DEPTH, max_items: usize::MAX }
}

/// Reads the common fields of a message or signature array.
fn read_headers(
    protected: &Value,
    unprotected: &Value,
    limits: &Limits,
) -> Result<(ProtectedHeader, Header), CoseError> {
    let protected =
        protected.as_bytes().ok_or(CoseError::Malformed { what: "protected header is not a byte string" })?;
    let protected = ProtectedHeader::from_bytes(protected, limits)?;
    let unprotected = Header::from_value(unprotected)?;
    check_buckets(protected.header(), &unprotected)?;
    Ok((protected, unprotected))
}

fn read_payload(payload: &Value) -> Result<Vec<u8>, CoseError> {
    match payload {
        Value::Bytes(b) => Ok(b.clone()),
        Value::Null => Err(CoseError::DetachedPayload),
        _ => Err(CoseError::Malformed { what: "payload is not a byte string" }),
    }
}

fn read_signature(signature: &Value) -> Result<Vec<u8>, CoseError> {
    signature
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or(CoseError::Malformed { what: "signature is not a byte string" })
}

/// Decodes `bytes` and returns the tag and the array it tags.
fn tagged_array(bytes: &[u8], limits: &Limits) -> Result<(u64, Vec<Value>), CoseError> {
    match cbor::decode(bytes, limits).map_err(CoseError::Cbor)? {
        Value::Tag(tag, inner) => match *inner {
            Value::Array(items) => Ok((tag, items)),
            _ => Err(CoseError::Malformed { what: "tagged item is not an array" }),
        },
        _ => Err(CoseError::MissingTag),
    }
}

/// A `COSE_Sign1` message: one signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseSign1 {
    pub protected: ProtectedHeader,
    pub unprotected: Header,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

impl CoseSign1 {
    /// Reads a tagged `COSE_Sign1` from strict canonical CBOR.
    ///
    /// # Errors
    /// [`CoseError::Cbor`] for bytes that break `limits` or are not
    /// canonical; [`CoseError::MissingTag`] or [`CoseError::WrongTag`];
    /// [`CoseError::DetachedPayload`]; the header errors of
    /// [`ProtectedHeader::from_bytes`] and [`Header::from_value`];
    /// [`CoseError::Malformed`] for anything else not of the COSE shape.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<CoseSign1, CoseError> {
        match tagged_array(bytes, limits)? {
            (TAG_SIGN1, items) => CoseSign1::from_items(&items, limits),
            (tag, _) => Err(CoseError::WrongTag { tag, want: TAG_SIGN1 }),
        }
    }

    fn from_items(items: &[Value], limits: &Limits) -> Result<CoseSign1, CoseError> {
        let [protected, unprotected, payload, signature] = items else {
            return Err(CoseError::Malformed { what: "COSE_Sign1 is not an array of 4" });
        };
        let (protected, unprotected) = read_headers(protected, unprotected, limits)?;
        Ok(CoseSign1 {
            protected,
            unprotected,
            payload: read_payload(payload)?,
            signature: read_signature(signature)?,
        })
    }

    /// The message as a tagged CBOR value.
    pub fn to_value(&self) -> Value {
        Value::Tag(
            TAG_SIGN1,
            Box::new(Value::Array(vec![
                Value::bytes(self.protected.as_bytes()),
                self.unprotected.to_value(),
                Value::bytes(self.payload.as_slice()),
                Value::bytes(self.signature.as_slice()),
            ])),
        )
    }

    /// The canonical encoding of the message. For a parsed message, these
    /// are the bytes that were parsed.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(&self.to_value())
    }

    /// The bytes the signature covers.
    pub fn to_be_signed(&self) -> Vec<u8> {
        sig_structure1(self.protected.as_bytes(), &self.payload)
    }

    /// Checks the signature under `key` with `verify_strict`.
    ///
    /// # Errors
    /// [`CoseError::UnsupportedAlgorithm`] unless the protected header says
    /// EdDSA; [`CoseError::WeakKey`]; [`CoseError::SignatureLength`];
    /// [`CoseError::BadSignature`] if the signature does not verify.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CoseError> {
        self.signature_input(key)?.verify()
    }

    /// The signature under `key` with every check of [`CoseSign1::verify`]
    /// made but the Ed25519 predicate.
    ///
    /// # Errors
    /// As [`CoseSign1::verify`], but never [`CoseError::BadSignature`].
    pub fn signature_input(&self, key: &VerifyingKey) -> Result<SignatureInput, CoseError> {
        SignatureInput::new(self.protected.header(), self.to_be_signed(), &self.signature, key)
    }

    /// The same message with its unprotected header emptied.
    pub fn stripped(&self) -> CoseSign1 {
        CoseSign1 { unprotected: Header::default(), ..self.clone() }
    }
}

/// One signer of a `COSE_Sign` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseSignature {
    pub protected: ProtectedHeader,
    pub unprotected: Header,
    pub signature: Vec<u8>,
}

impl CoseSignature {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            Value::bytes(self.protected.as_bytes()),
            self.unprotected.to_value(),
            Value::bytes(self.signature.as_slice()),
        ])
    }
}

/// A `COSE_Sign` message: one payload, one or more signers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseSign {
    pub protected: ProtectedHeader,
    pub unprotected: Header,
    pub payload: Vec<u8>,
    pub signatures: Vec<CoseSignature>,
}

impl CoseSign {
    /// Reads a tagged `COSE_Sign` from strict canonical CBOR.
    ///
    /// # Errors
    /// As [`CoseSign1::parse`], and [`CoseError::NoSignatures`].
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<CoseSign, CoseError> {
        match tagged_array(bytes, limits)? {
            (TAG_SIGN, items) => CoseSign::from_items(&items, limits),
            (tag, _) => Err(CoseError::WrongTag { tag, want: TAG_SIGN }),
        }
    }

    fn from_items(items: &[Value], limits: &Limits) -> Result<CoseSign, CoseError> {
        let [protected, unprotected, payload, signatures] = items else {
            return Err(CoseError::Malformed { what: "COSE_Sign is not an array of 4" });
        };
        let (protected, unprotected) = read_headers(protected, unprotected, limits)?;
        let payload = read_payload(payload)?;
        let signatures =
            signatures.as_array().ok_or(CoseError::Malformed { what: "signatures is not an array" })?;
        if signatures.is_empty() {
            return Err(CoseError::NoSignatures);
        }
        let signatures = signatures
            .iter()
            .map(|s| {
                let [protected, unprotected, signature] = s.as_array().unwrap_or_default() else {
                    return Err(CoseError::Malformed { what: "COSE_Signature is not an array of 3" });
                };
                let (protected, unprotected) = read_headers(protected, unprotected, limits)?;
                Ok(CoseSignature { protected, unprotected, signature: read_signature(signature)? })
            })
            .collect::<Result<_, _>>()?;
        Ok(CoseSign { protected, unprotected, payload, signatures })
    }

    /// The message as a tagged CBOR value.
    pub fn to_value(&self) -> Value {
        Value::Tag(
            TAG_SIGN,
            Box::new(Value::Array(vec![
                Value::bytes(self.protected.as_bytes()),
                self.unprotected.to_value(),
                Value::bytes(self.payload.as_slice()),
                Value::Array(self.signatures.iter().map(CoseSignature::to_value).collect()),
            ])),
        )
    }

    /// The canonical encoding of the message. For a parsed message, these
    /// are the bytes that were parsed.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(&self.to_value())
    }

    fn signer(&self, index: usize) -> Result<&CoseSignature, CoseError> {
        self.signatures
            .get(index)
            .ok_or(CoseError::SignerIndexOutOfRange { index, signers: self.signatures.len() })
    }

    /// The bytes signature `index` covers.
    ///
    /// # Errors
    /// [`CoseError::SignerIndexOutOfRange`].
    pub fn to_be_signed(&self, index: usize) -> Result<Vec<u8>, CoseError> {
        let signer = self.signer(index)?;
        Ok(sig_structure(self.protected.as_bytes(), signer.protected.as_bytes(), &self.payload))
    }

    /// Checks signature `index` under `key` with `verify_strict`; the
    /// algorithm is read from that signer's protected header.
    ///
    /// # Errors
    /// [`CoseError::SignerIndexOutOfRange`], and as [`CoseSign1::verify`].
    pub fn verify_signer(&self, index: usize, key: &VerifyingKey) -> Result<(), CoseError> {
        self.signature_input(index, key)?.verify()
    }

    /// Signature `index` under `key` with every check of
    /// [`CoseSign::verify_signer`] made but the Ed25519 predicate.
    ///
    /// # Errors
    /// As [`CoseSign::verify_signer`], but never [`CoseError::BadSignature`].
    pub fn signature_input(&self, index: usize, key: &VerifyingKey) -> Result<SignatureInput, CoseError> {
        let signer = self.signer(index)?;
        SignatureInput::new(signer.protected.header(), self.to_be_signed(index)?, &signer.signature, key)
    }

    /// The same message with every unprotected header emptied: the body's
    /// and each signer's.
    pub fn stripped(&self) -> CoseSign {
        CoseSign {
            unprotected: Header::default(),
            signatures: self
                .signatures
                .iter()
                .map(|s| CoseSignature { unprotected: Header::default(), ..s.clone() })
                .collect(),
            ..self.clone()
        }
    }
}

/// A `COSE_Sign1` or a `COSE_Sign`, told apart by their tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoseMessage {
    Sign1(CoseSign1),
    Sign(CoseSign),
}

impl CoseMessage {
    /// Reads a tagged `COSE_Sign1` or `COSE_Sign`.
    ///
    /// # Errors
    /// As [`CoseSign1::parse`] and [`CoseSign::parse`]; a tag that is
    /// neither gives [`CoseError::WrongTag`] with `want` 18.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<CoseMessage, CoseError> {
        match tagged_array(bytes, limits)? {
            (TAG_SIGN1, items) => CoseSign1::from_items(&items, limits).map(CoseMessage::Sign1),
            (TAG_SIGN, items) => CoseSign::from_items(&items, limits).map(CoseMessage::Sign),
            (tag, _) => Err(CoseError::WrongTag { tag, want: TAG_SIGN1 }),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            CoseMessage::Sign1(m) => m.to_bytes(),
            CoseMessage::Sign(m) => m.to_bytes(),
        }
    }

    /// Whether every unprotected header (the body's, and each signer's) is
    /// empty, so that the message equals [`CoseMessage::stripped`].
    pub fn is_stripped(&self) -> bool {
        let empty = |h: &Header| *h == Header::default();
        match self {
            CoseMessage::Sign1(m) => empty(&m.unprotected),
            CoseMessage::Sign(m) => {
                empty(&m.unprotected) && m.signatures.iter().all(|s| empty(&s.unprotected))
            }
        }
    }

    /// The message with every unprotected header emptied.
    pub fn stripped(&self) -> CoseMessage {
        match self {
            CoseMessage::Sign1(m) => CoseMessage::Sign1(m.stripped()),
            CoseMessage::Sign(m) => CoseMessage::Sign(m.stripped()),
        }
    }

    /// The body's protected header.
    pub fn protected(&self) -> &ProtectedHeader {
        match self {
            CoseMessage::Sign1(m) => &m.protected,
            CoseMessage::Sign(m) => &m.protected,
        }
    }

    pub fn payload(&self) -> &[u8] {
        match self {
            CoseMessage::Sign1(m) => &m.payload,
            CoseMessage::Sign(m) => &m.payload,
        }
    }

    /// How many signatures the message carries.
    pub fn signer_count(&self) -> usize {
        match self {
            CoseMessage::Sign1(_) => 1,
            CoseMessage::Sign(m) => m.signatures.len(),
        }
    }

    /// Checks signature `index` (0 for `COSE_Sign1`) under `key`.
    ///
    /// # Errors
    /// As [`CoseSign::verify_signer`].
    pub fn verify_signer(&self, index: usize, key: &VerifyingKey) -> Result<(), CoseError> {
        self.signature_input(index, key)?.verify()
    }

    /// Signature `index` under `key` with every check of
    /// [`CoseMessage::verify_signer`] made but the Ed25519 predicate.
    ///
    /// # Errors
    /// As [`CoseMessage::verify_signer`], but never
    /// [`CoseError::BadSignature`].
    pub fn signature_input(&self, index: usize, key: &VerifyingKey) -> Result<SignatureInput, CoseError> {
        match self {
            CoseMessage::Sign1(m) if index == 0 => m.signature_input(key),
            CoseMessage::Sign1(_) => Err(CoseError::SignerIndexOutOfRange { index, signers: 1 }),
            CoseMessage::Sign(m) => m.signature_input(index, key),
        }
    }
}

/// Builds and signs a `COSE_Sign1`. Parameters set through [`kid`],
/// [`content_type`] and [`cwt_claims`] go in the protected header; `alg`
/// is always set to EdDSA there.
///
/// [`kid`]: Sign1Builder::kid
/// [`content_type`]: Sign1Builder::content_type
/// [`cwt_claims`]: Sign1Builder::cwt_claims
#[derive(Clone, Debug, Default)]
pub struct Sign1Builder {
    protected: Header,
    unprotected: Header,
    payload: Vec<u8>,
}

impl Sign1Builder {
    pub fn new(payload: impl Into<Vec<u8>>) -> Sign1Builder {
        Sign1Builder { payload: payload.into(), ..Sign1Builder::default() }
    }

    pub fn kid(mut self, kid: impl Into<Vec<u8>>) -> Sign1Builder {
        self.protected.kid = Some(kid.into());
        self
    }

    pub fn content_type(mut self, content_type: ContentType) -> Sign1Builder {
        self.protected.content_type = Some(content_type);
        self
    }

    pub fn cwt_claims(mut self, claims: CwtClaims) -> Sign1Builder {
        self.protected.cwt_claims = Some(claims);
        self
    }

    /// Replaces the whole protected header (`alg` is still set on signing).
    pub fn protected(mut self, header: Header) -> Sign1Builder {
        self.protected = header;
        self
    }

    pub fn unprotected(mut self, header: Header) -> Sign1Builder {
        self.unprotected = header;
        self
    }

    /// Signs with `key` (Ed25519 is deterministic: the same input gives the
    /// same bytes) and returns the message as [`CoseSign1::parse`] reads it.
    ///
    /// # Errors
    /// Whatever [`CoseSign1::parse`] refuses in the result, e.g. a label in
    /// both headers or an unknown parameter that repeats a known label.
    pub fn sign(mut self, key: &SigningKey) -> Result<CoseSign1, CoseError> {
        self.protected.alg = Some(ALG_EDDSA);
        let protected = ProtectedHeader::new(self.protected);
        let signature = key.sign(&sig_structure1(protected.as_bytes(), &self.payload)).to_bytes().to_vec();
        let message =
            CoseSign1 { protected, unprotected: self.unprotected, payload: self.payload, signature };
        CoseSign1::parse(&message.to_bytes(), &unbounded())
    }
}

/// Builds and signs a `COSE_Sign` with one or more signers. Body
/// parameters set through [`content_type`] and [`cwt_claims`] go in the
/// body's protected header; each signer's protected header gets `alg`
/// EdDSA and, through [`signer`], its `kid`.
///
/// [`content_type`]: SignBuilder::content_type
/// [`cwt_claims`]: SignBuilder::cwt_claims
/// [`signer`]: SignBuilder::signer
#[derive(Clone, Debug, Default)]
pub struct SignBuilder<'k> {
    protected: Header,
    unprotected: Header,
    payload: Vec<u8>,
    signers: Vec<(&'k SigningKey, Header, Header)>,
}

impl<'k> SignBuilder<'k> {
    pub fn new(payload: impl Into<Vec<u8>>) -> SignBuilder<'k> {
        SignBuilder { payload: payload.into(), ..SignBuilder::default() }
    }

    pub fn content_type(mut self, content_type: ContentType) -> SignBuilder<'k> {
        self.protected.content_type = Some(content_type);
        self
    }

    pub fn cwt_claims(mut self, claims: CwtClaims) -> SignBuilder<'k> {
        self.protected.cwt_claims = Some(claims);
        self
    }

    /// Replaces the body's whole protected header.
    pub fn protected(mut self, header: Header) -> SignBuilder<'k> {
        self.protected = header;
        self
    }

    pub fn unprotected(mut self, header: Header) -> SignBuilder<'k> {
        self.unprotected = header;
        self
    }

    /// Adds a signer whose protected header is `{alg: EdDSA, kid: kid}`.
    pub fn signer(self, key: &'k SigningKey, kid: impl Into<Vec<u8>>) -> SignBuilder<'k> {
        let protected = Header { kid: Some(kid.into()), ..Header::default() };
        self.signer_with_headers(key, protected, Header::default())
    }

    /// Adds a signer with the given headers (`alg` is set on signing).
    pub fn signer_with_headers(
        mut self,
        key: &'k SigningKey,
        protected: Header,
        unprotected: Header,
    ) -> SignBuilder<'k> {
        self.signers.push((key, protected, unprotected));
        self
    }

    /// Signs with every signer, in the order added, and returns the
    /// message as [`CoseSign::parse`] reads it.
    ///
    /// # Errors
    /// [`CoseError::NoSignatures`] without signers, and whatever
    /// [`CoseSign::parse`] refuses in the result.
    pub fn sign(self) -> Result<CoseSign, CoseError> {
        let protected = ProtectedHeader::new(self.protected);
        let signatures = self
            .signers
            .into_iter()
            .map(|(key, mut signer_protected, unprotected)| {
                signer_protected.alg = Some(ALG_EDDSA);
                let signer_protected = ProtectedHeader::new(signer_protected);
                let tbs = sig_structure(protected.as_bytes(), signer_protected.as_bytes(), &self.payload);
                let signature = key.sign(&tbs).to_bytes().to_vec();
                CoseSignature { protected: signer_protected, unprotected, signature }
            })
            .collect();
        let message =
            CoseSign { protected, unprotected: self.unprotected, payload: self.payload, signatures };
        CoseSign::parse(&message.to_bytes(), &unbounded())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(name: &str) -> serde_json::Value {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/cose/");
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}{name}")).unwrap()).unwrap()
    }

    fn hex_field(v: &serde_json::Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap()).unwrap()
    }

    fn keys(key: &serde_json::Value) -> (SigningKey, VerifyingKey) {
        let d: [u8; 32] = hex_field(&key["d_hex"]).try_into().unwrap();
        let x = verifying_key(&hex_field(&key["x_hex"])).unwrap();
        let signing = SigningKey::from_bytes(&d);
        assert_eq!(signing.verifying_key(), x);
        (signing, x)
    }

    /// The `COSE_Sign1` vector: bytes, the key pair and the payload.
    fn sign1_vector() -> (Vec<u8>, SigningKey, VerifyingKey, serde_json::Value) {
        let v = vector("eddsa-sig-01.json");
        let (d, x) = keys(&v["input"]["sign0"]["key"]);
        (hex_field(&v["output"]["cbor"]), d, x, v)
    }

    fn sign_vector() -> (Vec<u8>, SigningKey, VerifyingKey, serde_json::Value) {
        let v = vector("eddsa-01.json");
        let (d, x) = keys(&v["input"]["sign"]["signers"][0]["key"]);
        (hex_field(&v["output"]["cbor"]), d, x, v)
    }

    fn limits() -> Limits {
        Limits::default()
    }

    fn kid_header(kid: &[u8]) -> Header {
        Header { kid: Some(kid.to_vec()), ..Header::default() }
    }

    #[test]
    fn sign1_vector_parses_verifies_and_is_reproduced_by_signing() {
        let (bytes, d, x, v) = sign1_vector();
        let msg = CoseSign1::parse(&bytes, &limits()).unwrap();
        assert_eq!(msg.protected.as_bytes(), hex::decode("a201270300").unwrap());
        assert_eq!(msg.protected.header().alg, Some(ALG_EDDSA));
        assert_eq!(msg.protected.header().content_type, Some(ContentType::CoAP(0)));
        assert_eq!(msg.unprotected, kid_header(b"11"));
        assert_eq!(msg.payload, b"This is the content.");
        assert_eq!(msg.to_be_signed(), hex_field(&v["intermediates"]["ToBeSign_hex"]));
        assert_eq!(msg.verify(&x), Ok(()));
        assert_eq!(msg.to_bytes(), bytes);

        let built = Sign1Builder::new(&b"This is the content."[..])
            .content_type(ContentType::CoAP(0))
            .unprotected(kid_header(b"11"))
            .sign(&d)
            .unwrap();
        assert_eq!(built.to_bytes(), bytes);
    }

    #[test]
    fn sign_vector_parses_verifies_and_is_reproduced_by_signing() {
        let (bytes, d, x, v) = sign_vector();
        let msg = CoseSign::parse(&bytes, &limits()).unwrap();
        assert_eq!(msg.protected.header().content_type, Some(ContentType::CoAP(0)));
        assert!(msg.unprotected.is_empty());
        assert_eq!(msg.signatures.len(), 1);
        assert_eq!(msg.signatures[0].protected.as_bytes(), hex::decode("a10127").unwrap());
        assert_eq!(msg.signatures[0].unprotected, kid_header(b"11"));
        let tbs = hex_field(&v["intermediates"]["signers"][0]["ToBeSign_hex"]);
        assert_eq!(msg.to_be_signed(0).unwrap(), tbs);
        assert_eq!(msg.verify_signer(0, &x), Ok(()));
        assert_eq!(msg.to_bytes(), bytes);

        let built = SignBuilder::new(&b"This is the content."[..])
            .content_type(ContentType::CoAP(0))
            .signer_with_headers(&d, Header::default(), kid_header(b"11"))
            .sign()
            .unwrap();
        assert_eq!(built.to_bytes(), bytes);
        assert!(matches!(CoseMessage::parse(&bytes, &limits()), Ok(CoseMessage::Sign(m)) if m == built));
    }

    /// Flips one bit at byte `at` of `bytes`.
    fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        b
    }

    #[test]
    fn a_flipped_bit_in_payload_protected_header_or_signature_fails_verification() {
        let (bytes, _, x, _) = sign1_vector();
        // d2 84 45 a2 01 27 03 [00] a1 04 42 31 31 54 [payload…] 58 40 [sig…]
        for at in [7, 14, 33, bytes.len() - 1] {
            let msg = CoseSign1::parse(&flip(&bytes, at), &limits()).unwrap();
            assert_eq!(msg.verify(&x), Err(CoseError::BadSignature), "bit flipped at byte {at}");
        }
        let (bytes, _, x, _) = sign_vector();
        // d8 62 84 43 a1 03 [00] a0 54 [payload…] 81 83 43 a1 01 27 a1 04 42 31 31 58 40 [sig…]
        for at in [6, 9, bytes.len() - 64] {
            let msg = CoseSign::parse(&flip(&bytes, at), &limits()).unwrap();
            assert_eq!(msg.verify_signer(0, &x), Err(CoseError::BadSignature), "bit flipped at byte {at}");
        }
    }

    #[test]
    fn a_weak_public_key_is_refused() {
        // The identity point: every signature (R = identity, s = 0) is a
        // valid cofactorless signature under it, for every message.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(verifying_key(&identity), Err(CoseError::WeakKey));
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let (bytes, _, _, _) = sign1_vector();
        let mut msg = CoseSign1::parse(&bytes, &limits()).unwrap();
        msg.signature = [identity, [0u8; 32]].concat();
        assert_eq!(msg.verify(&weak), Err(CoseError::WeakKey));
        assert_eq!(verifying_key(&[0u8; 31]), Err(CoseError::InvalidKey { what: "not 32 bytes" }));
    }

    #[test]
    fn a_non_canonical_public_key_encoding_is_refused() {
        // y = p + 3 = 2^255 - 16 encodes the same point as y = 3, which is
        // on the curve and of large order; dalek accepts either encoding.
        let mut non_canonical = [0xff; 32];
        non_canonical[0] = 0xf0;
        non_canonical[31] = 0x7f;
        let key = VerifyingKey::from_bytes(&non_canonical).unwrap();
        assert!(!key.is_weak());
        let refused = CoseError::InvalidKey { what: "non-canonical point encoding" };
        assert_eq!(verifying_key(&non_canonical), Err(refused.clone()));
        let (bytes, _, _, _) = sign1_vector();
        let msg = CoseSign1::parse(&bytes, &limits()).unwrap();
        assert_eq!(msg.verify(&key), Err(refused));
        let mut canonical = [0u8; 32];
        canonical[0] = 3;
        assert_eq!(verifying_key(&canonical).map(|k| k.to_edwards()), Ok(key.to_edwards()));
    }

    /// The byte test agrees with re-encoding the point, for every encoding
    /// with y >= p (each sign) that decodes to a point not of small order,
    /// and for the edge of the canonical range and random keys.
    #[test]
    fn canonical_y_agrees_with_re_encoding() {
        let reencodes =
            |b: &[u8; 32]| VerifyingKey::from_bytes(b).unwrap().to_edwards().compress().to_bytes() == *b;
        let mut checked = 0;
        for k in 0..19u8 {
            for sign in [0u8, 0x80] {
                let mut b = [0xff; 32];
                b[0] = 0xed + k;
                b[31] = 0x7f | sign;
                if let Ok(key) = VerifyingKey::from_bytes(&b) {
                    if !key.is_weak() {
                        assert!(!canonical_y(&b) && !reencodes(&b), "{b:02x?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 0, "some y >= p encodes a point");
        // y = p - 1 is canonical.
        let mut edge = [0xff; 32];
        edge[0] = 0xec;
        edge[31] = 0x7f;
        assert!(canonical_y(&edge));
        for seed in 0..64u8 {
            let b = SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes();
            assert!(canonical_y(&b) && reencodes(&b));
        }
    }

    #[test]
    fn non_canonical_encodings_of_the_vectors_are_refused() {
        let (bytes, _, _, _) = sign1_vector();
        let h = hex::encode(&bytes);
        let cases = [
            // payload length in 2 bytes
            (h.replacen("54546869", "58145468 69", 1), CborError::NonMinimal { offset: 13 }),
            // tag 18 in 2 bytes
            (h.replacen("d284", "d81284", 1), CborError::NonMinimal { offset: 0 }),
            // protected header length in 2 bytes
            (h.replacen("8445a2", "845805a2", 1), CborError::NonMinimal { offset: 2 }),
            // indefinite-length outer array
            (format!("d29f{}ff", &h[4..]), CborError::IndefiniteLength { offset: 1 }),
            // trailing byte
            (format!("{h}00"), CborError::TrailingBytes { offset: bytes.len(), count: 1 }),
        ];
        for (input, want) in cases {
            let input = hex::decode(input.replace(' ', "")).unwrap();
            assert_eq!(CoseSign1::parse(&input, &limits()), Err(CoseError::Cbor(want.clone())), "{want:?}");
        }
        // A protected header with its keys out of order.
        let unsorted = hex::decode(h.replacen("a201270300", "a203000127", 1)).unwrap();
        assert_eq!(
            CoseSign1::parse(&unsorted, &limits()),
            Err(CoseError::ProtectedHeaderCbor(CborError::UnsortedMapKeys { offset: 3 }))
        );
        let (bytes, _, _, _) = sign_vector();
        let h = hex::encode(&bytes);
        // signer array length in 2 bytes
        let input = hex::decode(h.replacen("818343", "98018343", 1)).unwrap();
        assert_eq!(
            CoseSign::parse(&input, &limits()),
            Err(CoseError::Cbor(CborError::NonMinimal { offset: 29 }))
        );
    }

    #[test]
    fn detached_payloads_are_refused() {
        let (bytes, _, _, _) = sign1_vector();
        let h = hex::encode(&bytes).replacen("54546869732069732074686520636f6e74656e742e", "f6", 1);
        assert_eq!(CoseSign1::parse(&hex::decode(h).unwrap(), &limits()), Err(CoseError::DetachedPayload));
    }

    #[test]
    fn tags_are_required_and_checked() {
        let (bytes, _, _, _) = sign1_vector();
        assert_eq!(CoseSign1::parse(&bytes[1..], &limits()), Err(CoseError::MissingTag));
        assert_eq!(CoseSign::parse(&bytes, &limits()), Err(CoseError::WrongTag { tag: 18, want: 98 }));
        let (bytes, _, _, _) = sign_vector();
        assert_eq!(CoseSign1::parse(&bytes, &limits()), Err(CoseError::WrongTag { tag: 98, want: 18 }));
        let mut other = bytes.clone();
        other[1] = 0x61; // tag 97, COSE_Mac
        assert_eq!(CoseMessage::parse(&other, &limits()), Err(CoseError::WrongTag { tag: 97, want: 18 }));
    }

    #[test]
    fn a_label_in_both_headers_or_a_crit_header_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let both = Sign1Builder::new(&b"x"[..]).kid(&b"k"[..]).unprotected(kid_header(b"k")).sign(&key);
        assert_eq!(both, Err(CoseError::LabelInBothBuckets { label: "4".into() }));
        let crit = Header {
            other: vec![(Value::int(LABEL_CRIT), Value::Array(vec![Value::int(99)]))],
            ..Header::default()
        };
        assert_eq!(Sign1Builder::new(&b"x"[..]).protected(crit).sign(&key), Err(CoseError::CritNotSupported));
        let bad_label = Header {
            other: vec![(Value::text("x"), Value::Null), (Value::Unsigned(u64::MAX), Value::Null)],
            ..Header::default()
        };
        assert!(matches!(
            Sign1Builder::new(&b"x"[..]).unprotected(bad_label).sign(&key),
            Err(CoseError::Malformed { .. })
        ));
    }

    #[test]
    fn headers_round_trip_with_cwt_claims_and_unknown_labels() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let claims = CwtClaims {
            iss: Some("urn:epc:id:pgln:0614141.00000".into()),
            sub: Some("urn:epc:class:lgtin:0614141.107346.2018".into()),
            iat: Some(1_700_000_000),
            other: vec![(Value::int(4), Value::int(1_800_000_000)), (Value::text("x"), Value::Bool(true))],
        };
        let protected = Header {
            content_type: Some(ContentType::Text("application/ld+json".into())),
            cwt_claims: Some(claims),
            other: vec![
                (Value::int(-70_000), Value::Null),
                (Value::int(16), Value::text("application/example")),
            ],
            ..kid_header(&[1, 2, 3])
        };
        let unprotected =
            Header { other: vec![(Value::text("note"), Value::text("hello"))], ..Header::default() };
        let msg = Sign1Builder::new(&b"{}"[..])
            .protected(protected.clone())
            .unprotected(unprotected.clone())
            .sign(&key)
            .unwrap();
        let back = CoseSign1::parse(&msg.to_bytes(), &limits()).unwrap();
        let mut want = protected;
        want.alg = Some(ALG_EDDSA);
        // Unknown entries come back in canonical order.
        want.other.swap(0, 1);
        assert_eq!(back.protected.header(), &want);
        assert_eq!(back.unprotected, unprotected);
        assert_eq!(back.verify(&key.verifying_key()), Ok(()));
    }

    #[test]
    fn wrongly_typed_known_headers_are_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        for (label, value, want) in [
            (
                LABEL_KID,
                Value::text("k"),
                CoseError::BadHeaderParameter { label: LABEL_KID, expected: "a byte string" },
            ),
            (
                LABEL_ALG,
                Value::text("EdDSA"),
                CoseError::BadHeaderParameter { label: LABEL_ALG, expected: "an integer" },
            ),
            (
                LABEL_CONTENT_TYPE,
                Value::int(-1),
                CoseError::BadHeaderParameter {
                    label: LABEL_CONTENT_TYPE,
                    expected: "text or an unsigned integer",
                },
            ),
            (
                LABEL_CWT_CLAIMS,
                Value::Null,
                CoseError::BadHeaderParameter { label: LABEL_CWT_CLAIMS, expected: "a map" },
            ),
            (
                LABEL_CWT_CLAIMS,
                Value::Map(vec![(Value::int(CLAIM_ISS), Value::bytes(vec![1]))]),
                CoseError::BadCwtClaim { claim: CLAIM_ISS, expected: "text" },
            ),
            (
                LABEL_CWT_CLAIMS,
                Value::Map(vec![(Value::int(CLAIM_IAT), Value::text("now"))]),
                CoseError::BadCwtClaim { claim: CLAIM_IAT, expected: "an integer" },
            ),
        ] {
            let header = Header { other: vec![(Value::int(label), value)], ..Header::default() };
            assert_eq!(Sign1Builder::new(&b"x"[..]).unprotected(header).sign(&key), Err(want));
        }
    }

    #[test]
    fn stripping_empties_every_unprotected_header_and_keeps_signatures_valid() {
        let (bytes, _, x, _) = sign1_vector();
        let stripped = CoseSign1::parse(&bytes, &limits()).unwrap().stripped();
        let want = hex::encode(&bytes).replacen("a1044231315454", "a05454", 1);
        assert_eq!(hex::encode(stripped.to_bytes()), want);
        assert_eq!(stripped.verify(&x), Ok(()));

        let a = SigningKey::from_bytes(&[1; 32]);
        let b = SigningKey::from_bytes(&[2; 32]);
        let msg = SignBuilder::new(&b"payload"[..])
            .unprotected(kid_header(b"body"))
            .signer_with_headers(&a, Header::default(), kid_header(b"a"))
            .signer_with_headers(&b, Header::default(), kid_header(b"b"))
            .sign()
            .unwrap();
        let stripped = CoseMessage::Sign(msg).stripped();
        let CoseMessage::Sign(s) = &stripped else { unreachable!() };
        assert!(s.unprotected.is_empty() && s.signatures.iter().all(|sig| sig.unprotected.is_empty()));
        assert_eq!(stripped.verify_signer(0, &a.verifying_key()), Ok(()));
        assert_eq!(stripped.verify_signer(1, &b.verifying_key()), Ok(()));
        assert_eq!(CoseMessage::parse(&stripped.to_bytes(), &limits()), Ok(stripped));
    }

    #[test]
    fn each_signer_of_a_cose_sign_verifies_only_under_its_own_key() {
        let keys: Vec<SigningKey> = (1..=3).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        let mut builder =
            SignBuilder::new(&b"recall lot 42"[..]).content_type(ContentType::Text("text/plain".into()));
        for (i, k) in keys.iter().enumerate() {
            builder = builder.signer(k, vec![i as u8]);
        }
        let msg = builder.sign().unwrap();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(msg.verify_signer(i, &k.verifying_key()), Ok(()));
            let other = &keys[(i + 1) % keys.len()];
            assert_eq!(msg.verify_signer(i, &other.verifying_key()), Err(CoseError::BadSignature));
        }
        assert_eq!(
            msg.verify_signer(3, &keys[0].verifying_key()),
            Err(CoseError::SignerIndexOutOfRange { index: 3, signers: 3 })
        );
        assert_eq!(SignBuilder::new(&b"x"[..]).sign(), Err(CoseError::NoSignatures));
    }

    #[test]
    fn verification_requires_eddsa_in_the_protected_header() {
        let (bytes, _, x, _) = sign_vector();
        let mut msg = CoseSign::parse(&bytes, &limits()).unwrap();
        // Move alg out of the signer's protected header.
        msg.signatures[0].protected = ProtectedHeader::new(Header::default());
        assert_eq!(msg.verify_signer(0, &x), Err(CoseError::UnsupportedAlgorithm { alg: None }));
        let es256 = Header { alg: Some(-7), ..Header::default() };
        msg.signatures[0].protected = ProtectedHeader::new(es256);
        assert_eq!(msg.verify_signer(0, &x), Err(CoseError::UnsupportedAlgorithm { alg: Some(-7) }));
        let (bytes, _, x, _) = sign1_vector();
        let mut msg = CoseSign1::parse(&bytes, &limits()).unwrap();
        msg.signature.pop();
        assert_eq!(msg.verify(&x), Err(CoseError::SignatureLength { len: 63 }));
    }
}
