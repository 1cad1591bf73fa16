//! The decision for one statement: every rule family, in the order of
//! `spec/rules.md`. Pure over (registry, state view, statement, index,
//! registration time); the only effects are reads of the state view.

use super::{Mode, Quorum, RuleSet, Violation};
use crate::entry::RuleSetId;
use crate::epcis::{self, Event, EventKind, Identifier};
use crate::governance::{Action, GovernancePayload, Kid, Partner, Registry, Role, GOVERNANCE_ISSUER};
use crate::state::StateView;
use crate::statement::{key_thumbprint, Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use crate::storage::StorageError;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// What a decision reads.
pub struct Context<'a> {
    pub registry: &'a Registry,
    pub state: &'a dyn StateView,
    /// The index the statement would get.
    pub index: u64,
    /// The log's registration time, UNIX ms.
    pub registered_at_ms: u64,
}

/// What kind of statement was accepted, with what applying it needs.
#[derive(Clone, Debug)]
pub enum Kind {
    Event(Arc<Event>),
    /// A governance change, with the registry it produces.
    Governance(Box<Registry>),
}

/// An accepted statement.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// Names of flagging checks that fired, sorted and distinct.
    pub flags: Vec<String>,
    /// The rule set in force for this statement (the adopted one for a
    /// governance statement that adopts one takes effect after it).
    pub rule_set_id: RuleSetId,
    pub kind: Kind,
}

/// A decision: accepted, or refused by a named rule. Storage failures are
/// the outer error and are never a decision.
pub type Decided = Result<Accepted, Violation>;

/// Decides whether `stmt` may be registered as entry `ctx.index` at
/// `ctx.registered_at_ms`.
///
/// # Errors
/// Only storage failures while reading the state.
pub fn decide(ctx: &Context, stmt: &Statement) -> Result<Decided, StorageError> {
    match stmt.content_type() {
        CONTENT_TYPE_GOVERNANCE => Ok(decide_governance(ctx, stmt)),
        CONTENT_TYPE_EPCIS => decide_event(ctx, stmt),
        other => Ok(Err(Violation::new(
            "well-formed",
            "content-type",
            format!("unsupported content type {other:?}"),
        ))),
    }
}

fn decide_governance(ctx: &Context, stmt: &Statement) -> Decided {
    if stmt.iss() != GOVERNANCE_ISSUER {
        return Err(Violation::new(
            "well-formed",
            "issuer",
            format!("governance statements are issued by {GOVERNANCE_ISSUER:?}, not {:?}", stmt.iss()),
        ));
    }
    let payload = GovernancePayload::parse(stmt.payload())
        .map_err(|e| Violation::new("governance", "payload", e.to_string()))?;
    let genesis = matches!(payload.action, Action::Genesis { .. });
    if genesis != (ctx.index == 0) {
        return Err(Violation::new("governance", "genesis", "genesis must be entry 0 and only entry 0"));
    }
    // Genesis is self-certifying: its own governance keys must reach its own quorum.
    let (keys, quorum): (HashMap<Kid, ed25519_dalek::VerifyingKey>, u32) = match &payload.action {
        Action::Genesis { governance, .. } => {
            let mut keys = HashMap::new();
            for b64 in &governance.keys {
                let key = BASE64
                    .decode(b64)
                    .ok()
                    .and_then(|b| crate::statement::parse_verifying_key(&b).ok())
                    .ok_or_else(|| Violation::new("governance", "invalid-action", "bad governance key"))?;
                keys.insert(key_thumbprint(&key), key);
            }
            (keys, governance.quorum)
        }
        _ => {
            let keys = ctx
                .registry
                .governance_keys
                .keys()
                .filter_map(|h| {
                    let mut kid = [0u8; 32];
                    hex::decode_to_slice(h, &mut kid).ok()?;
                    Some((kid, *ctx.registry.public_key(&kid)?))
                })
                .collect();
            (keys, ctx.registry.quorum)
        }
    };
    let mut valid = BTreeSet::new();
    for (i, signer) in stmt.signers().iter().enumerate() {
        let key = keys.get(&signer.kid).ok_or_else(|| {
            Violation::new("signature", "unknown-kid", format!("signer {i} is not a governance key"))
        })?;
        stmt.verify_signer(i, key)
            .map_err(|e| Violation::new("signature", "bad-signature", e.to_string()))?;
        valid.insert(signer.kid);
    }
    if (valid.len() as u64) < quorum as u64 {
        return Err(Violation::new(
            "governance",
            "quorum",
            format!("{} valid governance signatures, quorum is {quorum}", valid.len()),
        ));
    }
    let mut next = ctx.registry.clone();
    let digest = *blake3::hash(stmt.payload()).as_bytes();
    next.apply(&payload, &digest, &stmt.id().0, ctx.index)
        .map_err(|e| Violation::new("governance", e.check(), e.to_string()))?;
    // The entry records the rule set in force when it was registered; for
    // genesis, the one it creates.
    let rule_set_id = if genesis {
        next.current_rule_set().map(|(id, _)| id)
    } else {
        ctx.registry.current_rule_set().map(|(id, _)| id)
    }
    .ok_or_else(|| Violation::new("governance", "genesis", "no rule set in force"))?;
    Ok(Accepted { flags: Vec::new(), rule_set_id, kind: Kind::Governance(Box::new(next)) })
}

