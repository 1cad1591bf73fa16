//! COSE_Sign1 and COSE_Sign messages (`cose::CoseMessage::parse`).
//!
//! Properties: parse → `to_bytes` is the input; parse → `to_bytes` → parse
//! is identity; the stripped message parses to itself and strips to itself;
//! the typed parsers agree with `CoseMessage::parse`; stripping never
//! changes whether a signature verifies, and a signature verifies under a
//! fixture key only over a `Sig_structure` that key signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::cbor::Limits;
use provlog_ledger::cose::{CoseMessage, CoseSign, CoseSign1};
use provlog_ledger::statement::{key_thumbprint, STATEMENT_LIMITS};

fuzz_target!(|data: &[u8]| {
    let fx = provlog_fuzz::fixtures();
    for limits in [STATEMENT_LIMITS, Limits::default()] {
        let Ok(msg) = CoseMessage::parse(data, &limits) else { continue };
        assert_eq!(msg.to_bytes(), data, "re-encoding differs from the parsed bytes");
        assert_eq!(CoseMessage::parse(&msg.to_bytes(), &limits).as_ref(), Ok(&msg));
        match &msg {
            CoseMessage::Sign1(m) => assert_eq!(CoseSign1::parse(data, &limits).as_ref(), Ok(m)),
            CoseMessage::Sign(m) => assert_eq!(CoseSign::parse(data, &limits).as_ref(), Ok(m)),
        }
        let stripped = msg.stripped();
        let stripped_bytes = stripped.to_bytes();
        assert!(stripped_bytes.len() <= data.len());
        let reparsed = CoseMessage::parse(&stripped_bytes, &limits).expect("a stripped message parses");
        assert_eq!(reparsed, stripped);
        assert_eq!(reparsed.stripped(), reparsed, "stripping is not idempotent");
        assert_eq!(reparsed.payload(), msg.payload());
        assert_eq!(reparsed.protected(), msg.protected());
        assert_eq!(reparsed.signer_count(), msg.signer_count());
        // Verify each signer under the fixture key its kid names, if any
        // (cryptography is the slow part; a key named by no kid would
        // only ever fail).
        for i in 0..msg.signer_count().min(4) {
            let kid = match &msg {
                CoseMessage::Sign1(m) => m.protected.header().kid.as_deref(),
                CoseMessage::Sign(m) => m.signatures[i].protected.header().kid.as_deref(),
            };
            let key = fx.statement_keys.iter().map(|k| k.verifying_key()).find(|k| Some(&key_thumbprint(k)[..]) == kid);
            if let Some(key) = key {
                let result = msg.verify_signer(i, &key);
                assert_eq!(result, stripped.verify_signer(i, &key), "stripping changed a verification");
                if result.is_ok() {
                    let tbs = provlog_fuzz::to_be_signed(&msg, i);
                    assert!(fx.signed(&key_thumbprint(&key), &tbs), "signer {i} verified over bytes its key never signed");
                }
            }
        }
    }
});
