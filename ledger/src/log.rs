//! The log: statements in, decisions out, accepted entries appended with
//! their index updates in one atomic batch. Also replay, which re-derives
//! every decision of an existing log from entry 0.
//!
//! Spec: `spec/rules.md` ("Registration" and "Replay").
//!
//! [`Log`] is the single writer. It owns the tree, the registry and the
//! state indexes; it is not thread-safe by design (one sequencer per log).
//! Reads go through [`Log::reader`], [`Log::state`] and
//! [`Log::filtered_state`], which are shareable.

use crate::entry::{Entry, EntryError};
use crate::epcis::{Event, EventKind};
use crate::governance::Registry;
use crate::known_keys::KnownKeys;
use crate::rules::{decide, Accepted, Context, Kind, Violation};
use crate::state::{
    EventRecord, ObjectRecord, PendingState, StateView, StoredState, PREFIX_EVENT, PREFIX_OBJECT,
    PREFIX_STATEMENT,
};
use crate::statement::{Statement, StatementError, StatementId};
use crate::storage::{Batch, StorageError, Store};
use crate::tiled_tree::{TiledTree, TreeError, TreeReader};
use crate::Hash;
use std::borrow::{Borrow, Cow};
use std::sync::Arc;
use thiserror::Error;

/// A failure of the log itself (storage, corruption), never a decision
/// about a statement.
#[derive(Debug, Error)]
pub enum LogError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("stored entry {index} is unreadable: {source}")]
    BadEntry {
        index: u64,
        #[source]
        source: EntryError,
    },
    #[error("the log's origin is {stored:?}, not {configured:?}")]
    WrongOrigin { stored: String, configured: String },
}

/// What became of one submitted statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Appended as entry `index` (committed, durable after the next flush).
    Registered { index: u64, id: StatementId, flags: Vec<String> },
    /// Already in the log (the same statement, unprotected headers aside).
    Duplicate { index: u64, id: StatementId },
    /// Refused by a rule; nothing was stored.
    Rejected(Violation),
}

/// The log: tree, registry and state, with one writer.
pub struct Log {
    origin: String,
    tree: TiledTree,
    state: StoredState,
    /// Every object, event and statement key in the store (and maybe more):
    /// the rules' lookups of keys it does not hold skip the store.
    known: Arc<KnownKeys>,
    registry: Registry,
    /// Registration time of the last entry; times never go backwards.
    last_registered_at_ms: u64,
}

/// The state read through the log's [`KnownKeys`], as the rules read it;
/// lookups of keys the log never held skip the store. Cheap to clone, and
/// it follows the log: keys are added before each batch is committed.
#[derive(Clone)]
pub struct FilteredState {
    state: StoredState,
    known: Arc<KnownKeys>,
}

impl FilteredState {
    /// `None` if the filter has never seen the key `prefix || id`, else
    /// what the store says.
    fn read<T>(
        &self,
        prefix: u8,
        id: &[u8],
        read: impl FnOnce(&StoredState) -> Result<Option<T>, StorageError>,
    ) -> Result<Option<T>, StorageError> {
        if self.known.may_contain(prefix, id) {
            read(&self.state)
        } else {
            Ok(None)
        }
    }
}

impl StateView for FilteredState {
    fn object(&self, id: &str) -> Result<Option<ObjectRecord>, StorageError> {
        self.read(PREFIX_OBJECT, id.as_bytes(), |s| s.object(id))
    }

    fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StorageError> {
        self.read(PREFIX_EVENT, event_id.as_bytes(), |s| s.event(event_id))
    }

    fn statement_index(&self, statement_id: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        self.read(PREFIX_STATEMENT, statement_id, |s| s.statement_index(statement_id))
    }
}

/// The scan that fills a log's known keys after
/// [`Log::open_loading_keys`].
pub struct KeysLoader {
    known: Arc<KnownKeys>,
    store: Arc<dyn Store>,
    expected: u64,
}