/// Collects flags and enforces modes while the checks run.
struct Verdict {
    flags: BTreeSet<String>,
}

impl Verdict {
    fn apply(&mut self, mode: Mode, v: Violation) -> Result<(), Violation> {
        match mode {
            Mode::Reject => Err(v),
            Mode::Flag => {
                self.flags.insert(v.name());
                Ok(())
            }
            Mode::Off => Ok(()),
        }
    }
}

fn decide_event(ctx: &Context, stmt: &Statement) -> Result<Decided, StorageError> {
    let Some((rule_set_id, rules)) = ctx.registry.current_rule_set() else {
        return Ok(Err(Violation::new("governance", "genesis", "the log has no genesis entry yet")));
    };
    let signers = match check_signatures(ctx, stmt) {
        Ok(s) => s,
        Err(v) => return Ok(Err(v)),
    };
    let event: Arc<Event> = match stmt.event() {
        Ok(e) => e,
        Err(e) => return Ok(Err(Violation::new("well-formed", "epcis", e.to_string()))),
    };
    let mut verdict = Verdict { flags: BTreeSet::new() };
    match check_event(ctx, stmt, &event, rules, &signers, &mut verdict) {
        Ok(Ok(())) => Ok(Ok(Accepted {
            flags: verdict.flags.into_iter().collect(),
            rule_set_id,
            kind: Kind::Event(event),
        })),
        Ok(Err(v)) => Ok(Err(v)),
        Err(e) => Err(e),
    }
}

