//! C2SP tlog-checkpoint: the signed statement of a log's size and root.
//! Sans-I/O.
//!
//! Spec: `spec/checkpoint.md`.
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeroes>\n
//! <base64 root hash>\n
//! [<extension line>\n ...]
//! ```

use crate::note::{self, Ed25519Signer, Note, NoteError, NoteVerifier};
use crate::tile::parse_decimal;
use crate::tree::Hash;
use thiserror::Error;

/// Extension lines beyond this count are refused.
pub const MAX_EXTENSIONS: usize = 16;

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique identity, conventionally a schema-less URL.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Optional extension lines, without their newlines.
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint origin {got:?} is not the expected {want:?}")]
    WrongOrigin { got: String, want: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self { origin: origin.to_owned(), size, root, extensions: Vec::new() }
    }

    /// The checkpoint text: the body that is signed, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a checkpoint text (the note text, without signatures).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] naming the bad line.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body =
            text.strip_suffix('\n').ok_or(CheckpointError::Malformed("text must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::Malformed("empty or invalid origin line"));
        }
        let size = lines
            .next()
            .and_then(parse_decimal)
            .ok_or(CheckpointError::Malformed("size line is not a canonical decimal"))?;
        let root = lines
            .next()
            .and_then(Hash::from_base64)
            .ok_or(CheckpointError::Malformed("root line is not a base64 SHA-256 hash"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.len() > MAX_EXTENSIONS {
            return Err(CheckpointError::Malformed("too many extension lines"));
        }
        if extensions.iter().any(|e| e.is_empty()) {
            return Err(CheckpointError::Malformed("empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// Signs this checkpoint as a note with the log's key (and any others).
    ///
    /// # Errors
    /// [`CheckpointError::Note`] if the origin makes invalid note text.
    pub fn sign(&self, signers: &[&Ed25519Signer]) -> Result<String, CheckpointError> {
        Ok(note::sign(&self.to_text(), signers)?)
    }
}

/// A checkpoint and the note it came in, with its signatures checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
}

/// Opens a signed checkpoint: the note must carry a valid signature by one of
/// `verifiers` (every signature by a known key must be valid), and its origin
/// must be `origin`.
///
/// # Errors
/// [`CheckpointError`] for a malformed note or body, a wrong origin, or a
/// failed or missing signature.
pub fn open(
    msg: &str,
    origin: &str,
    verifiers: &[&dyn NoteVerifier],
) -> Result<SignedCheckpoint, CheckpointError> {
    let note = note::open(msg, verifiers)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::WrongOrigin { got: checkpoint.origin, want: origin.to_owned() });
    }
    Ok(SignedCheckpoint { checkpoint, note })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::empty_root;

    #[test]
    fn text_round_trips() {
        let mut c = Checkpoint::new("example.com/log", 20852163, empty_root());
        assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
        c.extensions.push("ext line".into());
        assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = empty_root().to_base64();
        for bad in [
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n1\n{root}"),
            "o\n1\nAAAA\n".to_string(),
            format!("\n1\n{root}\n"),
            format!("o\n1\n{root}\n\n"),
            format!("o\n18446744073709551616\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signed_checkpoint_opens_only_for_its_origin() {
        let s = Ed25519Signer::generate("example.com/log").unwrap();
        let msg = Checkpoint::new("example.com/log", 3, empty_root()).sign(&[&s]).unwrap();
        let v = s.verifier();
        assert_eq!(open(&msg, "example.com/log", &[&v]).unwrap().checkpoint.size, 3);
        assert!(matches!(open(&msg, "other", &[&v]), Err(CheckpointError::WrongOrigin { .. })));
    }
}