impl KeysLoader {
    /// Scans the store and puts its keys in place. Returns false if the
    /// log was reloaded meanwhile (it loaded its keys itself then).
    ///
    /// # Errors
    /// The store's, if a range read fails; the filter then keeps
    /// answering "maybe", which is correct and as slow as no filter.
    pub fn run(self) -> Result<bool, StorageError> {
        let loaded = self.known.scan(self.store.as_ref(), self.expected)?;
        Ok(self.known.finish_loading(loaded))
    }
}

/// Keys per entry the first part of a log's [`KnownKeys`] is sized for
/// (a statement ID, an event ID, an object or two); more only add parts.
const KNOWN_KEYS_PER_ENTRY: u64 = 4;

impl Log {
    /// Opens the log in `store` (empty for a new log).
    ///
    /// # Errors
    /// [`LogError`] if the store is corrupt or belongs to another origin.
    pub fn open(store: Arc<dyn Store>, origin: &str) -> Result<Log, LogError> {
        Self::open_with_keys(store, origin, |store, expected| Ok(KnownKeys::load(store, expected)?))
    }

    /// As [`Log::open`], without waiting for the scan of the store that
    /// fills the filter of known keys (about 1.8 s per million events):
    /// until [`KeysLoader::run`] has done it, on any thread, every lookup
    /// of the rules goes to the store, as without the filter.
    ///
    /// # Errors
    /// As [`Log::open`].
    pub fn open_loading_keys(store: Arc<dyn Store>, origin: &str) -> Result<(Log, KeysLoader), LogError> {
        let log = Self::open_with_keys(store.clone(), origin, |_, _| Ok(KnownKeys::loading()))?;
        let expected = KNOWN_KEYS_PER_ENTRY * log.size();
        let loader = KeysLoader { known: log.known.clone(), store, expected };
        Ok((log, loader))
    }