/// Rule 1: every signer's key is registered, valid at registration time, not
/// revoked, and its signature verifies; the first signer is the issuer.
/// Returns the distinct signing partners, issuer first.
fn check_signatures<'r>(ctx: &Context<'r>, stmt: &Statement) -> Result<Vec<&'r Partner>, Violation> {
    let reg = ctx.registry;
    let issuer = reg.partner(stmt.iss()).ok_or_else(|| {
        Violation::new("signature", "unknown-issuer", format!("{:?} is not a registered partner", stmt.iss()))
    })?;
    let mut partners: Vec<&Partner> = Vec::new();
    for (i, signer) in stmt.signers().iter().enumerate() {
        // Written only into a refusal.
        let kid_hex = || hex::encode(signer.kid);
        let rec = reg.key(&signer.kid).ok_or_else(|| {
            Violation::new("signature", "unknown-kid", format!("signer {i}: no registered key {}", kid_hex()))
        })?;
        if i == 0 && rec.partner != issuer.id {
            return Err(Violation::new(
                "signature",
                "issuer-key",
                format!(
                    "the first signer's key {} belongs to {}, not to the issuer {}",
                    kid_hex(),
                    rec.partner,
                    issuer.id
                ),
            ));
        }
        let t = ctx.registered_at_ms;
        if rec.not_before_ms.is_some_and(|nb| t < nb) {
            return Err(Violation::new(
                "signature",
                "key-not-yet-valid",
                format!("key {} is not valid before {}", kid_hex(), rec.not_before_ms.unwrap()),
            ));
        }
        if rec.not_after_ms.is_some_and(|na| t >= na) {
            return Err(Violation::new(
                "signature",
                "key-expired",
                format!("key {} expired at {}", kid_hex(), rec.not_after_ms.unwrap()),
            ));
        }
        if let Some(r) = rec.revoked_at_index {
            if r < ctx.index {
                return Err(Violation::new(
                    "signature",
                    "key-revoked",
                    format!("key {} was revoked at entry {r}", kid_hex()),
                ));
            }
        }
        let key = reg.public_key(&signer.kid).expect("registered keys are parsed");
        stmt.verify_signer(i, key)
            .map_err(|e| Violation::new("signature", "bad-signature", e.to_string()))?;
        let partner = reg.partner(&rec.partner).expect("keys belong to registered partners");
        if !partners.iter().any(|p| p.id == partner.id) {
            partners.push(partner);
        }
    }
    Ok(partners)
}

/// The canonical form of a party identifier, so that a PGLN written as an EPC
/// URI and as a Digital Link compare equal.
fn canonical_party(id: &str) -> String {
    Identifier::parse(id).map(|i| i.canonical).unwrap_or_else(|_| id.to_owned())
}

fn company_prefix_matches(id: &Identifier, prefix: &str) -> bool {
    if let Some(cp) = &id.company_prefix {
        return cp == prefix;
    }
    // Digital Link forms do not mark where the company prefix ends: GTIN-14
    // and SSCC-18 keys carry one leading digit before it, the others none.
    match &id.gs1_key {
        Some(key) => key.starts_with(prefix) || key.get(1..).is_some_and(|k| k.starts_with(prefix)),
        None => false,
    }
}

