//! The publisher: takes each checkpoint the sequencer signed, has it
//! cosigned by the witnesses of the log's policy (C2SP tlog-witness, in
//! parallel), and publishes it once the quorum is met — or at once when the
//! log has no witnesses.
//!
//! Spec: `spec/witness.md` ("The log side").
//!
//! It always works on the newest signed checkpoint: a newer one covers every
//! entry an older one does, so a slow round is never queued behind. A witness
//! that is down or slow does not hold publication back while the others can
//! still meet the quorum; its request is abandoned when the quorum is met. If
//! the quorum cannot be met, nothing is published (submitters get 503, never
//! an unwitnessed receipt) and the round is retried every second.
//!
//! Before a checkpoint leaves the process (to the witnesses, or published
//! at once) it is written to the anchor file of the data directory
//! ([`crate::recovery::write_anchor`]), so that a store that later loses
//! the entries it covers is refused at start instead of signing another
//! root for a size somebody has seen. The file writes and fsyncs run on
//! the blocking pool, not on the runtime's workers.

use crate::metrics::Metrics;
use crate::sequencer::{store_published, PublishBlocked, Shared, SignedCheckpoint};
use provlog_ledger::note::{self, NoteSignature, NoteVerifier};
use provlog_ledger::policy::{Policy, PolicyWitness};
use provlog_ledger::storage::Store;
use provlog_ledger::tiled_tree::TreeReader;
use provlog_ledger::witness_protocol::{
    parse_cosignatures, parse_witness_size, AddCheckpointRequest, MAX_RESPONSE_SIZE,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// One witness as the publisher knows it.
struct Witness {
    policy: PolicyWitness,
    /// The size of the latest checkpoint this witness cosigned, as far as
    /// we know (0 until it tells us; a 409 corrects it).
    size: u64,
}

pub struct Publisher {
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    reader: TreeReader,
    policy: Option<Policy>,
    witnesses: Vec<Witness>,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    /// Where the anchor file is written.
    data_dir: PathBuf,
    /// The size of the checkpoint last written to the anchor file.
    anchored: u64,
}

impl Publisher {
    pub fn new(
        shared: Arc<Shared>,
        store: Arc<dyn Store>,
        reader: TreeReader,
        policy: Option<Policy>,
        timeout: Duration,
        metrics: Arc<Metrics>,
        data_dir: PathBuf,
    ) -> Publisher {
        let witnesses = policy
            .as_ref()
            .map(|p| p.witnesses().iter().map(|w| Witness { policy: w.clone(), size: 0 }).collect())
            .unwrap_or_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        Publisher { shared, store, reader, policy, witnesses, client, metrics, data_dir, anchored: 0 }
    }

    /// Runs until the sequencer's channel closes.
    pub async fn run(mut self) {
        let mut rx = self.shared.signed.subscribe();
        loop {
            let Some(cp) = rx.borrow_and_update().clone() else {
                if rx.changed().await.is_err() {
                    return;
                }
                continue;
            };
            let done = self.shared.published.borrow().as_ref().is_some_and(|p| p.size >= cp.size);
            if done {
                if rx.changed().await.is_err() {
                    return;
                }
                continue;
            }
            if cp.size > self.anchored {
                let (dir, note) = (self.data_dir.clone(), cp.note.clone());
                let written = blocking(move || crate::recovery::write_anchor(&dir, &note)).await;
                let failure = written.err().map(|e| format!("cannot write the checkpoint anchor file: {e}"));
                *self.shared.anchor_failure.lock().expect("lock") = failure.clone();
                if let Some(why) = failure {
                    self.storage_blocked(why).await;
                    continue;
                }
                self.anchored = cp.size;
            }
            match self.cosign(&cp).await {
                Ok(published) => {
                    let (store, p) = (self.store.clone(), published.clone());
                    if let Err(e) = blocking(move || store_published(store.as_ref(), &p)).await {
                        self.storage_blocked(format!("cannot store the published checkpoint: {e}")).await;
                        continue;
                    }
                    *self.shared.publish_blocked.lock().expect("lock") = None;
                    self.metrics.published_size.store(published.size, std::sync::atomic::Ordering::Relaxed);
                    self.shared.published.send_replace(Some(published));
                }
                Err(why) => {
                    tracing::warn!("checkpoint {} not published: {why}", cp.size);
                    *self.shared.publish_blocked.lock().expect("lock") = Some(PublishBlocked::Witnesses(why));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Reports a storage failure: nothing is published until a retry, a
    /// second later, succeeds.
    async fn storage_blocked(&self, why: String) {
        tracing::error!("{why}");
        *self.shared.publish_blocked.lock().expect("lock") = Some(PublishBlocked::Storage(why));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    /// The checkpoint with enough cosignatures to meet the quorum.
    async fn cosign(&mut self, cp: &SignedCheckpoint) -> Result<SignedCheckpoint, String> {
        let Some(policy) = self.policy.clone() else { return Ok(cp.clone()) };
        if policy.quorum_met(std::iter::empty()) && self.witnesses.is_empty() {
            return Ok(cp.clone());
        }
        let mut tasks = JoinSet::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            let (client, reader, cp, pw, size) =
                (self.client.clone(), self.reader.clone(), cp.clone(), w.policy.clone(), w.size);
            tasks.spawn(async move { (i, ask(&client, &reader, &cp, &pw, size).await) });
        }
        let mut cosigners: Vec<String> = Vec::new();
        let mut lines = String::new();
        let mut failures = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, result)) = joined else { continue };
            match result {
                Ok((sig, size)) => {
                    self.witnesses[i].size = size;
                    cosigners.push(self.witnesses[i].policy.name.clone());
                    lines.push_str(&sig.line());
                    if policy.quorum_met(cosigners.iter().map(String::as_str)) {
                        // The others are not waited for: a slow witness
                        // does not hold the log back.
                        tasks.abort_all();
                        let mut note = cp.note.clone();
                        note.push_str(&lines);
                        return Ok(SignedCheckpoint { size: cp.size, root: cp.root, note });
                    }
                }
                Err((why, size)) => {
                    if let Some(s) = size {
                        self.witnesses[i].size = s;
                    }
                    self.metrics.witness_failures.inc();
                    failures.push(format!("{}: {why}", self.witnesses[i].policy.name));
                }
            }
        }
        if policy.quorum_met(cosigners.iter().map(String::as_str)) {
            let mut note = cp.note.clone();
            note.push_str(&lines);
            return Ok(SignedCheckpoint { size: cp.size, root: cp.root, note });
        }
        Err(format!("witness quorum not met ({} cosigned): {}", cosigners.len(), failures.join("; ")))
    }
}

/// Asks one witness to cosign `cp`, resynchronizing once on 409. Returns the
/// verified cosignature line and the witness's new size, or why not (with
/// the size the witness reported, if it did).
async fn ask(
    client: &reqwest::Client,
    reader: &TreeReader,
    cp: &SignedCheckpoint,
    w: &PolicyWitness,
    mut old: u64,
) -> Result<(NoteSignature, u64), (String, Option<u64>)> {
    let url = w.url.as_deref().ok_or(("the policy gives no URL".to_string(), None))?;
    let url = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    for _attempt in 0..2 {
        if old > cp.size {
            return Err((format!("the witness has size {old}, beyond checkpoint {}", cp.size), Some(old)));
        }
        let proof = if old == 0 || old == cp.size {
            Vec::new()
        } else {
            reader.prove_consistency(old, cp.size).map_err(|e| (format!("consistency proof: {e}"), None))?
        };
        let body =
            AddCheckpointRequest::new(old, proof, &cp.note).map_err(|e| (e.to_string(), None))?.format();
        let resp =
            client.post(&url).body(body).send().await.map_err(|e| (format!("request failed: {e}"), None))?;
        let status = resp.status().as_u16();
        let bytes = read_capped(resp, MAX_RESPONSE_SIZE).await.map_err(|e| (e, None))?;
        match status {
            200 => {
                let sigs = parse_cosignatures(&bytes).map_err(|e| (format!("bad response: {e}"), None))?;
                let text = note::split(&cp.note).map_err(|e| (e.to_string(), None))?.0;
                let sig = sigs
                    .into_iter()
                    .find(|s| {
                        s.name == w.verifier.name()
                            && s.key_id == w.verifier.key_id()
                            && w.verifier.verify(text.as_bytes(), &s.signature)
                    })
                    .ok_or(("no valid cosignature by the witness's key in its response".to_string(), None))?;
                return Ok((sig, cp.size));
            }
            409 => {
                old = parse_witness_size(&bytes).map_err(|e| (format!("bad 409 response: {e}"), None))?;
            }
            other => {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).trim().to_owned();
                return Err((format!("HTTP {other}: {text}"), None));
            }
        }
    }
    Err(("the witness's size kept changing".into(), Some(old)))
}

/// Runs file I/O that waits for the disk on the blocking pool.
async fn blocking<E: std::fmt::Display + Send + 'static>(
    work: impl FnOnce() -> Result<(), E> + Send + 'static,
) -> Result<(), String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the blocking task failed: {e}")),
    }
}

