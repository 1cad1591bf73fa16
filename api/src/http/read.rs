//! The read API: checkpoint, tiles, proofs, registry views, health,
//! metrics. None of it touches the sequencer.

use super::App;
use super::PathText;
use crate::problem::Problem;
use crate::sequencer::{PublishBlocked, SignedCheckpoint};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use provlog_ledger::state::StateView;
use provlog_ledger::statement::StatementId;
use provlog_ledger::tile::Tile;
use provlog_ledger::tiled_tree::TreeError;
use provlog_ledger::tiled_tree::TreeReader;
use provlog_ledger::tree::Hash;
use serde::{Deserialize, Serialize};
use serde_json::json;

const TEXT: &str = "text/plain; charset=utf-8";
use crate::bucket::{IMMUTABLE, SHORT};

/// What the tlog-tiles and proof handlers read: the primary's [`App`], or a
/// mirror's verified copy of a bucket (`crate::mirror`).
pub trait ReadView: Clone + Send + Sync + 'static {
    /// The latest checkpoint this server vouches for.
    fn published(&self) -> Option<SignedCheckpoint>;
    fn reader(&self) -> &TreeReader;
    /// The index of a statement, by ID.
    fn statement_index(&self, id: &StatementId)
        -> Result<Option<u64>, provlog_ledger::storage::StorageError>;
    /// The largest tree size served: the primary serves every committed
    /// size; a mirror only what its verified checkpoint covers.
    fn servable_size(&self) -> u64 {
        self.reader().size()
    }
    /// Why the log's storage is failing, while it is.
    fn storage_failure(&self) -> Option<String> {
        None
    }
}

impl ReadView for App {
    fn published(&self) -> Option<SignedCheckpoint> {
        App::published(self)
    }
    fn reader(&self) -> &TreeReader {
        &self.reader
    }
    fn statement_index(
        &self,
        id: &StatementId,
    ) -> Result<Option<u64>, provlog_ledger::storage::StorageError> {
        self.state.statement_index(&id.0)
    }
    fn storage_failure(&self) -> Option<String> {
        self.sequencer.shared().storage_failure.lock().expect("lock").clone()
    }
}

/// A read handler's problem as sent: in the format the client asked for,
/// and a failed read while storage is failing as a 503 to retry
/// ([`Problem::while_storage_fails`]).
pub(super) fn read_problem<V: ReadView>(app: &V, headers: &HeaderMap, p: Problem) -> Problem {
    p.while_storage_fails(app.storage_failure()).for_request(headers)
}

/// Refuses a size beyond what `app` serves, as the tree would.
fn check_servable<V: ReadView>(app: &V, size: u64) -> Result<(), Problem> {
    let tree_size = app.servable_size();
    if size > tree_size {
        return Err(tree_problem(TreeError::SizeBeyondTree { size, tree_size }));
    }
    Ok(())
}

fn tree_problem(e: TreeError) -> Problem {
    match e {
        TreeError::IndexOutOfRange { .. } | TreeError::SizeBeyondTree { .. } | TreeError::BadSizes { .. } => {
            Problem::new(StatusCode::BAD_REQUEST, "request.range", "Out of range", e.to_string())
        }
        TreeError::NoSuchTile { .. } => Problem::not_found(e.to_string()),
        other => Problem::storage_read("reading the tree", &other),
    }
}

/// `GET /checkpoint`: the latest published checkpoint (C2SP tlog-tiles).
pub async fn checkpoint<V: ReadView>(State(app): State<V>) -> Result<Response, Problem> {
    let cp = app.published().ok_or_else(|| Problem::not_found("no checkpoint has been published yet"))?;
    Ok((StatusCode::OK, [(CONTENT_TYPE, TEXT), (CACHE_CONTROL, "no-cache")], cp.note).into_response())
}