fn check_event(
    ctx: &Context,
    stmt: &Statement,
    event: &Event,
    rules: &RuleSet,
    signers: &[&Partner],
    verdict: &mut Verdict,
) -> Result<Result<(), Violation>, StorageError> {
    macro_rules! check {
        ($mode:expr, $v:expr) => {
            if let Err(v) = verdict.apply($mode, $v) {
                return Ok(Err(v));
            }
        };
    }
    let issuer = signers[0];
    let t = ctx.registered_at_ms as i64;
    let ids: BTreeSet<&str> = event.canonical_identifiers();
    // Every object record the checks below read, fetched once.
    let mut objects: HashMap<&str, Option<crate::state::ObjectRecord>> = HashMap::with_capacity(ids.len());
    for id in &ids {
        objects.insert(id, ctx.state.object(id)?);
    }
    let object = |id: &str| objects.get(id).cloned().flatten();

    // Rule 2 (well-formed): the subject names the event or one of its objects.
    let sub = stmt.sub();
    let names_object = event.identifiers().iter().any(|r| r.id.raw == sub || r.id.canonical == sub);
    if event.event_id.as_deref() != Some(sub) && !names_object {
        return Ok(Err(Violation::new(
            "well-formed",
            "subject",
            format!("sub {sub:?} is neither the eventID nor an identifier the event names"),
        )));
    }
    if issuer.role == Role::Auditor {
        return Ok(Err(Violation::new(
            "scope",
            "role",
            format!("{} is an auditor and may not issue events", issuer.id),
        )));
    }

    // Replay: an eventID is registered once; only its error declaration repeats it.
    let declared = match (&event.event_id, &event.error_declaration) {
        (Some(id), None) => {
            if let Some(prev) = ctx.state.event(id)? {
                check!(
                    rules.replay.mode,
                    Violation::new(
                        "replay",
                        "event-id",
                        format!("eventID {id} is already entry {}", prev.index)
                    )
                );
            }
            None
        }
        (Some(id), Some(_)) => ctx.state.event(id)?,
        (None, Some(_)) => {
            check!(
                rules.correction.mode,
                Violation::new(
                    "correction",
                    "missing-event-id",
                    "an errorDeclaration must carry the eventID it declares",
                )
            );
            None
        }
        (None, None) => None,
    };

    // Rule 3: scope.
    let scopes = &issuer.scopes;
    if let Some(step) = &event.biz_step {
        if !scopes.allows_biz_step(step) {
            check!(
                rules.scope.mode,
                Violation::new("scope", "biz-step", format!("{} may not record bizStep {step}", issuer.id))
            );
        }
    }
    for loc in [&event.read_point, &event.biz_location].into_iter().flatten() {
        if !scopes.allows_location(&loc.raw) && !scopes.allows_location(&loc.canonical) {
            check!(
                rules.scope.mode,
                Violation::new(
                    "scope",
                    "location",
                    format!("{} may not speak for location {}", issuer.id, loc.raw)
                )
            );
        }
    }
    // Only objects this event creates (commissioned or produced) must be
    // under the issuer's company prefixes, and only when new to the log.
    let creates = |r: &epcis::ObjectRef| match event.kind {
        EventKind::Object => {
            event.action == Some(epcis::model::Action::Add)
                && matches!(r.role, epcis::Role::Epc | epcis::Role::Quantity)
        }
        EventKind::Transformation => matches!(r.role, epcis::Role::Output | epcis::Role::OutputQuantity),
        _ => false,
    };
    // An identifier of no GS1 form shows no company prefix, so only a
    // partner allowed every prefix ("*") may create one.
    for r in event.identifiers().into_iter().filter(creates) {
        let id = r.id;
        if object(&id.canonical).is_none()
            && !scopes.company_prefixes.iter().any(|p| p == "*" || company_prefix_matches(id, p))
        {
            check!(
                rules.scope.mode,
                Violation::new(
                    "scope",
                    "product",
                    format!("{} may not introduce {} (not under its company prefixes)", issuer.id, id.raw)
                )
            );
        }
    }
    // Called for shipping and receiving events only, at most once each.
    let is_party = |list: &[epcis::model::SourceDestination]| {
        let me = canonical_party(&issuer.id);
        list.iter().any(|s| {
            (s.kind == "owning_party" || s.kind == "possessing_party")
                && (s.id.canonical == me || s.id.raw == issuer.id)
        })
    };
    match event.biz_step.as_deref() {
        Some("shipping") if !is_party(&event.sources) => {
            check!(
                rules.scope.mode,
                Violation::new(
                    "scope",
                    "shipper",
                    format!(
                        "a shipping event by {} must name it as owning or possessing source party",
                        issuer.id
                    )
                )
            );
        }
        Some("receiving") if !is_party(&event.destinations) => {
            check!(
                rules.scope.mode,
                Violation::new(
                    "scope",
                    "receiver",
                    format!(
                        "a receiving event by {} must name it as owning or possessing destination party",
                        issuer.id
                    )
                )
            );
        }
        _ => {}
    }

    // Rule 4: time and causality.
    let skew = rules.time.max_future_skew_ms as i64;
    if event.event_time_ms > t.saturating_add(skew) {
        check!(
            rules.time.mode,
            Violation::new(
                "time",
                "future",
                format!(
                    "eventTime {} ms is more than {skew} ms after registration time {t}",
                    event.event_time_ms
                )
            )
        );
    }
    if (stmt.iat() as i64).saturating_mul(1000) > t.saturating_add(skew) {
        check!(
            rules.time.mode,
            Violation::new(
                "time",
                "iat-future",
                format!("iat {} is after registration time {t} ms", stmt.iat())
            )
        );
    }
    if let Some(age) = rules.time.max_age_ms {
        if event.event_time_ms < t.saturating_sub(age as i64) {
            check!(
                rules.time.too_old,
                Violation::new(
                    "time",
                    "too-old",
                    format!("eventTime {} ms is older than {age} ms", event.event_time_ms)
                )
            );
        }
    }
    if event.error_declaration.is_none() {
        for id in &ids {
            if let Some(obj) = object(id) {
                if obj.destroyed_ms.is_some_and(|d| event.event_time_ms > d) {
                    check!(
                        rules.causality.mode,
                        Violation::new(
                            "causality",
                            "after-destruction",
                            format!("{id} was destroyed at {} ms", obj.destroyed_ms.unwrap())
                        )
                    );
                }
            }
        }
        if event.biz_step.as_deref() == Some("receiving") {
            for id in &ids {
                let shipped = object(id).and_then(|o| o.first_shipped_ms);
                match shipped {
                    Some(s) if event.event_time_ms < s => {
                        check!(
                            rules.causality.mode,
                            Violation::new(
                                "causality",
                                "receive-before-ship",
                                format!("{id} received at {} ms, shipped at {s} ms", event.event_time_ms)
                            )
                        );
                    }
                    Some(_) => {}
                    None => {
                        if rules.causality.mode != Mode::Off {
                            verdict.flags.insert("causality.no-shipment".into());
                        }
                    }
                }
            }
        }
    }

    // Rule 5: lineage.
    let unknown = |list: &mut dyn Iterator<Item = &Identifier>| -> Result<Option<String>, StorageError> {
        for id in list {
            if object(&id.canonical).is_none() {
                return Ok(Some(id.raw.clone()));
            }
        }
        Ok(None)
    };
    if event.kind == EventKind::Transformation {
        let mut inputs = event.input_epcs.iter().chain(event.input_quantities.iter().map(|q| &q.epc_class));
        if let Some(id) = unknown(&mut inputs)? {
            check!(
                rules.lineage.mode,
                Violation::new(
                    "lineage",
                    "unknown-input",
                    format!("transformation input {id} is not in the log")
                )
            );
        }
    }
    if event.kind == EventKind::Aggregation && event.action == Some(epcis::model::Action::Add) {
        let mut children = event.child_epcs.iter().chain(event.child_quantities.iter().map(|q| &q.epc_class));
        if let Some(id) = unknown(&mut children)? {
            check!(
                rules.lineage.mode,
                Violation::new(
                    "lineage",
                    "unknown-child",
                    format!("aggregated child {id} is not in the log")
                )
            );
        }
    }

    // Rule 6: quantity.
    if event.kind == EventKind::Transformation && rules.quantity.mode != Mode::Off {
        if let Some(v) = yield_violation(event, rules.quantity.max_yield) {
            check!(rules.quantity.mode, v);
        }
    }

    // Rule 7: sensor plausibility.
    if rules.sensor.mode != Mode::Off {
        for v in sensor_violations(event, &rules.sensor.ranges) {
            check!(rules.sensor.mode, v);
        }
    }

    // Rule 8: multi-signature.
    if event.is_recall() {
        if let Some(v) = quorum_violation("recall", &rules.multisig.recall, signers) {
            check!(rules.multisig.mode, v);
        }
    }
    if !event.certification_info.is_empty() {
        if let Some(v) = quorum_violation("certification", &rules.multisig.certification, signers) {
            check!(rules.multisig.mode, v);
        }
    }

    // Rule 9: corrections.
    if event.error_declaration.is_some() && event.event_id.is_some() {
        let event_id = event.event_id.as_deref().unwrap_or_default();
        match declared {
            None => {
                check!(
                    rules.correction.mode,
                    Violation::new("correction", "unknown-event", format!("no event {event_id} in the log"))
                );
            }
            Some(orig) => {
                if let Some(at) = orig.declared_at {
                    check!(
                        rules.correction.mode,
                        Violation::new(
                            "correction",
                            "already-declared",
                            format!("{event_id} was declared erroneous at entry {at}")
                        )
                    );
                }
                if orig.issuer != issuer.id {
                    if let Some(v) =
                        quorum_violation("foreign_correction", &rules.multisig.foreign_correction, signers)
                    {
                        check!(
                            rules.correction.mode,
                            Violation::new(
                                "correction",
                                "not-issuer",
                                format!("{event_id} was issued by {}: {}", orig.issuer, v.detail)
                            )
                        );
                    }
                }
            }
        }
    }
    Ok(Ok(()))
}