/// The body of a witness's answer, refused once it passes `max` bytes: a
/// witness is another organization's server, and its answers are read
/// before they are checked.
async fn read_capped(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let declared = resp.content_length();
    crate::capped::collect(declared, max, crate::capped::response_chunks(resp)).await.map_err(|e| match e {
        crate::capped::Capped::TooLarge => format!("response over {max} bytes"),
        crate::capped::Capped::Failed(e) => format!("response failed: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    /// Serves one HTTP/1.1 answer of `body_len` bytes, chunked (no length
    /// given) or with its `Content-Length`, and reads it with a cap.
    async fn read_from_server(body_len: usize, chunked: bool, max: usize) -> Result<Vec<u8>, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = vec![b'x'; body_len];
            if chunked {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
                for part in body.chunks(1000) {
                    let _ = s.write_all(format!("{:x}\r\n", part.len()).as_bytes());
                    let _ = s.write_all(part);
                    let _ = s.write_all(b"\r\n");
                }
                let _ = s.write_all(b"0\r\n\r\n");
            } else {
                let _ =
                    s.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {body_len}\r\n\r\n").as_bytes());
                let _ = s.write_all(&body);
            }
        });
        let resp = reqwest::get(format!("http://{addr}/")).await.unwrap();
        read_capped(resp, max).await
    }

    #[tokio::test]
    async fn a_witness_answer_over_the_cap_is_refused_whether_or_not_its_length_is_given() {
        for chunked in [false, true] {
            assert_eq!(read_from_server(5000, chunked, 5000).await.unwrap().len(), 5000);
            let e = read_from_server(5001, chunked, 5000).await.unwrap_err();
            assert!(e.contains("over 5000 bytes"), "{e}");
        }
    }
}