/// `GET /tile/…`: hash tiles and entry bundles. Full tiles are immutable.
pub async fn tile<V: ReadView>(
    State(app): State<V>,
    headers: HeaderMap,
    PathText(path): PathText,
) -> Result<Response, Problem> {
    let r = async {
        let full_path = format!("tile/{path}");
        let tile = Tile::parse_path(&full_path).map_err(|e| Problem::not_found(e.to_string()))?;
        let size = app.servable_size();
        let available =
            provlog_ledger::tile::tile_at_size(tile.kind, tile.index, size).map_or(0, |a| a.width);
        if tile.width > available {
            return Err(tree_problem(TreeError::NoSuchTile { tile: tile.path(), tree_size: size }));
        }
        let reader = app.reader().clone();
        let data = tokio::task::spawn_blocking(move || reader.tile(tile))
            .await
            .map_err(|_| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log.internal",
                    "Internal error",
                    "tile task failed",
                )
            })?
            .map_err(tree_problem)?;
        // Immutable only once a published checkpoint covers the whole tile:
        // beyond it the entries are committed but perhaps not yet flushed,
        // and a batch lost in a crash is written again, differently.
        let published = app.published().map_or(0, |cp| cp.size);
        let settled = tile.is_full()
            && provlog_ledger::tile::tile_at_size(tile.kind, tile.index, published)
                .is_some_and(|t| t.is_full());
        let cache = if settled { IMMUTABLE } else { SHORT };
        Ok((StatusCode::OK, [(CONTENT_TYPE, "application/octet-stream"), (CACHE_CONTROL, cache)], data)
            .into_response())
    };
    r.await.map_err(|p: Problem| read_problem(&app, &headers, p))
}

/// A query string that does not parse (a missing or non-numeric parameter):
/// a 400 problem like every other refusal, not axum's plain-text one.
fn query_problem(e: QueryRejection) -> Problem {
    Problem::malformed("request.query", e.body_text())
}

/// The answer of `GET /proof/inclusion` (`spec/http-api.md`); each hash
/// in base64.
#[derive(Serialize)]
struct InclusionAnswer {
    index: u64,
    size: u64,
    proof: Vec<Hash>,
}

/// The answer of `GET /proof/consistency`.
#[derive(Serialize)]
struct ConsistencyAnswer {
    old: u64,
    new: u64,
    proof: Vec<Hash>,
}

#[derive(Deserialize)]
pub struct InclusionQuery {
    index: Option<u64>,
    id: Option<String>,
    size: Option<u64>,
}

/// `GET /proof/inclusion?index=N&size=S` or `?id=HEX&size=S`. `size`
/// defaults to the latest published checkpoint's.
pub async fn inclusion<V: ReadView>(
    State(app): State<V>,
    headers: HeaderMap,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let r = async {
        let Query(q) = q.map_err(query_problem)?;
        let index = match (q.index, &q.id) {
            (Some(i), None) => i,
            (None, Some(id)) => {
                let id: StatementId = id.parse().map_err(|_| {
                    Problem::malformed("request.statement-id", "a statement ID is 64 lower-case hex digits")
                })?;
                app.statement_index(&id)
                    .map_err(|e| Problem::storage_read("reading the statement index", &e))?
                    .ok_or_else(|| Problem::not_found(format!("no statement {id} in the log")))?
            }
            _ => return Err(Problem::malformed("request.query", "give exactly one of index and id")),
        };
        let size = match q.size {
            Some(s) => s,
            None => {
                app.published().map(|cp| cp.size).ok_or_else(|| Problem::not_found("no checkpoint yet"))?
            }
        };
        check_servable(&app, size)?;
        let reader = app.reader();
        // On the request's own thread: a proof is a few cached upper-level
        // tiles and one level-0 tile read (about 16 µs of CPU at 10M
        // entries); handing it to the blocking pool cost more than that
        // (26 % fewer proofs/s, and twice the RSS: BENCHMARKS.md, "Serving
        // inclusion proofs").
        let proof = reader.prove_inclusion(index, size).map_err(tree_problem)?;
        Ok(Json(InclusionAnswer { index, size, proof }).into_response())
    };
    r.await.map_err(|p: Problem| read_problem(&app, &headers, p))
}

#[derive(Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