fn quorum_violation(what: &'static str, q: &Quorum, signers: &[&Partner]) -> Option<Violation> {
    let check = match what {
        "recall" => "recall",
        "certification" => "certification",
        _ => "foreign-correction",
    };
    if (signers.len() as u64) < q.min_signers as u64 {
        return Some(Violation::new(
            "multisig",
            check,
            format!("{} distinct signing partners, {what} needs {}", signers.len(), q.min_signers),
        ));
    }
    if !q.roles.is_empty() && !signers.iter().any(|p| q.roles.contains(&p.role)) {
        return Some(Violation::new(
            "multisig",
            check,
            format!("{what} needs a signer with a role in {:?}", q.roles),
        ));
    }
    None
}

fn yield_violation(event: &Event, max_yield: f64) -> Option<Violation> {
    let (ins, outs) = (&event.input_quantities, &event.output_quantities);
    if ins.is_empty() || outs.is_empty() {
        return None;
    }
    let units: BTreeSet<Option<&str>> = ins.iter().chain(outs.iter()).map(|q| q.uom.as_deref()).collect();
    if units.len() != 1 || ins.iter().chain(outs.iter()).any(|q| q.quantity.is_none()) {
        return Some(Violation::new(
            "quantity",
            "units",
            "input and output quantities are not all in one unit; yield not checked",
        ));
    }
    let total_in: f64 = ins.iter().filter_map(|q| q.quantity).sum();
    let total_out: f64 = outs.iter().filter_map(|q| q.quantity).sum();
    (total_out > total_in * max_yield).then(|| {
        Violation::new(
            "quantity",
            "yield",
            format!("outputs {total_out} exceed inputs {total_in} x max yield {max_yield}"),
        )
    })
}

