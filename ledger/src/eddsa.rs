//! The Ed25519 signature predicate every provlog signature is checked with:
//! exactly the set of signatures ed25519-dalek's `verify_strict` accepts,
//! computed with one point decompression fewer.
//!
//! `verify_strict` accepts a signature `(R, S)` by key `A` over `M` when
//!
//! 1. `S` is a canonical scalar (below the group order `l`);
//! 2. `R` decodes to a curve point, and neither that point nor `A` is of
//!    small order;
//! 3. the canonical encoding of `[S]B - [k]A`, with
//!    `k = SHA-512(R || A || M) mod l`, equals the 32 bytes `R` as sent.
//!
//! Decoding `R` is a field exponentiation, about a tenth of a verification.
//! It is not needed: when check 3 holds, `R` is the canonical encoding of
//! the computed point `R' = [S]B - [k]A`, so `R` decodes, and to `R'`
//! itself; "`R` is of small order" is then "`R'` is of small order", and
//! as encodings are one-to-one, "`R` is one of the eight canonical
//! encodings of the points of small order", a byte comparison. When
//! check 3 fails the signature is refused either way. Hence
//! [`verify_strict`] checks 1, 3 and then the small orders of `R` and
//! `A`, and accepts exactly what `verify_strict` accepts.
//!
//! Whether `A` is of small order is also a byte comparison
//! ([`is_weak`]): a key's bytes decode to a point of small order exactly
//! when they are one of the fourteen encodings of those eight points
//! (see [`SMALL_ORDER_KEYS`]). Multiplying `A` by the cofactor, as
//! `VerifyingKey::is_weak` does, cost about 1 µs, and the COSE layer
//! asked it three times per signature.
//!
//! Encoding `R'` for check 3 takes a field inversion, another tenth of a
//! verification. [`verify_strict_batch`] answers for many signatures at
//! once, each exactly as [`verify_strict`] does, and encodes their computed
//! points together (`EdwardsPoint::compress_batch_alloc`: one inversion
//! for the lot, three multiplications each). Nothing else is shared: it is
//! not batch verification in the usual sense (one random linear
//! combination of the equations), which would accept signatures that
//! `verify_strict` refuses. The tests compare the two on valid, mutated and
//! crafted signatures (a small-order `R` that satisfies the equation,
//! non-canonical `S`, small-order keys, keys with a torsion component), and
//! a fuzz target keeps comparing them. Two cases rest on the argument
//! alone, as no test can build them: a non-canonical encoding of an `R`
//! that is not of small order (its equation cannot be satisfied without a
//! discrete logarithm; the byte comparison refuses it, as `verify_strict`'s
//! does), and non-canonical key encodings (the same key bytes are hashed
//! and used by both; the COSE layer refuses such keys before either).

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::{EdwardsPoint, Scalar};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};
use std::sync::LazyLock;

/// The length of an Ed25519 signature: `R` then `S`, 32 bytes each.
pub const SIGNATURE_SIZE: usize = 64;

/// The canonical encodings of the eight points of small order.
static SMALL_ORDER: LazyLock<[[u8; 32]; 8]> =
    LazyLock::new(|| EIGHT_TORSION.map(|p| p.compress().to_bytes()));

/// Every 32-byte string that decodes to a point of small order: each of
/// the eight canonical encodings, with either sign bit, and `y + p` for
/// the two of them whose `y` is below 19 (0 and 1), with either sign bit.
/// Decoding reads the low 255 bits as `y` and reduces it modulo `p`, so
/// `y` and `y + p` (when below 2^255) decode alike; and it takes `x = 0`
/// whatever the sign bit says. For the points with `x != 0` the other sign
/// bit encodes the negated point, of small order too. That makes 8
/// canonical encodings, 2 with the sign bit of `x = 0` set, and 2 times 2
/// for `y + p`: fourteen, as the tests check against ed25519-dalek.
static SMALL_ORDER_KEYS: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    let mut all: Vec<[u8; 32]> = Vec::new();
    for canonical in SMALL_ORDER.iter() {
        let mut ys = vec![*canonical];
        if canonical[1..].iter().all(|&b| b == 0) && canonical[0] < 19 {
            // y + p = y + 2^255 - 19: 0xed + y, then 30 bytes 0xff, 0x7f.
            let mut plus_p = [0xff; 32];
            plus_p[0] = 0xed + canonical[0];
            plus_p[31] = 0x7f;
            ys.push(plus_p);
        }
        for y in ys {
            for sign in [0, 0x80] {
                let mut encoding = y;
                encoding[31] = (y[31] & 0x7f) | sign;
                if !all.contains(&encoding) {
                    all.push(encoding);
                }
            }
        }
    }
    all
});