    fn open_with_keys(
        store: Arc<dyn Store>,
        origin: &str,
        known: impl FnOnce(&dyn Store, u64) -> Result<KnownKeys, LogError>,
    ) -> Result<Log, LogError> {
        let tree = TiledTree::open(store.clone())?;
        let state = StoredState::new(store.clone());
        let registry = match state.load_registry()? {
            Some(r) => r,
            None if tree.size() == 0 => Registry::new(origin),
            None => {
                return Err(StorageError::corrupt("entries exist but the registry record is missing").into())
            }
        };
        if registry.origin != origin {
            return Err(LogError::WrongOrigin {
                stored: registry.origin.clone(),
                configured: origin.to_owned(),
            });
        }
        let last_registered_at_ms = match tree.size() {
            0 => 0,
            n => {
                let bytes = tree.reader().entry(n - 1)?;
                Entry::decode(&bytes)
                    .map_err(|source| LogError::BadEntry { index: n - 1, source })?
                    .registered_at_ms
            }
        };
        let known = Arc::new(known(store.as_ref(), KNOWN_KEYS_PER_ENTRY * tree.size())?);
        Ok(Log { origin: origin.to_owned(), tree, state, known, registry, last_registered_at_ms })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    pub fn reader(&self) -> &TreeReader {
        self.tree.reader()
    }

    pub fn state(&self) -> &StoredState {
        &self.state
    }

    /// The state through the log's filter of known keys (see
    /// [`FilteredState`]), for readers on other threads.
    pub fn filtered_state(&self) -> FilteredState {
        FilteredState { state: self.state.clone(), known: self.known.clone() }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The lineage index of this log (`spec/lineage.md`), for queries.
    pub fn lineage(&self) -> crate::lineage::Lineage {
        crate::lineage::Lineage::new(self.tree.reader().store().clone())
    }

    /// Reads the log again from its store, after the store was reopened
    /// to recover from a failed write ([`crate::storage::ReopenableStore`]):
    /// entries that were committed but not flushed may be gone, and the
    /// tree, the registry and the last registration time follow the store.
    /// The reader and the state views handed out earlier stay valid.
    ///
    /// # Errors
    /// As [`Log::open`]; then the log is unchanged.
    pub fn reload(&mut self) -> Result<(), LogError> {
        let store = self.tree.reader().store().clone();
        // The known keys are loaded again too: whatever the store holds now,
        // the filter must hold all of it.
        let fresh = Log::open(store, &self.origin)?;
        self.tree.reload()?;
        // Replaced in place: the filtered states handed out share it.
        self.known.replace(Arc::into_inner(fresh.known).expect("the fresh log's filter is not shared"));
        self.registry = fresh.registry;
        self.last_registered_at_ms = fresh.last_registered_at_ms;
        Ok(())
    }

    /// Makes every registered entry durable.
    pub fn flush(&self) -> Result<(), LogError> {
        Ok(self.tree.flush()?)
    }

    /// Decides every statement in order, as if registered one after the
    /// other at `now_ms` (each sees the effects of those before it), and
    /// appends the accepted ones with their index updates in one atomic
    /// batch. Registration times never go backwards: an earlier `now_ms`
    /// is raised to the last entry's time.
    ///
    /// # Errors
    /// [`LogError`] for storage failures; then nothing was appended and the
    /// log is unchanged.
    pub fn register<S: Borrow<Statement>>(
        &mut self,
        statements: &[S],
        now_ms: u64,
    ) -> Result<Vec<Outcome>, LogError> {
        self.register_sealed(statements, now_ms, |_, _| Ok(Batch::new()))
    }

    /// As [`Log::register`], and if anything is appended, `seal(size,
    /// root)` gives records for the same atomic batch, from the tree's size
    /// and root after it ([`TiledTree::append_sealed`]): the sequencer's
    /// signed checkpoint of that tree, durable exactly when its entries are.
    ///
    /// # Errors
    /// As [`Log::register`], and `seal`'s error; then nothing was appended.
    pub fn register_sealed<S: Borrow<Statement>>(
        &mut self,
        statements: &[S],
        now_ms: u64,
        seal: impl FnOnce(u64, Hash) -> Result<Batch, StorageError>,
    ) -> Result<Vec<Outcome>, LogError> {
        let t = now_ms.max(self.last_registered_at_ms);
        let view = self.filtered_state();
        let mut pending = PendingState::new(&view);
        // Cloned only if a governance statement in the batch changes it.
        let mut registry = Cow::Borrowed(&self.registry);
        let mut entries = Vec::new();
        let mut outcomes = Vec::with_capacity(statements.len());
        for stmt in statements {
            let stmt = stmt.borrow();
            let id = stmt.id();
            if let Some(index) = pending.statement_index(&id.0)? {
                outcomes.push(Outcome::Duplicate { index, id });
                continue;
            }
            let index = self.tree.size() + entries.len() as u64;
            let ctx = Context { registry: &registry, state: &pending, index, registered_at_ms: t };
            match decide(&ctx, stmt)? {
                Err(v) => outcomes.push(Outcome::Rejected(v)),
                Ok(accepted) => {
                    let entry = Entry {
                        statement: stmt.stripped_bytes().to_vec(),
                        registered_at_ms: t,
                        rule_set_id: accepted.rule_set_id,
                        flags: accepted.flags.clone(),
                    };
                    let bytes = match entry.encode() {
                        Ok(b) => b,
                        Err(e) => {
                            outcomes.push(Outcome::Rejected(Violation::new(
                                "well-formed",
                                "size",
                                e.to_string(),
                            )));
                            continue;
                        }
                    };
                    apply(&mut pending, &mut registry, stmt, accepted.kind, index);
                    entries.push(bytes);
                    outcomes.push(Outcome::Registered { index, id, flags: accepted.flags });
                }
            }
        }
        if entries.is_empty() {
            return Ok(outcomes);
        }
        let batch = pending.into_batch();
        let new_registry = changed(registry);
        self.append(&entries, batch, seal)?;
        if let Some(r) = new_registry {
            self.registry = r;
        }
        self.last_registered_at_ms = t;
        Ok(outcomes)
    }

    /// Appends entries with the state records they write (and `seal`'s),
    /// telling the known keys first (see [`KnownKeys`]).
    fn append<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
        batch: Batch,
        seal: impl FnOnce(u64, Hash) -> Result<Batch, StorageError>,
    ) -> Result<(), LogError> {
        self.known.note(&batch);
        self.tree.append_sealed(entries, batch, seal)?;
        Ok(())
    }
}

/// The registry a batch or entry left, if it changed it (a governance
/// statement); `None` if it is still the log's.
fn changed(registry: Cow<Registry>) -> Option<Registry> {
    match registry {
        Cow::Owned(r) => Some(r),
        Cow::Borrowed(_) => None,
    }
}

/// Applies an accepted statement to the state: indexes, registry.
fn apply(pending: &mut PendingState, registry: &mut Cow<Registry>, stmt: &Statement, kind: Kind, index: u64) {
    let id = stmt.id();
    pending.put_statement(&id.0, index);
    match kind {
        Kind::Governance(next) => {
            *registry = Cow::Owned(*next);
            pending.put_registry(registry.as_ref());
        }
        Kind::Event(event) => apply_event(pending, stmt.iss(), &id, &event, index),
    }
}

fn apply_event(
    pending: &mut PendingState,
    issuer: &str,
    statement_id: &StatementId,
    event: &Event,
    index: u64,
) {
    // The event this one is the first declaration of (`spec/lineage.md` §1).
    let mut declares = None;
    match (&event.event_id, &event.error_declaration) {
        // A repeated eventID (flagged, not refused, by a permissive rule
        // set) leaves the first entry as the one declarations refer to.
        (Some(id), None) if !matches!(pending.event(id), Ok(Some(_))) => {
            pending.put_event(id, EventRecord { index, issuer: issuer.to_owned(), declared_at: None })
        }
        (Some(id), Some(_)) => {
            if let Ok(Some(mut rec)) = pending.event(id) {
                if rec.declared_at.is_none() {
                    declares = Some(rec.index);
                }
                rec.declared_at = Some(index);
                pending.put_event(id, rec);
            }
        }
        _ => {}
    }
    crate::lineage::index_event(pending, statement_id, issuer, index, event, declares);
    let shipping = event.biz_step.as_deref() == Some("shipping");
    let destroys = event.error_declaration.is_none()
        && (matches!(event.biz_step.as_deref(), Some("destroying") | Some("decommissioning"))
            || (event.kind == EventKind::Object
                && event.action == Some(crate::epcis::model::Action::Delete)));
    for id in event.canonical_identifiers() {
        let mut rec = match pending.object(id) {
            Ok(Some(r)) => r,
            _ => ObjectRecord { first_index: index, first_issuer: issuer.to_owned(), ..Default::default() },
        };
        if shipping && event.error_declaration.is_none() {
            rec.first_shipped_ms =
                Some(rec.first_shipped_ms.map_or(event.event_time_ms, |s| s.min(event.event_time_ms)));
        }
        if destroys && rec.destroyed_ms.is_none() {
            rec.destroyed_ms = Some(event.event_time_ms);
        }
        pending.put_object(id, rec);
        pending.put_mention(id, index);
    }
}

/// How a replay ended: the first entry whose recorded outcome the rules do
/// not reproduce, or a failure to read the log.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("entry {index} diverges: {reason}")]
    Divergence { index: u64, reason: String },
    #[error(transparent)]
    Log(#[from] LogError),
}

/// What a replay that found no divergence saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub entries: u64,
    pub governance: u64,
    pub flagged: u64,
    /// The root of the tree rebuilt from the replayed entries.
    pub root: Hash,
}

