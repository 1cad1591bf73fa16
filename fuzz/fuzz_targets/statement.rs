//! provlog signed statements (`statement::Statement::parse`).
//!
//! Properties: the statement's bytes and its message's re-encoding are the
//! input; its stripped bytes parse to a statement with the same ID, whose
//! stripped bytes are themselves; the ID is BLAKE3 of the stripped bytes
//! and prints and parses back; and a signature verifies under a fixture key
//! only over a `Sig_structure` that key signed (so a mutated statement whose
//! payload or protected headers changed never verifies), the same before
//! and after stripping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::statement::{key_thumbprint, Statement, StatementId};

fuzz_target!(|data: &[u8]| {
    let fx = provlog_fuzz::fixtures();
    let Ok(s) = Statement::parse(data) else { return };
    assert_eq!(s.as_bytes(), data);
    assert_eq!(s.message().to_bytes(), data, "the message re-encodes differently");
    assert_eq!(s.id(), StatementId::of_stripped(s.stripped_bytes()));
    assert_eq!(s.id().to_string().parse::<StatementId>(), Ok(s.id()));
    assert_eq!(Statement::parse(data).map(|t| t.id()), Ok(s.id()), "the ID is not stable");

    let stripped = Statement::parse(s.stripped_bytes()).expect("stripped bytes parse");
    assert_eq!(stripped.as_bytes(), s.stripped_bytes());
    assert_eq!(stripped.stripped_bytes(), s.stripped_bytes(), "stripping is not idempotent");
    assert_eq!(stripped.id(), s.id());
    assert_eq!((stripped.iss(), stripped.sub(), stripped.iat()), (s.iss(), s.sub(), s.iat()));
    assert_eq!((stripped.content_type(), stripped.payload()), (s.content_type(), s.payload()));
    assert_eq!(stripped.signers(), s.signers());

    for (i, signer) in s.signers().iter().enumerate() {
        for key in &fx.statement_keys {
            let key = key.verifying_key();
            let result = s.verify_signer(i, &key);
            assert_eq!(result, stripped.verify_signer(i, &key), "stripping changed a verification");
            if result.is_ok() {
                assert_eq!(key_thumbprint(&key), signer.kid);
                let tbs = provlog_fuzz::to_be_signed(s.message(), i);
                assert!(fx.signed(&signer.kid, &tbs), "signer {i} verified over bytes its key never signed");
            }
        }
    }
});
