//! The Ed25519 predicate (`eddsa::verify_strict`) against ed25519-dalek's
//! `verify_strict`.
//!
//! Property: the two accept exactly the same signatures, and so does
//! `eddsa::verify_strict_batch` for the signature in a batch after a valid
//! one of the same message (batches encode their computed points together,
//! with one shared field inversion). The input is a
//! 32-byte seed, a 64-byte mask, a mode byte and the message. Mode 0 signs
//! the message with the seed's key and XORs the mask into the signature
//! (a zero mask is a valid signature; single bits and bytes reach the
//! boundaries of R and S); mode 1 takes the seed as a raw public key and
//! the mask as a raw signature (weak, mixed-order and off-curve keys).
#![no_main]

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use libfuzzer_sys::fuzz_target;
use provlog_ledger::eddsa;

fuzz_target!(|data: &[u8]| {
    if data.len() < 97 {
        return;
    }
    let seed: [u8; 32] = data[..32].try_into().unwrap();
    let mask: [u8; 64] = data[32..96].try_into().unwrap();
    let message = &data[97..];
    let (key, signature) = if data[96] & 1 == 0 {
        let signer = SigningKey::from_bytes(&seed);
        let mut signature = signer.sign(message).to_bytes();
        signature.iter_mut().zip(mask).for_each(|(s, m)| *s ^= m);
        (signer.verifying_key(), signature)
    } else {
        let Ok(key) = VerifyingKey::from_bytes(&seed) else { return };
        (key, mask)
    };
    let dalek = key.verify_strict(message, &Signature::from_bytes(&signature)).is_ok();
    assert_eq!(eddsa::verify_strict(&key, message, &signature), dalek, "the predicates disagree");
    let other = SigningKey::from_bytes(&[7; 32]);
    let valid = other.sign(message).to_bytes();
    let batch = eddsa::verify_strict_batch(&[
        eddsa::Check { key: &other.verifying_key(), message, signature: &valid },
        eddsa::Check { key: &key, message, signature: &signature },
    ]);
    assert_eq!(batch, [true, dalek], "the batch disagrees");
    if data[96] & 1 == 0 && mask == [0; 64] {
        assert!(dalek, "a genuine signature is refused");
    }
});