/// Re-derives every decision of a log from entry 0, into a fresh log in
/// `scratch` (an empty store), and stops at the first entry whose recorded
/// rule set, flags or registration time the rules do not reproduce, or
/// that the rules refuse.
pub struct Replayer {
    log: Log,
    report: ReplayReport,
}

impl Replayer {
    /// # Errors
    /// [`LogError`] if `scratch` is not empty or unusable.
    pub fn new(scratch: Arc<dyn Store>, origin: &str) -> Result<Replayer, LogError> {
        let log = Log::open(scratch, origin)?;
        if log.size() != 0 {
            return Err(StorageError::corrupt("replay needs an empty scratch store").into());
        }
        Ok(Replayer { log, report: ReplayReport::default() })
    }

    /// Resumes a replay into `scratch`, a store that an earlier replay of
    /// the same log filled (and flushed) up to some entry: the next entry
    /// replayed is the one at index `report().entries`, which starts at the
    /// scratch log's size. An empty store starts from entry 0, as
    /// [`Replayer::new`]. The `governance` and `flagged` counts cover only
    /// the entries replayed since resuming.
    ///
    /// # Errors
    /// [`LogError`] if `scratch` is unusable, corrupt, or holds another
    /// origin's log.
    pub fn resume(scratch: Arc<dyn Store>, origin: &str) -> Result<Replayer, LogError> {
        let log = Log::open(scratch, origin)?;
        let report = ReplayReport { entries: log.size(), root: log.root(), ..ReplayReport::default() };
        Ok(Replayer { log, report })
    }