/// `GET /proof/consistency?old=A&new=B` (`new` defaults to the published size).
pub async fn consistency<V: ReadView>(
    State(app): State<V>,
    headers: HeaderMap,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let r = async {
        let Query(q) = q.map_err(query_problem)?;
        let new = match q.new {
            Some(n) => n,
            None => {
                app.published().map(|cp| cp.size).ok_or_else(|| Problem::not_found("no checkpoint yet"))?
            }
        };
        check_servable(&app, new)?;
        let reader = app.reader().clone();
        let old = q.old;
        let proof = tokio::task::spawn_blocking(move || reader.prove_consistency(old, new))
            .await
            .map_err(|_| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log.internal",
                    "Internal error",
                    "proof task failed",
                )
            })?
            .map_err(tree_problem)?;
        Ok(Json(ConsistencyAnswer { old, new, proof }).into_response())
    };
    r.await.map_err(|p: Problem| read_problem(&app, &headers, p))
}

fn snapshot(app: &App) -> std::sync::Arc<provlog_ledger::governance::Registry> {
    app.sequencer.shared().registry.read().expect("lock").clone()
}

/// `GET /registry`: governance keys and quorum, partners, keys, rule sets.
pub async fn registry_view(State(app): State<App>) -> Response {
    let r = snapshot(&app);
    Json(json!({
        "origin": r.origin,
        "governance": {"keys": r.governance_keys, "quorum": r.quorum},
        "partners": r.partners,
        "keys": r.keys,
        "current_rule_set": r.current_rule_set,
        "rule_sets": r.rule_sets,
    }))
    .into_response()
}

/// `GET /registry/partners`.
pub async fn partners(State(app): State<App>) -> Response {
    Json(json!(snapshot(&app).partners)).into_response()
}

/// `GET /registry/partners/{id}`: the partner and its keys.
pub async fn partner(State(app): State<App>, PathText(id): PathText) -> Result<Response, Problem> {
    let r = snapshot(&app);
    let p = r.partner(&id).ok_or_else(|| Problem::not_found(format!("no partner {id}")))?;
    let keys: Vec<_> =
        p.keys.iter().filter_map(|k| r.keys.get(k).map(|rec| json!({"kid": k, "key": rec}))).collect();
    Ok(Json(json!({"partner": p, "keys": keys})).into_response())
}

/// `GET /registry/rule-sets`: every adopted rule set and the one in force.
pub async fn rule_sets(State(app): State<App>) -> Response {
    let r = snapshot(&app);
    Json(json!({"current": r.current_rule_set, "rule_sets": r.rule_sets})).into_response()
}

/// `GET /healthz`: 200 while the log accepts writes and can store what
/// it publishes, 503 otherwise (reads keep working either way). A witness
/// quorum out of reach is the witnesses' fault, not this server's: still
/// 200, with a second line saying so.
pub async fn healthz(State(app): State<App>) -> Response {
    let shared = app.sequencer.shared();
    let blocked = shared.publish_blocked.lock().expect("lock").clone();
    let (status, body) = match (shared.check_writable(), blocked) {
        (Err(e), _) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        (Ok(()), Some(b @ PublishBlocked::Storage(_))) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("cannot publish: {b}\n"))
        }
        (Ok(()), Some(b @ PublishBlocked::Witnesses(_))) => {
            (StatusCode::OK, format!("ok\nnot publishing: {b}\n"))
        }
        (Ok(()), None) => (StatusCode::OK, "ok\n".to_owned()),
    };
    (status, [(CONTENT_TYPE, TEXT)], body).into_response()
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<App>) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], app.metrics.render())
        .into_response()
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], crate::OPENAPI).into_response()
}

/// `GET /`: who this log is.
pub async fn index(State(app): State<App>) -> Response {
    let size = app.published().map_or(0, |c| c.size);
    let body =
        format!("provlog-server\norigin {}\nvkey {}\npublished size {size}\n", app.origin, app.log_vkey);
    (StatusCode::OK, [(CONTENT_TYPE, TEXT)], body).into_response()
}