fn sensor_violations(event: &Event, ranges: &[super::SensorRange]) -> Vec<Violation> {
    let mut out = Vec::new();
    for el in &event.sensor_elements {
        if let Some(m) = &el.metadata {
            let (s, e) = (m.start_time_ms, m.end_time_ms);
            if s.zip(e).is_some_and(|(s, e)| s > e) || e.is_some_and(|e| e > event.event_time_ms) {
                out.push(Violation::new(
                    "sensor",
                    "time",
                    "sensor startTime <= endTime <= eventTime does not hold",
                ));
            }
        }
        for r in &el.reports {
            let (min, mean, max) = (r.min_value, r.mean_value, r.max_value);
            let ordered = |a: Option<f64>, b: Option<f64>| a.zip(b).is_none_or(|(a, b)| a <= b);
            if !(ordered(min, mean)
                && ordered(mean, max)
                && ordered(min, max)
                && ordered(min, r.value)
                && ordered(r.value, max))
            {
                out.push(Violation::new(
                    "sensor",
                    "min-mean-max",
                    format!("{} report violates min <= mean, value <= max", r.measurement_type),
                ));
            }
            let for_type: Vec<_> =
                ranges.iter().filter(|g| g.measurement_type == r.measurement_type).collect();
            if for_type.is_empty() {
                continue;
            }
            match for_type.iter().find(|g| Some(g.uom.as_str()) == r.uom.as_deref()) {
                None => out.push(Violation::new(
                    "sensor",
                    "unit",
                    format!("{} in unit {:?} has no configured range", r.measurement_type, r.uom),
                )),
                Some(g) => {
                    let values = [r.value, r.min_value, r.max_value, r.mean_value];
                    if values.iter().flatten().any(|v| *v < g.min || *v > g.max) {
                        out.push(Violation::new(
                            "sensor",
                            "range",
                            format!("{} outside {}..{} {}", r.measurement_type, g.min, g.max, g.uom),
                        ));
                    }
                }
            }
        }
    }
    out
}