    /// Replays the next entries (the entries at indexes `report().entries`
    /// onward).
    ///
    /// # Errors
    /// [`ReplayError::Divergence`] at the first diverging entry.
    pub fn replay<B: AsRef<[u8]>>(&mut self, entries: &[B]) -> Result<(), ReplayError> {
        for bytes in entries {
            self.replay_one(bytes.as_ref())?;
        }
        Ok(())
    }

    fn replay_one(&mut self, bytes: &[u8]) -> Result<(), ReplayError> {
        let index = self.log.size();
        let diverge = |reason: String| ReplayError::Divergence { index, reason };
        let entry = Entry::decode(bytes).map_err(|e| diverge(format!("entry record: {e}")))?;
        if entry.encode().map_err(|e| diverge(e.to_string()))? != bytes {
            return Err(diverge("entry record is not canonical".into()));
        }
        let stmt = Statement::parse(&entry.statement)
            .map_err(|e: StatementError| diverge(format!("statement: {e}")))?;
        if stmt.stripped_bytes() != entry.statement.as_slice() {
            return Err(diverge("statement's unprotected headers are not empty".into()));
        }
        if entry.registered_at_ms < self.log.last_registered_at_ms {
            return Err(diverge(format!(
                "registration time {} is before the previous entry's {}",
                entry.registered_at_ms, self.log.last_registered_at_ms
            )));
        }
        let view = self.log.filtered_state();
        if view.statement_index(&stmt.id().0).map_err(LogError::from)?.is_some() {
            return Err(diverge("the statement is already in the log".into()));
        }
        let ctx = Context {
            registry: &self.log.registry,
            state: &view,
            index,
            registered_at_ms: entry.registered_at_ms,
        };
        let accepted: Accepted = match decide(&ctx, &stmt).map_err(LogError::from)? {
            Err(v) => return Err(diverge(format!("the rules refuse it: {v}"))),
            Ok(a) => a,
        };
        if accepted.rule_set_id != entry.rule_set_id {
            return Err(diverge(format!(
                "recorded rule set {} but {} was in force",
                hex::encode(entry.rule_set_id),
                hex::encode(accepted.rule_set_id)
            )));
        }
        if accepted.flags != entry.flags {
            return Err(diverge(format!(
                "recorded flags {:?}, the rules raise {:?}",
                entry.flags, accepted.flags
            )));
        }
        if matches!(accepted.kind, Kind::Governance(_)) {
            self.report.governance += 1;
        }
        if !entry.flags.is_empty() {
            self.report.flagged += 1;
        }
        let mut pending = PendingState::new(&view);
        let mut registry = Cow::Borrowed(&self.log.registry);
        apply(&mut pending, &mut registry, &stmt, accepted.kind, index);
        let batch = pending.into_batch();
        let new_registry = changed(registry);
        self.log.append(&[bytes], batch, |_, _| Ok(Batch::new()))?;
        if let Some(r) = new_registry {
            self.log.registry = r;
        }
        self.log.last_registered_at_ms = entry.registered_at_ms;
        self.report.entries += 1;
        self.report.root = self.log.root();
        Ok(())
    }

    pub fn report(&self) -> &ReplayReport {
        &self.report
    }

    /// The rebuilt log (its registry and state as of the last replayed entry).
    pub fn log(&self) -> &Log {
        &self.log
    }
}