/// Whether `key` is of small order, as `VerifyingKey::is_weak` answers,
/// by comparing its bytes with [`SMALL_ORDER_KEYS`] (see the module
/// documentation).
pub fn is_weak(key: &VerifyingKey) -> bool {
    SMALL_ORDER_KEYS.contains(key.as_bytes())
}

/// Whether `signature` is a valid signature of `message` by `key` under
/// ed25519-dalek's `verify_strict` rules (see the module documentation).
pub fn verify_strict(key: &VerifyingKey, message: &[u8], signature: &[u8; SIGNATURE_SIZE]) -> bool {
    let check = Check { key, message, signature };
    computed_point(&check).is_some_and(|point| check.accepts(point.compress().as_bytes()))
}

/// One signature for [`verify_strict_batch`].
#[derive(Clone, Copy, Debug)]
pub struct Check<'a> {
    pub key: &'a VerifyingKey,
    pub message: &'a [u8],
    pub signature: &'a [u8; SIGNATURE_SIZE],
}

/// [`verify_strict`] of each check, in order, with the computed points
/// encoded together (see the module documentation): the answers are the
/// same, at about a tenth less work per signature.
pub fn verify_strict_batch(checks: &[Check]) -> Vec<bool> {
    let points: Vec<Option<EdwardsPoint>> = checks.iter().map(computed_point).collect();
    let computed: Vec<EdwardsPoint> = points.iter().flatten().copied().collect();
    let mut encoded = EdwardsPoint::compress_batch_alloc(&computed).into_iter();
    checks
        .iter()
        .zip(&points)
        .map(|(check, point)| {
            point.is_some() && check.accepts(encoded.next().expect("one encoding per point").as_bytes())
        })
        .collect()
}

/// `[S]B - [k]A` (checks 1 and 3 of the module documentation, before the
/// comparison), or `None` if `S` is not canonical.
fn computed_point(check: &Check) -> Option<EdwardsPoint> {
    let Check { key, message, signature } = *check;
    let (r, s) = signature.split_at(32);
    let s: [u8; 32] = s.try_into().expect("32 bytes");
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))?;
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new().chain_update(r).chain_update(key.as_bytes()).chain_update(message).finalize().into(),
    );
    Some(EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.to_edwards(), &s))
}

impl Check<'_> {
    /// Check 3's comparison, given the encoding of the computed point, then
    /// check 2: neither `R` nor `A` of small order.
    fn accepts(&self, computed: &[u8; 32]) -> bool {
        let r = &self.signature[..32];
        computed == r && !SMALL_ORDER.iter().any(|t| t == r) && !is_weak(self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use ed25519_dalek::{Signature, Signer, SigningKey};
    use proptest::prelude::*;

    /// ed25519-dalek's own answer.
    fn dalek(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
        key.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
    }

    /// Both answers, which must agree, and ours again in a batch between
    /// a valid signature and an invalid one.
    fn both(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
        let ours = verify_strict(key, message, signature);
        assert_eq!(
            ours,
            dalek(key, message, signature),
            "key {:02x?} signature {:02x?}",
            key.as_bytes(),
            signature
        );
        let other = SigningKey::from_bytes(&[42; 32]);
        let good = other.sign(b"other").to_bytes();
        let mut bad = good;
        bad[40] ^= 1;
        // S = 2^256 - 1, not canonical: no point is computed for it, and
        // the answers after it must still be their own.
        let mut no_point = good;
        no_point[32..].fill(0xff);
        let (other, this) = (other.verifying_key(), Check { key, message, signature });
        let with = |signature| Check { key: &other, message: b"other", signature };
        let batch =
            [with(&good), this, with(&no_point), with(&good), with(&bad), this, with(&no_point), with(&good)];
        assert_eq!(
            verify_strict_batch(&batch),
            [true, ours, false, true, false, ours, false, true],
            "in a batch"
        );
        assert!(verify_strict_batch(&[]).is_empty());
        ours
    }

    fn scalar(seed: u64) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&Sha512::digest(seed.to_le_bytes()).into())
    }

    fn challenge(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
        Scalar::from_bytes_mod_order_wide(
            &Sha512::new().chain_update(r).chain_update(key).chain_update(message).finalize().into(),
        )
    }

    fn signature(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
        let mut out = [0; 64];
        out[..32].copy_from_slice(r);
        out[32..].copy_from_slice(s);
        out
    }

    /// The key `[a]B + T` for a torsion point `T` (small order, so the sum
    /// is of mixed order: not weak, and accepted as a partner key).
    fn key_with_torsion(a: Scalar, torsion: usize) -> VerifyingKey {
        let point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[torsion];
        VerifyingKey::from_bytes(point.compress().as_bytes()).unwrap()
    }

    /// Signs like Ed25519 but with the secret scalar `a` and nonce `r`
    /// chosen by the caller, so that the key may carry a torsion component.
    fn sign_raw(a: Scalar, key: &VerifyingKey, nonce: Scalar, message: &[u8]) -> [u8; 64] {
        let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
        let s = nonce + challenge(&r, key.as_bytes(), message) * a;
        signature(&r, &s.to_bytes())
    }

    #[test]
    fn a_valid_signature_is_accepted_and_any_flipped_bit_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let message = b"provlog statement";
        let sig = key.sign(message).to_bytes();
        assert!(both(&key.verifying_key(), message, &sig));
        for bit in 0..512 {
            let mut bad = sig;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(!both(&key.verifying_key(), message, &bad), "bit {bit}");
        }
        assert!(!both(&key.verifying_key(), b"another statement", &sig));
    }

    #[test]
    fn a_scalar_of_l_or_more_is_refused() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let message = b"m";
        let sig = key.sign(message).to_bytes();
        // S + l: the same value mod l, so only the canonicity check refuses it.
        let l = Scalar::ZERO - Scalar::ONE;
        let mut s = [0u8; 32];
        let (mut carry, sb, lb) = (0u16, &sig[32..], l.to_bytes());
        for i in 0..32 {
            let v = u16::from(sb[i]) + u16::from(lb[i]) + carry + u16::from(i == 0);
            s[i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!both(&key.verifying_key(), message, &signature(sig[..32].try_into().unwrap(), &s)));
    }

    #[test]
    fn a_small_order_r_that_satisfies_the_equation_is_refused() {
        // R = identity and S = k·a: [S]B - [k]A is the identity, whose
        // encoding is R, so the cofactorless equation holds; verify_strict
        // refuses it because R is of small order, and so must we.
        let a = scalar(1);
        let key = key_with_torsion(a, 0);
        let message = b"forged";
        let identity = EdwardsPoint::default().compress().to_bytes();
        let s = challenge(&identity, key.as_bytes(), message) * a;
        let sig = signature(&identity, &s.to_bytes());
        assert!(!both(&key, message, &sig));
        // Sanity: the equation does hold, so it is the small order that refuses.
        let computed = EdwardsPoint::vartime_double_scalar_mul_basepoint(
            &challenge(&identity, key.as_bytes(), message),
            &-key.to_edwards(),
            &s,
        );
        assert_eq!(computed.compress().to_bytes(), identity);
    }

    #[test]
    fn every_small_order_r_that_satisfies_the_equation_is_refused() {
        // With A = [a]B + T (T of order 8) and S = k·a, [S]B - [k]A is
        // -[k]T: over a few messages it takes each of the eight small-order
        // values, so each is met as an R whose equation holds.
        let a = scalar(3);
        let key = key_with_torsion(a, 1);
        for t in EIGHT_TORSION {
            let r = t.compress().to_bytes();
            let message = (0u32..)
                .map(|n| n.to_le_bytes())
                .find(|m| {
                    let k = challenge(&r, key.as_bytes(), m);
                    EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.to_edwards(), &(k * a))
                        .compress()
                        == t.compress()
                })
                .unwrap();
            let s = challenge(&r, key.as_bytes(), &message) * a;
            assert!(!both(&key, &message, &signature(&r, &s.to_bytes())), "R = {r:02x?}");
        }
    }

    #[test]
    fn non_canonical_encodings_of_r_are_refused() {
        let a = scalar(2);
        let key = key_with_torsion(a, 0);
        let message = b"m";
        // The identity (y = 1) as y = p + 1, and as x = -0 (sign bit set).
        let mut y_plus_p = [0xff; 32];
        y_plus_p[0] = 0xee;
        y_plus_p[31] = 0x7f;
        let mut negative_zero = EdwardsPoint::default().compress().to_bytes();
        negative_zero[31] |= 0x80;
        for r in [y_plus_p, negative_zero] {
            let s = challenge(&r, key.as_bytes(), message) * a;
            assert!(!both(&key, message, &signature(&r, &s.to_bytes())));
        }
    }

    #[test]
    fn keys_with_a_torsion_component_agree_with_verify_strict() {
        // With A = [a]B + T the cofactorless equation holds exactly when
        // [k]T is the identity; both sides must accept those and refuse
        // the rest. About one nonce in eight of each kind is accepted.
        let mut accepted = 0;
        for torsion in 1..8 {
            let a = scalar(100 + torsion as u64);
            let key = key_with_torsion(a, torsion);
            for n in 0..40 {
                let message = n.to_string();
                if both(&key, message.as_bytes(), &sign_raw(a, &key, scalar(n), message.as_bytes())) {
                    accepted += 1;
                }
            }
        }
        assert!(accepted > 0 && accepted < 7 * 40, "{accepted}");
    }

    #[test]
    fn small_order_keys_are_refused() {
        for (i, t) in EIGHT_TORSION.iter().enumerate() {
            let key = VerifyingKey::from_bytes(t.compress().as_bytes()).unwrap();
            let message = b"m";
            // R = [r]B, S = r: [S]B - [k]T = R exactly when [k]T = 0.
            let r = (ED25519_BASEPOINT_POINT * scalar(i as u64)).compress().to_bytes();
            assert!(!both(&key, message, &signature(&r, &scalar(i as u64).to_bytes())));
        }
    }

    #[test]
    fn the_small_order_encodings_are_exactly_the_keys_dalek_calls_weak() {
        assert_eq!(SMALL_ORDER_KEYS.len(), 14);
        for bytes in SMALL_ORDER_KEYS.iter() {
            let key = VerifyingKey::from_bytes(bytes).expect("decodes");
            assert!(key.is_weak() && is_weak(&key), "{bytes:02x?}");
        }
        // Every string one bit away from one of them (the other sign bit
        // among them, and many sound points) gets dalek's answer.
        for bytes in SMALL_ORDER_KEYS.iter() {
            for at in 0..32 {
                for bit in 0..8 {
                    let mut near = *bytes;
                    near[at] ^= 1 << bit;
                    if let Ok(key) = VerifyingKey::from_bytes(&near) {
                        assert_eq!(is_weak(&key), key.is_weak(), "{near:02x?}");
                    }
                }
            }
        }
        // A sound key and a key with a torsion component are not weak.
        let sound = SigningKey::from_bytes(&[5; 32]).verifying_key();
        assert!(!is_weak(&sound) && !sound.is_weak());
        let mixed = key_with_torsion(scalar(4), 3);
        assert!(!is_weak(&mixed) && !mixed.is_weak());
    }

    proptest! {
        #[test]
        fn is_weak_agrees_with_dalek(bytes in any::<[u8; 32]>()) {
            if let Ok(key) = VerifyingKey::from_bytes(&bytes) {
                prop_assert_eq!(is_weak(&key), key.is_weak());
            }
        }

        #[test]
        fn agrees_with_verify_strict_on_mutated_signatures(
            seed in any::<[u8; 32]>(),
            message in proptest::collection::vec(any::<u8>(), 0..200),
            flips in proptest::collection::vec((0usize..64, any::<u8>()), 0..3),
        ) {
            let key = SigningKey::from_bytes(&seed);
            let mut sig = key.sign(&message).to_bytes();
            for (at, x) in flips {
                sig[at] ^= x;
            }
            both(&key.verifying_key(), &message, &sig);
        }

        #[test]
        fn agrees_with_verify_strict_on_arbitrary_bytes(
            key in any::<[u8; 32]>(),
            sig in proptest::collection::vec(any::<u8>(), 64),
            message in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Ok(key) = VerifyingKey::from_bytes(&key) {
                both(&key, &message, sig.as_slice().try_into().unwrap());
            }
        }
    }
}
